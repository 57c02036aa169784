# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.host import proc as _proc

import hosts

NEW = hosts.HOSTS['post515_builtin']['files']['/proc/net/stat/nf_conntrack']


@pytest.mark.parametrize('text, expected', [
    # 6.18: clashres and chainlength columns; entries not summed
    (NEW, {'entries': 5, 'cpus': 2, 'found': 21, 'invalid': 7, 'insert': 75, 'insert_failed': 3, 'drop': 1,
           'early_drop': 2, 'icmp_error': 1, 'search_restart': 3, 'clash_resolve': 1, 'chaintoolong': 2}),
    # 4.19: 'searched' and 'delete_list' columns, no clash_resolve / chaintoolong
    (hosts.STAT_HEADER_OLD + '\n' + '0000000a  00000005 00000001 00000000 00000002 00000000 00000000 00000000 '
     '00000003 00000001 00000000 00000000 00000000  00000000 00000000 00000000 00000004\n',
     {'entries': 10, 'cpus': 1, 'found': 1, 'invalid': 2, 'insert': 3, 'insert_failed': 1, 'search_restart': 4,
      'clash_resolve': 0, 'chaintoolong': 0}),
])
def test_parse_stat_file(text, expected):
    got = _proc.parse_stat_file(text)
    for k, v in expected.items():
        assert got[k] == v, k


@pytest.mark.parametrize('text', ['', 'garbage\n', 'entries found\n00000001\n'])
def test_parse_stat_file_rejects(text):
    with pytest.raises(ValueError):
        _proc.parse_stat_file(text)


@pytest.mark.parametrize('text, size', [
    (hosts.HOSTS['post515_builtin']['files']['/proc/slabinfo'], 256),
    (hosts.HOSTS['pre515_noprocfs']['files']['/proc/slabinfo'], 320),
    ('slabinfo - version: 2.1\nnf_conntrack_expect   0 0 208 19 1 : tunables 0 0 0 : slabdata 0 0 0\n'
     'nf_conntrack_ffffffff81b1e2c0  100 120 312 13 1 : tunables 0 0 0 : slabdata 9 9 0\n', 312),
    ('slabinfo - version: 2.1\nnf_conntrack_expect   0 0 208 19 1 : tunables 0 0 0 : slabdata 0 0 0\n', None),
    ('', None),
])
def test_parse_slabinfo(text, size):
    assert _proc.parse_slabinfo(text) == size


@pytest.mark.parametrize('release, expected', [
    ('6.18.44-fc-v657', (6, 18, 44)), ('3.10.0-1160.el7.x86_64', (3, 10, 0)), ('5.15', (5, 15, 0)),
    ('garbage', None), ('', None),
])
def test_parse_release(release, expected):
    assert _proc.parse_release(release) == expected


@pytest.mark.parametrize('text, expected', [
    ('root=/dev/sda1 nf_conntrack.hashsize=32768 quiet', 32768),
    ('nf_conntrack.hashsize=1 nf_conntrack.hashsize=2', 2),
    ('nf_conntrack.hashsize=abc', None),
    ('quiet', None), (None, None),
])
def test_parse_cmdline_hashsize(text, expected):
    assert _proc.parse_cmdline_hashsize(text) == expected


def test_parse_grub_default():
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet nf_conntrack.hashsize=65536"\n'
    assert _proc.parse_grub_default(text) == 65536
    assert _proc.parse_grub_default('GRUB_CMDLINE_LINUX=""\n') is None


def test_meminfo():
    assert _proc.parse_meminfo_total('MemTotal:  1024 kB\n') == 1048576
    with pytest.raises(ValueError):
        _proc.parse_meminfo_total('nothing')


@pytest.mark.parametrize('line, expected', [
    (hosts.PROC_LINES.splitlines()[0], ('ipv4', 'tcp', 'ESTABLISHED', '10.0.0.5', '10.0.0.9', 443, True, False)),
    (hosts.PROC_LINES.splitlines()[1], ('ipv4', 'tcp', 'SYN_SENT', '10.0.0.5', '10.0.0.7', 80, False, True)),
    # UDP has no state column: the seeds' awk '{print $7}' reads dst= here; we parse by key
    (hosts.PROC_LINES.splitlines()[2], ('ipv4', 'udp', None, '10.0.0.6', '10.0.0.9', 53, False, True)),
    (hosts.PROC_LINES.splitlines()[3], ('ipv4', 'icmp', None, '10.0.0.5', '10.0.0.9', None, False, False)),
    (hosts.PROC_LINES.splitlines()[4], ('ipv6', 'udp', None, '2001:db8::1', '2001:db8::2', 53, True, False)),
    # SCTP has a state column too; only TCP states are reported
    ('ipv4     2 sctp     132 3 CLOSED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=9 src=2.2.2.2 dst=1.1.1.1 '
     'sport=9 dport=1 mark=0 use=1', ('ipv4', 'sctp', None, '1.1.1.1', '2.2.2.2', 9, False, False)),
    ('ipv4     2 unknown  47 599 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 mark=0 use=1',
     ('ipv4', 'unknown', None, '1.1.1.1', '2.2.2.2', None, False, False)),
    # the kernel prints IPv6 in full; we return the compressed form conntrack -L and ctnetlink use
    ('ipv6     10 udp      17 29 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:'
     '0000:0001 sport=39361 dport=2000 [UNREPLIED] src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:'
     '0000:0000:0000:0000:0001 sport=2000 dport=39361 mark=0 zone=0 use=2',
     ('ipv6', 'udp', None, '::1', '::1', 2000, False, True)),
    ('', None), ('ipv4 2', None),
])
def test_parse_conntrack_line(line, expected):
    assert _proc.parse_conntrack_line(line) == expected
