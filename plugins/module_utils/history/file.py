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
    """The file's text (at most MAX_BYTES + 1 bytes: more is not a history), None when there is no
    file or it cannot be read; bytes that are not UTF-8 are a HistoryError (the file is moved aside
    like any other damaged one, not read as missing and overwritten)."""
    try:
        with open(path, 'rb') as f:
            data = f.read(_store.MAX_BYTES + 1)
    except (IOError, OSError):
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise _store.HistoryError('not UTF-8 text (%s)' % e)


def _aside(path, root):
    """A name next to path for a damaged file, not taken yet: PATH.damaged-TIME[-N]."""
    aside = '%s.damaged-%s' % (path, time.strftime('%Y%m%dT%H%M%S', time.gmtime()))
    candidate, n = aside, 1
    while os.path.lexists(root + candidate) and n < 100:
        candidate, n = '%s-%d' % (aside, n), n + 1
    return candidate


def load(path, root=''):
    """(history, warning or None). A damaged or foreign file is renamed to PATH.damaged-TIME and
    a new history starts: never an exception for what the file holds."""
    full = root + path
    try:
        if os.path.lexists(full) and not os.path.isfile(full):
            raise _store.HistoryError('not a regular file')
        return _store.parse(_read(full) if os.path.lexists(full) else None), None
    except _store.HistoryError as e:
        return _store.empty(), _move_aside(path, root, e)


def _move_aside(path, root, why):
    """Rename the file at path out of the way; the warning that says so."""
    aside = _aside(path, root)
    try:
        os.rename(root + path, root + aside)
        where = 'kept as %s' % aside
    except OSError as err:
        where = 'could not be moved aside (%s)' % err
    return '%s is not a history of nfct.tuning (%s): %s; a new history starts' % (path, why, where)


def record(module, path, sample, root='', event=None):
    """record_full() without the history: (the sample before this one, or None; the warning, or None)."""
    _history, previous, warning = record_full(module, path, sample, root, event)
    return previous, warning


def record_full(module, path, sample, root='', event=None):
    """Add one sample (and an event, when given) to the history at path (created when missing),
    written atomically and durably (host/files.atomic_write: a temporary file in the same folder,
    fsync, rename, fsync of the folder). Returns (the history as written, the sample before this one
    or None, the warning or None). A document that parse() let through but record() cannot extend is moved aside too."""
    history, warning = load(path, root)
    previous = history.get('last')
    try:
        _store.record(history, sample)
    except (TypeError, KeyError, AttributeError, ValueError) as e:
        warning = _move_aside(path, root, 'cannot be extended: %s: %s' % (type(e).__name__, e))
        history, previous = _store.record(_store.empty(), sample), None
    if event is not None:
        _store.record_event(history, event)
    _files.atomic_write(module, root + path, _store.dumps(history))
    return history, previous, warning
