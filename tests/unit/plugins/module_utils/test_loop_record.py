# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""loop/record.py: the closed loop's record - JSON lines appended under a lock, damaged lines
left out, the output of a remediation beside it."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import multiprocessing
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide, record


def test_a_missing_record_is_empty_and_appending_creates_it(tmp_path):
    path = str(tmp_path / 'sub' / 'r.jsonl')
    assert record.read(path) == ([], 0)
    record.append(path, [{'event': 'started', 'id': 'a'}, {'event': 'finished', 'id': 'a'}])
    record.append(path, [])
    with open(path) as f:
        lines = f.read().splitlines()
    assert [json.loads(line)['event'] for line in lines] == ['started', 'finished']
    assert record.read(path) == ([{'event': 'started', 'id': 'a'}, {'event': 'finished', 'id': 'a'}], 0)


def test_damaged_lines_are_counted_and_left_out(tmp_path):
    path = str(tmp_path / 'r.jsonl')
    with open(path, 'w') as f:
        f.write('{"event": "started", "id": "a"}\nnot json\n[1, 2]\n\n{"event": "finished", "id": "a"')
    assert record.read(path) == ([{'event': 'started', 'id': 'a'}], 3)
    # a line cut by a crash: the next entry starts on a line of its own
    record.append(path, [{'event': 'armed', 'host': 'web1'}])
    entries, damaged = record.read(path)
    assert entries[-1] == {'event': 'armed', 'host': 'web1'} and damaged == 3


def test_transact_appends_what_the_decision_returns_and_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / 'r.jsonl')
    assert record.transact(path, lambda entries: (len(entries), [{'n': len(entries)}])) == 0
    assert record.transact(path, lambda entries: (len(entries), [{'n': len(entries)}, None])) == 1
    assert record.transact(path, lambda entries: (len(entries), [{'n': 99}]), write=False) == 2
    assert [e['n'] for e in record.read(path)[0]] == [0, 1]


def _decide_one(path, i, queue):
    a = {'status': 'firing', 'startsAt': '2026-12-05T10:00:00Z', 'fingerprint': 'fp%d' % i,
         'labels': {'alertname': 'ConntrackNodeDropping', 'instance': 'web1:9100'}}

    def step(entries):
        d = decide.decide(entries, a, 'instance', 1796464900.0 + i, decide.policy(budget=10))
        return d.action, [d.entry]
    queue.put(record.transact(path, step))


def test_concurrent_decisions_see_each_other(tmp_path):
    """Eight processes decide for alerts of one host at once: exactly one remediation, the
    others see it in flight (the lock covers reading and appending)."""
    path = str(tmp_path / 'r.jsonl')
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_decide_one, args=(path, i, queue)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    actions = sorted(queue.get(timeout=5) for _p in procs)
    assert actions == ['remediate'] + ['skip'] * 7
    assert len(record.read(path)[0]) == 8


def test_a_lock_held_too_long_is_an_error(tmp_path):
    path = str(tmp_path / 'r.jsonl')
    with record.Lock(path, 1):
        with pytest.raises(record.RecordError) as e:
            with record.Lock(path, 0.1):
                pass
    assert 'stayed locked for' in str(e.value)


def test_an_unwritable_record_is_an_error(tmp_path):
    folder = tmp_path / 'ro'
    folder.mkdir()
    path = str(folder / 'r.jsonl')
    with open(path, 'w') as f:
        f.write('')
    os.chmod(path, 0o444)
    if os.geteuid() == 0:
        path = str(tmp_path / 'r.jsonl' / 'x')   # root writes anywhere: a path below a file instead
        with open(str(tmp_path / 'r.jsonl'), 'w') as f:
            f.write('')
    with pytest.raises(record.RecordError):
        record.append(path, [{'event': 'x'}])


def test_the_output_lies_beside_the_record(tmp_path):
    path = str(tmp_path / 'conntrack-remediations.jsonl')
    out = record.write_output(path, '20261205T100000Z-web1/../x', 'max: raised 3000 -> 9000\n')
    assert out == str(tmp_path / 'conntrack-remediations.jsonl.d' / '20261205T100000Z-web1_.._x.log')
    with open(out) as f:
        assert f.read() == 'max: raised 3000 -> 9000\n'
    assert [n for n in os.listdir(os.path.dirname(out)) if n.startswith('.nfct-')] == []
