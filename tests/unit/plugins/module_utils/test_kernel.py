# -*- coding: utf-8 -*-
"""The kernel's own rules (kernel/rules.py), one row per era of the kernel's history (issue 10,
finding 9): the default sizes of nf_conntrack_init_start() and its ancestors, bucket rounding,
bytes per entry, default timeouts."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel

GIB = 1024 ** 3
MIB = 1024 ** 2


# (release, RAM, pointer size, explicit hashsize) -> (buckets, max), with the commit that made the rule
@pytest.mark.parametrize('release, ram, ptr, hashsize, buckets, cmax, commit', [
    # 2.6.15-2.6.22 (9fb9cbb1082d): RAM/16384/sizeof(list_head), 8192 above 1 GiB, min 16, factor 8, no rounding
    ((2, 6, 18), 512 * MIB, 8, None, 2048, 16384, '9fb9cbb1082d'),
    ((2, 6, 18), 8 * GIB, 8, None, 8192, 65536, '9fb9cbb1082d'),
    ((2, 6, 22), 1000 * MIB, 8, None, 4000, 32000, '9fb9cbb1082d'),
    # 2.6.23-2.6.27 (f205c5e0c28a, 8e5105a0c36a): hlist heads, 16384 above 1 GiB, factor 4, max from the rounded size
    ((2, 6, 24), 1000 * MIB, 8, None, 8192, 32768, '8e5105a0c36a'),
    ((2, 6, 24), 8 * GIB, 8, None, 16384, 65536, 'f205c5e0c28a'),
    # 2.6.28-3.19 (08f6547d266f): max from the size BEFORE rounding; no 4 GiB step (the 3.10 host)
    ((3, 10, 0), 8 * GIB, 8, None, 16384, 65536, '08f6547d266f'),
    ((3, 10, 0), 1000 * MIB, 8, None, 8192, 32000, '08f6547d266f'),
    ((3, 19, 0), 64 * GIB, 8, None, 16384, 65536, '08f6547d266f'),
    ((3, 10, 0), 4 * MIB, 8, None, 512, 128, '08f6547d266f'),   # min 32 buckets, rounded to a page of heads
    ((3, 10, 0), 2 * GIB, 8, 1000, 1024, 8000, '08f6547d266f'),  # explicit hash size: 8 x the size given
    # 4.0-4.6: the 4 GiB step (65536), still max from the unrounded size
    ((4, 0, 0), 8 * GIB, 8, None, 65536, 262144, '4.0'),
    ((4, 4, 0), 1000 * MIB, 8, None, 8192, 32000, '4.0'),
    # 4.7-5.14 (56d52d4892d0): one table for all namespaces, max from the rounded size again
    ((4, 19, 0), 8 * GIB, 8, None, 65536, 262144, '56d52d4892d0'),
    ((5, 10, 0), 2 * GIB, 8, None, 16384, 65536, '56d52d4892d0'),
    ((5, 14, 0), 1000 * MIB, 8, None, 8192, 32768, '56d52d4892d0'),
    ((4, 19, 0), 8 * GIB, 8, 32768, 32768, 262144, '56d52d4892d0'),
    ((4, 19, 0), 2 * GIB, 8, 1000, 1024, 8192, '56d52d4892d0'),
    # 5.15+ (d532bcd0b269): 262144 above 4 GiB on 64-bit, 65536 above 1 GiB, min 1024, factor 1
    ((6, 18, 0), 24 * GIB, 8, None, 262144, 262144, 'd532bcd0b269'),
    ((6, 1, 0), 2 * GIB, 8, None, 65536, 65536, 'd532bcd0b269'),
    ((5, 15, 0), 512 * MIB, 8, None, 4096, 4096, 'd532bcd0b269'),
    ((6, 1, 0), 8 * MIB, 8, None, 1024, 1024, 'd532bcd0b269'),
    ((6, 1, 0), 1000 * MIB, 8, None, 8192, 8192, 'd532bcd0b269'),
    ((6, 1, 0), 8 * GIB, 4, None, 65536, 65536, 'd532bcd0b269'),   # 32-bit: no 262144 step
    ((6, 1, 0), 2 * GIB, 8, 131072, 131072, 1048576, 'd532bcd0b269'),
    ((6, 1, 0), 2 * GIB, 8, 1000, 1024, 8192, 'd532bcd0b269'),
    # exactly 4 GiB is not "more than 4 GiB"
    ((6, 1, 0), 4 * GIB, 8, None, 65536, 65536, 'd532bcd0b269'),
    ((4, 19, 0), 4 * GIB, 8, None, 16384, 65536, '56d52d4892d0'),
    # no release known: the newest era
    (None, 24 * GIB, 8, None, 262144, 262144, 'd532bcd0b269'),
])
def test_kernel_default_per_era(release, ram, ptr, hashsize, buckets, cmax, commit):
    got = _kernel.kernel_default(ram, ptr, release, 4096, hashsize)
    assert (got['buckets'], got['max']) == (buckets, cmax)
    assert got['reason'] and got['source'].startswith('net/netfilter/nf_conntrack_core.c')
    assert commit in got['source'] or commit in got['era']


def test_every_era_has_a_source_with_its_commit_or_release():
    names = [e['name'] for e in _kernel.ERAS]
    assert names == ['2.6.15-2.6.22', '2.6.23-2.6.27', '2.6.28-3.19', '4.0-4.6', '4.7-5.14', '5.15+']
    for e in _kernel.ERAS:
        assert e['source'].count('(') >= 1 and ('commit' in e['source'] or 'in 4.0' in e['source'])
    # consecutive, no gaps
    for a, b in zip(_kernel.ERAS, _kernel.ERAS[1:]):
        assert a['until'] == b['since']


@pytest.mark.parametrize('release, name', [
    ((2, 6, 15), '2.6.15-2.6.22'), ((2, 6, 22, 19), '2.6.15-2.6.22'), ((2, 6, 23), '2.6.23-2.6.27'),
    ((2, 6, 32), '2.6.28-3.19'), ((3, 18), '2.6.28-3.19'), ((3, 19, 8), '2.6.28-3.19'), ((4, 0), '4.0-4.6'),
    ((4, 6, 7), '4.0-4.6'), ((4, 7), '4.7-5.14'), ((5, 14, 21), '4.7-5.14'), ((5, 15), '5.15+'),
    ((6, 18, 44), '5.15+'), ((2, 4, 37), '2.6.15-2.6.22'),
])
def test_era_boundaries(release, name):
    assert _kernel.era(release)['name'] == name


@pytest.mark.parametrize('n, page, ptr, expected', [
    (1, 4096, 8, 512), (512, 4096, 8, 512), (513, 4096, 8, 1024), (300000, 4096, 8, 300032),
    (1000, 4096, 4, 1024), (70000, 65536, 8, 73728),
])
def test_round_buckets(n, page, ptr, expected):
    assert _kernel.round_buckets(n, page, ptr) == expected


def test_bytes_per_entry():
    # measured on 6.18 (tests/netns/test_memory_netns.py): 256 B object, +128 B with any extension
    assert _kernel.entry_bytes(256, []) == 256
    assert _kernel.entry_bytes(256, ['nf_conntrack_acct=1']) == 384
    assert _kernel.slab_bytes_per_object(320, 12, 1) == 341      # 12 objects share one page
    assert _kernel.slab_bytes_per_object(256, 16, 1) == 256
    assert _kernel.slab_bytes_per_object(256) == 256
    assert _kernel.table_bytes(1000, 512, 384) == 1000 * 384 + 512 * 8
    # the fallback never undercounts the largest known object (376 B)
    assert _kernel.FALLBACK_OBJECT_SIZE >= 376


@pytest.mark.parametrize('sysctls, nat, n', [
    ({}, False, 0), ({'events': 2, 'acct': 0, 'timestamp': 0}, False, 0),
    ({'events': 1}, False, 1), ({'acct': 1}, False, 1), ({'timestamp': 1, 'acct': 1}, False, 2),
    ({}, True, 1), ({'events': 2}, True, 1),
])
def test_extension_reasons(sysctls, nat, n):
    assert len(_kernel.extension_reasons(sysctls, nat)) == n


@pytest.mark.parametrize('release, key, value', [
    ((4, 20, 1), 'udp_timeout_stream', 180), ((5, 0, 1), 'udp_timeout_stream', 120),
    ((3, 10), 'udp_timeout_stream', 180), (None, 'udp_timeout_stream', 120),
    ((3, 10), 'udp_timeout', 30), ((6, 18), 'tcp_timeout_established', 432000),
    ((2, 6, 32), 'tcp_timeout_time_wait', 120),
])
def test_default_timeouts_per_release(release, key, value):
    assert _kernel.default_timeouts(release)[key] == value


def test_timeout_sources_name_the_right_file():
    assert _kernel.timeout_source('udp_timeout').endswith('nf_conntrack_proto_udp.c udp_timeouts[]')
    assert 'proto_tcp.c' in _kernel.timeout_source('tcp_timeout_established')
    assert 'proto_icmp.c' in _kernel.timeout_source('icmp_timeout')


def test_resize_cost_is_linear_in_entries():
    assert _kernel.resize_seconds(0) == 0
    assert 0.4 < _kernel.resize_seconds(1000000) < 0.8
