# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""loop/decide.py: the closed loop's bounds (docs/closed-loop.md), table-driven - one alert, the
record before it, the decision and the entry it appends."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide

NOW = 1796500000.0          # 2026-12-05T...
START = NOW - 120            # the alert began two minutes ago
BOUNDS = decide.policy(budget=2, window=3600, in_flight_timeout=900, settle=60)


def at(ts):
    return decide.format_time(ts)


def alert(name='ConntrackNodeDropping', instance='web1:9100', status='firing', starts=START, fp='fp-web1-drop',
          **labels):
    labels = dict(labels, alertname=name, severity='critical')
    if instance is not None:
        labels['instance'] = instance
    a = {'status': status, 'labels': labels, 'annotations': {'summary': 'x'}, 'startsAt': at(starts),
         'endsAt': '0001-01-01T00:00:00Z'}
    if fp:
        a['fingerprint'] = fp
    return a


def started(rid, host='web1', ts=NOW - 3000, fp='fp-old', starts=NOW - 3100):
    return {'event': 'started', 'id': rid, 'host': host, 'ts': ts, 'time': at(ts),
            'alert': {'fingerprint': fp, 'starts_at': at(starts), 'starts_ts': starts}}


def finished(rid, ok=True, host='web1', ts=NOW - 2990, result=None):
    return {'event': 'finished', 'id': rid, 'host': host, 'ts': ts, 'time': at(ts), 'ok': ok,
            'result': result or ('raised' if ok else 'unreachable')}


def person(event, host='web1', ts=NOW - 500, by='alice'):
    return {'event': event, 'host': host, 'ts': ts, 'time': at(ts), 'by': by}


def ok_run(rid, ts, host='web1'):
    return [started(rid, host, ts), finished(rid, True, host, ts + 10)]


