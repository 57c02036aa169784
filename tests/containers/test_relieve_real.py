# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident on the real kernel (issue 23, docs/incident.md): a network namespace and a systemd
container whose tables are filled to the global nf_conntrack_max by real traffic until the kernel
counts drops. Then, as an operator would:

1. the audit fails with `full` and `dropping` - the module in the namespace, the nfct.tuning.audit
   playbook (become: true, sudo in the container) against the container;
2. nfct.tuning.relieve --check --diff on the node (the initial namespace) says what it would do and
   changes nothing; nfct.tuning.relieve raises max and the drops stop under the same traffic, in
   both tables, although it ran in neither;
3. the hash size and every persisted file are byte-identical (a private copy of /etc, and the
   host's own /etc/sysctl.d and /etc/modprobe.d);
4. the next audit on the node reports max as unpersisted, names the relieve, and prints the
   command that persists it; that command, run exactly as printed, persists it (the audit after it
   is in sync).

The initial namespace's conntrack values (max, the hash size and every other writable key) are
saved first and restored in a finally step; the namespace and the container are removed, and the
traffic stopped by PID. The node's plays run in a mount namespace whose /etc is a copy
(tests/netns/nsfill.py isolated()): nothing reaches the host's /etc."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shlex
import subprocess
import sys
import time

import pytest

import podhost

sys.path.insert(0, os.path.join(podhost.REPO, 'tests', 'netns'))
import nsfill  # noqa: E402

get, put, writable_keys, busiest_namespace = nsfill.read, nsfill.write, nsfill.writable_conntrack_keys, nsfill.busiest_namespace

REPO = podhost.REPO
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
NF = '/proc/sys/net/netfilter/nf_conntrack_%s'
HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize'
RATE = 2000  # new flows per second, in each table
# the node's profile: its max (per GiB of RAM) is not the kernel's default, which every boot gives
PROFILE = 'web'
PERSIST = 'ansible-playbook -i %s nfct.tuning.tune --limit localhost -e conntrack_profile=' + PROFILE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='writes the initial namespace\'s nf_conntrack_max')

FLOOD, COUNTERS = nsfill.FLOOD, nsfill.COUNTERS


@pytest.fixture
def saved():
    """Every writable conntrack value of the initial namespace, and the hash size; put back."""
    with nsfill.host_global_lock():
        keys = writable_keys()
        before = dict((k, get(NF % k).strip()) for k in keys)
        hashsize = get(HASHSIZE).strip()
        try:
            yield before
        finally:
            put(HASHSIZE, hashsize)  # the hash size first: it may have been resized by the persist step
            for k in keys:
                put(NF % k, before[k])
            assert dict((k, get(NF % k).strip()) for k in keys) == before and get(HASHSIZE).strip() == hashsize


class Tables(object):
    """The namespace and the container, each with conntrack active and long UDP timeouts (every
    flow stays), and the floods in them."""

    def __init__(self):
        self.procs = []
        self.box = None
        self.ns = nsfill.Netns('nfct-relieve')
        try:
            self.box = podhost.Container()
            self.box.exec(['nft', '-f', '-'], data=nsfill.RULES)
            self.box.sh('echo 3600 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout; '
                        'echo 3600 > /proc/sys/net/netfilter/nf_conntrack_icmp_timeout')
        except Exception:
            self.remove()
            raise

    def flood(self):
        for argv in (['ip', 'netns', 'exec', self.ns.name, sys.executable, '-c', FLOOD, str(RATE)],
                     ['podman', 'exec', '-i', self.box.name, 'python3', '-c', FLOOD, str(RATE)]):
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.procs.append(proc)
            assert proc.stdout.readline().strip() == b'flooding'

    def counters(self):
        ns = json.loads(nsfill.ns_exec(self.ns.name, [sys.executable, '-c', COUNTERS],
                                       stdout=subprocess.PIPE).stdout.decode())
        box = json.loads(self.box.exec(['python3', '-c', COUNTERS]).stdout.decode())
        return {'netns': ns, 'container': box}

    def remove(self):
        for proc in self.procs:  # ours, by PID
            proc.kill()
            proc.wait()
        if self.box is not None:
            self.box.remove()   # ends what ran in it
        self.ns.remove()


def drops(c):
    return c['drop'] + c['early_drop'] + c['insert_failed']


