# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per host: an flock on /run/lock/nfct-tuning.lock held by every module that
writes, from the moment it reads the host's state to its last write.

Two runs at once (two CI pipelines, an operator and a cron) would otherwise plan from the same
state and interleave their writes. The second run waits up to `timeout` seconds, then fails
naming the holder. Check mode never creates the lock file (it writes nothing, not even that):
it takes a shared lock when the file exists, so it does not read a half-applied state.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import fcntl
import os
import time

LOCK_DIRS = ('/run/lock', '/run', '/var/lock', '/tmp')
LOCK_NAME = 'nfct-tuning.lock'


class LockTimeout(Exception):
    """Another run held the lock for longer than the timeout."""


def lock_path(root=''):
    """The lock file in the first of LOCK_DIRS that exists (/run/lock on any systemd host)."""
    for d in LOCK_DIRS:
        if os.path.isdir(root + d):
            return root + d + '/' + LOCK_NAME
    return root + LOCK_DIRS[0] + '/' + LOCK_NAME


class HostLock(object):
    """Context manager: `with HostLock(timeout, shared=check_mode, root=root) as lock:`."""

    def __init__(self, timeout=300, shared=False, root='', what='nfct.tuning'):
        self.timeout = timeout
        self.shared = shared
        self.path = lock_path(root)
        self.what = what
        self.fd = None
        self.waited = 0.0

    def holder(self):
        try:
            with open(self.path) as f:
                return f.read().strip() or 'unknown'
        except (IOError, OSError):
            return 'unknown'

    def __enter__(self):
        if self.shared:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    return self  # no writer ever ran here: nothing to wait for, nothing created
                raise
            mode = fcntl.LOCK_SH
        else:
            if not os.path.isdir(os.path.dirname(self.path)):
                os.makedirs(os.path.dirname(self.path), 0o755)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            mode = fcntl.LOCK_EX
        start = time.time()
        delay = 0.05
        while True:
            try:
                fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            self.waited = time.time() - start
            if self.waited >= self.timeout:
                holder = self.holder()
                os.close(self.fd)
                self.fd = None
                raise LockTimeout('another nfct.tuning run on this host holds %s (%s) and did not finish within '
                                  'lock_timeout %s s; nothing was changed. Run again when it is done, or raise '
                                  'lock_timeout (conntrack_lock_timeout in the role)'
                                  % (self.path, holder, _fmt(self.timeout)))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        self.waited = time.time() - start
        if not self.shared:
            os.ftruncate(self.fd, 0)
            stamp = time.strftime('%Y-%m-%d %H:%M:%S')
            os.write(self.fd, ('pid %d (%s), since %s' % (os.getpid(), self.what, stamp)).encode())
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            if not self.shared:
                try:
                    os.ftruncate(self.fd, 0)
                except OSError:
                    pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


def _fmt(x):
    return str(int(x)) if float(x) == int(x) else str(x)
