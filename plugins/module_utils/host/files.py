# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the files a module owns: atomic and durable, all or nothing, with optional backups.

- atomic: a temp file '.nfct-*' in the same folder, renamed over the target, so a reader sees
  the old or the new content, never a part;
- durable: the temp file is fsync'ed before the rename and the folder after it, so a crash or a
  power loss cannot leave an empty file;
- all or nothing: apply_changes() puts every file it already changed back when a later one
  fails, and says what it could not restore;
- no leftovers: a temp file left by a run that was killed is found by the next run, which counts
  it as a change (in check mode too) and removes it (find_stale(), clean_stale(), under the host
  lock), whether or not anything else differs.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import signal
import tempfile

TEMP_PREFIX = '.nfct-'


class ApplyError(Exception):
    """A file could not be written; `left` lists what could not be put back."""

    def __init__(self, msg, left=None):
        Exception.__init__(self, msg)
        self.left = left or []


def fault_point(name):
    """Test-only fault injection: NFCT_TEST_KILL_AT=<name> kills this process there (SIGKILL),
    the way a crash or an OOM kill would. Unset in real runs."""
    if os.environ.get('NFCT_TEST_KILL_AT') == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(module, path, text):
    """Write text to path through a temp file in the same folder, fsync, rename, fsync the folder.

    A new file gets mode 0644; a replaced file keeps its mode.
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
        fsync_dir(os.path.dirname(directory))
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        with os.fdopen(fd, 'wb' if isinstance(text, bytes) else 'w') as f:  # bytes: written as they are
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
        fault_point('before-rename')
        module.atomic_move(tmp, path)
        fsync_dir(directory)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove(path):
    if os.path.lexists(path):
        os.unlink(path)
        fsync_dir(os.path.dirname(path))


def find_stale(directories, root=''):
    """The '.nfct-*' temp files a killed run left in these folders (paths without root)."""
    found = []
    for d in sorted(set(directories)):
        try:
            names = sorted(os.listdir(root + d))
        except OSError:
            continue
        found.extend(os.path.join(d, name) for name in names if name.startswith(TEMP_PREFIX))
    return found


def clean_stale(paths, root=''):
    """Remove the temp files find_stale() listed; returns those removed."""
    removed = []
    for path in paths:
        try:
            os.unlink(root + path)
            removed.append(path)
        except OSError:
            pass
    for d in sorted(set(os.path.dirname(p) for p in removed)):
        fsync_dir(root + d)
    return removed


def apply_changes(module, changes, backup, backups, root='', order=None):
    """changes: {path: {'before': text or None, 'after': text or None}}; after None removes the
    file. backup: True (every file replaced or removed) or a set of paths; backups go to
    `backups`. When a write fails, the files already changed get their 'before' back, and
    ApplyError says what failed and what could not be restored. order: the paths in the order to
    write them (a file included by another first), default sorted."""
    done = []
    for path in order or sorted(changes):
        after = changes[path]['after']
        full = root + path
        try:
            if (backup is True or (backup and path in backup)) and os.path.exists(full):
                backups[path] = module.backup_local(full)
            if after is None:
                remove(full)
            else:
                atomic_write(module, full, after)
        except (IOError, OSError) as e:
            left = restore(module, changes, done, root)
            raise ApplyError('%s: %s' % (path, e), left)
        done.append(path)
        fault_point('between-files')
    return done


def restore(module, changes, paths, root=''):
    """Put 'before' back on these paths; returns the ones that could not be restored."""
    left = []
    for path in reversed(paths):
        before = changes[path].get('before')
        try:
            if before is None:
                remove(root + path)
            else:
                atomic_write(module, root + path, before)
        except (IOError, OSError) as e:
            left.append('%s (%s)' % (path, e))
    return left
