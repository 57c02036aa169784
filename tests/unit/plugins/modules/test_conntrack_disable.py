# -*- coding: utf-8 -*-
"""conntrack_settings state: disabled on fixture hosts (files under a temporary root), with
modprobe emulated on the fixture's /sys/module: the users check refuses before any change,
check mode changes nothing, the unload order, a failed unload loads back what was unloaded,
the built-in kernel's consent and untrack-all requirement, and state present after disabled.
The real kernel runs are the VM scenario (molecule/vm/disable.yml) and tests/containers."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil

import pytest

from ansible.module_utils import basic

from ansible_collections.nfct.tuning.plugins.modules import conntrack_settings

import hosts
from modrun import ansible_flags, invoke

DISABLE = '/etc/modprobe.d/nfct-tuning-disable.conf'


class Modprobe(object):
    """modprobe on the fixture's /sys/module: -r removes the module's directory; a plain load
    creates it. fail: names whose removal (or load) fails."""

    def __init__(self, root, fail=(), deps=False):
        self.root, self.fail, self.calls, self.deps = root, set(fail), [], deps

    def __call__(self, module_self, argv, **kw):
        if argv[0] != 'modprobe':
            return 127, '', 'not on the fixture host'  # lsattr of a backup copy
        self.calls.append(list(argv))
        name = argv[-1]
        d = '%s/sys/module/%s' % (self.root, name)
        if name in self.fail:
            return 1, '', 'modprobe: FATAL: Module %s is in use.' % name
        if '-r' in argv:
            self.remove(name)
        else:
            os.makedirs(d + '/holders', exist_ok=True)
        return 0, '', ''

    def remove(self, name):
        """Unload; with deps, also what it held that nothing holds any more (modprobe -r does)."""
        shutil.rmtree('%s/sys/module/%s' % (self.root, name), ignore_errors=True)
        if not self.deps:
            return
        base = self.root + '/sys/module'
        for mod in os.listdir(base):
            hd = '%s/%s/holders' % (base, mod)
            if os.path.exists('%s/%s' % (hd, name)):
                os.remove('%s/%s' % (hd, name))
                if not os.listdir(hd):
                    self.remove(mod)


def patch_run_command(monkeypatch, fake):
    def run_command(module_self, argv, **kw):
        return fake(module_self, argv, **kw)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)


def holders(root, tree):
    """tree: {module: [holders]}: each gets /sys/module/NAME/{holders/,refcnt}."""
    for name, hs in tree.items():
        d = '%s/sys/module/%s' % (root, name)
        os.makedirs(d + '/holders', exist_ok=True)
        for h in hs:
            open(d + '/holders/' + h, 'w').close()
        with open(d + '/refcnt', 'w') as f:
            f.write('%d\n' % len(hs))


def run(tmp_path, capsys, root, probes, args, check=False, diff=False):
    invoke(conntrack_settings, ansible_flags(tmp_path, dict(args), check, diff), root=root, probes=probes)
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def vm(tmp_path, monkeypatch):
    root, probes = hosts.build(str(tmp_path / 'root'), 'module_vm')
    holders(root, {'nf_conntrack': ['nf_nat', 'nft_ct'], 'nf_nat': ['nft_chain_nat'], 'nft_chain_nat': [],
                   'nft_ct': []})
    mp = Modprobe(root)
    patch_run_command(monkeypatch, mp)
    return root, probes, mp


def test_check_mode_plans_and_changes_nothing(tmp_path, capsys, vm):
    root, probes, mp = vm
    before = sorted(os.listdir(root + '/sys/module'))
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'}, check=True, diff=True)
    assert res['changed'] is True and mp.calls == []
    assert res['users']['can_disable'] and res['users']['unload_order'][-1] == 'nf_conntrack'
    assert res['summary'][0] == 'would change:'
    assert res['summary'][1] == '  unload: nft_chain_nat, nf_nat, nft_ct, nf_conntrack'
    assert '  %s: create' % DISABLE in res['summary']
    assert '  /etc/sysctl.d/90-conntrack.conf: remove' in res['summary']
    assert sorted(os.listdir(root + '/sys/module')) == before and not os.path.exists(root + DISABLE)
    assert any(d['after_header'] == 'loaded kernel modules' for d in res['diff'])


def test_disable_unloads_in_order_writes_the_file_then_is_idempotent(tmp_path, capsys, vm):
    root, probes, mp = vm
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled', 'settings': {'max': 1}})
    assert res['changed'] is True and res['verified'] is True, res
    assert res['unloaded'] == ['nft_chain_nat', 'nf_nat', 'nft_ct', 'nf_conntrack']
    assert [c[-1] for c in mp.calls] == res['unloaded'] and all(c[:2] == ['modprobe', '-r'] for c in mp.calls)
    with open(root + DISABLE) as f:
        text = f.read()
    assert text.startswith('# Managed by nfct.tuning') and 'install nf_conntrack /bin/false\n' in text
    assert not os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')
    # the other tools' files stay
    assert os.path.exists(root + '/etc/sysctl.d/99-local.conf')
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'})
    assert res['changed'] is False and res['summary'] == ['in sync: conntrack is disabled'], res


def test_refuses_before_any_change_naming_every_blocker(tmp_path, capsys, vm):
    root, probes, mp = vm
    os.makedirs(root + '/proc/812')
    with open(root + '/proc/812/comm', 'w') as f:
        f.write('dockerd\n')
    with open(root + '/proc/812/cmdline', 'w') as f:
        f.write('/usr/bin/dockerd\0-H\0fd://\0')
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'})
    assert res['failed'] is True and mp.calls == []
    assert 'nothing was changed' in res['msg'] and 'service:docker' in res['msg'] and 'process dockerd (pid 812)' in res['msg']
    assert 'users_ignore' in res['msg']
    assert not os.path.exists(root + DISABLE) and os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')
    # named as not mattering: it goes through
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled', 'users_ignore': ['service:dock*']})
    assert res['changed'] is True and res['users']['ignored'] == ['service:docker']


def test_a_failed_unload_loads_back_what_was_unloaded(tmp_path, capsys, vm):
    root, probes, mp = vm
    mp.fail = {'nft_ct'}
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'})
    assert res['failed'] is True
    assert 'unloading nft_ct failed' in res['msg']
    assert 'the 2 unloaded module(s) were loaded again and the runtime values put back' in res['msg']
    assert os.path.isdir(root + '/sys/module/nf_nat') and os.path.isdir(root + '/sys/module/nft_chain_nat')
    assert [c[-1] for c in mp.calls] == ['nft_chain_nat', 'nf_nat', 'nft_ct', 'nf_nat', 'nft_chain_nat']
    assert not os.path.exists(root + DISABLE) and os.path.exists(root + '/etc/sysctl.d/90-conntrack.conf')


def test_builtin_needs_consent_and_the_untrack_all_objects(tmp_path, capsys, monkeypatch):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    mp = Modprobe(root)
    patch_run_command(monkeypatch, mp)
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'})
    assert res['failed'] is True and 'built into this kernel' in res['msg'] and 'notrack_all' in res['msg']
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled', 'builtin_mode': 'notrack_all'})
    assert res['failed'] is True and 'untrack-all NOTRACK objects are not in place' in res['msg']
    # check mode: says what a real run does first, does not fail
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled', 'builtin_mode': 'notrack_all'}, check=True)
    assert res['changed'] is True and any('check mode' in m for m in res['messages'])
    assert mp.calls == [] and not os.path.exists(root + DISABLE)


def test_present_after_disabled_removes_the_file_before_loading(tmp_path, capsys, monkeypatch):
    root, probes = hosts.build(str(tmp_path / 'root'), 'module_not_loaded')
    shutil.rmtree(root + '/sys/module/nf_conntrack', ignore_errors=True)
    os.makedirs(root + '/etc/modprobe.d', exist_ok=True)
    with open(root + DISABLE, 'w') as f:
        f.write(conntrack_settings._settings.render_disable())
    seen = []

    def modprobe(module_self, argv, **kw):
        seen.append((list(argv), os.path.exists(root + DISABLE)))
        return 1, '', 'modprobe: ERROR: could not insert nf_conntrack: Operation not permitted'
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', modprobe)
    res = run(tmp_path, capsys, root, probes, {'state': 'present', 'settings': {'max': 300000}})
    # the file was gone when modprobe ran; the load failed, so it was put back
    assert seen == [(['modprobe', 'nf_conntrack'], False)]
    assert res['failed'] is True and '%s was put back' % DISABLE in res['msg']
    assert os.path.exists(root + DISABLE)


def test_a_module_removed_as_a_dependency_counts_as_unloaded(tmp_path, capsys, vm):
    # found on the VM: modprobe -r of nf_conntrack's last holder removes nf_conntrack too, and it
    # was missing from `unloaded`
    root, probes, mp = vm
    mp.deps = True
    res = run(tmp_path, capsys, root, probes, {'state': 'disabled'})
    assert res['changed'] is True and res['verified'] is True, res
    assert res['unloaded'] == ['nft_chain_nat', 'nf_nat', 'nft_ct', 'nf_conntrack']
    assert [c[-1] for c in mp.calls] == ['nft_chain_nat', 'nft_ct']  # nf_nat went with nft_chain_nat
