# -*- coding: utf-8 -*-
"""host/state.py: the one reader of the host's state for a plan, and the detector of the sysctl
programs on merged and split /usr layouts. The regression of issue 21 finding 1: the udev boot
fix written on a host without merged /usr names /lib/systemd/systemd-sysctl, and the audit and
the metrics writer used to expect /usr/lib/... there, reporting drift on a host in sync."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.host import state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import writer as _metrics_writer
from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit, conntrack_settings

import hosts
from modrun import ansible_flags, invoke


def touch(path, text=''):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'w') as f:
        f.write(text)


def layout(root, kind):
    """merged: /lib -> usr/lib (Debian 12+); split: /lib a folder of its own (Debian 11 upgraded in
    place); none: no systemd-sysctl at all."""
    if kind == 'merged':
        touch(root + '/usr/lib/systemd/systemd-sysctl')
        if os.path.isdir(root + '/lib'):  # what the fixture host has in /lib moves to /usr/lib
            for name in os.listdir(root + '/lib'):
                os.rename(os.path.join(root, 'lib', name), os.path.join(root, 'usr', 'lib', name))
            os.rmdir(root + '/lib')
        os.symlink('usr/lib', root + '/lib')
        touch(root + '/usr/sbin/sysctl')
    elif kind == 'split':
        touch(root + '/lib/systemd/systemd-sysctl')
        touch(root + '/sbin/sysctl')
        if not os.path.isdir(root + '/usr/lib'):
            os.makedirs(root + '/usr/lib')
    return root


@pytest.mark.parametrize('kind,systemd_sysctl,procps,merged', [
    ('merged', '/usr/lib/systemd/systemd-sysctl', '/usr/sbin/sysctl', True),
    ('split', '/lib/systemd/systemd-sysctl', '/sbin/sysctl', False),
    ('none', '/usr/lib/systemd/systemd-sysctl', None, None),
])
def test_the_programs_on_each_layout(tmp_path, kind, systemd_sysctl, procps, merged):
    root = layout(str(tmp_path), kind)
    assert _state.tools(root) == _state.Tools(systemd_sysctl, procps, merged)


def test_read_gives_the_owned_files_and_the_sysctl_layers(tmp_path):
    root = str(tmp_path)
    touch(root + '/etc/sysctl.d/90-conntrack.conf', 'net.netfilter.nf_conntrack_max = 1\n')
    touch(root + '/etc/sysctl.d/99-x.conf', 'net.netfilter.nf_conntrack_max = 2\n')
    touch(root + '/etc/sysctl.conf', '# nothing\n')
    params = dict(sysctl_file='/etc/sysctl.d/90-conntrack.conf', modprobe_file='/etc/modprobe.d/nfct-tuning.conf')
    state = _state.read(params, root)
    assert state.files == {'/etc/sysctl.d/90-conntrack.conf': 'net.netfilter.nf_conntrack_max = 1\n',
                           '/etc/modprobe.d/nfct-tuning.conf': None}
    assert [d for d, _files in state.listing] == ['/etc/sysctl.d']
    assert sorted(state.listing[0][1]) == ['90-conntrack.conf', '99-x.conf']
    assert state.conf['content'] == '# nothing\n'


UDEV = {'boot_fix': 'udev', 'module_layers': 'always'}
DESIRED = {'max': 300000, 'buckets': 131072, 'tcp_timeout_established': 86400}


@pytest.mark.parametrize('kind', ['merged', 'split'])
def test_udev_fix_written_and_audited_alike_on_both_layouts(tmp_path, capsys, kind):
    root, probes = hosts.build(str(tmp_path / 'root'), 'module_vm')
    layout(root, kind)
    os.remove(root + '/etc/sysctl.d/99-local.conf')  # the fixture's shadowing file: this host is ours alone
    invoke(conntrack_settings, ansible_flags(tmp_path, dict(UDEV, settings=DESIRED, memory_budget_percent=50)),
           root=root, probes=probes)
    res = json.loads(capsys.readouterr().out)
    assert not res.get('failed'), res.get('msg')
    with open(root + '/etc/udev/rules.d/90-nfct-tuning.rules') as f:
        rule = f.read()
    program = _state.tools(root).systemd_sysctl
    assert 'RUN+="%s --prefix=/net/netfilter"' % program in rule
    assert program == ('/lib/systemd/systemd-sysctl' if kind == 'split' else '/usr/lib/systemd/systemd-sysctl')
    # the audit of the same desired values sees no boot file of ours to change
    args = dict(UDEV, profile='default', overrides=DESIRED, memory_budget_percent=50, only_raise=False, users=False)
    invoke(conntrack_audit, ansible_flags(tmp_path, args, check=True), root=root, probes=probes)
    audit = json.loads(capsys.readouterr().out)['audit']
    assert audit['files'] == [] and audit['status'] == 'in_sync', audit['lines']
    # and neither does the metrics writer's drift of the tuned keys
    keys = _metrics_writer.drift_keys(probes_facts(root, probes), DESIRED,
                                      dict(boot_fix='udev', module_layers='always'), root)
    assert all('at_boot' not in entry['kinds'] for entry in keys.values())


def probes_facts(root, probes):
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
    return _gather.gather(root=root, probes=probes)
