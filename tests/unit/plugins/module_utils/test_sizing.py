# -*- coding: utf-8 -*-
"""The sizing engine (_sizing.recommend): behaviour on real fixture hosts and one regression test
per finding of the independent reviews (issue 10, and issue 22 at the end). Invariants over
generated inputs (and malformed facts) are in test_sizing_properties.py, bad inputs in
test_sizing_bad_input.py and tests/unit/plugins/modules/test_bad_input_catalog.py."""
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
                             'settings': {'tcp_timeout_established': {'value': 14400, 'reason': 'upstream keep-alive 1h'},
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
    r = rec(big, profile='kubernetes_node', kube_proxy={'version': '1.31', 'tcp_established_timeout': 14400})
    assert r['recommended']['tcp_timeout_established'] == 14400


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
    r = rec(f, overrides={'buckets': 262144})
    assert r['recommended']['max'] == 262144
    # an override below the live value is refused rather than dropped (issue 22, finding 6)
    with pytest.raises(_sizing.ProfileError, match='overrides.max: 10240 is below the live value 262144'):
        rec(f, overrides={'max': 10240})


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
    # at least the RFC 5382 minimum; a day since issue 22 (finding 12: SO_KEEPALIVE is opt-in, so
    # with tcp_loose=0 most idle flows turn INVALID once their entry expires)
    r = rec(synth.facts(ram=8 * GIB), profile='edge')
    assert r['recommended']['tcp_loose'] == 0
    assert r['recommended']['tcp_timeout_established'] >= 7440
    assert 'SO_KEEPALIVE' in r['values']['tcp_timeout_established']['source']


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


# ================================================================ issue 22
# One regression test per finding of the review of 0.2.0; each failed on 0.2.0's code (checked by
# running this file against a copy of the 0.2.0 tree: the reason is given per test).

# ---------------------------------------------------------------- finding 1: facts without ram_bytes

def test_i22_f1_facts_without_ram_bytes_are_refused_not_sized_without_a_budget():
    # 0.2.0: max 200,000,512 for expected_peak 100,000,000, no budget and no warning
    f = synth.facts(ram=8 * GIB)
    del f['ram_bytes']
    with pytest.raises(_sizing.ProfileError, match=r'facts.ram_bytes: missing, so the memory budget cannot be '
                                                   r'checked.*force: true sizes without a budget'):
        rec(f, expected_peak=100000000)
    r = rec(f, expected_peak=100000000, force=True)
    assert r['recommended']['max'] == 200000512
    assert any(w.startswith('force: facts.ram_bytes: missing') and 'without a memory budget' in w for w in r['warnings'])
    # a module that is not loaded needs the RAM too (0.2.0 returned "not available": nothing to size)
    g = synth.facts(ram=8 * GIB, module='module')
    g.update(available=False, module={'type': 'module', 'loaded': False, 'evidence': 'in modules.dep'})
    del g['ram_bytes']
    with pytest.raises(_sizing.ProfileError, match='facts.ram_bytes: missing'):
        rec(g)


# ---------------------------------------------------------------- finding 2: kube_proxy as a YAML float

def test_i22_f2_an_unquoted_kube_proxy_version_is_refused_not_misread():
    import yaml
    value = yaml.safe_load('kube_proxy: 1.40')['kube_proxy']
    assert value == 1.4     # what YAML hands over
    with pytest.raises(_sizing.ProfileError, match=r"kube_proxy.version: 1.4 arrived as a number.*quote the version "
                                                   r"\('1.40' or '1.4'\)"):
        rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy=value)    # 0.2.0: taken as 1.4 (<= 1.20)
    with pytest.raises(_sizing.ProfileError, match='kube_proxy.version: 1.3 arrived as a number'):
        rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy={'version': 1.30})
    r = rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy='1.40')
    assert r['kube_proxy']['lines'][0]['version'] == '1.40' and r['kube_proxy']['lines'][0]['line'] == '1.38+'
    # a number YAML cannot have cut is still taken
    assert rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy=1.31)['kube_proxy']['lines'][0]['version'] \
        == '1.31'


