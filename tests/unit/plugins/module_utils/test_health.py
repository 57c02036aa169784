# -*- coding: utf-8 -*-
"""audit/health.py: the table's health kinds, the window they cover, and their evidence."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nfct.tuning.plugins.module_utils.audit import health

BOOT = 'b1'


def snap(t, count=100, cmax=1000, boot=BOOT, **counters):
    base = dict(drop=0, early_drop=0, insert_failed=0, invalid=0, search_restart=0)
    base.update(counters)
    return {'time': float(t), 'boot_id': boot, 'count': count, 'max': cmax, 'counters': base}


def run(last, recorded=None, first=None, uptime=86400 * 30, threshold=0.75):
    start, window = health.baseline(recorded, first, last, uptime)
    return health.evaluate(last, start, window, threshold)


@pytest.mark.parametrize('count,cmax,kinds', [
    (100, 1000, []),
    (749, 1000, []),
    (750, 1000, ['high_usage']),
    (999, 1000, ['high_usage']),
    (1000, 1000, ['full', 'high_usage']),
    (1003, 1000, ['full', 'high_usage']),   # a namespace's count can pass a max lowered under it
    (0, 1000, []),
])
def test_usage_kinds(count, cmax, kinds):
    assert run(snap(100, count, cmax), first=snap(99, count, cmax))['kinds'] == kinds


def test_a_host_that_dropped_weeks_ago_and_is_quiet_now_is_healthy():
    # big counters since boot, none of them moving during the run's sample
    first = snap(1000, drop=5000, early_drop=20, insert_failed=300)
    last = snap(1001, drop=5000, early_drop=20, insert_failed=300)
    result = run(last, first=first)
    assert result['kinds'] == [] and result['window']['source'] == 'sample'


def test_a_host_dropping_now_fails_with_the_evidence_and_the_window():
    first = snap(1000, drop=5000)
    last = snap(1002, count=1000, drop=5120, insert_failed=3)
    result = run(last, first=first)
    assert result['kinds'] == ['full', 'high_usage', 'dropping']
    assert result['evidence']['dropping'].startswith('drop +120, insert_failed +3 in the last 2 s (a sample of 2.0 s')
    assert result['window'] == {'source': 'sample', 'seconds': 2.0, 'since': 1000.0,
                                'why': 'a sample of 2.0 s inside this run'}


def test_a_flooded_table_just_below_max_is_full_when_the_kernel_counted_drops_now():
    # under a flood, evictions and expiries keep the count a little below max at the sample
    result = run(snap(1001, count=2998, cmax=3000, drop=900, early_drop=40), first=snap(1000, count=3000, cmax=3000))
    assert result['kinds'][:1] == ['full'] and 'dropping' in result['kinds']
    assert result['evidence']['full'].startswith('the table reached max 3000 in the last 1 s')
    assert result['evidence']['full'].endswith('count 2998 now')
    # clashes (e.g. DNS over UDP from one socket on two CPUs) say nothing about max, although an
    # unresolvable one counts a drop with its insert_failed
    result = run(snap(1001, count=10, cmax=3000, insert_failed=5), first=snap(1000, count=10, cmax=3000))
    assert result['kinds'] == ['dropping']
    result = run(snap(1001, count=10, cmax=3000, drop=5, insert_failed=5), first=snap(1000, count=10, cmax=3000))
    assert result['kinds'] == ['dropping']
    result = run(snap(1001, count=2990, cmax=3000, drop=50, insert_failed=5), first=snap(1000, count=10, cmax=3000))
    assert 'full' in result['kinds'] and 'drop +45' in result['evidence']['full']
    # since boot, drops say the table was full once, not that it is now
    result = run(snap(1001, count=10, cmax=3000, drop=900), uptime=3600)
    assert result['window']['source'] == 'boot' and 'full' not in result['kinds']


def test_the_recorded_sample_of_this_boot_is_the_window_when_recent():
    recorded = snap(1000, drop=10)
    last = snap(1060, drop=11)
    result = run(last, recorded=recorded, first=snap(1059, drop=11))
    assert result['window']['source'] == 'recorded' and result['window']['seconds'] == 60.0
    assert result['kinds'] == ['full', 'dropping'] and 'drop +1 in the last 1 min 0 s' in result['evidence']['dropping']


@pytest.mark.parametrize('recorded', [
    snap(1000, drop=10, boot='other'),             # another boot: its counters mean nothing now
    snap(1060 - health.MAX_RECORDED_AGE - 1, drop=10),   # too old to say "now"
    snap(1070, drop=10),                           # from the future (a clock that jumped)
    {'time': 1000, 'boot_id': BOOT, 'counters': None},
])
def test_a_recorded_sample_that_does_not_describe_now_is_not_used(recorded):
    result = run(snap(1060, drop=11), recorded=recorded, first=snap(1059, drop=11))
    assert result['window']['source'] == 'sample' and result['kinds'] == []


def test_without_any_sample_the_counters_since_boot_are_labelled_as_such():
    result = run(snap(1000, drop=7), uptime=3 * 86400)
    assert result['window']['source'] == 'boot' and result['window']['seconds'] == 3 * 86400
    assert result['kinds'] == ['dropping']
    assert result['evidence']['dropping'] == 'drop +7 since boot (3.0 d ago; no recent sample)'


def test_a_counter_reset_counts_from_zero():
    assert health.growth(snap(1, drop=500), snap(2, drop=3))['drop'] == 3


def test_invalid_and_search_restart_are_reported_kinds():
    result = run(snap(2, invalid=40, search_restart=2), first=snap(1))
    assert result['kinds'] == ['invalid', 'search_restart']
    assert not set(result['kinds']) & set(health.DEFAULT_FAIL_ON)


def test_hosts_without_counters_check_the_usage_only():
    last = {'time': 2.0, 'boot_id': BOOT, 'count': 900, 'max': 1000, 'counters': {}}
    result = run(last, first=dict(last, time=1.0))
    assert result['kinds'] == ['high_usage'] and result['counters'] is False
    assert 'only the usage was checked' not in ' '.join(health.lines(result))
    quiet = run(dict(last, count=1), first=dict(last, count=1, time=1.0))
    assert 'only the usage was checked' in health.lines(quiet)[0]


def test_sample_takes_the_facts_counters():
    stats = {'source': 'procfs', 'drop': 1, 'early_drop': 0, 'insert_failed': 2, 'invalid': 3, 'search_restart': 4,
             'found': 9, 'insert': 70}
    facts = {'count': 5, 'max': 10, 'stats': stats}
    assert health.sample(facts, 12, 'x') == {'time': 12.0, 'boot_id': 'x', 'count': 5, 'max': 10, 'counters': {
        'drop': 1, 'early_drop': 0, 'insert_failed': 2, 'invalid': 3, 'search_restart': 4, 'insert': 70}}
    assert health.sample({'stats': {'source': 'none'}}, 1)['counters'] == {}


@pytest.mark.parametrize('value,ok', [(0.75, 0.75), ('0.9', 0.9), (1, 1.0)])
def test_threshold_accepted(value, ok):
    assert health.check_threshold(value) == ok


@pytest.mark.parametrize('value', [0, 1.5, -1, 'x', None, True, 75])
def test_threshold_refused_names_the_range(value):
    with pytest.raises(ValueError, match='usage_threshold: .*0.05-1'):
        health.check_threshold(value)


counters = st.fixed_dictionaries(dict((name, st.integers(0, 10 ** 9)) for name in
                                      health.DROP_COUNTERS + health.REPORTED_COUNTERS))


@settings(max_examples=300, deadline=None)
@given(before=counters, after=counters, count=st.integers(0, 10 ** 7), cmax=st.integers(1, 10 ** 7),
       gap=st.floats(0.1, 10 ** 6), threshold=st.floats(0.05, 1.0))
def test_properties(before, after, count, cmax, gap, threshold):
    first = {'time': 0.0, 'boot_id': BOOT, 'count': count, 'max': cmax, 'counters': before}
    last = {'time': gap, 'boot_id': BOOT, 'count': count, 'max': cmax, 'counters': after}
    result = run(last, first=first, threshold=threshold)
    grew = result['growth']
    assert all(v >= 0 for v in grew.values())
    # dropping exactly when a drop counter moved in the window; every kind has its evidence
    assert ('dropping' in result['kinds']) == any(grew[name] > 0 for name in health.DROP_COUNTERS)
    assert set(result['evidence']) == set(result['kinds'])
    # full: at max now, or the kernel counted an insert that found it at max within the window
    assert ('full' in result['kinds']) == (count >= cmax or grew['drop'] > grew['insert_failed'] or grew['early_drop'] > 0)
    if count >= cmax:
        assert 'high_usage' in result['kinds']
    assert set(result['kinds']) <= set(health.KINDS)


def test_the_alert_rules_use_the_audits_usage_threshold():
    """One value for the audit's high_usage, the metrics and the alert rules: the node_exporter
    group's literal and the writer group's fallback are the default threshold."""
    import os
    import re
    import yaml
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'prometheus', 'nfct-conntrack.rules.yml')) as f:
        groups = yaml.safe_load(f)['groups']
    rules = dict((r['alert'], r['expr']) for g in groups for r in g['rules'])
    node = re.search(r'>= ([0-9.]+)$', rules['ConntrackNodeTableHigh'].strip())
    assert float(node.group(1)) == health.DEFAULT_USAGE_THRESHOLD
    assert 'nfct_conntrack_usage_threshold' in rules['ConntrackTableHigh']
    fallback = re.search(r'\+ ([0-9.]+)\)', rules['ConntrackTableHigh'])
    assert float(fallback.group(1)) == health.DEFAULT_USAGE_THRESHOLD


def test_a_window_under_a_second_is_said_in_tenths():
    """The in-run sample's default (0.3 s) reads as such, not as 'in the last 0 s'."""
    assert health._duration(0.3) == '0.3 s' and health._duration(1.0) == '1 s' and health._duration(2.4) == '2 s'


