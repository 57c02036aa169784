# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_remediation_guard: the closed loop's steps in the playbook (begin, finish) and a
person's (pause, arm, status), on a record in tmp_path; check mode writes nothing."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import time

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide, record
from ansible_collections.nfct.tuning.plugins.modules import conntrack_remediation_guard as guard

from modrun import ansible_flags, invoke, patch_module_args


def alert(instance='web1:9100', fp='fp1', name='ConntrackNodeDropping', starts=None):
    return {'status': 'firing', 'fingerprint': fp, 'startsAt': decide.format_time(starts or time.time() - 60),
            'labels': {'alertname': name, 'instance': instance, 'severity': 'critical'}}


def run(tmp_path, capsys, args, check=False):
    args = dict(args)
    args.setdefault('record', str(tmp_path / 'r.jsonl'))
    try:
        invoke(guard, ansible_flags(tmp_path, args, check))
    finally:
        out = capsys.readouterr().out
    return json.loads(out)


def entries(tmp_path):
    return record.read(str(tmp_path / 'r.jsonl'))[0]


def source_started(tmp_path, host='web1', a=None):
    """What the Alertmanager source writes before the rulebook runs the playbook."""
    d = decide.decide([], a or alert(), 'instance', time.time(), decide.policy())
    record.append(str(tmp_path / 'r.jsonl'), [d.entry])
    return d.entry


RELIEVED = {'changed': True, 'state': 'ok', 'max': {'before': 3000, 'after': 1543168},
            'lines': ['max: raised 3000 -> 1543168 at runtime only', 'no file was written']}


def test_begin_confirms_what_the_source_started_and_finish_records_it(tmp_path, capsys):
    s = source_started(tmp_path)
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'remediation_id': s['id'],
                                 'relieve_options': {'force': False, 'shorten_timeouts': False}})
    assert res['decision'] == 'remediate' and res['reason'] == 'confirmed' and res['changed'] is False
    res = run(tmp_path, capsys, {'step': 'finish', 'host': 'web1', 'remediation_id': s['id'], 'result': RELIEVED})
    assert res['changed'] is True and res['ok'] is True and res['result'] == 'raised'
    assert res['msg'] == 'remediation %s of web1: raised, max 3000 -> 1543168' % s['id']
    assert res['seconds_alert_to_fix'] >= 60 and res['seconds_event_to_fix'] >= 0
    done = entries(tmp_path)[-1]
    assert done['event'] == 'finished' and done['id'] == s['id'] and done['output'] == res['output']
    with open(res['output']) as f:
        text = f.read()
    assert 'max: raised 3000 -> 1543168 at runtime only' in text and '"after": 1543168' in text
    assert os.path.dirname(res['output']) == str(tmp_path / 'r.jsonl.d')
    # the playbook run again (a retry by hand): nothing twice
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'remediation_id': s['id']})
    assert res['decision'] == 'ignore' and res['reason'] == 'duplicate'
    res = run(tmp_path, capsys, {'step': 'finish', 'host': 'web1', 'remediation_id': s['id'], 'result': RELIEVED})
    assert res['changed'] is False and len(entries(tmp_path)) == 2


@pytest.mark.parametrize('options, unsafe', [({'force': True}, 'force'), ({'shorten_timeouts': 'true'},
                                                                          'shorten_timeouts')])
def test_begin_refuses_beyond_the_budget_or_lowering(tmp_path, capsys, options, unsafe):
    s = source_started(tmp_path)
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'remediation_id': s['id'],
                                 'relieve_options': options})
    assert res['decision'] == 'stop' and res['reason'] == 'unsafe' and unsafe in res['msg']
    last = entries(tmp_path)[-1]
    assert last['event'] == 'finished' and last['result'] == 'unsafe' and last['ok'] is False
    # and the host is stopped for the next alert
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'alert': alert(fp='fp2')})
    assert res['decision'] == 'stop' and res['reason'] == 'last_failed'


def test_begin_decides_itself_without_the_source(tmp_path, capsys):
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'alert': alert(instance='10.0.0.1:9100'),
                                 'budget': 1})
    assert res['decision'] == 'remediate' and res['changed'] is True
    first = entries(tmp_path)[0]
    # the play's host is the one relieved, whatever the label said
    assert first['host'] == 'web1' and first['id'] == res['remediation_id']
    run(tmp_path, capsys, {'step': 'finish', 'host': 'web1', 'remediation_id': res['remediation_id'],
                           'result': RELIEVED})
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'alert': alert(fp='fp9', starts=time.time() + 5),
                                 'budget': 1, 'settle': 0})
    assert res['decision'] == 'stop' and res['reason'] == 'budget_spent'
    assert res['status']['budget'] == {'used': 1, 'limit': 1, 'window': 3600}