def wait_full(tables, cmax, timeout=60):
    """Until both tables are at max and the kernel has counted drops in both."""
    first = tables.counters()
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = tables.counters()
        if all(now[t]['count'] >= cmax and drops(now[t]) > drops(first[t]) for t in now):
            return now
        time.sleep(0.5)
    raise AssertionError('the tables did not fill to %d with drops: %s' % (cmax, tables.counters()))


def persisted_files(root):
    """The private /etc the node's plays see, and the host's own conntrack places."""
    out = dict(('copy:' + k, v) for k, v in nsfill.tree(os.path.join(root, 'etc')).items())
    for d in ('/etc/sysctl.d', '/etc/modprobe.d', '/etc/modules-load.d', '/etc/udev/rules.d'):
        for k, v in nsfill.tree(d).items() if os.path.isdir(d) else []:
            out['host:%s/%s' % (d, k)] = v
    return out


def node_playbook(root, tmp_path, argv, check=True):
    """ansible-playbook on the node (the initial namespace, a private /etc), -> (rc, json result)."""
    env = dict(podhost.ansible_env(), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.cache', 'collections'),
               PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', os.defpath))
    out = subprocess.run(nsfill.isolated(root, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         cwd=str(tmp_path), check=False)
    text = out.stdout.decode()
    try:
        result = json.loads(text[text.index('{'):])
    except ValueError:
        raise AssertionError('no JSON from %s (rc %d): %s %s' % (argv, out.returncode, text[-2000:],
                                                                 out.stderr.decode()[-2000:]))
    return out.returncode, result


def task_result(result, name_start, host='localhost'):
    for play in result['plays']:
        for task in play['tasks']:
            if name_start in task['task']['name'] and host in task['hosts']:
                return task['hosts'][host]
    raise AssertionError('no task %r for %s' % (name_start, host))


def node_audit(root, tmp_path, inventory, history):
    """The audit on the node -> (rc, its JSON report)."""
    report = os.path.join(str(tmp_path), 'node-audit.json')
    rc, _res = node_playbook(root, tmp_path, [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory, '--check',
                                              'nfct.tuning.audit', '-e', 'conntrack_history_path=%s' % history,
                                              '-e', 'conntrack_profile=%s' % PROFILE,
                                              '-e', 'conntrack_audit_report_path=%s' % report,
                                              '-e', 'conntrack_audit_html_path=', '-e', 'conntrack_audit_junit_path=',
                                              '-e', 'conntrack_audit_health_sample=0'])
    with open(report) as f:
        return rc, json.load(f)['hosts']['localhost']


def test_a_full_table_relieved_on_the_node(saved, tmp_path):
    top = busiest_namespace()
    cmax = max(3000, 2 * top + 1000)   # no table of this machine is near it: nothing else drops
    root = nsfill.private_root(tmp_path)
    history = os.path.join(str(tmp_path), 'history.json')
    inventory = os.path.join(str(tmp_path), 'hosts.ini')
    with open(inventory, 'w') as f:
        f.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    hashsize = get(HASHSIZE)
    tables = Tables()
    try:
        put(NF % 'max', cmax)
        tables.flood()
        wait_full(tables, cmax)
        check_the_audit_fails(tables, tmp_path, root)
        before = persisted_files(root)
        raised = relieve(root, tmp_path, inventory, history, cmax)
        # the same traffic goes on: the tables grow past the old max and the kernel counts no drop
        start = tables.counters()
        time.sleep(4)
        end = tables.counters()
        for t in end:
            assert drops(end[t]) == drops(start[t]), (t, start[t], end[t])
            assert end[t]['count'] > cmax, (t, end[t])
        assert int(get(NF % 'max')) == raised
        assert get(HASHSIZE) == hashsize and persisted_files(root) == before
        persist_as_printed(root, tmp_path, inventory, history, raised)
    finally:
        tables.remove()


def check_the_audit_fails(tables, tmp_path, root):
    # in the namespace: the module, as an ad-hoc command
    out = subprocess.run(['ip', 'netns', 'exec', tables.ns.name] + nsfill.isolated(root, [
        os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local', '-i', 'localhost,', '-o',
        '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'nfct.tuning.conntrack_audit',
        '-a', json.dumps({'health_sample': 1, 'history_path': str(tmp_path / 'ns-history.json')})]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg')))
    audit = json.loads(out.stdout.decode().split('=>', 1)[1])['audit']
    assert {'full', 'dropping'} <= set(audit['failing_kinds']) and audit['fails_run'] is True, audit['lines']
    assert audit['health']['window']['source'] == 'sample'
    assert 'drop' in audit['health']['evidence']['dropping']
    # in the container: the audit playbook, become: true (sudo), through the podman connection
    inv = podhost.inventory(tmp_path, [tables.box.name])
    report = str(tmp_path / 'box-audit.json')
    run = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inv, '--check', 'nfct.tuning.audit',
                          '-e', 'conntrack_audit_report_path=%s' % report, '-e', 'conntrack_audit_html_path=',
                          '-e', 'conntrack_audit_junit_path='],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(tmp_path), check=False,
                         env=dict(podhost.ansible_env(), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.cache',
                                                                                               'collections')))
    assert run.returncode != 0
    with open(report) as f:
        entry = json.load(f)['hosts'][tables.box.name]
    assert {'full', 'dropping'} <= set(entry['failing_kinds']), entry['lines']
    print('\n'.join(entry['lines'] + ['  fix (%s): %s' % (f['why'], f['command']) for f in entry['fix']]))
    # a container cannot raise the global max: its fix names the node
    assert any(fix['command'].endswith('nfct.tuning.relieve --limit NODE') and 'run relieve on the node' in fix['why']
               for fix in entry['fix']), entry['fix']


def relieve(root, tmp_path, inventory, history, cmax):
    """nfct.tuning.relieve on the node: --check --diff first (nothing changes), then for real."""
    playbook = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory, 'nfct.tuning.relieve',
                '-e', 'conntrack_history_path=%s' % history, '-e', 'conntrack_profile=%s' % PROFILE]
    rc, res = node_playbook(root, tmp_path, playbook + ['--check', '--diff'])
    assert rc == 0, res
    would = task_result(res, 'Raise max at runtime')
    assert would['changed'] is True and int(get(NF % 'max')) == cmax and not os.path.exists(history)
    assert would['max']['fullest'] >= cmax * 0.9 and would['max']['after'] > cmax
    rc, res = node_playbook(root, tmp_path, playbook)
    assert rc == 0, res
    done = task_result(res, 'Raise max at runtime')
    assert done['state'] == 'ok' and done['max']['after'] == would['max']['after']
    assert done['runtime_changes'] == [{'key': 'max', 'path': NF % 'max', 'before': cmax, 'value': done['max']['after']}]
    # both tables are seen from the node
    assert len([ns for ns in done['namespaces'] if (ns['count'] or 0) >= cmax * 0.9]) >= 2, done['namespaces']
    # what fills the fullest table (a namespace's, read through a process in it), not the node's empty one;
    # the table is live while it is read (entries expire and are early-dropped), so "about full", not ">= max"
    assert done['breakdown']['of'] != 'this network namespace' and done['breakdown']['total'] >= cmax * 0.9
    assert done['breakdown']['l4'].get('udp', 0) >= cmax * 0.9
    shown = task_result(res, 'Show what was done')['msg']
    print('\n'.join(shown))
    assert any(line.startswith('max: raised %d -> ' % cmax) for line in shown)
    assert any(line.startswith('no file was written') for line in shown)
    assert done['commands']['persist'] == PERSIST % inventory
    return done['max']['after']


