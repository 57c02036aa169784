# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part "Sizing from history: replay" (issue 24): sizing from the host's history
(plugins/module_utils/sizing/observed.py) and its forecast, replayed on synthetic traces.

Each family is a host (RAM, profile) and the number of entries its traffic wants, one value per
60 s (the metrics timer's interval) for DAYS days from a Monday, deterministic (random.Random with
the family's seed). Two walks per family, both recording every sample through history/store.py
record(), as the metrics timer does:

sizing   day by day, at 00:00 UTC: the recommendation from the history so far (conntrack_sizing
         auto: observed once 7 complete days exist, the static profile before) is applied, and the
         next day is scored against it. The table holds min(wanted, max in force); what is above
         is dropped (the drop counter grows). The recommendation the replay applies, as the engine
         will: the observed value, never below the profile's floor (its sizing.min; FLOOR_NO_MIN
         for profiles without one) nor the live count, never above the memory budget. Static:
         sizing/engine.recommend() on facts of this host (tests/unit/synth.py) with the day's
         live count: what the engine recommends today. The recommendation is also computed every
         hour (what the metrics writer shows, what a tune run would apply) to count its changes.
forecast the host keeps the max the static profile gave it on day 0; every 5 minutes the forecast
         (horizon HORIZON) says whether it fills; scored against the first minute the traffic
         wants more than that max.

Scores and targets (TARGETS; exit status 1 when one is missed):
  windows over max     minutes in which the traffic wants more than the recommended max in force:
                       0 on every family that is not an attack;
  reserved vs static   1 - sum of the recommended max / sum of the static max over the days sized
                       from history: at least 30 % fewer on the over-provisioned families;
  forecast lead        how long before the first full minute the forecast said "full within the
                       horizon" without interruption: at least 30 min on the growth families;
  changes per day      of the hourly recommendation, on any day: at most 1 outside growth (and
                       attacks);
  false alarms         "full within the horizon" episodes not followed by a full table within the
                       horizon: 0 on the hosts that never fill (diurnal, weekly, idle); counted
                       and reported on the others.
A family marked informational is reported and never fails the run (it shows a limit: a step
larger than the headroom exceeds its first day).

Standalone: python3 benchmarks/replay.py [--quick] [--days N] [--families a,b] [--out DIR]
Writes DIR/replay-<UTC time>.md and .json (DIR: benchmarks/results).
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import calendar
import datetime
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit'))

from ansible_collections.nfct.tuning.plugins.module_utils.history import store  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine, observed  # noqa: E402
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import BUILTIN_PROFILES  # noqa: E402
import synth  # noqa: E402  (facts of made-up hosts, tests/unit/synth.py)

INTERVAL = 60
PER_DAY = 86400 // INTERVAL
PER_HOUR = 3600 // INTERVAL
FORECAST_EVERY = 300 // INTERVAL
DAYS = 21
QUICK_DAYS = 9
QUICK_FAMILIES = ('diurnal', 'growth', 'idle')
T0 = calendar.timegm((2026, 11, 2, 0, 0, 0))  # a Monday
HORIZON = 24 * 3600
FLOOR_NO_MIN = 65536
GIB = synth.GIB
TARGETS = {'windows_over': 0, 'saving': 0.30, 'lead_minutes': 30, 'changes_per_day': 1, 'false_alarms': 0}


# ------------------------------------------------------------------ the traces

def daily_shape(minute, peak_hour=14.0, sharpness=1.5):
    """0 at night, 1 at peak_hour UTC: a raised cosine, sharpened."""
    hour = (minute % PER_DAY) * INTERVAL / 3600.0
    return ((1 + math.cos(2 * math.pi * (hour - peak_hour) / 24.0)) / 2.0) ** sharpness


def _diurnal(rng, days, low, high, day_scale=None, noise=0.015):
    """low + (high - low) x the daily shape, each day x U(0.95, 1.05) (and x day_scale(day)), each
    minute x N(1, noise)."""
    out = []
    for day in range(days):
        factor = rng.uniform(0.95, 1.05) * (day_scale(day) if day_scale else 1.0)
        for i in range(PER_DAY):
            value = (low + (high - low) * daily_shape(i)) * factor * rng.gauss(1.0, noise)
            out.append(max(int(value), 0))
    return out


def trace_diurnal(rng, days):
    return _diurnal(rng, days, 40000, 300000)


def trace_weekly(rng, days):
    """Weekdays to 280,000, Saturday and Sunday to 100,000 (T0 is a Monday)."""
    return _diurnal(rng, days, 30000, 280000, day_scale=lambda d: 0.36 if d % 7 in (5, 6) else 1.0)