# ---------------------------------------------------------------- finding 3: malformed facts

def _without(key):
    f = synth.facts()
    del f[key]
    return f


MALFORMED_FACTS = [
    (_without('module'), 'facts.module: missing'),
    (_without('netns'), 'facts.netns: missing'),
    (_without('kernel'), 'facts.kernel: missing'),
    (dict(synth.facts(), module='builtin'), "facts.module: expected a dict (as nfct.tuning.conntrack_facts returns it), "
                                            "got str 'builtin'"),
    (dict(synth.facts(), netns=[True]), 'facts.netns: expected a dict'),
    (dict(synth.facts(), kernel='6.18'), 'facts.kernel: expected a dict'),
    (dict(synth.facts(), kernel={'version': [6, '18']}), 'facts.kernel.version: expected [major, minor, ...]'),
    (dict(synth.facts(), writable='max'), 'facts.writable: expected a list of strings'),
    (dict(synth.facts(), readonly=['max']), 'facts.readonly: expected a dict'),
    (dict(synth.facts(), persisted=['x']), 'facts.persisted: expected a dict'),
    (dict(synth.facts(), usage_ratio='high'), 'facts.usage_ratio: expected a number'),
    (dict(synth.facts(), hashsize=5), 'facts.hashsize: expected a dict'),
    (dict(synth.facts(), stats='none'), 'facts.stats: expected a dict'),
    (dict(synth.facts(), kernel_default={'max': 'x'}), 'facts.kernel_default.max: expected an integer'),
    (dict(synth.facts(), interfaces='lo'), 'facts.interfaces: expected a list of strings'),
    (dict(synth.facts(), available=False, module='module'), 'facts.module: expected a dict'),
]


@pytest.mark.parametrize('f, fragment', MALFORMED_FACTS, ids=[m[1].split(':')[0] + '-%d' % i
                                                              for i, m in enumerate(MALFORMED_FACTS)])
def test_i22_f3_malformed_facts_are_a_clear_error_never_a_traceback(f, fragment):
    # 0.2.0: KeyError, AttributeError or TypeError out of host_model, report_lines or the role checks
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    result, err = _recommend_args.compute({'profile': 'web', 'notrack_exemptions': [{'interface': 'lo'}]}, f)
    assert result is None and fragment in err, err


# ---------------------------------------------------------------- finding 4: profile ""

def test_i22_f4_an_empty_profile_is_refused():
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    result, err = _recommend_args.compute({'profile': ''}, synth.facts())   # 0.2.0: the default profile
    assert result is None
    assert err == ('profile: empty; give one of the valid profiles: database, default, dns, edge, kubernetes_node, '
                   'nat_gateway, web')
    with pytest.raises(_sizing.ProfileError, match='profile: empty'):
        rec(synth.facts(), profile='  ')


# ---------------------------------------------------------------- finding 5: keys this kernel lacks

def test_i22_f5_overrides_for_keys_this_kernel_does_not_have_are_refused():
    # synth facts list what a 6.x kernel shows: no helper key (gone in 6.0), no dccp keys
    f68 = synth.facts(release=(6, 8, 0))
    assert 'helper' not in f68['sysctls']
    with pytest.raises(_sizing.ProfileError) as e:      # 0.2.0: accepted and recommended
        rec(f68, overrides={'helper': 0})
    assert str(e.value).startswith('overrides.helper: this kernel (6.8.0) has no net.netfilter.nf_conntrack_helper: '
                                   'the automatic helper assignment and its sysctl were removed in 6.0 (commit '
                                   'b118509076b3')
    with pytest.raises(_sizing.ProfileError, match=r'overrides.dccp_timeout_open: this kernel \(6.18.0\) has no '
                                                   r'net.netfilter.nf_conntrack_dccp_timeout_open: DCCP tracking was '
                                                   r'removed in 6.17'):
        rec(synth.facts(release=(6, 18, 0)), overrides={'dccp_timeout_open': 43200})
    with pytest.raises(_sizing.ProfileError, match=r'profiles.p.settings.sctp_timeout_closed: this kernel \(6.18.0\) '
                                                   r'has no .*its protocol tracker is not built in or not loaded'):
        rec(synth.facts(), profile='p', profiles={'p': {'settings': {'sctp_timeout_closed': 10}}})
    # where the kernel lists the key, it is taken; on a kernel before 6.0 the helper key exists
    assert rec(synth.facts(sysctls={'sctp_timeout_closed': 10}), overrides={'sctp_timeout_closed': 20})['recommended'][
        'sctp_timeout_closed'] == 20
    f54 = synth.facts(release=(5, 4, 0), sysctls={'helper': 0})
    assert rec(f54, overrides={'helper': 0})['recommended']['helper'] == 0


