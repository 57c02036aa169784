# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real monitoring stack of the closed-loop test (tests/eda/test_closed_loop.py), each part
started here on this machine and stopped by its PID:

- a network namespace with conntrack active (tests/netns/nsfill.py Netns), joined to the initial
  namespace by a veth pair with link-local addresses that exist only on this machine; the scrape
  traffic on it is NOTRACK in the namespace, so a full table does not cut Prometheus off;
- node_exporter (Debian's prometheus-node-exporter binary) in that namespace, with its conntrack
  collector and the textfile collector reading the folder our metrics writer
  (plugins/module_utils/metrics/writer.py, the code the writer's timer runs) writes every second;
- Prometheus (Debian's prometheus) scraping it every second under two instance labels (the node,
  and a host of the inventory that is unreachable), with a copy of our alert rules whose every
  duration is divided by SCALE (the `for:` clauses and the range windows);
- Alertmanager (Debian's prometheus-alertmanager) with short group and repeat intervals, posting
  to ansible-rulebook;
- ansible-rulebook (PyPI, its own venv, JDK 17) running extensions/eda/rulebooks/conntrack.yml,
  in a mount namespace whose /etc is a copy (nsfill.isolated): relieve writes no file, and would
  reach none of the host's.

Nothing here writes a host-global value: the test saves and restores nf_conntrack_max."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'prometheus'))
import promserver  # noqa: E402
import uuid

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'netns'))
import nsfill  # noqa: E402

COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
RULES = os.path.join(REPO, 'prometheus', 'nfct-conntrack.rules.yml')
# every duration of the alert rules divided by this: 5m -> 15s, 1m -> 3s, 2m -> 6s, 10m -> 30s
SCALE = 20
UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}

# new UDP flows at RATE per second until killed; STATUS (a JSON file) says how many datagrams the
# kernel refused (sendto fails with EPERM when conntrack drops them) and when the first and last were
FLOOD = r'''
import json, os, socket, sys, time
rate, status = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
i, start, drops, first, last, written = 0, time.monotonic(), 0, None, None, 0
sys.stdout.write('flooding\n'); sys.stdout.flush()
while True:
    for _ in range(20):
        i += 1
        try:
            s.sendto(b'x', ('127.%d.%d.%d' % (1 + (i >> 16) % 250, (i >> 8) & 255, 1 + (i & 255) % 254), 1000 + i % 50))
        except OSError:
            drops += 1
            last = time.time()
            first = first or last
    if time.monotonic() - written > 0.1:
        with open(status + '.tmp', 'w') as f:
            json.dump({'sent': i, 'drops': drops, 'first_drop': first, 'last_drop': last, 'at': time.time()}, f)
        os.rename(status + '.tmp', status)
        written = time.monotonic()
    time.sleep(max(0.0, float(i) / rate - (time.monotonic() - start)))
'''

# our metrics writer, every second (the timer's code, without the timer: its shortest interval is 10 s)
WRITER = r'''
import sys, time
sys.path.insert(0, sys.argv[2])
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import writer
while True:
    writer.main([sys.argv[1]])
    time.sleep(1)
'''


free_port = promserver.free_port


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def get_json(url):
    return json.loads(get(url)[1])


def wait(what, check, timeout, step=0.5):
    """check() until it returns something true; AssertionError naming what after timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
        except Exception as e:  # a server not up yet
            last = e
        else:
            if last:
                return last
        time.sleep(step)
    raise AssertionError('%s: not within %d s (last: %r)' % (what, timeout, last))


def seconds(text):
    m = re.match(r'^(\d+)(ms|s|m|h|d)$', str(text))
    return int(m.group(1)) * UNITS[m.group(2)]


def short(value):
    """A duration in seconds as Prometheus writes one (whole seconds, at least 1 s)."""
    return '%ds' % max(1, int(round(value)))


def scaled_rules(dst, scale=SCALE):
    """A copy of our alert rules with every `for:` and range window divided by scale."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    for group in doc['groups']:
        for rule in group['rules']:
            if 'for' in rule:
                rule['for'] = short(seconds(rule['for']) / scale)
            rule['expr'] = re.sub(r'\[(\d+(?:ms|s|m|h|d))\]', lambda m: '[%s]' % short(seconds(m.group(1)) / scale),
                                  rule['expr'])
    with open(dst, 'w') as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return doc


