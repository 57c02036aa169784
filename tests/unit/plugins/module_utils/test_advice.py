# -*- coding: utf-8 -*-
"""No message of the sizing engine advises a setting the options already have (issue 23 item 6).

What the engine says (its warnings, its refusal, the steps and reasons of every value) may advise
the user. What this test reads as advice (ADVICE below) and what each must not meet:

  setting      `NAME: VALUE` for an engine option and a value of its type (only_raise, force:
               true/false; memory_budget_percent, expected_peak: a number; kube_proxy: absent,
               a quoted version, a {dict}), anywhere but as a message's leading label: the option
               must not already have VALUE. A statement of the current value is written otherwise
               ("with only_raise", "kube_proxy is absent"), never as NAME: VALUE; "force: ..."
               before what force let through ("force: 20480, over the memory budget",
               "force: overrides.x: ...") is such a label, with no value of force's type.
  budget       "a budget of at least P%": the budget in use (memory_budget_percent, else the
               profile's) must be below P.
  state        "State kube_proxy" (its version, or absent): kube_proxy must not be stated.
  version      "kube_proxy.version" (state the version): kube_proxy must not state one.
  drop         "drop the override" / "no override" / "drop overrides.KEY [and overrides.KEY2]":
               an override (of each KEY) must be there.
  drop_peak    "drop expected_peak": expected_peak must be set.
  kube_field   "conntrack.FIELD: VALUE" (kube-proxy's own configuration): what kube_proxy states
               or conntrack_facts read for FIELD must not already be VALUE.

runtime: false, boot_fix and load_module are conntrack_settings' options, which the engine does
not see: they are not checked against any value here, only in the role's words (below). The
profile's notes are data of the profile (profiles.py), not the engine's messages: not read.

The role says the same messages in its own words (args.role_terms): every option an advising
message names must come out as a variable of roles/conntrack/meta/argument_specs.yml (or a
module's name), with no option name left bare (role_problems).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest
import yaml

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _args  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import kubeproxy as _kubeproxy  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import BUILTIN_PROFILES  # noqa: E402

import synth  # noqa: E402

MIB, GIB = 1024 ** 2, 1024 ** 3
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE_SPECS = os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')
SETTINGS = dict(max_examples=int(os.environ.get('NFCT_HYPOTHESIS_EXAMPLES', '300')), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ---------------------------------------------------------------- what is advice

OPTIONS = ('only_raise', 'force', 'memory_budget_percent', 'expected_peak', 'kube_proxy')
# conntrack_settings' options a message may advise (the engine does not see them)
SETTINGS_OPTIONS = ('runtime', 'boot_fix', 'load_module')
# each option with the values it takes
_VALUES = (('only_raise|force|runtime', 'true|false'), ('memory_budget_percent|expected_peak', '[0-9][0-9.]*'),
           ('kube_proxy', r"absent|'[^']*'|\{[^}]*\}"))
ADVICE = (
    ('setting', re.compile('|'.join(r"(?<![\w.'])(?P<n%d>%s): (?P<v%d>%s)" % (i, names, i, values)
                                    for i, (names, values) in enumerate(_VALUES)))),
    ('budget', re.compile(r'[Aa] budget of at least ([0-9.]+)%')),
    ('state', re.compile(r'[Ss]tate kube_proxy\b(?!\.)')),
    ('version', re.compile(r'(?<![\w.])kube_proxy\.version\b')),
    ('drop', re.compile(r'drop the override|no override|drop ((?:overrides\.\w+(?: and )?)+)')),
    ('drop_peak', re.compile(r'drop expected_peak')),
    ('kube_field', re.compile(r'conntrack\.(\w+): ([^\s,;)]+)')),
    ('settings_option', re.compile(r'(?<![\w.])(%s)\b' % '|'.join(SETTINGS_OPTIONS))),
)


def advice(text):
    """[(kind, match)] of every piece of advice in one message; a leading label is not advice."""
    label = re.match(r"^(force: )?[\w.']+: ", text)
    found = []
    for kind, pattern in ADVICE:
        for m in pattern.finditer(text):
            if kind == 'setting' and label and m.start() < label.end() and m.start() in (0, len('force: ')):
                continue
            found.append((kind, m))
    return found


def state(kw, facts):
    """What the options already are: the engine's reading of them, and kube_proxy completed with
    what conntrack_facts read on the host."""
    opts = _inputs.options(kw.get('overrides'), kw.get('memory_budget_percent'), kw.get('expected_peak'),
                           kw.get('only_raise', True), kw.get('force', False))
    prof = _inputs.resolve_profile(kw.get('profile', 'default'), kw.get('profiles'))
    stated = _kubeproxy.normalize(kw.get('kube_proxy'))
    merged, _warnings = _kubeproxy.merge_host(stated, (facts or {}).get('kube_proxy'))
    opts.update(stated=stated, merged=merged or {},
                percent=prof['sizing']['memory_budget_percent'] if opts['budget'] is None else opts['budget'])
    return opts


def _same_setting(name, value, opts):
    if name in ('only_raise', 'force'):
        return value in ('true', 'false') and opts[name] == (value == 'true')
    if name == 'memory_budget_percent':
        return opts['budget'] is not None and re.match(r'^[0-9.]+$', value) and float(value) == opts['budget']
    if name == 'expected_peak':
        return value.isdigit() and int(value) == opts['expected_peak']
    if name == 'kube_proxy':
        stated = opts['stated']
        if value == 'absent':
            return bool(stated and stated.get('absent'))
        return bool(stated and not stated.get('absent') and stated.get('version') and value.strip("'") and
                    _kubeproxy.parse_version(value.strip("'")) == stated['version'])
    return False   # runtime: not an engine option


def _same_field(field, value, opts):
    """Does kube-proxy's configuration (as stated or read) already have conntrack.FIELD: VALUE?"""
    name = _kubeproxy.CAMEL.get(field)
    merged = opts['merged']
    if name is None or name not in merged.get('given', ()):
        return False
    if name == 'tcp_be_liberal':
        return value in ('true', 'false') and merged[name] == (value == 'true')
    seconds = _kubeproxy.parse_duration(value) if name in _kubeproxy.DURATIONS else (
        int(value) if value.isdigit() else None)
    return seconds is not None and seconds == merged[name]


