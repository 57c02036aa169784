# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed loop on real components (docs/closed-loop.md, issue 26): a table filled by real
traffic until the kernel drops, node_exporter and our metrics writer, Prometheus with our alert
rules, Alertmanager, ansible-rulebook with our rulebook and source, relieve on the node (this
machine's initial namespace, where nf_conntrack_max can be raised; saved first, restored after).
The parts are started by the `loop` fixture (tests/eda/stack.py) and stopped by their PIDs.

1. The fix: the flood fills the namespace's table to the lowered global max; the dropping alerts
   fire; the rulebook runs nfct.tuning.closed_loop on the node, relieve raises max, the drops stop
   under the same traffic, the alerts resolve. The record has the alert, the host, the result,
   max before and after, the time from the alert to the fix, and relieve's output beside it.
2. Unreachable (at the same time): the same alerts under a second instance label name a host of
   the inventory that refuses connections. Its one run is recorded as unreachable; Alertmanager's
   repeats and the other alerts of that host start no other run (no retry storm).
3. The budget spent (nfct_eda_budget 1): the table fills again (max lowered to the count after the
   earlier alerts resolved); new alerts fire; the loop stops for the node and says so (a stopped
   entry, the rulebook's STOPPED line), runs nothing, and the alert keeps firing for a person.

The alert rules are a copy of prometheus/nfct-conntrack.rules.yml with every `for:` and range
window divided by 20 (stack.SCALE), and nfct_eda_settle 600 / 20 s. The time from the first drop
to the fix is a benchmark figure (the summary, .cache/eda/closed-loop-bench.json), not asserted."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import threading
import time
import urllib.parse

import pytest
import yaml

import stack
from stack import nsfill

get, put, writable_keys, busiest_namespace = nsfill.read, nsfill.write, nsfill.writable_conntrack_keys, nsfill.busiest_namespace

NF = '/proc/sys/net/netfilter/nf_conntrack_%s'
HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize'
RATE = 2000
NODE, GONE = 'nfct-eda-node', 'nfct-eda-gone'
BUDGET = 1
SETTLE = 600 // stack.SCALE
PLAY = "PLAY [Relieve the host an alert names, within the closed loop's bounds]"


class MaxWatch(threading.Thread):
    """When nf_conntrack_max changes from the value the test set (polled every 50 ms)."""

    def __init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.expected, self.changed_at, self.value, self.running = None, None, None, True

    def expect(self, value):
        self.expected, self.changed_at, self.value = value, None, None

    def run(self):
        while self.running:
            value = int(get(NF % 'max'))
            if self.expected is not None and self.changed_at is None and value != self.expected:
                self.changed_at, self.value = time.time(), value
            time.sleep(0.05)


class Loop(object):
    """Everything the cases share; started by the `loop` fixture."""

    def __init__(self, tools, tmp):
        self.tools, self.tmp, self.procs, self.ns, self.veth = tools, tmp, [], None, None
        self.record = os.path.join(tmp, 'conntrack-remediations.jsonl')   # nfct_eda_record's default
        self.history = os.path.join(tmp, 'history.json')
        self.flood_status = os.path.join(tmp, 'flood.json')
        self.watch = MaxWatch()
        self.bench = {}

    def start(self):
        self.ns = nsfill.Netns('nfct-eda')
        self.veth = stack.Veth(self.ns.name)
        textfile = os.path.join(self.tmp, 'textfile')
        os.makedirs(textfile)
        cfg = os.path.join(self.tmp, 'writer.json')
        stack.writer_config(cfg, textfile, os.path.join(self.tmp, 'writer-history.json'))
        self.spawn('writer', ['ip', 'netns', 'exec', self.ns.name, sys.executable, '-c', stack.WRITER, cfg,
                              stack.COLLECTIONS])
        self.spawn('node_exporter', ['ip', 'netns', 'exec', self.ns.name, self.tools['node_exporter'],
                                     '--web.listen-address=%s:9100' % self.veth.ns_ip, '--collector.disable-defaults',
                                     '--collector.conntrack', '--collector.textfile',
                                     '--collector.textfile.directory=%s' % textfile])
        self.ports = dict((k, stack.free_port()) for k in ('prometheus', 'alertmanager', 'eda', 'closed'))
        self.start_alertmanager()
        self.start_prometheus()
        self.start_rulebook()
        self.watch.start()

    def spawn(self, name, argv, **kw):
        proc = stack.Proc(name, argv, os.path.join(self.tmp, name + '.log'), **kw)
        self.procs.append(proc)
        return proc

    def start_alertmanager(self):
        conf = os.path.join(self.tmp, 'alertmanager.yml')
        stack.alertmanager_config(conf, self.ports['eda'])
        self.spawn('alertmanager', stack.with_share(self.tools['alertmanager_share'], [
            self.tools['alertmanager'], '--config.file=%s' % conf, '--storage.path=%s' % os.path.join(self.tmp, 'am-data'),
            '--web.listen-address=127.0.0.1:%d' % self.ports['alertmanager'], '--cluster.listen-address=',
            '--log.level=warn']))
        self.am = 'http://127.0.0.1:%d' % self.ports['alertmanager']

    def start_prometheus(self):
        rules = os.path.join(self.tmp, 'rules.yml')
        self.rules = stack.scaled_rules(rules)
        conf = os.path.join(self.tmp, 'prometheus.yml')
        stack.prometheus_config(conf, rules, self.ports['alertmanager'], '%s:9100' % self.veth.ns_ip,
                                [('node', NODE + ':9100'), ('gone', GONE + ':9100')])
        self.spawn('prometheus', [self.tools['prometheus'], '--config.file=%s' % conf,
                                  '--storage.tsdb.path=%s' % os.path.join(self.tmp, 'prom-data'),
                                  '--web.listen-address=127.0.0.1:%d' % self.ports['prometheus'],
                                  '--rules.alert.resend-delay=1s', '--log.level=warn'])
        self.prom = 'http://127.0.0.1:%d' % self.ports['prometheus']

    def start_rulebook(self):
        inventory = os.path.join(self.tmp, 'inventory.yml')
        with open(inventory, 'w') as f:
            yaml.safe_dump({'all': {'hosts': {
                NODE: {'ansible_connection': 'local', 'ansible_python_interpreter': os.path.join(stack.VENV_BIN, 'python'),
                       'conntrack_history_path': self.history},
                GONE: {'ansible_host': '127.0.0.1', 'ansible_port': self.ports['closed'], 'ansible_connection': 'ssh',
                       'ansible_user': 'root', 'ansible_ssh_common_args': '-o ConnectTimeout=3 -o BatchMode=yes '
                       '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'}}}}, f)
        variables = os.path.join(self.tmp, 'closed-loop.yml')
        with open(variables, 'w') as f:   # nfct_eda_record left to its default: the working folder
            yaml.safe_dump({'nfct_eda_host': '127.0.0.1', 'nfct_eda_port': self.ports['eda'], 'nfct_eda_budget': BUDGET,
                            'nfct_eda_window': 3600, 'nfct_eda_settle': SETTLE}, f)
        venv_bin = os.path.join(self.tools['venv'], 'bin')
        env = dict(os.environ, PATH=os.pathsep.join([stack.VENV_BIN, venv_bin, os.environ.get('PATH', os.defpath)]),
                   JAVA_HOME=self.tools['java_home'], ANSIBLE_COLLECTIONS_PATH=stack.COLLECTIONS,
                   ANSIBLE_CONFIG=os.path.join(stack.REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
        root = nsfill.private_root(self.tmp)
        argv = [os.path.join(venv_bin, 'ansible-rulebook'), '-r', 'nfct.tuning.conntrack', '-i', inventory,
                '--vars', variables, '-v']
        self.rulebook = self.spawn('ansible-rulebook', nsfill.isolated(root, argv), env=env, cwd=self.tmp, group=True)
        self.eda = 'http://127.0.0.1:%d' % self.ports['eda']

    def ready(self):
        stack.wait('Alertmanager ready', lambda: stack.get(self.am + '/-/ready')[0] == 200, 60)
        stack.wait('Prometheus ready', lambda: stack.get(self.prom + '/-/ready')[0] == 200, 60)
        stack.wait('both scrape targets up', self.targets_up, 60)
        stack.wait('the writer\'s metrics scraped', lambda: self.query('nfct_conntrack_entries'), 60)
        stack.wait('ansible-rulebook listening (JVM started)', self.rulebook_up, 120)

    def rulebook_up(self):
        assert self.rulebook.alive(), self.rulebook.text()[-3000:]
        return stack.get(self.eda + '/')[0] == 200

    def targets_up(self):
        active = stack.get_json(self.prom + '/api/v1/targets')['data']['activeTargets']
        return len(active) == 2 and all(t['health'] == 'up' for t in active)

    def query(self, expr):
        return stack.get_json(self.prom + '/api/v1/query?' + urllib.parse.urlencode({'query': expr}))['data'][
            'result']

    def firing(self, instance):
        """Our alerts firing in Prometheus for an instance label."""
        alerts = stack.get_json(self.prom + '/api/v1/alerts')['data']['alerts']
        return sorted(a['labels']['alertname'] for a in alerts
                      if a['state'] == 'firing' and a['labels'].get('instance') == instance)

    def am_active(self, instance):
        return sorted(a['labels']['alertname'] for a in stack.get_json(self.am + '/api/v2/alerts')
                      if a['status']['state'] == 'active' and a['labels'].get('instance') == instance)

    def flood(self):
        self.flooder = self.spawn('flood', ['ip', 'netns', 'exec', self.ns.name, sys.executable, '-c', stack.FLOOD,
                                            str(RATE), self.flood_status])

    def drops(self):
        try:
            with open(self.flood_status) as f:
                return json.load(f)
        except (IOError, OSError, ValueError):
            return {'drops': 0, 'first_drop': None, 'last_drop': None}

    def entries(self):
        return [json.loads(line) for line in open(self.record)] if os.path.exists(self.record) else []

    def of(self, host, event=None, **match):
        return [e for e in self.entries() if e.get('host') == host and (event is None or e['event'] == event)
                and all(e.get(k) == v for k, v in match.items())]

    def runs(self):
        """The playbook runs ansible-rulebook started (a failed run's output is logged twice: once as
        it runs, once after `run_playbook - ERROR - `)."""
        lines = self.rulebook.text().splitlines()
        return sum(1 for i, line in enumerate(lines) if line.startswith(PLAY)
                   and not (i and lines[i - 1].endswith('run_playbook - ERROR - ')))

    def stop(self):
        self.watch.running = False
        for proc in reversed(self.procs):
            proc.stop()
        if self.veth is not None:
            self.veth.remove()
        if self.ns is not None:
            self.ns.remove()


@pytest.fixture(scope='module')
def saved(requirements):
    """Every writable conntrack value of the initial namespace, and the hash size; put back."""
    keys = writable_keys()
    before = dict((k, get(NF % k)) for k in keys)
    hashsize = get(HASHSIZE)
    try:
        yield before
    finally:
        put(HASHSIZE, hashsize)
        for k in keys:
            put(NF % k, before[k])
        assert dict((k, get(NF % k)) for k in keys) == before and get(HASHSIZE) == hashsize


@pytest.fixture(scope='module')
def loop(requirements, saved, tmp_path_factory):
    if os.path.exists(BENCH_FILE):
        os.unlink(BENCH_FILE)
    tmp = str(tmp_path_factory.mktemp('eda'))
    lp = Loop(requirements, tmp)
    started = time.time()
    try:
        lp.start()
        lp.ready()
        lp.bench['stack_ready_s'] = round(time.time() - started, 1)
        yield lp
    except BaseException:
        for proc in lp.procs:
            sys.stderr.write('--- %s (last lines)\n%s\n' % (proc.name, proc.text()[-3000:]))
        raise
    finally:
        lp.stop()


BENCH_FILE = os.path.join(stack.REPO, '.cache', 'eda', 'closed-loop-bench.json')


def write_bench(lp):
    b = lp.bench
    lines = ['first drop -> max raised on the node: %.1f s (first drop -> alert firing %.1f s, alert -> fix %.1f s '
             'as recorded, event -> fix %.1f s)' % (b['first_drop_to_fix_s'], b['first_drop_to_alert_s'],
                                                    b['alert_to_fix_s'], b['event_to_fix_s']),
             'max %d -> %d; the stack ready in %.1f s; rules scaled 1/%d (scrape and evaluation 1 s, group_wait 1 s)'
             % (b['max_before'], b['max_after'], b['stack_ready_s'], stack.SCALE)]
    b['lines'] = lines
    if not os.path.isdir(os.path.dirname(BENCH_FILE)):
        os.makedirs(os.path.dirname(BENCH_FILE))
    with open(BENCH_FILE, 'w') as f:
        json.dump(b, f, indent=2, sort_keys=True)
    print('\n'.join(lines))


def test_the_alert_relieves_its_own_host_and_an_unreachable_one_is_recorded_once(loop):
    lp = loop
    cmax = max(3000, 2 * busiest_namespace() + 1000)   # no other table of this machine is near it
    put(NF % 'max', cmax)
    lp.watch.expect(cmax)
    lp.flood()
    stack.wait('the kernel dropping in the namespace', lambda: lp.drops()['drops'] > 0, 30, 0.1)
    first_drop = lp.drops()['first_drop']
    # the alert, the rulebook, the playbook, relieve: max raised on the node
    stack.wait('max raised by the loop', lambda: lp.watch.changed_at, 150, 0.2)
    fixed = lp.watch.changed_at
    done = stack.wait('the node\'s result recorded', lambda: lp.of(NODE, 'finished'), 60)[0]
    assert done['ok'] is True and done['result'] == 'raised', done
    assert done['max']['before'] == cmax and done['max']['after'] == lp.watch.value == int(get(NF % 'max'))
    started = [e for e in lp.of(NODE, 'started') if e['id'] == done['id']][0]
    handled = ('ConntrackNodeDropping', 'ConntrackDropping', 'ConntrackNodeTableCritical', 'ConntrackTableCritical')
    assert started['alert']['name'] in handled
    assert started['alert']['instance'] == NODE + ':9100'
    assert started['budget'] == {'used': 1, 'limit': 1, 'window': 3600}
    # the drops stop under the same traffic, which goes on past the old max
    before = lp.drops()['drops']
    time.sleep(4)
    after = lp.drops()
    assert after['drops'] == before and after['sent'] > cmax, after
    assert lp.ns.count() > cmax
    # relieve's output beside the record; its event in the node's history
    with open(done['output']) as f:
        output = f.read()
    assert 'max: raised %d -> %d' % (cmax, done['max']['after']) in output and 'no file was written' in output
    with open(lp.history) as f:
        assert json.load(f)['events'][-1]['max_after'] == done['max']['after']
    lp.bench.update(first_drop_to_fix_s=round(fixed - first_drop, 2), alert_to_fix_s=done['seconds_alert_to_fix'],
                    event_to_fix_s=done['seconds_event_to_fix'], max_before=cmax, max_after=done['max']['after'],
                    first_drop_to_alert_s=round(started['alert']['starts_ts'] - first_drop, 2), fixed_at=fixed)
    write_bench(lp)
    # the unreachable host: recorded once
    gone = stack.wait('the unreachable host recorded', lambda: lp.of(GONE, 'finished'), 60)
    assert [(e['result'], e['ok']) for e in gone] == [('unreachable', False)]
    assert 'Connection refused' in gone[0]['msg'] or 'connect' in gone[0]['msg']
    # the alerts resolve; Alertmanager repeated and regrouped meanwhile, with no other run
    stack.wait('the node\'s alerts resolved', lambda: not lp.firing(NODE + ':9100') and not lp.am_active(
        NODE + ':9100'), 90, 1)
    assert len(lp.of(GONE, 'started')) == 1 and len(lp.of(NODE, 'started')) == 1
    assert lp.runs() == 2, lp.rulebook.text()[-5000:]
    text = lp.rulebook.text()
    assert text.count('already decided for this alert') >= 1, 'no repeated notification reached the source'
    # other alerts of the hosts: stacked on nothing
    for e in lp.of(NODE, 'skipped'):
        assert e['reason'] in ('in_flight', 'already_relieved'), e
    for e in lp.of(GONE, 'stopped') + lp.of(GONE, 'skipped'):
        assert e['reason'] in ('in_flight', 'last_failed'), e


def test_the_budget_spent_stops_the_loop_and_the_alert_stays_for_a_person(loop):
    lp = loop
    assert lp.bench.get('fixed_at'), 'needs the first case (the budget it spent)'
    # the next alerts must begin after the settle time of the fix: a new incident
    time.sleep(max(0.0, lp.bench['fixed_at'] + SETTLE + 1 - time.time()))
    runs = lp.runs()
    count = lp.ns.count()
    put(NF % 'max', count)
    lp.watch.expect(count)
    drops = lp.drops()['drops']
    stack.wait('the kernel dropping again', lambda: lp.drops()['drops'] > drops, 30, 0.1)
    stopped = stack.wait('the loop stopped for the node', lambda: lp.of(NODE, 'stopped', reason='budget_spent'), 90)
    assert 'budget of 1 remediation(s) of %s per 3600 s is spent' % NODE in stopped[0]['message']
    # it says so (the rulebook's event and line), and runs nothing
    stack.wait('the STOPPED line of the rulebook',
               lambda: 'closed loop STOPPED for %s (budget_spent)' % NODE in lp.rulebook.text(), 30)
    time.sleep(5)
    assert lp.runs() == runs and lp.watch.changed_at is None and int(get(NF % 'max')) == count
    assert lp.drops()['drops'] > drops
    # the alert keeps firing, in Prometheus and in Alertmanager, for a person
    assert set(lp.am_active(NODE + ':9100')) & set(('ConntrackNodeDropping', 'ConntrackDropping',
                                                   'ConntrackNodeTableCritical', 'ConntrackTableCritical'))
    assert lp.firing(NODE + ':9100')
    # the unreachable host stays stopped too
    stack.wait('the unreachable host stopped', lambda: lp.of(GONE, 'stopped', reason='last_failed'), 30)
    assert len(lp.of(GONE, 'started')) == 1 and len(lp.of(NODE, 'started')) == 1
