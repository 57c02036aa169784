# -*- coding: utf-8 -*-
"""conntrack_settings on fixture hosts (files under a temporary root): the plan, check mode,
atomic writes, idempotence, read-back, restore on failure, refusals. The real kernel runs are
in tests/netns (network namespace and the host's initial netns, values saved and restored)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_settings

import hosts
from modrun import ansible_flags, invoke


def run(tmp_path, name, args, check=False, diff=False, root=None, probes=None):
    if root is None:
        root, probes = hosts.build(str(tmp_path), name)
    invoke(conntrack_settings, ansible_flags(tmp_path, args, check, diff), root=root, probes=probes)
    return root, probes


def out(capsys):
    return json.loads(capsys.readouterr().out)


def read(root, path):
    with open(root + path) as f:
        return f.read()


def test_check_mode_changes_nothing_then_apply_then_idempotent(tmp_path, capsys):
    settings = {'max': 524288, 'buckets': 300000, 'tcp_timeout_established': 86400}
    root, probes = run(tmp_path, 'post515_builtin', {'settings': settings}, check=True, diff=True)
    res = out(capsys)
    assert res['changed'] is True and res['drift'] is True
    assert not os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_max') == '262144\n'
    assert res['keys']['buckets']['expected'] == 300032  # rounded like the kernel
    assert res['cmdline_hint'] == 'nf_conntrack.hashsize=300000'
    headers = [d['after_header'] for d in res['diff']]
    assert headers == ['/etc/sysctl.d/90-conntrack.conf', 'runtime (/proc/sys/net/netfilter)']
    # apply for real, with a kernel that rounds: emulate by pre-writing the rounded value on read-back
    settings['buckets'] = 300032
    run(tmp_path, None, {'settings': settings}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True
    text = read(root, '/etc/sysctl.d/90-conntrack.conf')
    assert text.startswith('# Managed by nfct.tuning')
    assert text.splitlines()[2:] == ['net.netfilter.nf_conntrack_buckets = 300032',
                                     'net.netfilter.nf_conntrack_max = 524288',
                                     'net.netfilter.nf_conntrack_tcp_timeout_established = 86400']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_max') == '524288\n'
    assert res['keys']['max']['runtime_before'] == 262144 and res['keys']['max']['runtime_after'] == 524288
    assert res['keys']['max']['at_boot_after'] == 524288
    # second run: nothing to do
    run(tmp_path, None, {'settings': settings}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is False and res['files_changed'] == [] and res['runtime_changes'] == []


def test_failure_part_way_restores_runtime(tmp_path, capsys):
    # the fixture "kernel" does not round buckets, so the read-back of 300000 (expected 300032) fails
    # after max was already written: max must be restored, and no file written
    root, probes = run(tmp_path, 'post515_builtin', {'settings': {'buckets': 300000, 'udp_timeout': 20}})
    res = out(capsys)
    assert res['failed'] is True
    assert 'everything already changed was put back (1 runtime value(s)); the host is as before' in res['msg']
    assert res['left_applied'] == []
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_buckets') == '262144\n'
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '30\n'
    assert not os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')


def test_container_skips_global_keys_and_reports(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'container_netns')
    # this container has /proc/sys writable (unmask=/proc/sys): timeouts can be written
    with open(root + '/proc/self/mounts', 'w') as f:
        f.write('overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n')
    run(tmp_path, None, {'settings': {'max': 524288, 'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True
    assert 'outside the initial network namespace' in res['not_applied']['max']
    assert any(w.startswith('max: not applied at runtime') for w in res['messages'])
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '20\n'
    text = read(root, '/etc/sysctl.d/90-conntrack.conf')
    assert 'nf_conntrack_max' not in text and 'nf_conntrack_udp_timeout = 20' in text
    # readonly: fail
    run(tmp_path, None, {'settings': {'max': 524288}, 'readonly': 'fail'}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and 'readonly: fail' in res['msg']


def test_module_host_writes_modprobe_and_boot_fix(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'module_vm')
    os.remove(root + '/etc/modules-load.d/nf_conntrack.conf')
    run(tmp_path, None, {'settings': {'buckets': 262144, 'max': 300000}}, check=True, root=root, probes=probes)
    res = out(capsys)
    assert set(res['files_changed']) == {'/etc/sysctl.d/90-conntrack.conf', '/etc/modprobe.d/nfct-tuning.conf',
                                         '/etc/modules-load.d/nfct-tuning.conf'}
    # 99-local.conf sets max after our file: reported, not touched
    assert res['keys']['max']['shadowed_by'] == ['/etc/sysctl.d/99-local.conf']
    assert res['keys']['max']['at_boot_after'] == 250000
    assert any('99-local.conf sets it after' in w for w in res['messages'])
    run(tmp_path, None, {'settings': {'buckets': 262144}, 'boot_fix': 'udev', 'runtime': False,
                         'memory_budget_percent': 50}, root=root, probes=probes)
    res = out(capsys)
    assert read(root, '/etc/modprobe.d/nfct-tuning.conf').endswith('options nf_conntrack hashsize=262144\n')
    assert 'KERNEL=="nf_conntrack"' in read(root, '/etc/udev/rules.d/90-nfct-tuning.rules')
    assert not os.path.exists(root + '/etc/modules-load.d/nfct-tuning.conf')
    assert read(root, '/etc/sysctl.d/99-local.conf') == 'net.netfilter.nf_conntrack_max=250000\n'
    # state absent removes exactly our files, with a backup
    run(tmp_path, None, {'state': 'absent', 'backup': True}, root=root, probes=probes)
    res = out(capsys)
    assert sorted(res['files_changed']) == ['/etc/modprobe.d/nfct-tuning.conf', '/etc/sysctl.d/90-conntrack.conf',
                                            '/etc/udev/rules.d/90-nfct-tuning.rules']
    assert not os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')
    assert os.path.exists(root + '/etc/sysctl.d/99-local.conf')
    assert all(os.path.exists(b) for b in res['backup_files'].values())


@pytest.mark.parametrize('args, fragment', [
    ({'settings': {'max': 4}}, 'max: 4 is below the live count 5'),
    ({'settings': {'max': 200000000}}, 'more than memory_budget_percent 5.0% of RAM'),
    ({'settings': {'maxx': 4}}, "settings: unknown conntrack key 'maxx'"),
    ({'settings': {'udp_timeout': 0}}, 'settings.udp_timeout: 0 is outside the allowed range 1-2147483 seconds'),
    ({'settings': {'max': 'big'}}, "settings.max: expected an integer, got 'big'"),
    ({'memory_budget_percent': 0}, 'memory_budget_percent: 0 is outside the allowed range 0.1-50 percent of RAM'),
    ({'memory_budget_percent': 75}, 'memory_budget_percent: 75 is outside the allowed range 0.1-50 percent of RAM'),
])
def test_refusals(tmp_path, capsys, args, fragment):
    root, probes = run(tmp_path, 'post515_builtin', args)
    res = out(capsys)
    assert res['failed'] is True and fragment in res['msg']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_max') == '262144\n'
    assert not os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')


def test_an_unchanged_max_above_the_budget_is_not_refused(tmp_path, capsys):
    # issue 11, finding 2: live max 40,000,000 on a 23.5 GiB host is above 5% of RAM; the
    # recommendation keeps it (only_raise) and the plan must not refuse a write it does not make
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    with open(root + '/proc/sys/net/netfilter/nf_conntrack_max', 'w') as f:
        f.write('40000000\n')
    rec = _sizing.recommend(_gather.gather(root=root, probes=probes), profile='web')
    assert rec['recommended']['max'] == 40000000 and not rec['memory']['within_budget']
    run(tmp_path, None, {'settings': {'max': 40000000}}, root=root, probes=probes)
    res = out(capsys)
    assert not res.get('failed'), res['msg']
    # growing beyond it is still refused
    run(tmp_path, None, {'settings': {'max': 41000000}}, root=root, probes=probes)
    assert 'more than memory_budget_percent' in out(capsys)['msg']


def test_force_allows_below_count(tmp_path, capsys):
    run(tmp_path, 'post515_builtin', {'settings': {'max': 4096}, 'force': True})
    assert out(capsys)['changed'] is True


def test_module_layers_always_and_never(tmp_path, capsys):
    # a container (builtin kernel seen from a non-initial netns) preparing files for a modular kernel
    root, probes = hosts.build(str(tmp_path), 'container_netns')
    with open(root + '/proc/self/mounts', 'w') as f:
        f.write('overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n')
    run(tmp_path, None, {'settings': {'buckets': 131072, 'udp_timeout': 20}, 'module_layers': 'always'},
        root=root, probes=probes)
    res = out(capsys)
    assert '/etc/modprobe.d/nfct-tuning.conf' in res['files_changed']
    assert read(root, '/etc/modprobe.d/nfct-tuning.conf').endswith('options nf_conntrack hashsize=131072\n')
    assert read(root, '/etc/modules-load.d/nfct-tuning.conf').endswith('nf_conntrack\n')
    # drift: the option removed by hand is reported as a differing file
    os.remove(root + '/etc/modprobe.d/nfct-tuning.conf')
    run(tmp_path, None, {'settings': {'buckets': 131072, 'udp_timeout': 20}, 'module_layers': 'always'},
        check=True, root=root, probes=probes)
    res = out(capsys)
    assert res['drift_report']['files'] == ['/etc/modprobe.d/nfct-tuning.conf']
    assert res['drift_report']['drifted'] is True
    run(tmp_path, None, {'settings': {'buckets': 131072, 'udp_timeout': 20}, 'module_layers': 'never'},
        root=root, probes=probes)
    res = out(capsys)
    assert not os.path.exists(root + '/etc/modules-load.d/nfct-tuning.conf')


# ---------------------------------------------------------------- safety (issue 11)

def snapshot(root):
    """Every file under root (path -> content), to prove a failed run changed nothing (but the
    lock file, which every run that may write creates)."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(d, name)
            if name == 'nfct-tuning.lock':
                continue
            if not os.path.islink(full):
                with open(full, 'rb') as f:
                    out[os.path.relpath(full, root)] = f.read()
    return out


