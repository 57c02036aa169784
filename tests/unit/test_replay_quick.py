# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/replay.py --quick: the replay of sizing from history (make bench's part, issue 24)
on three families for nine days, in a few seconds: its files, its table and its targets."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import time

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'benchmarks')
sys.path.insert(0, BENCHMARKS)

import replay  # noqa: E402  (benchmarks/replay.py)


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('replay'))
    started = time.time()
    rc = replay.main(['--quick', '--out', out])
    return rc, out, time.time() - started


def test_quick_replay_meets_its_targets_in_seconds(quick):
    rc, out, seconds = quick
    assert rc == 0 and seconds < 30
    names = sorted(os.listdir(out))
    assert [n.rsplit('.', 1)[1] for n in names] == ['json', 'md'] and names[0].startswith('replay-')


def test_quick_replay_writes_the_table_and_the_numbers(quick):
    _rc, out, _seconds = quick
    base = os.path.join(out, sorted(os.listdir(out))[0].rsplit('.', 1)[0])
    with open(base + '.json') as f:
        data = json.load(f)
    with open(base + '.md') as f:
        text = f.read()
    assert [r['family'] for r in data['results']] == list(replay.QUICK_FAMILIES)
    assert data['ok'] is True and all(met for _t, _m, met, _counts in data['verdicts'])
    for r in data['results']:
        assert r['days'] == replay.QUICK_DAYS and r['observed_days'] == replay.QUICK_DAYS - 7
        assert len(r['per_day']) == replay.QUICK_DAYS and r['history_bytes'] < 64 * 1024
        assert '| `%s` |' % r['family'] in text
    growth = [r for r in data['results'] if r['family'] == 'growth'][0]
    assert growth['forecast']['full_at'] is not None and growth['forecast']['lead_s'] >= 30 * 60
    assert 'growth: forecast >= 30 min before the table fills' in text
    assert text.startswith('## Sizing from history: replay')


def test_a_missed_target_fails_the_run():
    results = [{'family': 'x', 'kinds': ['over', 'never_fills'], 'windows_over': 3, 'saving': 0.1,
                'changes_per_day': 2, 'forecast': {'false_alarms': 1, 'full_at': None, 'lead_s': None}}]
    checks = replay.verdicts(results)
    assert [met for _t, _m, met, counts in checks] == [False] * 4 and all(c for _t, _m, _met, c in checks)
    info = replay.verdicts([dict(results[0], kinds=['over', 'info'])])
    assert not any(counts for _t, _m, _met, counts in info)


@pytest.mark.parametrize('argv,message', [
    (['--families', 'nope'], 'unknown families nope'),
    (['--days', '3'], '--days: at least 9'),
])
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        replay.main(argv)
    assert message in capsys.readouterr().err