def already_set(kind, m, opts):
    """The advice m (of ADVICE's kind) is what the options already are: text, or None."""
    if kind == 'setting':
        name, value = [group for group in m.groups() if group is not None]
        if _same_setting(name, value, opts):
            return '%s is already %s' % (name, value)
    if kind == 'budget' and opts['percent'] >= float(m.group(1).rstrip('.')):
        return 'the budget is already %s%%' % opts['percent']
    if kind == 'state' and opts['stated'] is not None:
        return 'kube_proxy is already stated'
    if kind == 'version' and opts['stated'] is not None and opts['stated'].get('version'):
        return 'kube_proxy already states its version'
    if kind == 'drop' and not (opts['overrides'] if m.group(1) is None else all(
            key in opts['overrides'] for key in re.findall(r'overrides\.(\w+)', m.group(1)))):
        return 'there is no such override'
    if kind == 'drop_peak' and opts['expected_peak'] is None:
        return 'expected_peak is not set'
    if kind == 'kube_field' and _same_field(m.group(1), m.group(2), opts):
        return "kube-proxy's configuration already has %s" % m.group(0)
    return None


def texts(params, facts):
    """Every message of one run: the refusal, or the warnings and each value's steps and reason."""
    rec, err = _args.compute(params, facts)
    if err:
        return [err]
    out = list(rec['warnings'])
    for value in rec['values'].values():
        out += list(value.get('steps') or []) + [value['reason']]
    return out


def wrong_advice(params, facts):
    opts = state(params, facts)
    return [(text, why) for text in texts(params, facts) for kind, m in advice(text)
            for why in [already_set(kind, m, opts)] if why]


# ---------------------------------------------------------------- the role's words

_ROLE_VARIABLES = []


def role_variables():
    """The role's variables (every entry point's options), read once."""
    if not _ROLE_VARIABLES:
        with open(ROLE_SPECS) as f:
            specs = yaml.safe_load(f)['argument_specs']
        for entry in specs.values():
            _ROLE_VARIABLES.extend(entry.get('options') or {})
    return set(_ROLE_VARIABLES)


