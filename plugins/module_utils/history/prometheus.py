# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table's history read from a Prometheus server (docs/history.md, "From Prometheus"): the
same document as the host's own file (history/store.py), built by feeding store.record() one
sample per query step, so that sizing from it is sizing from the host's file for the same trace.

ONE HTTP request per host: a GET /api/v1/query_range whose query is one sub-query per series of
the chosen metric family (node_exporter's node_nf_conntrack_* or the nfct writer's
nfct_conntrack_*), joined with `or`:

    label_replace(max_over_time(node_nf_conntrack_entries{instance=~`web1(:[0-9]+)?`}[300s]),
                  "nfct_metric", "node_nf_conntrack_entries", "", "")
    or label_replace(last_over_time(node_nf_conntrack_stat_drop{...}[300s]), "nfct_metric", ...) ...

max_over_time for the count and the max (each step keeps the peak between two points, like the
host's samples), last_over_time for the counters (the value at the end of the step, as a sample
taken then). The functions drop the metric name, and `or` matches series on their other labels
(so it would keep one metric per host): label_replace names each in a label of its own,
SERIES_LABEL. Needs Prometheus 2.26+
(last_over_time) or a server with its API (Thanos, Mimir, VictoriaMetrics).

The step: the smallest of STEPS that keeps the range within Prometheus's 11,000 points per
series (MAX_POINTS): 60 s up to 7 days, 300 s up to 38 days, 600 s up to 76 days... A step that
divides 300 s keeps the 5-minute `recent` points equal to the host's; every step divides a day,
so daily peaks and drops are equal. The point at time T stands for the window (T - step, T]
([T - step, T] before Prometheus 3) and is recorded at T - 1 s, inside its window.

Boot ids: Prometheus has none. A new pseudo boot id, 'prometheus:<time>' (the first point after
the reset), starts wherever a counter goes down (a reboot or a counter reset), so that growth
and rates restart there exactly as they do in the host's file at a new boot.

