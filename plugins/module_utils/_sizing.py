# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel sizing rules and the recommendation engine. Pure functions, no I/O."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

from ansible_collections.nfct.tuning.plugins.module_utils import _keys
from ansible_collections.nfct.tuning.plugins.module_utils._profiles import BUILTIN_PROFILES, SIZING_DEFAULTS

GIB = 1024 ** 3
SRC_KERNEL_515 = 'kernel nf_conntrack_init_start(), net/netfilter/nf_conntrack_core.c since 5.15 (commit d532bcd0b269)'
SRC_KERNEL_OLD = 'kernel nf_conntrack_init_start(), net/netfilter/nf_conntrack_core.c before 5.15'
SRC_ROUND = 'kernel nf_ct_alloc_hashtable(): table rounded up to a whole page of bucket heads'


class ProfileError(ValueError):
    """Bad profile name or profile data; the message says what is allowed."""


def table_bytes(entries, buckets, object_size, pointer_size=8):
    """Kernel memory of the table: entries x object size + buckets x bucket head."""
    return int(entries) * int(object_size) + int(buckets) * int(pointer_size)


def round_buckets(n, page_size=4096, pointer_size=8):
    """Round a hash size up the way nf_ct_alloc_hashtable() does."""
    per_page = max(1, page_size // pointer_size)
    n = max(1, int(n))
    return ((n + per_page - 1) // per_page) * per_page


def kernel_default(ram_bytes, pointer_size=8, release=None, page_size=4096, hashsize=None):
    """What the kernel picks for buckets and max at this RAM, with its reason.

    hashsize: an explicit hash size given at load time (module option or
    nf_conntrack.hashsize= on the command line); the kernel then uses factor 8.
    """
    modern = release is None or tuple(release[:2]) >= (5, 15)
    if hashsize:
        buckets = round_buckets(hashsize, page_size, pointer_size)
        return {'buckets': buckets, 'max': 8 * buckets, 'factor': 8,
                'reason': 'hash size %d given explicitly at load time: max = 8 x buckets' % hashsize,
                'source': SRC_KERNEL_515 if modern else SRC_KERNEL_OLD}
    b = ram_bytes // 16384 // pointer_size
    if modern:
        if pointer_size >= 8 and ram_bytes > 4 * GIB:
            b, why = 262144, 'more than 4 GiB RAM on 64-bit: 262144 buckets'
        elif ram_bytes > GIB:
            b, why = 65536, 'more than 1 GiB RAM: 65536 buckets'
        else:
            why = 'RAM/16384/%d buckets' % pointer_size
        b = max(b, 1024)
        factor = 1
        src = SRC_KERNEL_515
    else:
        if ram_bytes > 4 * GIB:
            b, why = 65536, 'more than 4 GiB RAM: 65536 buckets'
        elif ram_bytes > GIB:
            b, why = 16384, 'more than 1 GiB RAM: 16384 buckets'
        else:
            why = 'RAM/16384/%d buckets' % pointer_size
        b = max(b, 32)
        factor = 4
        src = SRC_KERNEL_OLD
    b = round_buckets(b, page_size, pointer_size)
    return {'buckets': b, 'max': factor * b, 'factor': factor,
            'reason': '%s, max = %d x buckets' % (why, factor), 'source': src}


# ---------------------------------------------------------------- profiles

_SIZING_KEYS = {
    'per_gib_ram': (0, 16777216), 'per_cpu': (0, 16777216), 'min': (0, _keys.MAX_MAX),
    'cap': (0, _keys.MAX_MAX), 'load_factor': (1, 64), 'memory_budget_percent': (0, 100),
    'peak_headroom': (1, 100), 'target_usage': (0, 1), 'alert_usage': (0, 1),
    'use_kernel_default': (0, 1),
}
_PROFILE_KEYS = ('description', 'extends', 'sizing', 'settings', 'notrack', 'sources', 'nat', 'notes')


def _value_entry(name, key, item, where):
    """A profile setting is an int or {value, reason, source}; return the dict form."""
    if isinstance(item, dict):
        unknown = set(item) - {'value', 'reason', 'source'}
        if unknown or 'value' not in item:
            raise ProfileError("%s.settings.%s: expected an integer or a dict with 'value' (and optional "
                               "'reason', 'source'); got keys %s" % (where, key, sorted(item)))
        value = item['value']
        reason = item.get('reason') or 'set by profile %s' % name
        source = item.get('source') or 'profile %s' % name
    else:
        value, reason, source = item, 'set by profile %s' % name, 'profile %s (user-defined)' % name
    short = _keys.canonical_key(key, '%s.settings' % where)
    if short in ('max', 'buckets'):
        raise ProfileError("%s.settings.%s: sizes are computed from 'sizing'; use overrides to pin %s"
                           % (where, key, short))
    return short, {'value': _keys.validate_value(short, value, '%s.settings' % where),
                   'reason': reason, 'source': source}


def validate_profile(name, data, where=None):
    """Check one profile's data; return a normalised copy (without resolving extends)."""
    where = where or 'profiles.%s' % name
    if not isinstance(data, dict):
        raise ProfileError('%s: expected a dict, got %s' % (where, type(data).__name__))
    unknown = set(data) - set(_PROFILE_KEYS)
    if unknown:
        raise ProfileError('%s: unknown field(s) %s; allowed: %s' % (where, ', '.join(sorted(unknown)),
                                                                     ', '.join(_PROFILE_KEYS)))
    out = {'description': str(data.get('description') or ''), 'extends': data.get('extends'),
           'sizing': {}, 'settings': {}, 'notrack': list(data.get('notrack') or []),
           'sources': dict(data.get('sources') or {}), 'nat': data.get('nat'),
           'notes': list(data.get('notes') or [])}
    sizing = data.get('sizing') or {}
    if not isinstance(sizing, dict):
        raise ProfileError('%s.sizing: expected a dict' % where)
    for k, v in sizing.items():
        if k not in _SIZING_KEYS:
            raise ProfileError('%s.sizing: unknown field %s; allowed: %s' % (where, k, ', '.join(sorted(_SIZING_KEYS))))
        lo, hi = _SIZING_KEYS[k]
        if v is None and k == 'cap':
            out['sizing'][k] = None
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or v > hi:
            raise ProfileError('%s.sizing.%s: %r is outside the allowed range %s-%s' % (where, k, v, lo, hi))
        out['sizing'][k] = v
    settings = data.get('settings') or {}
    if not isinstance(settings, dict):
        raise ProfileError('%s.settings: expected a dict of conntrack key -> value' % where)
    for k, item in settings.items():
        short, entry = _value_entry(name, k, item, where)
        out['settings'][short] = entry
    for i, ex in enumerate(out['notrack']):
        if not isinstance(ex, dict):
            raise ProfileError('%s.notrack[%d]: expected a dict' % (where, i))
    return out


def resolve_profile(name, extra=None):
    """The named profile with 'extends' applied, from builtin plus user-supplied profiles."""
    catalog = dict(BUILTIN_PROFILES)
    for k, v in (extra or {}).items():
        catalog[k] = v
    if not isinstance(name, str) or name not in catalog:
        raise ProfileError("profile: unknown profile '%s'; valid profiles: %s" % (name, ', '.join(sorted(catalog))))
    chain = []
    cur = name
    while cur is not None:
        if cur in chain:
            raise ProfileError('profile %s: extends loop %s' % (name, ' -> '.join(chain + [cur])))
        if cur not in catalog:
            raise ProfileError("profiles.%s.extends: unknown profile '%s'; valid profiles: %s"
                               % (chain[-1], cur, ', '.join(sorted(catalog))))
        chain.append(cur)
        cur = catalog[cur].get('extends')
    merged = {'name': name, 'chain': chain, 'description': '', 'sizing': dict(SIZING_DEFAULTS),
              'settings': {}, 'notrack': [], 'sources': {}, 'nat': False, 'notes': []}
    for pname in reversed(chain):
        p = validate_profile(pname, catalog[pname])
        merged['sizing'].update(p['sizing'])
        merged['settings'].update(p['settings'])
        merged['sources'].update(p['sources'])
        if p['notrack'] or pname == name:
            merged['notrack'] = p['notrack'] if pname == name or p['notrack'] else merged['notrack']
        if p['nat'] is not None:
            merged['nat'] = bool(p['nat'])
        merged['notes'].extend(p['notes'])
        if p['description']:
            merged['description'] = p['description']
    return merged


def profile_names(extra=None):
    return sorted(set(BUILTIN_PROFILES) | set(extra or {}))


# ---------------------------------------------------------------- recommend

def _num(value, where, lo, hi, integer=True):
    if isinstance(value, bool) or value is None:
        raise ProfileError('%s: expected a number in the allowed range %s-%s, got %r' % (where, lo, hi, value))
    if isinstance(value, str):
        try:
            value = float(value) if '.' in value else int(value)
        except ValueError:
            raise ProfileError('%s: expected a number in the allowed range %s-%s, got %r' % (where, lo, hi, value))
    if integer and isinstance(value, float):
        if value != int(value):
            raise ProfileError('%s: expected an integer in the allowed range %s-%s, got %r' % (where, lo, hi, value))
        value = int(value)
    if not isinstance(value, (int, float)) or value < lo or value > hi:
        raise ProfileError('%s: %r is outside the allowed range %s-%s' % (where, value, lo, hi))
    return value


def recommend(facts, profile='default', overrides=None, memory_budget_percent=None,
              expected_peak=None, only_raise=True, profiles=None, previous_stats=None):
    """Compute the recommendation for one host from its conntrack facts.

    Returns a dict: profile, values (per key: current, recommended, change,
    reason, source, scope, writable), recommended (short -> int), sysctl
    (full name -> int), memory, notrack, warnings. Raises ProfileError or
    _keys.InvalidSetting for bad input, naming the key and the allowed range.
    """
    prof = resolve_profile(profile, profiles)
    ovr = _keys.validate_settings(overrides, 'overrides')
    sz = prof['sizing']
    if memory_budget_percent is None:
        budget_pct = sz['memory_budget_percent']
        budget_src = 'profile %s' % prof['name']
    else:
        budget_pct = _num(memory_budget_percent, 'memory_budget_percent', 0, 100, integer=False)
        if budget_pct <= 0:
            raise ProfileError('memory_budget_percent: %r is outside the allowed range 0-100 (exclusive of 0)'
                               % memory_budget_percent)
        budget_src = 'memory_budget_percent'
    if expected_peak is not None:
        expected_peak = _num(expected_peak, 'expected_peak', 1, _keys.MAX_MAX)
    assumed = False
    if facts and not facts.get('available') and (facts.get('module') or {}).get('type') == 'module' \
            and facts.get('ram_bytes'):
        # A loadable module that is not loaded yet: size for what the kernel will pick when it loads
        # (with the persisted hash size, if any) and the default timeouts, so the values can be
        # persisted now and applied when it loads (or right away with load_module).
        facts = assume_loaded(facts)
        assumed = True
    if not facts or not facts.get('available'):
        return {'profile': prof['name'], 'available': False, 'values': {}, 'recommended': {}, 'sysctl': {},
                'memory': {}, 'notrack': prof['notrack'], 'warnings': [
                    'nf_conntrack is not available on this host (absent, or not visible here): nothing to size'],
                'notes': prof['notes']}

    kernel = facts.get('kernel') or {}
    pointer = kernel.get('pointer_size') or 8
    page = kernel.get('page_size') or 4096
    ram = facts.get('ram_bytes') or 0
    cpus = facts.get('cpus') or 1
    count = facts.get('count') or 0
    cur_max = facts.get('max') or 0
    cur_buckets = facts.get('buckets') or 0
    objsize = (facts.get('memory') or {}).get('object_size') or 320
    writable = set(facts.get('writable') or [])
    warnings = []
    values = {}

    def put(short, recommended, reason, source, current=None):
        cur = current if current is not None else (facts.get('sysctls') or {}).get(short)
        values[short] = {
            'key': _keys.sysctl_name(short), 'current': cur, 'recommended': recommended,
            'change': cur != recommended, 'reason': reason, 'source': source,
            'scope': _keys.KEYS[short][1], 'writable': short in writable,
        }

    # ---- max
    steps = []
    kd = facts.get('kernel_default') or kernel_default(ram, pointer, kernel.get('version'), page)
    candidates = []
    if sz.get('use_kernel_default'):
        modern = kernel_default(ram, pointer, (6, 0), page)
        candidates.append((modern['max'], 'kernel >= 5.15 default for %d MiB RAM (%s)' % (ram // 1048576, modern['reason']),
                           SRC_KERNEL_515))
    if sz.get('per_gib_ram'):
        v = int(sz['per_gib_ram'] * ram / GIB)
        candidates.append((v, '%d per GiB of RAM x %.1f GiB' % (sz['per_gib_ram'], ram / float(GIB)),
                           prof['sources'].get('per_gib_ram', 'profile %s' % prof['name'])))
    if sz.get('per_cpu'):
        v = int(sz['per_cpu'] * cpus)
        candidates.append((v, '%d per CPU x %d CPUs' % (sz['per_cpu'], cpus),
                           prof['sources'].get('per_cpu', 'profile %s' % prof['name'])))
    if sz.get('min'):
        candidates.append((int(sz['min']), 'profile minimum %d' % sz['min'],
                           prof['sources'].get('min', 'profile %s' % prof['name'])))
    if not candidates:
        candidates.append((kd['max'], 'kernel default (%s)' % kd['reason'], kd['source']))
    value, reason, source = max(candidates, key=lambda c: c[0])
    steps.append(reason)
    if sz.get('cap') and value > sz['cap']:
        value = int(sz['cap'])
        reason = 'capped at the profile maximum %d' % value
        steps.append(reason)
        source = prof['sources'].get('cap', 'profile %s' % prof['name'])
    if expected_peak:
        need = int(expected_peak * sz['peak_headroom'])
        if need > value:
            value = need
            reason = 'expected_peak %d x headroom %.2g' % (expected_peak, sz['peak_headroom'])
            source = 'expected_peak input; headroom from profile %s' % prof['name']
            steps.append(reason)
    target_usage = sz['target_usage']
    if count and count > value * target_usage:
        need = int(count / target_usage) + 1
        value = need
        reason = 'live count %d would use more than %d%% of max' % (count, int(target_usage * 100))
        source = 'profile %s target_usage' % prof['name']
        steps.append(reason)
    value = max(1, ((value + 1023) // 1024) * 1024)

    # memory budget
    budget = int(ram * budget_pct / 100.0)
    lf = sz['load_factor']
    est_buckets = round_buckets(max(1, value // lf), page, pointer)
    if ram and table_bytes(value, est_buckets, objsize, pointer) > budget and 'max' not in ovr:
        fit = max(1, int(budget // (objsize + float(pointer) / lf)))
        fit = (fit // 1024) * 1024 or fit
        warnings.append('memory budget exceeded: %d entries would need %d MiB, more than %s%% of RAM (%d MiB); '
                        'max limited to %d' % (value, table_bytes(value, est_buckets, objsize, pointer) // 1048576,
                                               budget_pct, budget // 1048576, fit))
        value = fit
        reason = 'limited by the memory budget (%s%% of RAM, %d B per entry)' % (budget_pct, objsize)
        source = budget_src
        steps.append(reason)
    if 'max' in ovr:
        value = ovr['max']
        reason = 'override'
        source = 'overrides.max'
        steps.append(reason)
    raise_from = baseline(facts, 'max', cur_max)
    if raise_from != cur_max:
        steps.append('runtime max %d is the kernel default for this load while sysctl.d says %d: the boot lost '
                     'the persisted value, so only_raise starts from the persisted one' % (cur_max, raise_from))
    if only_raise and raise_from > value:
        value = raise_from
        reason = 'only_raise: keeping the current, larger value'
        source = 'only_raise'
        steps.append(reason)
    if count and value < count:
        warnings.append('max %d would be below the live count %d; raised to the live count' % (value, count))
        value = count
        reason = 'never below the live count'
        source = 'safety rule'
        steps.append(reason)
    put('max', value, '; '.join(steps) if len(steps) > 1 else reason, source, cur_max)
    values['max']['steps'] = steps

    # ---- buckets
    bsteps = []
    raw = max(1, value // lf)
    b = round_buckets(raw, page, pointer)
    breason = 'max / load factor %d = %d, rounded up to %d (whole page of %d-byte heads)' % (lf, raw, b, pointer)
    bsource = '%s; load factor from %s' % (SRC_ROUND, prof['sources'].get('load_factor', 'profile %s' % prof['name']))
    bsteps.append(breason)
    if 'buckets' in ovr:
        b = round_buckets(ovr['buckets'], page, pointer)
        breason = 'override %d, rounded up to %d as the kernel will' % (ovr['buckets'], b)
        bsource = 'overrides.buckets; ' + SRC_ROUND
        bsteps.append(breason)
    raise_b = baseline(facts, 'buckets', cur_buckets)
    if only_raise and raise_b > b:
        b = raise_b
        breason = 'only_raise: keeping the current, larger value'
        bsource = 'only_raise'
        bsteps.append(breason)
    put('buckets', b, '; '.join(bsteps) if len(bsteps) > 1 else breason, bsource, cur_buckets)

    # ---- settings from the profile, then overrides
    for short, entry in sorted(prof['settings'].items()):
        put(short, entry['value'], entry['reason'], entry['source'])
    for short, v in sorted(ovr.items()):
        if short in ('max', 'buckets'):
            continue
        put(short, v, 'override', 'overrides.%s' % short)

    # ---- memory and warnings
    mem_now = table_bytes(count, cur_buckets, objsize, pointer)
    mem_rec = table_bytes(value, b, objsize, pointer)
    memory = {'object_size': objsize, 'object_size_source': (facts.get('memory') or {}).get('object_size_source'),
              'bucket_size': pointer, 'bytes_now': mem_now, 'bytes_at_current_max': table_bytes(cur_max, cur_buckets, objsize, pointer),
              'bytes_at_recommended_max': mem_rec, 'budget_percent': budget_pct, 'budget_source': budget_src,
              'budget_bytes': budget, 'within_budget': mem_rec <= budget if ram else None,
              'percent_of_ram': round(100.0 * mem_rec / ram, 3) if ram else None}
    if ram and mem_rec > budget:
        warnings.append('recommended table needs %d MiB, more than the budget of %s%% of RAM (%d MiB)'
                        % (mem_rec // 1048576, budget_pct, budget // 1048576))
    if cur_max and count >= cur_max:
        warnings.append('table full: live count %d has reached max %d; new connections are being dropped' % (count, cur_max))
    elif cur_max and count > cur_max * sz['alert_usage']:
        warnings.append('usage %.0f%% of max is above the alert threshold %.0f%%'
                        % (100.0 * count / cur_max, 100 * sz['alert_usage']))
    if cur_buckets and count / float(cur_buckets) > lf:
        warnings.append('average chain length %.2f (count/buckets) is longer than the profile target %d'
                        % (count / float(cur_buckets), lf))
    stats = facts.get('stats') or {}
    if stats.get('drop') or stats.get('early_drop'):
        warnings.append('the table has been full since boot: drop=%s early_drop=%s' % (stats.get('drop', 0), stats.get('early_drop', 0)))
    ins_failed = stats.get('insert_failed') or 0
    grew = None
    if previous_stats and previous_stats.get('insert_failed') is not None:
        grew = ins_failed > previous_stats['insert_failed']
    if ins_failed and (grew or (grew is None and prof['nat'])):
        warnings.append('insert_failed=%d%s on a NAT host: the SNAT source-port race (1 s / 3 s connect delays); '
                        'mitigate with --random-fully on MASQUERADE/SNAT rules'
                        % (ins_failed, ' and growing' if grew else ''))
    global_not_writable = [k for k in ('max', 'buckets') if values[k]['change'] and k not in writable]
    if global_not_writable:
        warnings.append('%s cannot be changed from here (%s); set them on the host (initial network namespace)'
                        % (' and '.join(global_not_writable), (facts.get('readonly') or {}).get('max', 'read-only')))
    recommended = dict((k, v['recommended']) for k, v in values.items())
    if assumed:
        warnings.insert(0, 'nf_conntrack is a module that is not loaded: current values are what the kernel will pick '
                           'when it loads (%s); persist now, apply at load (load_module to load it now)'
                        % facts['kernel_default']['reason'])
    return {
        'assumed_not_loaded': assumed,
        'profile': prof['name'], 'profile_chain': prof['chain'], 'description': prof['description'],
        'available': True, 'only_raise': bool(only_raise),
        'values': values, 'recommended': recommended,
        'sysctl': dict((_keys.sysctl_name(k), v) for k, v in recommended.items()),
        'order': _keys.sort_keys(list(recommended)),
        'memory': memory, 'kernel_default': kd, 'notrack': copy.deepcopy(prof['notrack']),
        'warnings': warnings, 'notes': prof['notes'],
    }


def assume_loaded(facts):
    """Facts of a not-loaded module completed with what the kernel will set when it loads."""
    from ansible_collections.nfct.tuning.plugins.module_utils._keys import DEFAULT_TIMEOUTS
    f = copy.deepcopy(facts)
    kernel = f.get('kernel') or {}
    kd = f.get('kernel_default') or kernel_default(f['ram_bytes'], kernel.get('pointer_size') or 8,
                                                   kernel.get('version'), kernel.get('page_size') or 4096)
    f['kernel_default'] = kd
    sysctls = dict(DEFAULT_TIMEOUTS)
    sysctls.update({'max': kd['max'], 'buckets': kd['buckets'], 'count': 0})
    f.update(available=True, count=0, max=kd['max'], buckets=kd['buckets'], sysctls=sysctls, writable=[],
             readonly=dict((k, 'nf_conntrack is not loaded') for k in sysctls))
    return f


def baseline(facts, short, current):
    """The value only_raise must not go below.

    Normally the live value. But when the live value is just the kernel's own default for this
    load (e.g. max = 8 x hashsize after the module loaded with a hash size) while sysctl.d sets
    another value, the boot lost the persisted value (the module loaded after systemd-sysctl):
    the persisted value is the intended one, not the default that replaced it.
    """
    kd = facts.get('kernel_default') or {}
    at_boot = ((facts.get('persisted') or {}).get('at_boot') or {}).get(short) or {}
    try:
        persisted = int(at_boot.get('value'))
    except (TypeError, ValueError):
        return current
    if current == kd.get(short) and persisted != current:
        return persisted
    return current


def report_lines(host, facts, rec):
    """A readable per-host summary for the audit playbook."""
    lines = []
    if not facts or not facts.get('available'):
        return ['%s: nf_conntrack not available (%s)' % (host, (facts or {}).get('module', {}).get('evidence', 'unknown'))]
    st = facts.get('stats') or {}
    lines.append('%s: %s kernel %s, nf_conntrack %s, %s netns, profile %s' % (
        host, facts['kernel'].get('arch'), facts['kernel'].get('release'), facts['module'].get('type'),
        'initial' if facts['netns'].get('initial') else 'non-initial', rec.get('profile')))
    lines.append('usage: %s / %s entries (%.1f%%), %s buckets, chain length %.2f; memory now %d KiB' % (
        facts.get('count'), facts.get('max'), 100.0 * (facts.get('usage_ratio') or 0), facts.get('buckets'),
        facts.get('load_factor') or 0, (rec.get('memory') or {}).get('bytes_now', 0) // 1024))
    lines.append('drops since boot: drop=%s early_drop=%s insert_failed=%s invalid=%s (source: %s)' % (
        st.get('drop'), st.get('early_drop'), st.get('insert_failed'), st.get('invalid'), st.get('source')))
    for short in _keys.sort_keys(list(rec.get('values', {}))):
        v = rec['values'][short]
        mark = '->' if v['change'] else '=='
        ro = '' if v['writable'] else ' [read-only here]'
        lines.append('  %-26s %10s %s %-10s %s [%s]%s'
                     % (short, v['current'], mark, v['recommended'], v['reason'], v['source'], ro))
    for w in rec.get('warnings', []):
        lines.append('WARNING: %s' % w)
    for ex in rec.get('notrack', []):
        lines.append('suggested NOTRACK exemption: %s' % ', '.join('%s=%s' % kv for kv in sorted(ex.items())))
    return lines
