# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine sized from the host's history (issue 24, docs/history.md): sizing static, observed
and auto; the profile's floor, the live count, the memory budget, only_raise and kube-proxy keep
their say; every number explained; the forecast beside the values."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.history import store
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine, inputs

import synth

DAY = 86400
T0 = calendar.timegm((2026, 11, 16, 0, 0, 0))
GIB = 1 << 30


def history(peaks, cmax=524288, low=0.4):
    """One day per peak: a sample every 30 min, the peak at 14:00, low x peak otherwise."""
    h = store.empty()
    for day, peak in enumerate(peaks):
        for t in range(0, DAY, 1800):
            count = peak if t == 14 * 3600 else int(peak * low)
            store.record(h, {'time': float(T0 + day * DAY + t), 'boot_id': 'b', 'count': count, 'max': cmax,
                             'counters': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'insert': 0}})
    return h


def now_after(days):
    return T0 + days * DAY + 3600


def rec(f, **kw):
    return engine.recommend(f, **kw)


@pytest.mark.parametrize('mode,days,used', [
    ('static', 14, 'static'), ('auto', 14, 'observed'), ('observed', 14, 'observed'),
    ('auto', 3, 'static'), ('observed', 3, 'static'),
])
def test_which_sizing_is_used_and_said(mode, days, used):
    f = synth.facts(ram=64 * GIB, count=1000, cmax=262144)
    r = rec(f, sizing=mode, history=history([100000] * days), now=now_after(days), only_raise=False)
    assert r['sizing']['mode'] == mode and r['sizing']['used'] == used
    assert r['sizing']['statement']
    if used == 'observed':
        assert 'p99 of' in r['values']['max']['reason'] and "host's history" in r['values']['max']['source']
    else:
        assert 'p99 of' not in r['values']['max']['reason']


def test_the_observed_value_is_what_the_history_asks_for_and_explained():
    f = synth.facts(ram=64 * GIB, count=1000, cmax=262144)
    r = rec(f, profile='default', sizing='auto', history=history([100000] * 14), now=now_after(14), only_raise=False)
    obs = r['sizing']['observed']
    assert r['recommended']['max'] == obs['value'] >= 100000 * 1.15
    assert obs['reason'] in r['values']['max']['reason']
    # fewer entries reserved than the static rule on this over-provisioned host
    static = rec(f, profile='default', only_raise=False)
    assert r['recommended']['max'] < static['recommended']['max']


def test_never_below_the_profiles_minimum():
    f = synth.facts(ram=64 * GIB, count=100, cmax=262144)
    r = rec(f, profile='web', sizing='auto', history=history([2000] * 14), now=now_after(14), only_raise=False)
    assert r['recommended']['max'] >= 262144 and 'profile minimum' in r['values']['max']['reason']


def test_never_below_the_live_count_with_headroom():
    f = synth.facts(ram=64 * GIB, count=500000, cmax=1048576)
    r = rec(f, sizing='auto', history=history([300000] * 14), now=now_after(14), only_raise=False)
    assert r['recommended']['max'] >= 500000 * 1.15
    assert 'live count 500000 x headroom 1.15' in r['values']['max']['reason']


def test_never_above_the_memory_budget():
    f = synth.facts(ram=1 * GIB, count=1000, cmax=65536)
    r = rec(f, sizing='auto', history=history([3000000] * 14), now=now_after(14), only_raise=False)
    assert r['memory']['within_budget'] and r['memory']['bytes_at_recommended_max'] <= r['memory']['budget_bytes']
    assert r['recommended']['max'] < 3000000


def test_only_raise_keeps_the_live_max():
    f = synth.facts(ram=64 * GIB, count=1000, cmax=1048576)
    r = rec(f, sizing='auto', history=history([100000] * 14), now=now_after(14))
    assert r['recommended']['max'] == 1048576


def test_a_bad_mode_names_the_option():
    f = synth.facts(ram=8 * GIB)
    with pytest.raises(inputs.ProfileError, match='conntrack_sizing'):
        rec(f, sizing='sometimes', history=history([1000] * 8), now=now_after(8))


def test_a_forecast_comes_with_a_history():
    f = synth.facts(ram=64 * GIB, count=1000, cmax=262144)
    grows = history([50000 + 20000 * d for d in range(10)], cmax=262144)
    r = rec(f, sizing='static', history=grows, now=now_after(10))
    assert r['forecast'] is not None and r['forecast']['seconds_to_full'] > 0
    assert rec(f)['forecast'] is None
