# -*- coding: utf-8 -*-
"""conntrack_rollout_gate on a fixture host, run the way Ansible runs it: the counters are read
from the fixture's /proc at both ends of the window (the sleep between them is replaced by one that
moves the counters, as the kernel would); the user checks are real (/bin/sh, an HTTP server on
127.0.0.1 in a thread). The real kernel is in tests/netns/test_rollout_gate_netns.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re
import threading
import time

import pytest

from http.server import BaseHTTPRequestHandler, HTTPServer

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.modules import conntrack_rollout_gate

import hosts
from counters import DROP, EARLY_DROP, INSERT_FAILED, Moves
from modrun import ansible_flags, invoke


def gate(tmp_path, capsys, args, check=False, moves=None):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    sleep = moves(root) if moves else Moves(root)
    invoke(conntrack_rollout_gate, ansible_flags(tmp_path, args, check), root=root, probes=probes, sleep=sleep)
    return json.loads(capsys.readouterr().out), sleep


def quiet_baseline(seconds=5):
    return {'t0': 0, 't1': seconds, 'window': seconds, 'seconds': seconds, 'reset': [],
            'delta': {'drop': 0, 'early_drop': 0, 'insert_failed': 0},
            'start': {'count': 5, 'max': 262144}, 'end': {'count': 5, 'max': 262144}}


def test_baseline_samples_the_window(tmp_path, capsys):
    res, sleep = gate(tmp_path, capsys, {'phase': 'baseline', 'window': 0.2},
                      moves=lambda root: Moves(root, count=9, per_cpu={DROP: 2, INSERT_FAILED: 1}))
    assert sleep.asked == [0.2] and 0.2 <= res['sample']['seconds'] < 5
    sample = res['sample']
    assert res['changed'] is False and 'failed' not in res
    # the fixture's rows sum to drop 1, early_drop 2, insert_failed 3; each of the 2 CPUs grew
    assert (sample['start']['drop'], sample['start']['early_drop'], sample['start']['insert_failed']) == (1, 2, 3)
    assert sample['delta'] == {'drop': 4, 'early_drop': 0, 'insert_failed': 2} and sample['reset'] == []
    assert sample['start']['count'] == 5 and sample['end']['count'] == 9 and sample['end']['max'] == 262144
    assert sample['start']['source'] == 'procfs' and sample['window'] == 0.2 and sample['checks'] == []


def test_drops_after_the_change_fail_the_gate_with_evidence(tmp_path, capsys):
    res, _sleep = gate(tmp_path, capsys, {'phase': 'gate', 'window': 0.2, 'baseline': quiet_baseline(0.2)},
                       moves=lambda root: Moves(root, per_cpu={DROP: 834, EARLY_DROP: 166}))
    assert res['failed'] is True and res['changed'] is False
    assert [f['gate'] for f in res['gate']['failures']] == ['drops']
    # the window is measured on the clock (0.2 s, more on a busy machine)
    assert re.match(r'drop \+1668, early_drop \+332 in [0-9.]+ s \(before the change: \+0 in 0.2 s\)$',
                    res['gate']['failures'][0]['evidence'])
    assert res['msg'] == 'the rollout gate failed: drops (%s)' % res['gate']['failures'][0]['evidence']
    assert res['sample']['delta'] == {'drop': 1668, 'early_drop': 332, 'insert_failed': 0}


def test_checks_run_on_the_host_and_fail_the_gate(tmp_path, capsys, server):
    checks = [{'name': 'true', 'command': 'true'},
              {'name': 'boom', 'command': 'echo starting; echo boom >&2; exit 3'},
              {'name': 'page', 'url': server + '/ok'},
              {'name': 'missing', 'url': server + '/missing'},
              {'name': 'closed', 'url': 'http://127.0.0.1:9/', 'timeout': 2}]
    res, _sleep = gate(tmp_path, capsys, {'phase': 'gate', 'window': 0, 'baseline': quiet_baseline(0),
                                          'checks': checks})
    found = dict((c['name'], c) for c in res['gate']['checks'])
    assert found['true']['passed'] is True and found['true']['rc'] == 0
    assert found['boom']['evidence'] == 'exit 3: boom' and found['boom']['rc'] == 3
    assert found['page']['passed'] is True and found['page']['status'] == 200
    assert found['missing']['status'] == 404 and found['missing']['evidence'] == 'HTTP 404 Not Found: no page here'
    assert found['closed']['status'] is None
    assert found['closed']['evidence'].startswith('no answer from http://127.0.0.1:9/')
    assert [f['gate'] for f in res['gate']['failures']] == ['check:boom', 'check:missing', 'check:closed']
    assert res['msg'].startswith('the rollout gate failed: check:boom (exit 3: boom); check:missing (HTTP 404')


def test_a_check_past_its_timeout_is_killed(tmp_path, capsys):
    began = time.time()
    res, _sleep = gate(tmp_path, capsys, {'phase': 'gate', 'window': 0, 'baseline': quiet_baseline(0),
                                          'checks': [{'name': 'slow', 'command': 'echo waiting; sleep 30',
                                                      'timeout': 0.5}]})
    assert time.time() - began < 10
    assert res['gate']['failures'] == [{'gate': 'check:slow', 'evidence': 'still running after 0.5 s: killed: waiting'}]


def test_passing_gate_and_the_warning_for_a_zero_window(tmp_path, capsys, monkeypatch):
    # the warnings module.warn records (once a test has loaded controller code, Ansible prints them
    # instead of returning them: the spy sees both ways)
    warned = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, text, **kw: warned.append(text))
    res, sleep = gate(tmp_path, capsys, {'phase': 'gate', 'window': 0, 'baseline': quiet_baseline(0),
                                         'checks': [{'name': 'ok', 'command': 'exit 0'}], 'vocabulary': 'role'})
    assert sleep.asked == [] and 'failed' not in res and res['gate']['passed'] is True
    line = res['gate']['lines'][0]
    assert re.match(r'gate passed over [0-9.]+ s: drops, insert_failed, usage, full, check:ok$', line), line
    assert len(warned) == 1 and warned[0].startswith('conntrack_rollout_soak is 0: the health gate then compares')


def test_check_mode_samples_and_runs_no_check(tmp_path, capsys):
    marker = tmp_path / 'ran'
    res, _sleep = gate(tmp_path, capsys, {'phase': 'gate', 'window': 2, 'baseline': quiet_baseline(2),
                                          'checks': [{'name': 'touch', 'command': 'touch %s' % marker}]}, check=True)
    assert not marker.exists() and res['gate']['passed'] is True
    assert res['gate']['skipped'] == [{'gate': 'check:touch', 'why': 'not run in check mode'}]
    assert res['gate']['checks'] == [{'name': 'touch', 'kind': 'command', 'passed': None,
                                      'evidence': 'not run in check mode'}]


@pytest.mark.parametrize('args, msg', [
    ({'phase': 'gate', 'window': 5}, 'baseline: expected the sample that phase=baseline returned (with seconds and '
                                     'delta), got NoneType None'),
    ({'phase': 'baseline', 'window': -1, 'vocabulary': 'role', 'checks': {'name': 'x'}},
     'conntrack_rollout_soak: -1 is outside the allowed range 0-86400 seconds; conntrack_rollout_checks: expected a '
     'list of checks, each {name, command} or {name, url}; got a dict'),
    ({'phase': 'baseline', 'checks': [{'name': 'x', 'command': 'true', 'url': 'http://h/'}],
      'thresholds': {'usage_percent': 0}},
     'checks[0]: give command or url, not both; thresholds.usage_percent: 0 is outside the allowed range 5-100 percent '
     'of max'),
    ({'phase': 'baseline', 'check_timeout': 0}, 'check_timeout: 0 is outside the allowed range 0.1-3600 seconds'),
])
def test_bad_input_is_refused_before_sampling(tmp_path, capsys, args, msg):
    res, sleep = gate(tmp_path, capsys, args)
    assert res['failed'] is True and res['msg'] == msg and sleep.asked == []


class Pages(BaseHTTPRequestHandler):
    def do_GET(self):
        found = self.path == '/ok'
        body = b'fine\n' if found else b'no page here\n'
        self.send_response(200 if found else 404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(('127.0.0.1', 0), Pages)
    thread = threading.Thread(target=httpd.serve_forever)
    thread.daemon = True
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