class Proc(object):
    """A process of ours, its output in a log file; stop() ends it (and its process group, which
    it leads) by its PID."""

    def __init__(self, name, argv, log, env=None, cwd=None, group=False):
        self.name, self.log = name, log
        self.out = open(log, 'ab')
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     stdin=subprocess.DEVNULL, start_new_session=group)
        self.group = group

    def alive(self):
        return self.proc.poll() is None

    def text(self):
        with open(self.log, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            try:
                if self.group:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                else:
                    self.proc.terminate()
                self.proc.wait(timeout)
            except (subprocess.TimeoutExpired, OSError):
                try:
                    if self.group:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    else:
                        self.proc.kill()
                except OSError:
                    pass
                self.proc.wait()
        elif self.group:
            try:    # what the leader left behind in its group (ansible-playbook runs)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        self.out.close()


class Veth(object):
    """A veth pair from the initial namespace into ns, link-local /30, NOTRACK on the inner end."""

    def __init__(self, ns):
        tag = uuid.uuid4().hex[:6]
        self.outer, self.inner, self.ns = 'nfe%sh' % tag, 'nfe%sn' % tag, ns
        octet = 100 + int(tag[:2], 16) % 150
        self.host_ip, self.ns_ip = '169.254.%d.1' % octet, '169.254.%d.2' % octet
        self.created = False
        subprocess.run(['ip', 'link', 'add', self.outer, 'type', 'veth', 'peer', 'name', self.inner], check=True)
        self.created = True
        subprocess.run(['ip', 'link', 'set', self.inner, 'netns', ns], check=True)
        subprocess.run(['ip', 'addr', 'add', self.host_ip + '/30', 'dev', self.outer], check=True)
        subprocess.run(['ip', 'link', 'set', self.outer, 'up'], check=True)
        for argv in (['ip', 'addr', 'add', self.ns_ip + '/30', 'dev', self.inner], ['ip', 'link', 'set', self.inner, 'up']):
            nsfill.ns_exec(ns, argv)
        rules = ('table inet nfct_eda_scrape {\n'
                 '  chain pre { type filter hook prerouting priority raw; iifname "%s" notrack; }\n'
                 '  chain out { type filter hook output priority raw; oifname "%s" notrack; }\n}\n'
                 % (self.inner, self.inner))
        nsfill.ns_exec(ns, ['nft', '-f', '-'], input=rules.encode())

    def remove(self):
        if self.created:
            subprocess.run(['ip', 'link', 'delete', self.outer], check=False, stderr=subprocess.DEVNULL)


# Debian's Alertmanager reads /usr/share/prometheus/alertmanager/default.tmpl (a Debian patch): its
# process gets the extracted folder laid over /usr/share in a mount namespace of its own
OVERLAY_SHARE = 'mount -t overlay nfct-eda -o "lowerdir=$0/usr/share:/usr/share" /usr/share && exec "$@"'


def with_share(share, argv):
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', OVERLAY_SHARE, share] + list(argv)


def prometheus_config(path, rules, am_port, target, instances):
    conf = {'global': {'scrape_interval': '1s', 'evaluation_interval': '1s', 'scrape_timeout': '1s'},
            'rule_files': [rules],
            'alerting': {'alertmanagers': [{'static_configs': [{'targets': ['127.0.0.1:%d' % am_port]}]}]},
            'scrape_configs': [{'job_name': name, 'static_configs': [{'targets': [target]}],
                                'relabel_configs': [{'target_label': 'instance', 'replacement': instance}]}
                               for name, instance in instances]}
    with open(path, 'w') as f:
        yaml.safe_dump(conf, f, sort_keys=False)


def alertmanager_config(path, eda_port):
    conf = {'route': {'receiver': 'nfct-eda', 'group_by': ['instance'], 'group_wait': '1s', 'group_interval': '2s',
                      'repeat_interval': '10s'},
            'receivers': [{'name': 'nfct-eda', 'webhook_configs': [
                {'url': 'http://127.0.0.1:%d/alerts' % eda_port, 'send_resolved': True}]}]}
    with open(path, 'w') as f:
        yaml.safe_dump(conf, f, sort_keys=False)


def writer_config(path, textfile_dir, history):
    with open(path, 'w') as f:
        json.dump({'dir': textfile_dir, 'breakdown': False, 'top': 1, 'breakdown_timeout': 5,
                   'breakdown_max_entries': 1, 'desired': {}, 'recommend': {'profile': 'default'}, 'users': False,
                   'files': {}, 'usage_threshold': 0.75, 'history': history}, f)
