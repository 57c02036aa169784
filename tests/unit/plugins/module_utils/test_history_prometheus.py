# -*- coding: utf-8 -*-
"""history/prometheus.py: the history read from Prometheus, with an injected fetch (the real
server is in tests/prometheus/test_prometheus_history.py): the query, the step and range, every
error, the conversion to the host's history document."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import socket
import ssl
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as prom
from ansible_collections.nfct.tuning.plugins.module_utils.history import store
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import exposition

NOW = 1767225600 + 10 * 86400 + 1234  # 2026-01-11, a little after midnight
URL = 'http://prom.example:9090'
NODE = dict((field, name) for field, name, _fn in prom.FAMILIES['node_exporter'])


def matrix(series):
    """A query_range answer: series is [(name, labels, [(t, value)])]."""
    result = [{'metric': dict(labels, nfct_metric=name), 'values': [[t, str(v)] for t, v in values]}
              for name, labels, values in series]
    return json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': result}}).encode()


def answering(status, body, calls=None):
    def fetch(req):
        if calls is not None:
            calls.append(req)
        return status, body
    return fetch


def raising(exc):
    def fetch(req):
        raise exc
    return fetch


def one_host(values_by_field, labels=None):
    return matrix([(NODE[f], labels or {'instance': 'web1:9100', 'job': 'node'}, v)
                   for f, v in sorted(values_by_field.items())])


GOOD = one_host({'count': [(NOW - 600, 10), (NOW - 300, 20)], 'max': [(NOW - 600, 262144), (NOW - 300, 262144)]})


# --------------------------------------------------------------------------- the query

@pytest.mark.parametrize('days, step', [(1, 60), (7, 60), (7.6, 60), (8, 300), (30, 300), (38, 300), (39, 600),
                                        (60, 600), (76, 600), (77, 900), (400, 3600)])
def test_the_step_keeps_the_range_within_11000_points(days, step):
    assert prom.step_for(days) == step
    start, end, got = prom.window(days, now=NOW)
    assert got == step and end % step == 0 and start % step == 0
    assert (end - start) // step <= prom.MAX_POINTS and end - start >= days * 86400
    assert end <= NOW < end + step


@pytest.mark.parametrize('instance, match, expected', [
    ('web1', 'port', 'instance=~`web1(:[0-9]+)?`'),
    ('db2.example.com', 'port', r'instance=~`db2\.example\.com(:[0-9]+)?`'),
    ('[fe80::1]', 'port', r'instance=~`\[fe80::1\](:[0-9]+)?`'),
    ('web1:9100', 'exact', 'instance="web1:9100"'),
    ('web[12]:.*', 'regex', 'instance=~`web[12]:.*`'),
])
def test_the_instance_matches_with_or_without_a_port(instance, match, expected):
    assert prom.instance_matcher('instance', instance, match) == expected


def test_the_query_names_every_series_of_the_family_in_one_expression():
    q = prom.query('web1', label='nodename', metrics='nfct', step=300, matchers='job="node"')
    names = [name for _f, name, _fn in prom.FAMILIES['nfct']]
    assert q.count(' or ') == len(names) - 1
    for _field, name, fn in prom.FAMILIES['nfct']:
        assert 'label_replace(%s(%s{nodename=~`web1(:[0-9]+)?`, job="node"}[300s]), "nfct_metric", "%s", "", "")' % (
            fn, name, name) in q
    assert 'max_over_time(nfct_conntrack_entries' in q and 'last_over_time(nfct_conntrack_drop_total' in q


def test_the_nfct_family_is_what_the_writer_exposes():
    exposed = set(exposition.PREFIX + name + ('_total' if kind == 'counter' and not name.endswith('_total') else '')
                  for name, kind, _h in exposition.FAMILIES)
    assert set(name for _f, name, _fn in prom.FAMILIES['nfct']) <= exposed
    assert [f for f, _n, _fn in prom.FAMILIES['nfct']][:2] == ['count', 'max']


@pytest.mark.parametrize('url, endpoint', [
    ('http://p:9090', 'http://p:9090/api/v1/query_range'),
    ('https://p.example/prometheus/', 'https://p.example/prometheus/api/v1/query_range'),
    ('http://p:9090/api/v1', 'http://p:9090/api/v1/query_range'),
    ('http://p:9090/api/v1/query_range', 'http://p:9090/api/v1/query_range'),
])
def test_the_endpoint_is_under_the_base_url(url, endpoint):
    assert prom.api_url(url) == endpoint


def test_credentials_in_the_url_stay_out_of_the_metadata():
    assert prom.public_url('https://bob:secret@p:9090/x') == 'https://p:9090/x'
    req, meta = prom.request('https://bob:secret@p:9090', 'web1', now=NOW)
    assert 'secret' not in json.dumps(meta) and req['url'].startswith('https://bob:secret@p:9090/api/v1/query_range?')


@pytest.mark.parametrize('options, words', [
    ({'url': 'prom:9090'}, "prometheus_url: 'prom:9090': give the server's base URL"),
    ({'url': 'file:///etc/passwd'}, 'prometheus_url: '),
    ({'instance': ''}, "prometheus_instance: '': give the value of label instance"),
    ({'instance': 'a`b'}, 'prometheus_instance: '),
    ({'label': 'in-stance'}, "prometheus_label: 'in-stance' is not a Prometheus label name"),
    ({'metrics': 'netdata'}, "prometheus_metrics: 'netdata' is not one of node_exporter, nfct"),
    ({'match': 'fuzzy'}, "prometheus_match: 'fuzzy' is not one of port, exact, regex"),
    ({'match': 'regex', 'instance': 'web(1'}, "prometheus_instance: 'web(1' is not a regular expression"),
    ({'matchers': '{job="node"}'}, 'prometheus_matchers: \'{job="node"}\': give label matchers without braces'),
    ({'days': 0}, 'prometheus_days: 0 is outside the allowed range 1-400 days'),
    ({'days': 401}, 'prometheus_days: 401 is outside the allowed range 1-400 days'),
    ({'days': True}, 'prometheus_days: True is outside the allowed range 1-400 days'),
    ({'step': 7}, 'prometheus_step: 7: seconds that divide a day'),
    ({'step': 60, 'days': 30}, "prometheus_step: 60 s over 30 days is 43200 points, more than Prometheus's 11000"),
    ({'timeout': 0}, 'prometheus_timeout: 0 is not a positive number'),
    ({'max_bytes': -1}, 'prometheus_max_bytes: -1 is not a positive number'),
    ({'bearer_token': 't', 'username': 'u', 'password': 'p'}, 'prometheus_bearer_token: give either a bearer token or '
                                                              'prometheus_username and prometheus_password, not both'),
    ({'password': 'p'}, 'prometheus_password: a password without prometheus_username'),
    ({'client_key': '/k.pem'}, 'prometheus_client_key: a client key without its certificate'),
    ({'headers': ['X-A: 1']}, 'prometheus_headers: a dictionary'),
])
def test_bad_options_say_which_and_what_to_give(options, words):
    options = dict(options)
    url, instance = options.pop('url', URL), options.pop('instance', 'web1')
    calls = []
    with pytest.raises(prom.PrometheusError) as e:
        prom.read_history(url, instance, fetch=answering(200, GOOD, calls), now=NOW, **options)
    assert e.value.kind == 'options' and words in str(e.value)
    assert not calls, 'no request with bad options'


def test_one_get_request_with_the_auth_and_tls_options():
    calls = []
    history, meta = prom.read_history(URL, 'web1', fetch=answering(200, GOOD, calls), now=NOW, bearer_token='tok',
                                      headers={'X-Scope-OrgID': 'team1'}, validate_certs=False, ca_path='/ca.pem',
                                      client_cert='/c.pem', client_key='/k.pem', timeout=5, max_bytes=1000)
    assert len(calls) == 1 and meta['requests'] == 1
    req = calls[0]
    assert req['method'] == 'GET' and req['url'].startswith(URL + prom.API + '?query=')
    assert req['headers'] == {'Authorization': 'Bearer tok', 'X-Scope-OrgID': 'team1'}
    assert (req['validate_certs'], req['ca_path'], req['client_cert'], req['client_key'], req['timeout'],
            req['max_bytes']) == (False, '/ca.pem', '/c.pem', '/k.pem', 5, 1000)
    assert 'tok' not in json.dumps(meta)
    assert [d['peak'] for d in history['days']] == [20]


# --------------------------------------------------------------------------- errors

EMPTY = json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': []}}).encode()
REFUSED = json.dumps({'status': 'error', 'errorType': 'bad_data', 'error': 'parse error at char 3'}).encode()
ERRORS = [
    ('refused', raising(URLError(ConnectionRefusedError(111, 'Connection refused'))), 'unreachable',
     ['http://prom.example:9090/api/v1/query_range is unreachable', 'Connection refused', 'conntrack_prometheus_url']),
    ('no route', raising(OSError(113, 'No route to host')), 'unreachable', ['No route to host']),
    ('dns', raising(URLError(socket.gaierror(-2, 'Name or service not known'))), 'unreachable',
     ['Name or service not known']),
    ('timeout', raising(socket.timeout('timed out')), 'timeout', ['no answer within 30 s', 'conntrack_prometheus_timeout']),
    ('tls', raising(URLError(ssl.SSLError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))), 'tls',
     ['CERTIFICATE_VERIFY_FAILED', 'conntrack_prometheus_ca_path']),
    ('404', answering(404, b'404 page not found\n'), 'http', ['HTTP 404', 'base URL', '404 page not found']),
    ('401', answering(401, b'Unauthorized'), 'http', ['HTTP 401', 'username/password or bearer_token']),
    ('403', answering(403, b'Forbidden'), 'http', ['HTTP 403', 'refused']),
    ('500', answering(500, b'<html>' + b'x' * 1000 + b'</html>'), 'http', ['HTTP 500', '<html>xxx', '...']),
    ('502 empty', answering(502, b''), 'http', ['HTTP 502', '(empty body)']),
    ('not json', answering(200, b'<!doctype html><title>Grafana</title>'), 'not_json',
     ['is not JSON', 'Grafana', 'a Prometheus server?']),
    ('json not api', answering(200, b'{"hello": 1}'), 'not_json', ['not a Prometheus API answer']),
    ('refused query', answering(400, REFUSED), 'status', ['refused the query (bad_data: parse error at char 3)',
                                                          'query: label_replace']),
    ('refused 503', answering(503, json.dumps({'status': 'error', 'errorType': 'timeout',
                                               'error': 'query timed out'}).encode()), 'status', ['timeout']),
    ('oversized', answering(200, b' ' * 1001), 'oversized', ['larger than 1000 bytes', 'conntrack_prometheus_max_bytes']),
    ('empty', answering(200, EMPTY), 'empty', ['no series for instance=~`web1(:[0-9]+)?`', 'last 30 days',
                                               'conntrack_prometheus_instance', 'conntrack_prometheus_label',
                                               'node_nf_conntrack_entries, node_nf_conntrack_entries_limit']),
    ('wrong metric', answering(200, one_host({'max': [(NOW - 300, 262144)]})), 'metric',
     ['has node_nf_conntrack_entries_limit for this host but not node_nf_conntrack_entries',
      'conntrack_prometheus_metrics']),
    ('vector', answering(200, json.dumps({'status': 'success', 'data': {'resultType': 'vector',
                                                                        'result': []}}).encode()),
     'metric', ['answered a vector, not a matrix']),
]


@pytest.mark.parametrize('fetch, kind, words', [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_every_failure_is_one_error_that_says_what_to_do(fetch, kind, words):
    with pytest.raises(prom.PrometheusError) as e:
        prom.read_history(URL, 'web1', fetch=fetch, now=NOW, max_bytes=1000)
    assert e.value.kind == kind and e.value.kind in prom.KINDS
    for word in words:
        assert word in str(e.value)


@pytest.mark.parametrize('fetch, kind', [e[1:3] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_the_fallback_is_static_and_says_why(fetch, kind):
    history, meta = prom.history_or_fallback(URL, 'web1', fetch=fetch, now=NOW, max_bytes=1000)
    assert history is None
    assert (meta['fallback'], meta['error_kind']) == ('static', kind)
    assert prom.explain(meta).startswith('no history from Prometheus (') and prom.explain(meta).endswith('static sizing')


def test_prometheus_warnings_are_kept():
    doc = json.loads(GOOD.decode())
    doc['warnings'] = ['partial data']
    _history, meta = prom.read_history(URL, 'web1', fetch=answering(200, json.dumps(doc).encode()), now=NOW)
    assert meta['warnings'] == ['Prometheus: partial data']


# --------------------------------------------------------------------------- conversion

def test_points_become_the_hosts_samples_one_second_before_the_end_of_their_step():
    day = NOW - NOW % 86400
    body = one_host({'count': [(day, 500), (day + 300, 700), (day + 600, 'NaN')],
                     'max': [(day, 262144), (day + 300, 524288), (day + 600, 524288)],
                     'drop': [(day, 5), (day + 300, 9), (day + 600, 2)],
                     'insert': [(day, 1000), (day + 300, 4000), (day + 600, 100)]})
    history, meta = prom.read_history(URL, 'web1', fetch=answering(200, body), now=NOW, days=1)
    assert meta['points'] == 12 and meta['samples'] == 3 and len(meta['series']) == 4
    assert meta['series'][0]['labels'] == {'instance': 'web1:9100', 'job': 'node'}
    # the point at midnight is the step before it: the day before
    assert [(d['day'], d['peak'], d['max']) for d in history['days']] == [('2026-01-10', 500, 262144),
                                                                          ('2026-01-11', 700, 524288)]
    assert history['days'][1]['peak_time'] == day + 299
    # the counters went down at day + 600: a new pseudo boot, growth from zero, no rate
    assert history['days'][1]['drop'] == 4 + 2
    assert history['days'][1]['new_rate_peak'] == 10.0
    assert history['last']['boot_id'] == 'prometheus:%d' % (day + 600) and history['last']['count'] is None
    assert history['recent'] == [[day - 300, 500], [day, 700]]


def test_the_history_equals_the_one_recorded_from_the_same_samples():
    day = NOW - NOW % 86400 - 86400
    steps = [day + 300 * i for i in range(1, 200)]
    counts = dict((t, 1000 + (i * 37) % 500) for i, t in enumerate(steps))
    body = one_host({'count': [(t, counts[t]) for t in steps], 'max': [(t, 65536) for t in steps],
                     'insert_failed': [(t, i // 10) for i, t in enumerate(steps)]})
    history, _meta = prom.read_history(URL, 'web1', fetch=answering(200, body), now=NOW, days=2, step=300)
    host = store.empty()
    for i, t in enumerate(steps):
        store.record(host, {'time': t - 150, 'boot_id': 'b', 'count': counts[t], 'max': 65536,
                            'counters': {'insert_failed': i // 10}})
    assert history['recent'] == host['recent']
    for mine, theirs in zip(history['days'], host['days']):
        for key in ('day', 'peak', 'max', 'samples', 'drop', 'early_drop', 'insert_failed'):
            assert mine[key] == theirs[key], key
    assert sorted(history['histogram']['weights']) == sorted(host['histogram']['weights'])


def test_two_series_of_one_metric_are_merged_by_their_maximum_and_said():
    body = matrix([(NODE['count'], {'instance': 'web1:9100'}, [(NOW - 300, 10)]),
                   (NODE['count'], {'instance': 'web1:9101'}, [(NOW - 300, 30)])])
    history, meta = prom.read_history(URL, 'web1', fetch=answering(200, body), now=NOW)
    assert history['recent'][-1][1] == 30
    assert len(meta['warnings']) == 1 and 'instance=web1:9101' in meta['warnings'][0]
    assert 'merged by their maximum' in prom.explain(meta)


def test_explain_names_the_query_the_step_and_the_series():
    _history, meta = prom.read_history(URL, 'web1', fetch=answering(200, GOOD), now=NOW, days=14)
    text = prom.explain(meta)
    for word in ('http://prom.example:9090/api/v1/query_range', '4 points of 2 series', 'node_nf_conntrack_entries',
                 '300 s steps over 14 days', 'one query_range request', 'instance=~`web1(:[0-9]+)?`'):
        assert word in text
    assert meta['step'] == 300 and meta['query'].startswith('label_replace(max_over_time(node_nf_conntrack_entries{')


# --------------------------------------------------------------------------- the default fetch

class Response(object):
    def __init__(self, body, code=200, headers=None):
        self.body, self.code, self.closed, self.headers = body, code, False, headers or {}

    def read(self, n=-1):
        return self.body[:n] if n >= 0 else self.body

    def getcode(self):
        return self.code

    def close(self):
        self.closed = True


def test_open_url_fetch_passes_auth_and_tls_and_reads_at_most_one_byte_more(monkeypatch):
    seen = {}
    response = Response(b'y' * 5000)

    def fake_open_url(url, **kwargs):
        seen.update(kwargs, url=url)
        return response
    monkeypatch.setattr(prom, 'open_url', fake_open_url)
    req, _meta = prom.request(URL, 'web1', now=NOW, username='bob', password='pw', validate_certs=True,
                              ca_path='/ca.pem', client_cert='/c.pem', client_key='/k.pem', max_bytes=100)
    status, body = prom.open_url_fetch(req)
    assert (status, len(body), response.closed) == (200, 101, True)
    assert (seen['url_username'], seen['url_password'], seen['force_basic_auth']) == ('bob', 'pw', True)
    assert (seen['ca_path'], seen['client_cert'], seen['client_key'], seen['validate_certs']) == (
        '/ca.pem', '/c.pem', '/k.pem', True)
    assert seen['method'] == 'GET' and seen['url'] == req['url']
    assert seen['headers'] == {'Accept-Encoding': 'gzip'} and seen['decompress'] is False


@pytest.mark.parametrize('size, limit, expected', [(1000, 5000, 1000), (100000, 5000, 5001)])
def test_gzip_answers_are_decoded_here_and_bounded(monkeypatch, size, limit, expected):
    import gzip
    import io
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode='wb') as f:
        f.write(b'z' * size)
    gzipped = Response(packed.getvalue(), headers={'Content-Encoding': 'gzip'})
    monkeypatch.setattr(prom, 'open_url', lambda url, **kw: gzipped)
    req, _meta = prom.request(URL, 'web1', now=NOW, max_bytes=limit)
    status, body = prom.open_url_fetch(req)
    assert (status, len(body)) == (200, expected) and set(body) == {ord('z')}


def test_a_gzip_answer_that_does_not_decode(monkeypatch):
    broken = Response(b'not gzip at all', headers={'Content-Encoding': 'gzip'})
    monkeypatch.setattr(prom, 'open_url', lambda url, **kw: broken)
    with pytest.raises(prom.PrometheusError) as e:
        prom.read_history(URL, 'web1', now=NOW)
    assert e.value.kind == 'not_json' and 'does not decode' in str(e.value)


def test_open_url_fetch_returns_http_errors_with_their_body(monkeypatch):
    import io

    def fake_open_url(url, **kwargs):
        raise HTTPError(url, 500, 'Internal Server Error', {}, io.BytesIO(b'boom'))
    monkeypatch.setattr(prom, 'open_url', fake_open_url)
    req, _meta = prom.request(URL, 'web1', now=NOW)
    assert prom.open_url_fetch(req) == (500, b'boom')
    with pytest.raises(prom.PrometheusError) as e:
        prom.read_history(URL, 'web1', now=NOW)
    assert e.value.kind == 'http' and 'HTTP 500' in str(e.value) and 'boom' in str(e.value)
