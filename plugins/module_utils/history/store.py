# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table's history on the host (docs/history.md): one JSON file under /var/lib, written by
the metrics timer and by every tune or relieve run, read by the audit (the window of its health
kinds) and by the sizing from history. Pure functions over the document; the callers read and
write the file (read_text / save, atomic and durable).

What it keeps, bounded whatever its age (a year of one-minute samples stays under 64 KiB):
  last       the last sample: time, boot id, count, max and the kernel's counters;
  days       per UTC day, the newest DAYS_KEPT: the peak count (and when), the largest max, the
             growth of drop / early_drop / insert_failed, the peak rate of new entries, and the
             times of the day's first and last samples (how much of the day they cover: sizing
             from history counts a day only when its samples span most of it);
  recent     the peak count per RECENT_STEP seconds for the last RECENT_POINTS steps (the trend a
             forecast extrapolates);
  events     the newest EVENTS_KEPT changes made by relieve (time, max before and after, the
             timeouts shortened), which the audit names when such a value is not persisted;
  histogram  the peak of every sample in exponential buckets (each 5 % wider than the one before),
             each weight halving every HALF_LIFE seconds: the recent past counts most, as in
             Kubernetes' VPA recommender (kubernetes/autoscaler, recommender/util/histogram.go).

Counters reset at a reboot (a new boot id) and when they go down: the growth of such an interval
is the new value. A gap longer than MAX_GAP adds no rate. A clock that jumped backwards (a sample
older than the newest one recorded) replaces `last` and changes nothing else, so that a clock
that is wrong for a moment (a host that boots before its clock is set) costs no history; when
the clock stays behind for BEHIND_LIMIT, the history it is behind came from a clock that was
ahead: the days and the recent points after the sample are dropped, and recording goes on.

The document is checked when read (parse): a file that is not ours, or whose parts are not what
record() writes, is a HistoryError (history/file.py moves it aside), never a crash later.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import math
import time

PATH = '/var/lib/nfct-tuning/history.json'
FORMAT = 'nfct.tuning conntrack history'
VERSION = 1
DAYS_KEPT = 60
RECENT_STEP = 300
# 26 hours: the last day, and the hour before the same time yesterday (the forecast compares the
# last hour's rise with the same hour yesterday)
RECENT_POINTS = 312
HALF_LIFE = 86400.0
BUCKET_FIRST = 1024
BUCKET_RATIO = 1.05
MAX_GAP = 3600
EVENTS_KEPT = 20
# a clock behind the newest sample recorded for this long is believed (the newer history dropped)
BEHIND_LIMIT = 6 * 3600
DROP_COUNTERS = ('drop', 'early_drop', 'insert_failed')
# what any one document may weigh: a bigger file is not ours, or damaged
MAX_BYTES = 1 << 20


class HistoryError(ValueError):
    """The file is not a history of ours (foreign, damaged, another version)."""


def empty():
    return {'format': FORMAT, 'version': VERSION, 'last': None, 'days': [], 'recent': [], 'events': [],
            'histogram': {'half_life': HALF_LIFE, 'first': BUCKET_FIRST, 'ratio': BUCKET_RATIO, 'updated': None,
                          'weights': {}}}


def parse(text):
    """The history in text, or HistoryError saying why it is not one."""
    if text is None:
        return empty()
    if len(text) > MAX_BYTES:
        raise HistoryError('%d bytes, more than a history ever takes (%d)' % (len(text), MAX_BYTES))
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise HistoryError('not JSON (%s)' % e)
    if not isinstance(doc, dict) or doc.get('format') != FORMAT:
        raise HistoryError('not a history of nfct.tuning (no "format": "%s")' % FORMAT)
    if doc.get('version') != VERSION:
        raise HistoryError('version %r, this collection reads version %d' % (doc.get('version'), VERSION))
    for key, kind in (('days', list), ('recent', list), ('histogram', dict)):
        if not isinstance(doc.get(key), kind):
            raise HistoryError('"%s" is not a %s' % (key, kind.__name__))
    if doc.get('last') is not None and not isinstance(doc['last'], dict):
        raise HistoryError('"last" is not an object')
    if not isinstance(doc.setdefault('events', []), list):
        raise HistoryError('"events" is not a list')
    _check_parts(doc)
    return doc