# (case, record, alert, action, reason, entry event or None)
CASES = [
    ('resolved alerts do nothing', [], alert(status='resolved'), 'ignore', 'resolved', None),
    ('an alert the loop does not handle', [], alert(name='ConntrackInsertFailing'), 'ignore', 'not_handled', None),
    ('a warning (75 %) is for a person', [], alert(name='ConntrackTableHigh'), 'ignore', 'not_handled', None),
    ('the first alert of a host', [], alert(), 'remediate', 'remediate', 'started'),
    ("the writer's own alert too", [], alert(name='ConntrackDropping'), 'remediate', 'remediate', 'started'),
    ('full, not yet dropping', [], alert(name='ConntrackNodeTableCritical'), 'remediate', 'remediate', 'started'),
    ('no instance label', [], alert(instance=None), 'stop', 'no_host', 'stopped'),
    ('a repeated notification of an alert already started',
     [started('r1', ts=NOW - 30, fp='fp-web1-drop', starts=START)], alert(), 'ignore', 'duplicate', None),
    ('a repeated notification of an alert already stopped',
     [dict(started('x', fp='fp-web1-drop', starts=START), event='stopped')], alert(), 'ignore', 'duplicate', None),
    ('the same alert that fired again later (a new startsAt) is not a duplicate',
     ok_run('r1', NOW - 3000) + [dict(started('r1b', fp='fp-web1-drop', starts=NOW - 3100), event='skipped')],
     alert(), 'remediate', 'remediate', 'started'),
    ('a grouped alert while the first is in flight', [started('r1', ts=NOW - 5, fp='fp-other', starts=START)],
     alert(), 'skip', 'in_flight', 'skipped'),
    ('a run without a result for longer than in_flight_timeout counts as failed',
     [started('r1', ts=NOW - 1000)], alert(), 'stop', 'last_failed', 'stopped'),
    ('the last remediation failed: never again', [started('r1'), finished('r1', ok=False)], alert(), 'stop',
     'last_failed', 'stopped'),
    ('a refusal by the memory budget is a failure too',
     [started('r1'), finished('r1', ok=False, result='refused')], alert(), 'stop', 'last_failed', 'stopped'),
    ('a person re-armed it after the failure',
     [started('r1'), finished('r1', ok=False), person('armed')], alert(), 'remediate', 'remediate', 'started'),
    ('a failure of another host does not stop this one',
     [started('r1', host='web2'), finished('r1', ok=False, host='web2')], alert(), 'remediate', 'remediate',
     'started'),
    ('relieved after this alert began: a twin or grouped alert is not stacked',
     [started('r1', ts=START + 5), finished('r1', ts=START + 20)], alert(), 'skip', 'already_relieved', 'skipped'),
    ('a twin that fired just after the fix (its for: elapsed then) is not stacked either',
     [started('r1', ts=START - 40), finished('r1', ts=START - 30)], alert(), 'skip', 'already_relieved', 'skipped'),
    ('relieved longer than settle before this alert began: a new incident, within the budget',
     ok_run('r1', START - 600), alert(), 'remediate', 'remediate', 'started'),
    ('the budget is spent: the loop stops and escalates',
     ok_run('r1', START - 1200) + ok_run('r2', START - 600), alert(), 'stop', 'budget_spent', 'stopped'),
    ('remediations older than the window do not count',
     ok_run('r1', NOW - 7300) + ok_run('r2', NOW - 7200), alert(), 'remediate', 'remediate', 'started'),
    ('another host\'s remediations do not count', ok_run('r1', START - 1200, 'web2') + ok_run('r2', START - 600, 'web2'),
     alert(), 'remediate', 'remediate', 'started'),
    ('a re-arm restarts the budget',
     ok_run('r1', START - 1200) + ok_run('r2', START - 900) + [person('armed', ts=START - 800)], alert(),
     'remediate', 'remediate', 'started'),
    ('paused by a person', [person('paused')], alert(), 'stop', 'paused', 'stopped'),
    ('every host paused', [person('paused', host='*')], alert(), 'stop', 'paused', 'stopped'),
    ('paused, then armed again', [person('paused', ts=NOW - 600), person('armed', ts=NOW - 300)], alert(),
     'remediate', 'remediate', 'started'),
]


@pytest.mark.parametrize('case, record, given, action, reason, event', CASES, ids=[c[0] for c in CASES])
def test_decide(case, record, given, action, reason, event):
    d = decide.decide(record, given, 'instance', NOW, BOUNDS)
    assert (d.action, d.reason) == (action, reason), d.message
    assert (d.entry or {}).get('event') == event
    if d.entry:
        assert d.entry['host'] == ('web1' if reason != 'no_host' else '')
        assert d.entry['alert']['fingerprint'] == given['fingerprint'] and d.entry['reason'] == reason
        assert d.entry['time'] == at(NOW) and d.entry['message'] == d.message
    if action == 'remediate':
        assert d.entry['id'].endswith('-web1-fp-web1-') and d.budget['limit'] == 2
        assert 1 <= d.budget['used'] <= 2


def test_the_messages_say_why_and_what_a_person_does():
    spent = decide.decide(ok_run('r1', START - 1200) + ok_run('r2', START - 600), alert(), 'instance', NOW, BOUNDS)
    assert 'budget of 2 remediation(s) of web1 per 3600 s is spent (2 since' in spent.message
    assert 'the alert stays for a person' in spent.message and spent.budget == {'used': 2, 'limit': 2, 'window': 3600}
    failed = decide.decide([started('r1'), finished('r1', ok=False)], alert(), 'instance', NOW, BOUNDS)
    assert 'failed (r1: unreachable)' in failed.message and 'until a person re-arms it' in failed.message
    stale = decide.decide([started('r1', ts=NOW - 1000)], alert(), 'instance', NOW, BOUNDS)
    assert 'no result within 900 s' in stale.message
    twin = decide.decide([started('r1', ts=START - 40), finished('r1', ts=START - 30)], alert(), 'instance', NOW,
                         BOUNDS)
    assert 'web1 was relieved at %s, 30 s before this alert began, within the settle time of 60 s (r1)' % at(
        START - 30) == twin.message
    paused = decide.decide([person('paused')], alert(), 'instance', NOW, BOUNDS)
    assert 'paused for web1 since %s by alice' % at(NOW - 500) in paused.message