def test_check_mode_decides_and_writes_nothing(tmp_path, capsys):
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web1', 'alert': alert()}, check=True)
    assert res['decision'] == 'remediate' and res['changed'] is True and len(res['entries']) == 1
    assert not os.path.exists(str(tmp_path / 'r.jsonl'))
    s = source_started(tmp_path)
    res = run(tmp_path, capsys, {'step': 'finish', 'host': 'web1', 'remediation_id': s['id'], 'result': RELIEVED},
              check=True)
    assert res['changed'] is True and 'output' not in res and len(entries(tmp_path)) == 1
    assert not os.path.exists(str(tmp_path / 'r.jsonl.d'))


@pytest.mark.parametrize('result, word', [
    ({'unreachable': True, 'msg': 'Failed to connect to the host via ssh: Connection refused'}, 'unreachable'),
    ({'failed': True, 'msg': 'relieve: ... more than conntrack_memory_budget_percent ...'}, 'refused'),
    ({}, 'not_run'),
])
def test_a_failure_is_recorded_and_stops_the_loop_for_the_host(tmp_path, capsys, result, word):
    s = source_started(tmp_path)
    res = run(tmp_path, capsys, {'step': 'finish', 'host': 'web1', 'remediation_id': s['id'], 'result': result})
    assert res['ok'] is False and res['result'] == word and res['status']['stopped'] is True
    assert ('output' in res) == bool(result)
    nxt = decide.decide(entries(tmp_path), alert(fp='fp2', starts=time.time() + 1), 'instance', time.time() + 2,
                        decide.policy())
    assert nxt.reason == 'last_failed'


def test_a_person_pauses_and_re_arms(tmp_path, capsys):
    res = run(tmp_path, capsys, {'step': 'pause', 'host': '*', 'by': 'alice', 'reason': 'change freeze'})
    assert res['msg'] == 'the loop is paused: no remediation for every host' and res['changed'] is True
    d = decide.decide(entries(tmp_path), alert(), 'instance', time.time() + 1, decide.policy())
    assert d.reason == 'paused' and 'by alice' in d.message
    run(tmp_path, capsys, {'step': 'arm', 'host': '*', 'by': 'alice'})
    d = decide.decide(entries(tmp_path), alert(), 'instance', time.time() + 2, decide.policy())
    assert d.action == 'remediate'
    res = run(tmp_path, capsys, {'step': 'status', 'host': 'web1'})
    assert res['changed'] is False and res['status']['paused'] is False


@pytest.mark.parametrize('args, error', [
    ({'step': 'begin'}, 'host is required by step begin'),
    ({'step': 'finish', 'host': 'web1'}, 'remediation_id is required by step finish'),
    ({'step': 'begin', 'host': 'web1'}, 'step begin needs remediation_id (from the source) or alert'),
    ({'step': 'status', 'budget': -2}, 'budget: -2 is outside the allowed range 0-1000'),
    ({'step': 'status', 'lock_timeout': 0}, 'lock_timeout: 0 is outside the allowed range 1-3600'),
    ({'step': 'begin', 'host': 'web1', 'remediation_id': 'nope'}, 'remediation nope is not in the record'),
])
def test_bad_arguments_are_refused(tmp_path, capsys, args, error):
    res = run(tmp_path, capsys, args)
    assert error in res['msg'] and (res.get('failed') or res.get('decision') == 'stop')


def test_a_remediation_of_another_host_is_not_confirmed(tmp_path, capsys):
    s = source_started(tmp_path)
    res = run(tmp_path, capsys, {'step': 'begin', 'host': 'web2', 'remediation_id': s['id']})
    assert res['decision'] == 'stop' and 'is for web1, not web2' in res['msg']


def test_the_documentation_matches_the_argument_spec(tmp_path):
    import yaml
    doc = yaml.safe_load(guard.DOCUMENTATION)
    with patch_module_args(ansible_flags(tmp_path, {'record': str(tmp_path / 'r.jsonl')})):
        spec = guard.build_module().argument_spec
    assert set(doc['options']) == set(spec)
    for name, option in doc['options'].items():
        assert option.get('default') == spec[name].get('default'), name
        assert option.get('type', 'str') == spec[name].get('type', 'str'), name
    assert doc['options']['alerts']['default'] == list(decide.ALERTS)
