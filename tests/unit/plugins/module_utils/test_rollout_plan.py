# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's plan (plugins/module_utils/rollout/plan.py) and report (rollout/report.py): the
stages cut exactly as ansible-core's serial cuts them (checked against ansible-core's own code on
generated fleets), the inputs refused before any host is touched, the resume, the verdict."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible.executor.playbook_executor import PlaybookExecutor

from ansible_collections.nfct.tuning.plugins.module_utils.rollout import plan, report

import modrun


class _Inventory(object):
    def __init__(self, hosts):
        self.hosts = hosts

    def get_hosts(self, _pattern, order=None):
        return list(self.hosts)


class _Play(object):
    hosts, order = 'all', 'inventory'

    def __init__(self, serial):
        self.serial = serial


class _Executor(object):
    def __init__(self, hosts):
        self._inventory = _Inventory(hosts)


def ansible_batches(hosts, stages):
    """ansible-core's own PlaybookExecutor._get_serialized_batches on these hosts and stages."""
    return PlaybookExecutor._get_serialized_batches(_Executor(hosts), _Play(list(stages)))


STAGE = st.one_of(st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=100).map(lambda n: '%d%%' % n))


@settings(max_examples=300, deadline=None)
@given(fleet=st.integers(min_value=1, max_value=120), stages=st.lists(STAGE, min_size=1, max_size=6))
def test_the_stages_are_the_batches_ansible_makes(fleet, stages):
    hosts = ['h%03d' % i for i in range(fleet)]
    assert plan.batches(hosts, stages) == ansible_batches(hosts, stages)


@pytest.mark.parametrize('stages, fleet, sizes', [
    ([1, '10%', '50%', '100%'], 12, [1, 1, 6, 4]),
    ([1, '10%', '50%', '100%'], 100, [1, 10, 50, 39]),
    (['100%'], 5, [5]),
    ([2, 3], 5, [2, 3]),
    (['1%', '100%'], 3, [1, 2]),
])
def test_default_and_common_stages(stages, fleet, sizes):
    hosts = ['h%d' % i for i in range(fleet)]
    assert [len(b) for b in plan.batches(hosts, stages)] == sizes
    assert plan.validate_stages(stages, fleet) == []


@pytest.mark.parametrize('stages, fleet, needle', [
    ([1, 2], 12, "conntrack_rollout_stages: [1, 2] covers 3 of the 12 hosts; Ansible would repeat the last stage 5 more"),
    (['150%'], 4, 'conntrack_rollout_stages[0]: 150% is outside 1%-100%'),
    (['0%', '100%'], 4, 'conntrack_rollout_stages[0]: 0% is outside 1%-100%'),
    ([0, '100%'], 4, 'conntrack_rollout_stages[0]: 0 hosts: a stage has at least 1 host'),
    ([-2, '100%'], 4, 'conntrack_rollout_stages[0]: -2 hosts'),
    (['10.5%', '100%'], 4, "conntrack_rollout_stages[0]: '10.5%' is not a batch size"),
    ([1.5, '100%'], 4, 'conntrack_rollout_stages[0]: 1.5 is not a batch size'),
    ([True, '100%'], 4, 'conntrack_rollout_stages[0]: True is not a batch size'),
    (['abc'], 4, "conntrack_rollout_stages[0]: 'abc' is not a batch size"),
    ('100%', 4, 'conntrack_rollout_stages: give a non-empty list'),
    ([], 4, 'conntrack_rollout_stages: give a non-empty list'),
    (None, 4, 'conntrack_rollout_stages: give a non-empty list'),
])
def test_bad_stages_are_refused_with_the_variable_and_the_range(stages, fleet, needle):
    errors = plan.validate_stages(stages, fleet)
    assert errors and needle in errors[0], errors


