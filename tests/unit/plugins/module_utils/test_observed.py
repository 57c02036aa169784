# -*- coding: utf-8 -*-
"""sizing/observed.py: the max the host's history asks for, which sizing is used, and when the
table fills (docs/history.md)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.nfct.tuning.plugins.module_utils.history import store
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed

DAY = 86400
HOUR = 3600
T0 = calendar.timegm((2026, 11, 16, 0, 0, 0))
SETTINGS = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sample(t, count, cmax=524288, drop=0):
    return {'time': float(t), 'boot_id': 'b1', 'count': int(count), 'max': cmax,
            'counters': {'drop': drop, 'early_drop': 0, 'insert_failed': 0, 'insert': 0}}


def history_of(peaks, start=T0, peak_hour=14, step=HOUR, low=0.3):
    """One day per peak: a sample every `step` seconds, low x peak at night, the peak at peak_hour."""
    h = store.empty()
    for day, peak in enumerate(peaks):
        for t in range(0, DAY, step):
            value = peak if t == peak_hour * HOUR else int(peak * low + peak * (1 - low) * 0.5 * (
                1 + math.cos(2 * math.pi * (t - peak_hour * HOUR) / DAY)) * 0.9)
            store.record(h, sample(start + day * DAY + t, value))
    return h


def after(n_days, start=T0, hour=1):
    """A time on the day after n_days complete days."""
    return start + n_days * DAY + hour * HOUR


# ------------------------------------------------------------------ observed_max

@pytest.mark.parametrize('peaks,days,pct_peak,multiplier,value', [
    # 14 equal days: the peak; x 1.15 x (1 + 1/14) = 492,857.1, rounded up to 1,024
    ([400000] * 14, 14, 400000, 1 + 1 / 14.0, 493568),
    # 7 days, the minimum; yesterday's high peak weighs half of everything: p99 is it
    ([100000] * 6 + [200000], 7, 200000, 1 + 1 / 7.0, 263168),
    # a high peak 10 days ago weighs less than 1 % (half-life a day): p99 is the week's highest
    ([100000] * 4 + [500000] + [100000] * 5 + [120000] + [100000] * 3, 14, 120000, 1 + 1 / 14.0, 148480),
    # the highest peak 3 days ago still counts
    ([100000] * 11 + [300000, 100000, 100000], 14, 300000, 1 + 1 / 14.0, 369664),
])
def test_the_value_is_the_weighted_percentile_x_headroom_x_confidence(peaks, days, pct_peak, multiplier, value):
    result = observed.observed_max(history_of(peaks), after(len(peaks)))
    assert result['available'] and result['why_not'] is None
    assert (result['days'], result['percentile_peak'], result['value']) == (days, pct_peak, value)
    assert result['multiplier'] == pytest.approx(multiplier)
    assert result['value'] % 1024 == 0 and result['value'] >= pct_peak * 1.15 * multiplier


def test_the_reason_names_every_number_and_the_highest_peak():
    peaks = [380000] * 13 + [412300]
    reason = observed.observed_max(history_of(peaks), after(14))['reason']
    assert reason.startswith('p99 of 14 daily peaks (weighted by age, half-life 1 day) 412,300 x 1.15 headroom x 1.07 '
                             'for 14 days of history = 508,012, rounded up to 508,928')
    assert 'highest peak 412,300 on 2026-11-29 14:00 UTC' in reason


@pytest.mark.parametrize('n,why', [
    (0, '0 complete days of history, observed sizing needs 7'),
    (1, '1 complete day of history, observed sizing needs 7'),
    (6, '6 complete days of history, observed sizing needs 7'),
])
def test_too_little_history_is_not_available_and_says_why(n, why):
    result = observed.observed_max(history_of([100000] * n), after(n))
    assert not result['available'] and result['value'] is None and result['why_not'] == why
    assert result['reason'].startswith(why)


def test_today_is_reported_not_used():
    h = history_of([100000] * 8)
    for t in range(0, 15 * HOUR, HOUR):
        store.record(h, sample(T0 + 8 * DAY + t, 300000))
    result = observed.observed_max(h, T0 + 8 * DAY + 15 * HOUR)
    assert result['days'] == 8 and result['percentile_peak'] == 100000 and result['today_peak'] == 300000
    assert 'today so far 300,000 at 2026-11-24 00:00 UTC, above every day before' in result['reason']


def test_days_with_gaps_future_days_and_drops():
    h = history_of([100000] * 8)
    h['days'][2]['first'], h['days'][2]['last'] = h['days'][2]['last'] - 3 * HOUR, h['days'][2]['last']
    h['days'][3]['drop'] = 12
    h['days'].append(dict(h['days'][-1], day='2027-01-01', peak=10 ** 6))  # a clock that was ahead
    result = observed.observed_max(h, after(8), min_days=5)
    assert (result['days'], result['gaps'], result['dropped_days'], result['peak']) == (7, 1, 1, 100000)
    assert '1 day with gaps left out' in result['reason']
    assert 'the table dropped on 1 day of these: the need was higher than their peak' in result['reason']


def test_days_written_without_first_and_last_count_by_their_samples():
    h = history_of([100000] * 7)
    for day in h['days']:
        del day['first'], day['last']
    h['days'][0]['samples'] = observed.OLD_DAY_SAMPLES - 1
    assert observed.observed_max(h, after(7), min_days=1)['days'] == 6


@pytest.mark.parametrize('kwargs,what', [
    ({'percentile': 0}, 'percentile'), ({'percentile': 1.5}, 'percentile'), ({'headroom': 0.9}, 'headroom'),
    ({'min_days': 0}, 'min_days'), ({'half_life': 0}, 'half_life'),
])
def test_bad_parameters_are_refused_by_name(kwargs, what):
    with pytest.raises(ValueError, match=what):
        observed.observed_max(store.empty(), T0, **kwargs)


def test_any_document_shape_is_read_without_a_crash():
    for history in (None, {}, {'days': None}, {'days': [None, 3, {'day': None}, {'day': '2026-11-01', 'peak': 'x'}]},
                    {'days': [{'day': '2026-11-01', 'peak': 5, 'peak_time': 'noon'}], 'recent': [None, [1], ['a', 2]],
                     'last': {'time': 'now', 'count': 3}}, {'last': [1, 2], 'recent': 'abc'}):
        assert observed.observed_max(history, T0)['available'] is False
        assert observed.forecast(history, T0, 1000)['seconds_to_full'] is None


@settings(**SETTINGS)
@given(st.lists(st.integers(min_value=0, max_value=4 * 10 ** 6), min_size=7, max_size=30),
       st.floats(min_value=0.5, max_value=1.0), st.floats(min_value=1.0, max_value=3.0))
def test_the_value_is_never_below_the_percentile_peak(peaks, percentile, headroom):
    h = history_of(peaks, step=2 * HOUR)
    result = observed.observed_max(h, after(len(peaks)), percentile=percentile, headroom=headroom)
    assert result['available'] and result['percentile_peak'] in peaks
    assert result['value'] >= result['percentile_peak'] * headroom * result['multiplier'] - 1e-6
    assert result['value'] - result['percentile_peak'] * headroom * result['multiplier'] < 1024 + 1e-6
    assert min(peaks) <= result['percentile_peak'] <= max(peaks)


@settings(**SETTINGS)
@given(st.integers(min_value=1, max_value=59))
def test_the_multiplier_shrinks_as_the_history_grows(n):
    short = observed.observed_max(history_of([1000] * n, step=12 * HOUR), after(n), min_days=1)
    longer = observed.observed_max(history_of([1000] * (n + 1), step=12 * HOUR), after(n + 1), min_days=1)
    assert short['multiplier'] > longer['multiplier'] > 1 and short['multiplier'] == pytest.approx(1 + 1.0 / n)


# ------------------------------------------------------------------ choose

@pytest.mark.parametrize('mode,days,use,statement', [
    ('static', 30, False, "static: the profile's rules (history not used)"),
    ('auto', 14, True, 'auto: 14 days of history: observed'),
    ('auto', 2, False, 'auto: 2 days of history (observed needs 7): static'),
    ('observed', 14, True, 'observed: 14 days of history: observed'),
    ('observed', 1, False, 'observed: 1 day of history (observed needs 7): static until then'),
])
def test_choose_says_which_sizing_and_why(mode, days, use, statement):
    assert observed.choose(mode, {'available': days >= 7, 'days': days, 'min_days': 7}) == (use, statement)


def test_choose_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="conntrack_sizing 'vpa': one of static, observed, auto"):
        observed.choose('vpa', {})


# ------------------------------------------------------------------ forecast

def test_a_growing_table_fills_at_the_trend_of_its_daily_peaks():
    peaks = [100000 + 10000 * d for d in range(10)]     # +10,000 a day, 190,000 yesterday at 14:00
    now = after(10, hour=2)
    result = observed.forecast(history_of(peaks), now, 262144, horizon=7 * DAY)
    assert result['method'] == 'daily' and result['within_horizon']
    expected = T0 + 9 * DAY + 14 * HOUR + (262144 - 190000) / 10000.0 * DAY
    assert result['full_at'] == pytest.approx(expected, abs=60)
    assert result['slope_per_hour'] == pytest.approx(10000 / 24.0)
    assert '7 daily peaks 2026-11-19 to 2026-11-25 (Theil-Sen)' in result['basis']
    assert result['reason'].startswith('full in 6 days 17 h (2026-12-02 19:08 UTC) at this trend: daily peaks grow '
                                       '+10,000 a day; from 190,000 on 2026-11-25 14:00 UTC, max 262,144')
    assert observed.forecast(history_of(peaks), now, 262144, horizon=DAY)['within_horizon'] is False


def test_one_odd_day_does_not_move_the_daily_trend():
    peaks = [100000 + 10000 * d for d in range(9)] + [40000]   # yesterday a holiday
    result = observed.forecast(history_of(peaks), after(10), 262144)
    assert result['slope_per_hour'] == pytest.approx(10000 / 24.0)


@pytest.mark.parametrize('peaks', [[200000] * 10, [200000 - 1000 * d for d in range(10)], [5] * 10])
def test_a_flat_or_falling_table_does_not_fill(peaks):
    result = observed.forecast(history_of(peaks, step=300), after(len(peaks), hour=10), 262144, horizon=30 * DAY)
    assert result['seconds_to_full'] is None and result['full_at'] is None and result['within_horizon'] is False
    assert result['reason'].startswith('not filling: ')


@settings(**SETTINGS)
@given(st.integers(min_value=0, max_value=10 ** 6), st.integers(min_value=1, max_value=2 * 10 ** 6),
       st.integers(min_value=1, max_value=4 * DAY // 300))
def test_a_constant_count_never_fills(count, cmax, points):
    h = store.empty()
    for i in range(points):
        store.record(h, sample(T0 + 300 * i, count))
    result = observed.forecast(h, T0 + 300 * (points - 1), cmax, horizon=DAY)
    assert result['within_horizon'] is (count >= cmax)
    assert result['seconds_to_full'] == (0.0 if count >= cmax else None)


def test_a_full_table_is_full_now():
    h = store.record(store.empty(), sample(T0, 262144))
    result = observed.forecast(h, T0 + 10, 262144, horizon=HOUR)
    assert (result['seconds_to_full'], result['method'], result['within_horizon']) == (0.0, 'full', True)
    assert result['reason'] == 'full now: 262,144 entries, max 262,144'


def test_no_max_no_forecast():
    assert observed.forecast(store.empty(), T0, 0)['reason'] == 'no max to fill'


def test_a_rise_into_new_heights_fills_at_the_last_hours_line():
    h = history_of([100000] * 3)
    now = T0 + 3 * DAY + 2 * HOUR
    for i in range(13):      # from 150,000, +60,000 an hour, at 02:00 when yesterday was quiet
        store.record(h, sample(now - HOUR + 300 * i, 150000 + 5000 * i))
    result = observed.forecast(h, now, 262144, horizon=6 * HOUR)
    assert result['method'] == 'short' and result['within_horizon']
    assert result['seconds_to_full'] == pytest.approx((262144 - 210000) / 60000.0 * HOUR, rel=0.01)
    assert 'the last hour rises +60,000 an hour; from 210,000 now' in result['reason']


def test_the_usual_morning_rise_of_a_daily_pattern_does_not_fill():
    """Yesterday rose the same way at this hour and peaked at 200,000: no alarm with max 262,144,
    although the last hour's line reaches it in 3 hours."""
    h = history_of([200000] * 8, step=300)
    now = after(8, hour=10)
    yesterday = [v for _t, v in h['recent'][-288:]]
    for t in range(0, 10 * HOUR + 1, 300):
        store.record(h, sample(T0 + 8 * DAY + t, yesterday[t // 300]))
    result = observed.forecast(h, now, 262144, horizon=DAY)
    assert result['seconds_to_full'] is None, result['reason']
    assert "yesterday's curve from here" in result['reason']


def test_the_same_rise_toward_a_smaller_max_fills_by_yesterdays_curve():
    h = history_of([200000] * 8, step=300)
    now = after(8, hour=10)
    yesterday = [v for _t, v in h['recent'][-288:]]
    for t in range(0, 10 * HOUR + 1, 300):
        store.record(h, sample(T0 + 8 * DAY + t, yesterday[t // 300] + 20000))
    result = observed.forecast(h, now, 215000, horizon=DAY)
    assert result['method'] == 'short' and result['within_horizon'] and 0 < result['seconds_to_full'] <= 6 * HOUR
    assert "yesterday's curve from this hour, +20,000 entries today, reaches 220,000" in result['reason']
