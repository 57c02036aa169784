# -*- coding: utf-8 -*-
"""history/store.py: the host's history of its table, bounded whatever its age."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import math

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.history import store

DAY = 86400


def sample(t, count, boot='b1', cmax=262144, **counters):
    base = dict(drop=0, early_drop=0, insert_failed=0, insert=0)
    base.update(counters)
    return {'time': float(t), 'boot_id': boot, 'count': count, 'max': cmax, 'counters': base}


def test_a_year_of_minute_samples_stays_under_64_kib():
    history = store.empty()
    t0 = 1767225600  # 2026-01-01
    inserted = 0
    for minute in range(0, 365 * 24 * 60, 1):
        t = t0 + 60 * minute
        # a diurnal table with growth and a reboot a month
        count = int(200000 + 150000 * math.sin(2 * math.pi * (t % DAY) / DAY) + minute // 20)
        inserted += 3000
        history = store.record(history, sample(t, count, boot='b%d' % (minute // (30 * 1440)), insert=inserted))
    text = store.dumps(history)
    assert len(text.encode()) <= 64 * 1024, len(text)
    assert len(history['days']) == store.DAYS_KEPT
    assert len(history['recent']) == store.RECENT_POINTS
    assert store.parse(text) == json.loads(text)


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
