# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed loop's record on the controller (docs/closed-loop.md): one JSON object per line,
appended, never rewritten, in the file the rulebook names (nfct_eda_record, by default
conntrack-remediations.jsonl in ansible-rulebook's working folder); the output of each
remediation beside it, in RECORD.d/ID.log.

Every decision is made under an exclusive flock of RECORD.lock, from reading the record to
appending to it (transact()): the Alertmanager source and the playbook's guard steps may run at
the same moment (grouped alerts, two hosts at once) and must not both see "nothing in flight".
Standard library only, and no import of the rest of the collection: the source loads this file
into ansible-rulebook's own Python."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import tempfile
import time

# a line longer than this is not ours (damaged): skipped when reading
MAX_LINE = 1 << 20


class RecordError(Exception):
    """The record cannot be read, locked or written."""


def output_dir(path):
    return path + '.d'


def output_path(path, remediation_id):
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', str(remediation_id))[:200]
    return os.path.join(output_dir(path), safe + '.log')


def parse(text):
    """(entries, damaged line count) of the record's text: lines that are not JSON objects (a
    line cut by a crash, a person's typo) are counted and left out."""
    entries, damaged = [], 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line) if len(line) <= MAX_LINE else None
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            damaged += 1
    return entries, damaged


def read(path):
    """(entries, damaged) of the record file; ([], 0) when it does not exist yet."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        if e.errno == errno.ENOENT:
            return [], 0
        raise RecordError('cannot read the record %s: %s' % (path, e))
    return parse(data.decode('utf-8', 'replace'))


def line(entry):
    return json.dumps(entry, sort_keys=True, separators=(',', ':')) + '\n'


def append(path, entries):
    """Append entries, one line each, in one write (O_APPEND), then fsync."""
    if not entries:
        return
    data = ''.join(line(e) for e in entries).encode('utf-8')
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o755)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # a line cut by a crash ends the file without a newline: start on a new line
            if os.fstat(fd).st_size and _last_byte(path) != b'\n':
                data = b'\n' + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except (IOError, OSError) as e:
        raise RecordError('cannot write the record %s: %s' % (path, e))


def _last_byte(path):
    with open(path, 'rb') as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


class Lock(object):
    """Exclusive flock of RECORD.lock, waited for up to timeout seconds."""

    def __init__(self, path, timeout=60):
        self.path = path + '.lock'
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder, 0o755)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (IOError, OSError) as e:
            raise RecordError('cannot open the lock %s: %s' % (self.path, e))
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise RecordError('cannot lock %s: %s' % (self.path, e))
            if time.time() >= deadline:
                os.close(self.fd)
                self.fd = None
                raise RecordError('the record %s stayed locked for %d s (another decision of the loop)'
                                  % (self.path, self.timeout))
            time.sleep(0.02)

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


def transact(path, decide, timeout=60, write=True):
    """Under the record's lock: entries = read; (result, new entries) = decide(entries); append
    them (unless write is false: check mode). Returns result."""
    with Lock(path, timeout):
        entries, _damaged = read(path)
        result, new = decide(entries)
        if write:
            append(path, [e for e in new if e])
        return result


def write_output(path, remediation_id, text):
    """RECORD.d/ID.log with text (temporary file, fsync, rename); returns its path."""
    target = output_path(path, remediation_id)
    folder = os.path.dirname(target)
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o755)
        fd, tmp = tempfile.mkstemp(prefix='.nfct-', dir=folder)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(text.encode('utf-8'))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.rename(tmp, target)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except (IOError, OSError) as e:
        raise RecordError('cannot write the output %s: %s' % (target, e))
    return target
