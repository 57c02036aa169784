# -*- coding: utf-8 -*-
"""The modules built the way Ansible runs them (argument spec, check mode, exit/fail JSON),
on fixture hosts. The real-kernel runs are in tests/netns."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import platform

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (the minimum we support, 2.17, is tested by make min-ansible)
    import contextlib

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts, conntrack_recommend

import hosts


def invoke(mod, args, *run_args, **run_kwargs):
    """Run mod.run(mod.build_module(), ...) as Ansible runs a module (it ends in exit_json or
    fail_json); the result is on stdout (capsys)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.run(mod.build_module(), *run_args, **run_kwargs)


def ansible_flags(tmp_path, args, check=False, diff=False):
    """args with the check/diff flags and the remote tmpdir Ansible passes to a module."""
    a = dict(args)
    a['_ansible_check_mode'] = check
    a['_ansible_diff'] = diff
    a['_ansible_tmpdir'] = str(tmp_path)
    return a


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
