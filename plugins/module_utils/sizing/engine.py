# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recommendation engine: a short pipeline of named steps, each returning its value with
the reasons and sources behind it. Pure functions, no I/O.

    recommend = options -> profile -> host -> budget -> kube-proxy -> max -> buckets
                -> profile values -> memory summary -> warnings

The kernel's own rules (default sizes per era, rounding, bytes per entry) are in kernel/rules.py,
kube-proxy's in sizing/kubeproxy.py, input validation in sizing/inputs.py. docs/profiles.md describes the
steps; the invariants they keep are property-tested (tests/unit/.../test_sizing_properties.py).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import math

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs, kubeproxy as _kubeproxy
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed as _observed
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.inputs import ProfileError  # noqa: F401 (public name)
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import SIZING_SOURCES

GIB = _kernel.GIB
ROUND_MAX = 1024
# a live resize longer than this gets a warning (seconds of softirqs off on one CPU)
RESIZE_WARN_SECONDS = 0.25
# kube-proxy release lines checked when kube_proxy is not stated (one minor per line)
_KP_LINES = (20, 21, 23, 29, 36, 38)


def _up(n, step=ROUND_MAX):
    return int(-(-int(n) // step) * step)


def _mib(n):
    return '%d MiB' % (int(n) // 1048576) if n >= 1048576 else '%d KiB' % (int(n) // 1024)


# ---------------------------------------------------------------- host

RAM_MISSING = ('facts.ram_bytes: missing, so the memory budget cannot be checked (conntrack_facts reads MemTotal from '
               '/proc/meminfo; give the facts it returns whole, or add ram_bytes). force: true sizes without a budget')


def host_model(facts, opts=None):
    """The numbers the engine needs from the facts (validated), or None when conntrack is not
    there. A loadable module that is not loaded is sized for what the kernel picks at load."""
    opts = opts or {'force': False}
    facts = _inputs.check_facts(facts)
    if facts is None:
        return None
    to_load = not facts.get('available') and (facts.get('module') or {}).get('type') == 'module'
    if not (facts.get('available') or to_load):
        return None
    ram = _inputs.fact_int(facts, 'ram_bytes', 1, 1 << 50, None)
    if ram is None and not opts['force']:
        raise ProfileError(RAM_MISSING)
    ram = ram or 0
    if to_load and not ram:
        return None
    assumed = to_load
    if assumed:
        facts = assume_loaded(facts)
    kernel = facts['kernel']
    pointer = _inputs.number(kernel.get('pointer_size') or 8, 'facts.kernel.pointer_size', 4, 8)
    page = _inputs.number(kernel.get('page_size') or 4096, 'facts.kernel.page_size', 4096, 1 << 20)
    release = kernel.get('version')
    memory = facts.get('memory') or {}
    kd_load = facts.get('kernel_default') or (_kernel.kernel_default(ram, pointer, release, page) if ram else {})
    return {
        'facts': facts, 'assumed': assumed, 'ram': ram, 'release': release, 'pointer': pointer, 'page': page,
        'cpus': _inputs.fact_int(facts, 'cpus', 1, 1 << 20, 1),
        'count': _inputs.fact_int(facts, 'count', 0, 1 << 40, 0),
        'max': _inputs.fact_int(facts, 'max', 0, 1 << 40, 0),
        'buckets': _inputs.fact_int(facts, 'buckets', 0, 1 << 40, 0),
        'object_size': _inputs.number(memory.get('object_size') or _kernel.FALLBACK_OBJECT_SIZE,
                                      'facts.memory.object_size', 64, 4096),
        'object_source': memory.get('object_size_source') or 'fallback',
        'sysctls': facts.get('sysctls') or {}, 'writable': set(facts.get('writable') or []),
        'readonly': facts.get('readonly') or {}, 'hashsize': facts.get('hashsize') or {},
        'stats': facts.get('stats') or {}, 'nat': facts.get('nat') or {}, 'kube_proxy': facts.get('kube_proxy'),
        # what the kernel picks by itself at this RAM (no explicit hash size): the budget's floor
        'kd': _kernel.kernel_default(ram, pointer, release, page) if ram else {'max': 0, 'buckets': 0},
        'kd_load': kd_load,
        'lost': _lost_at_boot(facts, kd_load),
        'warnings': [] if ram else ['force: facts.ram_bytes: missing: sized without a memory budget'],
    }


def _lost_at_boot(facts, kd_load):
    """{short: persisted value} for max/buckets whose runtime is the kernel's default for this load
    while sysctl.d sets another value: the boot lost it (module loaded after systemd-sysctl)."""
    out = {}
    at_boot = (facts.get('persisted') or {}).get('at_boot') or {}
    for short in ('max', 'buckets'):
        try:
            persisted = int((at_boot.get(short) or {}).get('value'))
        except (TypeError, ValueError, AttributeError, OverflowError):
            continue
        live = facts.get(short)
        if live is not None and live == (kd_load or {}).get(short) and persisted != live:
            out[short] = persisted
    return out


# the keys whose value gives every entry the extension area (kernel/rules.py extension_reasons)
_EXTENSION_KEYS = ('acct', 'timestamp', 'events')


def assume_loaded(facts):
    """Facts of a not-loaded module completed with what the kernel will set when it loads: its
    default timeouts and flags for this release (events=1 before 5.19, so every entry gets the
    extension area), and a persisted acct/timestamp/events=1 that the boot-order fix applies."""
    loaded = copy.deepcopy(facts)
    kernel = loaded.get('kernel') or {}
    kernel_default = loaded.get('kernel_default') or _kernel.kernel_default(
        loaded['ram_bytes'], kernel.get('pointer_size') or 8, kernel.get('version'), kernel.get('page_size') or 4096)
    loaded['kernel_default'] = kernel_default
    sysctls = _kernel.default_timeouts(kernel.get('version'))
    sysctls.update(_kernel.default_flags(kernel.get('version')))
    at_boot = (loaded.get('persisted') or {}).get('at_boot') or {}
    for short in _EXTENSION_KEYS:
        entry = at_boot.get(short)
        if isinstance(entry, dict) and str(entry.get('value')).strip() == '1':
            sysctls[short] = 1
    sysctls.update({'max': kernel_default['max'], 'buckets': kernel_default['buckets'], 'count': 0})
    loaded.update(available=True, count=0, max=kernel_default['max'], buckets=kernel_default['buckets'], sysctls=sysctls,
                  writable=[],
                  readonly=dict((k, 'nf_conntrack is not loaded') for k in sysctls))
    return loaded


# ---------------------------------------------------------------- steps

def step_budget(host, prof, opts):
    """The memory budget: bytes, bytes per entry (with the extension area when it applies) and
    how many entries fit."""
    sizing = prof['sizing']
    if opts['budget'] is None:
        percent, source = sizing['memory_budget_percent'], 'profile %s sizing.memory_budget_percent' % prof['name']
    else:
        percent, source = opts['budget'], 'memory_budget_percent'
    extension = _kernel.extension_reasons(host['sysctls'], prof['nat'])
    if not prof['nat'] and host['nat'].get('detected'):
        extension.insert(0, 'NAT rules on this host (%s; facts.nat)' % ', '.join(host['nat'].get('owners') or ['found']))
    per_entry = _kernel.entry_bytes(host['object_size'], extension)
    load_factor = sizing['load_factor']
    total = int(host['ram'] * percent / 100.0)
    # entries + ceil(entries / lf) bucket heads (+ one page of rounding) must fit
    fit = max(0, int((total - 2 * host['page']) // (per_entry + float(host['pointer']) / load_factor)))
    return {'percent': percent, 'source': source, 'bytes': total, 'per_entry': per_entry, 'extension': extension,
            'fit': (fit // ROUND_MAX) * ROUND_MAX, 'load_factor': load_factor}


def table_cost(host, budget, entries, buckets=None):
    if buckets is None:
        buckets = _kernel.round_buckets(-(-int(entries) // budget['load_factor']), host['page'], host['pointer'])
    return _kernel.table_bytes(entries, buckets, budget['per_entry'], host['pointer'])


def percent_needed(host, budget, entries):
    """The smallest budget (percent, rounded up to 0.1) whose entries fit."""
    need = table_cost(host, budget, entries) + 2 * host['page'] + ROUND_MAX * budget['per_entry']
    return math.ceil(1000.0 * need / host['ram']) / 10.0 if host['ram'] else None


def budget_advice(host, budget, entries):
    """'A budget of at least P% would hold it', or why no allowed budget would."""
    pct = percent_needed(host, budget, entries)
    if pct is not None and pct <= _inputs.BUDGET_RANGE[1]:
        return 'A budget of at least %s%% would hold it' % _fmt(pct)
    return ('It would take %s%% of RAM, above the %s%% ceiling of memory_budget_percent (unswappable kernel '
            'memory): this host cannot hold it' % (_fmt(pct), _fmt(_inputs.BUDGET_RANGE[1])))


def step_kube_proxy(host, prof, cfg):
    """What kube-proxy will write here: one plan (version stated), several (version not stated, on a
    profile that follows kube-proxy or where its configuration is known), or none (absent, or
    nothing known on another profile). The configuration is the option's, completed with what
    conntrack_facts read on the host (facts.kube_proxy): stated fields win."""
    cfg, warnings = _kubeproxy.merge_host(cfg, host['kube_proxy'])
    if (host['kube_proxy'] or {}).get('error'):
        warnings.append('kube-proxy\'s configuration could not be read here: %s' % host['kube_proxy']['error'])
    source = (cfg or {}).get('from_host')
    if cfg is not None and cfg.get('absent'):
        return {'stated': 'absent', 'plans': [], 'warnings': warnings, 'source': None, 'config': cfg}
    if cfg is not None and cfg['version'] is not None:
        return {'stated': 'version', 'plans': [_kubeproxy.plan(cfg, host['cpus'])], 'warnings': warnings,
                'source': source, 'config': cfg}
    if cfg is None and not prof['kube_proxy']:
        return {'stated': None, 'plans': [], 'warnings': warnings, 'source': None, 'config': None}
    base = cfg or _kubeproxy.DEFAULT_CONFIG
    plans = [_kubeproxy.plan(dict(base, version=(1, minor)), host['cpus']) for minor in _KP_LINES]
    return {'stated': None if cfg is None else 'config', 'plans': plans, 'warnings': warnings, 'source': source,
            'config': cfg}


def _base_max(host, prof, kube_proxy_step):
    """The profile's rule for max (or kube-proxy's value on a profile that follows it)."""
    sizing = prof['sizing']

    def src(k):
        return prof['sources'].get(k) or SIZING_SOURCES.get(k) or 'profile %s' % prof['name']

    if prof['kube_proxy'] and kube_proxy_step['plans'] and kube_proxy_step['plans'][-1]['max']:
        kube_plan = kube_proxy_step['plans'][-1]
        if kube_proxy_step['stated'] == 'version':
            return (kube_plan['max'], 'what kube-proxy %s sets: %s' % (kube_plan['version'], kube_plan['formula']),
                    kube_plan['source'])
        return kube_plan['max'], ('what kube-proxy sets (newest line %s, its version not stated%s): %s'
                                  % (kube_plan['line'], ', configuration from %s' % kube_proxy_step['source']
                                     if kube_proxy_step['source'] else '', kube_plan['formula'])), kube_plan['source']
    candidates = []
    if sizing['use_kernel_default']:
        modern = _kernel.kernel_default(host['ram'], host['pointer'], (6, 0), host['page'])
        candidates.append((modern['max'], 'kernel >= 5.15 default for %d MiB RAM (%s)' % (host['ram'] // 1048576,
                                                                                          modern['reason']),
                           modern['source']))
    if sizing['per_gib_ram']:
        candidates.append((int(sizing['per_gib_ram'] * host['ram'] // GIB),
                           '%d per GiB of RAM x %.1f GiB' % (sizing['per_gib_ram'], host['ram'] / float(GIB)),
                           src('per_gib_ram')))
    if sizing['per_cpu']:
        candidates.append((int(sizing['per_cpu'] * host['cpus']), '%d per CPU x %d CPUs' % (sizing['per_cpu'], host['cpus']),
                           src('per_cpu')))
    if sizing['min']:
        candidates.append((int(sizing['min']), 'profile minimum %d' % sizing['min'], src('min')))
    if not candidates:
        kernel_default = host['kd']
        candidates.append((kernel_default['max'], 'kernel default (%s)' % kernel_default['reason'],
                           kernel_default['source']))
    value, why, source = max(candidates, key=lambda candidate: candidate[0])
    if prof['kube_proxy'] and kube_proxy_step['stated'] in ('version', 'config'):
        why = 'kube-proxy leaves max alone (maxPerCore 0): the profile\'s own rule, ' + why
    elif prof['kube_proxy'] and kube_proxy_step['stated'] == 'absent':
        why = 'no kube-proxy (kube_proxy is absent): the profile\'s own rule, ' + why
    if sizing['cap'] is not None and value > sizing['cap']:
        return int(sizing['cap']), '%s, capped at %d' % (why, sizing['cap']), src('cap')
    return value, why, source


def _observed_base(prof, observed):
    """max from the host's history (sizing/observed.py), never below the profile's minimum:
    (value, why, source)."""
    value, why = observed['value'], observed['reason']
    floor = prof['sizing'].get('min')
    if floor and value < floor:
        value, why = int(floor), '%s; below the profile minimum %d: %d' % (why, floor, floor)
    return value, why, "the host's history (observed sizing, docs/history.md)"


def sizing_mode(mode, history, now):
    """(the observed dict to size from, or None; the sizing summary for the result)."""
    if mode in (None, 'static'):
        return None, {'mode': 'static', 'used': 'static', 'statement': "static: the profile's rules"}
    try:
        obs = _observed.observed_max(history or {}, now)
        use, statement = _observed.choose(mode, obs)
    except ValueError as e:
        raise ProfileError(str(e))
    summary = {'mode': mode, 'used': 'observed' if use else 'static', 'statement': statement, 'observed': obs}
    return (obs if use else None), summary


def step_max(host, prof, opts, budget, kube_proxy_step):
    """max: the profile's rule, the stated peak, the live count, the budget, overrides, only_raise.
    Each part below appends its reasoning to steps (and what the user should know to warnings)
    and returns the value it leaves."""
    steps, warnings = [], []
    value, why, source = _base_max(host, prof, kube_proxy_step)
    if opts.get('observed') and not (prof['kube_proxy'] and kube_proxy_step['plans']
                                     and kube_proxy_step['plans'][-1]['max']):
        value, why, source = _observed_base(prof, opts['observed'])
    kube_value = value if (prof['kube_proxy'] and kube_proxy_step['plans'] and kube_proxy_step['plans'][-1]['max']) else None
    steps.append(why)
    need_peak, need_live, value, source = _max_needs(host, prof, opts, value, source, steps)
    value = _up(value)
    if value > _keys.MAX_MAX:
        raise ProfileError('max: %d (%s) is above the largest max we accept, %d entries'
                           % (value, steps[-1], _keys.MAX_MAX))
    if host['ram'] and value > budget['fit']:
        value, source = _max_within_budget(host, prof, opts, budget, value, source, (need_peak, need_live, kube_value),
                                           steps, warnings)
    if 'max' in opts['overrides']:
        value, source = _max_override(host, prof, opts, budget, (need_peak, need_live), steps, warnings)
    value, source = _max_only_raise(host, opts, value, source, steps, warnings)
    if value > _keys.MAX_MAX:
        raise ProfileError('max: %d is above the largest max we accept, %d entries' % (value, _keys.MAX_MAX))
    return {'value': value, 'reason': '; '.join(steps), 'source': source, 'steps': steps, 'warnings': warnings,
            'need_live': need_live, 'need_peak': need_peak}


def _max_needs(host, prof, opts, value, source, steps):
    """What the stated peak and the live count need: (need_peak, need_live, value, source), the
    value raised to the larger need."""
    sizing = prof['sizing']
    need_peak = need_live = 0
    if opts['expected_peak']:
        need_peak = int(math.ceil(opts['expected_peak'] * sizing['peak_headroom']))
        if need_peak > value:
            value, source = need_peak, 'expected_peak input; headroom from profile %s' % prof['name']
            steps.append('expected_peak %d x headroom %g = %d' % (opts['expected_peak'], sizing['peak_headroom'], need_peak))
    if host['count'] and opts.get('observed'):
        # sized from the history: the live count with the observed headroom (the history's peaks
        # already hold the day's swing that target_usage reserves room for)
        headroom = opts['observed']['headroom']
        need_live = int(math.ceil(host['count'] * headroom))
        if need_live > value:
            value, source = need_live, 'the live count with the observed headroom'
            steps.append('live count %d x headroom %g = %d' % (host['count'], headroom, need_live))
    elif host['count']:
        need_live = int(math.ceil(host['count'] / float(sizing['target_usage'])))
        if need_live > value:
            value, source = need_live, 'profile %s sizing.target_usage %g: %s' % (
                prof['name'], sizing['target_usage'], prof['sources'].get('target_usage') or SIZING_SOURCES['target_usage'])
            steps.append('live count %d must stay at most %d%% of max: at least %d'
                         % (host['count'], int(round(sizing['target_usage'] * 100)), need_live))
    return need_peak, need_live, value, source


def _max_within_budget(host, prof, opts, budget, value, source, needs, steps, warnings):
    """A max over the memory budget (`fit` entries with their bucket heads): refused when what is
    needed does not fit (unless force), else limited to the budget, never below the kernel's own
    default unless forced. Returns (value, source)."""
    sizing = prof['sizing']
    need_peak, need_live, kube_value = needs
    need = _up(max(need_peak, need_live, 1))
    cost = table_cost(host, budget, value)
    if need_live >= need_peak:
        what = 'the live count %d at target_usage %d%%' % (host['count'], int(round(sizing['target_usage'] * 100)))
    else:
        what = 'expected_peak %d x headroom %g' % (opts['expected_peak'] or 0, sizing['peak_headroom'])
    if kube_value and value == _up(kube_value) and kube_value > budget['fit'] and kube_value >= need:
        need, what = _up(kube_value), 'kube-proxy\'s own value (it sets it whatever our budget)'
    if need > budget['fit']:
        msg = ('%s needs max >= %d: %s at %d B per entry%s, more than memory_budget_percent %s%% of RAM (%s, from '
               '%s). %s' % (what, need, _mib(table_cost(host, budget, need)), budget['per_entry'],
                            _ext_text(budget), _fmt(budget['percent']), _mib(budget['bytes']), budget['source'],
                            budget_advice(host, budget, need)))
        if kube_value and need == _up(kube_value):
            msg += ('; or set conntrack.maxPerCore: 0 in kube-proxy\'s configuration (it then leaves '
                    'nf_conntrack_max alone) and here (kube_proxy.maxPerCore: 0)')
        if not opts['force']:
            raise ProfileError(msg + '; or set force: true to exceed the budget')
        warnings.append('force: ' + msg)
        steps.append('force: %d, over the memory budget (%s)' % (need, what))
        return need, 'force'
    honored = max(budget['fit'], need, ROUND_MAX)
    floor = min(value, host['kd']['max'])
    if opts['force'] or honored >= floor:
        steps.append('limited by the memory budget %s%% of RAM (%s at %d B per entry%s): %d'
                     % (_fmt(budget['percent']), _mib(budget['bytes']), budget['per_entry'], _ext_text(budget), honored))
        warnings.append('memory budget: %d entries would need %s, more than %s%% of RAM (%s); max limited '
                        'to %d' % (value, _mib(cost), _fmt(budget['percent']), _mib(budget['bytes']), honored))
        return honored, budget['source']
    steps.append('the budget %s%% of RAM holds only %d entries, fewer than the kernel picks by itself (%d): '
                 'keeping %d (force: true to go below)' % (_fmt(budget['percent']), budget['fit'],
                                                           host['kd']['max'], floor))
    warnings.append('memory_budget_percent %s%% is below what the kernel\'s own default table needs on '
                    'this host; the recommendation keeps %d entries (set force: true to honour the '
                    'budget)' % (_fmt(budget['percent']), floor))
    return floor, host['kd']['source']


def _max_override(host, prof, opts, budget, needs, steps, warnings):
    """An explicit overrides.max: refused below the live count's or the stated peak's need, or over
    the budget (unless force). Returns (value, source)."""
    sizing = prof['sizing']
    need_peak, need_live = needs
    override = opts['overrides']['max']
    if host['count'] and override < need_live:
        raise ProfileError('overrides.max: %d would put the live count %d at %d%% of max, above the profile\'s '
                           'target_usage %d%%; the lowest allowed here is %d'
                           % (override, host['count'], int(100.0 * host['count'] / override),
                              int(round(sizing['target_usage'] * 100)), need_live))
    if need_peak and override < need_peak:
        raise ProfileError('overrides.max: %d is below expected_peak %d x headroom %g = %d; raise it or drop '
                           'expected_peak' % (override, opts['expected_peak'], sizing['peak_headroom'], need_peak))
    if host['ram'] and override > budget['fit']:
        msg = ('overrides.max: %d entries need %s at %d B per entry%s, more than memory_budget_percent %s%% of RAM '
               '(%s). %s' % (override, _mib(table_cost(host, budget, override)), budget['per_entry'], _ext_text(budget),
                             _fmt(budget['percent']), _mib(budget['bytes']), budget_advice(host, budget, override)))
        if not opts['force']:
            raise ProfileError(msg + '; or set force: true')
        warnings.append('force: ' + msg)
    steps.append('override %d' % override)
    return override, 'overrides.max'


def _max_only_raise(host, opts, value, source, steps, warnings):
    """only_raise: never below the live value (or the persisted one a boot lost). Returns (value, source)."""
    lost = host['lost'].get('max')
    if lost is not None:
        steps.append('the boot lost the persisted max %d (runtime %d is the kernel default for this load: '
                     'nf_conntrack loaded after systemd-sysctl)' % (lost, host['max']))
    if not opts['only_raise']:
        return value, source
    floor, why_floor = host['max'], 'the live value %d' % host['max']
    if lost is not None and lost > floor:
        floor, why_floor = lost, 'the persisted value %d the boot lost' % lost
    elif lost is not None:
        why_floor += (' (the kernel\'s default after a boot that lost the persisted %d: keep the boot-order fix, '
                      'boot_fix)' % lost)
    _override_kept(opts['overrides'].get('max'), 'max', floor, why_floor)
    if floor > value:
        value, source = floor, 'only_raise'
        steps.append('only_raise: keeping %s (never below the live value)' % why_floor)
        if lost is not None and lost < host['max']:
            warnings.append('max: runtime %d is the kernel\'s default after a boot that lost the persisted %d '
                            '(boot order); only_raise keeps %d. Set only_raise: false to go back to %d, and keep '
                            'the boot-order fix (boot_fix) so the next boot applies it'
                            % (host['max'], lost, host['max'], lost))
    return value, source


def _override_kept(override, short, floor, why_floor):
    """An override below what only_raise keeps would be dropped without a word: refused, naming both."""
    if override is not None and override < floor:
        raise ProfileError('overrides.%s: %d is below %s, and only_raise keeps that: the plan would not be the %d you '
                           'asked for. Set only_raise: false to lower %s to %d, or drop the override'
                           % (short, override, why_floor, override, short, override))


def step_buckets(host, prof, opts, max_value):
    """buckets: max / load factor, rounded like the kernel; overrides checked; only_raise."""
    load_factor = prof['sizing']['load_factor']
    overrides = opts['overrides']
    steps, warnings = [], []
    unrounded = -(-max_value // load_factor)
    buckets = _kernel.round_buckets(unrounded, host['page'], host['pointer'])
    steps.append('max / load factor %d = %d, rounded up to %d (whole page of %d-byte heads)'
                 % (load_factor, unrounded, buckets, host['pointer']))
    source = '%s; load factor from %s' % (_kernel.SRC_ROUND, prof['sources'].get('load_factor')
                                          or SIZING_SOURCES['load_factor'])
    if 'buckets' in overrides:
        override = overrides['buckets']
        override_rounded = _kernel.round_buckets(override, host['page'], host['pointer'])
        chain = float(max_value) / override_rounded
        if chain > _inputs.MAX_LOAD_FACTOR:
            least = _kernel.round_buckets(-(-max_value // _inputs.MAX_LOAD_FACTOR), host['page'], host['pointer'])
            msg = ('overrides.buckets: %d (the kernel rounds it to %d) gives an average chain of %.0f entries per bucket '
                   'when the table of max %d is full; allowed: at least %d buckets (chain <= %d, the kernel\'s own '
                   'factor with an explicit hash size)'
                   % (override, override_rounded, chain, max_value, least, _inputs.MAX_LOAD_FACTOR))
            if not opts['force']:
                raise ProfileError(msg + ', or force: true')
            warnings.append('force: ' + msg)
        elif chain > load_factor:
            warnings.append('overrides.buckets: %d buckets give an average chain of %.1f at a full table, above the '
                            'profile\'s load factor %d' % (override_rounded, chain, load_factor))
        buckets, source = override_rounded, 'overrides.buckets; ' + _kernel.SRC_ROUND
        steps.append('override %d, rounded up to %d as the kernel will' % (override, override_rounded))
    lost = host['lost'].get('buckets')
    if opts['only_raise']:
        floor, why_floor = host['buckets'], 'the live value %d' % host['buckets']
        if lost is not None and lost > floor:
            floor, why_floor = _kernel.round_buckets(lost, host['page'], host['pointer']), 'the persisted value the boot lost'
        if 'buckets' in overrides:
            _override_kept(_kernel.round_buckets(overrides['buckets'], host['page'], host['pointer']), 'buckets', floor,
                           why_floor)
        if floor > buckets:
            buckets, source = floor, 'only_raise'
            steps.append('only_raise: keeping %s (never below the live value)' % why_floor)
    # the cost of resizing the live table
    if buckets != host['buckets'] and host['count'] and ('buckets' in host['writable'] or host['hashsize'].get('writable')):
        secs = _kernel.resize_seconds(host['count'])
        if secs >= RESIZE_WARN_SECONDS:
            warnings.append('buckets %d -> %d: a live resize rehashes all %d entries under the global conntrack lock '
                            'with softirqs off, about %.1f s on our measurements (%s); apply it in a quiet window, '
                            'or persist only (runtime: false) and let the next boot size the table'
                            % (host['buckets'], buckets, host['count'], secs, _kernel.SRC_RESIZE))
    return {'value': buckets, 'reason': '; '.join(steps), 'source': source, 'steps': steps, 'warnings': warnings}


def step_profile_values(host, prof, opts, kube_proxy_step):
    """Timeouts and flags: the profile's, kube-proxy's own (on a profile that follows it, when its
    configuration is known), then overrides. {short: (value, reason, source, where)}; where names
    what set it, for messages."""
    out = {}
    defaults = _kernel.default_timeouts(host['release'])
    for short, entry in sorted(prof['settings'].items()):
        value, reason = entry['value'], entry['reason']
        if value == 'kernel_default':
            value = defaults.get(short, host['sysctls'].get(short))
            reason = '%s (kernel default %s kept)' % (reason, value)
        out[short] = (value, reason, entry['source'], prof['setting_origin'].get(short, 'profile %s' % prof['name']))
    if prof['kube_proxy'] and kube_proxy_step['stated'] in ('version', 'config'):
        kube_plan = kube_proxy_step['plans'][0 if kube_proxy_step['stated'] == 'version' else -1]
        for short, v in sorted(kube_plan['timeouts'].items()):
            field = _kubeproxy.FIELD_OF_KEY[short]
            out[short] = (v, 'what kube-proxy %s sets' % kube_plan['version'], 'kube_proxy.%s (conntrack.%s%s)'
                          % (field, _kubeproxy.CONFIG_FIELDS[field],
                             ', from %s' % kube_proxy_step['source'] if kube_proxy_step['source'] else ''), 'kube_proxy')
    for short, v in sorted(opts['overrides'].items()):
        if short not in ('max', 'buckets'):
            out[short] = (v, 'override', 'overrides.%s' % short, 'overrides')
    return out


def _value_label(where, short):
    if where == 'kube_proxy':
        field = _kubeproxy.FIELD_OF_KEY.get(short, short)
        return "kube-proxy's conntrack.%s (kube_proxy.%s)" % (_kubeproxy.CONFIG_FIELDS.get(field, field), field)
    if where.startswith('built-in') or where.startswith('profile '):
        return '%s, %s' % (where, short)
    return '%s.%s' % (where, short)


# the end of kernel/keys.py floor_message's advice, left out when force is already true
_FLOOR_FORCE = ', or set force: true to go below it'


def check_values(host, opts, entries):
    """Every value the recommendation sets must exist on this kernel and keep its timeout's floor
    (kernel/rules.py TIMEOUT_FLOORS): refused, naming what set it, the floor and its source; force
    turns a floor into a warning (returned), never a missing key."""
    missing, low = [], []
    sysctls, release = host['sysctls'], host['release']
    listed = 'max' in sysctls and not host['assumed']
    for short, (value, _reason, _source, where) in sorted(entries.items()):
        label = _value_label(where, short)
        gone = _kernel.removed_key(short, release)
        if (listed and short not in sysctls) or gone:
            missing.append('%s: this kernel (%s) has no %s: %s. Remove it here' % (
                label, '.'.join(str(x) for x in release or ()) or 'release unknown', _keys.sysctl_name(short),
                gone or _kernel.missing_key_reason(short, release)))
        msg = _keys.floor_message(short, value, label=label)
        if msg and opts['force']:
            msg = msg.replace(_FLOOR_FORCE, '')   # force: true is what let it through
        if msg and where == 'kube_proxy':
            msg += ('; kube-proxy writes it on every start: raise it in kube-proxy\'s configuration (%s at least)'
                    % _kubeproxy.field_text(short, _kernel.TIMEOUT_FLOORS[short][0]))
        if msg:
            low.append(msg)
    if missing:
        raise ProfileError('; '.join(missing))
    if low and not opts['force']:
        raise ProfileError('; '.join(low))
    return ['force: ' + m for m in low]


def kube_proxy_warnings(kube_proxy_step, values, cpus, opts):
    """Where kube-proxy would undo a recommended value on its next start, and the kube-proxy
    configuration that would write ours instead (or leave the key alone)."""
    if not kube_proxy_step['plans']:
        return list(kube_proxy_step['warnings'])
    out = list(kube_proxy_step['warnings'])
    for kube_plan in kube_proxy_step['plans'][:1] if kube_proxy_step['stated'] == 'version' else ():
        if kube_plan['ignored']:
            out.append('kube-proxy %s ignores %s (added by %s)'
                       % (kube_plan['version'], ', '.join(kube_plan['ignored']), _kubeproxy.SRC_1_29))
    recommended = dict((k, v['recommended']) for k, v in values.items())
    written_keys = set(k for kube_plan in kube_proxy_step['plans'] for k in kube_plan['timeouts'])
    for short in ['max', 'buckets'] + sorted(written_keys):
        if short not in recommended:
            continue
        fights = [(kube_plan, _kubeproxy.would_write(kube_plan, short, recommended[short]))
                  for kube_plan in kube_proxy_step['plans']]
        fights = [(kube_plan, written) for kube_plan, written in fights if written is not None]
        if fights:
            out.append(_fight(kube_proxy_step, short, recommended, fights, (cpus, _our_side(short, values, opts))))
    return out


def _our_side(short, values, opts):
    """What of the options keeps short from kube-proxy's value, as advice to undo it - never what
    the options already are: only_raise: false where only_raise kept the value (it is true
    then), drop overrides.KEY where an override set it (buckets follow max's override too)."""
    out, drop = [], []
    for key in (short, 'max') if short == 'buckets' else (short,):
        source = values[key]['source']
        if key == short and source == 'only_raise' and opts['only_raise']:
            out.append('only_raise: false')
        elif source.split(';')[0] == 'overrides.%s' % key and key in opts['overrides']:
            drop.append('overrides.%s' % key)
    return out + (['drop ' + ' and '.join(drop)] if drop else [])


def _fight(kube_proxy_step, short, recommended, fights, cpus_ours):
    """The warning for one key kube-proxy would change: our side's advice (_our_side) when there
    is one, then kube-proxy's own configuration (kubeproxy.fix_for), which is always there."""
    cpus, ours = cpus_ours
    known = dict((_kubeproxy.CONFIG_FIELDS[name], kube_proxy_step['config'][name])
                 for name in (kube_proxy_step['config'] or {}).get('given', ()))
    how = _kubeproxy.fix_for(short, recommended[short] if short != 'buckets' else recommended['max'], cpus, known)
    if kube_proxy_step['stated'] == 'version':
        kube_plan, written = fights[0]
        plan_mode = kube_plan['max_mode'] if short == 'max' else kube_plan['timeouts_mode']
        mode = 'when it is below max/4' if short == 'buckets' else (
            'only when it is lower' if plan_mode == 'raise' else 'whenever it differs')
        todo = 'Let the two agree (%s), or %s' % (', '.join(ours), how) if ours else how[:1].upper() + how[1:]
        return ('kube-proxy %s (line %s) sets %s to %d %s: it would undo the recommended %d on its next start. %s'
                % (kube_plan['version'], kube_plan['line'], _keys.sysctl_name(short), written, mode,
                   recommended[short], todo))
    lines = ', '.join('%s -> %d' % (kube_plan['line'], written) for kube_plan, written in fights)
    if kube_proxy_step['stated'] is None:
        what, state = 'kube_proxy is not stated', 'State kube_proxy (its version, or absent)'
    else:
        what = 'kube-proxy\'s version is not stated (its configuration: %s)' % (kube_proxy_step['source'] or 'kube_proxy')
        state = 'State its version (kube_proxy.version)'
    return ('%s: kube-proxy would change %s from the recommended %d on its next start in these release lines: %s. '
            '%s for an exact answer, or %s' % (what, _keys.sysctl_name(short), recommended[short], lines, state, how))


def step_memory(host, budget, max_value, buckets):
    mem_rec = _kernel.table_bytes(max_value, buckets, budget['per_entry'], host['pointer'])
    ram = host['ram']
    return {
        'object_size': host['object_size'], 'object_size_source': host['object_source'],
        'extension': budget['extension'], 'extension_bytes': _kernel.EXTENSION_BYTES if budget['extension'] else 0,
        'entry_bytes': budget['per_entry'], 'bucket_size': host['pointer'],
        'bytes_now': _kernel.table_bytes(host['count'], host['buckets'], budget['per_entry'], host['pointer']),
        'bytes_at_current_max': _kernel.table_bytes(host['max'], host['buckets'], budget['per_entry'], host['pointer']),
        'bytes_at_recommended_max': mem_rec, 'budget_percent': budget['percent'], 'budget_source': budget['source'],
        'budget_bytes': budget['bytes'], 'within_budget': mem_rec <= budget['bytes'] if ram else None,
        'percent_of_ram': round(100.0 * mem_rec / ram, 3) if ram else None,
    }


def health_warnings(host, prof, opts, values, memory):
    sizing = prof['sizing']
    out = []
    count, cur_max, cur_buckets = host['count'], host['max'], host['buckets']
    if host['ram'] and not memory['within_budget']:
        out.append('recommended table needs %s, more than the budget of %s%% of RAM (%s)%s'
                   % (_mib(memory['bytes_at_recommended_max']), _fmt(memory['budget_percent']),
                      _mib(memory['budget_bytes']),
                      ': it keeps values the host already has (only_raise)' if opts['only_raise'] else ''))
    if cur_max and count >= cur_max:
        out.append('table full: live count %d has reached max %d; new connections are being dropped' % (count, cur_max))
    elif cur_max and count > cur_max * sizing['alert_usage']:
        out.append('usage %.0f%% of max is above the alert threshold %.0f%%'
                   % (100.0 * count / cur_max, 100 * sizing['alert_usage']))
    if cur_buckets and count / float(cur_buckets) > sizing['load_factor']:
        out.append('average chain length %.2f (count/buckets) is longer than the profile target %d'
                   % (count / float(cur_buckets), sizing['load_factor']))
    stats = host['stats']
    if stats.get('drop') or stats.get('early_drop'):
        out.append('the table was full at times since boot: drop=%s early_drop=%s (the audit\'s health says whether '
                   'it is now)' % (stats.get('drop', 0), stats.get('early_drop', 0)))
    try:
        insert_failed = int(stats.get('insert_failed') or 0)
    except (TypeError, ValueError, OverflowError):
        insert_failed = 0
    prev = opts['previous_stats']
    grew = None
    if prev and prev.get('insert_failed') is not None:
        grew = insert_failed > prev['insert_failed']
    if insert_failed and (grew or (grew is None and (prof['nat'] or host['nat'].get('detected')))):
        out.append('insert_failed=%d%s on a NAT host: the SNAT source-port race (1 s / 3 s connect delays); '
                   'mitigate with --random-fully on MASQUERADE/SNAT rules' % (insert_failed, ' and growing' if grew else ''))
    not_here = [k for k in ('max', 'buckets') if values[k]['change'] and k not in host['writable']]
    if not_here and not host['assumed']:
        out.append('%s cannot be changed from here (%s); set %s on the host (initial network namespace)'
                   % (' and '.join(not_here), host['readonly'].get('max', 'read-only'),
                      'them' if len(not_here) > 1 else 'it'))
    return out


def _fmt(x):
    if isinstance(x, float) and x == int(x):
        return str(int(x))
    return str(x)


def _ext_text(budget):
    if not budget['extension']:
        return ''
    object_bytes = budget['per_entry'] - _kernel.EXTENSION_BYTES
    return ' (%d B object + %d B extension: %s)' % (object_bytes, _kernel.EXTENSION_BYTES, ', '.join(budget['extension']))


# ---------------------------------------------------------------- the pipeline

def recommend(facts, profile='default', overrides=None, memory_budget_percent=None, expected_peak=None,
              only_raise=True, profiles=None, previous_stats=None, force=False, kube_proxy=None,
              sizing='static', history=None, now=None):
    """The recommendation for one host from its conntrack facts.

    Returns a dict: profile, values (per key: current, recommended, change, reason, source,
    scope, writable), recommended (short -> int), sysctl (full name -> int), memory, notrack,
    kube_proxy, warnings. Raises ProfileError or _keys.InvalidSetting for bad input, naming the
    option or field and its allowed range.
    """
    opts = _inputs.options(overrides, memory_budget_percent, expected_peak, only_raise, force, previous_stats)
    prof = _inputs.resolve_profile(profile, profiles)
    try:
        kube_proxy_config = _kubeproxy.normalize(kube_proxy)
    except _kubeproxy.KubeProxyError as e:
        raise ProfileError(str(e))
    opts['observed'], sizing_summary = sizing_mode(sizing, history, now)
    host = host_model(facts, opts)
    if host is None:
        return {'profile': prof['name'], 'available': False, 'values': {}, 'recommended': {}, 'sysctl': {},
                'memory': {}, 'notrack': prof['notrack'], 'notes': prof['notes'], 'kube_proxy': None,
                'warnings': ['nf_conntrack is not available on this host (absent, or not visible here): nothing to '
                             'size']}
    budget = step_budget(host, prof, opts)
    kube_proxy_step = step_kube_proxy(host, prof, kube_proxy_config)
    max_step = step_max(host, prof, opts, budget, kube_proxy_step)
    buckets_step = step_buckets(host, prof, opts, max_step['value'])
    entries = step_profile_values(host, prof, opts, kube_proxy_step)
    forced = check_values(host, opts, entries)
    values = step_values(host, max_step, buckets_step, entries)
    recommended = dict((k, v['recommended']) for k, v in values.items())
    memory = step_memory(host, budget, max_step['value'], buckets_step['value'])
    warnings = list(host['warnings'])
    if host['assumed']:
        warnings.append('nf_conntrack is a module that is not loaded: current values are what the kernel will pick '
                        'when it loads (%s); persist now, apply at load (load_module to load it now)'
                        % host['kd_load'].get('reason', 'the kernel\'s default for this RAM'))
    warnings += max_step['warnings'] + buckets_step['warnings'] + forced
    warnings += kube_proxy_warnings(kube_proxy_step, values, host['cpus'], opts)
    warnings += health_warnings(host, prof, opts, values, memory)
    return {
        'assumed_not_loaded': host['assumed'],
        'profile': prof['name'], 'profile_chain': prof['chain'], 'description': prof['description'],
        'available': True, 'only_raise': opts['only_raise'], 'force': opts['force'],
        'values': values, 'recommended': recommended,
        'sysctl': dict((_keys.sysctl_name(k), v) for k, v in recommended.items()),
        'order': _keys.sort_keys(list(recommended)),
        'memory': memory, 'kernel_default': host['kd_load'] or host['kd'], 'notrack': copy.deepcopy(prof['notrack']),
        'kube_proxy': _kube_proxy_summary(kube_proxy_step), 'nat': host['nat'] or None,
        'sizing': sizing_summary, 'forecast': _forecast(history, now, facts),
        'warnings': warnings, 'notes': [n for n in prof['notes'] if not (
            n.startswith('State kube_proxy') and kube_proxy_step['stated'] in ('version', 'absent'))],
    }


def _forecast(history, now, facts):
    """When the table fills at the trend of its history (sizing/observed.py), or None without one."""
    if not history or now is None or not (facts or {}).get('max'):
        return None
    return _observed.forecast(history, now, facts['max'])


def step_values(host, max_step, buckets_step, entries):
    """Per key: its live and recommended value, whether it changes, why, from where, its scope
    and whether it can be written from here."""
    values = {}

    def put(short, recommended, reason, source, current=None, steps=None):
        live = current if current is not None else host['sysctls'].get(short)
        values[short] = {'key': _keys.sysctl_name(short), 'current': live, 'recommended': recommended,
                         'change': live != recommended, 'reason': reason, 'source': source,
                         'scope': _keys.KEYS[short][1], 'writable': short in host['writable']}
        if steps is not None:
            values[short]['steps'] = steps

    put('max', max_step['value'], max_step['reason'], max_step['source'], host['max'], max_step['steps'])
    put('buckets', buckets_step['value'], buckets_step['reason'], buckets_step['source'], host['buckets'],
        buckets_step['steps'])
    for short, (v, reason, source, _where) in sorted(entries.items()):
        put(short, v, reason, source)
    return values


def _kube_proxy_summary(kube_proxy_step):
    if kube_proxy_step['stated'] == 'absent':
        return {'stated': 'absent'}
    if not kube_proxy_step['plans']:
        return None
    fields = ('version', 'line', 'max', 'max_mode', 'cap', 'hashsize_floor', 'timeouts', 'formula', 'source')
    return {'stated': kube_proxy_step['stated'], 'config_source': kube_proxy_step['source'],
            'lines': [dict((k, kube_plan[k]) for k in fields) for kube_plan in kube_proxy_step['plans']]}


def report_lines(host, facts, rec):
    """A readable per-host summary for the audit playbook."""
    lines = []
    if not facts or not facts.get('available'):
        evidence = ((facts or {}).get('module') or {}).get('evidence') or 'unknown'
        return ['%s: nf_conntrack not available (%s)' % (host, evidence)]
    stats = facts.get('stats') or {}
    lines.append('%s: %s kernel %s, nf_conntrack %s, %s netns, profile %s' % (
        host, facts['kernel'].get('arch'), facts['kernel'].get('release'), facts['module'].get('type'),
        'initial' if facts['netns'].get('initial') else 'non-initial', rec.get('profile')))
    mem = rec.get('memory') or {}
    lines.append('usage: %s / %s entries (%.1f%%), %s buckets, chain length %.2f; memory now %d KiB at %s B per entry' % (
        facts.get('count'), facts.get('max'), 100.0 * (facts.get('usage_ratio') or 0), facts.get('buckets'),
        facts.get('load_factor') or 0, mem.get('bytes_now', 0) // 1024, mem.get('entry_bytes')))
    lines.append('drops since boot: drop=%s early_drop=%s insert_failed=%s invalid=%s (source: %s)' % (
        stats.get('drop'), stats.get('early_drop'), stats.get('insert_failed'), stats.get('invalid'), stats.get('source')))
    for short in _keys.sort_keys(list(rec.get('values', {}))):
        value = rec['values'][short]
        mark = '->' if value['change'] else '=='
        readonly_mark = '' if value['writable'] else ' [read-only here]'
        lines.append('  %-26s %10s %s %-10s %s [%s]%s'
                     % (short, value['current'], mark, value['recommended'], value['reason'], value['source'],
                        readonly_mark))
    for warning in rec.get('warnings', []):
        lines.append('WARNING: %s' % warning)
    for exemption in rec.get('notrack', []):
        lines.append('suggested NOTRACK exemption: %s' % ', '.join('%s=%s' % kv for kv in sorted(exemption.items())))
    return lines
