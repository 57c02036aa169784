# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_rollout_gate on the real kernel, run by Ansible inside throwaway network namespaces:

- a quiet namespace (a few thousand steady entries) passes: no counter grew in either window;
- a namespace whose table is full and dropping during the window fails the `drops` gate, with the
  kernel's own counts as evidence, against a baseline taken before the flood (the table is filled
  to the global nf_conntrack_max by a UDP flood: the initial namespace's max is lowered for the
  case, under nsfill.host_global_lock(), well above every other namespace's count, and restored);
- a command check that exits 1 fails the gate, one that exits 0 passes;
- a URL check against a real HTTP server (python -m http.server on 127.0.0.1 inside the namespace,
  stopped by its PID) passes on 200 and fails on 404.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)
MAX = '/proc/sys/net/netfilter/nf_conntrack_max'
PORT = 8000
RATE = 2000  # new UDP flows per second

pytestmark = pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces')


def gate(ns, args, ok=True):
    """The module run by Ansible inside the namespace -> its result (failed or not, as `ok` says)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    cmd = ['ip', 'netns', 'exec', ns.name, os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local',
           '-i', 'localhost,', '-e', 'ansible_python_interpreter=%s' % sys.executable,
           '-m', 'nfct.tuning.conntrack_rollout_gate', '-a', json.dumps(args), '-o']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, check=False)
    text = out.stdout.decode()
    assert out.returncode == (0 if ok else 2), text + out.stderr.decode()
    # one-line output: "localhost | SUCCESS => {json}" (FAILED! when the gate fails)
    return json.loads(text.split('=>', 1)[1])


@pytest.fixture(scope='module')
def quiet():
    ns = nsfill.Netns('nfct-gate')
    try:
        ns.fill(udp=2000, tcp_est=100, tcp_tw=100, syn=50, icmp=10, udp6=20)
        yield ns
    finally:
        ns.remove()


@pytest.fixture(scope='module')
def web(quiet, tmp_path_factory):
    """python -m http.server on 127.0.0.1:PORT inside the quiet namespace, serving one page."""
    folder = tmp_path_factory.mktemp('www')
    (folder / 'index.html').write_text(u'<h1>up</h1>\n')
    proc = subprocess.Popen(['ip', 'netns', 'exec', quiet.name, sys.executable, '-m', 'http.server', str(PORT),
                             '--bind', '127.0.0.1', '--directory', str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        probe = 'import socket; socket.create_connection(("127.0.0.1", %d), 1).close()' % PORT
        while subprocess.run(['ip', 'netns', 'exec', quiet.name, sys.executable, '-c', probe],
                             stderr=subprocess.DEVNULL, check=False).returncode != 0:
            assert proc.poll() is None and time.time() < deadline, 'http.server did not start'
            time.sleep(0.2)
        yield 'http://127.0.0.1:%d' % PORT
    finally:
        proc.terminate()  # ours, by PID (ip netns exec execs python itself)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_quiet_namespace_passes(quiet):
    before = gate(quiet, {'phase': 'baseline', 'window': 2})['sample']
    assert before['start']['source'] == 'procfs' and before['seconds'] >= 2
    assert before['start']['count'] == before['end']['count'] == quiet.count()
    res = gate(quiet, {'phase': 'gate', 'window': 2, 'baseline': before,
                       'checks': [{'name': 'true', 'command': 'exit 0'}]})
    g = res['gate']
    assert g['passed'] is True and g['failures'] == [] and g['skipped'] == [] and res['changed'] is False
    assert res['sample']['delta'] == {'drop': 0, 'early_drop': 0, 'insert_failed': 0}
    assert g['lines'][0].startswith('gate passed over 2') and g['lines'][0].endswith(
        ': drops, insert_failed, usage, full, check:true')


def test_a_command_check_that_exits_1_fails(quiet):
    before = gate(quiet, {'phase': 'baseline', 'window': 1})['sample']
    res = gate(quiet, {'phase': 'gate', 'window': 1, 'baseline': before,
                       'checks': [{'name': 'ok', 'command': 'true'},
                                  {'name': 'broken', 'command': 'echo "service down" >&2; exit 1'}]}, ok=False)
    assert res['gate']['failures'] == [{'gate': 'check:broken', 'evidence': 'exit 1: service down'}]
    assert res['msg'] == 'the rollout gate failed: check:broken (exit 1: service down)'


def test_url_checks_pass_on_200_and_fail_on_404(quiet, web):
    before = gate(quiet, {'phase': 'baseline', 'window': 1})['sample']
    res = gate(quiet, {'phase': 'gate', 'window': 1, 'baseline': before,
                       'checks': [{'name': 'page', 'url': web + '/index.html'}]})
    assert res['gate']['passed'] is True and res['gate']['checks'][0]['status'] == 200
    res = gate(quiet, {'phase': 'gate', 'window': 1, 'baseline': before,
                       'checks': [{'name': 'page', 'url': web + '/index.html'},
                                  {'name': 'missing', 'url': web + '/missing.html', 'timeout': 5}]}, ok=False)
    failures = res['gate']['failures']
    assert [f['gate'] for f in failures] == ['check:missing']
    assert failures[0]['evidence'].startswith('HTTP 404 File not found')
    assert [c['status'] for c in res['gate']['checks']] == [200, 404]
    # and from outside the namespace nothing answers there: the request was made from the host itself
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', PORT), 1).close()


def counters(ns):
    """drop, early_drop, insert_failed of the namespace's table, summed over the CPUs, and its count."""
    return json.loads(nsfill.ns_exec(ns.name, [sys.executable, '-c', nsfill.COUNTERS],
                                     stdout=subprocess.PIPE).stdout.decode())


