# -*- coding: utf-8 -*-
"""settings/relieve.py: what the incident path changes (runtime only), decided before anything is
written."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.settings import relieve

import synth

GIB = 1024 ** 3


def full_host(count=262144, cmax=262144, initial=True, **kw):
    facts = synth.facts(ram=16 * GIB, count=count, cmax=cmax, buckets=262144, initial=initial, **kw)
    facts['breakdown'] = {'total': count, 'l4': {'tcp': count // 2, 'udp': count // 2},
                          'tcp_states': {'TIME_WAIT': count // 3, 'ESTABLISHED': count // 6}}
    return facts


def test_raises_max_to_the_target_at_runtime_only_and_leaves_the_hash_table():
    facts = full_host()
    plan = relieve.plan(facts, {'max': 1048576, 'why': 'profile web'}, {})
    assert plan['state'] == 'ok' and not plan['errors']
    assert plan['max']['before'] == 262144 and plan['max']['after'] == 1048576
    assert [w['key'] for w in plan['writes']] == ['max']
    assert plan['writes'][0]['path'] == '/proc/sys/net/netfilter/nf_conntrack_max'
    assert plan['chain'] == {'buckets': 262144, 'entries': 262144, 'now': 1.0, 'at_max': 4.0}
    assert 'rehashes every live entry' in plan['resize'] and 'quiet window' in plan['resize']


def test_never_lowers():
    plan = relieve.plan(full_host(count=1000, cmax=2000000), {'max': 65536, 'why': 'x'}, {})
    assert plan['max']['after'] == 2000000 and plan['writes'] == [] and not plan['max']['change']


def test_the_fullest_namespace_counts_on_the_node():
    facts = full_host(count=10)
    namespaces = [{'name': 'web-1', 'count': 262144}, {'pid': 4242, 'comms': ['systemd', 'nginx'], 'count': 1000}]
    plan = relieve.plan(facts, {'max': 600000, 'why': 'x'}, {'shorten_timeouts': True}, namespaces=namespaces)
    assert plan['max']['fullest'] == 262144 and plan['max']['fullest_where'] == 'network namespace web-1'
    # the namespaces share one hash table: its chains count every table's entries
    assert plan['chain']['entries'] == 10 + 262144 + 1000
    # timeouts are per namespace: this one's are not the fullest table's
    assert any('run relieve there with shorten_timeouts' in n for n in plan['notes'])
    assert relieve.describe(namespaces[1]) == 'the network namespace of pid 4242 (systemd, nginx)'


def test_inside_a_container_says_where_to_run_and_changes_no_max():
    facts = full_host(initial=False)
    plan = relieve.plan(facts, {'max': 1048576, 'why': 'x'}, {})
    assert plan['state'] == 'readonly' and plan['max'] is None and plan['writes'] == []
    assert 'Run relieve on the node' in plan['notes'][0]


def test_over_the_budget_is_refused_with_the_engines_message():
    plan = relieve.plan(full_host(), {'error': 'max: ... a budget of at least 9% would hold it'}, {})
    assert plan['errors'] == ['max: ... a budget of at least 9% would hold it'] and plan['writes'] == []


def test_without_conntrack_there_is_nothing_to_relieve():
    facts = full_host()
    facts['available'] = False
    plan = relieve.plan(facts, {'max': 1, 'why': 'x'}, {})
    assert plan['state'] == 'absent' and 'nothing to relieve' in plan['notes'][0] and plan['writes'] == []


def test_timeouts_only_when_asked_to_their_floors_largest_holders_first():
    facts = full_host()
    assert relieve.plan(facts, {'max': 1048576, 'why': 'x'}, {})['timeouts'] == []
    plan = relieve.plan(facts, {'max': 1048576, 'why': 'x'}, {'shorten_timeouts': True})
    keys = [(t['key'], t['before'], t['after']) for t in plan['timeouts']]
    # udp holds half the table, TIME_WAIT a third, ESTABLISHED a sixth
    assert keys == [('udp_timeout', 30, 10), ('tcp_timeout_time_wait', 120, 60),
                    ('tcp_timeout_established', 432000, 7440)]
    assert [w['key'] for w in plan['writes']] == ['max', 'udp_timeout', 'tcp_timeout_time_wait',
                                                  'tcp_timeout_established']
    assert 'TCP_TIMEWAIT_LEN' in plan['timeouts'][1]['why']
    assert any('next packet' in n for n in plan['notes'])


def test_a_timeout_already_at_or_below_its_floor_is_left():
    facts = full_host(sysctls={'tcp_timeout_time_wait': 60, 'udp_timeout': 5})
    plan = relieve.plan(facts, {'max': 1048576, 'why': 'x'}, {'shorten_timeouts': True})
    assert [t['key'] for t in plan['timeouts']] == ['tcp_timeout_established']


@pytest.mark.parametrize('breakdown,expected', [
    ({'tcp_states': {'TIME_WAIT': 5, 'ESTABLISHED': 9}, 'l4': {'udp': 7, 'gre': 3}},
     [('tcp_timeout_established', 9), ('udp_timeout', 7), ('tcp_timeout_time_wait', 5)]),
    ({}, []),
    (None, []),
])
def test_holders(breakdown, expected):
    assert relieve.holders(breakdown) == expected