@settings(max_examples=200, deadline=None)
@given(fleet=st.integers(min_value=1, max_value=80), stages=st.lists(STAGE, min_size=1, max_size=5))
def test_valid_stages_never_make_an_unplanned_stage(fleet, stages):
    """Stages that validate cover the fleet in at most as many batches as listed."""
    hosts = ['h%d' % i for i in range(fleet)]
    if plan.validate_stages(stages, fleet) == []:
        assert len(plan.batches(hosts, stages)) <= len(stages)


@pytest.mark.parametrize('soak, seconds, error, warning', [
    (300, 300, None, None), ('30', 30, None, None), (0, 0, None, 'conntrack_rollout_soak is 0'),
    (-1, None, 'conntrack_rollout_soak: -1 is outside the allowed range 0-86400 seconds', None),
    ('soon', None, "conntrack_rollout_soak: expected a number in the allowed range 0-86400 seconds, got 'soon'", None),
    (True, None, 'conntrack_rollout_soak: expected a number', None),
])
def test_soak(soak, seconds, error, warning):
    got, errors, warnings = plan.validate_soak(soak)
    assert got == seconds
    assert (errors[0].startswith(error) if error else errors == [])
    assert (warnings and warnings[0].startswith(warning)) if warning else warnings == []


def test_the_id_follows_the_change_not_the_rollouts_own_variables():
    hosts, stages = ['a', 'b'], [1, '100%']
    one = plan.rollout_id(hosts, stages, {'a': {'conntrack_profile': 'web'}, 'b': {}})
    assert one == plan.rollout_id(hosts, stages, {'a': {'conntrack_profile': 'web', 'conntrack_rollout_soak': 5}})
    assert one != plan.rollout_id(hosts, stages, {'a': {'conntrack_profile': 'edge'}})
    assert one != plan.rollout_id(hosts, [2], {'a': {'conntrack_profile': 'web'}})


def _report_after(stages_status, rid='r1', hosts=None):
    hosts = hosts or [['a'], ['b', 'c'], ['d']]
    return {'rollout_id': rid, 'stages': [{'hosts': h, 'status': s} for h, s in zip(hosts, stages_status)]}


@pytest.mark.parametrize('previous, skipped', [
    (None, []),
    (_report_after(['passed', 'failed', 'pending']), ['a']),
    (_report_after(['passed', 'passed', 'failed']), ['a', 'b', 'c']),
    (_report_after(['passed', 'failed', 'passed']), ['a']),   # never past a failed stage
    (_report_after(['passed', 'passed', 'failed'], rid='other'), []),   # another rollout
    (_report_after(['passed', 'passed', 'failed'], hosts=[['a'], ['b'], ['c', 'd']]), ['a']),   # other batches
])
def test_resume_after_the_last_good_stage(previous, skipped):
    planned = plan.plan(['a', 'b', 'c', 'd'], [1, 2, '100%'], 'r1', previous)
    assert planned['skip'] == skipped


@pytest.mark.parametrize('statuses, said', [
    (['passed', 'failed', 'pending'], 'resuming: stage(s) 1-1 passed in an earlier run of this rollout; they are skipped'),
    (['passed', 'passed', 'passed'], 'complete: every stage passed in an earlier run of this rollout; no stage runs again'),
])
def test_a_rerun_says_whether_it_resumes_or_has_nothing_left(statuses, said):
    planned = plan.plan(['a', 'b', 'c', 'd'], [1, 2, '100%'], 'r1', _report_after(statuses))
    lines = plan.plan_lines(planned, False, 5, [])
    assert lines[1].startswith(said)
    assert sum(1 for line in lines if line.startswith(('resuming', 'complete'))) == 1


GATE_FAIL = {'failed': True, 'gate': {'passed': False, 'failures': [{'gate': 'drops', 'evidence': 'drop +5 in 5 s'}]}}


