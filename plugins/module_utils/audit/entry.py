# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's audit: what differs from the desired state, and what the next boot will give.
Pure functions over the facts, the recommendation and the conntrack_settings plan (check mode).

Kinds of drift, per key (docs/audit.md):
  runtime      the live value differs from the desired one;
  at_boot      the live value differs, and so does what the next boot gives: sysctl.d
               precedence, the modprobe.d / command line hash size, and the kernel's own default
               for this RAM and kernel era when no file sets the key - and on a loadable
               nf_conntrack that loads after systemd-sysctl (no modules-load.d entry, no udev
               rule), the sysctl.d value is lost and the kernel default is what the boot gives;
  unpersisted  the live value is the desired one, but the next boot gives another: it holds now
               and is lost at the next boot (a value raised at runtime only, by relieve or by
               hand; a boot-order fix removed);
  shadowed     another sysctl.d file sets the key after ours (named);
a desired value that is the kernel's own default, which no file sets and the next boot gives
again, is in sync (`kernel_default: true`). Per host: notrack (the NOTRACK exemptions differ),
reenabled, unreachable, failed, and the table's health (audit/health.py: full, high_usage,
dropping, invalid, search_restart).

One story: a host's `status` is `drifted` when any kind of drift is found (what the tune
playbook would change), else `in_sync`; its `health` says whether the table is full or dropping
now; it fails the run for the kinds in fail_on, whichever of the two they come from; the audit
module reports changed exactly when the status is drifted.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.audit import health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel

KINDS = ('runtime', 'at_boot', 'unpersisted', 'shadowed')
HOST_KINDS = ('notrack', 'reenabled', 'unreachable', 'failed')
HEALTH_KINDS = _health.KINDS
# the forecast in a host's health (sizing/observed.py forecast(); history: where its history came from)
FORECAST_FIELDS = ('seconds_to_full', 'full_at', 'slope_per_hour', 'method', 'count', 'max', 'horizon',
                   'within_horizon', 'basis', 'reason', 'history')
ALL_KINDS = KINDS + HOST_KINDS + HEALTH_KINDS
DEFAULT_FAIL_ON = ('runtime', 'at_boot', 'unpersisted', 'shadowed', 'notrack', 'reenabled', 'unreachable', 'failed') + \
    _health.DEFAULT_FAIL_ON
MEMORY_FIELDS = ('entry_bytes', 'bytes_now', 'bytes_at_recommended_max', 'budget_bytes', 'budget_percent',
                 'within_budget')


def boot_default(facts, short):
    """(value, source text) the kernel gives this key at boot when no file sets it, or (None, why)."""
    kernel = facts.get('kernel') or {}
    if short in ('max', 'buckets'):
        kernel_default = facts.get('kernel_default') or {}
        if short in kernel_default:
            return kernel_default[short], 'kernel default (%s)' % kernel_default.get('reason', '')
        return None, 'kernel default unknown'
    defaults = _kernel.default_timeouts(kernel.get('version'))
    defaults.update(_kernel.default_flags(kernel.get('version')))
    if short in defaults:
        return defaults[short], 'kernel default'
    return None, 'kernel default unknown'


def sysctl_d_applies(facts, owned_files, udev_rule_file):
    """Do sysctl.d's net.netfilter keys reach the kernel at boot? (True, '') or (False, why)."""
    module = facts.get('module') or {}
    if module.get('type') != 'module':
        return True, ''
    persisted = facts.get('persisted') or {}
    if (persisted.get('modules_load') or {}).get('loads_at_boot'):
        return True, ''
    if owned_files.get(udev_rule_file):
        return True, ''
    return False, ('nf_conntrack is a module that loads after systemd-sysctl (no modules-load.d entry, no udev '
                   'rule): sysctl.d values for net.netfilter are lost at boot')