def _number(value, none=False):
    return (value is None and none) or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _check_parts(doc):
    """HistoryError naming the first part that record() or the readers could not use."""
    if doc['last'] is not None and not (_number(doc['last'].get('time'))
                                        and isinstance(doc['last'].get('counters') or {}, dict)):
        raise HistoryError('"last" has no time or its counters are not an object')
    for i, day in enumerate(doc['days']):
        ok = isinstance(day, dict) and isinstance(day.get('day'), str) and isinstance(day.get('samples'), int) \
            and all(_number(day.get(k), none=True)
                    for k in ('peak', 'peak_time', 'max', 'new_rate_peak', 'first', 'last')) \
            and all(_number(day.get(k)) for k in DROP_COUNTERS)
        if not ok:
            raise HistoryError('day %d of "days" is not a day of ours: %.80s' % (i, json.dumps(day)))
    for i, point in enumerate(doc['recent']):
        if not (isinstance(point, list) and len(point) == 2 and _number(point[0]) and _number(point[1])):
            raise HistoryError('point %d of "recent" is not [time, peak]: %.80s' % (i, json.dumps(point)))
    histogram = doc['histogram']
    weights = histogram.get('weights')
    if not isinstance(weights, dict) or not all(_number(w) for w in weights.values()) \
            or not _number(histogram.get('updated'), none=True) \
            or not (_number(histogram.get('half_life', HALF_LIFE)) and histogram.get('half_life', HALF_LIFE) > 0):
        raise HistoryError('"histogram" has no weights or no time')
    if not all(isinstance(event, dict) for event in doc['events']):
        raise HistoryError('"events" holds something else than events')


# the parts of a day that sizing and the forecast read (sizing/observed.py), and its max and counters
COMPACT_DAY = ('day', 'peak', 'peak_time', 'max', 'samples', 'first', 'last') + DROP_COUNTERS


def compact(history, source=None):
    """The history as the facts carry it (ansible_facts.conntrack.history): the last sample's time,
    boot id, count and max, the days without their rate of new entries, the 5-minute points; no
    histogram and no events (sizing from history and the forecast read neither). parse() reads it
    back, and sizing and the forecast from it equal those from the whole document. source: where
    it came from (None: the host's file). None when the history holds no sample."""
    if not history or not (history.get('days') or history.get('recent') or history.get('last')):
        return None
    last = history.get('last') or None
    doc = empty()
    doc.update(compact=True, source=source,
               last=dict((k, last.get(k)) for k in ('time', 'boot_id', 'count', 'max')) if last else None,
               days=[dict((k, day[k]) for k in COMPACT_DAY if k in day) for day in history.get('days') or []],
               recent=[list(point) for point in history.get('recent') or []])
    return doc


def dumps(history):
    return json.dumps(history, sort_keys=True, separators=(',', ':')) + '\n'


def bucket(value):
    """The histogram bucket of a peak: 0 below BUCKET_FIRST, then one per 5 % more."""
    if value < BUCKET_FIRST:
        return 0
    return 1 + int(math.floor(math.log(float(value) / BUCKET_FIRST) / math.log(BUCKET_RATIO)))


def bucket_start(index):
    return 0 if index == 0 else int(math.ceil(BUCKET_FIRST * BUCKET_RATIO ** (index - 1)))


def record(history, sample):
    """Add sample {'time', 'boot_id', 'count', 'max', 'counters'} to history (changed in place,
    and returned)."""
    last = history.get('last')
    if _behind(history, sample):
        history['last'] = sample  # the clock went back: counters continue from here, nothing else
        return history
    grew, rate = _growth(last, sample)
    _add_day(history, sample, grew, rate)
    _add_recent(history, sample)
    _add_histogram(history['histogram'], sample)
    history['last'] = sample
    return history


