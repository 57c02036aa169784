# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the files a module owns: atomic (temp file + rename), with optional backups."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import tempfile


def atomic_write(module, path, text):
    """Write text to path through a temp file in the same folder and an atomic rename.

    A new file gets mode 0644; a replaced file keeps its mode.
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.nfct-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def apply_changes(module, changes, backup, backups, root=''):
    """changes: {path: {'after': text or None}}; None removes the file. Backups go to `backups`."""
    for path in sorted(changes):
        after = changes[path]['after']
        full = root + path
        if backup and os.path.exists(full):
            backups[path] = module.backup_local(full)
        if after is None:
            if os.path.exists(full):
                os.unlink(full)
        else:
            atomic_write(module, full, after)
