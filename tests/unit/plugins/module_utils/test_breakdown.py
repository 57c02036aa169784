# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown
from ansible_collections.nfct.tuning.plugins.module_utils.host import proc as _proc

import hosts


def test_summarize_proc_lines():
    ents = [_proc.parse_conntrack_line(l) for l in hosts.PROC_LINES.splitlines()]
    got = _breakdown.summarize(ents, top=2)
    assert got['total'] == 5
    assert got['l3'] == {'ipv4': 4, 'ipv6': 1}
    assert got['l4'] == {'tcp': 2, 'udp': 2, 'icmp': 1}
    assert got['tcp_states'] == {'ESTABLISHED': 1, 'SYN_SENT': 1}
    assert got['assured'] == 2 and got['unreplied'] == 2
    assert got['top_sources'] == [{'key': '10.0.0.5', 'count': 3}, {'key': '10.0.0.6', 'count': 1}]
    assert got['top_destination_ports'][0] == {'key': 'udp/53', 'protocol': 'udp', 'port': 53, 'count': 2}
    assert got['top_exact'] is True


def test_summarize_bounded_memory_keeps_heavy_hitters():
    # 50 heavy sources among 20000 one-off sources, capacity 1000: the heavy ones survive pruning
    ents = []
    for i in range(20000):
        ents.append(('ipv4', 'udp', None, '10.9.%d.%d' % (i // 256, i % 256), '10.0.0.1', 53, False, True))
        if i % 400 == 0:
            for _dummy in range(100):
                ents.append(('ipv4', 'udp', None, '192.168.0.%d' % (i // 400), '10.0.0.1', 53, False, True))
    got = _breakdown.summarize(iter(ents), top=50, capacity=1000)
    assert got['total'] == len(ents)
    assert got['top_exact'] is False
    assert {t['key'] for t in got['top_sources']} == {'192.168.0.%d' % i for i in range(50)}
    assert all(t['count'] <= 100 and t['count'] >= 100 - got['top_max_error'] for t in got['top_sources'])
    assert got['top_destinations'] == [{'key': '10.0.0.1', 'count': len(ents)}]
