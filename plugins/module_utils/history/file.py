# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history file on the host (history/store.py is its content): read it, add a sample, write
it back atomically and durably. A file that is not a history of ours (damaged, foreign, another
version) is moved aside, never overwritten and never a crash: the warning names where it went
and a new history starts. Used by the metrics writer (every run), conntrack_settings (tune) and
conntrack_relieve; the audit only reads (store.parse)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import time

from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _store
from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files


def _read(path):
    try:
        with open(path, 'r') as f:
            return f.read(_store.MAX_BYTES + 1)
    except (IOError, OSError, UnicodeDecodeError):
        return None


def load(path, root=''):
    """(history, warning or None). A damaged or foreign file is renamed to PATH.damaged-TIME."""
    full = root + path
    text = _read(full) if os.path.exists(full) else None
    try:
        return _store.parse(text), None
    except _store.HistoryError as e:
        aside = '%s.damaged-%s' % (path, time.strftime('%Y%m%dT%H%M%S', time.gmtime()))
        try:
            os.rename(full, root + aside)
            where = 'kept as %s' % aside
        except OSError as err:
            where = 'could not be moved aside (%s)' % err
        return _store.empty(), '%s is not a history of nfct.tuning (%s): %s; a new history starts' % (path, e, where)


def record(module, path, sample, root='', event=None):
    """Add one sample (and an event, when given) to the history at path (created when missing).
    Returns (the sample before this one, or None; the warning, or None)."""
    history, warning = load(path, root)
    previous = history.get('last')
    _store.record(history, sample)
    if event is not None:
        _store.record_event(history, event)
    _files.atomic_write(module, root + path, _store.dumps(history))
    return previous, warning