# the collection's modules (conntrack_facts, ...) are named as they are, in the role too
MODULES = set(name[:-3] for name in os.listdir(os.path.join(REPO, 'plugins', 'modules')) if name.endswith('.py'))
# an option named bare: the names with an underscore anywhere (no English word is spelt so), the
# one-word ones in their option forms (NAME: value, NAME.key)
_BARE = re.compile(r"(?<![\w.'])(only_raise|memory_budget_percent|expected_peak|kube_proxy|boot_fix|load_module|"
                   r"notrack_exemptions)\b|(?<![\w.'])(force|runtime|overrides|profiles|profile)(?=: [^ ]|\.\w)")


def role_problems(text):
    """What role_terms leaves of a message that the role does not know: bare option names, and
    conntrack_* names that are no variable of the role."""
    said = _args.role_terms(text)
    bare = [m.group(0) for m in _BARE.finditer(said)]
    unknown = [name for name in re.findall(r'(?<![\w.])conntrack_\w+', said) if name not in role_variables() | MODULES]
    return said, bare, unknown


# ---------------------------------------------------------------- each advising message, both ways

NODE = dict(ram=8 * GIB, cpus=2)   # live max 262144, the kernel's default; kube-proxy computes 131072
KUBE_FIX = 'conntrack.maxPerCore: 131072 and conntrack.min: 262144 in kube-proxy\'s configuration'


def node(**kw):
    return synth.facts(**dict(NODE, **kw))


def node_without_ram():
    facts = node()
    facts['ram_bytes'] = None
    return facts


def lost_boot():
    # an explicit hash size: the kernel's max is 8 x 131072, which sysctl.d's 300000 should have replaced
    return node(hashsize=131072, persisted={'max': 300000})


def node_with_kube_proxy():
    facts = node()
    facts['kube_proxy'] = {'running': True, 'source': '/var/lib/kube-proxy/config.conf',
                           'conntrack': {'maxPerCore': 65536}}
    return facts


