# -*- coding: utf-8 -*-
"""What a fleet pays per host (docs/fleet.md, "Where the time goes"): every task that is not
run_once costs a worker process per host on the controller, skipped or not, and every module
that runs on the host a round trip. The playbooks' compiled tasks are pinned here (issues 23 and
25): the audit runs one module on the host and three tasks per host in all; a rollout stage
reads the host once before its change (the window, the snapshot and the facts in one module run)
and the apply step then reads no facts of its own."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# the actions that run no module on the host (action plugins on the controller, the strategy's own)
CONTROLLER = ('nfct.tuning.conntrack_recommend', 'nfct.tuning.conntrack_audit_report', 'nfct.tuning.conntrack_rollout',
              'ansible.builtin.debug', 'ansible.builtin.fail', 'ansible.builtin.set_fact', 'ansible.builtin.meta',
              'ansible.builtin.include_tasks', 'ansible.builtin.validate_argument_spec')


@pytest.fixture(scope='module')
def compiled():
    def load(playbook):
        out = subprocess.run([sys.executable, os.path.join(HERE, 'playtasks.py'), os.path.join(REPO, 'playbooks', playbook)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout)
    return load


def per_host(play):
    return [t for t in play['tasks'] if not t['run_once']]


def test_the_audit_is_one_module_run_and_three_tasks_per_host(compiled):
    play, = compiled('audit.yml')
    tasks = per_host(play)
    assert [t['action'] for t in tasks] == ['nfct.tuning.conntrack_recommend', 'nfct.tuning.conntrack_audit',
                                            'ansible.builtin.fail']
    # no argument check of the preflight's empty spec, none of the audit entry point, no task of its own
    # for the Prometheus read (the audit's action reads it before its module run)
    assert not [t for t in play['tasks'] if t['action'] == 'ansible.builtin.validate_argument_spec']


def test_a_rollout_stage_reads_the_host_once_before_its_change(compiled):
    plan, stage, end = compiled('rollout.yml')
    on_host = [t['action'] for t in per_host(stage) if t['action'] not in CONTROLLER]
    assert on_host == ['nfct.tuning.conntrack_snapshot', 'nfct.tuning.conntrack_rollout_gate',
                       'nfct.tuning.conntrack_snapshot']  # before the change; the gate; the put back of a failed stage
    apply, = [t for t in stage['tasks'] if t['name'].endswith('Apply the change (the role\'s main tasks)')]
    assert apply['vars'] == ['conntrack__facts_given']
    for play in (plan, stage, end):
        assert not [t for t in play['tasks'] if t['action'] == 'ansible.builtin.validate_argument_spec'], play['name']
    tune, = compiled('tune.yml')
    facts, = [t for t in tune['tasks'] if t['action'] == 'nfct.tuning.conntrack_facts']
    assert facts['when'] == ['not conntrack__facts_given | default(false)']