@pytest.mark.parametrize('applied, gate, reachable, passed, gates', [
    ({'failed': False}, {'gate': {'passed': True, 'failures': []}}, True, True, []),
    ({'failed': False}, GATE_FAIL, True, False, ['drops']),
    ({'failed': True, 'msg': 'Apply: boom'}, None, True, False, ['apply']),
    (None, None, False, False, ['control_connection']),
    ({'failed': False}, None, True, False, ['control_connection']),
    ({'failed': False}, {'failed': True, 'msg': 'baseline: required', 'sample': {}}, True, False, ['gate']),
    ({'failed': False}, {'failed': True, 'msg': 'Module result deserialization failed'}, True, False,
     ['control_connection']),
])
def test_host_outcome(applied, gate, reachable, passed, gates):
    got, failures = plan.host_outcome(applied, gate, reachable)
    assert got is passed and [f['gate'] for f in failures] == gates


def test_a_failed_host_puts_its_whole_stage_back_and_the_report_says_why():
    planned = plan.plan(['a', 'b', 'c'], [1, '100%'], 'r1')
    rep = report.new(planned, {'soak': 5}, {}, 100.0)
    rep = report.start_stage(rep, 2, 101.0)
    outcomes = {'b': (False, [{'gate': 'check:web', 'evidence': 'exit 1'}], True), 'c': (True, [], True)}
    decided = plan.verdict(['b', 'c'], outcomes)
    assert decided == {'passed': False, 'failed_hosts': ['b'], 'restore': ['b', 'c'], 'unreachable': []}
    rep = report.record_verdict(rep, 2, outcomes, decided, 110.0)
    rep = report.record_restores(rep, 2, {'b': {'changed': True}, 'c': {'failed': True, 'msg': 'snapshot corrupt'}},
                                 111.0)
    assert rep['status'] == 'stopped' and rep['stages'][1]['seconds'] == 10.0
    assert report.restore_failures(rep) == [('c', 'failed: snapshot corrupt')]
    lines = report.stage_lines(rep, 2)
    assert lines[1:4] == ['  b: check:web failed: exit 1', '  b: restore: restored',
                          '  c: gate passed; restore: failed: snapshot corrupt']
    assert 'the restore FAILED on c' in lines[-1]
    assert json.loads(json.dumps(rep)) == rep
    assert '<td>check:web: exit 1</td>' in report.to_html(rep)
    assert report.restore_all_hosts(rep, True) == [] and report.restore_all_hosts(rep, False) == []
    # what the last play fails the stage's hosts with (the stage's play only ends)
    assert report.stop_message(rep, 'r.json') == (['b', 'c'], 'conntrack rollout: stage 2 failed (b); the restore FAILED '
                                                              'on c: check them by hand (docs/rollout.md, "When a '
                                                              'restore fails"); the next stages are not touched. '
                                                              'Report: r.json')
    assert 'the rollout stops at stage 2, its last;' in lines[-1]
    assert report.stop_message(report.new(planned, {'soak': 5}, {}, 100.0), 'r.json') == ([], '')


def test_restore_all_puts_back_the_stages_that_passed():
    planned = plan.plan(['a', 'b'], [1, '100%'], 'r1')
    rep = report.new(planned, {'soak': 5}, {}, 100.0)
    for index, ok in ((1, True), (2, False)):
        rep = report.start_stage(rep, index, 100.0)
        outcomes = {h: (ok, [] if ok else [{'gate': 'drops', 'evidence': 'x'}], True) for h in rep['stages'][index - 1]['hosts']}
        decided = plan.verdict(rep['stages'][index - 1]['hosts'], outcomes)
        rep = report.record_verdict(rep, index, outcomes, decided, 101.0)
        rep = report.record_restores(rep, index, dict((h, {}) for h in decided['restore']), 102.0)
    assert report.restore_all_hosts(rep, True) == ['a']
    rep = report.record_restore_all(rep, {'a': {}}, 103.0)
    assert rep['stages'][0]['status'] == 'restored' and rep['decisions'][-1]['decision'] == 'restore_all'
    # the page shows the decision made after the stages (it raised a TypeError: stage None)
    page = report.to_html(rep)
    assert '<li>after the stages: restore_all (' in page and 'restored (conntrack_rollout_restore_all)' in page


