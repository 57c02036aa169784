# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the modules may write, and whether a file there may be replaced.

check_path() is pure (the option's value alone) and runs on the controller too, before anything
changes: a path must be absolute, normal (no '..', no trailing '/'), in a directory the tool that
reads it at boot reads (systemd-sysctl, modprobe, systemd-modules-load, udev, nftables,
iptables-restore), with the name that tool expects. check_file() looks at the host: the path
must not be a symlink or a directory, and a file already there must be ours, or hold only what
we would write (then it is adopted, its old content backed up); anything else is refused, so
`sysctl_file: /etc/passwd` or another tool's file is never overwritten.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import posixpath
import re

from ansible_collections.nfct.tuning.plugins.module_utils.host import persist as _persist

MANAGED_MARK = 'Managed by nfct.tuning'

# the path options of the files conntrack_settings owns (also checked by conntrack_recommend, on
# the controller too, and by conntrack_audit and conntrack_metrics)
SETTINGS_FILES = ('sysctl_file', 'modprobe_file', 'modules_load_file', 'udev_rule_file', 'disable_file')

# option -> (directories, file name pattern, what reads it, may the file be shared with others)
RULES = {
    'sysctl_file': (_persist.SYSCTL_DIRS, r'^[^./][^/]*\.conf$', 'systemd-sysctl', False),
    'modprobe_file': (_persist.MODPROBE_DIRS, r'^[^./][^/]*\.conf$', 'modprobe', False),
    'modules_load_file': (_persist.MODULES_LOAD_DIRS, r'^[^./][^/]*\.conf$', 'systemd-modules-load', False),
    'udev_rule_file': (('/etc/udev/rules.d', '/run/udev/rules.d'), r'^[^./][^/]*\.rules$', 'udev', False),
    'disable_file': (_persist.MODPROBE_DIRS, r'^[^./][^/]*\.conf$', 'modprobe', False),
    'nftables_file': (('/etc/nftables.d', '/etc/nftables'), r'^[^./][^/]*\.nft$', 'nft (included)', False),
    'nftables_conf': (('/etc', '/etc/sysconfig', '/etc/nftables'), r'^[^./][^/]*\.conf$|^nftables$',
                      'nftables.service', True),
    'iptables_rules_v4': (('/etc/iptables', '/etc/sysconfig'), r'^[^./][^/]*$', 'iptables-restore', True),
    'iptables_rules_v6': (('/etc/iptables', '/etc/sysconfig'), r'^[^./][^/]*$', 'ip6tables-restore', True),
}
_NAME_HINT = {
    'sysctl_file': 'NAME.conf', 'modprobe_file': 'NAME.conf', 'modules_load_file': 'NAME.conf',
    'udev_rule_file': 'NAME.rules', 'disable_file': 'NAME.conf', 'nftables_file': 'NAME.nft', 'nftables_conf': 'NAME.conf',
    'iptables_rules_v4': 'NAME', 'iptables_rules_v6': 'NAME',
}


class PathError(ValueError):
    """A path option is not one the module may write; the message says what is allowed."""


def check_path(option, path):
    """The path as given if it is allowed for this option, else PathError naming the option."""
    dirs, pattern, reader, _shared = RULES[option]
    allowed = 'DIR/%s with DIR one of %s (what %s reads)' % (_NAME_HINT[option], ', '.join(dirs), reader)
    if not isinstance(path, str) or not path:
        raise PathError('%s: expected %s, got %r' % (option, allowed, path))
    if '\0' in path or '\n' in path:
        raise PathError('%s: %r contains a NUL or newline; expected %s' % (option, path, allowed))
    if not path.startswith('/'):
        raise PathError('%s: %r is relative; expected %s' % (option, path, allowed))
    if posixpath.normpath(path) != path or '//' in path:
        raise PathError('%s: %r is not a normal path (no "..", "." or repeated "/"); expected %s'
                        % (option, path, allowed))
    directory, name = posixpath.split(path)
    if directory not in dirs:
        raise PathError('%s: %s is outside the directories %s reads at boot; expected %s'
                        % (option, path, reader, allowed))
    if not re.match(pattern, name):
        raise PathError('%s: %r is not a name %s reads (expected %s, not starting with "."); expected %s'
                        % (option, name, reader, _NAME_HINT[option], allowed))
    return path


def check_paths(params, options):
    """check_path for each option present in params; returns the list of error messages."""
    errors = []
    for option in options:
        value = params.get(option)
        if value is None:
            continue
        try:
            check_path(option, value)
        except PathError as e:
            errors.append(str(e))
    return errors


def check_file(option, path, root='', adoptable=None):
    """Host-side checks of a path we are about to write or remove.

    Returns (adopt, error): adopt is True when an existing file that is not marked as ours holds
    only what `adoptable(text)` accepts; error is a message (or None).
    """
    full = root + path
    if os.path.islink(full):
        return False, ('%s: %s is a symlink (to %s); replacing it atomically would turn it into a regular file. '
                       'Point %s at the real file, or remove the link' % (option, path, os.readlink(full), option))
    if os.path.isdir(full):
        return False, '%s: %s is a directory, not a file' % (option, path)
    parent = os.path.dirname(full)
    if os.path.lexists(parent) and not os.path.isdir(parent):
        return False, '%s: the parent of %s is not a directory' % (option, path)
    if not os.path.exists(full) or RULES[option][3]:
        return False, None
    if not os.path.isfile(full):
        return False, '%s: %s is not a regular file' % (option, path)
    try:
        with open(full, 'r') as f:
            text = f.read(1 << 20)
    except (IOError, OSError, UnicodeDecodeError) as e:
        return False, '%s: %s cannot be read (%s)' % (option, path, e)
    if any(MANAGED_MARK in line for line in text.split('\n', 3)[:3]):
        return False, None
    if adoptable is not None and adoptable(text):
        return True, None
    return False, ('%s: %s exists and was not written by nfct.tuning (no "# %s" header), and it holds more than '
                   'we would write there; it is left alone. Move its other content elsewhere, or choose another '
                   '%s' % (option, path, MANAGED_MARK, option))


def only_lines(text, pattern):
    """True when every line of text is blank, a comment, or matches pattern."""
    rx = re.compile(pattern)
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith('#') or s.startswith(';'):
            continue
        if not rx.match(s):
            return False
    return True


# what an existing, unmarked file may hold for us to adopt it
ADOPTABLE = {
    'sysctl_file': lambda t: only_lines(t, r'^-?net[./]netfilter[./]nf_conntrack_[a-z0-9_]+\s*=\s*\S+$'),
    'modprobe_file': lambda t: only_lines(t, r'^options\s+nf_conntrack(\s+\w+=\S+)+$'),
    'modules_load_file': lambda t: only_lines(t, r'^nf_conntrack$'),
    'udev_rule_file': lambda t: only_lines(t, r'^ACTION=="add", SUBSYSTEM=="module", KERNEL=="nf_conntrack", .*$'),
    'disable_file': lambda t: only_lines(t, r'^(blacklist\s+nf_conntrack|install\s+nf_conntrack\s+/bin/(false|true))$'),
    'nftables_file': lambda t: False,
}