KUBE = dict(profile='kubernetes_node', kube_proxy='1.30')
# (what, facts, options, said (each in some message), not said (in none)): each advising message
# where its advice applies, then where the options already are what it advises
MESSAGES = [
    ('kube-proxy undoes what only_raise keeps', node, KUBE,
     ['start. Let the two agree (only_raise: false), or set ' + KUBE_FIX], ['no override', 'drop overrides']),
    # issue 23 item 6: kube_proxy + only_raise: false advised only_raise: false
    ('kube-proxy undoes what the live count needs', lambda: node(count=200000), dict(KUBE, only_raise=False),
     ['start. Set conntrack.maxPerCore: 200192 and conntrack.min: 400384 in kube-proxy\'s configuration'],
     ['only_raise: false', 'override', 'Let the two agree']),
    ('kube-proxy undoes an overrides.max', node, dict(KUBE, only_raise=False, overrides={'max': 196608}),
     ['Let the two agree (drop overrides.max), or set conntrack.maxPerCore: 98304'], ['only_raise: false']),
    ('kube-proxy undoes an overrides timeout', node, dict(KUBE, overrides={'tcp_timeout_established': 7440}),
     ['Let the two agree (drop overrides.tcp_timeout_established), or set conntrack.tcpEstablishedTimeout: 2h4m0s'],
     ['no override']),
    ('kube-proxy undoes an overrides.buckets', node, dict(KUBE, only_raise=False, overrides={'buckets': 16384}),
     ['Let the two agree (drop overrides.buckets), or set conntrack.maxPerCore: 0'], ['only_raise: false']),
    ('kube-proxy undoes a profile\'s timeout', node,
     dict(profile='web', kube_proxy={'version': '1.31', 'tcpEstablishedTimeout': '48h'}),
     ['start. Set conntrack.tcpEstablishedTimeout: 24h0m0s in kube-proxy\'s configuration'],
     ['only_raise: false', 'override']),
    ('a field kube-proxy already has is not advised', node,
     dict(KUBE, only_raise=False, overrides={'max': 262144}, kube_proxy={'version': '1.30', 'min': 262144,
                                                                         'maxPerCore': 262144}),
     ['or set conntrack.maxPerCore: 131072 in kube-proxy\'s configuration (with its conntrack.min 262144, it then'],
     ['conntrack.min: 262144']),
    ('kube_proxy not stated', node, dict(profile='kubernetes_node'),
     ['kube_proxy is not stated: ', '. State kube_proxy (its version, or absent) for an exact answer, or set ' +
      KUBE_FIX], []),
    ('kube_proxy stated without its version', node, dict(profile='kubernetes_node', kube_proxy={'maxPerCore': 65536}),
     ['(its configuration: kube_proxy)', '. State its version (kube_proxy.version) for an exact answer, or set '],
     ['State kube_proxy']),
    ('kube-proxy\'s configuration read on the host', node_with_kube_proxy, dict(profile='kubernetes_node'),
     ['(its configuration: /var/lib/kube-proxy/config.conf)', '. State its version (kube_proxy.version) for an exact'],
     ['State kube_proxy']),
    ('kube_proxy absent is said, not advised', node, dict(profile='kubernetes_node', kube_proxy='absent'),
     ['no kube-proxy (kube_proxy is absent): the profile\'s own rule'], ['kube_proxy: absent']),
    ('kube-proxy\'s own max over the budget', lambda: node(ram=2 * GIB, cpus=64), dict(KUBE, only_raise=False),
     ['A budget of at least 37.8% would hold it; or set conntrack.maxPerCore: 0 in kube-proxy\'s configuration (it '
      'then leaves nf_conntrack_max alone) and here (kube_proxy.maxPerCore: 0); or set force: true to exceed'],
     ['kube_proxy: absent']),
    ('a timeout below its floor', node, dict(overrides={'udp_timeout': 5}),
     ['overrides.udp_timeout: 5 s is below the floor of 10 s', 'Use at least 10, or set force: true to go below it'],
     []),
    ('a timeout below its floor, forced', node, dict(overrides={'udp_timeout': 5}, force=True),
     ['force: overrides.udp_timeout: 5 s is below the floor of 10 s'], ['force: true']),
    ('kube-proxy\'s timeout below its floor, forced', node,
     dict(KUBE, kube_proxy={'version': '1.30', 'udpTimeout': '5s'}, force=True),
     ['Use at least 10; kube-proxy writes it on every start: raise it in kube-proxy\'s configuration '
      '(conntrack.udpTimeout: 10s at least)'], ['force: true']),
    ('the RAM is missing', node_without_ram, {}, ['. force: true sizes without a budget'], []),
    ('the RAM is missing, forced', node_without_ram, dict(force=True),
     ['force: facts.ram_bytes: missing: sized without a memory budget'], ['force: true']),
    ('the live count over the budget', lambda: node(count=2000000, cmax=4000000), dict(memory_budget_percent=1),
     ['A budget of at least 12.3% would hold it; or set force: true to exceed the budget'], []),
    ('the live count over the budget, forced', lambda: node(count=2000000, cmax=4000000),
     dict(memory_budget_percent=1, force=True), ['A budget of at least 12.3% would hold it'], ['force: true']),
    ('a budget below the kernel\'s own table', node, dict(memory_budget_percent=0.1),
     ['(set force: true to honour the budget)', 'keeping 262144 (force: true to go below)'], []),
    ('a budget below the kernel\'s own table, forced', node, dict(memory_budget_percent=0.1, force=True),
     ['limited by the memory budget 0.1% of RAM'], ['force: true']),
    ('overrides.max over the budget', node, dict(overrides={'max': 8000000}),
     ['A budget of at least 24.6% would hold it; or set force: true'], []),
    ('overrides.max over the budget, forced', node, dict(overrides={'max': 8000000}, force=True),
     ['force: overrides.max: 8000000 entries need'], ['force: true']),
    ('overrides.buckets too few', node, dict(overrides={'buckets': 1024}, only_raise=False),
     ['(chain <= 8, the kernel\'s own factor with an explicit hash size), or force: true'], []),
    ('overrides.buckets too few, forced', node, dict(overrides={'buckets': 1024}, only_raise=False, force=True),
     ['force: overrides.buckets: 1024'], ['force: true']),
    ('an override only_raise would drop', node, dict(overrides={'max': 131072}),
     ['Set only_raise: false to lower max to 131072, or drop the override'], []),
    ('an override only_raise would drop, only_raise false', node, dict(overrides={'max': 131072}, only_raise=False),
     ['override 131072'], ['only_raise: false', 'drop the override']),
    ('a max the boot lost', lost_boot, {},
     ['Set only_raise: false to go back to 300000, and keep the boot-order fix (boot_fix)'], []),
    ('a max the boot lost, only_raise false', lost_boot, dict(only_raise=False),
     ['the boot lost the persisted max 300000'], ['only_raise: false']),
    ('an override below the stated peak', node, dict(expected_peak=200000, overrides={'max': 300000}),
     ['overrides.max: 300000 is below expected_peak 200000 x headroom 2 = 400000; raise it or drop expected_peak'],
     []),
]