def test_a_host_out_of_reach_is_named_not_called_put_back():
    # found trying it as a user: a stage with an unreachable host said "the stage was put back as
    # it was" and "stops before stage 3" of a rollout of 2 stages
    planned = plan.plan(['a', 'b', 'c', 'd'], [1, '100%'], 'r1')
    rep = report.new(planned, {'soak': 5}, {}, 100.0)
    outcomes = {'b': (True, [], True), 'c': (True, [], True),
                'd': (False, [{'gate': 'control_connection', 'evidence': 'unreachable'}], False)}
    decided = plan.verdict(['b', 'c', 'd'], outcomes)
    rep = report.record_verdict(report.start_stage(rep, 2, 100.0), 2, outcomes, decided, 101.0)
    rep = report.record_restores(rep, 2, {'b': {}, 'c': {}}, 102.0)
    assert report.stage_lines(rep, 2)[-1] == (
        'the rollout stops at stage 2, its last; the stage was put back as it was; d could not be reached: it may have '
        'the change, with its snapshot kept on it; check it when it is back; fix the cause and run the same command '
        'again: it resumes at stage 2')
    message = report.stop_message(rep, 'r.json')[1]
    assert message.startswith('conntrack rollout: stage 2 failed (d); the stage was put back as it was; d could not be '
                              'reached')


def _slice(rid, hosts, stages, fail=None, restore=None):
    """The report of one slice's rollout: every stage run; `fail` fails its stage (and stops)."""
    planned = plan.plan(hosts, stages, rid)
    rep = report.new(planned, {'soak': 5, 'stages': [str(s) for s in stages]}, {}, 100.0)
    for stage in planned['stages']:
        index = stage['index']
        rep = report.start_stage(rep, index, 100.0 + index)
        outcomes = dict((h, (h != fail, [] if h != fail else [{'gate': 'check:app', 'evidence': 'exit 1'}], True))
                        for h in stage['hosts'])
        decided = plan.verdict(stage['hosts'], outcomes)
        rep = report.record_verdict(rep, index, outcomes, decided, 110.0 + index)
        rep = report.record_restores(rep, index, dict((h, (restore or {}).get(h, {})) for h in decided['restore']),
                                     120.0 + index)
        if not decided['passed']:
            break
    return rep


def test_merge_of_slices():
    one = _slice('r1', ['a', 'd', 'g'], [1, '100%'], fail='g', restore={'d': {'failed': True, 'msg': 'no snapshot'}})
    two = _slice('r2', ['b'], [1, '100%'])
    three = _slice('r3', ['f'], [1, '100%'])
    merged = report.merge([one, two, three], ['s1.json', 's2.json', 's3.json'])
    assert merged['status'] == 'stopped' and merged['merged'] is True
    assert sorted(merged['hosts']) == ['a', 'b', 'd', 'f', 'g']
    assert merged['hosts']['g'] == {'rollout_id': 'r1', 'stage': 2, 'stage_status': 'failed', 'passed': False,
                                    'gates_failed': ['check:app'], 'restore': 'restored'}
    assert report.merged_restore_failures(merged) == [('d', 'failed: no snapshot')]
    lines = report.merged_lines(merged)
    assert lines[0] == 'conntrack rollout (merged): 3 slice(s), 5 host(s): STOPPED'
    assert '  slice 1 (s1.json, rollout r1): stopped, 1 of 2 stage(s) passed' in lines
    assert '  g: stage 2: check:app failed; restore: restored' in lines
    assert any(line.startswith('  d: the restore FAILED (failed: no snapshot)') for line in lines)
    assert json.loads(json.dumps(merged)) == merged
    page = report.to_html(merged)
    assert page.count('<h2>slice ') == 3 and 'merged from 3 slices): stopped' in page
    # every slice completed: completed
    assert report.merge([two, three], ['s2', 's3'])['status'] == 'completed'
    running = dict(two, status='running', ended=None)
    assert report.merge([running, three], ['s2', 's3'])['status'] == 'running'


