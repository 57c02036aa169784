# -*- coding: utf-8 -*-
"""What one audit run costs on the host (issue 23's fleet target, docs/fleet.md): the firewall
rulesets are read once for NAT and for the users check; the default health sample is short; the
NOTRACK comparison's code is loaded only when it is asked for. The fleet's figures are measured by
benchmarks/fleet.py on Podman hosts."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host
from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit

import hosts
from modrun import ansible_flags, invoke


def test_the_rulesets_are_read_once_per_run(tmp_path, capsys, monkeypatch):
    calls = []
    real = _users_host.rulesets
    monkeypatch.setattr(_users_host, 'rulesets', lambda module, io: calls.append(1) or real(module, io))
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    invoke(conntrack_audit, ansible_flags(tmp_path, {'health_sample': 0.01, 'users': True}, True), root=root, probes=probes)
    res = json.loads(capsys.readouterr().out)
    assert res['audit']['status'] in ('in_sync', 'drifted') and res['ansible_facts']['conntrack']['nat'] is not None
    assert len(calls) == 1


def test_rulesets_once_shares_one_reading_and_reads_each_time_without_a_cache(monkeypatch):
    calls = []
    monkeypatch.setattr(_users_host, 'rulesets', lambda module, io: calls.append(1) or ('nft', {}))
    cache = {}
    assert _users_host.rulesets_once(None, None, cache) == _users_host.rulesets_once(None, None, cache) == ('nft', {})
    assert len(calls) == 1
    _users_host.rulesets_once(None, None)
    _users_host.rulesets_once(None, None)
    assert len(calls) == 3


def test_the_default_health_sample_is_short():
    assert conntrack_audit.AUDIT_SPEC['health_sample']['default'] == 0.3


def test_notrack_planning_is_not_imported_by_the_module():
    code = ('import json, sys; from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit; '
            'print(json.dumps(sorted(sys.modules)))')
    out = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, check=True, universal_newlines=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout
    loaded = json.loads(out)
    assert 'ansible_collections.nfct.tuning.plugins.module_utils.notrack.spec' in loaded
    assert not [m for m in loaded if m.endswith(('notrack.plan', 'notrack.host', 'notrack.safety', 'settings.disable'))], loaded