# ---------------------------------------------------------------- finding 6: an override only_raise drops

def test_i22_f6_an_override_below_the_live_max_is_refused_not_dropped():
    f = synth.facts(ram=8 * GIB)     # live max 262144
    with pytest.raises(_sizing.ProfileError) as e:      # 0.2.0: recommended 262144 without a word
        rec(f, overrides={'max': 131072})
    assert str(e.value) == ('overrides.max: 131072 is below the live value 262144, and only_raise keeps that: the plan '
                            'would not be the 131072 you asked for. Set only_raise: false to lower max to 131072, or '
                            'drop the override')
    assert rec(f, overrides={'max': 131072}, only_raise=False)['recommended']['max'] == 131072
    with pytest.raises(_sizing.ProfileError, match='overrides.buckets: 65536 is below the live value 262144'):
        rec(f, overrides={'buckets': 65536})
    # an override at or above the live value is what the plan keeps
    assert rec(f, overrides={'max': 262144})['recommended']['max'] == 262144


# ---------------------------------------------------------------- finding 7: timeout floors

@pytest.mark.parametrize('profile, overrides, key, floor, source', [
    ('web', {'tcp_timeout_established': 30}, 'tcp_timeout_established', 7440, 'RFC 5382 REQ-5'),
    ('edge', {'tcp_timeout_established': 10}, 'tcp_timeout_established', 7440, 'RFC 5382 REQ-5'),
    ('default', {'tcp_timeout_time_wait': 1}, 'tcp_timeout_time_wait', 60, 'TCP_TIMEWAIT_LEN'),
    ('nat_gateway', {'tcp_timeout_established': 7439}, 'tcp_timeout_established', 7440, 'RFC 5382 REQ-5'),
    ('kubernetes_node', {'tcp_timeout_established': 3600}, 'tcp_timeout_established', 7440, 'RFC 5382 REQ-5'),
    ('nat_gateway', {'udp_timeout_stream': 60}, 'udp_timeout_stream', 120, 'RFC 4787 REQ-5'),
    ('web', {'tcp_timeout_close_wait': 10}, 'tcp_timeout_close_wait', 60, 'tcp_fin_timeout'),
])
def test_i22_f7_timeouts_below_their_floor_need_force(profile, overrides, key, floor, source):
    f = synth.facts()
    with pytest.raises(_sizing.ProfileError) as e:      # 0.2.0: accepted silently
        rec(f, profile=profile, overrides=overrides, kube_proxy='absent')
    msg = str(e.value)
    assert msg.startswith('overrides.%s: %d s is below the floor of %d s for net.netfilter.nf_conntrack_%s'
                          % (key, overrides[key], floor, key)), msg
    assert source in msg and 'force: true' in msg
    r = rec(f, profile=profile, overrides=overrides, kube_proxy='absent', force=True)
    assert r['recommended'][key] == overrides[key]
    assert any(w.startswith('force: overrides.%s' % key) for w in r['warnings'])