def trace_growth(rng, days):
    """Peaks from 110,000, growing by the same factor every day: they reach 262,144 (the static
    max of this host) at 80 % of the trace."""
    rate = (262144 / 110000.0) ** (1.0 / (0.8 * days))
    base = _diurnal(rng, days, 25000, 110000)
    return [int(v * rate ** (i / float(PER_DAY))) for i, v in enumerate(base)]


def _with_step(rng, days, factor):
    """The diurnal host to 250,000; a deploy on day 10 at 09:00 multiplies what it holds."""
    base = _diurnal(rng, days, 30000, 250000)
    at = min(10, days - 2) * PER_DAY + 9 * PER_HOUR
    return base[:at] + [int(v * factor) for v in base[at:]]


def trace_step(rng, days):
    return _with_step(rng, days, 1.2)


def trace_step_big(rng, days):
    return _with_step(rng, days, 1.6)


def trace_flash_crowd(rng, days):
    """A web host to 110,000; on day 12 from 15:00 twice as many for 90 minutes (15 minutes up,
    45 minutes down)."""
    base = _diurnal(rng, days, 15000, 110000)
    start = min(12, days - 2) * PER_DAY + 15 * PER_HOUR
    for i in range(150):
        ramp = min(i / 15.0, 1.0, (150 - i) / 45.0)
        base[start + i] = int(base[start + i] * (1 + ramp))
    return base


def trace_leak(rng, days):
    """A host to 100,000 whose stale UDP entries never go: + the same number every minute, enough
    to reach 262,144 (its static max) at 80 % of the trace."""
    per_minute = (262144 - 100000) / (0.8 * days * PER_DAY)
    return [int(v + per_minute * i) for i, v in enumerate(_diurnal(rng, days, 20000, 100000))]


def trace_ddos(rng, days):
    """A web host to 100,000; on day 13 at 03:00 a SYN flood: +850,000 entries within 10 minutes,
    held 40 minutes, gone 5 minutes after it stops (syn_recv timeout)."""
    base = _diurnal(rng, days, 15000, 100000)
    start = min(13, days - 2) * PER_DAY + 3 * PER_HOUR
    for i in range(55):
        ramp = min(i / 10.0, 1.0, (55 - i) / 5.0)
        base[start + i] += int(850000 * ramp * rng.uniform(0.97, 1.03))
    return base


def trace_idle(rng, days):
    """A host that does little: 150-550 entries, a little more by day."""
    return [int(150 + 100 * daily_shape(i % PER_DAY) + rng.randint(0, 300)) for i in range(days * PER_DAY)]


# name: (trace, seed, RAM GiB, profile, kinds, what the host is)
# kinds: attack, growth (saturates its static max), over (over-provisioned by the static
# profile), never_fills (no forecast alarm allowed), info (reported, never fails the run)
FAMILIES = (
    ('diurnal', trace_diurnal, 11, 16, 'web', ('over', 'never_fills'),
     'web front end, 16 GiB: a daily peak of ~300,000 at 14:00 UTC'),
    ('weekly', trace_weekly, 12, 16, 'web', ('over', 'never_fills'),
     'web front end, 16 GiB: ~280,000 on weekdays, ~100,000 on Saturday and Sunday'),
    ('growth', trace_growth, 13, 16, 'default', ('growth',),
     'steady growth, 16 GiB, default profile: daily peaks grow ~5 % a day from 110,000'),
    ('step', trace_step, 14, 16, 'web', ('over',),
     'web front end, 16 GiB, ~250,000; a deploy on day 10 at 09:00: +20 % from then on'),
    ('flash_crowd', trace_flash_crowd, 15, 8, 'web', ('over',),
     'web front end, 8 GiB, ~110,000; on day 12 at 15:00 twice as many for 90 minutes'),
    ('leak', trace_leak, 16, 16, 'default', ('growth',),
     'slow leak of stale UDP entries, 16 GiB, default profile: ~100,000 + ~9,000 more each day'),
    ('ddos', trace_ddos, 17, 8, 'web', ('attack',),
     'web front end, 8 GiB, ~100,000; on day 13 at 03:00 a SYN flood of 850,000 entries for 45 minutes'),
    ('idle', trace_idle, 18, 16, 'default', ('over', 'never_fills'),
     'idle host, 16 GiB, default profile: a few hundred entries'),
    ('step_big', trace_step_big, 14, 16, 'web', ('over', 'info'),
     'informational: the step host, +60 % at the deploy (beyond the headroom)'),
)


