# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils import _gather, _keys, _sizing
from ansible_collections.nfct.tuning.plugins.module_utils._profiles import BUILTIN_PROFILES

import hosts

GIB = 1024 ** 3


@pytest.mark.parametrize('ram, ptr, release, hashsize, buckets, cmax', [
    # >= 5.15: factor 1; 262144 above 4 GiB on 64-bit, 65536 above 1 GiB, RAM/16384/8 below, min 1024
    (24 * GIB, 8, (6, 18, 0), None, 262144, 262144),
    (2 * GIB, 8, (6, 1, 0), None, 65536, 65536),
    (512 * 1024 ** 2, 8, (5, 15, 0), None, 4096, 4096),
    (8 * 1024 ** 2, 8, (6, 1, 0), None, 1024, 1024),
    # 32-bit with 8 GiB: no 262144 step; pointer 4 -> rounds to 1024-bucket pages
    (8 * GIB, 4, (6, 1, 0), None, 65536, 65536),
    # explicit hashsize: factor 8, rounded to a page of heads
    (2 * GIB, 8, (6, 1, 0), 131072, 131072, 1048576),
    (2 * GIB, 8, (6, 1, 0), 1000, 1024, 8192),
    # before 5.15: 65536 above 4 GiB, 16384 above 1 GiB, factor 4
    (8 * GIB, 8, (4, 19, 0), None, 65536, 262144),
    (2 * GIB, 8, (5, 10, 0), None, 16384, 65536),
    (8 * GIB, 8, (4, 19, 0), 32768, 32768, 262144),
])
def test_kernel_default(ram, ptr, release, hashsize, buckets, cmax):
    got = _sizing.kernel_default(ram, ptr, release, 4096, hashsize)
    assert (got['buckets'], got['max']) == (buckets, cmax)
    assert got['reason'] and got['source'].startswith('kernel')


@pytest.mark.parametrize('n, page, ptr, expected', [
    (1, 4096, 8, 512), (512, 4096, 8, 512), (513, 4096, 8, 1024), (300000, 4096, 8, 300032),
    (1000, 4096, 4, 1024), (70000, 65536, 8, 73728),
])
def test_round_buckets(n, page, ptr, expected):
    assert _sizing.round_buckets(n, page, ptr) == expected


@pytest.fixture
def facts(tmp_path):
    cache = {}

    def get(name):
        if name not in cache:
            root, probes = hosts.build(str(tmp_path / name), name)
            cache[name] = _gather.gather(root=root, probes=probes)
        return copy.deepcopy(cache[name])
    return get


def test_every_builtin_profile_explains_every_value(facts):
    f = facts('post515_builtin')
    for name in BUILTIN_PROFILES:
        rec = _sizing.recommend(f, profile=name)
        assert rec['profile'] == name
        for short, v in rec['values'].items():
            assert v['reason'] and v['source'], (name, short)
            assert v['key'] == 'net.netfilter.nf_conntrack_' + short
            _keys.validate_value(short, v['recommended'])
        assert rec['values']['buckets']['recommended'] % 512 == 0


def test_kubernetes_node_matches_kube_proxy(facts):
    f = facts('post515_builtin')
    f['cpus'] = 2
    f['max'] = f['sysctls']['max'] = 65536
    f['buckets'] = f['sysctls']['buckets'] = 16384
    rec = _sizing.recommend(f, profile='kubernetes_node')
    # max(32768 x 2, 131072) = 131072; hashsize = max / 4
    assert rec['recommended']['max'] == 131072
    assert rec['recommended']['buckets'] == 32768
    assert rec['recommended']['tcp_timeout_established'] == 86400
    assert rec['recommended']['tcp_timeout_close_wait'] == 3600
    f['cpus'] = 16
    rec = _sizing.recommend(f, profile='kubernetes_node')
    assert rec['recommended']['max'] == 524288
    assert rec['recommended']['buckets'] == 131072
    # only raise: a node that already has more keeps it, like kube-proxy
    f['max'] = f['sysctls']['max'] = 2000000
    rec = _sizing.recommend(f, profile='kubernetes_node')
    assert rec['recommended']['max'] == 2000000
    assert 'only_raise' in rec['values']['max']['reason']