Instances: the value of a label (default 'instance'), matched as `VALUE(:[0-9]+)?` by default
(the inventory hostname matches node_exporter's 'web1:9100'), exactly, or as a regular
expression. Several series of one metric (two exporters on one host) are merged by their
maximum, and said in the metadata's warnings.

Errors: PrometheusError, with a kind (KINDS) and a message naming what failed and what to do.
read_history() raises it; history_or_fallback() returns the documented fallback instead (the
static sizing, with the reason).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import math
import re
import socket
import time
import zlib
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit, urlunsplit


from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _store

API = '/api/v1/query_range'
# Prometheus refuses a query_range of more than 11,000 steps per series
MAX_POINTS = 11000
# every step divides a day; 60 and 300 divide the 5-minute steps of `recent`
STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
DAYS_RANGE = (1, 400)
DEFAULT_DAYS = 30
DEFAULT_TIMEOUT = 30
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
ERROR_BODY_BYTES = 4096
EXCERPT = 200
MATCHES = ('port', 'exact', 'regex')
METRICS = ('node_exporter', 'nfct')
KINDS = ('options', 'unreachable', 'timeout', 'tls', 'http', 'not_json', 'status', 'oversized', 'empty', 'metric')
COUNTERS = ('drop', 'early_drop', 'insert_failed', 'insert')
# (field of a sample, metric name, the function over each step); the nfct names are those of
# metrics/exposition.py (PREFIX + FAMILIES, counters with _total), which history may not import
FAMILIES = {
    'node_exporter': (('count', 'node_nf_conntrack_entries', 'max_over_time'),
                      ('max', 'node_nf_conntrack_entries_limit', 'max_over_time'),
                      ('drop', 'node_nf_conntrack_stat_drop', 'last_over_time'),
                      ('early_drop', 'node_nf_conntrack_stat_early_drop', 'last_over_time'),
                      ('insert_failed', 'node_nf_conntrack_stat_insert_failed', 'last_over_time'),
                      ('insert', 'node_nf_conntrack_stat_insert', 'last_over_time')),
    'nfct': (('count', 'nfct_conntrack_entries', 'max_over_time'),
             ('max', 'nfct_conntrack_max', 'max_over_time'),
             ('drop', 'nfct_conntrack_drop_total', 'last_over_time'),
             ('early_drop', 'nfct_conntrack_early_drop_total', 'last_over_time'),
             ('insert_failed', 'nfct_conntrack_insert_failed_total', 'last_over_time')),
}
# the label that names each series of the answer (the functions drop __name__)
SERIES_LABEL = 'nfct_metric'
LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
# what RE2 (Prometheus's regular expressions) treats as special
_SPECIAL = re.compile(r'([\\.+*?()|\[\]{}^$])')


class PrometheusError(Exception):
    """The history could not be read from Prometheus: kind (one of KINDS) and a message that says
    what failed and what to do."""

    def __init__(self, kind, message):
        super(PrometheusError, self).__init__(message)
        self.kind = kind
        self.message = message


# --------------------------------------------------------------------------- the query

def step_for(days):
    """The smallest step of STEPS within MAX_POINTS points over `days` days."""
    for step in STEPS:
        if days * 86400 / step <= MAX_POINTS:
            return step
    raise PrometheusError('options', 'prometheus_days: %s days is more than Prometheus answers in one query' % days)


def instance_matcher(label, instance, match='port'):
    """The label matcher of one host: label=~`VALUE(:[0-9]+)?` (port), label="VALUE" (exact) or
    label=~`VALUE` (regex)."""
    if not LABEL_NAME.match(label or ''):
        raise PrometheusError('options', 'prometheus_label: %r is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'
                              % (label,))
    if not instance or '`' in instance or '\n' in instance:
        raise PrometheusError('options', 'prometheus_instance: %r: give the value of label %s for this host, without '
                                         'backquotes or new lines (default: the inventory hostname)' % (instance, label))
    if match not in MATCHES:
        raise PrometheusError('options', 'prometheus_match: %r is not one of %s' % (match, ', '.join(MATCHES)))
    if match == 'exact':
        return '%s=%s' % (label, json.dumps(instance))
    if match == 'regex':
        try:
            re.compile(instance)
        except re.error as e:
            raise PrometheusError('options', 'prometheus_instance: %r is not a regular expression (%s), which '
                                             'prometheus_match: regex needs' % (instance, e))
        return '%s=~`%s`' % (label, instance)
    return '%s=~`%s(:[0-9]+)?`' % (label, _SPECIAL.sub(r'\\\1', instance))


def query(instance, label='instance', metrics='node_exporter', step=300, match='port', matchers=None):
    """The PromQL of one host: every series of the family over steps of `step` seconds, named."""
    if metrics not in FAMILIES:
        raise PrometheusError('options', 'prometheus_metrics: %r is not one of %s' % (metrics, ', '.join(METRICS)))
    selector = instance_matcher(label, instance, match)
    if matchers:
        if '{' in matchers or '}' in matchers:
            raise PrometheusError('options', 'prometheus_matchers: %r: give label matchers without braces, e.g. '
                                             'job="node"' % (matchers,))
        selector += ', ' + matchers.strip().strip(',')
    parts = ['label_replace(%s(%s{%s}[%ds]), "%s", "%s", "", "")' % (fn, name, selector, step, SERIES_LABEL, name)
             for _field, name, fn in FAMILIES[metrics]]
    return ' or '.join(parts)


def api_url(url):
    """The query_range endpoint under the server's base URL (which may carry a path prefix)."""
    if not url or not re.match(r'^https?://[^/]', url):
        raise PrometheusError('options', 'prometheus_url: %r: give the server\'s base URL, http(s)://host:9090 (or '
                                         'with its path prefix)' % (url,))
    base = url.split('?', 1)[0].rstrip('/')
    if base.endswith(API):
        return base
    if base.endswith('/api/v1'):
        base = base[:-len('/api/v1')]
    return base + API


def public_url(url):
    """The URL without credentials, for messages and the metadata."""
    parts = urlsplit(url)
    if '@' not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit('@', 1)[1], parts.path, parts.query, parts.fragment))