def test_a_notification_of_grouped_alerts_gives_one_remediation_per_host():
    """The source decides a notification's alerts in order, each seeing the entries before it."""
    record = []
    alerts = [alert(), alert(name='ConntrackDropping', fp='fp-web1-w'), alert(name='ConntrackNodeTableCritical',
                                                                              fp='fp-web1-c'),
              alert(instance='web2:9100', fp='fp-web2'), alert(status='resolved', fp='fp-web1-old')]
    actions = []
    for a in alerts:
        d = decide.decide(record, a, 'instance', NOW, BOUNDS)
        record += [d.entry] if d.entry else []
        actions.append((d.action, d.reason))
    assert actions == [('remediate', 'remediate'), ('skip', 'in_flight'), ('skip', 'in_flight'),
                       ('remediate', 'remediate'), ('ignore', 'resolved')]
    # the same notification again (Alertmanager's repeat): nothing more
    again = [decide.decide(record, a, 'instance', NOW + 10, BOUNDS).reason for a in alerts]
    assert again == ['duplicate'] * 4 + ['resolved']


def test_another_label_names_the_host():
    a = alert(instance='10.0.0.7:9100', nodename='web7')
    d = decide.decide([], a, 'nodename', NOW, BOUNDS)
    assert d.action == 'remediate' and d.entry['host'] == 'web7' and d.entry['alert']['label'] == 'nodename'


@pytest.mark.parametrize('value, host', [
    ('web1:9100', 'web1'), ('web1', 'web1'), ('10.0.0.1:9100', '10.0.0.1'), ('[2001:db8::1]:9100', '2001:db8::1'),
    ('2001:db8::1', '2001:db8::1'), ('web1.example.org:9100', 'web1.example.org'), ('', ''), (None, ''),
    ('web1:', 'web1'), ('[::1]', '::1'),
])
def test_host_of(value, host):
    assert decide.host_of(value) == host


@pytest.mark.parametrize('text, ts', [
    ('2026-12-05T10:00:00Z', 1796464800.0), ('2026-12-05T10:00:00.5Z', 1796464800.5),
    ('2026-12-05T10:00:00.123456789Z', 1796464800.123456789), ('2026-12-05T11:00:00+01:00', 1796464800.0),
    ('2026-12-05T09:30:00-0030', 1796464800.0), ('0001-01-01T00:00:00Z', -62135596800.0),
    ('yesterday', None), ('', None), (None, None), ('2026-13-05T10:00:00Z', None),
])
def test_parse_time(text, ts):
    got = decide.parse_time(text)
    assert got == ts if ts is None else abs(got - ts) < 1e-6


def test_format_time_round_trips():
    assert decide.parse_time(decide.format_time(NOW + 0.25)) == NOW + 0.25
    assert decide.format_time(0) == '1970-01-01T00:00:00.000Z'


def test_an_alert_without_fingerprint_gets_one_from_its_labels():
    a, b = alert(fp=None), alert(fp=None)
    assert decide.fingerprint_of(a) == decide.fingerprint_of(b) and len(decide.fingerprint_of(a)) == 16
    assert decide.fingerprint_of(alert(fp=None, instance='web2:9100')) != decide.fingerprint_of(a)