def key_entry(facts, short, rec_value, plan_key, applies):
    """The audit of one key: desired, runtime, persisted, at_boot (+ source), kinds."""
    desired = rec_value['recommended']
    expected = plan_key.get('expected', desired)
    at_boot_file = plan_key.get('at_boot_file_before')
    at_boot = plan_key.get('at_boot_before')
    readonly = plan_key.get('not_applied') if plan_key.get('not_applied') and _keys.KEYS[short][1] == 'global' \
        and (facts.get('netns') or {}).get('initial') is False else None
    lost = None
    if at_boot_file is not None and not applies[0] and short not in ('buckets',):
        lost = (at_boot, at_boot_file)
        at_boot_file = None
    if at_boot_file is None:
        at_boot, source = boot_default(facts, short)
        if lost:
            source = '%s; %s (%s = %s lost)' % (source, applies[1], lost[1], lost[0])
    else:
        source = at_boot_file
    kinds = []
    runtime = plan_key.get('runtime_before')
    kernel_default = False
    if readonly is None:
        runtime_drift = runtime is not None and runtime != expected and 'not_applied' not in plan_key
        if runtime_drift:
            kinds.append('runtime')
        want_boot = _kernel.round_buckets(desired) if short == 'buckets' else desired
        got_boot = _kernel.round_buckets(at_boot) if short == 'buckets' and isinstance(at_boot, int) else at_boot
        if got_boot != want_boot:
            # right now but lost at the next boot: unpersisted; wrong now and at boot: at_boot
            kinds.append('unpersisted' if runtime is not None and not runtime_drift else 'at_boot')
        elif at_boot_file is None and at_boot is not None:
            kernel_default = True
        if plan_key.get('shadowed_by'):
            kinds.append('shadowed')
    return {
        'key': _keys.sysctl_name(short), 'desired': desired, 'runtime': runtime,
        'persisted': plan_key.get('persisted_before'), 'at_boot': at_boot, 'at_boot_source': source,
        'kinds': kinds, 'shadowed_by': plan_key.get('shadowed_by') or [], 'readonly': readonly,
        'kernel_default': kernel_default, 'reason': rec_value.get('reason'), 'source': rec_value.get('source'),
    }


def host_entry(facts, rec, plan, owned_files, udev_rule_file, notrack=None, fail_on=DEFAULT_FAIL_ON,
               sysctl_file='/etc/sysctl.d/90-conntrack.conf', users=None, disabled=None, health=None, relieved=None):
    """The report entry of one reachable host (schema v2, docs/audit.md). health: the table's
    health (audit/health.py evaluate()), or None when not checked; relieved: the host's last
    relieve event (history/store.py), named when max is still what it raised in this boot."""
    applies = sysctl_d_applies(facts, owned_files, udev_rule_file)
    # our other boot files (modprobe.d hash size, the boot-order fix): what the boot of a loadable
    # nf_conntrack reads; when they differ the next boot differs (kind at_boot, host level)
    files = [{'path': path, 'change': 'remove' if change['after'] is None else 'create' if change['before'] is None
              else 'update'} for path, change in sorted((plan.get('files') or {}).items()) if path != sysctl_file]
    keys = {}
    for short in _keys.sort_keys(list(rec.get('values') or {})):
        keys[short] = key_entry(facts, short, rec['values'][short], (plan.get('keys') or {}).get(short, {}), applies)
    host_kinds = []
    notrack_entry = None
    if notrack is not None:
        notrack_entry = {'drifted': bool(notrack.get('drifted') or notrack.get('error')), 'report': notrack.get('report'),
                         'error': notrack.get('error'), 'lines': notrack.get('lines') or []}
        if notrack_entry['drifted']:
            host_kinds.append('notrack')
    if files:
        host_kinds.append('at_boot')
    if disabled is not None and not disabled['off']:
        host_kinds.append('reenabled')
    drifting = sorted(set(k for per_key in keys.values() for k in per_key['kinds']))
    status = 'drifted' if drifting or host_kinds else 'in_sync'
    health_kinds = list((health or {}).get('kinds') or [])
    every = set(drifting) | set(host_kinds) | set(health_kinds)
    fails = sorted(k for k in every if k in fail_on)
    stats = facts.get('stats') or {}
    memory = rec.get('memory') or {}
    entry = {
        'status': status, 'error': None, 'fails_run': bool(fails), 'failing_kinds': fails,
        'profile': rec.get('profile'),
        'kernel': {'release': (facts.get('kernel') or {}).get('release'), 'arch': (facts.get('kernel') or {}).get('arch')},
        'netns': {True: 'initial', False: 'non-initial'}.get((facts.get('netns') or {}).get('initial'), 'unknown'),
        'conntrack': conntrack_kind(facts),
        'usage': {'count': facts.get('count'), 'max': facts.get('max'), 'ratio': facts.get('usage_ratio'),
                  'buckets': facts.get('buckets'), 'chain_length': facts.get('load_factor')},
        'drops': dict((k, stats.get(k)) for k in ('drop', 'early_drop', 'insert_failed', 'invalid', 'source')),
        'memory': dict((k, memory.get(k)) for k in MEMORY_FIELDS),
        'keys': keys, 'files': files, 'notrack': notrack_entry, 'warnings': list(rec.get('warnings') or []),
        'boot': {'sysctl_d_applies': applies[0], 'why': applies[1] or None},
        'health': health_entry(health),
    }
    if facts.get('breakdown') is not None:
        entry['breakdown'] = facts['breakdown']
    if users is not None:
        entry['users'] = users_entry(users)
    if disabled is not None:
        entry['disabled'] = {'off': disabled['off'], 'why': disabled['why']}
    entry['relieved'] = relieved_entry(facts, relieved, (keys.get('max') or {}).get('kinds'))
    entry['lines'] = lines(entry)
    return entry