def persist_as_printed(root, tmp_path, inventory, history, raised):
    rc, entry = node_audit(root, tmp_path, inventory, history)
    assert entry['keys']['max']['kinds'] == ['unpersisted'] and entry['keys']['max']['runtime'] == raised, (
        entry['lines'], entry['keys']['max'])
    assert entry['relieved']['max_after'] == raised
    assert any('max raised by relieve at ' in line for line in entry['lines'])
    fix = [f['command'] for f in entry['fix'] if 'nfct.tuning.tune' in f['command']]
    # the report's commands run from the folder the audit ran in (relieve's name the inventory's full path)
    assert fix == [PERSIST % os.path.basename(inventory)]
    assert rc != 0  # unpersisted fails the run by default
    # the printed command, as printed (the node's private /etc): persisted, and the audit passes
    rc, res = node_playbook(root, tmp_path, shlex.split(fix[0]))
    assert rc == 0, res
    with open(os.path.join(root, 'etc/sysctl.d/90-conntrack.conf')) as f:
        assert 'net.netfilter.nf_conntrack_max = %d' % raised in f.read()
    rc, entry = node_audit(root, tmp_path, inventory, history)
    assert rc == 0 and entry['status'] == 'in_sync' and entry['relieved'] is None, entry['lines']
    assert int(get(NF % 'max')) == raised