def window(days, step=None, now=None):
    """(start, end, step): `days` days up to now, on multiples of the step."""
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not DAYS_RANGE[0] <= days <= DAYS_RANGE[1]:
        raise PrometheusError('options', 'prometheus_days: %r is outside the allowed range %d-%d days'
                              % ((days,) + DAYS_RANGE))
    if step is None:
        step = step_for(days)
    elif isinstance(step, bool) or not isinstance(step, int) or step < 1 or 86400 % step:
        raise PrometheusError('options', 'prometheus_step: %r: seconds that divide a day (60, 300, 600... 86400), or '
                                         'none to let the range choose' % (step,))
    intervals = int(math.ceil(days * 86400.0 / step))
    if intervals > MAX_POINTS:
        raise PrometheusError('options', 'prometheus_step: %d s over %s days is %d points, more than Prometheus\'s %d '
                                         'per series: a longer step, or fewer prometheus_days'
                              % (step, days, intervals, MAX_POINTS))
    end = int((time.time() if now is None else now) // step) * step
    return end - intervals * step, end, step


# --------------------------------------------------------------------------- the request

def request(url, instance, days=DEFAULT_DAYS, label='instance', metrics='node_exporter', step=None, match='port',
            matchers=None, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES, username=None, password=None,
            bearer_token=None, headers=None, validate_certs=True, ca_path=None, client_cert=None, client_key=None,
            use_proxy=True, now=None):
    """(the request for fetch, the metadata so far). Checks every option (PrometheusError 'options')."""
    start, end, step = window(days, step, now)
    promql = query(instance, label, metrics, step, match, matchers)
    endpoint = api_url(url)
    if headers is not None and not isinstance(headers, dict):
        raise PrometheusError('options', 'prometheus_headers: a dictionary of header names and values, not %s'
                              % type(headers).__name__)
    hdrs = dict(headers or {})
    if bearer_token and (username or password):
        raise PrometheusError('options', 'prometheus_bearer_token: give either a bearer token or prometheus_username '
                                         'and prometheus_password, not both')
    if password and not username:
        raise PrometheusError('options', 'prometheus_password: a password without prometheus_username')
    if bearer_token:
        hdrs['Authorization'] = 'Bearer %s' % bearer_token
    if client_key and not client_cert:
        raise PrometheusError('options', 'prometheus_client_key: a client key without its certificate '
                                         '(prometheus_client_cert)')
    for name, value in (('timeout', timeout), ('max_bytes', max_bytes)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise PrometheusError('options', 'prometheus_%s: %r is not a positive number' % (name, value))
    params = urlencode([('query', promql), ('start', str(start)), ('end', str(end)), ('step', str(step))])
    req = {'url': endpoint + '?' + params, 'method': 'GET', 'headers': hdrs, 'timeout': timeout,
           'max_bytes': int(max_bytes), 'username': username, 'password': password,
           'validate_certs': validate_certs, 'ca_path': ca_path, 'client_cert': client_cert,
           'client_key': client_key, 'use_proxy': use_proxy}
    meta = {'source': 'prometheus', 'url': public_url(endpoint), 'query': promql, 'start': start, 'end': end,
            'step': step, 'days': days, 'label': label, 'instance': instance, 'match': match, 'metrics': metrics,
            'requests': 1, 'timeout': timeout, 'max_bytes': int(max_bytes), 'bytes': None, 'points': 0,
            'samples': 0, 'series': [], 'warnings': []}
    return req, meta


def _body(response, limit, quiet=False):
    """At most `limit` bytes of the body, gunzipped here (open_url's own decoding breaks on chunked
    answers, which large Prometheus answers are): a gzip body over `limit` is returned as read, so
    that it counts as oversized. quiet: an error body, whose read errors leave it empty."""
    try:
        raw = response.read(limit) or b''
    except (AttributeError, IOError, OSError, ValueError):
        if not quiet:
            raise
        return b''
    headers = getattr(response, 'headers', None) or {}
    if (headers.get('Content-Encoding') or '').lower() != 'gzip' or (len(raw) >= limit and not quiet):
        return raw
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, limit)
    except zlib.error as e:
        if quiet:
            return b'(a gzip body that does not decode)'
        raise PrometheusError('not_json', 'the gzip answer of %s does not decode (%s)'
                              % (public_url(getattr(response, 'url', None) or '?'), e))


def open_url(url, **kwargs):
    """ansible.module_utils.urls.open_url, imported at the first request: it loads ssl and
    http.client, ~50 ms of every controller worker that imports this file only to check the
    options (the role's preflight, an audit without Prometheus)."""
    from ansible.module_utils.urls import open_url as ansible_open_url
    return ansible_open_url(url, **kwargs)


def open_url_fetch(req):
    """The default fetch: ansible's open_url. (HTTP status, body of at most max_bytes + 1 bytes,
    gzip asked for and decoded here: a fifth of the bytes on the wire); transport failures
    raise."""
    headers = dict(req['headers'])
    if not any(name.lower() == 'accept-encoding' for name in headers):
        headers['Accept-Encoding'] = 'gzip'
    kwargs = dict(method=req['method'], headers=headers, timeout=req['timeout'], decompress=False,
                  validate_certs=req['validate_certs'], use_proxy=req['use_proxy'], http_agent='nfct.tuning',
                  client_cert=req['client_cert'], client_key=req['client_key'], ca_path=req['ca_path'])
    if req.get('username'):
        kwargs.update(url_username=req['username'], url_password=req.get('password') or '', force_basic_auth=True)
    try:
        response = open_url(req['url'], **kwargs)
    except HTTPError as e:
        return e.code, _body(e, ERROR_BODY_BYTES, quiet=True)
    try:
        return response.getcode(), _body(response, req['max_bytes'] + 1)
    finally:
        response.close()


def _excerpt(body):
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    text = ' '.join(body.split())
    return text[:EXCERPT] + ('...' if len(text) > EXCERPT else '') if text else '(empty body)'


def _transport_error(e, meta):
    """The PrometheusError of an exception raised by fetch (the server was not reached, or hung up)."""
    reason = getattr(e, 'reason', None) or e
    text = '%s: %s' % (type(reason).__name__, reason)
    where = meta['url']
    if isinstance(reason, socket.timeout) or 'timed out' in str(reason):
        return PrometheusError('timeout', 'Prometheus at %s gave no answer within %s s (%s): raise '
                                          'conntrack_prometheus_timeout, or fewer days' % (where, meta['timeout'], text))
    if 'SSL' in text or 'CERTIFICATE' in text.upper() or 'TLS' in text:
        return PrometheusError('tls', 'TLS with Prometheus at %s failed (%s): check conntrack_prometheus_ca_path (the '
                                      'CA that signed its certificate), client_cert/client_key when it asks for one, '
                                      'or validate_certs' % (where, text))
    return PrometheusError('unreachable', 'Prometheus at %s is unreachable (%s): check conntrack_prometheus_url '
                                          '(scheme, host, port) and that the controller can reach it' % (where, text))


HTTP_HINTS = {
    401: 'the server wants credentials: conntrack_prometheus_username/password or bearer_token',
    403: 'the credentials are refused: check conntrack_prometheus_username/password or bearer_token',
    404: 'no Prometheus API there: conntrack_prometheus_url is the server\'s base URL (http://host:9090, or its '
         'path prefix), without /graph or /api',
    405: 'the URL answers, but not with Prometheus\'s API: check conntrack_prometheus_url',
}


def _http_error(status, body, meta):
    hint = HTTP_HINTS.get(status, 'check the server (its log) and conntrack_prometheus_url')
    return PrometheusError('http', 'Prometheus at %s answered HTTP %s: %s (%s)'
                           % (meta['url'], status, hint, _excerpt(body)))


def answer(status, body, meta):
    """The `data` of Prometheus's answer, or PrometheusError (HTTP error, not JSON, oversized,
    refused by Prometheus)."""
    meta['bytes'] = len(body)
    if status == 200 and len(body) > meta['max_bytes']:
        raise PrometheusError('oversized', 'the answer of Prometheus at %s is larger than %d bytes: fewer series '
                                           '(conntrack_prometheus_instance, label, matchers) or days, or a larger '
                                           'conntrack_prometheus_max_bytes' % (meta['url'], meta['max_bytes']))
    try:
        doc = json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get('status') == 'error':
        raise PrometheusError('status', 'Prometheus at %s refused the query (%s: %s); query: %s'
                              % (meta['url'], doc.get('errorType'), doc.get('error'), meta['query']))
    if status != 200:
        raise _http_error(status, body, meta)
    if not isinstance(doc, dict):
        raise PrometheusError('not_json', 'the answer of %s is not JSON (%s): is conntrack_prometheus_url a '
                                          'Prometheus server?' % (meta['url'], _excerpt(body)))
    if doc.get('status') != 'success' or not isinstance(doc.get('data'), dict):
        raise PrometheusError('not_json', 'the answer of %s is not a Prometheus API answer (%s)'
                              % (meta['url'], _excerpt(body)))
    meta['warnings'].extend('Prometheus: %s' % w for w in doc.get('warnings') or [])
    return doc['data']


# --------------------------------------------------------------------------- the history

def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if not (math.isnan(number) or math.isinf(number)) else None


def points(data, meta):
    """{time: {field: value}} of the matrix, several series of one field merged by their maximum."""
    if data.get('resultType') != 'matrix' or not isinstance(data.get('result'), list):
        raise PrometheusError('metric', 'Prometheus at %s answered a %s, not a matrix: query %s'
                              % (meta['url'], data.get('resultType'), meta['query']))
    fields = dict((name, field) for field, name, _fn in FAMILIES[meta['metrics']])
    by_time, per_field = {}, {}
    for series in data['result']:
        labels = dict((series or {}).get('metric') or {})
        name = labels.pop(SERIES_LABEL, None) or labels.pop('__name__', None)
        labels.pop('__name__', None)
        field = fields.get(name)
        values = (series or {}).get('values') or []
        meta['series'].append({'name': name, 'labels': labels, 'points': len(values)})
        if field is None:
            continue
        per_field.setdefault(field, []).append(labels)
        for pair in values:
            value = _number(pair[1]) if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
            if value is None:
                continue
            point = by_time.setdefault(float(pair[0]), {})
            point[field] = max(point[field], value) if field in point else value
        meta['points'] += len(values)
    _check_series(per_field, meta)
    return by_time


def _check_series(per_field, meta):
    family = FAMILIES[meta['metrics']]
    count_name = family[0][1]
    if not meta['series']:
        raise PrometheusError('empty', 'no series for %s over the last %s days in Prometheus at %s: check '
                                       'conntrack_prometheus_instance (the value of label %s for this host), '
                                       'conntrack_prometheus_label, and conntrack_prometheus_metrics (%s: %s); '
                                       'query: %s'
                              % (instance_matcher(meta['label'], meta['instance'], meta['match']), meta['days'],
                                 meta['url'], meta['label'], meta['metrics'], ', '.join(n for _f, n, _fn in family),
                                 meta['query']))
    if 'count' not in per_field:
        found = sorted(set(s['name'] or '(no name)' for s in meta['series']))
        raise PrometheusError('metric', 'Prometheus at %s has %s for this host but not %s, the table\'s count: '
                                        'check conntrack_prometheus_metrics (node_exporter or nfct)'
                              % (meta['url'], ', '.join(found), count_name))
    for field, name, _fn in family:
        if len(per_field.get(field, ())) > 1:
            meta['warnings'].append('%d series of %s (%s): merged by their maximum; narrow them with '
                                    'conntrack_prometheus_matchers' % (
                                        len(per_field[field]), name,
                                        '; '.join(','.join('%s=%s' % kv for kv in sorted(labels.items()))
                                                  for labels in per_field[field])))


def samples(by_time):
    """The samples of store.record(), one per point in time, recorded 1 s before the end of their
    step; a counter that goes down starts a new pseudo boot id."""
    found, boot, before = [], None, {}
    for t in sorted(by_time):
        point = by_time[t]
        counters = dict((name, point[name]) for name in COUNTERS if name in point)
        if boot is None or any(value < before[name] for name, value in counters.items() if name in before):
            boot = 'prometheus:%d' % t
        before.update(counters)
        found.append({'time': t - 1, 'boot_id': boot, 'count': point.get('count'), 'max': point.get('max'),
                      'counters': counters})
    return found


def build(found):
    """A history document (store.empty()) from samples."""
    history = _store.empty()
    for sample in found:
        _store.record(history, sample)
    return history


def read_history(url, instance, fetch=None, **options):
    """(history, metadata) of one host from Prometheus at `url`, in one query_range request.

    options: days, label, metrics ('node_exporter' or 'nfct'), step, match ('port', 'exact',
    'regex'), matchers, timeout, max_bytes, username, password, bearer_token, headers,
    validate_certs, ca_path, client_cert, client_key, use_proxy, now (see request()).
    fetch(request) -> (HTTP status, body bytes): open_url_fetch unless given (tests inject).
    Raises PrometheusError."""
    req, meta = request(url, instance, **options)
    try:
        status, body = (fetch or open_url_fetch)(req)
    except PrometheusError:
        raise
    except Exception as e:  # pylint: disable=broad-except
        raise _transport_error(e, meta)
    found = samples(points(answer(status, body, meta), meta))
    meta['samples'] = len(found)
    return build(found), meta


def history_or_fallback(url, instance, fetch=None, **options):
    """(history or None, metadata): on any PrometheusError, None and the metadata say that the
    sizing falls back to the static recommendation, and why (metadata 'fallback', 'error',
    'error_kind')."""
    try:
        return read_history(url, instance, fetch=fetch, **options)
    except PrometheusError as e:
        return None, {'source': 'prometheus', 'url': public_url(url or ''), 'instance': instance,
                      'fallback': 'static', 'error': e.message, 'error_kind': e.kind}


def explain(meta):
    """One sentence on where the history came from, for the recommendation's reasons."""
    if meta.get('fallback'):
        return 'no history from Prometheus (%s): static sizing' % meta.get('error')
    names = sorted(set(s['name'] for s in meta.get('series') or [] if s.get('name')))
    return ('history from Prometheus at %s: %d points of %d series (%s) for %s, %d s steps over %s days, one '
            'query_range request%s' % (meta['url'], meta['points'], len(meta['series']), ', '.join(names),
                                       instance_matcher(meta['label'], meta['instance'], meta['match']),
                                       meta['step'], meta['days'],
                                       '; ' + '; '.join(meta['warnings']) if meta.get('warnings') else ''))


# --------------------------------------------------------------------------- conntrack_recommend's options

# read_history()'s options as conntrack_recommend names them: prometheus_<name> (the role:
# conntrack_prometheus_<name>); url and instance are given apart
OPTIONS = ('days', 'label', 'metrics', 'step', 'match', 'matchers', 'timeout', 'max_bytes', 'username', 'password',
           'bearer_token', 'headers', 'validate_certs', 'ca_path', 'client_cert', 'client_key')


def options_of(params):
    """read_history()'s options from prometheus_* parameters (those that are set)."""
    return dict((name, params['prometheus_' + name]) for name in OPTIONS if params.get('prometheus_' + name) is not None)


def check(url, instance, **options):
    """The message of the first bad option (it names the prometheus_* option and what it takes), or
    None. Makes no request."""
    try:
        request(url, instance, **options)
    except PrometheusError as e:
        return e.message
    return None


def reader(url, instance, fetch=None, **options):
    """history_or_fallback() with explain(): (the history compacted as the facts carry it
    (store.compact) or None, metadata, the sentence): what sizing/args.py history_for() is given to
    read Prometheus with (on the controller; by the module when it runs on a host)."""
    history, meta = history_or_fallback(url, instance, fetch=fetch, **options)
    return _store.compact(history, 'prometheus') if history is not None else None, meta, explain(meta)
