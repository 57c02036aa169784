# -*- coding: utf-8 -*-
"""The metrics writer on a real systemd container of our image with Debian's node_exporter
(issue 14, docs/monitoring.md): the role with conntrack_metrics: true (ansible-playbook, podman
connection) installs it, its timer fires, node_exporter's textfile collector picks the file up,
and a scrape of node_exporter's /metrics inside the container shows our families with values
equal to an independent count of the table (conntrack -C / -L); promtool check metrics passes on
what node_exporter serves; check mode writes nothing; conntrack_metrics: false removes it all."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import podhost  # noqa: E402

sys.path.insert(0, os.path.join(podhost.REPO, 'tests', 'netns'))
import nsfill  # noqa: E402
from podhost import Container  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='needs root and podman (make test installs it)')

VENV_BIN = os.path.dirname(sys.executable)
PROMTOOL = os.environ.get('NFCT_PROMTOOL', os.path.join(podhost.REPO, '.cache', 'tools', 'promtool'))
PROM = '/var/lib/prometheus/node-exporter/nfct_conntrack.prom'
# a few thousand entries that live long enough to be counted twice: 3000 UDP flows, 200
# established TCP connections and their TIME_WAIT-free peers
FILL = r'''
import socket, time
open('/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'w').write('600')
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    u.sendto(b'x', ('127.0.%d.%d' % (1 + i // 250, 1 + i % 250), 5000))
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 7000)); srv.listen(512)
conns = [socket.create_connection(('127.0.0.1', 7000)) for _ in range(200)]
peers = [srv.accept()[0] for _ in range(200)]
open('/run/nfct-fill.ready', 'w').write('ok')
time.sleep(3600)
'''


def playbook(tmp_path, c, extra, check=False):
    inv = podhost.inventory(tmp_path, [c.name])
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inv] + (['--check', '--diff'] if check else []) + [
        '-e', json.dumps(extra), os.path.join(podhost.REPO, 'playbooks', 'tune.yml')]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=podhost.ansible_env(),
                         cwd=str(tmp_path), check=False, timeout=900)
    assert out.returncode == 0, out.stdout.decode()[-4000:] + out.stderr.decode()[-2000:]
    return json.loads(out.stdout.decode())


def scrape(c):
    return c.sh('curl -sf http://127.0.0.1:9100/metrics')


def samples(text, name):
    """{labels text: value} of one family in an exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^%s(\{[^}]*\})? (\S+)$' % re.escape(name), line)
        if m:
            out[m.group(1) or ''] = float(m.group(2))
    return out


def wait_for(fn, timeout=60, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError('timed out waiting for %s' % what)


@pytest.fixture(scope='module')
def tree():
    d = podhost.module_tree()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_metrics_through_node_exporter(tree, tmp_path):
    c = Container(tree=tree)
    try:
        c.sh("nft add table inet t; nft add chain inet t c '{ type filter hook output priority 0; }'; "
             "nft add rule inet t c ct state new counter")
        # check mode: nothing written anywhere
        before = c.snapshot()
        extra = {'conntrack_metrics': True, 'conntrack_metrics_interval': 10, 'conntrack_profile': 'web'}
        playbook(tmp_path, c, extra, check=True)
        assert podhost.diff(before, c.snapshot()) == []
        # for real: installed, and the timer fires by itself
        data = playbook(tmp_path, c, extra)
        assert c.sh('systemctl is-enabled nfct-conntrack-metrics.timer').strip() == 'enabled'
        wait_for(lambda: c.read(PROM), what='the timer to write %s' % PROM)
        # a second run changes nothing
        data = playbook(tmp_path, c, extra)
        changed = [(t['task']['name'], h) for p in data['plays'] for t in p['tasks'] for h in t['hosts'].values()
                   if h.get('changed')]
        assert not changed, changed
        # node_exporter (masked in the image) with its default textfile directory
        c.sh('systemctl unmask prometheus-node-exporter.service && systemctl start prometheus-node-exporter.service')
        wait_for(lambda: 'nfct_conntrack_' in (c.sh('curl -sf http://127.0.0.1:9100/metrics || true')),
                 what='node_exporter to serve our families')
        # fill the table, let the writer run once more (through its unit), scrape; under the lock of
        # the tests that change the global max (another lane's may lower it for a flood)
        with nsfill.host_global_lock():
            podhost.podman(['exec', '-d', c.name, 'python3', '-c', FILL])
            wait_for(lambda: c.read('/run/nfct-fill.ready'), what='the table to fill')
            # the independent count right after the writer's run, before the scrape's own TCP
            # connection to node_exporter adds an entry
            count, udp, established = [int(x) for x in c.sh(
                'systemctl start nfct-conntrack-metrics.service && conntrack -C && '
                '(conntrack -L -p udp 2>/dev/null | wc -l) && '
                '(conntrack -L -p tcp --state ESTABLISHED 2>/dev/null | wc -l)').split()]
            text = scrape(c)
            assert count >= 3200, count
            assert samples(text, 'nfct_conntrack_entries') == {'': count}
            assert samples(text, 'nfct_conntrack_max')[''] == int(c.sh('cat /proc/sys/net/netfilter/nf_conntrack_max'))
        assert samples(text, 'nfct_conntrack_entries_by_l4_protocol')['{protocol="udp"}'] == udp
        assert samples(text, 'nfct_conntrack_tcp_entries_by_state')['{state="ESTABLISHED"}'] == established
        tops = samples(text, 'nfct_conntrack_top_source_entries')
        assert 0 < len(tops) <= 10 and max(tops.values()) >= 400  # 127.0.0.1: the TCP flows, both ways
        assert samples(text, 'nfct_conntrack_collector_success') == {'': 1}
        assert samples(text, 'nfct_conntrack_breakdown_skipped') == {'{reason="none"}': 0}
        assert samples(text, 'nfct_conntrack_desired')  # the values the role applied
        assert samples(text, 'nfct_conntrack_drift')
        assert samples(text, 'nfct_conntrack_recommended_max')
        assert samples(text, 'nfct_conntrack_can_disable') == {'': 0}  # the ct state rule needs it
        # promtool lints what node_exporter serves of ours
        ours = '\n'.join(line for line in text.splitlines() if 'nfct_conntrack_' in line) + '\n'
        lint = subprocess.run([PROMTOOL, 'check', 'metrics'], input=ours.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        assert lint.returncode == 0, lint.stdout.decode()
        # conntrack_metrics: false removes every file and the units, and the temp files a killed
        # run left next to them and a writer stopped midway left beside its output; another
        # tool's file in node_exporter's folder stays
        textfiles = os.path.dirname(PROM)
        c.sh('echo half > /etc/systemd/system/.nfct-k1ll3d && echo half > /etc/nfct-tuning/.nfct-k1ll3d && '
             'echo half > {0}/.nfct-k1ll3d && echo "other 1" > {0}/other.prom'.format(textfiles))
        playbook(tmp_path, c, dict(extra, conntrack_metrics=False))
        left = c.sh('ls /etc/systemd/system/nfct-conntrack-metrics.* /etc/systemd/system/.nfct-* '
                    '/usr/local/lib/nfct-tuning /etc/nfct-tuning %s %s/.nfct-* 2>/dev/null || true' % (PROM, textfiles))
        assert left.strip() == '', left
        assert c.sh('cat %s/other.prom' % textfiles).strip() == 'other 1'
        assert 'nfct-conntrack-metrics' not in c.sh('systemctl list-timers --all')
    finally:
        c.remove()
