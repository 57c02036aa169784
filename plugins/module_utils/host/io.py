# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HostIO: everything a module reads, writes or runs on the host, in one object that unit tests
replace (FakeIO). Files are under `root` ('' on a real host; a folder in unit tests); commands
run with LANG=C so that their output parses the same everywhere."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import signal
import socket
import subprocess

from ansible_collections.nfct.tuning.plugins.module_utils.host import lock as _lock

C_ENV = {'LANG': 'C', 'LC_ALL': 'C'}


class HostIO(object):
    """Everything the module reads, writes or runs on the host (unit tests replace it). Files are
    under `root` ('' on a real host; a folder in unit tests)."""

    def __init__(self, module, root=''):
        self.module = module
        self.root = root

    def which(self, name):
        return self.module.get_bin_path(name)

    def cmd(self, argv, data=None):
        return self.module.run_command(argv, data=data, binary_data=True, environ_update=C_ENV)

    def read(self, path):
        try:
            with open(self.root + path, 'r') as f:
                return f.read()
        except (IOError, OSError):
            return None

    def exists(self, path):
        return os.path.exists(self.root + path)

    def lock(self, timeout, shared, what='conntrack_notrack'):
        return _lock.HostLock(timeout, shared=shared, root=self.root, what=what)

    def interfaces(self):
        return [name for _i, name in socket.if_nameindex()]

    def getenv(self, name):
        return os.environ.get(name)


def run_timed(argv, timeout):
    """argv run with a time limit, in its own process group (killed whole at the limit; Ansible's
    run_command has no limit): (rc, stdout, stderr, timed_out, error). rc is None when it was killed
    or did not start (error: why)."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        return None, b'', b'', False, str(e)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False, None
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:  # what it printed; a child that left the group may hold the pipes: do not wait for it
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out, err = b'', b''
        return None, out, err, True, None
