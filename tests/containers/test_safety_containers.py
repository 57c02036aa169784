# -*- coding: utf-8 -*-
"""Nothing lost, nothing broken (issue 11), proven on real containers of the Molecule image
(systemd, nft, iptables, their own network namespace, --network none):

- check mode writes nothing: every module, tune.yml and audit.yml in --check --diff through
  Ansible's podman connection on a container where everything would change; /etc, /run, the
  module parameters, sysctl -a, the nft ruleset and iptables-save of both backends compared;
- faults: the module process killed (SIGKILL) at every step boundary and at random times; every
  file we own is the old or the new content and loads (nft -c -f), no key is neither its old
  nor its new value, the next run converges and the one after changes nothing, no temp file
  is left;
- environment faults: the target is a directory, a read-only mount, a full disk, nft or every
  firewall tool missing, /proc/sys read-only: a clear error (or the documented report), the
  runtime values as they were, no partial file;
- concurrency: five runs of the role with different profiles at once against one container; all
  finish (or fail on the lock timeout), and the runtime values, the persisted file and the
  audit agree with one run's desired state.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import podhost  # noqa: E402
from podhost import Container  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='needs root and podman (make test installs it)')

VENV_BIN = os.path.dirname(sys.executable)
NETFILTER = '/proc/sys/net/netfilter/nf_conntrack_'
SYSCTL_FILE = '/etc/sysctl.d/90-conntrack.conf'
MODPROBE_FILE = '/etc/modprobe.d/nfct-tuning.conf'
NFT_FILE = '/etc/nftables.d/nfct-notrack.nft'
NFT_CONF = '/etc/nftables.conf'

SET_A = {'udp_timeout': 41, 'tcp_timeout_time_wait': 61, 'buckets': 131072}
SET_B = {'udp_timeout': 42, 'tcp_timeout_time_wait': 62, 'tcp_timeout_established': 7441, 'buckets': 262144}
NT_A = [{'interface': 'lo'}]
NT_B = [{'interface': 'lo'}, {'protocol': 'udp', 'port': 5000, 'direction': 'inbound'}]


def settings_args(values):
    # module_layers always: the modprobe.d file too, so that a run writes two files
    return {'settings': values, 'module_layers': 'always', 'boot_fix': 'none'}


def notrack_args(exemptions):
    return {'exemptions': exemptions, 'backend': 'nftables', 'enable_service': False}


@pytest.fixture(scope='module')
def tree():
    d = podhost.module_tree()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def box(tree):
    c = Container(tree=tree)
    yield c
    c.remove()


@pytest.fixture(scope='module')
def shared(tree):
    """One container for the kill tests; each test starts from its pristine state."""
    c = Container(tree=tree)
    pristine = state(c)
    yield c, pristine
    c.remove()


# ---------------------------------------------------------------- check mode

def ansible(tmp_path, c, argv, ok_codes=(0,)):
    inv = podhost.inventory(tmp_path, [c.name])
    out = subprocess.run(argv[:1] + ['-i', inv] + argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=podhost.ansible_env(), cwd=str(tmp_path), check=False, timeout=600)
    assert out.returncode in ok_codes, out.stdout.decode()[-3000:] + out.stderr.decode()[-2000:]
    return json.loads(out.stdout.decode())


def changed(data):
    return any(h.get('changed') for play in data['plays'] for t in play['tasks'] for h in t['hosts'].values())


def test_check_mode_writes_nothing_anywhere(box, tmp_path):
    c = box
    before = c.snapshot()
    adhoc = [('conntrack_facts', {'breakdown': True}),
             ('conntrack_recommend', {'profile': 'edge'}),
             ('conntrack_settings', settings_args(SET_B)),
             ('conntrack_notrack', notrack_args(NT_B))]
    for module, args in adhoc:
        data = ansible(tmp_path, c, [os.path.join(VENV_BIN, 'ansible-playbook'), '--check', '--diff', '-e',
                                     json.dumps({'m': module, 'a': args}), write_adhoc(tmp_path)])
        if module in ('conntrack_settings', 'conntrack_notrack'):
            assert changed(data), (module, 'would change nothing: the test proves nothing')
        assert podhost.diff(before, c.snapshot()) == [], module
    extra = json.dumps({'conntrack_profile': 'edge', 'conntrack_notrack': NT_B,
                        'conntrack_audit_report_path': str(tmp_path / 'audit.json')})
    data = ansible(tmp_path, c, [os.path.join(VENV_BIN, 'ansible-playbook'), '--check', '--diff', '-e', extra,
                                 os.path.join(podhost.REPO, 'playbooks', 'tune.yml')])
    assert changed(data)
    assert podhost.diff(before, c.snapshot()) == [], 'tune.yml --check'
    ansible(tmp_path, c, [os.path.join(VENV_BIN, 'ansible-playbook'), '--check', '--diff', '-e', extra,
                          os.path.join(podhost.REPO, 'playbooks', 'audit.yml')], ok_codes=(0, 2))
    assert podhost.diff(before, c.snapshot()) == [], 'audit.yml --check'
    assert c.read('/run/lock/nfct-tuning.lock') is None


def write_adhoc(tmp_path):
    """A playbook with one task per module; -e m=MODULE a=ARGS runs one of them."""
    path = str(tmp_path / 'adhoc.yml')
    with open(path, 'w') as f:
        f.write('- hosts: all\n  gather_facts: false\n  tasks:\n'
                '    - name: Facts\n      nfct.tuning.conntrack_facts: "{{ a }}"\n      when: m == "conntrack_facts"\n'
                '    - name: Recommend\n      nfct.tuning.conntrack_recommend: "{{ a }}"\n'
                '      when: m == "conntrack_recommend"\n'
                '    - name: Settings\n      nfct.tuning.conntrack_settings: "{{ a }}"\n      when: m == "conntrack_settings"\n'
                '    - name: Notrack\n      nfct.tuning.conntrack_notrack: "{{ a }}"\n      when: m == "conntrack_notrack"\n')
    return path


# ---------------------------------------------------------------- faults

def state(c):
    """What a run may change: runtime values of our keys, our files, our nft table. Not the
    runtime buckets: the hash size is global, read-only in a container (the run writes it to the
    files only), and the netns tests make test runs at the same time change it on the host."""
    got = c.probe(files=(SYSCTL_FILE, MODPROBE_FILE, NFT_FILE, NFT_CONF),
                  keys=sorted((set(SET_A) | set(SET_B)) - {'buckets'}),
                  nft_table='inet nfct_notrack')
    return {'runtime': got['keys'], 'files': got['files'], 'table': got['table']}


def apply(c, module, args):
    rc, res = c.module(module, args)
    assert rc == 0 and res and not res.get('failed'), res
    return res


def check_between(c, old, new, what):
    """After a kill: each key, file and our table is its old or its new self; the persisted nft
    ruleset loads."""
    now = state(c)
    for k, v in now['runtime'].items():
        assert v in (old['runtime'][k], new['runtime'][k]), (what, k, v)
    for p, text in now['files'].items():
        assert text in (old['files'][p], new['files'][p]), (what, p, text)
    assert now['table'] in (old['table'], new['table']), what
    if now['files'][NFT_CONF] is not None:
        out = c.exec(['nft', '-c', '-f', NFT_CONF], check=False)
        assert out.returncode == 0, (what, out.stderr.decode())


def converge_and_idempotent(c, module, args):
    apply(c, module, args)
    res = apply(c, module, args)
    assert res['changed'] is False, res
    assert c.temp_files() == []


def reset(c, old):
    """Back to a state read earlier: our table gone, files and runtime values written back."""
    script = ['nft delete table inet nfct_notrack 2>/dev/null || true']
    script += ['echo %s > %s%s' % (v, NETFILTER, k) for k, v in old['runtime'].items() if k != 'buckets']
    script += ['rm -f %s' % p for p, text in old['files'].items() if text is None]
    c.sh('; '.join(script))
    for p, text in old['files'].items():
        if text is not None:
            c.write(p, text)


def states(c, pristine, module, start, target):
    """The host's state after `start` (from the pristine state) and after `target`, then back at
    the first: the two states a killed run must stay between."""
    def at_start():
        reset(c, pristine)
        if start is not None:
            apply(c, module, start)
    at_start()
    old = state(c)
    apply(c, module, target)
    new = state(c)
    at_start()
    assert state(c) == old
    return old, new


KILLS = [
    # (module, start, target, point, must the point be reached)
    ('conntrack_settings', None, settings_args(SET_A), 'after-runtime-write', True),
    ('conntrack_settings', None, settings_args(SET_A), 'before-files', True),
    ('conntrack_settings', None, settings_args(SET_A), 'before-rename', True),
    ('conntrack_settings', None, settings_args(SET_A), 'between-files', True),
    ('conntrack_settings', settings_args(SET_A), settings_args(SET_B), 'after-runtime-write', True),
    ('conntrack_settings', settings_args(SET_A), settings_args(SET_B), 'between-files', True),
    ('conntrack_settings', settings_args(SET_A), settings_args(SET_B), 'before-rename', True),
    ('conntrack_notrack', None, notrack_args(NT_A), 'after-step', True),
    ('conntrack_notrack', None, notrack_args(NT_A), 'before-files', True),
    ('conntrack_notrack', None, notrack_args(NT_A), 'between-files', True),
    ('conntrack_notrack', None, notrack_args(NT_A), 'before-rename', True),
    ('conntrack_notrack', notrack_args(NT_A), notrack_args(NT_B), 'after-step', True),
    ('conntrack_notrack', notrack_args(NT_A), notrack_args(NT_B), 'before-rename', True),
]


@pytest.mark.parametrize('module, start, target, point, reached', KILLS,
                         ids=['%s-%s-%s' % (k[0][10:], 'fresh' if k[1] is None else 'change', k[3]) for k in KILLS])
def test_killed_at_a_step_boundary(shared, module, start, target, point, reached):
    c, pristine = shared
    old, new = states(c, pristine, module, start, target)
    rc, res = c.module(module, target, kill_at=point)
    if reached:
        assert rc in (-9, 137) and res is None, (point, rc, res)
    check_between(c, old, new, point)
    # a temp file may be left where the kill struck; the next run removes it and converges
    res = apply(c, module, target)
    assert state(c) == new
    res = apply(c, module, target)
    assert res['changed'] is False and c.temp_files() == []


def test_killed_at_random_times_then_converges(box):
    c = box
    rnd = random.Random(1126)
    runs = [('conntrack_settings', settings_args(SET_A)), ('conntrack_settings', settings_args(SET_B)),
            ('conntrack_notrack', notrack_args(NT_A)), ('conntrack_notrack', notrack_args(NT_B))]
    # the four states, to compare against
    known = {}
    # how long a changing run of each takes on this machine: the kill delays are drawn from
    # 2%..110% of it, so that most runs die midway however fast or slow the machine is
    took = {}
    for _round in range(2):
        for module, args in runs:
            rc, res = c.module(module, args, timed=True)
            assert rc == 0 and res and res['changed'], res
            took[module] = max(took.get(module, 0), c.elapsed)
            if _round:
                known.setdefault(module, []).append(state(c))
    killed = 0
    # at least 30 runs, and on until 10 died midway (at most 60): the time a run takes under the
    # load of make test's lanes varies from the first runs' (CI saw 9 of 30 killed once)
    for i in range(60):
        if i >= 30 and killed >= 10:
            break
        module, args = runs[rnd.randrange(len(runs))]
        before = state(c)
        rc, _res = c.module(module, args, kill_after=max(0.01, rnd.uniform(0.02, 1.1) * took[module]))
        killed += rc in (-9, 137)
        now = state(c)
        part = 'runtime' if module == 'conntrack_settings' else 'table'
        # every file of ours is the old or one of the known contents, and the nft ruleset loads
        for p, text in now['files'].items():
            assert text in [before['files'][p]] + [k['files'][p] for s in known.values() for k in s], (i, p)
        assert now[part] in [before[part]] + [k[part] for k in known[module]] or part == 'runtime', (i, part)
        if now['files'][NFT_CONF] is not None:
            assert c.exec(['nft', '-c', '-f', NFT_CONF], check=False).returncode == 0, i
    assert killed >= 10, 'too few runs were killed midway (%d of %d, runs take %r): the delays miss the module' % (
        killed, i + 1, took)
    for module, args in runs[1::2]:
        converge_and_idempotent(c, module, args)


# ---------------------------------------------------------------- environment faults

def runtime(c, key):
    return int(c.read(NETFILTER + key))


def test_target_is_a_directory(box):
    c = box
    c.sh('mkdir -p %s' % SYSCTL_FILE)
    rc, res = c.module('conntrack_settings', settings_args(SET_B))
    assert rc != 0 and 'is a directory, not a file' in res['msg']
    assert runtime(c, 'udp_timeout') == 30


@pytest.mark.parametrize('mount, error', [
    ('type=tmpfs,destination=/etc/sysctl.d,ro=true', 'Read-only file system'),
    ('type=tmpfs,destination=/etc/sysctl.d,tmpfs-size=16k', 'No space left on device'),
])
def test_read_only_or_full_disk_puts_the_runtime_back(tree, mount, error):
    c = Container(tree=tree, extra=['--mount', mount])
    try:
        if 'size' in mount:
            c.sh('dd if=/dev/zero of=/etc/sysctl.d/filler bs=1k count=64 2>/dev/null || true')
        rc, res = c.module('conntrack_settings', {'settings': {'udp_timeout': 42, 'tcp_timeout_time_wait': 62}})
        assert rc != 0 and res['failed'] is True
        assert error in res['msg'] and 'the host is as before' in res['msg'], res['msg']
        assert res['left_applied'] == []
        assert runtime(c, 'udp_timeout') == 30 and runtime(c, 'tcp_timeout_time_wait') == 120
        assert c.read(SYSCTL_FILE) is None and c.temp_files() == []
    finally:
        c.remove()


def test_firewall_tools_missing(box):
    c = box
    c.sh('rm -f /usr/sbin/nft')
    rc, res = c.module('conntrack_notrack', notrack_args(NT_A))
    assert rc != 0 and res['msg'] == ('backend: nftables is not installed here (no nft command); installed: '
                                      'iptables-legacy, iptables-nft')
    c.sh('for f in /usr/sbin/iptables* /usr/sbin/ip6tables* /usr/sbin/xtables*; do rm -f "$f"; done')
    rc, res = c.module('conntrack_notrack', {'exemptions': NT_A, 'enable_service': False})
    assert rc != 0 and res['msg'].startswith('backend: no firewall tool is installed here (need nft'), res['msg']
    assert c.temp_files() == [] and c.read(NFT_FILE) is None


def test_read_only_proc_sys_is_reported_or_refused(tree):
    c = Container(tree=tree, unmask=False)
    try:
        rc, res = c.module('conntrack_settings', {'settings': {'udp_timeout': 42}, 'readonly': 'fail'})
        assert rc != 0 and '/proc/sys is mounted read-only' in res['msg'] and 'readonly: fail' in res['msg']
        assert c.read(SYSCTL_FILE) is None
        rc, res = c.module('conntrack_settings', {'settings': {'udp_timeout': 42}})
        assert rc == 0 and res['changed'] is True
        assert '/proc/sys is mounted read-only' in res['not_applied']['udp_timeout']
        assert 'nf_conntrack_udp_timeout = 42' in c.read(SYSCTL_FILE)    # applies at the next boot
        assert runtime(c, 'udp_timeout') == 30
    finally:
        c.remove()


# ---------------------------------------------------------------- concurrency

PROFILES = ('web', 'dns', 'database', 'edge', 'nat_gateway')
CONNECTION_ERRORS = ('Failed to create temporary directory', 'MODULE FAILURE', 'podman exec', 'UNREACHABLE')


def role_run(tmp_path, c, profile, results):
    inv = podhost.inventory(tmp_path / profile, [c.name])
    for attempt in range(3):
        out = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inv, '-e',
                              json.dumps({'conntrack_profile': profile}),
                              os.path.join(podhost.REPO, 'playbooks', 'tune.yml')],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=podhost.ansible_env(),
                             cwd=str(tmp_path), check=False, timeout=900)
        text = out.stdout.decode()
        # Podman's exec under concurrent use sometimes fails before the module runs (TESTBED):
        # that is the connection, not the module; try again
        if out.returncode != 0 and any(e in text for e in CONNECTION_ERRORS) and 'nfct-tuning.lock' not in text:
            time.sleep(1 + attempt)
            continue
        break
    results[profile] = (out.returncode, json.loads(text) if text.strip().startswith('{') else text)


def desired_of(data):
    for play in data['plays']:
        for t in play['tasks']:
            if t['task']['name'].endswith('check every input of the steps below'):
                return list(t['hosts'].values())[0]['recommended']
    return None


def test_five_role_runs_at_once_agree_with_one_of_them(box, tmp_path):
    c = box
    for p in PROFILES:
        (tmp_path / p).mkdir()
    results = {}
    threads = []
    for p in PROFILES:
        t = threading.Thread(target=role_run, args=(tmp_path, c, p, results))
        t.start()
        threads.append(t)
        time.sleep(0.4)
    for t in threads:
        t.join()
    desired = {}
    for p, (rc, data) in sorted(results.items()):
        text = json.dumps(data) if isinstance(data, dict) else data
        assert rc == 0 or 'did not finish within lock_timeout' in text, (p, rc, text[-3000:])
        if rc == 0:
            desired[p] = desired_of(data)
    assert desired, 'every run failed'
    # the per-netns keys (what a container can apply and persists) of one run are what the host has
    persisted = {}
    for line in (c.read(SYSCTL_FILE) or '').splitlines():
        if line.startswith('net.netfilter.nf_conntrack_'):
            k, v = line.split(' = ')
            persisted[k[len('net.netfilter.nf_conntrack_'):]] = int(v)
    winners = []
    for p, want in desired.items():
        netns = dict((k, v) for k, v in want.items() if k not in ('max', 'buckets', 'expect_max'))
        if netns == persisted and all(runtime(c, k) == v for k, v in netns.items()):
            winners.append(p)
    assert winners, (persisted, desired)
    assert c.read('/run/lock/nfct-tuning.lock') is not None and c.temp_files() == []
    # the audit of the winning profile finds nothing to change
    inv = podhost.inventory(tmp_path, [c.name])
    out = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inv, '--check', '--diff', '-e',
                          json.dumps({'conntrack_profile': winners[0], 'conntrack_only_raise': False,
                                      'conntrack_audit_report_path': str(tmp_path / 'audit.json')}),
                          os.path.join(podhost.REPO, 'playbooks', 'audit.yml')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=podhost.ansible_env(), cwd=str(tmp_path),
                         check=False, timeout=600)
    assert out.returncode == 0, out.stdout.decode()[-3000:]
