# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather

import hosts


def gather(tmp_path, name, **kw):
    root, probes = hosts.build(str(tmp_path), name)
    return _gather.gather(root=root, probes=probes, **kw)


@pytest.mark.parametrize('name, expect', [
    ('post515_builtin', {'available': True, 'module.type': 'builtin', 'netns.initial': True, 'count': 5,
                         'max': 262144, 'buckets': 262144, 'stats.source': 'procfs', 'stats.insert_failed': 3,
                         'memory.object_size': 256, 'memory.object_size_source': 'slabinfo',
                         'kernel_default.max': 262144, 'kernel_default.factor': 1, 'hashsize.writable': True,
                         'memory.bytes_at_max': 262144 * 256 + 262144 * 8}),
    ('container_netns', {'available': True, 'netns.initial': False, 'stats.source': 'procfs',
                         'memory.object_size': 384, 'hashsize.writable': False}),
    ('module_vm', {'available': True, 'module.type': 'module', 'module.loaded': True, 'max': 300000,
                   'buckets': 131072, 'persisted.modprobe.hashsize': 131072,
                   'persisted.modules_load.loads_at_boot': True,
                   'kernel_default.max': 8 * 131072, 'kernel_default.factor': 8}),
    ('module_not_loaded', {'available': False, 'module.type': 'module', 'module.loaded': False,
                           'stats.source': 'none', 'hashsize.writable': False}),
    ('pre515_noprocfs', {'available': True, 'module.type': 'module', 'stats.source': 'ctnetlink',
                         'stats.drop': 5, 'memory.object_size': 341, 'kernel_default.factor': 8,
                         'memory.object_size_source': 'slabinfo (320 B object, 12 per 1-page slab)',
                         'persisted.cmdline.hashsize': 32768, 'cpus': 4}),
])
def test_gather_hosts(tmp_path, name, expect):
    facts = gather(tmp_path, name)
    for dotted, value in expect.items():
        cur = facts
        for part in dotted.split('.'):
            cur = cur[part]
        assert cur == value, dotted


def test_container_reports_global_keys_readonly(tmp_path):
    facts = gather(tmp_path, 'container_netns')
    assert 'max' not in facts['writable']
    assert 'outside the initial network namespace' in facts['readonly']['max']
    assert 'outside the initial network namespace' in facts['readonly']['buckets']
    # timeouts are per netns, but this container has /proc/sys mounted read-only
    assert 'read-only' in facts['readonly']['tcp_timeout_established']
    assert facts['hashsize']['reason'] == 'refused outside the initial network namespace'


def test_non_root_cannot_write(tmp_path):
    root, probes = hosts.build(str(tmp_path), 'post515_builtin')
    probes.host = dict(probes.host, euid=1000)
    facts = _gather.gather(root=root, probes=probes)
    assert facts['writable'] == []
    assert facts['readonly']['max'] == 'needs root (running as uid 1000)'


def test_module_vm_persisted_layers(tmp_path):
    facts = gather(tmp_path, 'module_vm')
    p = facts['persisted']
    # 99-local.conf shadows ours; /usr/lib/sysctl.d/90-conntrack.conf is masked by the /etc one
    assert p['at_boot']['max']['value'] == '250000'
    assert p['at_boot']['max']['file'] == '/etc/sysctl.d/99-local.conf'
    assert [s['file'] for s in p['at_boot']['max']['set_by']] == ['/etc/sysctl.d/90-conntrack.conf',
                                                                  '/etc/sysctl.d/99-local.conf']
    assert p['at_boot']['tcp_timeout_time_wait'] == {'value': '45', 'file': '/etc/sysctl.conf', 'line': 1,
                                                     'set_by': [{'file': '/etc/sysctl.conf', 'value': '45', 'line': 1}]}
    assert [l['text'] for l in p['modprobe']['lines']] == ['options nf_conntrack hashsize=131072']
    assert p['modules_load']['entries'][0]['file'] == '/etc/modules-load.d/nf_conntrack.conf'


def test_breakdown_procfs_and_ctnetlink(tmp_path):
    facts = gather(tmp_path, 'post515_builtin', breakdown=True, top=3)
    b = facts['breakdown']
    assert b['source'] == 'procfs' and b['total'] == 5 and b['l4']['tcp'] == 2
    facts = gather(tmp_path / 'x', 'pre515_noprocfs', breakdown=True)
    assert facts['breakdown']['source'] == 'ctnetlink'
    assert facts['breakdown']['tcp_states'] == {'ESTABLISHED': 3}


def test_stats_source_forced(tmp_path):
    facts = gather(tmp_path, 'post515_builtin', stats_source='conntrack-cli')
    assert facts['stats']['source'] == 'none'
    assert facts['stats']['errors'] == ['conntrack -S: not available']


def test_parse_conntrack_S():
    text = ('cpu=0   \tfound=3 invalid=10 insert=0 insert_failed=1 drop=2 early_drop=0 error=4 '
            'search_restart=5 clash_resolve=1 chaintoolong=0\n'
            'cpu=1   \tfound=1 invalid=0 insert=0 insert_failed=1 drop=0 early_drop=7 error=0 '
            'search_restart=0 clash_resolve=0 chaintoolong=2\n')
    got = _gather.parse_conntrack_S(text)
    assert got['cpus'] == 2 and got['found'] == 4 and got['icmp_error'] == 4 and got['early_drop'] == 7
    assert got['chaintoolong'] == 2
    assert _gather.parse_conntrack_S('') is None
