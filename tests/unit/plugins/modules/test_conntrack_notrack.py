# -*- coding: utf-8 -*-
"""conntrack_notrack built the way Ansible runs it, on a fake host (FakeIO): commands are
recorded and answered, iptables-restore --noflush is emulated, files go to tmp_path. Checks
the one check-mode gate (nothing but reads), the validate-then-apply order, rollback when a
step fails, restore of the files when the persisted ruleset would not load, services enabled,
bad input failing before any command, and RHEL-family persistence (unit-tested only: no RHEL
image can be built here). The real tools and kernel run in tests/netns."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_notrack

from modrun import ansible_flags, invoke
from notrack_fakeio import FakeIO
from notrack_rulesets import LEGACY_FW, apply_restore, web_json


def paths(tmp_path, **extra):
    """The Debian default paths (files under tmp_path, the FakeIO root)."""
    return dict(extra)


V4, V6 = '/etc/iptables/rules.v4', '/etc/iptables/rules.v6'


def host_file(tmp_path, path, text=None):
    """A file of the fake host (under tmp_path); with text, write it."""
    f = tmp_path / path.lstrip('/')
    if text is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return f


def run(tmp_path, io, args, check=False, diff=False, capsys=None):
    if not io.root:
        io.root = str(tmp_path)
    invoke(conntrack_notrack, ansible_flags(tmp_path, args, check, diff), io)
    return json.loads(capsys.readouterr().out)


LO = [{'interface': 'lo'}]


def test_check_mode_only_reads(tmp_path, capsys):
    host_file(tmp_path, V4, LEGACY_FW)
    io = FakeIO(units={'netfilter-persistent.service': 'disabled'})
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), check=True, diff=True, capsys=capsys)
    assert res['changed'] is True and res['drift'] is True
    assert res['backend']['name'] == 'iptables-legacy'
    assert io.restores() == [] and io.state['ipv4'] == LEGACY_FW
    assert not any(c[0][1:2] == ['enable'] for c in io.calls)
    assert host_file(tmp_path, V4).read_text() == LEGACY_FW and not host_file(tmp_path, V6).exists()
    assert [d['before_header'] for d in res['diff']] == ['iptables-legacy ipv4 (live)', 'iptables-legacy ipv6 (live)',
                                                         V4, '/dev/null']
    assert res['services_enabled'] == ['netfilter-persistent.service']
    assert [c['framework'] for c in res['commands']] == ['iptables-legacy', 'iptables-legacy']
    assert res['drift_report']['persistence']['files'] == [V4, V6]
    assert res['rules'] == [{'chain': 'prerouting', 'rule': 'iifname "lo" notrack', 'items': [0]},
                            {'chain': 'output', 'rule': 'oifname "lo" notrack', 'items': [0]}]
    assert res['firewall'][1]['chain'] == 'INPUT' and res['firewall'][1]['affected_by'] == [0]


def test_apply_validates_first_then_idempotent(tmp_path, capsys):
    host_file(tmp_path, V4, LEGACY_FW)
    io = FakeIO(units={'netfilter-persistent.service': 'disabled'})
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['changed'] is True, res
    kinds = [('--test' in c[0], os.path.basename(c[0][0])) for c in io.restores()]
    assert kinds == [(True, 'iptables-legacy-restore'), (True, 'ip6tables-legacy-restore'),
                     (False, 'iptables-legacy-restore'), (False, 'ip6tables-legacy-restore')]
    assert '-A INPUT -j NFCT-UNTRACKED' in io.state['ipv4'] and '-A NFCT-NOTRACK-PRE -i lo -j CT --notrack' in io.state['ipv6']
    assert io.units['netfilter-persistent.service'] == 'enabled'
    assert '-A NFCT-NOTRACK-OUT -o lo -j CT --notrack' in host_file(tmp_path, V6).read_text()
    calls = len(io.calls)
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['changed'] is False and res['drift_report']['drifted'] is False
    assert not any('restore' in c[0][0] for c in io.calls[calls:])
    # state absent: back to the admin's rules, files as they were
    res = run(tmp_path, io, dict(paths(tmp_path), state='absent', backup=True), capsys=capsys)
    assert res['changed'] is True
    assert 'NFCT' not in io.state['ipv4'] and host_file(tmp_path, V4).read_text() == LEGACY_FW
    assert host_file(tmp_path, V6).read_text() == ''
    assert set(res['backup_files']) == {V4, V6}


def test_rhel_family_persistence(tmp_path, capsys):
    """iptables-services' files (unit test only: no RHEL image can be built here)."""
    host_file(tmp_path, '/etc/sysconfig/iptables', LEGACY_FW)
    io = FakeIO(os_release='ID="rocky"\nID_LIKE="rhel centos fedora"\n',
                units={'iptables.service': 'disabled', 'ip6tables.service': 'enabled', 'nftables.service': 'disabled'})
    args = dict(exemptions=LO)
    res = run(tmp_path, io, args, capsys=capsys)
    assert res['changed'] is True, res
    assert res['services_enabled'] == ['iptables.service'] and io.units['iptables.service'] == 'enabled'
    text = host_file(tmp_path, '/etc/sysconfig/iptables').read_text()
    assert text.startswith(LEGACY_FW.replace('COMMIT\n', '').split('-A INPUT')[0])
    assert '-A INPUT -j NFCT-UNTRACKED\n-A INPUT -m state' in text
    assert host_file(tmp_path, '/etc/sysconfig/ip6tables').exists()
    # default RHEL paths when not given
    res = run(tmp_path, FakeIO(os_release='ID=fedora\n', root=str(tmp_path / 'other')), dict(exemptions=LO), check=True,
              capsys=capsys)
    assert '/etc/sysconfig/iptables' in res['files_changed'] and '/etc/sysconfig/ip6tables' in res['files_changed']


