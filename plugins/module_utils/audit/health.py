# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table's health, beside its configuration (docs/audit.md, "Health"): is it full now, close
to full, dropping now? Pure functions over samples of the table (count, max and the kernel's
counters at a time); the audit module takes the samples, the metrics writer records them.

Kinds (each with its evidence and the window it covers):
  full            the count has reached max: new connections are dropped (or evict an entry); also
                  when early_drop, or drop beyond insert_failed, grew within a window that ends now,
                  although the count is a little below max at the sample (the kernel counts them
                  only when an insert finds the table at max; evictions and expiries move the count
                  under a flood; an unresolvable clash counts a drop with its insert_failed)
  high_usage      count / max at or above the usage threshold (default 0.75: node_exporter's
                  mixin alerts there; one value for the audit, the reports, the metrics and the
                  alert rules)
  dropping        drop, early_drop or insert_failed grew within the window
  invalid         the invalid counter grew (packets conntrack could not classify; reported)
  search_restart  lookups restarted (hash resizes or heavy churn; reported)
  filling         at the trend of the host's history the table is full within the forecast horizon
                  (sizing/observed.py forecast(); reported, not failing by default)

"Now" means a window that ends at this run: since the previous sample the host recorded itself
(the metrics writer's, when recent and of this boot), else a short sample inside this run, else
(a sample of 0 seconds) the counters since boot, labelled as such with the uptime. A host that
dropped weeks ago and is quiet now is healthy; one dropping now is not.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DEFAULT_USAGE_THRESHOLD = 0.75
USAGE_THRESHOLD_RANGE = (0.05, 1.0)
# counters whose growth is the kind named after them ('dropping' for the first three)
DROP_COUNTERS = ('drop', 'early_drop', 'insert_failed')
REPORTED_COUNTERS = ('invalid', 'search_restart')
KINDS = ('full', 'high_usage', 'dropping', 'invalid', 'search_restart', 'filling')
DEFAULT_FORECAST_HORIZON = 86400
FORECAST_HORIZON_RANGE = (0, 90 * 86400)
DEFAULT_FAIL_ON = ('full', 'dropping')
# a recorded sample older than this does not describe "now" (the metrics timer's default interval
# is 60 s; a few missed runs are tolerated)
MAX_RECORDED_AGE = 900
WINDOW_SOURCES = ('recorded', 'sample', 'boot')


def sample(facts, now, boot_id=None):
    """A sample of the table from conntrack facts at time `now` (seconds): count, max and every
    counter the kernel gives (None where this host has no counters: no procfs stats, no
    ctnetlink)."""
    stats = facts.get('stats') or {}
    counters = dict((name, stats.get(name)) for name in DROP_COUNTERS + REPORTED_COUNTERS + ('insert',)
                    if isinstance(stats.get(name), int))
    return {'time': float(now), 'boot_id': boot_id, 'count': facts.get('count'), 'max': facts.get('max'),
            'counters': counters}


def baseline(recorded, first, last, uptime, max_age=MAX_RECORDED_AGE):
    """The sample the window starts from, and the window: (sample or None, {'source', 'seconds',
    'since', 'why'}). recorded: the host's own last sample (metrics writer) or None; first: the
    sample this run took at its start, or None; last: this run's last sample; uptime: seconds
    since boot, or None."""
    if recorded and recorded.get('counters') is not None and last.get('boot_id') \
            and recorded.get('boot_id') == last['boot_id']:
        age = last['time'] - float(recorded.get('time') or 0)
        if 0 < age <= max_age:
            return recorded, {'source': 'recorded', 'seconds': round(age, 1), 'since': recorded['time'],
                              'why': "since the host's last recorded sample (the metrics writer's)"}
    if first is not None and last['time'] > first['time']:
        seconds = last['time'] - first['time']
        return first, {'source': 'sample', 'seconds': round(seconds, 1), 'since': first['time'],
                       'why': 'a sample of %.1f s inside this run' % seconds}
    return None, {'source': 'boot', 'seconds': round(uptime, 1) if uptime is not None else None,
                  'since': (last['time'] - uptime) if uptime is not None else None,
                  'why': 'the counters since boot (%s ago): no recent sample of this host' % _duration(uptime)}


def growth(start, last):
    """{counter: increase} from sample start (None: since boot, from 0) to last. A counter that
    went down (a reset) counts from 0."""
    out = {}
    for name, value in (last.get('counters') or {}).items():
        before = ((start or {}).get('counters') or {}).get(name, 0) if start is not None else 0
        out[name] = value - before if value >= before else value
    return out


def evaluate(last, start, window, threshold=DEFAULT_USAGE_THRESHOLD):
    """The health of the table at `last`: {'kinds': [...], 'evidence': {kind: text}, 'window',
    'usage': {count, max, ratio, threshold}, 'growth': {counter: n}, 'counters': bool}."""
    count, cmax = last.get('count'), last.get('max')
    kinds, evidence = [], {}
    ratio = round(float(count) / cmax, 6) if isinstance(count, int) and cmax else None
    grew = growth(start, last)
    where = _window_text(window)
    at_max = table_full_drops(grew)
    if ratio is not None and count >= cmax:
        kinds.append('full')
        evidence['full'] = 'count %d has reached max %d: new connections are dropped' % (count, cmax)
    elif at_max and window.get('source') != 'boot':
        kinds.append('full')
        counted = ', '.join('%s +%d' % kv for kv in sorted(at_max.items()))
        evidence['full'] = ('the table reached max %s %s: %s (counted only when an insert finds it full); count %s '
                            'now' % (cmax, where, counted, count))
    if ratio is not None and ratio >= threshold:
        kinds.append('high_usage')
        evidence['high_usage'] = 'count %d is %.1f%% of max %d (threshold %g%%)' % (
            count, 100.0 * ratio, cmax, 100.0 * threshold)
    dropped = dict((name, grew[name]) for name in DROP_COUNTERS if grew.get(name))
    if dropped:
        kinds.append('dropping')
        evidence['dropping'] = '%s %s' % (', '.join('%s +%d' % kv for kv in sorted(dropped.items())), where)
    for name in REPORTED_COUNTERS:
        if grew.get(name):
            kinds.append(name)
            evidence[name] = '%s +%d %s' % (name, grew[name], where)
    return {'kinds': kinds, 'evidence': evidence, 'window': window, 'growth': grew,
            'counters': bool(last.get('counters')),
            'usage': {'count': count, 'max': cmax, 'ratio': ratio, 'threshold': threshold}}


def with_forecast(health, forecast):
    """health with its forecast (sizing/observed.py forecast(), or None) and the kind `filling`
    when the table fills within the horizon and is not full already (changed in place, returned)."""
    health['forecast'] = forecast
    seconds = (forecast or {}).get('seconds_to_full')
    if forecast and forecast.get('within_horizon') and seconds is not None and forecast.get('method') != 'full' \
            and 'full' not in health['kinds']:
        # 0 s: the trend has passed max already while the table is not full (yet): filling now
        health['kinds'].append('filling')
        health['evidence']['filling'] = '%s at the trend of the history (%s)' % (
            'full in %s' % _duration(seconds) if seconds > 0 else 'full already', forecast.get('reason')
            or forecast.get('basis'))
    return health


def table_full_drops(grew):
    """{counter: growth} of what only a full table makes the kernel count: early_drop, and the drops
    beyond the failed inserts (an unresolvable clash counts one drop and one insert_failed,
    nf_ct_resolve_clash(); the alert rules subtract them the same way)."""
    out = {}
    if grew.get('early_drop'):
        out['early_drop'] = grew['early_drop']
    beyond = (grew.get('drop') or 0) - (grew.get('insert_failed') or 0)
    if beyond > 0:
        out['drop'] = beyond
    return out


def lines(health):
    """Readable lines for the audit's console output."""
    if not health:
        return []
    window = health.get('window') or {}
    if not health['kinds']:
        state = 'healthy'
        if not health.get('counters'):
            state += ' (no drop counters readable here: only the usage was checked)'
        return ['  health: %s (%s)' % (state, window.get('why'))]
    out = ['  health: %s' % ', '.join(k.upper() if k in DEFAULT_FAIL_ON else k for k in health['kinds'])]
    out += ['    %s: %s' % (kind, health['evidence'][kind]) for kind in health['kinds']]
    return out


def check_threshold(value, name='usage_threshold'):
    """The usage threshold as a float in its range, or ValueError naming `name`."""
    low, high = USAGE_THRESHOLD_RANGE
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError('%s: expected a number in the allowed range %g-%g (a share of max), got %r'
                         % (name, low, high, value))
    if isinstance(value, bool) or not low <= number <= high:
        raise ValueError('%s: %r is outside the allowed range %g-%g (a share of max: 0.75 is 75%%)'
                         % (name, value, low, high))
    return number


def _window_text(window):
    if window.get('source') == 'boot':
        return 'since boot (%s ago; no recent sample)' % _duration(window.get('seconds'))
    return 'in the last %s (%s)' % (_duration(window.get('seconds')), window.get('why'))


def _duration(seconds):
    if seconds is None:
        return 'an unknown time'
    if seconds < 10:   # the in-run sample: 0.3 s by default, not "0 s"
        return '%.1f s' % seconds if seconds < 1 else '%d s' % int(round(seconds))
    seconds = int(round(seconds))
    if seconds >= 86400:
        return '%.1f d' % (seconds / 86400.0)
    if seconds >= 3600:
        return '%.1f h' % (seconds / 3600.0)
    if seconds >= 60:
        return '%d min %d s' % (seconds // 60, seconds % 60)
    return '%d s' % seconds