def test_a_full_table_dropping_during_the_window_fails_the_drops_gate():
    ns = nsfill.Netns('nfct-gate-full')
    flood = None
    try:
        ns.write_sysctl('udp_timeout', 3600)
        before = gate(ns, {'phase': 'baseline', 'window': 3})['sample']
        assert before['delta'] == {'drop': 0, 'early_drop': 0, 'insert_failed': 0}
        with nsfill.host_global_lock():
            saved = nsfill.read(MAX)
            cmax = max(3000, 2 * nsfill.busiest_namespace() + 1000)  # no other table of this machine is near it
            try:
                nsfill.write(MAX, cmax)
                flood = subprocess.Popen(['ip', 'netns', 'exec', ns.name, sys.executable, '-c', nsfill.FLOOD,
                                          str(RATE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                assert flood.stdout.readline().strip() == b'flooding'
                first = counters(ns)
                deadline = time.time() + 60
                while True:  # until the table is full and the kernel has counted drops
                    now = counters(ns)
                    dropped = now['drop'] + now['early_drop'] - first['drop'] - first['early_drop']
                    if now['count'] >= 0.9 * cmax and dropped > 0:
                        break
                    assert time.time() < deadline, 'the table did not fill to %d with drops: %s' % (cmax, now)
                    time.sleep(0.5)
                res = gate(ns, {'phase': 'gate', 'window': 3, 'baseline': before}, ok=False)
                after = counters(ns)
            finally:
                if flood is not None:
                    flood.kill()  # ours, by PID
                    flood.wait()
                nsfill.write(MAX, saved)
                assert nsfill.read(MAX) == saved
    finally:
        ns.remove()
    g = res['gate']
    gates = [f['gate'] for f in g['failures']]
    assert gates[0] == 'drops' and set(gates) <= {'drops', 'usage', 'full'} and 'usage' in gates
    delta = res['sample']['delta']
    grown = delta['drop'] + delta['early_drop']
    # the kernel's own counts, read independently after the window, cover the window's growth
    assert grown > 0 and after['drop'] + after['early_drop'] - first['drop'] - first['early_drop'] >= grown
    words = ', '.join('%s +%d' % (k, delta[k]) for k in ('drop', 'early_drop') if delta[k])
    assert g['failures'][0]['evidence'].startswith(words + ' in 3')
    assert re.search(r'\(before the change: \+0 in 3(\.\d)? s\)$', g['failures'][0]['evidence']), g['failures'][0]
    assert res['msg'].startswith('the rollout gate failed: drops (' + words)
    print('\n'.join(g['lines']))
    assert res['sample']['end']['max'] == cmax and res['sample']['end']['count'] >= 0.9 * cmax