@pytest.mark.parametrize('args, message', [
    ({'exemptions': [{'interface': 'eth9'}]}, "exemptions[0].interface: 'eth9' is not an interface on this host (present: eth0, lo)"),
    ({'exemptions': [{'protocol': 'tcp', 'port': 70000}]}, 'exemptions[0].port: 70000 is outside the allowed range 1-65535'),
    ({'exemptions': [{'address': '10.0.0.0/40'}]}, "exemptions[0].address: '10.0.0.0/40' is not an IPv4/IPv6 address"),
    ({'exemptions': [{'address': '10.0.0.1/8', 'family': 'ipv4'}]}, 'exemptions[0].address: 10.0.0.1/8 has host bits set'),
    ({'exemptions': [{'address': 'fe80::/10', 'family': 'ipv4'}]}, 'exemptions[0].family: ipv4 does not match address fe80::/10'),
    ({'exemptions': LO, 'control_ports': [0]}, 'control_ports[0]: 0 is outside the allowed range 1-65535'),
    ({'exemptions': [{'protocol': 'icmp'}]}, 'value of protocol must be one of: tcp, udp, got: icmp found in exemptions'),
    ({'exemptions': [{'interface': 'lo', 'colour': 'red'}]}, 'exemptions.colour'),
])
def test_bad_input_fails_before_any_command(tmp_path, capsys, args, message):
    io = FakeIO()
    res = run(tmp_path, io, dict(paths(tmp_path), **args), capsys=capsys)
    assert res['failed'] is True and message in res['msg'], res['msg']
    assert io.calls == []


def test_backend_not_installed(tmp_path, capsys):
    io = FakeIO()
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO, backend='nftables'), capsys=capsys)
    assert res['failed'] is True
    assert res['msg'] == 'backend: nftables is not installed here (no nft command); installed: iptables-legacy'
    assert io.restores() == []


def test_validation_failure_changes_nothing(tmp_path, capsys):
    io = FakeIO(fail_test={'ipv6'})
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True and 'the transaction does not validate, nothing was changed' in res['msg']
    assert io.restores(test=False) == [] and io.state['ipv4'] == LEGACY_FW
    assert not host_file(tmp_path, V6).exists()