def test_i22_f7_floors_hold_for_profiles_kube_proxy_and_conntrack_settings():
    # a user profile, kube-proxy's own configuration, and conntrack_settings use the same table
    with pytest.raises(_sizing.ProfileError, match='profiles.p.settings.tcp_timeout_time_wait: 1 s is below the floor'):
        rec(synth.facts(), profile='p', profiles={'p': {'extends': 'web', 'settings': {'tcp_timeout_time_wait': 1}}})
    with pytest.raises(_sizing.ProfileError) as e:
        rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy={'version': '1.31', 'tcpEstablishedTimeout': '1h'})
    assert "kube-proxy's conntrack.tcpEstablishedTimeout (kube_proxy.tcp_established_timeout): 3600 s is below" in \
        str(e.value) and 'conntrack.tcpEstablishedTimeout: 2h4m0s at least' in str(e.value)
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_settings
    params = dict(settings={'tcp_timeout_established': 5}, state='present', force=False, memory_budget_percent=5,
                  lock_timeout=300)
    _desired, errors, _warnings = conntrack_settings.validate(dict(params))
    assert errors and errors[0].startswith('settings.tcp_timeout_established: 5 s is below the floor of 7440 s') and \
        'RFC 5382 REQ-5' in errors[0]
    _desired, errors, warnings = conntrack_settings.validate(dict(params, force=True))
    assert errors == [] and warnings[0].startswith('force: settings.tcp_timeout_established: 5 s is below')


def test_i22_f7_every_timeout_has_a_documented_floor_every_profile_keeps():
    assert sorted(_kernel.TIMEOUT_FLOORS) == sorted(_kernel.TIMEOUT_KEYS)
    for key, (floor, why, source) in _kernel.TIMEOUT_FLOORS.items():
        assert floor >= 1 and why and source, key
        assert _kernel.DEFAULT_TIMEOUTS.get(key, floor) >= floor, key
    docs = open(os.path.join(DOCS, 'keys.md')).read()
    for key, (floor, _why, source) in _kernel.TIMEOUT_FLOORS.items():
        assert '| `%s` | %d | ' % (key, floor) in docs and source in docs, key
    for name in BUILTIN_PROFILES:
        for release in ((4, 19, 0), (6, 18, 0)):
            r = rec(synth.facts(release=release), profile=name, kube_proxy='absent')
            for key, value in r['recommended'].items():
                if key in _kernel.TIMEOUT_FLOORS:
                    assert value >= _kernel.TIMEOUT_FLOORS[key][0], (name, key, value)


# ---------------------------------------------------------------- finding 8: events before 5.19

def _not_loaded(release):
    f = synth.facts(ram=8 * GIB, release=release, module='module')
    f.update(available=False, module={'type': 'module', 'loaded': False, 'evidence': 'in modules.dep, not loaded'},
             sysctls={}, max=None, buckets=None, count=None)
    return f


def test_i22_f8_a_module_loaded_later_counts_the_events_extension_before_5_19():
    r = rec(_not_loaded((5, 10, 0)))            # 0.2.0: 256 B per entry, no extension
    assert r['assumed_not_loaded'] is True
    assert r['memory']['entry_bytes'] == 256 + 128
    assert any('nf_conntrack_events=1' in reason for reason in r['memory']['extension'])
    assert r['memory']['within_budget']
    r = rec(_not_loaded((6, 1, 0)))             # 5.19 made events 2: no extension by default
    assert r['memory']['entry_bytes'] == 256 and r['memory']['extension'] == []
    g = _not_loaded((6, 1, 0))
    g['persisted'] = {'at_boot': {'acct': {'value': '1', 'file': '/etc/sysctl.d/90-x.conf'}}}
    assert rec(g)['memory']['entry_bytes'] == 384     # a persisted acct=1 applies at load too


# ---------------------------------------------------------------- finding 9: NAT without a NAT profile

USERS = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'users')


def _captured(case):
    def read(name):
        path = os.path.join(USERS, case, name)
        return open(path).read() if os.path.exists(path) else None
    ipt = dict(((fw, fam), read('%s-%s.save' % (fw, fam))) for fw in ('iptables-legacy', 'iptables-nft')
               for fam in ('ipv4', 'ipv6') if read('%s-%s.save' % (fw, fam)))
    return read('nft.json'), ipt