@pytest.mark.parametrize('forecast, kinds, filling', [
    # the trend of the history has passed max already while the table is not full: filling now
    # (it was left out, seconds_to_full 0 being false: the audit said nothing after ~16:00 UTC on
    # a history whose daily peaks rise at 14:00)
    ({'seconds_to_full': 0.0, 'method': 'daily', 'within_horizon': True, 'reason': 'r'}, [], 'full already'),
    ({'seconds_to_full': 3600.0, 'method': 'short', 'within_horizon': True, 'reason': 'r'}, [], 'full in 1.0 h'),
    ({'seconds_to_full': 0.0, 'method': 'full', 'within_horizon': True, 'reason': 'r'}, [], None),   # full: kind full
    ({'seconds_to_full': 0.0, 'method': 'daily', 'within_horizon': True, 'reason': 'r'}, ['full'], None),
    ({'seconds_to_full': 9e6, 'method': 'daily', 'within_horizon': False, 'reason': 'r'}, [], None),
    ({'seconds_to_full': None, 'method': None, 'within_horizon': False, 'reason': 'r'}, [], None),
])
def test_filling_from_the_forecast(forecast, kinds, filling):
    got = health.with_forecast({'kinds': list(kinds), 'evidence': {}}, forecast)
    assert ('filling' in got['kinds']) is (filling is not None)
    if filling:
        assert got['evidence']['filling'].startswith(filling + ' at the trend of the history'), got['evidence']