def test_failed_step_rolls_back_the_applied_ones(tmp_path, capsys):
    io = FakeIO(fail_apply={'ipv6'})
    before = apply_restore(LEGACY_FW, '')
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True, res
    assert res['msg'].endswith('the 1 step(s) already applied were rolled back: the host is as before'), res['msg']
    assert res['left_applied'] == [] and res['changed'] is False
    assert 'NFCT' not in io.state['ipv4']
    assert io.state['ipv4'].replace('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n', '') == before
    assert not host_file(tmp_path, V4).exists()


def test_a_rollback_that_fails_is_reported_as_a_failure_with_what_is_left(tmp_path, capsys):
    # issue 11, finding 1: undo() returned an error string, which is truthy, so a failed rollback
    # was reported as "rolled back" with changed=False while our rules stayed in the ruleset
    io = FakeIO(fail_apply={'ipv6'}, fail_undo=True)
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True
    assert 'rollback FAILED, still applied: iptables-legacy ipv4 step (undoing it failed: iptables-restore: undo refused)' \
        in res['msg'], res['msg']
    assert 'rolled back: the host is as before' not in res['msg']
    assert res['changed'] is True and res['left_applied'] == [
        'iptables-legacy ipv4 step (undoing it failed: iptables-restore: undo refused)']
    assert 'NFCT' in io.state['ipv4']   # what the report says is left is really there


def test_a_save_that_fails_during_rollback_is_reported(tmp_path, capsys):
    class SaveFails(FakeIO):
        def cmd(self, argv, data=None):
            if argv[0].endswith('-save') and self.applied >= 1:
                return 1, '', 'iptables-save: cannot read'
            return FakeIO.cmd(self, argv, data)
    io = SaveFails(fail_apply={'ipv6'})
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True and res['changed'] is True
    assert res['left_applied'] == ['iptables-legacy ipv4 step (reading the ruleset to undo it failed: iptables-save: '
                                   'cannot read)']


def test_persisted_ruleset_that_would_not_load_is_restored(tmp_path, capsys):
    host_file(tmp_path, V4, LEGACY_FW)
    io = FakeIO(fail_file_test=True)
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO, iptables_rules_v6='/etc/iptables/v6'), capsys=capsys)
    assert res['failed'] is True and 'would not load at boot' in res['msg'] and 'the files were restored' in res['msg']
    assert 'rolled back: the host is as before' in res['msg'] and 'NFCT' not in io.state['ipv4']
    assert host_file(tmp_path, V4).read_text() == LEGACY_FW
    assert not host_file(tmp_path, '/etc/iptables/v6').exists()


def test_nftables_refusal_insert_and_control_connection(tmp_path, capsys):
    io = FakeIO(v4='', nft=web_json())
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=[{'protocol': 'udp', 'port': 5000}]), check=True, capsys=capsys)
    assert res['failed'] is True and 'an accept in a table of ours cannot help' in res['msg']
    assert res['drift_report']['companion']['refused'] == ['nftables inet fw input']
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=[{'protocol': 'udp', 'port': 5000}], companion='insert'),
              check=True, capsys=capsys)
    assert res['changed'] is True and res['backend']['name'] == 'nftables'
    assert res['commands'][0]['script'].endswith('insert rule inet fw input ct state untracked accept comment '
                                                 '"nfct.tuning notrack companion"\n')
    # the control connection, from SSH_CONNECTION and /proc/net/tcp
    tcp = ('  sl  local_address rem_address   st\n'
           '   1: 0100000A:0016 0900000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n')
    io = FakeIO(env={'SSH_CONNECTION': '10.0.0.7 40000 10.0.0.1 22'}, proc_tcp=tcp)
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=[{'interface': 'eth0'}]), check=True, capsys=capsys)
    assert res['failed'] is True
    assert 'exemptions[0] (interface eth0) would match the control connection 10.0.0.7:40000 -> 10.0.0.1:22 via eth0, ' \
           'the control connection 10.0.0.9:50000 -> 10.0.0.1:22 via eth0' in res['msg']
    assert [s['source'] for s in res['control_connection']['sessions']] == ['SSH_CONNECTION', 'established socket']