def test_default_profile_on_pre515_catches_up_with_modern_kernel(facts):
    f = facts('pre515_noprocfs')
    f['max'] = f['sysctls']['max'] = 65536
    f['buckets'] = f['sysctls']['buckets'] = 16384
    rec = _sizing.recommend(f, profile='default')
    assert rec['recommended']['max'] == 262144  # > 4 GiB on 64-bit, modern rule
    assert rec['recommended']['buckets'] == 262144
    assert rec['values']['max']['source'].endswith('(commit d532bcd0b269)')


def test_budget_limits_max_and_warns(facts):
    f = facts('post515_builtin')
    rec = _sizing.recommend(f, profile='edge', memory_budget_percent=0.5, only_raise=False)
    budget = rec['memory']['budget_bytes']
    assert rec['memory']['bytes_at_recommended_max'] <= budget
    assert any('memory budget exceeded' in w for w in rec['warnings'])
    assert rec['values']['max']['source'] == 'memory_budget_percent'


def test_expected_peak_and_live_count(facts):
    f = facts('post515_builtin')
    rec = _sizing.recommend(f, profile='default', expected_peak=1000000)
    assert rec['recommended']['max'] == 2000896  # 2 x peak rounded up to 1024
    f['count'] = 250000
    rec = _sizing.recommend(f, profile='default')
    assert rec['recommended']['max'] >= 500000
    assert 'live count' in rec['values']['max']['reason']


def test_never_below_live_count_and_table_full_warning(facts):
    f = facts('post515_builtin')
    f['count'] = 262144
    rec = _sizing.recommend(f, profile='default', overrides={'max': 1024}, only_raise=False)
    assert rec['recommended']['max'] == 262144
    assert any('below the live count' in w for w in rec['warnings'])
    assert any('table full' in w for w in rec['warnings'])


def test_overrides_and_only_raise_off(facts):
    f = facts('post515_builtin')
    rec = _sizing.recommend(f, profile='web', overrides={'net.netfilter.nf_conntrack_max': 100000,
                                                         'buckets': 1000, 'udp_timeout': 20}, only_raise=False)
    assert rec['recommended']['max'] == 100000
    assert rec['recommended']['buckets'] == 1024
    assert rec['values']['udp_timeout'] == dict(rec['values']['udp_timeout'], recommended=20, source='overrides.udp_timeout')
    assert rec['sysctl']['net.netfilter.nf_conntrack_udp_timeout'] == 20
    rec = _sizing.recommend(f, profile='web', overrides={'max': 100000})
    assert rec['recommended']['max'] == 262144  # only_raise keeps the larger current value


def test_warnings_chains_and_nat_insert_failed(facts):
    f = facts('post515_builtin')
    f['count'] = 200000
    f['buckets'] = f['sysctls']['buckets'] = 65536
    rec = _sizing.recommend(f, profile='nat_gateway')
    assert any('chain length' in w for w in rec['warnings'])
    assert any('--random-fully' in w for w in rec['warnings'])
    rec = _sizing.recommend(f, profile='web', previous_stats={'insert_failed': 3})
    assert not any('--random-fully' in w for w in rec['warnings'])
    rec = _sizing.recommend(f, profile='web', previous_stats={'insert_failed': 1})
    assert any('and growing' in w for w in rec['warnings'])


def test_container_global_keys_reported_not_writable(facts):
    f = facts('container_netns')
    rec = _sizing.recommend(f, profile='web')
    assert rec['values']['max']['writable'] is False
    assert any('cannot be changed from here' in w for w in rec['warnings'])


def test_not_available():
    rec = _sizing.recommend({'available': False}, profile='web')
    assert rec['available'] is False and rec['recommended'] == {}