@pytest.mark.parametrize('what, facts, kw, said, not_said', MESSAGES, ids=[row[0] for row in MESSAGES])
def test_each_advising_message_advises_only_what_is_not_so(what, facts, kw, said, not_said):
    facts = facts()
    messages = texts(kw, facts)
    for part in said:
        assert [m for m in messages if part in m], (part, messages)
    for part in not_said:
        assert not [m for m in messages if part in m], (part, messages)
    assert wrong_advice(kw, facts) == []
    for text in messages:
        said_by_role, bare, unknown = role_problems(text)
        assert (bare, unknown) == ([], []), said_by_role


def test_the_role_says_the_advice_in_its_variables():
    said = _args.role_terms('start. Let the two agree (only_raise: false, drop overrides.max), or set conntrack.min: 1; '
                            'State kube_proxy (its version, or absent), kube_proxy.version; set force: true; keep the '
                            'boot-order fix (boot_fix); persist only (runtime: false); (load_module to load it now)')
    assert said == ('start. Let the two agree (conntrack_only_raise: false, drop conntrack_overrides.max), or set '
                    'conntrack.min: 1; State conntrack_kube_proxy (its version, or absent), conntrack_kube_proxy.version; '
                    'set conntrack_force: true; keep the boot-order fix (conntrack_boot_fix); persist only '
                    '(conntrack_runtime: false); (conntrack_load_module to load it now)')
    # runtime the word stays a word
    assert _args.role_terms('max: runtime 262144 is the kernel\'s default') == 'max: runtime 262144 is the kernel\'s default'


# ---------------------------------------------------------------- generated hosts and options

RELEASES = [(3, 10, 0), (4, 19, 0), (5, 15, 0), (6, 1, 0), (6, 18, 0)]
KUBE_FIELDS = {
    'maxPerCore': st.sampled_from([0, 1024, 16384, 32768, 65536]),
    'min': st.sampled_from([0, 131072, 262144, 1048576]),
    'tcpEstablishedTimeout': st.sampled_from(['24h0m0s', '1h', 3600, '2h4m0s', '0s', '168h0m0s', 86400]),
    'tcpCloseWaitTimeout': st.sampled_from(['1h0m0s', '60s', '0', '30s', 3600]),
    'tcpBeLiberal': st.sampled_from([True, False, 'true']),
    'udpTimeout': st.sampled_from(['0s', '30s', '5s', '2m0s']),
    'udpStreamTimeout': st.sampled_from(['0s', '2m0s', '60s', '3m0s']),
}
VERSIONS = ['1.20', '1.22', 'v1.25.3', '1.29', 1.29, '1.30', '1.36', '1.38', '1.38.0-alpha.1', 'v1.41.0']
PROFILES = sorted(BUILTIN_PROFILES) + ['mine']


@st.composite
def kube_proxy_options(draw):
    """kube_proxy in every form it is accepted in: null, '', absent, a version, our field names,
    kube-proxy's camelCase ones, its conntrack: section, a whole KubeProxyConfiguration."""
    form = draw(st.sampled_from(['null', 'empty', 'absent', 'version', 'snake', 'camel', 'section', 'whole']))
    if form in ('null', 'empty', 'absent'):
        return {'null': None, 'empty': '', 'absent': draw(st.sampled_from(['absent', 'Absent ']))}[form]
    if form == 'version':
        return draw(st.sampled_from(VERSIONS))
    fields = draw(st.fixed_dictionaries({}, optional=KUBE_FIELDS))
    if form == 'snake':
        fields = dict((_kubeproxy.CAMEL[k], v) for k, v in fields.items())
    elif form == 'section':
        fields = {'conntrack': fields}
    elif form == 'whole':
        fields = {'apiVersion': 'kubeproxy.config.k8s.io/v1alpha1', 'kind': 'KubeProxyConfiguration',
                  'mode': 'iptables', 'conntrack': fields}
    if draw(st.booleans()):
        fields['version'] = draw(st.sampled_from(VERSIONS))
    return fields


