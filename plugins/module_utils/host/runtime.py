# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime values in /proc/sys (and the hashsize parameter): written one by one and read back
(procps `sysctl -w` can print an error and still exit 0, so the file itself is written and read),
all put back when one fails. Used by conntrack_settings and conntrack_relieve.

A write is {'key', 'path', 'before', 'value'} and optionally 'expect' (what the kernel reports
after it: its rounding of the hash size), in the order to apply."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys


class RuntimeWriteError(Exception):
    """A write or its read-back failed; `done` were put back except `left` (what is still changed)."""

    def __init__(self, msg, done, left):
        Exception.__init__(self, msg)
        self.done = done
        self.left = left


def write_value(path, value):
    with open(path, 'w') as f:
        f.write('%d\n' % value)


def read_value(path):
    try:
        with open(path, 'r') as f:
            raw = f.read()
    except (IOError, OSError):
        return None
    return int(raw.strip()) if raw.strip().lstrip('-').isdigit() else raw


def restore(root, done):
    """Put the values before back, last written first; returns what could not be restored."""
    left = []
    for w in reversed(done):
        try:
            write_value(root + w['path'], w['before'])
        except (IOError, OSError) as e:
            left.append('%s = %s (runtime; restoring %s failed: %s)' % (_keys.sysctl_name(w['key']), w['value'],
                                                                        w['before'], e))
    return left


def apply(writes, root=''):
    """Write each value and read it back; when one fails, put back those already written and raise
    RuntimeWriteError. Returns the writes done."""
    done = []
    try:
        for w in writes:
            write_value(root + w['path'], w['value'])
            done.append(w)
            got = read_value(root + _keys.proc_path(w['key']))
            if got != w.get('expect', w['value']):
                raise RuntimeError('%s: wrote %d, the kernel reports %s' % (w['key'], w['value'], got))
            _files.fault_point('after-runtime-write')
    except (IOError, OSError, RuntimeError) as e:
        raise RuntimeWriteError(str(e), done, restore(root, done))
    return done


def undo_summary(n_runtime, left_runtime, left_files=()):
    left = list(left_runtime) + list(left_files)
    if not left:
        return 'everything already changed was put back (%d runtime value(s)); the host is as before' % n_runtime
    return 'could NOT put back: %s' % '; '.join(left)