@pytest.mark.parametrize('reports, needle', [
    ([], 'no reports to merge'),
    ([{'schema': 'urn:nfct-tuning:conntrack-audit-report', 'hosts': {}}],
     'x0 is not the rollout report of one slice (its schema is not nfct.tuning/rollout/v1); audit reports merge '
     'with nfct.tuning.merge_reports'),
    (['garbage'], 'x0 is not the rollout report of one slice'),
    ('same-host', 'host a is in two reports, x0 and x1'),
    ('other-options', 'x0 and x1 differ in options'),
    ('merged', 'x0 is not the rollout report of one slice'),
])
def test_merge_refuses(reports, needle):
    one = _slice('r1', ['a', 'b'], [1, '100%'])
    if reports == 'same-host':
        reports = [one, _slice('r2', ['a'], [1, '100%'])]
    elif reports == 'other-options':
        reports = [one, _slice('r2', ['c'], [2, '100%'])]
    elif reports == 'merged':
        reports = [report.merge([one], ['y'])]
    with pytest.raises(plan_merge_error()) as e:
        report.merge(reports, ['x%d' % i for i in range(len(reports))])
    assert needle in str(e.value)


def plan_merge_error():
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import report as audit_report
    return audit_report.MergeError


def run_rollout_action(tmp_path, args):
    """conntrack_rollout as Ansible runs it on the controller, in tmp_path as the current folder."""
    from ansible_collections.nfct.tuning.plugins.action.conntrack_rollout import ActionModule
    return modrun.run_action(ActionModule, tmp_path, args)


def test_the_merge_step_writes_the_fleet_report_and_refuses_without_writing(tmp_path):
    (tmp_path / 'slices').mkdir()
    for name, part in (('1', _slice('r1', ['a', 'd'], [1, '100%'], fail='d')), ('2', _slice('r2', ['b'], [1, '100%']))):
        (tmp_path / 'slices' / ('conntrack-rollout-%s.json' % name)).write_text(json.dumps(part))
    res = run_rollout_action(tmp_path, {'step': 'merge', 'merge': ['slices/conntrack-rollout-*.json'],
                                        'report_path': 'out/merged.json', 'html_path': 'out/merged.html'})
    assert not res.get('failed'), res
    assert res['status'] == 'stopped' and res['failed_run'] and res['hosts'] == ['a', 'b', 'd']
    assert res['lines'][1] == 'conntrack rollout (merged): 2 slice(s), 3 host(s): STOPPED'
    written = json.loads((tmp_path / 'out' / 'merged.json').read_text())
    assert written['merged'] and sorted(written['hosts']) == ['a', 'b', 'd']
    assert '<h2>slice 2: rollout r2: completed</h2>' in (tmp_path / 'out' / 'merged.html').read_text()
    for args, needle in (
            ({'merge': ['nothing-*.json']}, 'merge: nothing-*.json: no such report file'),
            ({'merge': []}, 'merge: list the rollout reports of the slices to merge'),
            ({'merge': ['slices/*.json'], 'report_path': 'slices/conntrack-rollout-1.json'},
             'conntrack-rollout-1.json is one of the reports to merge; write the merged report to another path')):
        res = run_rollout_action(tmp_path, dict({'step': 'merge', 'report_path': 'refused.json',
                                                 'html_path': 'refused.html'}, **args))
        assert res['failed'] and needle in res['msg'], res
        assert not (tmp_path / 'refused.json').exists() and not (tmp_path / 'refused.html').exists()
