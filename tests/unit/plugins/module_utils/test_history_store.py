# -*- coding: utf-8 -*-
"""history/store.py: the host's history of its table, bounded whatever its age."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import math
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.history import file as history_file, store

DAY = 86400


def sample(t, count, boot='b1', cmax=262144, **counters):
    base = dict(drop=0, early_drop=0, insert_failed=0, insert=0)
    base.update(counters)
    return {'time': float(t), 'boot_id': boot, 'count': count, 'max': cmax, 'counters': base}


def test_a_year_of_minute_samples_stays_under_64_kib():
    """525,600 samples through record() (about 5 s): a diurnal table that grows, a reboot a month,
    drops, and a relieve event every other day (the events list full)."""
    history = store.empty()
    t0 = 1767225600  # 2026-01-01
    inserted = dropped = 0
    for minute in range(0, 365 * 24 * 60, 1):
        t = t0 + 60 * minute
        count = int(200000 + 150000 * math.sin(2 * math.pi * (t % DAY) / DAY) + minute // 20)
        inserted += 3000
        dropped += minute % 7
        history = store.record(history, sample(t, count, boot='b%d' % (minute // (30 * 1440)), insert=inserted,
                                               drop=dropped))
        if minute % (2 * 1440) == 0:
            store.record_event(history, RELIEVE_EVENT)
    text = store.dumps(history)
    assert len(text.encode()) <= 64 * 1024, len(text)
    assert len(history['days']) == store.DAYS_KEPT
    assert len(history['recent']) == store.RECENT_POINTS
    assert len(history['events']) == store.EVENTS_KEPT
    assert store.parse(text) == json.loads(text)


RELIEVE_EVENT = {'time': 1767225600.123, 'what': 'relieve', 'boot_id': '0123456789abcdef0123456789abcdef',
                 'max_before': 262144, 'max_after': 524288,
                 'timeouts': {'tcp_timeout_established': [432000, 86400], 'tcp_timeout_time_wait': [120, 60],
                              'tcp_timeout_close_wait': [60, 30], 'udp_timeout_stream': [120, 60]}}


def test_the_largest_document_record_can_leave_stays_under_64_kib():
    """Whatever its age, a history holds at most DAYS_KEPT days, RECENT_POINTS points, EVENTS_KEPT
    events and one weight per histogram bucket up to the largest max (2^28 entries): every part
    at its bound, every number as wide as it gets, is the largest file there is."""
    wide = 2 ** 28 - 1
    t = 4102444799.123456  # 2099-12-31
    doc = store.empty()
    names = ('drop', 'early_drop', 'insert_failed', 'insert', 'found', 'invalid', 'ignore', 'search_restart',
             'clash_resolve', 'chaintoolong', 'icmp_error', 'expect_new', 'expect_create', 'expect_delete')
    counters = dict((name, 10 ** 15 + 7) for name in names)
    doc['last'] = {'time': t, 'boot_id': 'f' * 36, 'count': wide, 'max': wide, 'counters': counters}
    doc['days'] = [{'day': '2099-12-%02d' % (1 + i % 28), 'peak': wide, 'peak_time': t, 'max': wide,
                    'samples': 86400, 'drop': 10 ** 15, 'early_drop': 10 ** 15, 'insert_failed': 10 ** 15,
                    'new_rate_peak': 12345678.123, 'first': int(t), 'last': int(t)} for i in range(store.DAYS_KEPT)]
    doc['recent'] = [[int(t), wide]] * store.RECENT_POINTS
    doc['events'] = [dict(RELIEVE_EVENT, time=t)] * store.EVENTS_KEPT
    doc['histogram'].update(updated=t, weights=dict((str(i), 1.0 / 3) for i in range(store.bucket(2 ** 28) + 1)))
    doc['behind'] = {'since': t}
    text = store.dumps(doc)
    assert len(text.encode()) <= 64 * 1024, len(text)
    assert store.parse(text) == doc


def test_days_keep_the_peak_and_when_and_the_drops():
    h = store.empty()
    h = store.record(h, sample(1000, 10, drop=5))
    h = store.record(h, sample(1060, 50, drop=9, insert=600))
    h = store.record(h, sample(1120, 20, drop=9, insert=1200))
    day = h['days'][0]
    assert (day['peak'], day['peak_time'], day['samples']) == (50, 1060.0, 3)
    assert day['drop'] == 4              # growth after the first sample, not the counter since boot
    assert day['new_rate_peak'] == 10.0   # 600 inserts in 60 s


def test_a_reboot_restarts_the_counters():
    h = store.record(store.empty(), sample(1000, 10, drop=500))
    h = store.record(h, sample(1060, 10, boot='b2', drop=3, insert=100))
    assert h['days'][0]['drop'] == 3 and h['days'][0]['new_rate_peak'] is None


def test_a_counter_that_goes_down_counts_from_zero():
    h = store.record(store.empty(), sample(1000, 10, drop=500))
    h = store.record(h, sample(1060, 10, drop=7))
    assert h['days'][0]['drop'] == 7


def test_a_long_gap_gives_no_rate():
    h = store.record(store.empty(), sample(1000, 10, insert=0))
    h = store.record(h, sample(1000 + store.MAX_GAP + 1, 10, insert=10 ** 6))
    assert h['days'][0]['new_rate_peak'] is None


def test_a_clock_that_jumps_back_replaces_last_only():
    h = store.record(store.empty(), sample(5000, 100))
    before = json.loads(store.dumps(h))
    h = store.record(h, sample(4000, 999))
    assert h['last']['time'] == 4000.0 and h['days'] == before['days'] and h['recent'] == before['recent']


def test_histogram_decays_with_a_half_life_of_a_day():
    h = store.record(store.empty(), sample(0, 100000))
    h = store.record(h, sample(DAY, 100000))
    weights = h['histogram']['weights']
    assert weights == {str(store.bucket(100000)): 1.5}


@pytest.mark.parametrize('value', [0, 1023, 1024, 1075, 1076, 262144, 4194304, 2 ** 28])
def test_buckets_are_five_percent_wide(value):
    index = store.bucket(value)
    assert store.bucket_start(index) <= value
    if index:
        assert value < store.bucket_start(index + 1) + 1
        assert store.bucket_start(index + 1) <= math.ceil(store.bucket_start(index) * store.BUCKET_RATIO) + 1


@pytest.mark.parametrize('text,why', [
    ('{', 'not JSON'),
    ('[]', 'not a history of nfct.tuning'),
    ('{"format": "something else"}', 'not a history of nfct.tuning'),
    ('{"format": "%s", "version": 99}' % store.FORMAT, 'version 99'),
    ('{"format": "%s", "version": 1, "days": {}, "recent": [], "histogram": {}}' % store.FORMAT, '"days" is not a list'),
    ('x' * (store.MAX_BYTES + 1), 'more than a history ever takes'),
])
def test_a_foreign_or_damaged_file_is_refused_with_the_reason(text, why):
    with pytest.raises(store.HistoryError, match=why):
        store.parse(text)


def test_no_file_is_an_empty_history():
    assert store.parse(None) == store.empty()


def test_days_keep_when_their_samples_start_and_end():
    h = store.record(store.empty(), sample(DAY + 60.7, 10))
    h = store.record(h, sample(2 * DAY - 1, 20))
    assert (h['days'][0]['first'], h['days'][0]['last']) == (DAY + 60, 2 * DAY - 1)


# ------------------------------------------------------------------ a clock that jumps

def test_a_clock_behind_for_a_moment_costs_no_history():
    """A host that boots with its clock years behind (no RTC) and sets it a few minutes later."""
    h = store.empty()
    for i in range(60):
        h = store.record(h, sample(10 * DAY + 60 * i, 100 + i))
    before = json.loads(store.dumps(h))
    for i in range(10):
        h = store.record(h, sample(60 * i, 5))     # 1970
    assert h['days'] == before['days'] and h['recent'] == before['recent'] and h['behind'] == {'since': 0.0}
    h = store.record(h, sample(10 * DAY + 3600, 500))
    assert 'behind' not in h and h['days'][-1]['peak'] == 500 and len(h['days']) == 1


def test_a_clock_that_stays_behind_drops_the_history_it_is_behind():
    """A host whose clock ran a week ahead, then was corrected: after BEHIND_LIMIT behind, the days
    that were ahead go and recording goes on from the corrected clock."""
    h = store.empty()
    for day in range(8):
        h = store.record(h, sample(day * DAY + 50000, 1000 + day))
    t = 2 * DAY + 1000
    for i in range(store.BEHIND_LIMIT // 60 + 1):
        h = store.record(h, sample(t + 60 * i, 77))
    assert [d['day'] for d in h['days']] == ['1970-01-01', '1970-01-02', '1970-01-03']
    assert h['days'][-1]['peak'] == 1002 and h['days'][-1]['samples'] == 2
    assert h['recent'][-1] == [int(t + store.BEHIND_LIMIT) // 300 * 300, 77] and 'behind' not in h
    assert all(p[0] <= t + store.BEHIND_LIMIT for p in h['recent'])


# ------------------------------------------------------------------ parts record() could not use

@pytest.mark.parametrize('change,why', [
    (lambda d: d['days'].append({'day': 3}), 'day 0 of "days" is not a day of ours'),
    (lambda d: d['days'].append('2026-01-01'), 'day 0 of "days" is not a day of ours'),
    (lambda d: d['days'].append(dict(DAY_ENTRY, peak='12')), 'day 0 of "days" is not a day of ours'),
    (lambda d: d['days'].append(dict(DAY_ENTRY, drop=None)), 'day 0 of "days" is not a day of ours'),
    (lambda d: d['recent'].append([1, 2, 3]), 'point 0 of "recent" is not'),
    (lambda d: d['recent'].append(['1', 2]), 'point 0 of "recent" is not'),
    (lambda d: d['histogram'].update(weights=[]), '"histogram" has no weights'),
    (lambda d: d['histogram'].update(updated='now'), '"histogram" has no weights'),
    (lambda d: d['histogram'].update(half_life=0), '"histogram" has no weights'),
    (lambda d: d.update(last={'count': 3}), '"last" has no time'),
    (lambda d: d.update(last={'time': 3, 'counters': [1]}), 'its counters are not an object'),
    (lambda d: d.update(events=['relieve']), '"events" holds something else'),
])
def test_parts_record_could_not_use_are_refused(change, why):
    doc = store.empty()
    change(doc)
    with pytest.raises(store.HistoryError, match=why):
        store.parse(json.dumps(doc))


DAY_ENTRY = {'day': '2026-01-01', 'peak': 5, 'peak_time': 1.0, 'max': 9, 'samples': 1, 'drop': 0, 'early_drop': 0,
             'insert_failed': 0, 'new_rate_peak': None}


def test_what_record_writes_is_read_back():
    h = store.record(store.empty(), sample(1000, 10, drop=5))
    store.record_event(h, {'time': 1001, 'what': 'relieve'})
    assert store.parse(store.dumps(h)) == json.loads(store.dumps(h))


# ------------------------------------------------------------------ the file (history/file.py)

class Module(object):
    def atomic_move(self, src, dest):
        os.rename(src, dest)


def aside_files(folder):
    return sorted(n for n in os.listdir(folder) if '.damaged-' in n)


def test_record_creates_the_file_atomically(tmp_path):
    path = str(tmp_path / 'var/lib/nfct-tuning/history.json')
    previous, warning = history_file.record(Module(), path, sample(1000, 10))
    assert previous is None and warning is None
    previous, warning = history_file.record(Module(), path, sample(1060, 20))
    assert previous['count'] == 10 and warning is None
    assert os.listdir(os.path.dirname(path)) == ['history.json']    # no temporary file left
    with open(path) as f:
        assert store.parse(f.read())['days'][0]['peak'] == 20


@pytest.mark.parametrize('content,why', [
    (b'{"half": ', 'not JSON'),
    (b'\xff\xfe\x00garbage', 'not UTF-8 text'),
    (b'{"format": "somebody else"}', 'not a history of nfct.tuning'),
    (json.dumps(dict(store.empty(), recent=[[1]])).encode(), 'point 0 of "recent" is not'),
])
def test_a_damaged_file_is_kept_aside_and_a_new_history_starts(tmp_path, content, why):
    path = tmp_path / 'history.json'
    path.write_bytes(content)
    previous, warning = history_file.record(Module(), str(path), sample(1000, 10))
    assert previous is None and why in warning and 'kept as %s.damaged-' % path in warning
    assert warning.endswith('a new history starts')
    [aside] = aside_files(str(tmp_path))
    assert (tmp_path / aside).read_bytes() == content
    assert store.parse(path.read_text())['last']['count'] == 10


def test_a_folder_where_the_file_goes_is_moved_aside(tmp_path):
    (tmp_path / 'history.json').mkdir()
    history, warning = history_file.load(str(tmp_path / 'history.json'))
    assert history == store.empty() and 'not a regular file' in warning and len(aside_files(str(tmp_path))) == 1


def test_two_damaged_files_in_the_same_second_keep_both(tmp_path):
    path = tmp_path / 'history.json'
    for content in ('first', 'second'):
        path.write_text(content)
        history_file.load(str(path))
    kept = aside_files(str(tmp_path))
    assert len(kept) == 2 and sorted((tmp_path / n).read_text() for n in kept) == ['first', 'second']


def test_a_history_record_cannot_extend_is_moved_aside_too(tmp_path, monkeypatch):
    path = tmp_path / 'history.json'
    history_file.record(Module(), str(path), sample(1000, 10))
    real = store.record
    calls = []

    def failing_once(history, s):
        calls.append(1)
        if len(calls) == 1:
            raise TypeError('something record() did not expect')
        return real(history, s)
    monkeypatch.setattr(store, 'record', failing_once)
    previous, warning = history_file.record(Module(), str(path), sample(1060, 20))
    assert previous is None and 'cannot be extended: TypeError' in warning
    assert store.parse(path.read_text())['last']['count'] == 20 and len(aside_files(str(tmp_path))) == 1