def test_user_profile_extends(facts):
    f = facts('post515_builtin')
    profiles = {'my_proxy': {'extends': 'web', 'sizing': {'min': 2 ** 21},
                             'settings': {'tcp_timeout_established': {'value': 7200, 'reason': 'upstream keep-alive 1h'},
                                          'udp_timeout': 15}}}
    rec = _sizing.recommend(f, profile='my_proxy', profiles=profiles)
    assert rec['profile_chain'] == ['my_proxy', 'web', ]
    assert rec['recommended']['max'] == 2 ** 21
    assert rec['values']['tcp_timeout_established']['reason'] == 'upstream keep-alive 1h'
    assert rec['values']['udp_timeout']['source'] == 'profile my_proxy (user-defined)'
    assert rec['recommended']['tcp_timeout_time_wait'] == 30  # inherited from web


@pytest.mark.parametrize('kwargs, fragment', [
    ({'profile': 'webb'}, "unknown profile 'webb'; valid profiles: database, default, dns, edge, kubernetes_node, "
                          "nat_gateway, web"),
    ({'overrides': {'maxx': 1}}, "overrides: unknown conntrack key 'maxx'"),
    ({'overrides': {'max': 0}}, 'overrides.max: 0 is outside the allowed range 1-268435456 entries'),
    ({'overrides': {'max': -1}}, 'overrides.max: -1 is outside the allowed range'),
    ({'overrides': {'max': 'x'}}, "overrides.max: expected an integer, got 'x'"),
    ({'overrides': {'udp_timeout': 2.5}}, 'overrides.udp_timeout: expected an integer'),
    ({'overrides': {'max': 2 ** 40}}, 'overrides.max: 1099511627776 is outside the allowed range 1-268435456'),
    ({'memory_budget_percent': 0}, 'memory_budget_percent: 0 is outside the allowed range 0-100'),
    ({'memory_budget_percent': 101}, 'memory_budget_percent: 101 is outside the allowed range 0-100'),
    ({'memory_budget_percent': -3}, 'memory_budget_percent: -3 is outside the allowed range 0-100'),
    ({'memory_budget_percent': 'ten'}, 'memory_budget_percent: expected a number in the allowed range 0-100'),
    ({'expected_peak': 0}, 'expected_peak: 0 is outside the allowed range 1-268435456'),
    ({'expected_peak': 1.5}, 'expected_peak: expected an integer'),
    ({'profile': 'p', 'profiles': {'p': {'sizing': {'load_factor': 0}}}},
     'profiles.p.sizing.load_factor: 0 is outside the allowed range 1-64'),
    ({'profile': 'p', 'profiles': {'p': {'settings': {'max': 5}}}}, 'profiles.p.settings.max: sizes are computed'),
    ({'profile': 'p', 'profiles': {'p': {'settings': {'udp_timeout': 0}}}},
     'profiles.p.settings.udp_timeout: 0 is outside the allowed range 1-2147483 seconds'),
    ({'profile': 'p', 'profiles': {'p': {'colour': 'red'}}}, 'profiles.p: unknown field(s) colour'),
    ({'profile': 'p', 'profiles': {'p': {'extends': 'q'}}}, "profiles.p.extends: unknown profile 'q'"),
    ({'profile': 'p', 'profiles': {'p': {'extends': 'p'}}}, 'extends loop'),
])
def test_bad_input(facts, kwargs, fragment):
    with pytest.raises((_sizing.ProfileError, _keys.InvalidSetting)) as e:
        _sizing.recommend(facts('post515_builtin'), **kwargs)
    assert fragment in str(e.value)


def test_report_lines(facts):
    f = facts('post515_builtin')
    rec = _sizing.recommend(f, profile='dns')
    lines = _sizing.report_lines('h1', f, rec)
    assert lines[0].startswith('h1: x86_64 kernel 6.18.44')
    assert any(l.strip().startswith('udp_timeout') and '30 -> 10' in l for l in lines)
    assert any('NOTRACK' in l and 'port=53' in l for l in lines)
