# -*- coding: utf-8 -*-
"""The modules built the way Ansible runs them (argument spec, check mode, exit/fail JSON),
on fixture hosts. The real-kernel runs are in tests/netns."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import platform

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts, conntrack_recommend

import hosts
from modrun import invoke


def run(mod, args, root=None, probes=None, capsys=None):
    invoke(mod, args, root=root or '', probes=probes)
    return json.loads(capsys.readouterr().out)


def test_facts_module_check_mode(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    out = run(conntrack_facts, {'_ansible_check_mode': True, 'breakdown': True, 'top': 2}, root, probes, capsys)
    assert out['changed'] is False
    ct = out['ansible_facts']['conntrack']
    assert ct['count'] == 5 and ct['breakdown']['total'] == 5 and len(ct['breakdown']['top_sources']) == 2


def test_facts_module_absent_conntrack_does_not_fail(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'module_not_loaded')
    out = run(conntrack_facts, {}, root, probes, capsys)
    assert 'failed' not in out
    assert out['ansible_facts']['conntrack']['available'] is False


@pytest.mark.parametrize('args, fragment', [
    ({'top': 0}, 'top: 0 is outside the allowed range 1-10000'),
    ({'stats_source': 'magic'}, 'value of stats_source must be one of'),
])
def test_facts_module_bad_args(tmp_path, capsys, args, fragment):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    out = run(conntrack_facts, args, root, probes, capsys)
    assert out['failed'] is True and fragment in out['msg']


def test_recommend_module_on_host(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'module_vm')
    out = run(conntrack_recommend, {'profile': 'kubernetes_node'}, root, probes, capsys)
    assert out['computed_on'] == 'host'
    assert out['recommended']['max'] == 300000  # only_raise keeps the larger live value
    assert out['recommended']['tcp_timeout_close_wait'] == 3600
    # the module runs on the host: its summary is headed by the host's own name
    assert out['report'][0].startswith('%s: x86_64 kernel 6.1.0-28-amd64, nf_conntrack module' % platform.node())


def test_recommend_module_bad_input(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'module_vm')
    out = run(conntrack_recommend, {'profile': 'nope'}, root, probes, capsys)
    assert out['failed'] is True and 'valid profiles: database, default' in out['msg']
    out = run(conntrack_recommend, {'memory_budget_percent': 150}, root, probes, capsys)
    assert 'memory_budget_percent: 150 is outside the allowed range 0.1-50 percent of RAM' in out['msg']