@pytest.mark.parametrize('case, owner', [('docker-layout', 'docker'), ('podman-netavark-nftables', 'podman'),
                                         ('podman-netavark-iptables', 'podman'), ('kube-proxy-iptables', 'kube-proxy'),
                                         ('kube-proxy-nftables', 'kube-proxy'), ('libvirt-nftables', 'libvirt'),
                                         ('clean', None), ('firewalld', None), ('our-notrack', None)])
def test_i22_f9_nat_rules_on_the_host_count_the_extension_whatever_the_profile(case, owner):
    from ansible_collections.nfct.tuning.plugins.module_utils.users import rules as _users_rules
    nat = _users_rules.nat_summary(*_captured(case))     # 0.2.0: no such reading
    assert nat['detected'] is (owner is not None) and (owner is None or owner in nat['owners']), nat
    f = synth.facts(ram=8 * GIB)
    f['nat'] = nat
    r = rec(f, profile='web')
    assert r['memory']['entry_bytes'] == (384 if owner else 256)
    if owner:
        assert 'NAT rules on this host (' in r['memory']['extension'][0] and owner in r['memory']['extension'][0]


def test_i22_f9_conntrack_facts_reads_the_nat_rules(tmp_path, monkeypatch, capsys):
    import json
    from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts
    from modrun import ansible_flags, invoke
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    monkeypatch.setattr(_users_host, 'rulesets', lambda module, io: _captured('docker-layout'))
    invoke(conntrack_facts, ansible_flags(tmp_path, {}), root=root, probes=probes)
    facts = json.loads(capsys.readouterr().out)['ansible_facts']['conntrack']
    assert facts['nat']['detected'] is True and 'docker' in facts['nat']['owners']
    assert any('MASQUERADE' in e or 'DNAT' in e for e in facts['nat']['evidence'])


# ---------------------------------------------------------------- finding 10: misspelt variables

