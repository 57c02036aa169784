# -*- coding: utf-8 -*-
"""Invariants of the sizing engine over generated hosts and inputs (Hypothesis; issue 10).

Hosts: RAM 256 MiB - 4 TiB, 1-512 CPUs, every kernel era, live count up to max, initial netns or
container, module or built-in; inputs: every profile (built-in and generated user profiles),
budgets, overrides, expected peaks, kube-proxy versions, only_raise, force. The engine either
returns a recommendation or refuses with a clear error, and what it returns keeps:

  - with only_raise, max and buckets never below their live values;
  - max >= live count / target_usage (never a full table by recommendation);
  - the table (with the extension area when it applies) within the budget, unless force, or a
    value the host already has (only_raise) or the kernel's own default (the budget's floor);
  - more RAM, more CPUs or a larger budget never give a smaller max;
  - buckets give an average chain at a full table within the profile's load factor;
  - every value has a reason and a source, and is within its key's range.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel, keys as _keys  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs, engine as _sizing  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import BUILTIN_PROFILES  # noqa: E402

import synth  # noqa: E402

MIB, GIB = 1024 ** 2, 1024 ** 3
RELEASES = [(2, 6, 18), (2, 6, 24), (3, 10, 0), (4, 4, 0), (4, 19, 0), (5, 10, 0), (5, 15, 0), (6, 1, 0), (6, 18, 0)]
KUBE = [None, 'absent', '1.20', '1.22', '1.25', '1.30', '1.36', '1.38']
SETTINGS = dict(max_examples=int(__import__('os').environ.get('NFCT_HYPOTHESIS_EXAMPLES', '300')), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def hosts(draw):
    ram = draw(st.integers(256 * MIB, 4096 * GIB))
    release = draw(st.sampled_from(RELEASES))
    kd = _kernel.kernel_default(ram, 8, release)
    cmax = draw(st.one_of(st.just(kd['max']), st.integers(1024, 8 * 1024 * 1024)))
    buckets = draw(st.one_of(st.just(kd['buckets']), st.integers(1, 2 * 1024 * 1024).map(_kernel.round_buckets)))
    count = draw(st.one_of(st.just(0), st.integers(0, cmax)))
    sysctls = draw(st.fixed_dictionaries({}, optional={'acct': st.sampled_from([0, 1]),
                                                       'timestamp': st.sampled_from([0, 1]),
                                                       'events': st.sampled_from([0, 1, 2])}))
    persisted = draw(st.one_of(st.just(None), st.fixed_dictionaries({'max': st.integers(1024, 4 * 1024 * 1024)})))
    return dict(ram=ram, cpus=draw(st.integers(1, 512)), release=release, count=count, cmax=cmax, buckets=buckets,
                initial=draw(st.booleans()), module=draw(st.sampled_from(['builtin', 'module'])),
                objsize=draw(st.sampled_from([256, 320, 341, 384])), sysctls=sysctls, persisted=persisted)


user_profiles = st.fixed_dictionaries({'extends': st.sampled_from(sorted(BUILTIN_PROFILES))}, optional={
    'sizing': st.fixed_dictionaries({}, optional={
        'per_gib_ram': st.integers(0, 1 << 20), 'per_cpu': st.integers(0, 1 << 18), 'min': st.integers(0, 1 << 20),
        'load_factor': st.integers(1, 8), 'target_usage': st.floats(0.1, 0.9),
        'memory_budget_percent': st.floats(0.1, 50), 'peak_headroom': st.floats(1, 10),
        'use_kernel_default': st.sampled_from([0, 1])}),
    'nat': st.booleans(),
    'settings': st.fixed_dictionaries({}, optional={'udp_timeout': st.integers(1, 3600),
                                                    'tcp_timeout_established': st.integers(7440, 432000)}),
})


@st.composite
def inputs(draw):
    kw = {}
    profile = draw(st.sampled_from(sorted(BUILTIN_PROFILES) + ['mine']))
    kw['profile'] = profile
    if profile == 'mine':
        kw['profiles'] = {'mine': draw(user_profiles)}
    if draw(st.booleans()):
        kw['memory_budget_percent'] = draw(st.floats(0.1, 50))
    if draw(st.booleans()):
        kw['expected_peak'] = draw(st.integers(1, 1 << 22))
    ovr = draw(st.fixed_dictionaries({}, optional={'max': st.integers(1024, 1 << 23),
                                                   'udp_timeout': st.integers(1, 600)}))
    if ovr:
        kw['overrides'] = ovr
    kw['only_raise'] = draw(st.booleans())
    kw['force'] = draw(st.booleans())
    kw['kube_proxy'] = draw(st.sampled_from(KUBE))
    return kw


def attempt(host, kw):
    """recommend(), or None when it refuses; anything but a clear refusal fails the test."""
    try:
        return _sizing.recommend(synth.facts(**host), **kw)
    except (_inputs.ProfileError, _keys.InvalidSetting) as e:
        msg = str(e)
        assert msg and ':' in msg and 'Traceback' not in msg
        return None


def _target_usage(kw):
    p = _inputs.resolve_profile(kw['profile'], kw.get('profiles'))
    return p['sizing']


@settings(**SETTINGS)
@given(hosts(), inputs())
def test_recommendation_keeps_its_invariants(host, kw):
    r = attempt(host, kw)
    if r is None:
        return
    mx, bk = r['recommended']['max'], r['recommended']['buckets']
    sz = _target_usage(kw)
    # only_raise: never below the live values
    if kw['only_raise']:
        assert mx >= host['cmax'] and bk >= host['buckets']
    # never a full table by recommendation
    assert mx * sz['target_usage'] >= host['count'] - 1e-6
    assert mx >= host['count']
    # the budget holds, unless force or a value the host has (only_raise) / the kernel's own default
    mem = r['memory']
    if not mem['within_budget'] and not kw['force']:
        why = r['values']['max']['reason'] + r['values']['buckets']['reason']
        assert ('only_raise' in why or 'fewer than the kernel picks by itself' in why), (mem, why)
    # the extension area is counted when it applies
    sc = synth.facts(**host)['sysctls']   # events defaults to 1 before 5.19
    ext = sc.get('acct') == 1 or sc.get('timestamp') == 1 or sc.get('events') == 1 or \
        _inputs.resolve_profile(kw['profile'], kw.get('profiles'))['nat']
    assert mem['entry_bytes'] == host['objsize'] + (128 if ext else 0)
    # chains at a full table within the load factor (buckets are never overridden here)
    assert float(mx) / bk <= sz['load_factor'] + 1e-9
    # explained and in range
    for short, v in r['values'].items():
        assert v['reason'] and v['source'], short
        _keys.validate_value(short, v['recommended'])


def _monotonic(host, kw, field, bigger):
    # A persisted value the boot lost is a fact about the host's state, inferred from "runtime
    # == the kernel's default for this RAM": changing the RAM alone changes that inference, so
    # these comparisons take hosts without one.
    host = dict(host, persisted=None)
    a = attempt(host, kw)
    host2 = dict(host)
    kw2 = dict(kw)
    if field == 'budget':
        kw2['memory_budget_percent'] = bigger
    else:
        host2[field] = bigger
    b = attempt(host2, kw2)
    if a is not None and b is not None:
        assert b['recommended']['max'] >= a['recommended']['max'], (field, a['values']['max'], b['values']['max'])


@settings(**SETTINGS)
@given(hosts(), inputs(), st.floats(1.0, 4.0))
def test_more_ram_never_gives_a_smaller_max(host, kw, factor):
    _monotonic(host, kw, 'ram', min(int(host['ram'] * factor), 4096 * GIB))


@settings(**SETTINGS)
@given(hosts(), inputs(), st.integers(0, 256))
def test_more_cpus_never_give_a_smaller_max(host, kw, more):
    _monotonic(host, kw, 'cpus', host['cpus'] + more)


@settings(**SETTINGS)
@given(hosts(), inputs(), st.floats(0.1, 50), st.floats(0.0, 50))
def test_a_larger_budget_never_gives_a_smaller_max(host, kw, small, extra):
    kw = dict(kw, memory_budget_percent=small)
    _monotonic(host, kw, 'budget', min(50.0, small + extra))


@settings(**SETTINGS)
@given(hosts(), st.sampled_from(sorted(BUILTIN_PROFILES)))
def test_budget_refusals_name_a_budget_that_works(host, profile):
    # a refusal for the budget names a percentage; with it the same input is accepted
    kw = {'profile': profile, 'only_raise': False}
    try:
        _sizing.recommend(synth.facts(**host), **kw)
        return
    except _inputs.ProfileError as e:
        msg = str(e)
    if 'A budget of at least' not in msg:
        return
    pct = float(msg.split('A budget of at least ')[1].split('%')[0])
    assert pct <= _inputs.BUDGET_RANGE[1]
    r = _sizing.recommend(synth.facts(**host), memory_budget_percent=pct, **kw)
    assert r['memory']['within_budget']


@settings(**SETTINGS)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=8), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)),
       st.sampled_from(['memory_budget_percent', 'expected_peak', 'overrides', 'only_raise', 'force', 'kube_proxy',
                        'previous_stats', 'profiles', 'profile']))
def test_any_value_of_any_option_is_accepted_or_refused_clearly(value, option):
    kw = {option: value}
    if option == 'profiles':
        kw['profile'] = 'x'
        kw['profiles'] = {'x': {'sizing': {'min': value}}}
    attempt(dict(ram=8 * GIB, cpus=4, release=(6, 18, 0), count=1000, cmax=262144, buckets=262144, initial=True,
                 module='builtin', objsize=256, sysctls={}, persisted=None), kw)


def test_ceil_semantics_of_target_usage():
    # 0.5 of 1024 is exactly 512: a count of 512 needs no more than 1024
    f = synth.facts(ram=512 * MIB, count=512, cmax=1024, buckets=1024)
    r = _sizing.recommend(f, profile='default', only_raise=False)
    assert r['recommended']['max'] >= math.ceil(512 / 0.5)


# ---------------------------------------------------------------- malformed facts (issue 22)

_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 64, 2 ** 64), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=10)),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)),
    max_leaves=8)
# every place of a facts document the engine, the report and the role checks read
FACT_PATHS = [
    ('available',), ('kernel',), ('kernel', 'version'), ('kernel', 'pointer_size'), ('kernel', 'page_size'),
    ('kernel', 'release'), ('kernel', 'arch'), ('module',), ('module', 'type'), ('module', 'loaded'),
    ('module', 'evidence'), ('netns',), ('netns', 'initial'), ('ram_bytes',), ('cpus',), ('count',), ('max',),
    ('buckets',), ('sysctls',), ('sysctls', 'acct'), ('sysctls', 'events'), ('sysctls', 'udp_timeout'),
    ('sysctls', 'max'), ('writable',), ('readonly',), ('readonly', 'max'), ('hashsize',), ('hashsize', 'writable'),
    ('stats',), ('stats', 'insert_failed'), ('stats', 'drop'), ('memory',), ('memory', 'object_size'),
    ('memory', 'object_size_source'), ('persisted',), ('persisted', 'at_boot'), ('persisted', 'at_boot', 'max'),
    ('persisted', 'at_boot', 'max', 'value'), ('kernel_default',), ('kernel_default', 'max'),
    ('kernel_default', 'reason'), ('interfaces',), ('nat',), ('nat', 'detected'), ('nat', 'owners'), ('kube_proxy',),
    ('kube_proxy', 'conntrack'), ('kube_proxy', 'conntrack', 'maxPerCore'), ('kube_proxy', 'source'),
    ('usage_ratio',), ('load_factor',),
]


@st.composite
def malformed_facts(draw):
    """A facts document of a generated host with 1-4 parts deleted or replaced by any JSON value;
    now and then not a dict at all."""
    if draw(st.integers(0, 20)) == 0:
        return draw(_JSON)
    facts = synth.facts(**draw(hosts()))
    if draw(st.booleans()):
        facts['nat'] = {'detected': draw(st.booleans()), 'owners': ['docker'], 'evidence': [], 'source': 'nft'}
    if draw(st.booleans()):
        facts['kube_proxy'] = {'running': True, 'source': 'kube-proxy (pid 1) --config x', 'conntrack': {'min': 131072}}
    for _step in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(FACT_PATHS))
        target = facts
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        if draw(st.booleans()):
            target.pop(path[-1], None)
        else:
            target[path[-1]] = draw(_JSON)
    return facts


@settings(**SETTINGS)
@given(malformed_facts(), inputs())
def test_any_json_facts_document_gives_a_valid_recommendation_or_a_clear_error(facts, kw):
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    params = dict(kw, notrack_exemptions=[{'interface': 'lo'}])
    r, err = _recommend_args.compute(params, facts)    # never raises: a clear error or a result
    if err is not None:
        assert r is None and isinstance(err, str) and err and 'Traceback' not in err
        return
    assert r['report'] and all(isinstance(line, str) for line in r['report'])
    if not r['available']:
        return
    for short, v in r['values'].items():
        assert v['reason'] and v['source'], short
        _keys.validate_value(short, v['recommended'])
        floor = _kernel.TIMEOUT_FLOORS.get(short)
        if floor and not kw['force']:
            assert v['recommended'] >= floor[0], (short, v)
    mem = r['memory']
    if mem['within_budget'] is False and not kw['force']:
        why = r['values']['max']['reason'] + r['values']['buckets']['reason']
        assert 'only_raise' in why or 'fewer than the kernel picks by itself' in why, (mem, why)
    if r['assumed_not_loaded'] is False and isinstance(facts.get('count'), int):
        assert r['recommended']['max'] >= facts['count']
