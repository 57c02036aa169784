# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's history in the facts, the audit and its report (issue 24, docs/history.md): the
compact document conntrack_facts returns (sizing and the forecast from it equal those from the
whole file), read only (a damaged file is reported, never moved); the forecast in the facts;
conntrack_audit's history option (the role's read of Prometheus, its fallback); the forecast in
the report's JSON (schema v2) and on the HTML page."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import json
import os
import time

import jsonschema
import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _entry, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _html, report as _report
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather
from ansible_collections.nfct.tuning.plugins.module_utils.history import store
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed
from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts

import audit_synth
import hosts
from modrun import invoke

DAY = 86400
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
META = {'collection_version': '0.3.0', 'ansible_core_version': '2.19.14'}


def growing(days, end=None, every=300, start=100000, per_day=12000, cmax=262144):
    """A host whose daily peaks grow per_day a day, up to end (now by default)."""
    end = end or time.time()
    h = store.empty()
    t = end - days * DAY
    while t < end:
        age = (t - (end - days * DAY)) / DAY
        count = int((start + per_day * age) * (0.7 + 0.3 * abs(((t % DAY) / DAY) - 0.5) * 2))
        store.record(h, {'time': t, 'boot_id': 'b', 'count': count, 'max': cmax,
                         'counters': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'insert': int(t)}})
        t += every
    return h


# ---------------------------------------------------------------- the compact document

def test_compact_is_what_sizing_and_the_forecast_need_and_parse_reads_it_back():
    h = growing(20)
    c = store.compact(h)
    assert store.parse(store.dumps(c)) == c and c['compact'] and c['histogram']['weights'] == {} and c['events'] == []
    now = h['last']['time'] + 60
    assert observed.observed_max(c, now) == observed.observed_max(h, now)
    assert observed.forecast(c, now, 262144, 86400) == observed.forecast(h, now, 262144, 86400)
    assert len(store.dumps(c)) < len(store.dumps(h)) and len(store.dumps(c)) < 24 * 1024
    assert store.compact(store.empty()) is None and store.compact(None) is None


def test_the_facts_carry_the_history_read_only(tmp_path):
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    path = '/var/lib/nfct-tuning/history.json'
    assert gather.gather(root=root, probes=probes, history_path=path)['history'] is None
    os.makedirs(root + os.path.dirname(path))
    h = growing(10)
    with open(root + path, 'w') as f:
        f.write(store.dumps(h))
    facts = gather.gather(root=root, probes=probes, history_path=path)
    assert facts['history'] == store.compact(h) and facts['history_warning'] is None
    assert 'history' not in gather.gather(root=root, probes=probes)
    for damaged in (b'{"format": "x"}', b'\xff\xfe not utf-8', b'[1, 2'):
        with open(root + path, 'wb') as f:
            f.write(damaged)
        facts = gather.gather(root=root, probes=probes, history_path=path)
        assert facts['history'] is None and 'is not a usable history' in facts['history_warning']
        assert sorted(os.listdir(root + os.path.dirname(path))) == ['history.json'], 'read only: nothing moved'


def test_conntrack_facts_returns_the_history_and_the_forecast(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    path = '/var/lib/nfct-tuning/history.json'
    os.makedirs(root + os.path.dirname(path))
    with open(root + path, 'w') as f:
        f.write(store.dumps(growing(10)))
    invoke(conntrack_facts, {'history_path': path}, root=root, probes=probes)
    out = json.loads(capsys.readouterr().out)['ansible_facts']['conntrack']
    assert out['history']['compact'] and len(out['history']['days']) >= 10
    assert out['forecast']['max'] == out['max'] and out['forecast']['reason']
    invoke(conntrack_facts, {'history_path': ''}, root=root, probes=probes)
    out = json.loads(capsys.readouterr().out)['ansible_facts']['conntrack']
    assert out['history'] is None and out['forecast'] is None
    with open(root + path, 'w') as f:
        f.write('not json')
    invoke(conntrack_facts, {'history_path': path}, root=root, probes=probes)
    result = json.loads(capsys.readouterr().out)
    assert result['ansible_facts']['conntrack']['history'] is None
    assert 'is not a usable history' in result['ansible_facts']['conntrack']['history_warning']


# ---------------------------------------------------------------- the audit and its report

def test_the_audit_takes_the_history_the_role_read_or_its_fallback():
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit

    class Module(object):
        def fail_json(self, msg):
            raise AssertionError(msg)
    h = store.compact(growing(10), 'prometheus')
    assert conntrack_audit.given_history(Module(), h) == (store.parse(store.dumps(h)), None)
    assert conntrack_audit.given_history(Module(), {}) == (store.empty(), None)
    assert conntrack_audit.given_history(Module(), {'fallback': 'no history from Prometheus (x)'}) == \
        (store.empty(), 'no history from Prometheus (x)')
    with pytest.raises(AssertionError) as e:
        conntrack_audit.given_history(Module(), {'days': 'x'})
    assert str(e.value).startswith('history: not a history of nfct.tuning')


def fleet_with_forecasts():
    """audit_synth's fleet, two hosts with a forecast: one filling within the horizon, one not."""
    results = audit_synth.fleet(12)
    now = calendar.timegm((2026, 12, 5, 12, 0, 0))
    filling = observed.forecast(growing(10, end=now, start=110000, per_day=14000), now, 262144, 86400)
    calm = observed.forecast(growing(10, end=now, per_day=0), now, 1048576, 86400)
    assert filling['within_horizon'] and filling['seconds_to_full'] > 3600 and calm['seconds_to_full'] is None
    for name, forecast, where in (('host-0001', filling, 'Prometheus (read on the controller)'),
                                  ('host-0002', calm, '/var/lib/nfct-tuning/history.json')):
        health = {'kinds': [], 'evidence': {}, 'window': {'source': 'sample', 'seconds': 1.0, 'why': 'a sample'},
                  'usage': {'count': 1, 'max': 262144, 'ratio': 0.0, 'threshold': 0.75}, 'growth': {},
                  'counters': True}
        _health.with_forecast(health, dict(forecast, history=where))
        results[name]['audit']['health'] = _entry.health_entry(health)
    return results


def test_the_forecast_is_in_the_report_and_its_schema():
    report = _report.build(fleet_with_forecasts(), sorted(fleet_with_forecasts()), meta=META)
    with open(os.path.join(REPO, 'schemas', 'conntrack-audit-report-v2.schema.json')) as f:
        schema = json.load(f)
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(json.dumps(report)))
    forecast = report['hosts']['host-0001']['health']['forecast']
    assert forecast['within_horizon'] and forecast['history'] == 'Prometheus (read on the controller)'
    assert 'filling' in report['hosts']['host-0001']['health']['kinds']


def test_the_html_page_shows_time_to_full_trend_and_history():
    page = _html.to_html(_report.build(fleet_with_forecasts(), sorted(fleet_with_forecasts()), meta=META))
    assert page.count('<p class="forecast') == 2
    filling = page[page.index('<p class="forecast warn">'):]
    filling = filling[:filling.index('</p>')]
    assert 'forecast: <b>full in ' in filling and 'entries an hour' in filling
    assert '(daily peaks)' in filling or '(the last hours)' in filling
    assert 'history: Prometheus (read on the controller)' in filling
    calm = page[page.index('<p class="forecast">'):]
    calm = calm[:calm.index('</p>')]
    assert 'forecast: not filling; trend ' in calm and 'history: /var/lib/nfct-tuning/history.json' in calm
    assert '<i>(not filling: ' in calm
