# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's state that the settings plan reads, read in one place: the files we own, the
sysctl.d layers the boot applies with /etc/sysctl.conf, and where this host keeps its sysctl
programs. conntrack_settings (plan and verify), conntrack_audit, the metrics writer and every later
step (relieve, rollout) call read(); nothing else reads these files for a plan.

Where the programs are depends on the layout: with a merged /usr (Debian 12 and later, Fedora,
RHEL 9) /lib is a link to usr/lib and systemd-sysctl is at /usr/lib/systemd/systemd-sysctl; on a
host without it (Debian 11 upgraded in place, older Ubuntu) only /lib/systemd/systemd-sysctl
exists. The udev rule of the boot-order fix names the program, so the path written and the path
an audit expects must come from the same detector, or one host would be reported as drifted by
the other's guess."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections
import os

from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths, persist as _persist

# systemd's sysctl program and procps' sysctl, in the order a host is searched (merged /usr first)
SYSTEMD_SYSCTL = ('/usr/lib/systemd/systemd-sysctl', '/lib/systemd/systemd-sysctl')
PROCPS_SYSCTL = ('/usr/sbin/sysctl', '/sbin/sysctl', '/usr/bin/sysctl', '/bin/sysctl')

Tools = collections.namedtuple('Tools', 'systemd_sysctl procps_sysctl usr_merged')
Tools.__doc__ = """Where this host's sysctl programs are: systemd_sysctl (always a path: the first of
SYSTEMD_SYSCTL that exists, else the merged-/usr one), procps_sysctl (a path or None) and
usr_merged (True when /lib is a link into /usr, False when it is a folder of its own, None when
/lib is missing)."""

HostState = collections.namedtuple('HostState', 'files listing conf tools')
HostState.__doc__ = """What read() found: files {owned path: text, or None when absent or unreadable},
listing (the sysctl.d directories, host/persist.py's listing form), conf (/etc/sysctl.conf's info,
or None) and tools (Tools)."""


def usr_merged(root=''):
    lib = root + '/lib'
    if not os.path.lexists(lib):
        return None
    return os.path.islink(lib) and os.path.realpath(lib) == os.path.realpath(root + '/usr/lib')


def tools(root=''):
    """Tools: where systemd-sysctl and procps' sysctl are on the host below root."""
    found = [path for path in SYSTEMD_SYSCTL if os.path.exists(root + path)]
    procps = [path for path in PROCPS_SYSCTL if os.path.exists(root + path)]
    return Tools(found[0] if found else SYSTEMD_SYSCTL[0], procps[0] if procps else None, usr_merged(root))


def read_text(path):
    """A file's text, or None when it cannot be read."""
    try:
        with open(path, 'r') as f:
            return f.read()
    except (IOError, OSError):
        return None


def owned_paths(params):
    """The paths of the files we own, from the module options that name them."""
    return [params[option] for option in _paths.SETTINGS_FILES if params.get(option)]


def read(params, root=''):
    """HostState of the host below root ('' = this host), for the owned paths in params."""
    return HostState(dict((path, read_text(root + path)) for path in owned_paths(params)),
                     _persist.read_listing(_persist.SYSCTL_DIRS, root),
                     _persist.read_single(_persist.SYSCTL_CONF, root),
                     tools(root))


def of(files, listing, conf=None, host_tools=None):
    """A HostState from parts already read (tests, and callers that hold them): the programs
    default to a merged-/usr layout."""
    return HostState(dict(files or {}), list(listing or []), conf,
                     host_tools or Tools(SYSTEMD_SYSCTL[0], PROCPS_SYSCTL[0], True))
