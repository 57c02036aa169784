# -*- coding: utf-8 -*-
"""Bad input to conntrack_recommend and to profile data: every row is refused with a message that
names the option or profile field and its allowed range, never a traceback (issue 10, finding
12: 14 of 105 bad inputs used to end in a Python exception; issue 22: floors, facts, kube-proxy's
own configuration, keys a kernel lacks, did you mean)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, engine as _sizing

import synth

NAN, INF = float('nan'), float('inf')


def P(**data):
    """kwargs for a user profile 'p' with this data."""
    return {'profile': 'p', 'profiles': {'p': data}}


ROWS = [
    # ---- profile name and profiles
    ({'profile': 'webb'}, "profile: unknown profile 'webb'; valid profiles: database, default, dns, edge, "
                          "kubernetes_node, nat_gateway, web"),
    ({'profile': None}, "profile: unknown profile 'None'"),
    ({'profile': 7}, "profile: unknown profile '7'"),
    ({'profile': 'a', 'profiles': {'a': 'web'}}, 'profiles.a: expected a dict (description, extends, sizing'),
    ({'profile': 'a', 'profiles': {'a': ['web']}}, 'profiles.a: expected a dict'),
    ({'profile': 'a', 'profiles': {'a': None}}, 'profiles.a: expected a dict'),
    ({'profiles': 'web'}, 'profiles: expected a dict of profile name -> profile, got str'),
    ({'profile': 'a b', 'profiles': {'a b': {}}}, "profiles: 'a b' is not a valid profile name"),
    (P(colour='red'), 'profiles.p: unknown field(s) colour; allowed: description, extends'),
    (P(extends='q'), "profiles.p.extends: unknown profile 'q'"),
    (P(extends='p'), 'profile p: extends loop p -> p'),
    ({'profile': 'a', 'profiles': {'a': {'extends': 'b'}, 'b': {'extends': 'a'}}}, 'extends loop a -> b -> a'),
    (P(extends=['web']), "profiles.p.extends: expected the name of a profile, got ['web']"),
    (P(replace=True), "profiles.p.replace: there is no built-in profile 'p' to replace"),
    (P(replace='maybe'), 'profiles.p.replace: expected a boolean (true or false)'),
    ({'profile': 'web', 'profiles': {'web': {'sizing': {'min': 1}}}}, "profiles.web: 'web' is a built-in profile"),
    (P(description=['x']), 'profiles.p.description: expected a string, got list'),
    (P(notes='x'), 'profiles.p.notes: expected a list of strings'),
    (P(notes=[1]), 'profiles.p.notes[0]: expected a string, got int'),
    (P(notrack='lo'), 'profiles.p.notrack: expected a list of exemptions'),
    (P(notrack=['lo']), 'profiles.p.notrack[0]: expected a dict'),
    (P(sources='x'), 'profiles.p.sources: expected a dict of sizing field -> text'),
    (P(sources={'per_gib': 'x'}), 'profiles.p.sources: unknown field per_gib'),
    (P(sources={'min': 5}), 'profiles.p.sources.min: expected a string, got int'),
    (P(nat='nope'), "profiles.p.nat: expected a boolean (true or false), got 'nope'"),
    (P(nat=2), 'profiles.p.nat: expected a boolean'),
    (P(kube_proxy='1.31'), "profiles.p.kube_proxy: expected a boolean"),
    # ---- profile sizing
    (P(sizing='big'), 'profiles.p.sizing: expected a dict of alert_usage, cap'),
    (P(sizing={'per_gib': 1}), 'profiles.p.sizing: unknown field per_gib; allowed: alert_usage'),
    (P(sizing={'load_factor': 0}), 'profiles.p.sizing.load_factor: 0 is outside the allowed range 1-8'),
    (P(sizing={'load_factor': 16}), 'profiles.p.sizing.load_factor: 16 is outside the allowed range 1-8'),
    (P(sizing={'load_factor': NAN}), 'profiles.p.sizing.load_factor: expected an integer in the allowed range 1-8'),
    (P(sizing={'load_factor': 1.5}), 'profiles.p.sizing.load_factor: expected an integer'),
    (P(sizing={'per_gib_ram': NAN}), 'profiles.p.sizing.per_gib_ram: expected an integer in the allowed range'),
    (P(sizing={'per_gib_ram': -1}), 'profiles.p.sizing.per_gib_ram: -1 is outside the allowed range 0-16777216'),
    (P(sizing={'per_gib_ram': INF}), 'profiles.p.sizing.per_gib_ram: expected an integer'),
    (P(sizing={'per_cpu': 'lots'}), "profiles.p.sizing.per_cpu: expected an integer in the allowed range 0-16777216"),
    (P(sizing={'min': NAN}), 'profiles.p.sizing.min: expected an integer in the allowed range 0-268435456'),
    (P(sizing={'min': True}), 'profiles.p.sizing.min: expected an integer'),
    (P(sizing={'min': 2 ** 29}), 'profiles.p.sizing.min: 536870912 is outside the allowed range 0-268435456'),
    (P(sizing={'cap': 0}), 'profiles.p.sizing.cap: 0 is outside the allowed range 1024-268435456'),
    (P(sizing={'cap': 512}), 'profiles.p.sizing.cap: 512 is outside the allowed range 1024'),
    (P(sizing={'cap': 4096, 'min': 8192}), 'profile p: sizing.min 8192 is above sizing.cap 4096'),
    (P(sizing={'peak_headroom': NAN}), 'profiles.p.sizing.peak_headroom: expected a number in the allowed range 1-10'),
    (P(sizing={'peak_headroom': 0.5}), 'profiles.p.sizing.peak_headroom: 0.5 is outside the allowed range 1-10'),
    (P(sizing={'target_usage': 0}), 'profiles.p.sizing.target_usage: 0 is outside the allowed range 0.1-0.9'),
    (P(sizing={'target_usage': 1}), 'profiles.p.sizing.target_usage: 1 is outside the allowed range 0.1-0.9'),
    (P(sizing={'target_usage': '50%'}), "profiles.p.sizing.target_usage: expected a number"),
    (P(sizing={'alert_usage': 1.5}), 'profiles.p.sizing.alert_usage: 1.5 is outside the allowed range 0.1-0.99'),
    (P(sizing={'memory_budget_percent': 0}), 'profiles.p.sizing.memory_budget_percent: 0 is outside the allowed '
                                             'range 0.1-50 percent of RAM'),
    (P(sizing={'memory_budget_percent': NAN}), 'profiles.p.sizing.memory_budget_percent: expected a number'),
    (P(sizing={'use_kernel_default': 2}), 'profiles.p.sizing.use_kernel_default: 2 is outside the allowed range 0-1'),
    # ---- profile settings
    (P(settings=['udp_timeout']), 'profiles.p.settings: expected a dict of conntrack key -> value'),
    (P(settings={'max': 5}), 'profiles.p.settings.max: sizes are computed'),
    (P(settings={'buckets': 5}), 'profiles.p.settings.buckets: sizes are computed'),
    (P(settings={'udp_timeout': 0}), 'profiles.p.settings.udp_timeout: 0 is outside the allowed range 1-2147483 '
                                     'seconds'),
    (P(settings={'udp_timeout': NAN}), 'profiles.p.settings.udp_timeout: expected an integer, got nan'),
    (P(settings={'udp_timeout': '10s'}), "profiles.p.settings.udp_timeout: expected an integer, got '10s'"),
    (P(settings={'udpp_timeout': 10}), "profiles.p.settings: unknown conntrack key 'udpp_timeout'"),
    (P(settings={'count': 10}), "profiles.p.settings: 'count' is read-only"),
    (P(settings={'udp_timeout': {'val': 10}}), "profiles.p.settings.udp_timeout: expected an integer or a dict with "
                                               "'value'"),
    (P(settings={'udp_timeout': {'value': 10, 'reason': 5}}), 'profiles.p.settings.udp_timeout.reason: expected a '
                                                              'string'),
    (P(settings={'tcp_loose': 'kernel_default'}), "profiles.p.settings.tcp_loose: 'kernel_default' is known only "
                                                  "for"),
    (P(settings={'tcp_loose': 2}), 'profiles.p.settings.tcp_loose: 2 is outside the allowed range 0-1'),
    (P(settings={'udp_timeout': 1, 'nf_conntrack_udp_timeout': 2}), "profiles.p.settings: key 'udp_timeout' is "
                                                                    "given twice"),
    # ---- overrides
    ({'overrides': {'maxx': 1}}, "overrides: unknown conntrack key 'maxx'"),
    ({'overrides': {'max': 0}}, 'overrides.max: 0 is outside the allowed range 1-268435456 entries'),
    ({'overrides': {'max': -1}}, 'overrides.max: -1 is outside the allowed range'),
    ({'overrides': {'max': 'x'}}, "overrides.max: expected an integer, got 'x'"),
    ({'overrides': {'max': NAN}}, 'overrides.max: expected an integer, got nan'),
    ({'overrides': {'max': INF}}, 'overrides.max: expected an integer, got inf'),
    ({'overrides': {'max': -INF}}, 'overrides.max: expected an integer, got -inf'),
    ({'overrides': {'max': None}}, 'overrides.max: expected an integer, got NoneType'),
    ({'overrides': {'max': [1]}}, 'overrides.max: expected an integer, got list'),
    ({'overrides': {'udp_timeout': 2.5}}, 'overrides.udp_timeout: expected an integer'),
    ({'overrides': {'max': 2 ** 40}}, 'overrides.max: 1099511627776 is outside the allowed range 1-268435456'),
    ({'overrides': {'max': 1, 'nf_conntrack_max': 2}}, "overrides: key 'max' is given twice"),
    ({'overrides': 'max=5'}, 'overrides: expected a dict of conntrack key -> integer value, got str'),
    ({'overrides': {'buckets': 1}, 'only_raise': False}, 'overrides.buckets: 1 (the kernel rounds it to 512) gives an '
                                                         'average chain of 512 entries'),
    ({'overrides': {'max': 10 ** 8}}, 'overrides.max: 100000000 entries need'),
    # ---- budget, peak, flags
    ({'memory_budget_percent': 0}, 'memory_budget_percent: 0 is outside the allowed range 0.1-50 percent of RAM'),
    ({'memory_budget_percent': 101}, 'memory_budget_percent: 101 is outside the allowed range 0.1-50'),
    ({'memory_budget_percent': -3}, 'memory_budget_percent: -3 is outside the allowed range 0.1-50'),
    ({'memory_budget_percent': 1e-9}, 'memory_budget_percent: 1e-09 is outside the allowed range 0.1-50'),
    ({'memory_budget_percent': NAN}, 'memory_budget_percent: expected a number in the allowed range 0.1-50'),
    ({'memory_budget_percent': INF}, 'memory_budget_percent: expected a number in the allowed range 0.1-50'),
    ({'memory_budget_percent': 'ten'}, "memory_budget_percent: expected a number in the allowed range 0.1-50 "
                                       "percent of RAM, got 'ten'"),
    ({'memory_budget_percent': 'nan'}, "memory_budget_percent: expected a number"),
    ({'memory_budget_percent': True}, 'memory_budget_percent: expected a number'),
    ({'memory_budget_percent': {}}, 'memory_budget_percent: expected a number'),
    ({'expected_peak': 0}, 'expected_peak: 0 is outside the allowed range 1-268435456 connections'),
    ({'expected_peak': 1.5}, 'expected_peak: expected an integer'),
    ({'expected_peak': NAN}, 'expected_peak: expected an integer'),
    ({'expected_peak': 'many'}, "expected_peak: expected an integer in the allowed range 1-268435456 connections, "
                                "got 'many'"),
    ({'expected_peak': 2 ** 28}, 'max: 536870912 (expected_peak 268435456 x headroom 2 = 536870912) is above the '
                                 'largest max we accept'),
    ({'only_raise': 'perhaps'}, "only_raise: expected a boolean (true or false), got 'perhaps'"),
    ({'force': 'sure'}, "force: expected a boolean (true or false), got 'sure'"),
    ({'previous_stats': 'x'}, 'previous_stats: expected the stats dict of an earlier conntrack_facts run, got str'),
    ({'previous_stats': {'insert_failed': 'x'}}, "previous_stats.insert_failed: expected an integer in the allowed "
                                                 "range 0-18446744073709551616 count, got 'x'"),
    ({'previous_stats': {'insert_failed': NAN}}, 'previous_stats.insert_failed: expected an integer'),
    ({'previous_stats': {'drop': -1}}, 'previous_stats.drop: -1 is outside the allowed range 0-'),
    # ---- kube_proxy
    ({'kube_proxy': '2.0'}, "kube_proxy.version: expected a Kubernetes version 1.x such as '1.31'"),
    ({'kube_proxy': ['1.31']}, "kube_proxy: expected 'absent', a version such as '1.31', or a dict"),
    ({'kube_proxy': {'version': '1.31', 'maxPercore': 0}}, "kube_proxy: unknown field maxPercore (did you mean "
                                                           "'maxPerCore'?)"),
    ({'kube_proxy': {'conntrack': {'min': -1}}}, 'kube_proxy.conntrack.min (conntrack.min): -1 is outside'),
    ({'kube_proxy': {'version': '1.31', 'min': NAN}}, 'kube_proxy.min (conntrack.min): expected an integer'),
    # ---- facts handed over by the user
    ({'facts': 'host'}, 'facts: expected the dict returned by nfct.tuning.conntrack_facts, got str'),
    ({'facts': dict(synth.facts(), ram_bytes='lots')}, "facts.ram_bytes: expected an integer"),
    ({'facts': dict(synth.facts(), count=-5)}, 'facts.count: -5 is outside the allowed range'),
    ({'facts': dict(synth.facts(), cpus=0)}, 'facts.cpus: 0 is outside the allowed range'),
    ({'facts': dict(synth.facts(), kernel={'version': 'six'})}, "facts.kernel.version: expected [major, minor, ...]"),
    ({'facts': dict(synth.facts(), memory={'object_size': NAN})}, 'facts.memory.object_size: expected an integer'),
    # ---- issue 22
    ({'profile': ''}, 'profile: empty; give one of the valid profiles'),
    ({'profile': 'edg'}, "Did you mean 'edge'?"),
    ({'kube_proxy': 1.4}, 'kube_proxy.version: 1.4 arrived as a number'),
    ({'kube_proxy': {'version': 1.2}}, 'kube_proxy.version: 1.2 arrived as a number'),
    ({'kube_proxy': {'version': '1.31', 'conntrack': {'tcpEstablishedTimeout': 'a day'}}},
     "(conntrack.tcpEstablishedTimeout): expected a duration such as '24h0m0s'"),
    ({'kube_proxy': {'version': '1.31', 'conntrack': 'maxPerCore: 0'}}, 'kube_proxy.conntrack: expected the conntrack: '
                                                                        'section of a KubeProxyConfiguration'),
    ({'kube_proxy': {'version': '1.31', 'udpTimeout': '-5s'}}, "(conntrack.udpTimeout): expected a duration"),
    ({'overrides': {'tcp_timeout_established': 30}, 'profile': 'web'}, 'overrides.tcp_timeout_established: 30 s is '
                                                                       'below the floor of 7440 s'),
    ({'overrides': {'tcp_timeout_time_wait': 1}}, 'include/net/tcp.h TCP_TIMEWAIT_LEN'),
    ({'overrides': {'udp_timeout_stream': 30}}, 'overrides.udp_timeout_stream: 30 s is below the floor of 120 s'),
    ({'overrides': {'icmp_timeout': 1}}, 'overrides.icmp_timeout: 1 s is below the floor of 5 s'),
    ({'overrides': {'helper': 0}}, 'overrides.helper: this kernel (6.18.0) has no net.netfilter.nf_conntrack_helper'),
    ({'overrides': {'dccp_timeout_open': 50000}}, 'DCCP tracking was removed in 6.17'),
    ({'overrides': {'max': 131072}}, 'overrides.max: 131072 is below the live value 262144'),
    (P(settings={'tcp_timeout_fin_wait': 5}), 'profiles.p.settings.tcp_timeout_fin_wait: 5 s is below the floor of '
                                              '10 s'),
    (P(sizing={'per_gib': 1}), "Did you mean 'per_gib_ram'?"),
    ({'facts': dict(synth.facts(), ram_bytes=None)}, 'facts.ram_bytes: missing'),
    ({'facts': dict(synth.facts(), module=None)}, 'facts.module: missing'),
    ({'facts': dict(synth.facts(), netns='initial')}, 'facts.netns: expected a dict'),
    ({'facts': dict(synth.facts(), kube_proxy='running')}, 'facts.kube_proxy: expected a dict'),
    ({'facts': dict(synth.facts(), nat={'detected': 'yes'})}, 'facts.nat.detected: expected true or false'),
    ({'facts': dict(synth.facts(), available='yes')}, 'facts.available: expected true or false'),
]


@pytest.mark.parametrize('kwargs, fragment', ROWS, ids=['%02d' % i for i in range(len(ROWS))])
def test_bad_input_is_refused_with_a_clear_error(kwargs, fragment):
    kw = dict(kwargs)
    f = kw.pop('facts', synth.facts())
    with pytest.raises((_sizing.ProfileError, _keys.InvalidSetting)) as e:
        _sizing.recommend(f, **kw)
    assert fragment in str(e.value)


def test_the_table_is_big_enough():
    assert len(ROWS) >= 60


MODULE_ROWS = [r for r in ROWS if r[0].get('profile', '') is not None]


@pytest.mark.parametrize('kwargs, fragment', MODULE_ROWS, ids=['%02d' % i for i in range(len(MODULE_ROWS))])
def test_the_module_path_reports_them_as_failures_not_tracebacks(kwargs, fragment):
    # what conntrack_recommend (module and action plugin) does with the same input (profile: null
    # is the module's default profile there)
    params = dict(kwargs)
    f = params.pop('facts', synth.facts())
    rec, err = _recommend_args.compute(params, f)
    assert rec is None and fragment in err