@st.composite
def host_facts(draw):
    """A host (synth.facts) now and then without its RAM, with the module not loaded, a persisted
    max the boot lost, NAT, insert_failed, or kube-proxy's configuration read on it."""
    ram = draw(st.one_of(st.sampled_from([512 * MIB, 2 * GIB, 8 * GIB, 64 * GIB]), st.integers(256 * MIB, 1024 * GIB)))
    release = draw(st.sampled_from(RELEASES))
    kd = _kernel.kernel_default(ram, 8, release)
    cmax = draw(st.one_of(st.just(kd['max']), st.sampled_from([65536, 131072, 262144, 1048576]),
                          st.integers(1024, 8 << 20)))
    buckets = draw(st.one_of(st.just(kd['buckets']), st.integers(1, 2 << 20).map(_kernel.round_buckets)))
    facts = synth.facts(
        ram=ram, cpus=draw(st.one_of(st.sampled_from([1, 2, 4, 16, 64]), st.integers(1, 512))), release=release,
        count=draw(st.one_of(st.just(0), st.integers(0, cmax))), cmax=cmax, buckets=buckets,
        initial=draw(st.booleans()), module=draw(st.sampled_from(['builtin', 'module'])),
        persisted=draw(st.one_of(st.none(), st.fixed_dictionaries({'max': st.integers(1024, 4 << 20)}))),
        stats={'insert_failed': draw(st.sampled_from([0, 0, 12]))})
    extra = draw(st.sets(st.sampled_from(['no_ram', 'not_loaded', 'nat', 'kube_proxy'])))
    if 'no_ram' in extra:
        facts['ram_bytes'] = None
    if 'not_loaded' in extra:
        facts.update(available=False, module={'type': 'module', 'loaded': False, 'evidence': 'synthetic'})
    if 'nat' in extra:
        facts['nat'] = {'detected': True, 'owners': ['docker'], 'evidence': [], 'source': 'nft'}
    if 'kube_proxy' in extra:
        facts['kube_proxy'] = {'running': True, 'source': '/var/lib/kube-proxy/config.conf',
                               'conntrack': draw(st.fixed_dictionaries({}, optional=KUBE_FIELDS))}
    return facts


@st.composite
def engine_options(draw):
    """The engine's options (args.ENGINE_SPEC), each in the forms it is accepted in."""
    kw = {'profile': draw(st.sampled_from(PROFILES))}
    if kw['profile'] == 'mine':
        kw['profiles'] = {'mine': {'extends': draw(st.sampled_from(sorted(BUILTIN_PROFILES))),
                                   'sizing': draw(st.fixed_dictionaries({}, optional={
                                       'memory_budget_percent': st.sampled_from([0.5, 5, 20]),
                                       'min': st.sampled_from([0, 262144])}))}}
    if draw(st.booleans()):
        kw['memory_budget_percent'] = draw(st.one_of(st.sampled_from([0.1, 1, 5, 10, 50, '5', '2.5']),
                                                     st.floats(0.1, 50)))
    if draw(st.booleans()):
        kw['expected_peak'] = draw(st.one_of(st.sampled_from([1000, 100000, 1000000]), st.integers(1, 1 << 22)))
    kw['overrides'] = draw(st.fixed_dictionaries({}, optional={
        'max': st.one_of(st.sampled_from([65536, 131072, 262144]), st.integers(1024, 1 << 23)),
        'buckets': st.integers(1024, 1 << 21), 'udp_timeout': st.sampled_from([5, 30, 600]),
        'tcp_timeout_established': st.sampled_from([3600, 7440, 86400]),
        'tcp_timeout_close_wait': st.sampled_from([30, 3600])}))
    kw['only_raise'] = draw(st.sampled_from([True, False, 'false', 'yes']))
    kw['force'] = draw(st.sampled_from([True, False, 'true', 'no']))
    kw['kube_proxy'] = draw(kube_proxy_options())
    return kw


@settings(**SETTINGS)
@given(host_facts(), engine_options())
def test_no_message_advises_what_the_options_already_are(facts, kw):
    assert wrong_advice(kw, facts) == []


@settings(**SETTINGS)
@given(host_facts(), engine_options())
def test_the_role_says_every_advised_option_as_its_variable(facts, kw):
    for text in texts(kw, facts):
        if advice(text):
            said, bare, unknown = role_problems(text)
            assert (bare, unknown) == ([], []), said
