# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizing from the host's history (docs/history.md): what the table needed, and when it fills.

Pure functions over the history document of history/store.py (read as data: nothing is imported
from it), no Ansible, no I/O. Three answers:

observed_max(history, now)
    The max the host's own history asks for, after Kubernetes' VPA recommender (kubernetes/
    autoscaler, vertical-pod-autoscaler/pkg/recommender/logic): a high percentile of the daily
    peaks, each weighted by its age (the weight halves every HALF_LIFE, 24 h as VPA's), times a
    safety margin (headroom, 1.15 as VPA's), times a confidence multiplier 1 + 1/days that
    shrinks as the history grows. Rounded up to 1,024.

    Why daily peaks and not the store's histogram of every sample: a percentile of samples says
    what share of the time the table stayed below a value; p99 of a day's minutes is exceeded for
    14 minutes a day, so a short afternoon peak sits above it. A table must hold the peak, so the
    percentile is taken over the peak of each day (VPA too feeds its memory histogram one peak per
    aggregation interval, a day by default). With a half-life of one day, p99 is in effect the
    highest peak of the last week (older days weigh less than 1 %): a weekly pattern is covered, a
    lasting step down is followed within a week, and an attack's peak ages out likewise.

    Which days: the complete UTC days before today (their samples span at least MIN_COVERAGE of
    the day; a day with a long gap is left out, its peak may be missing). Today's partial peak is
    reported but not used: the value changes only when a day completes (at most once a day), and
    what today already holds is the live count, which the engine's own floor covers ("never below
    the live count"). `days` counts the days used; fewer than min_days: not available, why_not
    says so, and the caller sizes statically.

choose(mode, observed)
    static / observed / auto -> (use the observed value?, the statement that says which and why).

forecast(history, now, cmax, horizon)
    When the table fills at its trend, from two bases, the earlier wins:
    - daily: Theil-Sen (the median of the slopes between every pair: one odd day moves nothing)
      over the peaks of the last DAILY_WINDOW complete days (at least DAILY_MIN_DAYS), extended
      from the latest peak (today's so far when it is higher); believed up to DAILY_TRUST ahead.
      Slow growth and leaks: days of warning.
    - short: Theil-Sen over the peaks per 5 minutes of the last SHORT_WINDOW (at least
      SHORT_MIN_POINTS), extended from the last count, believed up to SHORT_TRUST ahead, and only
      when the count is above every daily peak of the last NORMAL_DAYS days (the morning rise of a
      daily pattern is not a table filling, a rise into heights never seen may be) and, when the
      recent points reach back a day, only when the last hour rose faster than the same hour
      yesterday or yesterday's curve from this hour on, scaled to today's count, reaches max (a
      growing host's morning rise follows yesterday's curve to a peak under max; a crowd or an
      attack rises faster than any yesterday).
    None when neither rises, or the table would fill beyond what its basis is believed for.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math
import time

DAY = 86400.0
MODES = ('static', 'observed', 'auto')
# VPA's recommender (kubernetes/autoscaler, recommender/logic/recommender.go) targets p90 of its
# histogram for memory; a conntrack table that overflows drops packets, so the high percentile
# here (in the replay, benchmarks/replay.py, p99 of the daily peaks kept every non-attack family
# under max)
PERCENTILE = 0.99
# VPA's safety margin: --recommendation-margin-fraction, default 0.15 (recommender/logic/recommender.go)
HEADROOM = 1.15
# one week: a weekly pattern's weekend dip and weekday peaks are both seen before sizing from it
MIN_DAYS = 7
# VPA's memory histogram decays with a half-life of 24 h (recommender/model/aggregations_config.go,
# DefaultMemoryHistogramDecayHalfLife)
HALF_LIFE = DAY
# a day counts when its first and last samples are at least this share of a day apart
MIN_COVERAGE = 0.5
# days written before the store kept 'first' and 'last': at least this many samples
OLD_DAY_SAMPLES = 12
ROUND = 1024
# forecast
SHORT_WINDOW = 3600.0
SHORT_MIN_POINTS = 6
# how far each trend is extrapolated (a line over an hour is believed for 6 h, over a week of
# daily peaks for 30 days): chosen on the replay, where longer reaches gave early alarms
SHORT_TRUST = 6 * 3600.0
DAILY_WINDOW = 7
DAILY_MIN_DAYS = 3
DAILY_TRUST = 30 * DAY
NORMAL_DAYS = 7
# the last hour rose "as yesterday at this hour" when its ratio is at most this much above yesterday's
RISE_TOLERANCE = 0.10
YESTERDAY_SLACK = 300
# yesterday's curve, shifted to today, "fills" when it comes this close to max (days differ)
# (3 %: in the replay, benchmarks/replay.py, 5 % gave more early alarms on growing hosts, 0 % a
# warning only minutes before they filled)
SEASONAL_MARGIN = 0.03


def _up(value, step=ROUND):
    return int(-(-int(math.ceil(value)) // step) * step)


def _fmt(value):
    return '{0:,}'.format(int(round(value)))


def _when(t):
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(t)) + ' UTC'


def _day_of(t):
    return time.strftime('%Y-%m-%d', time.gmtime(t))


def _plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def _duration(seconds):
    minutes = int(round(seconds / 60.0))
    if minutes < 60:
        return '%d min' % minutes
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return '%d h %02d min' % (hours, minutes) if minutes else '%d h' % hours
    days, hours = divmod(hours, 24)
    return '%d days %d h' % (days, hours) if hours else '%d days' % days


def _pname(percentile):
    return 'p%g' % round(percentile * 100, 4)


def _covers(day):
    """Do the day's samples span enough of it to trust its peak?"""
    first, last = day.get('first'), day.get('last')
    if isinstance(first, (int, float)) and isinstance(last, (int, float)):
        return last - first >= MIN_COVERAGE * DAY
    return (day.get('samples') or 0) >= OLD_DAY_SAMPLES


def daily_peaks(history, now):
    """The peaks of the complete days before now's UTC day, oldest first, and what was left out:
    ([{'day', 'peak', 'peak_time', 'dropped'}], days with gaps left out, today's entry or None).
    Days after today (a clock that was ahead) are ignored."""
    today = _day_of(now)
    used, gaps, current = [], 0, None
    for day in (history or {}).get('days') or []:
        if not isinstance(day, dict) or not isinstance(day.get('day'), str):
            continue
        if day['day'] == today:
            current = day
        elif day['day'] > today or not isinstance(day.get('peak'), int) \
                or not isinstance(day.get('peak_time'), (int, float)):
            continue
        elif not _covers(day):
            gaps += 1
        else:
            used.append({'day': day['day'], 'peak': day['peak'], 'peak_time': day['peak_time'],
                         'dropped': bool(day.get('drop') or day.get('early_drop'))})
    return used, gaps, current


def weighted_percentile(items, percentile):
    """The smallest value whose cumulative weight reaches percentile of the total (items: (value,
    weight)), as VPA's histogram answers a percentile; None for no items."""
    items = sorted(items)
    total = sum(w for _v, w in items)
    if not items or total <= 0:
        return None
    reached = 0.0
    for value, weight in items:
        reached += weight
        if reached >= percentile * total * (1 - 1e-12):
            return value
    return items[-1][0]


def _check(percentile, headroom, min_days, half_life):
    if not 0 < percentile <= 1:
        raise ValueError('percentile %r: between 0 (excluded) and 1' % (percentile,))
    if headroom < 1:
        raise ValueError('headroom %r: at least 1 (a table sized below its peaks is full at the peak)' % (headroom,))
    if min_days < 1:
        raise ValueError('min_days %r: at least 1' % (min_days,))
    if half_life <= 0:
        raise ValueError('half_life %r: more than 0 seconds' % (half_life,))


def observed_max(history, now, percentile=PERCENTILE, headroom=HEADROOM, min_days=MIN_DAYS, half_life=HALF_LIFE):
    """What the history asks for (module docstring). A dict: available, value (the observed need
    before any floor or budget, rounded up to 1,024; None when not available), days, min_days,
    percentile, percentile_peak, headroom, multiplier (1 + 1/days), half_life, peak and peak_time
    (the highest daily peak used), gaps (days left out), dropped_days (days used on which the table
    dropped: their peak was the max of then, the need was higher), today_peak and today_peak_time
    (today so far, not used), reason (the sentence that explains the value), why_not."""
    _check(percentile, headroom, min_days, half_life)
    used, gaps, today = daily_peaks(history, now)
    result = {'available': False, 'value': None, 'days': len(used), 'min_days': min_days, 'percentile': percentile,
              'percentile_peak': None, 'headroom': headroom, 'multiplier': None, 'half_life': half_life,
              'peak': None, 'peak_time': None, 'gaps': gaps, 'dropped_days': sum(1 for d in used if d['dropped']),
              'today_peak': (today or {}).get('peak'), 'today_peak_time': (today or {}).get('peak_time'),
              'reason': '', 'why_not': None}
    if used:
        top = max(used, key=lambda d: (d['peak'], d['peak_time']))
        result['peak'], result['peak_time'] = top['peak'], top['peak_time']
    notes = _notes(result)
    if len(used) < min_days:
        result['why_not'] = '%s of history, observed sizing needs %d' % (_plural(len(used), 'complete day'), min_days)
        result['reason'] = '; '.join([result['why_not']] + notes)
        return result
    weights = [(d['peak'], 0.5 ** (max(now - d['peak_time'], 0.0) / half_life)) for d in used]
    pct = weighted_percentile(weights, percentile)
    multiplier = 1.0 + 1.0 / len(used)
    raw = pct * headroom * multiplier
    value = _up(raw)
    result.update(available=True, value=value, percentile_peak=pct, multiplier=multiplier)
    sentence = ('%s of %d daily peaks (weighted by age, half-life %s) %s x %g headroom x %.2f for %s of history = %s'
                % (_pname(percentile), len(used), _duration(half_life) if half_life != DAY else '1 day', _fmt(pct),
                   headroom, multiplier, _plural(len(used), 'day'), _fmt(raw)))
    if value != int(round(raw)):
        sentence += ', rounded up to %s' % _fmt(value)
    result['reason'] = '; '.join([sentence] + notes)
    return result


def _notes(result):
    """The facts next to the value: the highest peak, days left out, drops, today so far."""
    notes = []
    if result['peak'] is not None:
        notes.append('highest peak %s on %s' % (_fmt(result['peak']), _when(result['peak_time'])))
    if result['gaps']:
        notes.append('%s with gaps left out' % _plural(result['gaps'], 'day'))
    if result['dropped_days']:
        notes.append('the table dropped on %s of these: the need was higher than their peak'
                     % _plural(result['dropped_days'], 'day'))
    if result['today_peak'] is not None and result['peak'] is not None and result['today_peak'] > result['peak']:
        notes.append('today so far %s at %s, above every day before (not used until the day is complete)'
                     % (_fmt(result['today_peak']), _when(result['today_peak_time'])))
    return notes


def choose(mode, observed):
    """(use the observed value, the statement). static: never. auto: when the history is long
    enough, else static. observed: the same as auto (a host without enough history yet cannot be
    sized from it: it is sized statically, and the statement says so and until when), so that a
    fleet set to observed keeps working on its new hosts."""
    if mode not in MODES:
        raise ValueError('conntrack_sizing %r: one of %s' % (mode, ', '.join(MODES)))
    if mode == 'static':
        return False, 'static: the profile\'s rules (history not used)'
    history = '%s of history' % _plural(observed.get('days') or 0, 'day')
    if observed.get('available'):
        return True, '%s: %s: observed' % (mode, history)
    if mode == 'auto':
        return False, 'auto: %s (observed needs %d): static' % (history, observed.get('min_days') or MIN_DAYS)
    return False, ('observed: %s (observed needs %d): static until then'
                   % (history, observed.get('min_days') or MIN_DAYS))


def theil_sen(points):
    """(slope, intercept) of the Theil-Sen line through points [(x, y)]: the median of the slopes
    between every pair, then the median of y - slope x. (None, None) below two distinct x."""
    slopes = sorted((y2 - y1) / float(x2 - x1) for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:]
                    if x2 != x1)
    if not slopes:
        return None, None
    slope = _median(slopes)
    return slope, _median(sorted(y - slope * x for x, y in points))


def _median(ordered):
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


def _current(history, now):
    """(time, count) of the newest sample at or before now, or (None, None)."""
    last = (history or {}).get('last') or {}
    if isinstance(last, dict) and isinstance(last.get('count'), int) and isinstance(last.get('time'), (int, float)) \
            and last['time'] <= now:
        return last['time'], last['count']
    points = _recent(history, now)
    return points[-1] if points else (None, None)


def _recent(history, now):
    """The recent points [(time, peak)] at or before now (what is not a pair of numbers is skipped)."""
    return [(p[0], p[1]) for p in (history or {}).get('recent') or []
            if isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, (int, float)) for x in p)
            and p[0] <= now]


def _daily_basis(used, today, cmax, now):
    """{'seconds', 'slope' (per second), 'basis', 'why'} from the daily peaks."""
    days = [d for d in used if d['peak_time'] >= now - (DAILY_WINDOW + 1) * DAY][-DAILY_WINDOW:]
    out = {'seconds': None, 'slope': None, 'basis': '%s' % _plural(len(days), 'daily peak')}
    if len(days) < DAILY_MIN_DAYS:
        out['why'] = '%s, the daily trend needs %d' % (_plural(len(days), 'complete day'), DAILY_MIN_DAYS)
        return out
    slope, _intercept = theil_sen([(d['peak_time'], d['peak']) for d in days])
    out['slope'] = slope
    out['basis'] = '%d daily peaks %s to %s (Theil-Sen)' % (len(days), days[0]['day'], days[-1]['day'])
    if slope is None or slope <= 0:
        out['why'] = 'daily peaks flat or falling (%s a day)' % _signed(slope or 0.0, DAY)
        return out
    anchor = (days[-1]['peak_time'], days[-1]['peak'])
    if today and isinstance(today.get('peak'), int) and today['peak'] > anchor[1] and today.get('peak_time'):
        anchor = (today['peak_time'], today['peak'])
    seconds = max(anchor[0] + (cmax - anchor[1]) / slope - now, 0.0)
    out['from'] = 'daily peaks grow %s a day; from %s on %s' % (_signed(slope, DAY), _fmt(anchor[1]), _when(anchor[0]))
    return _within_trust(out, seconds, DAILY_TRUST, 'a daily trend')


def _within_trust(out, seconds, trust, what):
    """out with the seconds to full, or why not: beyond what the trend is believed for."""
    if seconds > trust:
        out['why'] = '%s: max in %s, beyond the %s %s is believed for' % (
            out['from'], _duration(seconds), _duration(trust), what)
    else:
        out['seconds'] = seconds
    return out


def _signed(slope, per):
    value = slope * per
    return ('+' if value > 0 else '') + _fmt(value)


def _short_basis(history, used, count_now, cmax, now):
    """{'seconds', 'slope' (per second), 'basis', 'why', 'from'} for the next SHORT_TRUST: yesterday's
    curve from this time of day, shifted to the count now, when the recent points reach back a day
    and the last hour rose no faster than the same hour yesterday; else the last hour's line."""
    recent = _recent(history, now)
    points = [p for p in recent if p[0] >= now - SHORT_WINDOW]
    out = {'seconds': None, 'slope': None, 'basis': '%s per 5 min in the last hour' % _plural(len(points), 'peak')}
    if len(points) < SHORT_MIN_POINTS or count_now is None:
        out['why'] = '%s in the last hour, the short trend needs %d' % (_plural(len(points), 'point'), SHORT_MIN_POINTS)
        return out
    out['slope'] = theil_sen(points)[0]
    yesterday = _yesterday(recent, now)
    if yesterday is not None:
        then, before, ahead = yesterday
        faster = before and points[0][1] and \
            float(count_now) / points[0][1] > float(then) / before * (1 + RISE_TOLERANCE)
        if not faster:
            return _seasonal(out, ahead, count_now, count_now - then, cmax, now)
    return _line(out, used, count_now, cmax, now)


def _yesterday(recent, now):
    """(yesterday's count at this time, an hour before it, [(time, count)] of the SHORT_TRUST after
    it) from the recent points, or None when they do not reach back a day."""
    then, before = _value_at(recent, now - DAY), _value_at(recent, now - DAY - SHORT_WINDOW)
    ahead = [(t + DAY, v) for t, v in recent if now - DAY < t <= now - DAY + SHORT_TRUST]
    return (then, before, ahead) if then is not None and ahead else None


def _seasonal(out, ahead, count_now, shift, cmax, now):
    """Yesterday's curve shifted by what today holds more (or less) at this time: full when it
    comes within SEASONAL_MARGIN of max (days differ by that much) rising above the count now (a
    count that stays where it is fills nothing); the slope is then the average rise to there."""
    out['basis'] += '; yesterday\'s curve for the next %s' % _duration(SHORT_TRUST)
    crossing = [t for t, v in ahead if v + shift >= cmax * (1 - SEASONAL_MARGIN) and v + shift > count_now]
    top = max(v for _t, v in ahead) + shift
    out['from'] = ('yesterday\'s curve from this hour, %s %s today, reaches %s' % (
        _signed(shift, 1), 'entries', _fmt(top)))
    if not crossing:
        out['why'] = ('the last hour rises no faster than the same hour yesterday, and yesterday\'s curve from here '
                      '(%s today) peaks at %s within %s, under max less %d %%'
                      % (_signed(shift, 1), _fmt(top), _duration(SHORT_TRUST), SEASONAL_MARGIN * 100))
        return out
    out['seconds'] = max(crossing[0] - now, 0.0)
    if out['seconds'] > 0:
        out['slope'] = (cmax * (1 - SEASONAL_MARGIN) - count_now) / out['seconds']
    return out


def _line(out, used, count_now, cmax, now):
    """The last hour's Theil-Sen line from the count now, only above every peak of NORMAL_DAYS."""
    slope = out['slope']
    out['basis'] += ' (Theil-Sen)'
    if slope is None or slope <= 0:
        out['why'] = 'the last hour flat or falling (%s an hour)' % _signed(slope or 0.0, 3600)
        return out
    normal = [d['peak'] for d in used if d['peak_time'] >= now - NORMAL_DAYS * DAY]
    if normal and count_now <= max(normal):
        out['why'] = ('the last hour rises (%s an hour) within the peaks of the last %d days (up to %s)'
                      % (_signed(slope, 3600), NORMAL_DAYS, _fmt(max(normal))))
        return out
    seconds = (cmax - count_now) / slope
    out['from'] = 'the last hour rises %s an hour; from %s now' % (_signed(slope, 3600), _fmt(count_now))
    return _within_trust(out, seconds, SHORT_TRUST, "an hour's trend")


def _value_at(points, t):
    """The peak of the recent step nearest to t (at most one step away), or None."""
    near = [(abs(pt - t), v) for pt, v in points if abs(pt - t) <= YESTERDAY_SLACK]
    return min(near)[1] if near else None


def forecast(history, now, cmax, horizon=None):
    """When the table fills at its trend (module docstring). A dict: seconds_to_full and full_at
    (None when it does not fill within what the bases are believed for), slope_per_hour (of the
    basis that answered, else of the last hour, else of the days), method ('full', 'daily',
    'short' or None), basis (the points each basis used), reason; within_horizon and horizon when
    horizon (seconds) is given."""
    t_now, count = _current(history, now)
    result = {'seconds_to_full': None, 'full_at': None, 'slope_per_hour': 0.0, 'method': None, 'count': count,
              'max': cmax, 'basis': '', 'reason': ''}
    if not cmax:
        result['reason'] = 'no max to fill'
    elif count is not None and count >= cmax:
        result.update(seconds_to_full=0.0, full_at=t_now, method='full', basis='the last sample',
                      reason='full now: %s entries, max %s' % (_fmt(count), _fmt(cmax)))
    else:
        used, _gaps, today = daily_peaks(history, now)
        daily = _daily_basis(used, today, cmax, now)
        short = _short_basis(history, used, count, cmax, now)
        _pick(result, daily, short, now, cmax)
    if horizon is not None:
        result['horizon'] = horizon
        result['within_horizon'] = result['seconds_to_full'] is not None and result['seconds_to_full'] <= horizon
    return result


def _pick(result, daily, short, now, cmax):
    """Fill result from the earlier of the two bases, or say why neither fills."""
    result['basis'] = '; '.join((short['basis'], daily['basis']))
    answered = [(b['seconds'], name, b) for name, b in (('short', short), ('daily', daily)) if b['seconds'] is not None]
    if answered:
        seconds, name, basis = min(answered, key=lambda a: a[0])
        result.update(seconds_to_full=seconds, full_at=now + seconds, method=name,
                      slope_per_hour=basis['slope'] * 3600.0)
        result['reason'] = 'full in %s (%s) at this trend: %s, max %s' % (
            _duration(seconds), _when(now + seconds), basis['from'], _fmt(cmax))
        return
    for basis in (short, daily):
        if basis['slope'] is not None:
            result['slope_per_hour'] = basis['slope'] * 3600.0
            break
    result['reason'] = 'not filling: %s; %s' % (short['why'], daily['why'])
