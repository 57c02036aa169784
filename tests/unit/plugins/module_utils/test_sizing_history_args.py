# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_recommend sized from history (issue 24, docs/history.md): its options sizing,
history_source, history and prometheus_* (sizing/args.py), checked with messages that name the
option and what it takes; the history from the facts, from Prometheus (an injected transport:
the real server is tests/prometheus) or none; the fallback to static stated in the sizing, the
warnings and the report; the role's variables checked before anything runs."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import json
import os

import pytest
import yaml

from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as prom, store
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args, observed

import synth

DAY = 86400
T0 = calendar.timegm((2026, 11, 16, 0, 0, 0))
GIB = 1 << 30
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def history(days=10, peak=200000):
    """days of samples every 30 minutes, growing 1 % a day, peaking at 14:00."""
    h = store.empty()
    for day in range(days):
        for t in range(0, DAY, 1800):
            count = int(peak * (1 + 0.01 * day) * (1 if t == 14 * 3600 else 0.5))
            store.record(h, {'time': float(T0 + day * DAY + t), 'boot_id': 'b', 'count': count, 'max': 524288,
                             'counters': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'insert': 0}})
    return h


def facts(h=None):
    f = synth.facts(ram=64 * GIB, count=1000, cmax=262144)
    f['history'] = store.compact(h) if h is not None else None
    return f


NOW = T0 + 10 * DAY + 3600


def recommend(params, f, reader=None):
    """history_for() then compute(), as the action does."""
    params = dict(dict((k, v.get('default')) for k, v in args.HISTORY_SPEC.items()), **params)
    hist, info, err = args.history_for(params, f, 'web1', reader)
    if err:
        return None, err
    return args.compute(dict(params, history=hist, now=NOW), f, 'web1', info)


# ---------------------------------------------------------------- the options

def test_the_spec_repeats_the_readers_choices_and_every_option():
    spec = args.HISTORY_SPEC
    assert spec['prometheus_match']['choices'] == list(prom.MATCHES)
    assert spec['prometheus_metrics']['choices'] == list(prom.METRICS)
    assert spec['sizing']['choices'] == list(observed.MODES)
    assert spec['prometheus_days']['default'] == prom.DEFAULT_DAYS
    assert spec['prometheus_timeout']['default'] == prom.DEFAULT_TIMEOUT
    assert spec['prometheus_max_bytes']['default'] == prom.DEFAULT_MAX_BYTES
    assert set('prometheus_' + name for name in prom.OPTIONS) | {'prometheus_url', 'prometheus_instance'} == \
        set(k for k in spec if k.startswith('prometheus_'))
    assert spec['prometheus_password']['no_log'] and spec['prometheus_bearer_token']['no_log']
    assert set(spec) <= set(args.ARGUMENT_SPEC)


@pytest.mark.parametrize('params, words', [
    ({'history_source': 'prometheus'}, "prometheus_url: required with history_source: prometheus"),
    ({'history_source': 'prometheus', 'prometheus_url': 'prom:9090'}, "prometheus_url: 'prom:9090': give the server's"),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_days': 0},
     'prometheus_days: 0 is outside the allowed range 1-400 days'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_days': 500},
     'prometheus_days: 500 is outside the allowed range 1-400 days'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_step': 7},
     'prometheus_step: 7: seconds that divide a day (60, 300, 600... 86400)'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_label': 'a-b'},
     "prometheus_label: 'a-b' is not a Prometheus label name"),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_timeout': 0},
     'prometheus_timeout: 0 is not a positive number'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_password': 'x'},
     'prometheus_password: a password without prometheus_username'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p:9090', 'prometheus_instance': 'a`b'},
     "prometheus_instance: 'a`b': give the value of label instance"),
    ({'history': ['not', 'a', 'history']}, 'history (from the history option): expected a dict'),
    ({'history': {'days': 'many'}}, 'history (from the history option): "days" is not a list'),
])
def test_bad_history_options_name_the_option_and_what_it_takes(params, words):
    calls = []

    def reader(url, instance):
        calls.append(url)
        return prom.reader(url, instance, fetch=lambda req: pytest.fail('no request with a bad option'),
                           **prom.options_of(dict((k, v) for k, v in params.items())))
    rec, err = recommend(params, facts(history(3)), reader)
    assert rec is None and words in err, err
    assert 'Traceback' not in err


def test_in_the_role_the_messages_name_its_variables():
    message = args.role_terms('prometheus_days: 0 is outside the allowed range 1-400 days; prometheus_url: required '
                              'with history_source: prometheus')
    assert message == ('conntrack_prometheus_days: 0 is outside the allowed range 1-400 days; conntrack_prometheus_url: '
                       'required with conntrack_history_source: prometheus')
    assert args.role_terms('conntrack_prometheus_url') == 'conntrack_prometheus_url'


# ---------------------------------------------------------------- the sources

def test_host_sizes_from_the_facts_history_as_from_the_whole_document():
    h = history(10)
    rec, err = recommend({'sizing': 'auto'}, facts(h))
    assert err is None and rec['sizing']['used'] == 'observed'
    whole = args.compute({'sizing': 'auto', 'history': h, 'now': NOW}, facts(), 'web1')[0]
    assert rec['recommended'] == whole['recommended'] and rec['forecast'] == whole['forecast']
    assert rec['history']['source'] == 'host' and 'history from the host (the facts): 10 days' in \
        rec['history']['statement']
    assert 'sizing: auto: 10 days of history: observed' in rec['report']
    assert any(line.startswith('forecast: ') for line in rec['report'])