# ------------------------------------------------------------------ the host and its sizing

class Host(object):
    """A family's host: its static recommendation (the engine, for a live count), its floor and its
    memory budget."""

    def __init__(self, ram_gib, profile):
        self.ram, self.profile = ram_gib * GIB, profile
        self.floor = BUILTIN_PROFILES[profile]['sizing'].get('min') or FLOOR_NO_MIN
        rec = self._recommend(0)
        memory = rec['memory']
        self.budget = int(memory['budget_bytes'] // (memory['entry_bytes'] + memory['bucket_size']) // 1024 * 1024)
        self._static = {}

    def _recommend(self, count):
        return engine.recommend(synth.facts(ram=self.ram, count=count), profile=self.profile)

    def static(self, count):
        """What the engine recommends today for this live count (cached per 1,024 entries)."""
        key = count // 1024
        if key not in self._static:
            self._static[key] = self._recommend(key * 1024 + 1023)['recommended']['max']
        return self._static[key]

    def recommend(self, history, now, live):
        """(max, the observed result, use observed?) as conntrack_sizing auto does it."""
        obs = observed.observed_max(history, now)
        use, _statement = observed.choose('auto', obs)
        if not use:
            return self.static(live), obs, False
        return min(max(obs['value'], self.floor, -(-live // 1024) * 1024), max(self.budget, self.floor)), obs, True


def sample(t, count, cmax, counters):
    return {'time': float(t), 'boot_id': 'replay', 'count': count, 'max': cmax, 'counters': dict(counters)}


def sizing_walk(host, wanted, days):
    """The day-by-day walk: per day (the max in force, static or observed, the day's peak, minutes
    over, changes of the hourly recommendation) and the hourly recommendations."""
    history, counters = store.empty(), {'drop': 0, 'insert': 0, 'early_drop': 0, 'insert_failed': 0}
    rows, previous, live = [], None, wanted[0]
    for day in range(days):
        start = T0 + day * 86400
        in_force, obs, used = host.recommend(history, start, live)
        row = {'day': day, 'max': in_force, 'observed': used, 'static': host.static(live), 'peak_wanted': 0,
               'over': 0, 'changes': 0, 'reason': obs['reason'] if used else obs['why_not']}
        for i in range(PER_DAY):
            t, want = start + i * INTERVAL, wanted[day * PER_DAY + i]
            if i % PER_HOUR == 0:
                hourly = in_force if i == 0 else host.recommend(history, t, live)[0]
                row['changes'] += previous is not None and hourly != previous
                previous = hourly
            live = min(want, in_force)
            row['peak_wanted'] = max(row['peak_wanted'], want)
            if want > in_force:
                row['over'] += 1
                counters['drop'] += want - in_force
            counters['insert'] += live
            store.record(history, sample(t, live, in_force, counters))
        rows.append(row)
    return rows, history


def forecast_walk(host, wanted, days):
    """The host keeps its day-0 static max: the forecast every 5 minutes, and when it fills."""
    cmax = host.static(wanted[0])
    history, counters = store.empty(), {'drop': 0, 'insert': 0}
    alarms, full_at = [], None
    for i, want in enumerate(wanted[:days * PER_DAY]):
        t = T0 + i * INTERVAL
        if want >= cmax and full_at is None:
            full_at = t
        live = min(want, cmax)
        counters['drop'] += want - live
        counters['insert'] += live
        store.record(history, sample(t, live, cmax, counters))
        if (i + 1) % FORECAST_EVERY == 0:
            result = observed.forecast(history, t, cmax, horizon=HORIZON)
            alarms.append((t, bool(result['within_horizon']), result['reason']))
    return score_forecast(alarms, full_at, cmax)


def score_forecast(alarms, full_at, cmax):
    """Episodes of "full within the horizon" (alarms: (time, on, reason) every 5 minutes), the lead
    before the first full minute, and the false alarms: episodes that start before the table
    fills (or on a table that never fills) and are not followed by a full table within HORIZON."""
    episodes, start = [], None
    for t, on, reason in alarms + [(None, False, '')]:
        if on and start is None:
            start = (t, reason)
        elif not on and start is not None:
            episodes.append({'start': start[0], 'end': t, 'reason': start[1]})
            start = None
    before = [e for e in episodes if full_at is None or e['start'] < full_at]
    false = [e for e in before if full_at is None or full_at > e['start'] + HORIZON]
    lead, warned = None, None
    if full_at is not None:
        last = [a for a in alarms if a[0] < full_at][-1:]
        warned = before[-1] if before and last and last[0][1] else None
        lead = full_at - warned['start'] if warned else 0.0
    return {'max': cmax, 'full_at': full_at, 'lead_s': lead, 'episodes': len(episodes), 'false_alarms': len(false),
            'false_examples': [(_utc(e['start']), e['reason']) for e in false[:3]],
            'warning': warned['reason'] if warned else None}


def _utc(t):
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(t)) if t is not None else None


# ------------------------------------------------------------------ scores

def run_family(family, days, seed_offset=0):
    name, trace, seed, ram_gib, profile, kinds, text = family
    seed += seed_offset
    wanted = trace(random.Random(seed), days)
    host = Host(ram_gib, profile)
    rows, history = sizing_walk(host, wanted, days)
    sized = [r for r in rows if r['observed']]
    saving = 1 - sum(r['max'] for r in sized) / float(sum(r['static'] for r in sized)) if sized else None
    last = sized[-1] if sized else rows[-1]
    return {
        'family': name, 'what': text, 'ram_gib': ram_gib, 'profile': profile, 'kinds': list(kinds), 'seed': seed,
        'days': days, 'observed_days': len(sized), 'floor': host.floor, 'budget': host.budget,
        'static_max': [min(r['static'] for r in rows), max(r['static'] for r in rows)],
        'recommended_max': [min(r['max'] for r in sized), max(r['max'] for r in sized)] if sized else None,
        'windows_over': sum(r['over'] for r in rows),
        'saving': saving,
        'tightest': max(r['peak_wanted'] / float(r['max']) for r in sized) if sized else None,
        'changes_per_day': max(r['changes'] for r in rows),
        'history_bytes': len(store.dumps(history).encode('utf-8')),
        'last_reason': last['reason'], 'last_max': last['max'],
        'forecast': forecast_walk(host, wanted, days),
        'per_day': rows,
    }


def verdicts(results):
    """[(target, measured, met, counts)]: counts is False for informational families."""
    out = []
    for r in results:
        kinds, name, counts = r['kinds'], r['family'], 'info' not in r['kinds']
        if 'attack' not in kinds:
            out.append(('%s: no minute over the recommended max' % name, '%d minutes' % r['windows_over'],
                        r['windows_over'] <= TARGETS['windows_over'], counts))
        if 'over' in kinds:
            out.append(('%s: >= %d %% fewer reserved entries than static' % (name, TARGETS['saving'] * 100),
                        '%.0f %%' % (100 * r['saving']) if r['saving'] is not None else 'no observed day',
                        r['saving'] is not None and r['saving'] >= TARGETS['saving'], counts))
        if 'growth' in kinds:
            f = r['forecast']
            ok = f['full_at'] is not None and f['lead_s'] >= TARGETS['lead_minutes'] * 60
            out.append(('%s: forecast >= %d min before the table fills' % (name, TARGETS['lead_minutes']),
                        _lead(f), ok, counts))
        if 'growth' not in kinds and 'attack' not in kinds:
            out.append(('%s: at most %d change of the recommended max a day' % (name, TARGETS['changes_per_day']),
                        'at most %d' % r['changes_per_day'], r['changes_per_day'] <= TARGETS['changes_per_day'],
                        counts))
        if 'never_fills' in kinds:
            out.append(('%s: no "filling" alarm on a table that never fills' % name,
                        '%d' % r['forecast']['false_alarms'], r['forecast']['false_alarms'] <= TARGETS['false_alarms'],
                        counts))
    return out


def _lead(f):
    if f['full_at'] is None:
        return 'never fills'
    if f['lead_s'] is None or f['lead_s'] <= 0:
        return 'no warning before %s' % _utc(f['full_at'])
    return '%s before %s' % (_hours(f['lead_s']), _utc(f['full_at']))


def _hours(seconds):
    return '%.1f h' % (seconds / 3600.0) if seconds >= 3600 else '%d min' % (seconds // 60)


def _saving(saving):
    if saving is None:
        return '-'
    return '%s%.0f %%' % ('-' if saving >= 0 else '+', abs(100 * saving))


def _k(n):
    return '{0:,}'.format(int(n))


def _range(pair):
    if not pair:
        return '-'
    return _k(pair[0]) if pair[0] == pair[1] else '%s-%s' % (_k(pair[0]), _k(pair[1]))


def results_table(results):
    """The table of results, one row per family (also what scripts/gen_docs.py writes into
    docs/benchmarks.md from the run of record, benchmarks/record.yml `replay`)."""
    lines = ['| family | host | static max | recommended max (observed days) | minutes over max | reserved vs static '
             '| tightest day (peak / max) | changes a day (max) | forecast: fills / lead | false alarms |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        f = r['forecast']
        lines.append('| `%s`%s | %d GiB, %s | %s | %s (%d) | %d | %s | %s | %d | %s | %d |' % (
            r['family'], ' (info)' if 'info' in r['kinds'] else '', r['ram_gib'], r['profile'], _range(r['static_max']),
            _range(r['recommended_max']), r['observed_days'], r['windows_over'],
            _saving(r['saving']),
            '%.2f' % r['tightest'] if r['tightest'] is not None else '-', r['changes_per_day'],
            _lead(f) if f['full_at'] is not None else 'never (max %s)' % _k(f['max']), f['false_alarms']))
    return lines


def markdown(results, checks, seconds, days):
    lines = ['## Sizing from history: replay', '',
             '%d families, %d days each at %d s, from %s (benchmarks/replay.py, %.1f s). conntrack_sizing auto '
             '(observed from 7 complete days: p99 of the daily peaks weighted by age, x 1.15 headroom x (1 + 1/days)); '
             'forecast horizon %d h.' % (len(results), days, INTERVAL, _utc(T0), seconds, HORIZON // 3600), '']
    lines += results_table(results)
    lines += ['', '| target | measured | met |', '|---|---|---|']
    for target, measured, ok, counts in checks:
        met = ('yes' if ok else '**NO**') + ('' if counts else ' (info)')
        lines.append('| %s | %s | %s |' % (target, measured, met))
    lines += ['', 'The families:', '']
    lines += ['- `%s` (seed %d): %s. On the last day: max %s; %s.' % (
        r['family'], r['seed'], r['what'], _k(r['last_max']), r['last_reason']) for r in results]
    return '\n'.join(lines) + '\n'


def run(days=DAYS, families=None, log=None, seed_offset=0):
    """Returns {'results', 'verdicts', 'ok', 'markdown', 'seconds'}."""
    started = time.time()
    chosen = [f for f in FAMILIES if families is None or f[0] in families]
    results = []
    for family in chosen:
        if log:
            log('replay: %s, %d days' % (family[0], days))
        results.append(run_family(family, days, seed_offset))
    checks = verdicts(results)
    seconds = time.time() - started
    ok = all(met for _t, _m, met, counts in checks if counts)
    return {'results': results, 'verdicts': checks, 'ok': ok, 'seconds': seconds,
            'markdown': markdown(results, checks, seconds, days)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    p.add_argument('--quick', action='store_true',
                   help='%s for %d days (the unit test)' % (', '.join(QUICK_FAMILIES), QUICK_DAYS))
    p.add_argument('--days', type=int, default=None, help='days per family (default %d; at least 9)' % DAYS)
    p.add_argument('--families', default=None, help='comma list of: %s' % ', '.join(f[0] for f in FAMILIES))
    p.add_argument('--seed-offset', type=int, default=0,
                   help='added to every family\'s seed: other traces of the same families (the run of record uses 0)')
    p.add_argument('--out', default=os.path.join(HERE, 'results'))
    opts = p.parse_args(argv)
    days = opts.days or (QUICK_DAYS if opts.quick else DAYS)
    families = opts.families.split(',') if opts.families else (list(QUICK_FAMILIES) if opts.quick else None)
    unknown = sorted(set(families or ()) - set(f[0] for f in FAMILIES))
    if unknown or days < 9:
        p.error('unknown families %s' % ', '.join(unknown) if unknown else '--days: at least 9')
    out = run(days, families, log=lambda m: sys.stderr.write(m + '\n'), seed_offset=opts.seed_offset)
    stamp = datetime.datetime.utcnow().strftime('%Y%m%d-%H%M%S')
    if not os.path.isdir(opts.out):
        os.makedirs(opts.out)
    base = os.path.join(opts.out, 'replay-%s' % stamp)
    with open(base + '.md', 'w') as f:
        f.write(out['markdown'])
    with open(base + '.json', 'w') as f:
        json.dump(dict((k, v) for k, v in out.items() if k != 'markdown'), f, indent=1, sort_keys=True)
    sys.stdout.write(out['markdown'])
    verdict = 'every target met' if out['ok'] else 'TARGET MISSED'
    sys.stderr.write('replay: %s.md and .json, %.1f s, %s\n' % (base, out['seconds'], verdict))
    return 0 if out['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
