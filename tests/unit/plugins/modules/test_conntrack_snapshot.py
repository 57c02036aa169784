# -*- coding: utf-8 -*-
"""conntrack_snapshot built the way Ansible runs it, on a fake host: files and /proc/sys under
tmp_path (the module's root), the firewall tools and systemctl answered by FakeIO (iptables-legacy
emulated). conntrack_notrack really changes that fake host between the snapshot and the restore.
The real kernel and tools run in tests/netns/test_snapshot_netns.py and
tests/containers/test_snapshot_containers.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_notrack, conntrack_snapshot

from modrun import ansible_flags, invoke
from notrack_fakeio import FakeIO
from notrack_rulesets import LEGACY_FW

SYSCTL = '/etc/sysctl.d/90-conntrack.conf'
SNAPDIR = '/var/lib/nfct-tuning/snapshots'


class SnapIO(FakeIO):
    """FakeIO with the systemctl calls a restore makes."""

    def cmd(self, argv, data=None):
        name = os.path.basename(argv[0])
        if name == 'systemctl' and argv[1] in ('is-active', 'disable', 'stop', 'start', 'daemon-reload'):
            self.calls.append((argv, data))
            if argv[1] == 'is-active':
                return 3, 'inactive\n', ''
            if argv[1] == 'disable':
                self.units[argv[2]] = 'disabled'
            return 0, '', ''
        return FakeIO.cmd(self, argv, data)


def fake_host(tmp_path):
    root = str(tmp_path)
    d = root + '/proc/sys/net/netfilter'
    os.makedirs(d)
    for short, value in (('max', 262144), ('buckets', 65536), ('udp_timeout', 30), ('count', 12)):
        with open('%s/nf_conntrack_%s' % (d, short), 'w') as f:
            f.write('%d\n' % value)
    os.makedirs(root + '/etc/sysctl.d')
    with open(root + SYSCTL, 'wb') as f:
        f.write(b'# the admin\'s\nnet.netfilter.nf_conntrack_udp_timeout = 30\n')
    os.chmod(root + SYSCTL, 0o640)
    return SnapIO(units={'netfilter-persistent.service': 'disabled'}, root=root)


def run(tmp_path, io, args, check=False, diff=False, capsys=None, module=conntrack_snapshot):
    invoke(module, ansible_flags(tmp_path / 'ansible-tmp', args, check, diff), io)
    return json.loads(capsys.readouterr().out)


def tree(root):
    out = {}
    skip = tuple(os.path.join(root, name) for name in ('var', 'run', 'ansible-tmp'))  # snapshots, the lock
    for d, dirs, names in os.walk(root):
        for n in dirs + names:
            p = os.path.join(d, n)
            if p.startswith(skip):
                continue
            data = None
            if os.path.isfile(p):
                with open(p, 'rb') as f:
                    data = f.read()
            out[p] = (os.lstat(p).st_mode, data)
    return out


def change_the_host(tmp_path, io, capsys):
    """What the role does: NOTRACK (iptables-legacy, persisted, service enabled), runtime, files."""
    res = run(tmp_path, io, {'exemptions': [{'interface': 'lo'}]}, capsys=capsys, module=conntrack_notrack)
    assert res['changed'] is True, res
    root = io.root
    with open(root + '/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'w') as f:
        f.write('10\n')
    with open(root + SYSCTL, 'w') as f:
        f.write('net.netfilter.nf_conntrack_udp_timeout = 10\n')
    os.chmod(root + SYSCTL, 0o644)
    os.makedirs(root + '/etc/modprobe.d')
    with open(root + '/etc/modprobe.d/nfct-tuning.conf', 'w') as f:
        f.write('options nf_conntrack hashsize=131072\n')


def test_save_keep_change_restore_exactly(tmp_path, capsys):
    io = fake_host(tmp_path)
    io.state['ipv4'] = LEGACY_FW
    before, ipt_before = tree(io.root), io.state['ipv4']
    res = run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
    assert res['changed'] is True and res['snapshot']['runtime'] == {'buckets': 65536, 'max': 262144, 'udp_timeout': 30}
    assert res['snapshot']['files'][SYSCTL] and res['snapshot']['files']['/etc/iptables/rules.v4'] is None
    path = io.root + SNAPDIR + '/r1.json'
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    change_the_host(tmp_path, io, capsys)
    changed = tree(io.root)
    # a second save keeps the first snapshot: the half-changed host is never snapshotted
    again = run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
    assert again['changed'] is False and again['snapshot'] == res['snapshot']
    # check mode: the plan and its diff, nothing written
    check = run(tmp_path, io, {'state': 'restored', 'id': 'r1'}, check=True, diff=True, capsys=capsys)
    assert check['changed'] is True and SYSCTL in check['restored']['files']
    assert check['restored']['runtime'] == {'udp_timeout': 30}
    assert check['restored']['ruleset'] == ['ruleset iptables-legacy ipv4 (our chains and jumps)',
                                            'ruleset iptables-legacy ipv6 (our chains and jumps)']
    assert check['restored']['services'] == ['disable netfilter-persistent.service']
    assert [d['before_header'] for d in check['diff']][:3] == ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6',
                                                               '/etc/modprobe.d/nfct-tuning.conf']
    assert tree(io.root) == changed
    # restore: byte-identical files with their modes, absent ones removed (and their new folders),
    # the runtime value, our chains gone, the service disabled again
    res2 = run(tmp_path, io, {'state': 'restored', 'id': 'r1'}, capsys=capsys)
    assert res2['changed'] is True, res2
    assert tree(io.root) == before
    assert 'NFCT' not in io.state['ipv4'] + io.state['ipv6']
    assert [l for l in io.state['ipv4'].splitlines() if l.startswith('-A')] == [
        l for l in ipt_before.splitlines() if l.startswith('-A')]
    assert io.units['netfilter-persistent.service'] == 'disabled'
    # a restore of a restored host changes nothing
    res3 = run(tmp_path, io, {'state': 'restored', 'id': 'r1'}, capsys=capsys)
    assert res3['changed'] is False, res3
    # absent
    assert run(tmp_path, io, {'state': 'absent', 'id': 'r1'}, capsys=capsys)['changed'] is True
    assert not os.path.exists(path)
    assert run(tmp_path, io, {'state': 'absent', 'id': 'r1'}, capsys=capsys)['changed'] is False


def test_check_mode_saves_nothing(tmp_path, capsys):
    io = fake_host(tmp_path)
    res = run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, check=True, capsys=capsys)
    assert res['changed'] is True and res['snapshot']['id'] == 'r1'
    assert not os.path.exists(io.root + '/var')


def write_snapshot(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


@pytest.mark.parametrize('content, words', [
    (None, 'restore failed: snapshot %s/r1.json is missing: nothing to restore from' % SNAPDIR),
    ('{"schema": 1, "id": "r1"', 'restore failed: snapshot %s/r1.json is corrupt (not JSON' % SNAPDIR),
    ('TRUNCATE', 'its sha256 does not match its content'),
])
def test_a_missing_or_corrupt_snapshot_fails_and_changes_nothing(tmp_path, capsys, content, words):
    io = fake_host(tmp_path)
    if content == 'TRUNCATE':
        run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
        path = io.root + SNAPDIR + '/r1.json'
        d = json.load(open(path))
        d['hashsize'] = 1
        write_snapshot(path, json.dumps(d))
    elif content is not None:
        write_snapshot(io.root + SNAPDIR + '/r1.json', content)
    with open(io.root + '/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'w') as f:
        f.write('10\n')
    before = tree(io.root)
    res = run(tmp_path, io, {'state': 'restored', 'id': 'r1'}, capsys=capsys)
    assert res['failed'] is True and res['changed'] is False and words in res['msg'], res['msg']
    assert tree(io.root) == before
    if content is not None:  # a second save does not paper over a corrupt snapshot
        res = run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
        assert res['failed'] is True and 'set overwrite: true to replace it' in res['msg']
        assert run(tmp_path, io, {'state': 'saved', 'id': 'r1', 'overwrite': True}, capsys=capsys)['changed'] is True


def test_a_value_that_cannot_be_put_back_is_a_failure(tmp_path, capsys):
    io = fake_host(tmp_path)
    run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
    p = io.root + '/proc/sys/net/netfilter/nf_conntrack_max'
    with open(p, 'w') as f:
        f.write('1000\n')
    os.chmod(p, 0o444)  # read-only here (a global key seen from a container)
    res = run(tmp_path, io, {'state': 'restored', 'id': 'r1'}, capsys=capsys)
    assert res['failed'] is True
    assert res['mismatches'] == [{'what': 'runtime net.netfilter.nf_conntrack_max', 'expected': 262144, 'found': 1000}]
    assert 'runtime net.netfilter.nf_conntrack_max: expected 262144, found 1000' in res['msg']


@pytest.mark.parametrize('args, words', [
    ({'id': 'a/b'}, "id: expected 1 to 64 characters out of A-Z a-z 0-9 . _ -, got 'a/b'"),
    ({'id': 'x' * 65}, 'id: expected 1 to 64 characters'),
    ({'id': 'r1', 'directory': 'snaps'}, "directory: expected an absolute, normal path"),
    ({'id': 'r1', 'directory': '/var/lib/../x'}, "directory: expected an absolute, normal path"),
    ({'id': 'r1', 'sysctl_file': '/etc/passwd'}, 'sysctl_file: /etc/passwd is outside the directories'),
    ({'id': 'r1', 'lock_timeout': -1}, 'lock_timeout: -1 is outside the allowed range 0-86400 seconds'),
])
def test_bad_input_fails_before_any_io(tmp_path, capsys, args, words):
    io = fake_host(tmp_path)
    res = run(tmp_path, io, dict(args, state='saved'), capsys=capsys)
    assert res['failed'] is True and words in res['msg'], res['msg']
    assert io.calls == [] and not os.path.exists(io.root + '/var')


def test_window_and_facts_in_the_snapshot_run(tmp_path, capsys):
    """The rollout's one module run before the change: the baseline window (the sample the gate's
    phase baseline returns, counters moved by the kernel during the window), the snapshot, and the
    facts conntrack_facts returns on the same host (so the apply step reads none of its own)."""
    import hosts
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts
    from counters import DROP, Moves
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    io = SnapIO(root=root)
    sleep = Moves(root, per_cpu={DROP: 3})
    invoke(conntrack_snapshot, ansible_flags(tmp_path / 'ansible-tmp', {'state': 'saved', 'id': 'r1', 'window': 0.2,
                                                                        'gather_facts': True}),
           io, probes, sleep)
    res = json.loads(capsys.readouterr().out)
    assert res['changed'] is True and res['snapshot']['id'] == 'r1', res
    assert os.path.exists(root + SNAPDIR + '/r1.json')
    sample = res['baseline']
    assert sleep.asked == [0.2] and 0.2 <= sample['seconds'] < 5 and sample['window'] == 0.2
    assert sample['delta']['drop'] > 0 and sample['reset'] == [] and sample['start']['max'] == sample['end']['max']
    invoke(conntrack_facts, ansible_flags(tmp_path / 'ansible-tmp', {}), root=root, probes=probes)
    alone = json.loads(capsys.readouterr().out)['ansible_facts']['conntrack']
    mine = res['ansible_facts']['conntrack']
    moving = ('stats', 'nat', 'boot')  # read at another moment (counters, the clock), or through another IO
    assert sorted(mine) == sorted(alone)
    assert mine['boot']['id'] == alone['boot']['id'] and sorted(mine['nat']) == sorted(alone['nat'])
    assert dict((k, v) for k, v in mine.items() if k not in moving) == dict(
        (k, v) for k, v in alone.items() if k not in moving)
    # a rerun keeps the first snapshot and still gives the window and the facts
    invoke(conntrack_snapshot, ansible_flags(tmp_path / 'ansible-tmp', {'state': 'saved', 'id': 'r1', 'window': 0,
                                                                        'gather_facts': True}),
           io, probes, Moves(root))
    again = json.loads(capsys.readouterr().out)
    assert again['changed'] is False and 'kept the snapshot' in again['msg']
    assert again['baseline']['window'] == 0 and again['ansible_facts']['conntrack']['max'] == mine['max']


def test_without_window_no_baseline_and_no_facts(tmp_path, capsys):
    io = fake_host(tmp_path)
    res = run(tmp_path, io, {'state': 'saved', 'id': 'r1'}, capsys=capsys)
    assert res['changed'] is True and 'baseline' not in res and 'ansible_facts' not in res


def test_a_bad_window_fails_before_any_io(tmp_path, capsys):
    io = fake_host(tmp_path)
    res = run(tmp_path, io, {'state': 'saved', 'id': 'r1', 'window': 86401}, capsys=capsys)
    assert res['failed'] is True and 'window: 86401 is outside the allowed range 0-86400 seconds' in res['msg'], res
    assert io.calls == [] and not os.path.exists(io.root + '/var')