@pytest.mark.parametrize('kwargs, error', [
    ({'budget': -1}, 'budget: -1 is outside the allowed range 0-1000'),
    ({'budget': 'many'}, "budget: expected an integer, got 'many'"),
    ({'window': 10}, 'window: 10 is outside the allowed range 60-604800'),
    ({'in_flight_timeout': 0}, 'in_flight_timeout: 0 is outside the allowed range 60-86400'),
    ({'settle': -1}, 'settle: -1 is outside the allowed range 0-86400'),
    ({'alerts': [1]}, 'alerts: expected a list of alert names'),
])
def test_policy_refuses(kwargs, error):
    with pytest.raises(ValueError) as e:
        decide.policy(**kwargs)
    assert error in str(e.value)


def test_policy_defaults_and_text():
    assert decide.policy() == {'alerts': decide.ALERTS, 'budget': 3, 'window': 3600, 'in_flight_timeout': 900,
                               'settle': 600}
    assert decide.policy(budget='0', window='600', alerts='A, B')['alerts'] == ('A', 'B')
    assert decide.policy(budget=None, alerts=None) == decide.policy()


@pytest.mark.parametrize('result, word, ok', [
    (None, 'not_run', False), ({}, 'not_run', False),
    ({'unreachable': True, 'msg': 'ssh: connect refused'}, 'unreachable', False),
    ({'failed': True, 'msg': 'relieve: ... more than conntrack_memory_budget_percent 0.1% of RAM ... a budget of at'
                             ' least 0.5% would hold it'}, 'refused', False),
    ({'failed': True, 'msg': 'boom'}, 'failed', False),
    ({'skipped': True}, 'not_run', False),
    ({'state': 'readonly', 'changed': False}, 'readonly', False),
    ({'state': 'absent', 'changed': False}, 'absent', False),
    ({'state': 'ok', 'changed': True, 'max': {'before': 3000, 'after': 1543168}}, 'raised', True),
    ({'state': 'ok', 'changed': False}, 'unchanged', True),
])
def test_classify(result, word, ok):
    assert decide.classify(result) == (word, ok)


def test_finished_entry_times_the_fix_and_keeps_the_numbers():
    s = decide.decide([], alert(), 'instance', NOW, BOUNDS).entry
    done = decide.finished_entry(s, {'changed': True, 'state': 'ok', 'max': {'before': 3000, 'after': 9000}},
                                 NOW + 8.5, output='/r.d/x.log')
    assert done['event'] == 'finished' and done['id'] == s['id'] and done['ok'] is True
    assert done['result'] == 'raised' and done['max'] == {'before': 3000, 'after': 9000}
    assert done['seconds_alert_to_fix'] == 128.5 and done['seconds_event_to_fix'] == 8.5
    assert done['output'] == '/r.d/x.log' and 'msg' not in done
    failed = decide.finished_entry(s, {'unreachable': True, 'msg': 'no route'}, NOW + 3)
    assert failed['ok'] is False and failed['msg'] == 'no route' and 'seconds_alert_to_fix' not in failed
    unsafe = decide.finished_entry(s, None, NOW, unsafe=['force'])
    assert unsafe['result'] == 'unsafe' and 'never goes beyond the memory budget' in unsafe['msg']


def test_status_of_a_host():
    record = ok_run('r1', NOW - 600) + [started('r2', ts=NOW - 300), finished('r2', ok=False, ts=NOW - 290)]
    st = decide.status(record, 'web1', NOW, BOUNDS)
    assert st['stopped'] is True and st['paused'] is False and st['last']['id'] == 'r2'
    assert st['budget'] == {'used': 2, 'limit': 2, 'window': 3600}
    assert decide.status(record + [person('armed', ts=NOW - 10)], 'web1', NOW, BOUNDS)['stopped'] is False
    assert decide.status([], 'web9', NOW, BOUNDS) == {'host': 'web9', 'paused': False, 'stopped': False,
                                                      'budget': {'used': 0, 'limit': 2, 'window': 3600},
                                                      'last': None}
    assert decide.status([started('r3', ts=NOW - 5)], 'web1', NOW, BOUNDS)['stopped'] is False   # in flight