def test_a_read_back_that_differs_rolls_back(tmp_path, capsys):
    class Forgets(FakeIO):
        """ip6tables-restore says it applied, but the ruleset does not change."""
        def cmd(self, argv, data=None):
            if argv[0].endswith('ip6tables-legacy-restore') and '--test' not in argv and '--noflush' in argv \
                    and 'NFCT' in (data.decode() if isinstance(data, bytes) else data or '') and self.applied < 2:
                self.applied += 1
                self.calls.append((argv, data))
                return 0, '', ''
            return FakeIO.cmd(self, argv, data)
    io = Forgets()
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True and 'after applying, the live ruleset still differs' in res['msg'], res['msg']
    assert res['msg'].endswith('already applied were rolled back: the host is as before'), res['msg']
    assert 'NFCT' not in io.state['ipv4'] and res['left_applied'] == []
    assert not host_file(tmp_path, V4).exists()


def test_a_persisted_file_that_cannot_be_written_rolls_back_the_live_ruleset(tmp_path, capsys, monkeypatch):
    from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files
    host_file(tmp_path, V4, LEGACY_FW)
    real = _files.atomic_write

    def full(module, path, text):
        if path.endswith('rules.v6'):
            raise OSError(28, 'No space left on device')
        return real(module, path, text)
    monkeypatch.setattr(_files, 'atomic_write', full)
    io = FakeIO()
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['failed'] is True and 'No space left on device' in res['msg']
    assert 'rolled back: the host is as before' in res['msg'] and res['left_applied'] == []
    assert 'NFCT' not in io.state['ipv4'] and 'NFCT' not in io.state['ipv6']
    assert host_file(tmp_path, V4).read_text() == LEGACY_FW and not host_file(tmp_path, V6).exists()


def test_files_are_written_in_an_order_the_boot_can_always_load():
    # found by the kill tests on a container: the system ruleset got its include line before our
    # file existed, so a crash between the two left a ruleset nftables.service cannot load
    paths = {'nftables_file': '/etc/nftables.d/nfct-notrack.nft', 'nftables_conf': '/etc/nftables.conf'}
    adding = {'/etc/nftables.conf': {'after': 'include'}, '/etc/nftables.d/nfct-notrack.nft': {'after': 'table'},
              '/etc/iptables/rules.v4': {'after': 'x'}}
    assert conntrack_notrack.write_order(adding, paths) == ['/etc/nftables.d/nfct-notrack.nft', '/etc/nftables.conf',
                                                            '/etc/iptables/rules.v4']
    removing = {'/etc/nftables.conf': {'after': 'no include'}, '/etc/nftables.d/nfct-notrack.nft': {'after': None}}
    assert conntrack_notrack.write_order(removing, paths) == ['/etc/nftables.conf', '/etc/nftables.d/nfct-notrack.nft']


def test_a_temp_file_left_by_a_killed_run_is_removed_when_nothing_else_differs(tmp_path, capsys):
    """Regression (CI, stop 17): a run killed before its rename left /etc/nftables.d/.nfct-*; the
    next runs found the rules and files in sync and never removed it."""
    host_file(tmp_path, V4, LEGACY_FW)
    io = FakeIO(units={'netfilter-persistent.service': 'disabled'})
    run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    host_file(tmp_path, '/etc/iptables/.nfct-k1ll3d', 'half a rules')
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), check=True, capsys=capsys)
    assert res['changed'] is True and res['drift'] is False
    assert res['stale_removed'] == ['/etc/iptables/.nfct-k1ll3d']
    assert host_file(tmp_path, '/etc/iptables/.nfct-k1ll3d').exists()
    calls = len(io.calls)
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['changed'] is True and res['drift'] is False
    assert res['stale_removed'] == ['/etc/iptables/.nfct-k1ll3d']
    assert not host_file(tmp_path, '/etc/iptables/.nfct-k1ll3d').exists()
    assert not any('restore' in c[0][0] for c in io.calls[calls:])
    res = run(tmp_path, io, dict(paths(tmp_path), exemptions=LO), capsys=capsys)
    assert res['changed'] is False and res['stale_removed'] == []