def test_the_history_option_wins_over_the_facts():
    rec, _err = recommend({'sizing': 'auto', 'history': store.compact(history(10))}, facts(history(2)))
    assert rec['sizing']['used'] == 'observed' and '(the history option)' in rec['history']['statement']


def test_no_history_on_the_host_is_said():
    rec, _err = recommend({'sizing': 'auto'}, facts(None))
    assert rec['sizing']['used'] == 'static' and rec['forecast'] is None
    assert 'no history of this host in the facts' in rec['history']['statement']


def test_none_reads_no_history():
    rec, _err = recommend({'sizing': 'auto', 'history_source': 'none'}, facts(history(10)))
    assert rec['sizing']['used'] == 'static' and rec['forecast'] is None and rec['history']['source'] == 'none'


def answering(status, body, calls):
    def fetch(req):
        calls.append(req)
        return status, body
    return fetch


def matrix(h):
    """The answer Prometheus would give for h's samples (node_exporter's names, 300 s steps)."""
    series = {'node_nf_conntrack_entries': [], 'node_nf_conntrack_entries_limit': []}
    for point in h['recent']:
        series['node_nf_conntrack_entries'].append([point[0] + 300, str(point[1])])
        series['node_nf_conntrack_entries_limit'].append([point[0] + 300, '524288'])
    return json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': [
        {'metric': {prom.SERIES_LABEL: name, 'instance': 'web1:9100'}, 'values': values}
        for name, values in series.items()]}}).encode()


def test_prometheus_is_one_request_and_the_result_says_where_from():
    calls = []
    params = {'sizing': 'auto', 'history_source': 'prometheus', 'prometheus_url': 'https://u:pw@prom:9090',
              'prometheus_days': 2}

    def reader(url, instance):
        return prom.reader(url, instance, fetch=answering(200, matrix(history(2)), calls), now=NOW,
                           **prom.options_of(params))
    rec, err = recommend(params, facts(None), reader)
    assert err is None and len(calls) == 1 and 'web1' in calls[0]['url']
    info = rec['history']
    assert info['source'] == 'prometheus' and info['fallback'] is None and info['instance'] == 'web1'
    assert info['prometheus']['requests'] == 1 and 'pw' not in json.dumps(info['prometheus'])
    assert info['document']['compact'] and info['document']['source'] == 'prometheus'
    assert 'history from Prometheus at https://prom:9090' in info['statement']
    assert rec['sizing']['used'] == 'static' and 'observed needs 7' in rec['sizing']['statement']


@pytest.mark.parametrize('status, body, kind', [
    (500, b'boom', 'http'),
    (200, b'<html>hello</html>', 'not_json'),
    (200, json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': []}}).encode(), 'empty'),
])
def test_a_failed_read_falls_back_to_static_and_says_so(status, body, kind):
    params = {'sizing': 'auto', 'history_source': 'prometheus', 'prometheus_url': 'http://prom:9090'}

    def reader(url, instance):
        return prom.reader(url, instance, fetch=answering(status, body, []), now=NOW)
    rec, err = recommend(params, facts(history(10)), reader)
    assert err is None
    assert rec['history']['fallback'] == 'static' and rec['history']['error_kind'] == kind
    assert rec['sizing']['used'] == 'static' and rec['sizing']['fallback'] == 'static'
    assert rec['sizing']['statement'].startswith('auto: no history from Prometheus (')
    assert rec['forecast'] is None
    assert any(w.startswith('history_source prometheus: no history from Prometheus') for w in rec['warning_messages'])
    assert any(line.startswith('sizing: auto: no history from Prometheus') for line in rec['report'])


# ---------------------------------------------------------------- the role's variables

def role_check(variables):
    with open(os.path.join(REPO, 'roles', 'conntrack', 'defaults', 'main.yml')) as f:
        given = yaml.safe_load(f)
    given.update(variables)
    with open(os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as f:
        spec = {}
        for entry in yaml.safe_load(f)['argument_specs'].values():  # every entry point's, as the action reads them
            spec.update(entry.get('options') or {})
    return args.check_role_variables(spec, dict((k, v) for k, v in given.items() if k in spec), list(given))


@pytest.mark.parametrize('variables, words', [
    ({'conntrack_history_source': 'grafana'}, "conntrack_history_source: the string 'grafana' is not one of host, "
                                              "prometheus, none"),
    ({'conntrack_sizing': 'observe'}, "conntrack_sizing: the string 'observe' is not one of static, observed, auto"),
    ({'conntrack_prometheus_metrics': 'netdata'}, "conntrack_prometheus_metrics: the string 'netdata' is not one of "
                                                  "node_exporter, nfct"),
    ({'conntrack_prometheus_days': 'many'}, "conntrack_prometheus_days: expected an integer, got the string 'many'"),
    ({'conntrack_history_source': 'prometheus'}, 'conntrack_prometheus_url: required with conntrack_history_source: '
                                                 'prometheus'),
    ({'conntrack_prometheus_headers': ['X: 1']}, 'conntrack_prometheus_headers: expected a dict'),
])
def test_the_roles_variables_are_checked_in_its_words(variables, words):
    errors = role_check(variables)
    assert errors and words in errors[0], errors


def test_the_roles_defaults_and_a_prometheus_source_pass():
    assert role_check({}) == []
    assert role_check({'conntrack_history_source': 'prometheus', 'conntrack_prometheus_url': 'http://p:9090',
                       'conntrack_sizing': 'auto'}) == []
