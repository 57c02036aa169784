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