def _behind(history, sample):
    """True when sample is older than the newest one recorded and the clock has not stayed behind
    for BEHIND_LIMIT yet (history['behind'] notes since when); when it has, the history newer
    than the sample is dropped and False returned."""
    t = sample['time']
    recorded = history['histogram'].get('updated')
    if history['recent']:
        recorded = max(recorded or 0, history['recent'][-1][0])
    if recorded is None or t >= recorded:
        history.pop('behind', None)
        return False
    behind = history.get('behind')
    if not isinstance(behind, dict) or not isinstance(behind.get('since'), (int, float)) or behind['since'] > t:
        history['behind'] = {'since': t}
        return True
    if t - behind['since'] < BEHIND_LIMIT:
        return True
    day = _day_of(t)
    history['days'] = [d for d in history['days'] if d['day'] <= day]
    history['recent'] = [p for p in history['recent'] if p[0] <= t]
    history['histogram']['updated'] = t
    history.pop('behind', None)
    return False


def record_event(history, event):
    """Add an event {'time', 'what', ...} (a relieve) to history (in place; the newest EVENTS_KEPT)."""
    events = history.setdefault('events', [])
    events.append(event)
    del events[:-EVENTS_KEPT]
    return history


def last_event(history, what):
    """The newest event of a kind, or None."""
    for event in reversed((history or {}).get('events') or []):
        if event.get('what') == what:
            return event
    return None


def _growth(last, sample):
    """({counter: growth}, new entries per second or None) since the last sample."""
    counters = sample.get('counters') or {}
    if not last:
        return {}, None
    same_boot = last.get('boot_id') == sample.get('boot_id')
    before = (last.get('counters') or {}) if same_boot else {}
    grew = {}
    for name in DROP_COUNTERS + ('insert',):
        now_value = counters.get(name)
        if not isinstance(now_value, int):
            continue
        old = before.get(name) if isinstance(before.get(name), int) else 0
        grew[name] = now_value - old if now_value >= old else now_value
    seconds = sample['time'] - float(last.get('time') or 0)
    rate = None
    if same_boot and 0 < seconds <= MAX_GAP and 'insert' in grew:
        rate = round(grew['insert'] / seconds, 3)
    return grew, rate


def _day_of(t):
    return time.strftime('%Y-%m-%d', time.gmtime(t))


def _add_day(history, sample, grew, rate):
    day = _day_of(sample['time'])
    days = history['days']
    if not days or days[-1]['day'] != day:
        days.append({'day': day, 'peak': None, 'peak_time': None, 'max': None, 'samples': 0,
                     'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'new_rate_peak': None})
    entry = days[-1]
    entry['samples'] += 1
    entry.setdefault('first', int(sample['time']))
    entry['last'] = int(sample['time'])
    count, cmax = sample.get('count'), sample.get('max')
    if isinstance(count, int) and (entry['peak'] is None or count > entry['peak']):
        entry['peak'], entry['peak_time'] = count, sample['time']
    if isinstance(cmax, int) and (entry['max'] is None or cmax > entry['max']):
        entry['max'] = cmax
    for name in DROP_COUNTERS:
        entry[name] += grew.get(name, 0)
    if rate is not None and (entry['new_rate_peak'] is None or rate > entry['new_rate_peak']):
        entry['new_rate_peak'] = rate
    del days[:-DAYS_KEPT]


def _add_recent(history, sample):
    count = sample.get('count')
    if not isinstance(count, int):
        return
    step = int(sample['time'] // RECENT_STEP) * RECENT_STEP
    recent = history['recent']
    if recent and recent[-1][0] == step:
        recent[-1][1] = max(recent[-1][1], count)
    elif not recent or step > recent[-1][0]:
        recent.append([step, count])
    del recent[:-RECENT_POINTS]


def _add_histogram(histogram, sample):
    count = sample.get('count')
    if not isinstance(count, int):
        return
    t = sample['time']
    updated = histogram.get('updated')
    weights = histogram['weights']
    if updated is not None and t > updated:
        factor = 0.5 ** ((t - updated) / histogram.get('half_life', HALF_LIFE))
        least = 1e-4 / factor
        histogram['weights'] = weights = {k: w * factor for k, w in weights.items() if w >= least}
    histogram['updated'] = t if updated is None else max(t, updated)
    key = str(bucket(count))
    weights[key] = round(weights.get(key, 0.0) + 1.0, 6)
