# -*- coding: utf-8 -*-
"""Where the modules may write (host/paths.py): every path option is checked before anything
changes (issue 11, finding 3 and the bad-input catalogue), and a file already at the path is
replaced only when it is ours or holds nothing but what we would write there."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths


@pytest.mark.parametrize('option, path', [
    ('sysctl_file', '/etc/sysctl.d/90-conntrack.conf'),
    ('sysctl_file', '/run/sysctl.d/90-conntrack.conf'),
    ('sysctl_file', '/usr/lib/sysctl.d/50-x.conf'),
    ('modprobe_file', '/etc/modprobe.d/nfct-tuning.conf'),
    ('modules_load_file', '/etc/modules-load.d/nfct-tuning.conf'),
    ('udev_rule_file', '/etc/udev/rules.d/90-nfct-tuning.rules'),
    ('nftables_file', '/etc/nftables.d/nfct-notrack.nft'),
    ('nftables_file', '/etc/nftables/nfct-notrack.nft'),
    ('nftables_conf', '/etc/nftables.conf'),
    ('nftables_conf', '/etc/sysconfig/nftables.conf'),
    ('iptables_rules_v4', '/etc/iptables/rules.v4'),
    ('iptables_rules_v4', '/etc/sysconfig/iptables'),
    ('iptables_rules_v6', '/etc/sysconfig/ip6tables'),
])
def test_allowed_paths(option, path):
    assert _paths.check_path(option, path) == path


@pytest.mark.parametrize('option, path, fragment', [
    ('sysctl_file', '/opt/tuning/ct.conf', 'is outside the directories systemd-sysctl reads at boot'),
    ('sysctl_file', '/etc/passwd', 'sysctl_file: /etc/passwd is outside the directories'),
    ('sysctl_file', '/etc/sysctl.conf', 'is outside the directories systemd-sysctl reads'),
    ('sysctl_file', 'etc/sysctl.d/x.conf', "'etc/sysctl.d/x.conf' is relative"),
    ('sysctl_file', '', 'sysctl_file: expected DIR/NAME.conf with DIR one of /etc/sysctl.d'),
    ('sysctl_file', None, 'sysctl_file: expected DIR/NAME.conf'),
    ('sysctl_file', 42, 'sysctl_file: expected DIR/NAME.conf'),
    ('sysctl_file', '/etc/sysctl.d/../shadow', 'is not a normal path'),
    ('sysctl_file', '/etc/sysctl.d//x.conf', 'is not a normal path'),
    ('sysctl_file', '/etc/sysctl.d/./x.conf', 'is not a normal path'),
    ('sysctl_file', '/etc/sysctl.d/x.conf/', 'is not a normal path'),
    ('sysctl_file', '/etc/sysctl.d/x', "'x' is not a name systemd-sysctl reads (expected NAME.conf"),
    ('sysctl_file', '/etc/sysctl.d/.x.conf', "'.x.conf' is not a name systemd-sysctl reads"),
    ('sysctl_file', '/etc/sysctl.d/sub/x.conf', 'is outside the directories'),
    ('sysctl_file', '/etc/sysctl.d/x.conf\n', 'contains a NUL or newline'),
    ('modprobe_file', '/etc/sysctl.d/x.conf', 'modprobe_file: /etc/sysctl.d/x.conf is outside the directories modprobe'),
    ('modprobe_file', '/etc/modprobe.d/x.rules', "is not a name modprobe reads (expected NAME.conf"),
    ('modules_load_file', '/etc/modules', 'is outside the directories systemd-modules-load reads'),
    ('udev_rule_file', '/lib/udev/rules.d/90-x.rules', 'is outside the directories udev reads'),
    ('udev_rule_file', '/etc/udev/rules.d/90-x.conf', "is not a name udev reads (expected NAME.rules"),
    ('nftables_file', '/etc/nftables.conf', 'is outside the directories nft (included) reads'),
    ('nftables_file', '/etc/nftables.d/x.conf', "is not a name nft (included) reads (expected NAME.nft"),
    ('nftables_conf', '/tmp/nftables.conf', 'is outside the directories nftables.service reads'),
    ('iptables_rules_v4', '/root/rules.v4', 'is outside the directories iptables-restore reads'),
    ('iptables_rules_v6', '/etc/iptables/.rules.v6', "'.rules.v6' is not a name ip6tables-restore reads"),
])
def test_refused_paths_name_the_option_and_what_is_allowed(option, path, fragment):
    with pytest.raises(_paths.PathError) as e:
        _paths.check_path(option, path)
    assert str(e.value).startswith(option + ':') and fragment in str(e.value), str(e.value)
    assert 'expected' in str(e.value)


def test_check_paths_collects_every_error():
    errs = _paths.check_paths({'sysctl_file': '/x.conf', 'modprobe_file': '/etc/modprobe.d/ok.conf',
                               'udev_rule_file': None}, ['sysctl_file', 'modprobe_file', 'udev_rule_file'])
    assert len(errs) == 1 and errs[0].startswith('sysctl_file:')


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


@pytest.mark.parametrize('option, content, adopt, error', [
    ('sysctl_file', None, False, None),
    ('sysctl_file', '# Managed by nfct.tuning (conntrack_settings).\nnet.netfilter.nf_conntrack_max = 1\n', False, None),
    ('sysctl_file', '# tuned by hand\nnet.netfilter.nf_conntrack_max = 1\n\nnet/netfilter/nf_conntrack_udp_timeout=9\n',
     True, None),
    ('sysctl_file', 'net.netfilter.nf_conntrack_max = 1\nvm.swappiness = 1\n', False, 'was not written by nfct.tuning'),
    ('sysctl_file', 'root:x:0:0:root:/root:/bin/bash\n', False, 'was not written by nfct.tuning'),
    ('modprobe_file', 'options nf_conntrack hashsize=131072\n', True, None),
    ('modprobe_file', 'blacklist pcspkr\n', False, 'was not written by nfct.tuning'),
    ('modules_load_file', '# conntrack\nnf_conntrack\n', True, None),
    ('modules_load_file', 'nf_conntrack\nbr_netfilter\n', False, 'was not written by nfct.tuning'),
    ('nftables_file', 'table inet x {}\n', False, 'was not written by nfct.tuning'),
    ('nftables_file', '#!/usr/sbin/nft -f\n# Managed by nfct.tuning (conntrack_notrack).\n', False, None),
    ('nftables_conf', 'flush ruleset\ntable inet filter {}\n', False, None),   # shared by design: merged into
])
def test_existing_files(tmp_path, option, content, adopt, error):
    path = {'sysctl_file': '/etc/sysctl.d/90-conntrack.conf', 'modprobe_file': '/etc/modprobe.d/nfct-tuning.conf',
            'modules_load_file': '/etc/modules-load.d/nfct-tuning.conf',
            'nftables_file': '/etc/nftables.d/nfct-notrack.nft', 'nftables_conf': '/etc/nftables.conf'}[option]
    if content is not None:
        _write(str(tmp_path) + path, content)
    got_adopt, got_error = _paths.check_file(option, path, str(tmp_path), _paths.ADOPTABLE.get(option))
    assert got_adopt is adopt
    assert (got_error is None) if error is None else (error in got_error)


def test_symlinks_directories_and_parents(tmp_path):
    root = str(tmp_path)
    os.makedirs(root + '/etc/sysctl.d')
    os.symlink('/etc/passwd', root + '/etc/sysctl.d/90-conntrack.conf')
    assert 'is a symlink (to /etc/passwd)' in _paths.check_file('sysctl_file', '/etc/sysctl.d/90-conntrack.conf', root)[1]
    os.makedirs(root + '/etc/sysctl.d/91-x.conf')
    assert 'is a directory' in _paths.check_file('sysctl_file', '/etc/sysctl.d/91-x.conf', root)[1]
    _write(root + '/etc/modprobe.d', 'a file where a folder should be')
    assert 'the parent of' in _paths.check_file('modprobe_file', '/etc/modprobe.d/x.conf', root)[1]
    # a shared file that is a symlink is refused too: an atomic replace would cut the link
    os.makedirs(root + '/etc/iptables')
    os.symlink('/srv/fw/rules.v4', root + '/etc/iptables/rules.v4')
    assert 'is a symlink' in _paths.check_file('iptables_rules_v4', '/etc/iptables/rules.v4', root)[1]