def relieved_entry(facts, event, max_kinds):
    """The last relieve, while its raise holds and is not persisted: the same boot, max still what
    it raised, and the next boot gives another value."""
    if not event or event.get('boot_id') != (facts.get('boot') or {}).get('id') or facts.get('max') != event.get('max_after'):
        return None
    if not set(max_kinds or ()) & {'unpersisted', 'at_boot'}:
        return None
    return dict((k, event.get(k)) for k in ('time', 'max_before', 'max_after', 'timeouts'))


def relieved_lines(entry):
    relieved = entry.get('relieved')
    if not relieved:
        return []
    import time
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(relieved['time'] or 0))
    at_boot = ((entry.get('keys') or {}).get('max') or {}).get('at_boot')
    shortened = ', '.join(sorted(relieved.get('timeouts') or {}))
    return ['  max raised by relieve at %s (%s -> %s, runtime only)%s: not persisted - the next boot gives %s back; '
            'persist it with the tune playbook (the fix command), which also resizes the hash table' % (
                when, relieved['max_before'], relieved['max_after'],
                ' with %s shortened' % shortened if shortened else '', at_boot if at_boot is not None else 'another value')]


def health_entry(health):
    """The health as the report carries it: kinds, evidence, the window, usage and growth, and the
    forecast when there is one (time to full, trend, from which history)."""
    if not health:
        return None
    entry = dict((k, health.get(k)) for k in ('kinds', 'evidence', 'window', 'usage', 'growth', 'counters'))
    forecast = health.get('forecast')
    if forecast:
        entry['forecast'] = dict((k, forecast.get(k)) for k in FORECAST_FIELDS)
    return entry


USERS_FIELDS = ('can_disable', 'blockers', 'ignored', 'kernel', 'loaded', 'scope', 'users', 'ours', 'untrack_all',
                'loaded_by')


def users_entry(report):
    """The users of conntrack (_users.analyze) as the audit reports them."""
    return dict((k, report.get(k)) for k in USERS_FIELDS)


def users_lines(users):
    if users['can_disable']:
        head = '  users: can_disable (nothing found that needs conntrack%s)' % (
            '; %d ignored' % len(users['ignored']) if users['ignored'] else '')
    else:
        head = '  users: %d blocker(s): %s' % (len(users['blockers']), ', '.join(users['blockers']))
    out = [head]
    for user in users['users']:
        if user['blocking']:
            out.append('    %s: %s%s' % (user['id'], user['why'],
                                         (' (%s)' % user['evidence'][0]) if user['evidence'] else ''))
    return out


