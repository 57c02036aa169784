# -*- coding: utf-8 -*-
"""The sizing engine (_sizing.recommend): behaviour on real fixture hosts and one regression test
per finding of the independent review (issue 10). Invariants over generated inputs are in
test_sizing_properties.py, bad inputs in test_sizing_bad_input.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import BUILTIN_PROFILES

import hosts
import synth

GIB = 1024 ** 3
MIB = 1024 ** 2
DOCS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs')


@pytest.fixture
def facts(tmp_path):
    cache = {}

    def get(name):
        if name not in cache:
            root, probes = hosts.build(str(tmp_path / name), name)
            cache[name] = _gather.gather(root=root, probes=probes)
        return copy.deepcopy(cache[name])
    return get


def rec(f, **kw):
    return _sizing.recommend(f, **kw)


# ---------------------------------------------------------------- fixture hosts

def test_every_builtin_profile_explains_every_value(facts):
    f = facts('post515_builtin')
    for name in BUILTIN_PROFILES:
        r = rec(f, profile=name)
        assert r['profile'] == name
        for short, v in r['values'].items():
            assert v['reason'] and v['source'], (name, short)
            assert v['key'] == 'net.netfilter.nf_conntrack_' + short
            _keys.validate_value(short, v['recommended'])
        assert r['values']['buckets']['recommended'] % 512 == 0


def test_default_profile_on_pre515_catches_up_with_modern_kernel(facts):
    f = facts('pre515_noprocfs')
    f['max'] = f['sysctls']['max'] = 65536
    f['buckets'] = f['sysctls']['buckets'] = 16384
    r = rec(f, profile='default')
    assert r['recommended']['max'] == 262144  # > 4 GiB on 64-bit, modern rule
    assert r['recommended']['buckets'] == 262144
    assert 'd532bcd0b269' in r['values']['max']['source']


def test_container_global_keys_reported_not_writable(facts):
    f = facts('container_netns')
    r = rec(f, profile='web')
    assert r['values']['max']['writable'] is False
    assert any('cannot be changed from here' in w for w in r['warnings'])


def test_not_available():
    r = rec({'available': False}, profile='web')
    assert r['available'] is False and r['recommended'] == {}
    assert rec(None)['available'] is False


def test_user_profile_extends(facts):
    f = facts('post515_builtin')
    profiles = {'my_proxy': {'extends': 'web', 'sizing': {'min': 2 ** 21},
                             'settings': {'tcp_timeout_established': {'value': 7200, 'reason': 'upstream keep-alive 1h'},
                                          'udp_timeout': 15}}}
    r = rec(f, profile='my_proxy', profiles=profiles)
    assert r['profile_chain'] == ['my_proxy', 'web']
    assert r['recommended']['max'] == 2 ** 21
    assert r['values']['tcp_timeout_established']['reason'] == 'upstream keep-alive 1h'
    assert r['values']['udp_timeout']['source'] == 'profile my_proxy (user-defined)'
    assert r['recommended']['tcp_timeout_time_wait'] == 60  # inherited from web


def test_warnings_chains_and_nat_insert_failed(facts):
    f = facts('post515_builtin')
    f['count'] = 100000
    f['buckets'] = f['sysctls']['buckets'] = 32768
    r = rec(f, profile='nat_gateway')
    assert any('chain length' in w for w in r['warnings'])
    assert any('--random-fully' in w for w in r['warnings'])
    r = rec(f, profile='web', previous_stats={'insert_failed': 3})
    assert not any('--random-fully' in w for w in r['warnings'])
    r = rec(f, profile='web', previous_stats={'insert_failed': 1, 'source': 'procfs', 'cpus': 2})
    assert any('and growing' in w for w in r['warnings'])


def test_table_full_warning(facts):
    f = facts('post515_builtin')
    f['count'] = 262144
    r = rec(f, profile='default')
    assert r['recommended']['max'] >= 2 * 262144
    assert any('table full' in w for w in r['warnings'])


def test_report_lines(facts):
    f = facts('post515_builtin')
    r = rec(f, profile='dns')
    lines = _sizing.report_lines('h1', f, r)
    assert lines[0].startswith('h1: x86_64 kernel 6.18.44')
    assert any(line.strip().startswith('udp_timeout') and '30 -> 10' in line for line in lines)
    assert any('NOTRACK' in line and 'port=53' in line for line in lines)


# ---------------------------------------------------------------- finding 1: kube-proxy

NODE = dict(ram=8 * GIB, cpus=2)   # live max 262144 = the kernel default; kube-proxy computes 131072


def test_kubernetes_node_kube_proxy_1_29_to_1_35_fight_is_reported():
    f = synth.facts(**NODE)
    r = rec(f, profile='kubernetes_node', kube_proxy='1.30')
    assert r['recommended']['max'] == 262144          # only_raise keeps the live value...
    fight = [w for w in r['warnings'] if 'nf_conntrack_max' in w and 'kube-proxy 1.30' in w]
    assert fight, r['warnings']                        # ...and says kube-proxy undoes it, and what to do
    assert '131072 whenever it differs' in fight[0] and 'conntrack.maxPerCore: 0' in fight[0]
    assert r['kube_proxy']['lines'][0]['max'] == 131072 and r['kube_proxy']['lines'][0]['max_mode'] == 'any'


def test_kubernetes_node_agrees_with_kube_proxy_without_only_raise():
    f = synth.facts(**NODE)
    r = rec(f, profile='kubernetes_node', kube_proxy='1.30', only_raise=False)
    assert r['recommended']['max'] == 131072 and r['recommended']['buckets'] == 32768
    assert r['recommended']['tcp_timeout_established'] == 86400
    assert r['recommended']['tcp_timeout_close_wait'] == 3600
    assert not [w for w in r['warnings'] if 'kube-proxy' in w]
    assert 'what kube-proxy 1.30 sets: max(32768 x 2 CPUs, min 131072)' in r['values']['max']['reason']


@pytest.mark.parametrize('version', ['1.25', 'v1.38.1'])
def test_raise_only_kube_proxy_lines_do_not_fight_a_larger_live_max(version):
    r = rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy=version)
    assert r['recommended']['max'] == 262144
    assert not [w for w in r['warnings'] if 'nf_conntrack_max' in w]


def test_kube_proxy_not_stated_lists_the_lines_that_would_differ():
    r = rec(synth.facts(**NODE), profile='kubernetes_node')
    w = [x for x in r['warnings'] if 'kube_proxy is not stated' in x and 'nf_conntrack_max' in x]
    assert w and '1.29-1.35 -> 131072' in w[0] and '1.23-1.28' not in w[0]


def test_kube_proxy_absent_uses_the_profile_rule_and_never_warns():
    r = rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy='absent', only_raise=False)
    assert r['recommended']['max'] == 131072
    assert not [w for w in r['warnings'] if 'kube' in w]
    assert r['kube_proxy'] == {'stated': 'absent'}


def test_kube_proxy_config_is_followed_and_max_per_core_0_frees_the_profile():
    big = synth.facts(ram=64 * GIB, cpus=64, cmax=262144)
    r = rec(big, profile='kubernetes_node', kube_proxy='1.31', only_raise=False)
    assert r['recommended']['max'] == 2097152          # no cap before 1.36
    r = rec(big, profile='kubernetes_node', kube_proxy='1.36', only_raise=False)
    assert r['recommended']['max'] == 1048576
    r = rec(big, profile='kubernetes_node', kube_proxy={'version': '1.31', 'max_per_core': 0}, only_raise=False)
    assert r['recommended']['max'] == 1048576 and 'maxPerCore 0' in r['values']['max']['reason']
    r = rec(big, profile='kubernetes_node', kube_proxy={'version': '1.31', 'tcp_established_timeout': 7200})
    assert r['recommended']['tcp_timeout_established'] == 7200


def test_kube_proxy_stated_on_another_profile_reports_the_fight():
    r = rec(synth.facts(ram=32 * GIB, cpus=2), profile='web', kube_proxy='1.30')
    assert any('kube-proxy 1.30' in w and 'nf_conntrack_max' in w for w in r['warnings'])
    assert any('tcp_timeout_established' in w for w in r['warnings']) is False  # web also sets 86400


def test_docs_no_longer_claim_the_two_never_fight():
    text = open(os.path.join(DOCS, 'profiles.md')).read()
    assert 'never fight' not in text
    assert 'maxPerCore: 0' in text


# ---------------------------------------------------------------- finding 2: only_raise

def test_only_raise_never_lowers_a_live_max_for_a_smaller_persisted_value():
    f = synth.facts(**dict(NODE, persisted={'max': 65536}))
    r = rec(f, profile='kubernetes_node', kube_proxy='absent')
    assert r['recommended']['max'] >= 262144


def test_only_raise_keeps_live_max_over_override_and_count():
    f = synth.facts(ram=8 * GIB, count=5000, persisted={'max': 4096})
    r = rec(f, overrides={'max': 10240})
    assert r['recommended']['max'] == 262144
    assert 'never below the live value' in r['values']['max']['reason']


def test_only_raise_restores_a_larger_persisted_value_the_boot_lost():
    f = synth.facts(ram=2 * GIB, release=(6, 1, 0), persisted={'max': 2000000})
    r = rec(f, profile='web', memory_budget_percent=50)
    assert r['recommended']['max'] == 2000000
    assert 'the persisted value 2000000 the boot lost' in r['values']['max']['reason']


# ---------------------------------------------------------------- finding 3: never a full table

def test_live_count_gets_target_usage_headroom_or_a_clear_budget_error():
    f = synth.facts(ram=1 * GIB, count=250000)
    with pytest.raises(_sizing.ProfileError) as e:
        rec(f, profile='web', only_raise=False)
    msg = str(e.value)
    assert 'live count 250000 at target_usage 50% needs max >= 500736' in msg
    assert 'A budget of at least 12.' in msg and 'would hold it' in msg
    r = rec(f, profile='web', only_raise=False, memory_budget_percent=13)
    assert r['recommended']['max'] >= 500000


def test_override_below_live_count_headroom_is_refused():
    f = synth.facts(ram=8 * GIB, count=100000)
    with pytest.raises(_sizing.ProfileError, match='overrides.max: 150000 would put the live count 100000 at 66% '
                                                   'of max.*the lowest allowed here is 200000'):
        rec(f, overrides={'max': 150000}, only_raise=False)


# ---------------------------------------------------------------- finding 4: the extension area

def test_nat_budget_counts_the_extension_area():
    f = synth.facts(ram=512 * MIB, release=(6, 18, 0))
    r = rec(f, profile='nat_gateway', only_raise=False)
    mem = r['memory']
    assert mem['entry_bytes'] == 256 + 128 and mem['extension']
    assert mem['bytes_at_recommended_max'] <= mem['budget_bytes']
    # the table really costs what it is said to: 384 B per entry
    assert mem['bytes_at_recommended_max'] == r['recommended']['max'] * 384 + r['recommended']['buckets'] * 8


@pytest.mark.parametrize('sysctls, ext', [({'acct': 1}, True), ({'timestamp': 1}, True), ({'events': 1}, True),
                                          ({'events': 2}, False), ({}, False)])
def test_host_settings_that_add_the_extension(sysctls, ext):
    r = rec(synth.facts(ram=8 * GIB, sysctls=sysctls), profile='default')
    assert (r['memory']['entry_bytes'] == 384) is ext


def test_fallback_object_size_never_undercounts():
    assert _kernel.FALLBACK_OBJECT_SIZE >= 376   # the largest nf_conn seen (3.10-era x86_64)


# ---------------------------------------------------------------- finding 5: budgets

@pytest.mark.parametrize('pct', [1e-9, 0.001, 0.09, 50.5, 100])
def test_degenerate_budgets_are_refused(pct):
    with pytest.raises(_sizing.ProfileError, match='memory_budget_percent: .* is outside the allowed range 0.1-50 '
                                                   'percent of RAM'):
        rec(synth.facts(), memory_budget_percent=pct)


def test_profile_budget_is_validated_like_the_option():
    with pytest.raises(_sizing.ProfileError, match='profiles.p.sizing.memory_budget_percent: 0 is outside the allowed '
                                                   'range 0.1-50'):
        rec(synth.facts(), profile='p', profiles={'p': {'sizing': {'memory_budget_percent': 0}}})


def test_budget_below_the_kernel_default_keeps_it_unless_force():
    f = synth.facts(ram=8 * GIB, cmax=65536, buckets=65536)
    r = rec(f, memory_budget_percent=0.1, only_raise=False)
    assert r['recommended']['max'] == 262144       # the kernel's own default for 8 GiB
    assert any('below what the kernel\'s own default table needs' in w for w in r['warnings'])
    r = rec(f, memory_budget_percent=0.1, only_raise=False, force=True)
    assert r['recommended']['max'] < 262144 and r['memory']['within_budget']


# ---------------------------------------------------------------- finding 6: expected_peak

def test_expected_peak_is_met_or_refused_naming_the_budget():
    f = synth.facts(ram=1 * GIB, release=(6, 18, 0))
    with pytest.raises(_sizing.ProfileError) as e:
        rec(f, expected_peak=1000000)
    assert 'expected_peak 1000000 x headroom 2 needs max >= 2000896' in str(e.value)
    assert 'A budget of at least 49.3% would hold it' in str(e.value) and 'force: true' in str(e.value)
    r = rec(f, expected_peak=1000000, force=True)
    assert r['recommended']['max'] >= 2000000 and any(w.startswith('force:') for w in r['warnings'])
    r = rec(synth.facts(ram=64 * GIB), expected_peak=1000000)
    assert r['recommended']['max'] == 2000896
    # never advise a budget the option would refuse
    with pytest.raises(_sizing.ProfileError) as e:
        rec(synth.facts(ram=24 * GIB), expected_peak=30000000)
    assert 'above the 50% ceiling of memory_budget_percent' in str(e.value)
    assert 'A budget of at least' not in str(e.value)


# ---------------------------------------------------------------- finding 7: bucket overrides

def test_bucket_override_with_long_chains_is_refused():
    f = synth.facts(ram=8 * GIB)
    with pytest.raises(_sizing.ProfileError, match=r'overrides.buckets: 1 \(the kernel rounds it to 512\) gives an '
                                                   r'average chain of 512 entries.*at least 32768 buckets'):
        rec(f, overrides={'buckets': 1}, only_raise=False)
    r = rec(f, overrides={'buckets': 65536}, only_raise=False)
    assert r['recommended']['buckets'] == 65536
    assert any('average chain of 4.0' in w for w in r['warnings'])
    r = rec(f, overrides={'buckets': 1}, only_raise=False, force=True)
    assert r['recommended']['buckets'] == 512 and any(w.startswith('force: overrides.buckets') for w in r['warnings'])


# ---------------------------------------------------------------- finding 8: a cap

def test_per_gib_profiles_are_capped_with_the_resize_cost_as_reason():
    r = rec(synth.facts(ram=1024 * GIB, cpus=64), profile='web', only_raise=False)
    assert r['recommended']['max'] == 4194304
    assert 'capped at 4194304' in r['values']['max']['reason']
    assert 'docs/benchmarks.md' in r['values']['max']['source']
    # a stated peak is not capped
    r = rec(synth.facts(ram=1024 * GIB, cpus=64), profile='web', expected_peak=5000000, only_raise=False)
    assert r['recommended']['max'] == 10000384


def test_live_resize_of_a_big_table_warns_with_its_cost():
    f = synth.facts(ram=64 * GIB, count=1500000, cmax=4194304, buckets=1048576)
    r = rec(f, profile='edge')
    w = [x for x in r['warnings'] if 'live resize rehashes all 1500000 entries' in x]
    assert w and 'softirqs off' in w[0] and 'runtime: false' in w[0]


# ---------------------------------------------------------------- finding 9: kernel eras

def test_recommend_uses_the_host_kernels_era():
    f = synth.facts(ram=8 * GIB, release=(3, 10, 0))
    assert (f['max'], f['buckets']) == (65536, 16384)
    f['kernel_default'] = None
    r = rec(f, profile='default', only_raise=False)
    assert r['kernel_default']['max'] == 65536 and r['kernel_default']['era'] == '2.6.28-3.19'
    assert r['recommended']['max'] == 262144


# ---------------------------------------------------------------- finding 10: timeouts

# key -> the lowest value we accept in any profile, and why
TIMEOUT_FLOORS = {
    'tcp_timeout_time_wait': (60, 'Linux TCP_TIMEWAIT_LEN'),
    'tcp_timeout_fin_wait': (60, 'Linux tcp_fin_timeout'),
    'tcp_timeout_syn_recv': (30, 'SYN-ACK retransmission gaps reach 16 s'),
    'tcp_timeout_close_wait': (60, 'kernel default; cutting it breaks FIN handling'),
}


@pytest.mark.parametrize('name', sorted(BUILTIN_PROFILES))
def test_profile_timeouts_respect_their_floors(name):
    r = rec(synth.facts(ram=8 * GIB), profile=name, kube_proxy='absent')
    for key, (floor, why) in TIMEOUT_FLOORS.items():
        if key in r['recommended']:
            assert r['recommended'][key] >= floor, (name, key, why)
    est = r['recommended'].get('tcp_timeout_established')
    if est is not None:
        assert est >= 7440, (name, 'RFC 5382 REQ-5')
    for key, v in r['values'].items():
        if key.startswith('udp'):
            assert 'proto_tcp.c' not in v['source'], (name, key)


def test_nat_gateway_never_lowers_udp_stream_on_older_kernels():
    r = rec(synth.facts(ram=8 * GIB, release=(4, 19, 0)), profile='nat_gateway', kube_proxy='absent')
    assert r['recommended']['udp_timeout_stream'] == 180
    r = rec(synth.facts(ram=8 * GIB, release=(6, 1, 0)), profile='nat_gateway')
    assert r['recommended']['udp_timeout_stream'] == 120


def test_edge_with_tcp_loose_0_keeps_idle_flows_for_the_rfc_minimum():
    r = rec(synth.facts(ram=8 * GIB), profile='edge')
    assert r['recommended']['tcp_loose'] == 0
    assert r['recommended']['tcp_timeout_established'] == 7440
    assert 'RFC 5382' in r['values']['tcp_timeout_established']['source']


def test_profile_rates_in_sources_check_out():
    text = str(BUILTIN_PROFILES)
    assert '20k new connections' not in text
    web = BUILTIN_PROFILES['web']['sources']['per_gib_ram']
    assert '1,000 new connections per second per GiB (65536 / 60)' in web
    assert 65536 // 60 == 1092


# ---------------------------------------------------------------- finding 11: silent misreadings

def test_nat_false_as_a_string_is_false():
    base = {'extends': 'default', 'settings': {}, 'nat': 'false'}
    r = rec(synth.facts(), profile='p', profiles={'p': base})
    assert r['memory']['extension'] == []
    with pytest.raises(_sizing.ProfileError, match="profiles.p.nat: expected a boolean"):
        rec(synth.facts(), profile='p', profiles={'p': dict(base, nat='nope')})


@pytest.mark.parametrize('sizing, fragment', [
    ({'cap': 0}, 'profiles.p.sizing.cap: 0 is outside the allowed range 1024-268435456'),
    ({'cap': 2048, 'min': 65536}, 'profile p: sizing.min 65536 is above sizing.cap 2048'),
])
def test_caps_that_meant_something_else_are_refused(sizing, fragment):
    with pytest.raises(_sizing.ProfileError) as e:
        rec(synth.facts(), profile='p', profiles={'p': {'sizing': sizing}})
    assert fragment in str(e.value)


def test_duplicate_key_spellings_in_profile_settings_are_refused():
    with pytest.raises(_sizing.ProfileError, match="profiles.p.settings: key 'udp_timeout' is given twice"):
        rec(synth.facts(), profile='p', profiles={'p': {'settings': {'udp_timeout': 10,
                                                                     'net.netfilter.nf_conntrack_udp_timeout': 20}}})


def test_a_user_profile_named_like_a_builtin_must_say_how_it_relates():
    with pytest.raises(_sizing.ProfileError, match="profiles.web: 'web' is a built-in profile; say extends: web"):
        rec(synth.facts(), profile='web', profiles={'web': {'settings': {'udp_timeout': 20}}})
    r = rec(synth.facts(), profile='web', profiles={'web': {'extends': 'web', 'settings': {'udp_timeout': 20}}})
    assert r['recommended']['udp_timeout'] == 20 and r['recommended']['tcp_timeout_time_wait'] == 60
    assert r['profile_chain'] == ['web', 'web (built-in)']
    r = rec(synth.facts(), profile='web', profiles={'web': {'replace': True, 'settings': {'udp_timeout': 20}}})
    assert 'tcp_timeout_time_wait' not in r['recommended']