def _role_spec():
    import yaml
    with open(os.path.join(DOCS, '..', 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as f:
        specs = yaml.safe_load(f)['argument_specs']
    spec = {}
    for entry in specs.values():
        spec.update(entry['options'])
    return spec


def _role_check(**given):
    import yaml
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    with open(os.path.join(DOCS, '..', 'roles', 'conntrack', 'defaults', 'main.yml')) as f:
        variables = yaml.safe_load(f)
    variables.update(given)
    spec = _role_spec()
    return _recommend_args.check_role_variables(spec, dict((k, v) for k, v in variables.items() if k in spec),
                                                list(variables))


def test_i22_f10_a_misspelt_role_variable_fails_with_did_you_mean():
    assert _role_check() == []
    errors = _role_check(conntrack_profil='web')       # 0.2.0: audited against the default profile, green
    assert errors == ["conntrack_profil: not a variable of nfct.tuning.conntrack (did you mean 'conntrack_profile'?). "
                      "Nothing ran on the host: a misspelt variable would silently tune or audit against a default. "
                      "If it is not meant for this role, list it in conntrack_ignore_variables"]
    assert "(did you mean 'conntrack_overrides'?)" in _role_check(conntrack_overides={'max': 1})[0]
    # the escape: names (or patterns) that belong to something else; what the role registers is known
    assert _role_check(conntrack_legacy_max=1, conntrack_ignore_variables=['conntrack_legacy_*']) == []
    assert _role_check(conntrack_recommendation={}, conntrack_result={}, conntrack_tune_hosts='all',
                       conntrack__was_disabled=False) == []


def test_i22_f10_module_options_and_keys_name_the_closest_one(tmp_path, capsys):
    import json
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_settings
    from modrun import ansible_flags, invoke
    with pytest.raises(_keys.InvalidSetting, match=r"overrides: unknown conntrack key 'maxx' \(did you mean 'max'\?\)"):
        rec(synth.facts(), overrides={'maxx': 1})
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    invoke(conntrack_settings, ansible_flags(tmp_path, {'setings': {'max': 1}}), root=root, probes=probes)
    msg = json.loads(capsys.readouterr().out)['msg']
    assert msg.startswith("nfct.tuning.conntrack_settings: unknown option 'setings' (did you mean 'settings'?)")


def test_i22_f10_messages_name_no_python_path_and_each_source_once():
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs
    msg = _inputs.unknown_options_message('nfct.tuning.conntrack_recommend', ['maxx'], _recommend_args.ARGUMENT_SPEC)
    assert 'ansible_collections' not in msg and msg.startswith("nfct.tuning.conntrack_recommend: unknown option 'maxx'")
    with pytest.raises(_sizing.ProfileError) as e:
        rec(synth.facts(), profile='mine', profiles={'mine': {'sizing': {'min': 65536, 'cap': 2048}}})
    assert 'from profiles.mine and profiles.mine' not in str(e.value)    # 0.2.0 said it so
    assert '(both from profiles.mine)' in str(e.value)
    # inside the role, the same messages name the role's variables
    assert _recommend_args.role_terms('overrides.max: 1 is below ...; or set force: true, or only_raise: false') == \
        'conntrack_overrides.max: 1 is below ...; or set conntrack_force: true, or conntrack_only_raise: false'


# ---------------------------------------------------------------- finding 11: kube-proxy's own configuration

KUBE_PROXY_CONF = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
conntrack:
  maxPerCore: null
  min: 131072
  tcpBeLiberal: false
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
  udpStreamTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
mode: iptables
"""


def test_i22_f11_kube_proxys_conntrack_section_is_taken_verbatim():
    section = {'maxPerCore': 0, 'min': 131072, 'tcpEstablishedTimeout': '24h0m0s', 'tcpCloseWaitTimeout': '1h0m0s',
               'tcpBeLiberal': True, 'udpTimeout': '30s', 'udpStreamTimeout': '5m'}
    big = synth.facts(ram=64 * GIB, cpus=64, cmax=262144)
    r = rec(big, profile='kubernetes_node', only_raise=False, kube_proxy={'version': '1.31', 'conntrack': section})
    assert r['recommended']['max'] == 1048576 and 'maxPerCore 0' in r['values']['max']['reason']   # 0.2.0: refused
    assert r['recommended']['tcp_timeout_established'] == 86400 and r['recommended']['tcp_timeout_close_wait'] == 3600
    assert r['recommended']['udp_timeout'] == 30 and r['recommended']['udp_timeout_stream'] == 300
    assert r['recommended']['tcp_be_liberal'] == 1
    # the same fields at the top level, and a whole KubeProxyConfiguration document
    import yaml
    doc = dict(yaml.safe_load(KUBE_PROXY_CONF), version='1.31')
    assert rec(big, profile='kubernetes_node', only_raise=False, kube_proxy=doc)['recommended']['max'] == 2097152
    # before 1.29 kube-proxy has no UDP or be_liberal fields: said, and not followed
    r = rec(big, profile='kubernetes_node', only_raise=False, kube_proxy={'version': '1.27', 'conntrack': section})
    assert 'udp_timeout' not in r['recommended']
    assert any(w.startswith('kube-proxy 1.27 ignores conntrack.udpTimeout, conntrack.udpStreamTimeout, '
                            'conntrack.tcpBeLiberal (added by PR #120354') for w in r['warnings'])


def test_i22_f11_kube_proxys_configuration_is_read_on_the_host(tmp_path):
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    proc = os.path.join(root, 'proc', '4242')
    conf = os.path.join(proc, 'root', 'var', 'lib', 'kube-proxy')
    os.makedirs(conf)
    with open(os.path.join(proc, 'comm'), 'w') as f:
        f.write('kube-proxy\n')
    with open(os.path.join(proc, 'cmdline'), 'w') as f:
        f.write('/usr/local/bin/kube-proxy\0--config=/var/lib/kube-proxy/config.conf\0--hostname-override=n1\0')
    with open(os.path.join(conf, 'config.conf'), 'w') as f:
        f.write(KUBE_PROXY_CONF.replace('maxPerCore: null', 'maxPerCore: 0'))
    facts = _gather.gather(root=root, probes=probes)       # 0.2.0: no kube_proxy in the facts
    assert facts['kube_proxy']['source'] == 'kube-proxy (pid 4242) --config /var/lib/kube-proxy/config.conf'
    assert facts['kube_proxy']['conntrack']['maxPerCore'] == 0 and facts['kube_proxy']['running'] is True
    r = rec(facts, profile='kubernetes_node', kube_proxy='1.31', only_raise=False)
    assert 'maxPerCore 0' in r['values']['max']['reason']       # the host's kube-proxy leaves max alone
    assert r['kube_proxy']['config_source'].startswith('kube-proxy (pid 4242)')
    # flags, when kube-proxy runs without --config
    with open(os.path.join(proc, 'cmdline'), 'w') as f:
        f.write('kube-proxy\0--conntrack-max-per-core\x000\0--conntrack-tcp-timeout-established=12h\0')
    assert _gather.kube_proxy(root)['conntrack'] == {'maxPerCore': 0, 'tcpEstablishedTimeout': '12h'}


def test_i22_f11_the_fix_names_the_max_per_core_and_min_that_write_our_value():
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import kubeproxy as _kp
    r = rec(synth.facts(**NODE), profile='kubernetes_node', kube_proxy='1.30')
    fight = [w for w in r['warnings'] if 'nf_conntrack_max' in w][0]
    # 0.2.0 only said "conntrack.maxPerCore: 0"
    assert 'set conntrack.maxPerCore: 131072 and conntrack.min: 262144 in kube-proxy\'s configuration' in fight
    assert 'conntrack.maxPerCore: 0' in fight
    for cpus, value in ((2, 262144), (64, 4194304), (7, 300000), (512, 1048576)):
        cfg = _kp.config_for_max(value, cpus)
        for minor in (20, 25, 30, 36, 38):
            assert _kp.conntrack_max(minor, cpus, cfg['maxPerCore'], cfg['min']) == value, (cpus, value, minor)
    r = rec(synth.facts(ram=32 * GIB, cpus=2), profile='web', kube_proxy={'version': '1.31',
                                                                          'tcpEstablishedTimeout': '48h'})
    fight = [w for w in r['warnings'] if 'tcp_timeout_established' in w][0]
    # the profile sets 24h, neither only_raise nor an override: kube-proxy's side is the whole advice
    assert 'start. Set conntrack.tcpEstablishedTimeout: 24h0m0s in kube-proxy\'s configuration' in fight
    assert 'only_raise' not in fight and 'override' not in fight


def test_i22_f11_the_readme_shows_conntrack_kube_proxy():
    text = open(os.path.join(DOCS, '..', 'README.md')).read()
    prose = text.split('<!-- gen:role-variables-short -->')[0]
    assert 'conntrack_kube_proxy' in prose and '"conntrack": {"maxPerCore"' in prose


# ---------------------------------------------------------------- finding 12: profile reasoning

def test_i22_f12_the_profiles_reasoning_checks_out():
    web, edge, dns = BUILTIN_PROFILES['web'], BUILTIN_PROFILES['edge'], BUILTIN_PROFILES['dns']
    # web's established timeout is its own reasoning, not kube-proxy's defaults
    assert 'defaults.go' not in web['settings']['tcp_timeout_established']['source']
    assert 'keepalive_timeout' in web['settings']['tcp_timeout_established']['source']
    # FIN_WAIT ends with the FIN's ACK; the half-closed wait (tcp_fin_timeout) is CLOSE_WAIT
    for prof in (web, edge):
        fin = prof['settings']['tcp_timeout_fin_wait']
        assert 'FIN_WAIT_2' not in fin['source'] and 'tcp_fin_timeout' not in fin['source']
        assert 'CLOSE_WAIT: ACK seen (after FIN)' in fin['source']
    assert 'tcp_fin_timeout' in _kernel.TIMEOUT_FLOORS['tcp_timeout_close_wait'][2]
    # edge with tcp_loose=0: keep-alive is opt-in, so idle flows get a day
    est = edge['settings']['tcp_timeout_established']
    assert est['value'] >= 86400 and 'SO_KEEPALIVE' in est['source'] and 'keepalive-protected' not in est['reason']
    # dns: sized for the NOTRACK suggestion not applied, and says so
    assert 'NOTRACK not applied' in dns['sources']['per_gib_ram']
    # d535c8a69c19 is the 2 s rule, not the 120 s default
    rules_src = open(_kernel.__file__.replace('.pyc', '.py')).read()
    assert '"netfilter: conntrack: udp: only extend timeout to stream mode after 2s"; it\n    # did not change the value' \
        in rules_src
    keys_doc = open(os.path.join(DOCS, 'keys.md')).read()
    assert '5.0 also moved replied flows to it only after 2 s, d535c8a69c19' not in keys_doc
    assert 'd535c8a69c19 "netfilter: conntrack: udp: only extend timeout to stream mode after 2s", which did not ' \
           'change the value' in keys_doc
    profiles_doc = open(os.path.join(DOCS, 'profiles.md')).read()
    assert 'keepalive-protected flows survive' not in profiles_doc
    assert "so a half-closed connection waits in conntrack's **CLOSE_WAIT**" in profiles_doc


# ---------------------------------------------------------------- finding 13: our message first

def test_i22_f13_the_role_checks_its_variables_first_in_its_own_words():
    import yaml
    # the check is the role's dependency: it runs before Ansible's argument check of the role
    with open(os.path.join(DOCS, '..', 'roles', 'conntrack', 'meta', 'main.yml')) as f:
        assert yaml.safe_load(f)['dependencies'] == [{'role': 'nfct.tuning.conntrack_preflight'}]
    with open(os.path.join(DOCS, '..', 'roles', 'conntrack_preflight', 'tasks', 'main.yml')) as f:
        task = yaml.safe_load(f)[0]
    assert task['nfct.tuning.conntrack_recommend'] == {'role_variables': True}
    # 0.2.0: "dictionary requested, could not parse JSON or key=value" inside 8.6 KB of spec
    assert _role_check(conntrack_notrack='lo') == [
        "conntrack_notrack: expected a list of dicts, got the string 'lo'; write for example conntrack_notrack: "
        "[{interface: lo}, {protocol: tcp, port: 443, direction: inbound}]"]
    # 0.2.0: "_AnsibleTaggedDict cannot be converted to a list"
    assert _role_check(conntrack_notrack={'interface': 'lo'})[0].startswith(
        'conntrack_notrack: expected a list of dicts, got one dict: write it as a list')
    assert _role_check(conntrack_state='presnt') == [
        "conntrack_state: the string 'presnt' is not one of present, absent, disabled (did you mean 'present'?)"]
    assert _role_check(conntrack_only_raise='perhaps') == [
        "conntrack_only_raise: expected true or false, got the string 'perhaps'"]


def test_i22_f10_what_the_role_itself_defines_is_known_to_its_check():
    # every conntrack_* name the role's own files use is a variable of its spec, a result it
    # registers (args.ROLE_REGISTERED), a playbook's host pattern, or internal (conntrack__*)
    import re
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    role = os.path.join(DOCS, '..', 'roles', 'conntrack')
    registered, used = set(), set()
    for folder in ('tasks', 'vars', 'defaults'):
        for name in os.listdir(os.path.join(role, folder)):
            text = '\n'.join(line.split('#')[0] for line in open(os.path.join(role, folder, name)))
            registered.update(re.findall(r'register: (conntrack_[a-z]\w*)', text))   # conntrack__*: internal
            used.update(re.findall(r'(?<![.\w])(conntrack_[a-z_]+)\b', text))   # not nfct.tuning.conntrack_facts
    assert registered == set(_recommend_args.ROLE_REGISTERED)
    playbooks = os.path.join(DOCS, '..', 'playbooks')
    for name in os.listdir(playbooks):
        used.update(re.findall(r'\b(conntrack_[a-z_]+_hosts)\b', open(os.path.join(playbooks, name)).read()))
    unknown = _recommend_args.unknown_role_variables(used, _role_spec())
    assert unknown == [], unknown