def breakdown_lines(breakdown):
    """The breakdown of the facts, in a few readable lines."""
    if not breakdown or breakdown.get('total') is None:
        return ['  breakdown: %s' % ((breakdown or {}).get('error') or 'not available')]

    def counts(by_name):
        return ', '.join('%s %s' % (k, v) for k, v in sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0]))) or '-'

    def top(items):
        return ', '.join('%s (%s)' % (item['key'], item['count']) for item in items) or '-'
    exact = '' if breakdown.get('top_exact') else ' (counts within %s)' % breakdown.get('top_max_error')
    head = '  breakdown of %d entries (%s): %s; %s' % (
        breakdown['total'], breakdown.get('source'), counts(breakdown.get('l4') or {}), counts(breakdown.get('l3') or {}))
    states = '    TCP states: %s; assured %s, unreplied %s' % (
        counts(breakdown.get('tcp_states') or {}) or '-', breakdown.get('assured'), breakdown.get('unreplied'))
    return [head, states,
            '    top sources%s: %s' % (exact, top(breakdown.get('top_sources') or [])),
            '    top destinations: %s' % top(breakdown.get('top_destinations') or []),
            '    top destination ports: %s' % top(breakdown.get('top_destination_ports') or [])]


def conntrack_kind(facts):
    module = facts.get('module') or {}
    if module.get('type') == 'module' and not module.get('loaded'):
        return 'module (not loaded)'
    return module.get('type') or 'absent'


def unavailable_entry(facts, rec, users=None):
    """A reachable host without conntrack (absent, or not visible here): nothing to compare."""
    entry = {'status': 'in_sync', 'error': None, 'fails_run': False, 'failing_kinds': [], 'profile': rec.get('profile'),
             'kernel': {'release': (facts.get('kernel') or {}).get('release'),
                        'arch': (facts.get('kernel') or {}).get('arch')},
             'netns': 'unknown', 'conntrack': conntrack_kind(facts), 'usage': {}, 'drops': {}, 'memory': {},
             'keys': {}, 'files': [], 'notrack': None, 'warnings': list(rec.get('warnings') or []),
             'boot': {'sysctl_d_applies': None, 'why': None}, 'health': None}
    entry['lines'] = ['conntrack not available here (%s): nothing to audit' % (facts.get('module') or {}).get(
        'evidence', 'unknown')]
    if users is not None:
        entry['users'] = users_entry(users)
        entry['lines'] += users_lines(entry['users'])
    return entry


def error_entry(status, error):
    return {'status': status, 'error': error, 'fails_run': None, 'failing_kinds': [status], 'profile': None,
            'kernel': {}, 'netns': 'unknown', 'conntrack': 'unknown', 'usage': {}, 'drops': {}, 'memory': {},
            'keys': {}, 'files': [], 'notrack': None, 'warnings': [], 'boot': {'sysctl_d_applies': None, 'why': None},
            'health': None,
            'lines': ['%s: %s' % (status.upper(), error)]}


def show(value, source=None):
    """A value for the human lines: never None."""
    if value is None:
        return 'not set' if not source or 'unknown' in source else source
    if source and source.startswith('kernel default'):
        return 'kernel default (%s)' % value
    return str(value)


def verdict_text(entry):
    """The headline's verdict: the configuration, then the health kinds that matter."""
    config = 'DRIFT' if entry['status'] == 'drifted' else 'in sync'
    kinds = ((entry.get('health') or {}).get('kinds')) or []
    shown = [k.upper() if k in _health.DEFAULT_FAIL_ON else k for k in kinds]
    return config + ('; ' + ', '.join(shown) if shown else '')


