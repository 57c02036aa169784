# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history from a real Prometheus server (history/prometheus.py; make prometheus).

A generated trace (a diurnal table with growth, drops and a reboot) of two hosts, kept in
Python as the host's samples and written as OpenMetrics, is backfilled with `promtool tsdb
create-blocks-from openmetrics` into a data folder; Debian's Prometheus server (extracted by the
Makefile, never installed) serves it on a free localhost port and is stopped by its PID after.
The history read from Prometheus must equal the one the host records from the same samples;
every failure (unreachable, a wrong URL, an empty result, a wrong metric, an HTTP error, an
oversized answer, TLS and credentials) must give its error.

  web1             15 days, one sample per 300 s, node_exporter's names and the nfct writer's
                   (instance="web1:9100", nodename="web1"): 300 s steps, one sample per step
  db2.example.com  7 days, one sample a minute (instance="db2.example.com:9100"): 60 s steps
  half             only node_nf_conntrack_entries_limit (a wrong metric)

The binaries: NFCT_PROMETHEUS and NFCT_PROMTOOL, else NFCT_CACHE/tools (~/.cache/nfct-tuning,
where the Makefile extracts them), else PATH. Missing, the tests skip - unless
NFCT_REQUIRE_PROMETHEUS=1 (make prometheus sets it), which makes the skip a failure."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import math
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from http import server as BaseHTTPServer
from urllib.request import urlopen

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promserver  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as prom
from ansible_collections.nfct.tuning.plugins.module_utils.history import store

try:
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed as _observed
except ImportError:  # another change adds it; compared when it is there
    _observed = None

DAY = 86400
CACHE = os.environ.get('NFCT_CACHE') or os.path.expanduser('~/.cache/nfct-tuning')
# bcrypt of 's3cret', cost 4 (Prometheus's web config wants bcrypt; fixed here so that no bcrypt
# module is needed)
PASSWORD, BCRYPT = 's3cret', '$2b$04$VGs9ul26RW5uhnE5fEoeHu0fG4aAyP2xhX8G2vdjFW7ddl03lOkv.'
NODE = prom.FAMILIES['node_exporter']
NFCT = prom.FAMILIES['nfct']
HOSTS = {'web1': {'labels': {'instance': 'web1:9100', 'job': 'node', 'nodename': 'web1'}, 'days': 15,
                  'every': 300, 'base': 60000, 'reboot': 8.3, 'nfct': True},
         'db2.example.com': {'labels': {'instance': 'db2.example.com:9100', 'job': 'node'}, 'days': 7,
                             'every': 60, 'base': 150000, 'reboot': 3.6, 'nfct': False}}


def tool(name, var):
    for path in (os.environ.get(var), os.path.join(CACHE, 'tools', name), shutil.which(name)):
        if path and os.access(path, os.X_OK):
            return path
    message = '%s not found (%s, %s/tools, PATH): make prometheus extracts it from Debian\'s package' % (
        name, var, CACHE)
    if os.environ.get('NFCT_REQUIRE_PROMETHEUS') == '1':
        pytest.fail(message + ' (NFCT_REQUIRE_PROMETHEUS=1: not skipped)')
    pytest.skip(message)


free_port = promserver.free_port


# --------------------------------------------------------------------------- the trace

def trace(name, spec, end):
    """The host's samples: a diurnal table growing a little every day, max raised once, drops
    while it is high, a reboot (new boot id, counters from zero). Times are off the steps' edges."""
    rnd = random.Random(name)
    every = spec['every']
    first = end - spec['days'] * DAY
    out, insert, drop, early, failed = [], 0, 0, 0, 0
    for t in range(first - first % every + 17, end, every):
        age = (t - first) / float(DAY)
        if age >= spec['reboot'] and out and out[-1]['boot_id'] == 'before':
            insert, drop, early, failed = 0, 0, 0, 0
        cmax = 262144 if age < 10 else 524288
        count = int(spec['base'] * (1 + 0.6 * math.sin(2 * math.pi * (t % DAY) / DAY)) + 2000 * age
                    + rnd.randint(0, 3000))
        insert += rnd.randint(200, 400) * every
        if count > spec['base'] * 1.5:
            drop += rnd.randint(0, 3)
            early += rnd.randint(0, 1)
        failed += 1 if rnd.random() < 0.01 else 0
        out.append({'time': float(t), 'boot_id': 'before' if age < spec['reboot'] else 'after', 'count': count,
                    'max': cmax, 'counters': {'drop': drop, 'early_drop': early, 'insert_failed': failed,
                                              'insert': insert}})
    return out


def openmetrics(samples_by_host):
    """The OpenMetrics text of the trace (node_exporter's names; the nfct writer's too where asked)."""
    lines = []
    for family in (NODE, NFCT):
        for field, name, _fn in family:
            lines.append('# TYPE %s gauge' % name)
            for host, samples in sorted(samples_by_host.items()):
                spec = HOSTS.get(host)
                if spec is None or (family is NFCT and not spec['nfct']):
                    continue
                labels = ','.join('%s="%s"' % kv for kv in sorted(spec['labels'].items()))
                for s in samples:
                    value = s[field] if field in ('count', 'max') else s['counters'].get(field)
                    lines.append('%s{%s} %d %d' % (name, labels, value, s['time']))
    # "half": a host with the limit and no count
    half = [line.replace('web1:9100', 'half:9100').replace(',nodename="web1"', '') for line in lines
            if line.startswith('node_nf_conntrack_entries_limit{') and 'web1:9100' in line][-100:]
    at = lines.index('# TYPE node_nf_conntrack_stat_drop gauge')
    lines[at:at] = half
    lines.append('# EOF')
    return '\n'.join(lines) + '\n'


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """The trace (host -> samples) and a folder of TSDB blocks holding it."""
    promtool = tool('promtool', 'NFCT_PROMTOOL')
    root = tmp_path_factory.mktemp('prometheus-history')
    end = int(time.time()) - 3600
    samples = dict((host, trace(host, spec, end)) for host, spec in HOSTS.items())
    path = root / 'trace.om'
    path.write_text(openmetrics(samples))
    blocks = root / 'blocks'
    blocks.mkdir()
    started = time.time()
    subprocess.check_call([promtool, 'tsdb', 'create-blocks-from', 'openmetrics', '-q', str(path), str(blocks)])
    assert time.time() - started < 60, 'backfill took %.0f s' % (time.time() - started)
    return {'samples': samples, 'blocks': blocks, 'root': root}


def Server(data, name, web_config=None):
    """Prometheus on a copy of the trace's blocks (promserver.Server), in the data folder's NAME."""
    return promserver.Server(tool('prometheus', 'NFCT_PROMETHEUS'), data['blocks'], data['root'] / name, web_config)


@pytest.fixture(scope='module')
def server(data):
    srv = Server(data, 'plain')
    try:
        srv.wait_ready(lambda: urlopen(srv.url + '/-/ready', timeout=2).getcode() == 200)
        yield srv
    finally:
        srv.stop()


# --------------------------------------------------------------------------- equal to the host's history

def host_history(samples, meta):
    """What the host records from the same samples over the range the query asked for."""
    history = store.empty()
    for s in samples:
        if meta['start'] - meta['step'] <= s['time'] <= meta['end']:
            store.record(history, dict(s, counters=dict(s['counters'])))
    return history


DAY_KEYS = ('day', 'peak', 'max', 'drop', 'early_drop', 'insert_failed')


def assert_same_history(mine, host, keys=DAY_KEYS):
    assert [[d[k] for k in keys] for d in mine['days']] == [[d[k] for k in keys] for d in host['days']]
    assert mine['recent'] == host['recent']
    assert sorted(mine['histogram']['weights']) == sorted(host['histogram']['weights'])
    total = [sum(h['histogram']['weights'].values()) for h in (mine, host)]
    for key, weight in host['histogram']['weights'].items():
        assert mine['histogram']['weights'][key] / total[0] == pytest.approx(weight / total[1], rel=1e-3, abs=1e-6)
    if _observed is not None:
        # the same need, from the same peaks; a peak's time (also in the reason) is the end of its
        # step (T - 1 s) here
        now = time.time()
        found = [dict((k, v) for k, v in _observed.observed_max(h, now).items()
                      if not k.endswith('_time') and k != 'reason') for h in (mine, host)]
        assert found[0] == found[1]
        assert found[0]['value'] is None or found[0]['available']


def test_the_history_from_prometheus_equals_the_hosts_own(server, data):
    """15 days of node_exporter's names: 300 s steps, one sample each."""
    calls = []

    def counting(req):
        calls.append(req['url'])
        return prom.open_url_fetch(req)
    history, meta = prom.read_history(server.url, 'web1', fetch=counting, days=15)
    assert len(calls) == 1 and meta['step'] == 300 and meta['requests'] == 1
    assert meta['warnings'] == []
    assert sorted(s['name'] for s in meta['series']) == sorted(name for _f, name, _fn in NODE)
    assert all(s['labels'] == HOSTS['web1']['labels'] for s in meta['series'])
    host = host_history(data['samples']['web1'], meta)
    assert meta['samples'] == sum(d['samples'] for d in host['days'])
    assert_same_history(history, host, DAY_KEYS + ('samples',))
    assert len(history['days']) >= 15 and len(history['recent']) == store.RECENT_POINTS
    assert sum(d['drop'] for d in history['days']) > 0
    assert 'one query_range request' in prom.explain(meta)


def test_a_minute_trace_gives_60_s_steps_and_the_same_rates(server, data):
    """7 days a minute apart: the instance has a domain and a port; rates and reboots as the host's."""
    history, meta = prom.read_history(server.url, 'db2.example.com', days=7)
    assert meta['step'] == 60 and [s['labels']['instance'] for s in meta['series']] == ['db2.example.com:9100'] * 6
    host = host_history(data['samples']['db2.example.com'], meta)
    assert_same_history(history, host, DAY_KEYS + ('samples', 'new_rate_peak'))
    assert history['last']['boot_id'].startswith('prometheus:')


def test_the_writers_names_and_another_label_give_the_same_history(server, data):
    node, _meta = prom.read_history(server.url, 'web1', days=15)
    nfct, meta = prom.read_history(server.url, 'web1', days=15, metrics='nfct')
    assert sorted(s['name'] for s in meta['series']) == sorted(name for _f, name, _fn in NFCT)
    assert [d['peak'] for d in nfct['days']] == [d['peak'] for d in node['days']]
    assert nfct['recent'] == node['recent']
    by_nodename, meta = prom.read_history(server.url, 'web1', days=15, label='nodename', match='exact')
    assert by_nodename['days'] == node['days'] and meta['query'].count('nodename="web1"') == len(NODE)


# --------------------------------------------------------------------------- failures

def failure(url, instance='web1', **options):
    with pytest.raises(prom.PrometheusError) as e:
        prom.read_history(url, instance, **options)
    history, meta = prom.history_or_fallback(url, instance, **options)
    assert history is None and meta['fallback'] == 'static' and meta['error'] == e.value.message
    return e.value


def test_an_unreachable_server():
    url = 'http://127.0.0.1:%d' % free_port()
    e = failure(url, timeout=5)
    assert e.kind == 'unreachable' and url + '/api/v1/query_range is unreachable' in e.message
    assert 'Connection refused' in e.message


def test_a_wrong_path(server):
    e = failure(server.url + '/prometheus')
    assert e.kind == 'http' and 'HTTP 404' in e.message and 'base URL' in e.message


def test_an_unknown_instance(server):
    e = failure(server.url, 'nosuchhost')
    assert e.kind == 'empty' and 'instance=~`nosuchhost(:[0-9]+)?`' in e.message
    assert 'conntrack_prometheus_instance' in e.message


def test_the_wrong_family(server):
    e = failure(server.url, 'db2.example.com', metrics='nfct')
    assert e.kind == 'empty' and 'conntrack_prometheus_metrics (nfct: nfct_conntrack_entries' in e.message


def test_a_host_with_the_limit_and_no_count(server):
    e = failure(server.url, 'half')
    assert e.kind == 'metric' and 'node_nf_conntrack_entries_limit for this host but not node_nf_conntrack_entries' \
        in e.message


def test_a_query_prometheus_refuses(server):
    e = failure(server.url, matchers='job=~"("')
    assert e.kind == 'status' and 'bad_data' in e.message


def test_an_answer_over_max_bytes(server):
    e = failure(server.url, max_bytes=10000, days=15)
    assert e.kind == 'oversized' and 'larger than 10000 bytes' in e.message


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    """Answers by the path: /500 an HTTP error, /big 2 MB of JSON, /html a web page; every
    request's headers are kept in the server's `seen`."""

    def do_GET(self):
        self.server.seen.append(dict((k.lower(), v) for k, v in self.headers.items()))
        status, body = 200, json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': []}})
        if self.path.startswith('/500/'):
            status, body = 500, 'upstream exploded'
        elif self.path.startswith('/big/'):
            body = json.dumps({'status': 'success', 'data': {'resultType': 'matrix', 'result': [
                {'metric': {'__name__': 'node_nf_conntrack_entries'}, 'values': [[i, '1'] for i in range(200000)]}]}})
        elif self.path.startswith('/html/'):
            body = '<html><body>Welcome to nginx!</body></html>'
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (IOError, OSError):  # the client read what it wanted and went away
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def local():
    httpd = BaseHTTPServer.HTTPServer(('127.0.0.1', 0), Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    try:
        yield httpd, 'http://127.0.0.1:%d' % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_http_errors_oversized_and_foreign_answers_and_the_headers_sent(local):
    httpd, url = local
    e = failure(url + '/500', bearer_token='tok123', headers={'X-Scope-OrgID': 'team1'})
    assert e.kind == 'http' and 'HTTP 500' in e.message and 'upstream exploded' in e.message
    assert httpd.seen[0]['authorization'] == 'Bearer tok123' and httpd.seen[0]['x-scope-orgid'] == 'team1'
    e = failure(url + '/big', max_bytes=1024 * 1024)
    assert e.kind == 'oversized' and 'larger than 1048576 bytes' in e.message
    e = failure(url + '/html')
    assert e.kind == 'not_json' and 'Welcome to nginx' in e.message
    e = failure(url, username='bob', password=PASSWORD)
    assert e.kind == 'empty'
    assert httpd.seen[-1]['authorization'] == 'Basic Ym9iOnMzY3JldA=='


# --------------------------------------------------------------------------- TLS and basic auth

@pytest.fixture(scope='module')
def secure(data):
    """Prometheus over TLS that asks for a client certificate and a password (one self-signed
    certificate for the server, the client and the CA)."""
    openssl = shutil.which('openssl')
    if not openssl:
        pytest.skip('openssl not found: the TLS case needs a certificate')
    pki = data['root'] / 'pki'
    pki.mkdir()
    cert, key = str(pki / 'cert.pem'), str(pki / 'key.pem')
    subprocess.check_call([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                           '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
                           '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    web = ('tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_auth_type: RequireAndVerifyClientCert\n'
           '  client_ca_file: %s\nbasic_auth_users:\n  nfct: %s\n' % (cert, key, cert, BCRYPT))
    srv = Server(data, 'secure', web)
    tls = {'ca_path': cert, 'client_cert': cert, 'client_key': key}
    try:
        srv.wait_ready(lambda: prom.read_history(srv.url, 'web1', days=1, username='nfct', password=PASSWORD, **tls))
        yield srv, tls
    finally:
        srv.stop()


def test_tls_client_certificates_and_basic_auth(secure):
    srv, tls = secure
    history, meta = prom.read_history(srv.url, 'web1', days=15, username='nfct', password=PASSWORD, **tls)
    assert meta['step'] == 300 and len(history['days']) >= 15
    e = failure(srv.url, username='nfct', password='wrong', **tls)
    assert e.kind == 'http' and 'HTTP 401' in e.message
    e = failure(srv.url, username='nfct', password=PASSWORD, client_cert=tls['client_cert'],
                client_key=tls['client_key'])
    assert e.kind == 'tls' and 'CERTIFICATE_VERIFY_FAILED' in e.message and 'conntrack_prometheus_ca_path' in e.message
    insecure, _meta = prom.read_history(srv.url, 'web1', days=15, username='nfct', password=PASSWORD,
                                        validate_certs=False, client_cert=tls['client_cert'],
                                        client_key=tls['client_key'])
    assert insecure['days'] == history['days']
    e = failure(srv.url, username='nfct', password=PASSWORD, ca_path=tls['ca_path'])
    assert e.kind in ('tls', 'unreachable'), e.message


def test_the_answer_comes_gzipped_and_is_read_decoded(server):
    seen = {}
    original = prom.open_url

    def spying(url, **kwargs):
        response = original(url, **kwargs)
        seen['encoding'] = response.headers.get('Content-Encoding')
        return response
    prom.open_url = spying
    try:
        history, meta = prom.read_history(server.url, 'web1', days=15)
    finally:
        prom.open_url = original
    assert seen['encoding'] == 'gzip' and meta['bytes'] > 100000 and len(history['days']) >= 15


# --------------------------------------------------------------------------- conntrack_recommend through ansible-playbook

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PLAYBOOK = '''
- name: conntrack_recommend sized from the same trace, kept on the host and in Prometheus
  hosts: localhost
  gather_facts: false
  module_defaults:
    nfct.tuning.conntrack_recommend: {profile: default, only_raise: false, force: true, sizing: auto,
                                      prometheus_instance: web1, prometheus_days: 15}
  tasks:
    - name: The facts, with the host's history (the trace as the host recorded it)
      nfct.tuning.conntrack_facts:
        history_path: "{{ history_file }}"
    - name: From the host's history
      nfct.tuning.conntrack_recommend:
        history_source: host
      register: r_host
    - name: From Prometheus
      nfct.tuning.conntrack_recommend:
        history_source: prometheus
        prometheus_url: "{{ url }}"
      register: r_prom
    - name: Failures
      nfct.tuning.conntrack_recommend:
        history_source: prometheus
        prometheus_url: "{{ item.url }}"
        prometheus_instance: "{{ item.instance | default('web1') }}"
        prometheus_metrics: "{{ item.metrics | default('node_exporter') }}"
        prometheus_max_bytes: "{{ item.max_bytes | default(8388608) }}"
        prometheus_days: "{{ item.days | default(15) }}"
        prometheus_timeout: 5
      loop: "{{ failures }}"
      register: r_fail
      ignore_errors: true
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {'host': r_host, 'prom': r_prom, 'fail': r_fail.results} | to_json }}"
        dest: "{{ out }}"
        mode: '0600'
'''


def playbook(tmp, extra):
    """ansible-playbook on localhost (the checkout's ansible.cfg and collections): its results."""
    book, out, variables = tmp / 'play.yml', tmp / 'out.json', tmp / 'vars.json'
    book.write_text(PLAYBOOK)
    variables.write_text(json.dumps(dict(extra, out=str(out))))
    bindir = os.path.dirname(os.path.abspath(os.sys.executable))
    cmd = [os.path.join(bindir, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', '@%s' % variables,
           '-e', 'ansible_python_interpreter=%s' % os.sys.executable, str(book)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO, check=False)
    assert run.returncode == 0, run.stdout.decode()[-6000:]
    return json.loads(out.read_text()), run.stdout.decode()


def test_conntrack_recommend_from_prometheus_equals_the_one_from_the_hosts_history(server, data, local, tmp_path):
    """Through ansible-playbook: history_source prometheus gives the recommendation history_source
    host gives for the same trace (the host's file holds the samples of the range the query asks
    for); every failure is the documented fallback to static, stated in the result and its lines,
    or (a bad option) a clear error."""
    httpd, http_url = local
    for _attempt in range(3):  # the query's range ends at the last step: the same step for both reads
        _req, meta = prom.request(server.url, 'web1', days=15)
        history_file = tmp_path / 'history.json'
        history_file.write_text(store.dumps(host_history(data['samples']['web1'], meta)))
        failures = [{'url': 'http://127.0.0.1:%d' % free_port(), 'kind': 'unreachable'},
                    {'url': server.url + '/prometheus', 'kind': 'http'},
                    {'url': server.url, 'instance': 'nosuchhost', 'kind': 'empty'},
                    {'url': server.url, 'instance': 'half', 'kind': 'metric'},
                    {'url': server.url, 'instance': 'db2.example.com', 'metrics': 'nfct', 'days': 7, 'kind': 'empty'},
                    {'url': http_url + '/500', 'kind': 'http'},
                    {'url': server.url, 'max_bytes': 10000, 'kind': 'oversized'},
                    {'url': server.url, 'days': 0, 'kind': 'options'}]
        res, output = playbook(tmp_path, {'url': server.url, 'history_file': str(history_file), 'failures': failures})
        if res['prom']['history']['prometheus']['end'] == meta['end']:
            break
    host, from_prom = res['host'], res['prom']
    assert host['history']['source'] == 'host' and from_prom['history']['source'] == 'prometheus'
    assert from_prom['history']['fallback'] is None and from_prom['history']['prometheus']['requests'] == 1
    assert host['sizing']['used'] == from_prom['sizing']['used'] == 'observed'
    same = ('value', 'days', 'percentile_peak', 'multiplier', 'peak', 'gaps', 'dropped_days', 'available')
    assert [host['sizing']['observed'][k] for k in same] == [from_prom['sizing']['observed'][k] for k in same]
    assert host['recommended'] == from_prom['recommended']
    assert host['values']['max']['recommended'] == from_prom['values']['max']['recommended']
    assert (host['forecast'] or {}).get('method') == (from_prom['forecast'] or {}).get('method')
    assert any(line.startswith('sizing: auto: 15 days of history: observed') or
               line.startswith('sizing: auto: 14 days of history: observed') for line in from_prom['report'])
    assert any(line.startswith('history: history from Prometheus at %s' % server.url) for line in from_prom['report'])
    for case, result in zip(failures, res['fail']):
        if case['kind'] == 'options':
            assert result['failed'] and 'prometheus_days: 0 is outside the allowed range 1-400 days' in result['msg']
            continue
        assert not result.get('failed'), result.get('msg')
        info = result['history']
        assert info['fallback'] == 'static' and info['error_kind'] == case['kind'], (case, info)
        assert result['sizing']['used'] == 'static' and result['sizing']['fallback'] == 'static'
        assert result['sizing']['statement'].startswith('auto: no history from Prometheus (')
        assert any(line.startswith('sizing: auto: no history from Prometheus (') for line in result['report'])
        assert any(w.startswith('history_source prometheus: no history from Prometheus') for w in
                   result['warning_messages'])
    assert 'no history from Prometheus' in output  # the [WARNING] lines


AUDIT_PLAYBOOK = '''
- name: The role's audit entry point with the history from Prometheus
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Audit
      ansible.builtin.import_role:
        name: nfct.tuning.conntrack
        tasks_from: audit
        rolespec_validate: false
    - name: Keep the host's result
      ansible.builtin.copy:
        content: "{{ conntrack_audit_result | to_json }}"
        dest: "{{ out }}"
        mode: '0600'
      check_mode: false
'''


def audit_playbook(tmp, extra):
    """The role's audit on this machine (read-only, --check) through ansible-playbook: the
    registered result of its one module run, and the output."""
    book, out, variables = tmp / 'audit.yml', tmp / 'audit-result.json', tmp / 'audit-vars.json'
    book.write_text(AUDIT_PLAYBOOK)
    variables.write_text(json.dumps(dict(extra, out=str(out), ansible_become=False, conntrack_audit_fail_on=[],
                                         conntrack_audit_report_path=str(tmp / 'audit.json'),
                                         conntrack_audit_junit_path='', conntrack_audit_html_path='',
                                         conntrack_history_source='prometheus', conntrack_prometheus_instance='web1',
                                         conntrack_prometheus_days=15, conntrack_sizing='auto', conntrack_force=True,
                                         conntrack_audit_health_sample=0)))
    bindir = os.path.dirname(os.path.abspath(os.sys.executable))
    cmd = [os.path.join(bindir, 'ansible-playbook'), '--check', '-i', 'localhost,', '-c', 'local', '-e',
           '@%s' % variables, '-e', 'ansible_python_interpreter=%s' % os.sys.executable, str(book)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(tmp), check=False)
    assert run.returncode == 0, run.stdout.decode()[-6000:]
    return json.loads(out.read_text()), run.stdout.decode()


def test_the_audit_reads_prometheus_on_the_controller_in_its_one_module_run(server, tmp_path):
    """conntrack_history_source prometheus in the audit: the module's action reads the history on
    the controller and gives it to the one module run on the host (no task of its own, no second
    module run); a server that cannot answer is the fallback to static sizing, said in the audit's
    warnings. (That the prometheus_* options never reach the host: tests/unit, the action's test.)"""
    res, output = audit_playbook(tmp_path, {'conntrack_prometheus_url': server.url})
    assert 'daily peaks' in res['audit']['keys']['max']['reason'], res['audit']['keys']['max']['reason']
    # the preflight, the audit, the report, its lines, the recommendations, the fail, the copy
    assert output.count('TASK [') == 7 and 'Prometheus' not in ''.join(
        line for line in output.splitlines() if line.startswith('TASK [')), output
    down, output = audit_playbook(tmp_path, {'conntrack_prometheus_url': 'http://127.0.0.1:%d' % free_port()})
    assert 'daily peaks' not in down['audit']['keys']['max']['reason']
    assert 'no history from Prometheus' in output, output[-3000:]