@pytest.mark.parametrize('option, path, fragment', [
    # issue 11, finding 3: a sysctl_file no boot reads was taken as the at-boot source
    ('sysctl_file', '/opt/tuning/ct.conf', 'sysctl_file: /opt/tuning/ct.conf is outside the directories systemd-sysctl '
                                           'reads at boot'),
    ('sysctl_file', '/etc/passwd', 'sysctl_file: /etc/passwd is outside the directories systemd-sysctl reads'),
    ('sysctl_file', 'sysctl.d/90-conntrack.conf', "sysctl_file: 'sysctl.d/90-conntrack.conf' is relative"),
    ('sysctl_file', '/etc/sysctl.d/../passwd', "is not a normal path"),
    ('sysctl_file', '/etc/sysctl.d/90-conntrack', "'90-conntrack' is not a name systemd-sysctl reads (expected NAME.conf"),
    ('sysctl_file', '/etc/sysctl.d/.hidden.conf', "'.hidden.conf' is not a name systemd-sysctl reads"),
    ('modprobe_file', '/etc/modules-load.d/x.conf', 'modprobe_file: /etc/modules-load.d/x.conf is outside the '
                                                    'directories modprobe reads'),
    ('udev_rule_file', '/etc/udev/rules.d/90-x.conf', "'90-x.conf' is not a name udev reads (expected NAME.rules"),
    ('modules_load_file', '/etc/modules', 'modules_load_file: /etc/modules is outside the directories'),
])
def test_owned_paths_outside_what_boot_reads_are_refused_before_anything(tmp_path, capsys, option, path, fragment):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    before = snapshot(root)
    run(tmp_path, None, {'settings': {'udp_timeout': 20}, option: path}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and fragment in res['msg'], res['msg']
    assert snapshot(root) == before


def test_a_foreign_file_at_our_path_is_refused_a_conntrack_only_one_adopted(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    path = root + '/etc/sysctl.d/90-conntrack.conf'
    with open(path, 'w') as f:
        f.write('# from the wiki\nnet.netfilter.nf_conntrack_max = 1000000\nvm.swappiness = 1\n')
    before = snapshot(root)
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and 'exists and was not written by nfct.tuning' in res['msg']
    assert snapshot(root) == before
    # only conntrack keys (what the seed articles told operators to write there): taken over, backed up
    with open(path, 'w') as f:
        f.write('# from the wiki\nnet.netfilter.nf_conntrack_max = 1000000\n')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True and res['adopted'] == ['/etc/sysctl.d/90-conntrack.conf']
    assert list(res['backup_files']) == ['/etc/sysctl.d/90-conntrack.conf']
    with open(res['backup_files']['/etc/sysctl.d/90-conntrack.conf']) as f:
        assert 'nf_conntrack_max = 1000000' in f.read()
    assert read(root, '/etc/sysctl.d/90-conntrack.conf').startswith('# Managed by nfct.tuning')


def test_symlink_and_directory_targets_are_refused(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    os.symlink('/etc/passwd', root + '/etc/sysctl.d/90-conntrack.conf')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and 'is a symlink (to /etc/passwd)' in res['msg']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '30\n'
    os.unlink(root + '/etc/sysctl.d/90-conntrack.conf')
    os.mkdir(root + '/etc/sysctl.d/90-conntrack.conf')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and 'is a directory, not a file' in res['msg']


def test_a_file_that_cannot_be_written_puts_the_runtime_values_back(tmp_path, capsys):
    # the sysctl.d folder is a file: the write fails after the runtime values were applied
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    sysctl_d = root + '/etc/sysctl.d'
    for name in os.listdir(sysctl_d):
        os.unlink(os.path.join(sysctl_d, name))
    os.rmdir(sysctl_d)
    with open(sysctl_d, 'w') as f:
        f.write('not a folder\n')
    run(tmp_path, None, {'settings': {'udp_timeout': 20, 'max': 300000}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True, res
    assert 'the parent of /etc/sysctl.d/90-conntrack.conf is not a directory' in res['msg']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '30\n'


def test_write_failure_midway_restores_runtime_and_files(tmp_path, capsys, monkeypatch):
    from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files
    root, probes = hosts.build(str(tmp_path), 'module_vm')
    before = snapshot(root)
    real = _files.atomic_write

    def fail_on_udev(module, path, text):
        if path.endswith('nfct-tuning.conf') and 'modules-load' in path:
            raise OSError(28, 'No space left on device')
        return real(module, path, text)
    monkeypatch.setattr(_files, 'atomic_write', fail_on_udev)
    run(tmp_path, None, {'settings': {'buckets': 262144, 'max': 300000, 'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and 'No space left on device' in res['msg']
    assert 'the host is as before' in res['msg'] and res['left_applied'] == []
    assert snapshot(root) == before


def test_a_second_run_waits_for_the_lock_then_fails_clearly(tmp_path, capsys):
    import fcntl
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    os.makedirs(root + '/run/lock', exist_ok=True)
    with open(root + '/run/lock/nfct-tuning.lock', 'w') as held:
        held.write('pid 4242 (conntrack_settings), since 2026-11-26 03:00:00')
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        run(tmp_path, None, {'settings': {'udp_timeout': 20}, 'lock_timeout': 1}, root=root, probes=probes)
        res = out(capsys)
    assert res['failed'] is True
    assert 'another nfct.tuning run on this host holds' in res['msg'] and 'pid 4242' in res['msg']
    assert 'did not finish within lock_timeout 1 s; nothing was changed' in res['msg']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '30\n'


def test_check_mode_creates_no_lock_file_and_stale_temp_files_are_removed(tmp_path, capsys):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, check=True, root=root, probes=probes)
    assert out(capsys)['changed'] is True
    assert not os.path.exists(root + '/run/lock/nfct-tuning.lock')
    # a run killed before its rename left a temp file: the next run removes it
    with open(root + '/etc/sysctl.d/.nfct-abc123', 'w') as f:
        f.write('half')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['stale_removed'] == ['/etc/sysctl.d/.nfct-abc123']
    assert not os.path.exists(root + '/etc/sysctl.d/.nfct-abc123')


def test_a_temp_file_left_by_a_killed_run_is_removed_when_nothing_else_differs(tmp_path, capsys):
    """Regression (CI, stop 17): the next run found everything in sync and left the temp file."""
    root, probes = run(tmp_path, 'post515_builtin', {'settings': {'udp_timeout': 20}})
    assert out(capsys)['changed'] is True
    with open(root + '/etc/sysctl.d/.nfct-k1ll3d', 'w') as f:
        f.write('half')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, check=True, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True and res['drift'] is False
    assert res['stale_removed'] == ['/etc/sysctl.d/.nfct-k1ll3d'] and os.path.exists(root + '/etc/sysctl.d/.nfct-k1ll3d')
    assert res['summary'] == ['would change:', '  /etc/sysctl.d/.nfct-k1ll3d: remove (a temporary file a killed run left)']
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True and res['stale_removed'] == ['/etc/sysctl.d/.nfct-k1ll3d']
    assert not os.path.exists(root + '/etc/sysctl.d/.nfct-k1ll3d')
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is False and res['stale_removed'] == []


def test_verify_reads_the_host_again_and_fails_on_what_still_differs(tmp_path, capsys, monkeypatch):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    real = conntrack_settings._gather.gather
    calls = []

    def gather(**kw):
        calls.append(1)
        if len(calls) == 2:   # another process sets the value back between our write and the verify
            with open(root + '/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'w') as f:
                f.write('30\n')
        return real(**kw)
    monkeypatch.setattr(conntrack_settings._gather, 'gather', gather)
    run(tmp_path, None, {'settings': {'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and res['verified'] is False
    assert res['msg'] == ('verify: after applying, the host still differs from the desired state: '
                          'net.netfilter.nf_conntrack_udp_timeout (runtime 30, wanted 20)')
    calls[:] = [1, 1, 1]
    run(tmp_path, None, {'settings': {'udp_timeout': 21}}, root=root, probes=probes)
    res = out(capsys)
    assert res['changed'] is True and res['verified'] is True


def test_a_restore_that_fails_too_is_a_failure_listing_what_is_left(tmp_path, capsys, monkeypatch):
    # writing udp_timeout fails after max was written; putting max back fails as well
    from ansible_collections.nfct.tuning.plugins.module_utils.host import runtime as _runtime
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    real = _runtime.write_value

    def write_value(path, value):
        if path.endswith('nf_conntrack_udp_timeout') or (path.endswith('nf_conntrack_max') and value == 262144):
            raise OSError(1, 'Operation not permitted')
        return real(path, value)
    monkeypatch.setattr(_runtime, 'write_value', write_value)
    run(tmp_path, None, {'settings': {'max': 300000, 'udp_timeout': 20}}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and res['changed'] is True
    assert res['left_applied'] == ['net.netfilter.nf_conntrack_max = 300000 (runtime; restoring 262144 failed: '
                                   '[Errno 1] Operation not permitted)']
    assert 'could NOT put back: net.netfilter.nf_conntrack_max = 300000' in res['msg']
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_max') == '300000\n'   # what the report says is there


def test_a_file_restore_that_fails_is_listed(tmp_path, capsys, monkeypatch):
    # the second file cannot be written, and neither can the first one be put back
    from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    real = _files.atomic_write
    seen = []

    def flaky(module, path, text):
        seen.append(path)
        if len(seen) >= 2:
            raise OSError(5, 'Input/output error')
        return real(module, path, text)
    monkeypatch.setattr(_files, 'atomic_write', flaky)

    def no_remove(path):
        raise OSError(5, 'Input/output error')
    monkeypatch.setattr(_files, 'remove', no_remove)
    run(tmp_path, None, {'settings': {'buckets': 262144, 'udp_timeout': 20}, 'module_layers': 'always',
                         'boot_fix': 'none'}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True and res['changed'] is True, res['msg']
    assert seen[0] == '%s/etc/modprobe.d/nfct-tuning.conf' % root
    assert res['left_applied'] == ['/etc/modprobe.d/nfct-tuning.conf ([Errno 5] Input/output error)']
    assert 'could NOT put back: /etc/modprobe.d/nfct-tuning.conf' in res['msg']
    # the runtime value was put back all the same
    assert read(root, '/proc/sys/net/netfilter/nf_conntrack_udp_timeout') == '30\n'


def test_a_module_that_cannot_be_loaded_fails_clearly_and_changes_nothing(tmp_path, capsys, monkeypatch):
    # mocked: our kernels have nf_conntrack built in, so a modprobe that fails cannot run for real
    # here (the qemu VM scenario loads the real module)
    from ansible.module_utils.basic import AnsibleModule
    root, probes = hosts.build(str(tmp_path), 'module_not_loaded')
    before = snapshot(root)
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda self, argv, **kw: (
        1, '', 'modprobe: FATAL: Module nf_conntrack not found in directory /lib/modules/6.1.0-50-amd64\n'))
    run(tmp_path, None, {'settings': {'udp_timeout': 20, 'max': 300000}, 'load_module': True}, root=root, probes=probes)
    res = out(capsys)
    assert res['failed'] is True
    assert res['msg'] == ('modprobe nf_conntrack failed: modprobe: FATAL: Module nf_conntrack not found in directory '
                          '/lib/modules/6.1.0-50-amd64')
    assert snapshot(root) == before
