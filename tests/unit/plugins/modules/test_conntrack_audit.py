# -*- coding: utf-8 -*-
"""conntrack_audit on fixture hosts (files under a temporary root): one module run gives the facts,
the recommendation and the comparison; it never writes (not even a lock file), in check mode or
not; its diff shows what applying would change; bad input names the option and what is allowed.
The real hosts are in tests/containers/test_audit_fleet.py and molecule/drift."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit

import hosts
from modrun import ansible_flags, invoke


def snapshot(root):
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, 'rb') as fh:
                out[p] = (fh.read(), os.stat(p).st_mode)
    return out


def audit(tmp_path, capsys, name, args=None, check=True, diff=False):
    """The audit of a fixture host, with a short in-run health sample (the fixture's counters do
    not move: healthy) unless args says otherwise."""
    args = dict({'health_sample': 0.01}, **(args or {}))
    root, probes = hosts.build(str(tmp_path / 'root'), name)
    before = snapshot(root)
    invoke(conntrack_audit, ansible_flags(tmp_path, args or {}, check, diff), root=root, probes=probes)
    res = json.loads(capsys.readouterr().out)
    assert snapshot(root) == before, 'the audit wrote on the host'
    return res


def test_fresh_host_at_the_kernels_defaults_is_in_sync(tmp_path, capsys):
    res = audit(tmp_path, capsys, 'post515_builtin', {'profile': 'default'})
    a = res['audit']
    assert a['status'] == 'in_sync' and a['fails_run'] is False
    # one story (issue 23): in sync, so not changed, although tune would still write its file
    assert res['changed'] is False
    assert a['keys']['max']['kinds'] == [] and a['keys']['max']['kernel_default'] is True
    assert a['keys']['max']['at_boot'] == 262144
    assert any("at the kernel's default, which every boot gives again" in line for line in a['lines'])
    assert a['conntrack'] == 'builtin' and a['netns'] == 'initial'
    assert 'None' not in '\n'.join(a['lines'])
    # the facts and the recommendation's summary come with it (one module run)
    assert res['ansible_facts']['conntrack']['max'] == 262144
    assert res['report'] and any('max' in line for line in res['report'])


@pytest.mark.parametrize('check', [True, False])
def test_drift_and_diff_never_write(tmp_path, capsys, check):
    res = audit(tmp_path, capsys, 'post515_builtin', {'profile': 'web'}, check=check, diff=True)
    a = res['audit']
    assert res['changed'] is True and a['status'] == 'drifted'
    assert a['keys']['tcp_timeout_time_wait']['kinds'] == ['runtime', 'at_boot']
    assert a['keys']['tcp_timeout_time_wait']['runtime'] == 120
    assert a['failing_kinds'] == ['at_boot', 'runtime']
    headers = [d['after_header'] for d in res['diff']]
    assert headers == ['/etc/sysctl.d/90-conntrack.conf', 'runtime (/proc/sys/net/netfilter)']
    assert 'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 60\n' in res['diff'][1]['after']
    assert not os.path.exists(str(tmp_path / 'root' / 'run' / 'lock' / 'nfct-tuning.lock'))


def test_shadowing_and_the_module_boot_order(tmp_path, capsys):
    # module_vm: our file sets max 300000, 99-local.conf sets 250000 after it; a modules-load.d
    # entry loads nf_conntrack before systemd-sysctl
    res = audit(tmp_path, capsys, 'module_vm', {'profile': 'default', 'overrides': {'max': 300000},
                                                'memory_budget_percent': 50, 'only_raise': False})
    k = res['audit']['keys']['max']
    # max holds 300000 now but the next boot gives 250000 (shadowed): right now, lost at the next boot
    assert k['kinds'] == ['unpersisted', 'shadowed'] and k['shadowed_by'] == ['/etc/sysctl.d/99-local.conf']
    assert k['at_boot'] == 250000 and k['at_boot_source'] == '/etc/sysctl.d/99-local.conf'
    assert res['audit']['boot']['sysctl_d_applies'] is True
    assert any('shadowed by /etc/sysctl.d/99-local.conf' in line for line in res['audit']['lines'])


def test_container_reports_global_keys_read_only(tmp_path, capsys):
    res = audit(tmp_path, capsys, 'container_netns', {'profile': 'web'})
    a = res['audit']
    assert a['netns'] == 'non-initial'
    assert a['keys']['max']['readonly'] and a['keys']['max']['kinds'] == []


def test_host_without_conntrack_is_reported_not_failed(tmp_path, capsys):
    res = audit(tmp_path, capsys, 'module_not_loaded', {'profile': 'web'})
    assert res.get('failed') is not True
    assert res['audit']['status'] in ('in_sync', 'drifted')
    assert res['audit']['conntrack'] == 'module (not loaded)'
    assert 'None' not in '\n'.join(res['audit']['lines'])


@pytest.mark.parametrize('args, fragment', [
    ({'fail_on': ['runtime', 'bogus']}, 'fail_on: unknown kind(s) bogus; allowed: runtime, at_boot, unpersisted, shadowed, '
                                        'notrack, reenabled, unreachable, failed, full, high_usage, dropping, invalid, '
                                        'search_restart'),
    ({'usage_threshold': 1.5}, 'usage_threshold: 1.5 is outside the allowed range 0.05-1'),
    ({'usage_threshold': 'lots'}, 'usage_threshold: expected a number in the allowed range 0.05-1'),
    ({'health_sample': 61}, 'health_sample: 61 is outside the allowed range 0-60 seconds'),
    ({'top': 0}, 'top'),
    ({'top': 'inf'}, 'top'),
    ({'notrack_backend': 'pf'}, "notrack_backend: 'pf'; allowed: "),
    ({'sysctl_file': '/opt/ct.conf'}, 'sysctl_file'),
    ({'profile': 'nope'}, 'nope'),
    ({'memory_budget_percent': 90}, 'memory_budget_percent'),
])
def test_bad_input_names_the_option(tmp_path, capsys, args, fragment):
    res = audit(tmp_path, capsys, 'post515_builtin', args)
    assert res['failed'] is True and fragment in res['msg'], res['msg']


def test_state_disabled_drifts_reenabled_when_conntrack_is_back(tmp_path, capsys):
    # module_vm: nf_conntrack loaded, no disable file of ours: a host meant to be disabled is not
    res = audit(tmp_path, capsys, 'module_vm', {'state': 'disabled'})
    a = res['audit']
    assert a['status'] == 'drifted' and 'reenabled' in a['failing_kinds'] and a['fails_run'] is True
    assert a['disabled'] == {'off': False, 'why': 'our disable file is missing'}
    assert any(line.startswith('  disabled: REENABLED - our disable file is missing') for line in a['lines'])
    assert a['users']['kernel'] == 'module' and a['keys'] == {}


def test_report_fails_a_reenabled_host(tmp_path, capsys):
    # the report (controller-side: left out of make host-python) counts it, and a reenabled
    # host fails the run by default
    res = audit(tmp_path, capsys, 'module_vm', {'state': 'disabled'})
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import report as _audit_report
    rep = _audit_report.build({'h': res}, ['h'])
    assert rep['hosts']['h']['failing_kinds'] == ['at_boot', 'reenabled'] and rep['counts']['failing'] == 1


def test_state_disabled_in_sync_when_off(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path / 'root'), 'module_not_loaded')
    import shutil
    shutil.rmtree(root + '/sys/module/nf_conntrack', ignore_errors=True)
    import os
    os.makedirs(root + '/etc/modprobe.d', exist_ok=True)
    from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
    with open(root + '/etc/modprobe.d/nfct-tuning-disable.conf', 'w') as f:
        f.write(_settings.render_disable())
    invoke(conntrack_audit, ansible_flags(tmp_path, {'state': 'disabled'}, True), root=root, probes=probes)
    a = json.loads(capsys.readouterr().out)['audit']
    assert a['status'] == 'in_sync' and a['disabled'] == {'off': True, 'why': None}, a['lines']
    assert '  disabled: conntrack is off, as meant' in a['lines']


def test_breakdown_in_the_summary_and_the_report(tmp_path, capsys):
    # conntrack_audit_breakdown: true - a single host inspected without Prometheus
    res = audit(tmp_path, capsys, 'post515_builtin', {'breakdown': True, 'top': 3})
    a = res['audit']
    assert a['breakdown']['total'] == 5 and len(a['breakdown']['top_sources']) <= 3
    text = '\n'.join(a['lines'])
    assert '  breakdown of 5 entries (procfs): ' in text and 'TCP states: ' in text and 'top sources: ' in text
    res = audit(tmp_path, capsys, 'post515_builtin', {})
    assert 'breakdown' not in res['audit']


@pytest.mark.parametrize('vocabulary, expected', [
    ('module', 'fail_on: unknown kind(s) fulll; allowed: runtime, at_boot, unpersisted'),
    ('role', 'conntrack_audit_fail_on: unknown kind(s) fulll; allowed: runtime, at_boot, unpersisted'),
])
def test_an_unknown_kind_lists_the_valid_ones_in_the_callers_words(tmp_path, capsys, vocabulary, expected):
    res = audit(tmp_path, capsys, 'post515_builtin', {'fail_on': ['full', 'fulll'], 'vocabulary': vocabulary})
    assert res['failed'] is True and res['msg'].startswith(expected)
    assert 'dropping' in res['msg'] and 'search_restart' in res['msg']


def test_role_vocabulary_in_the_engines_errors(tmp_path, capsys):
    res = audit(tmp_path, capsys, 'post515_builtin', {'overrides': {'max': 10 ** 8}, 'vocabulary': 'role'})
    assert res['failed'] is True and 'conntrack_overrides.max' in res['msg']
    assert 'conntrack_force' in res['msg'] or 'conntrack_memory_budget_percent' in res['msg']


def _history_file(root, peaks, cmax=262144):
    """A history of one day per peak ending an hour ago (the metrics writer's file), in root."""
    import time
    from ansible_collections.nfct.tuning.plugins.module_utils.history import store
    h = store.empty()
    start = (int(time.time()) // 86400 - len(peaks)) * 86400
    for day, peak in enumerate(peaks):
        for t in range(0, 86400, 1800):
            count = peak if t == 14 * 3600 else int(peak * 0.4)
            store.record(h, {'time': float(start + day * 86400 + t), 'boot_id': 'old', 'count': count, 'max': cmax,
                             'counters': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'insert': 0}})
    path = os.path.join(root, 'var/lib/nfct-tuning/history.json')
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as f:
        f.write(store.dumps(h))


@pytest.mark.parametrize('peaks,horizon,filling', [
    ([60000 + 20000 * d for d in range(10)], 7 * 86400, True),    # rising to max within days
    ([60000 + 20000 * d for d in range(10)], 0, False),           # no forecast asked for
    ([100000] * 10, 7 * 86400, False),                            # flat: never fills
])
def test_filling_from_the_history_trend(tmp_path, capsys, peaks, horizon, filling):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    _history_file(root, peaks)
    before = snapshot(root)
    invoke(conntrack_audit, ansible_flags(tmp_path, {'health_sample': 0.01, 'forecast_horizon': horizon}, True, False),
           root=root, probes=probes)
    a = json.loads(capsys.readouterr().out)['audit']
    assert snapshot(root) == before
    assert ('filling' in a['health']['kinds']) is filling, a['health']
    if filling:
        assert 'at the trend of the history' in a['health']['evidence']['filling']
        assert a['fails_run'] is False   # reported, not failing by default
    else:
        assert 'filling' not in a['failing_kinds']


def test_sizing_auto_from_the_history_explains_max(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    _history_file(root, [100000] * 14)
    invoke(conntrack_audit, ansible_flags(tmp_path, {'health_sample': 0.01, 'sizing': 'auto', 'only_raise': False},
                                          True, False), root=root, probes=probes)
    res = json.loads(capsys.readouterr().out)
    assert any('p99 of' in line for line in res['report']), res['report']


@pytest.mark.parametrize('args,what', [
    ({'forecast_horizon': -1}, 'forecast_horizon'), ({'forecast_horizon': 'soon'}, 'forecast_horizon'),
    ({'sizing': 'sometimes'}, 'sizing'),
])
def test_bad_forecast_and_sizing_options_are_named(tmp_path, capsys, args, what):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    invoke(conntrack_audit, ansible_flags(tmp_path, args, True, False), root=root, probes=probes)
    out = json.loads(capsys.readouterr().out)
    assert out['failed'] and what in out['msg']