def lines(entry):
    """Readable lines for one host (no host name prefix)."""
    usage = entry['usage']
    out = ['%s, nf_conntrack %s, %s netns, profile %s: %s' % (
        entry['kernel'].get('release'), entry['conntrack'], entry['netns'], entry['profile'], verdict_text(entry))]
    if usage.get('max'):
        out.append('usage %s / %s (%.1f%%), %s buckets; drops since boot: drop=%s early_drop=%s insert_failed=%s' % (
            usage.get('count'), usage.get('max'), 100.0 * (usage.get('ratio') or 0), usage.get('buckets'),
            entry['drops'].get('drop'), entry['drops'].get('early_drop'), entry['drops'].get('insert_failed')))
    out.extend(_health.lines(entry.get('health')))
    out.extend(relieved_lines(entry))
    for short, per_key in entry['keys'].items():
        if per_key['readonly'] or not per_key['kinds']:
            continue
        boot = show(per_key['at_boot'], per_key['at_boot_source'])
        where = '' if per_key['at_boot_source'] is None or per_key['at_boot_source'].startswith('kernel default') \
            else ' from %s' % per_key['at_boot_source']
        if per_key['kinds'] == ['unpersisted']:
            out.append('  %s: unpersisted - runtime %s is the desired value, but the next boot gives %s%s: it is lost '
                       'at the next boot unless persisted' % (short, per_key['runtime'], boot, where))
            continue
        out.append('  %s: %s - desired %s, runtime %s, ours %s, at boot %s%s%s' % (
            short, '+'.join(per_key['kinds']), per_key['desired'], show(per_key['runtime']), show(per_key['persisted']),
            boot, where,
            ('; shadowed by %s' % ', '.join(per_key['shadowed_by'])) if per_key['shadowed_by'] else ''))
    defaults = [short for short, per_key in entry['keys'].items() if per_key.get('kernel_default') and not per_key['kinds']]
    if defaults:
        out.append('  at the kernel\'s default, which every boot gives again (no file needed): %s' % ', '.join(defaults))
    disabled = entry.get('disabled')
    if disabled:
        out.append('  disabled: %s'
                   % ('conntrack is off, as meant' if disabled['off'] else 'REENABLED - ' + disabled['why']))
    for boot_file in entry.get('files') or []:
        out.append('  at_boot: %s would be %sd (a boot file of ours)' % (boot_file['path'], boot_file['change']))
    readonly = [short for short, per_key in entry['keys'].items() if per_key['readonly']]
    if readonly:
        out.append('  read-only here (global keys, set on the host): %s' % ', '.join(readonly))
    if entry['boot'].get('why'):
        out.append('  boot: %s' % entry['boot']['why'])
    notrack = entry.get('notrack')
    if notrack:
        if notrack.get('error'):
            out.append('  NOTRACK: ERROR %s' % notrack['error'])
        out.extend('  ' + line for line in notrack.get('lines') or [])
    for warning in entry['warnings']:
        out.append('  warning: %s' % warning)
    if entry.get('users'):
        out.extend(users_lines(entry['users']))
    if 'breakdown' in entry:
        out.extend(breakdown_lines(entry['breakdown']))
    return out


def notrack_lines(report, host=None):
    """Readable lines of a drift report (the module's drift_report), for the audit."""
    prefix = '%s: ' % host if host else ''
    if not report:
        return [prefix + 'NOTRACK: no report']
    if not report['drifted']:
        return [prefix + 'NOTRACK: in sync (%s)' % (report.get('backend') or 'absent')]
    out = [prefix + 'NOTRACK: DRIFT (backend %s, state %s)' % (report.get('backend') or '-', report.get('state'))]
    ruleset, companion = report['ruleset'], report['companion']
    persistence = report.get('persistence') or {}
    for label, items in (('missing rule', ruleset['missing']),
                         ('extra rule', ruleset['extra']),
                         ('ours in another backend (removed on apply)', ruleset['other_backends']),
                         ('companion missing', companion['missing']),
                         ('companion extra', companion['extra']),
                         ('companion needed but refused', companion['refused']),
                         ('persisted file differs', persistence.get('files') or []),
                         ('service not enabled', persistence.get('services') or [])):
        out.extend('  %s: %s' % (label, item) for item in items)
    return out
