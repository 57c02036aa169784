# -*- coding: utf-8 -*-
"""_notrack_safety: which filter chains would drop the packets we stop tracking. Rulesets in
nft JSON (the shapes nft 1.0.6 prints, see tests/unit/fixtures/nft) and iptables-save text,
against exemptions of every kind. The real kernel confirms the verdicts in tests/netns
(a stateful firewall drops the exempted traffic without the companion and passes it with it)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as ni, nft as nn, safety as ns, spec as n

from notrack_rulesets import ACCEPT, DROP, WEB, addr, ct, match, meta, nft_model, port


def analyze_nft(chains, exemptions, **kw):
    rules = n.spec_rules(n.validate_exemptions(exemptions))
    return dict((a['chain'], a) for a in ns.analyze(nn.safety_tables(nft_model(chains, **kw)), rules))


@pytest.mark.parametrize('exemption, affected, reason', [
    ({'interface': 'lo'}, False, None),                         # iif lo accept takes them
    ({'protocol': 'tcp', 'port': 443}, False, None),            # tcp dport {22, 80, 443} accept takes them
    ({'protocol': 'udp', 'port': 5000}, True, 'input: policy drop'),
    ({'address': '10.0.0.0/8'}, True, 'input: policy drop'),    # replies to our own connections would be dropped
    ({'protocol': 'tcp', 'port': 443, 'direction': 'outbound'}, True, 'input: policy drop'),  # replies (sport 443)
])
def test_web_firewall(exemption, affected, reason):
    res = analyze_nft(WEB, [exemption])
    assert bool(res['input']['affected_by']) is affected
    if reason:
        assert res['input']['reason'][0] == reason
    assert res['output']['affected_by'] == []


@pytest.mark.parametrize('rules, policy, affected', [
    # ct state invalid does not match untracked packets: harmless alone
    ([[ct('invalid'), DROP]], 'accept', False),
    # a stateless ruleset treats untracked packets like tracked ones
    ([[port('tcp', 'dport', 22), ACCEPT]], 'drop', False),
    # negated state: untracked is "not established,related"
    ([[ct(['established', 'related'], op='!='), DROP]], 'accept', True),
    ([[ct('untracked', op='!='), DROP]], 'accept', False),
    ([[ct('untracked'), DROP]], 'accept', True),
    # the admin's own untracked accept first
    ([[ct('untracked'), ACCEPT], [ct(['established', 'related']), ACCEPT]], 'drop', False),
    ([[ct({'set': ['established', 'related', 'untracked']}, op='=='), ACCEPT]], 'drop', False),
    # ct mark never matches an untracked packet
    ([[match({'ct': {'key': 'mark'}}, 1), ACCEPT]], 'drop', True),
    # a ct state verdict map: untracked hits no entry and falls through
    ([[{'vmap': {'key': {'ct': {'key': 'state'}}, 'data': {'set': [['established', ACCEPT], ['invalid', DROP]]}}}],
      [port('udp', 'dport', 5000), ACCEPT]], 'drop', False),
    ([[{'vmap': {'key': {'ct': {'key': 'state'}}, 'data': {'set': [['established', ACCEPT], ['invalid', DROP]]}}}]],
     'drop', True),
    ([[{'vmap': {'key': {'ct': {'key': 'state'}}, 'data': {'set': [['untracked', DROP]]}}}]], 'accept', True),
    # th dport covers udp; another port does not
    ([[ct('established'), ACCEPT], [port('th', 'dport', {'range': [4000, 6000]}), ACCEPT]], 'drop', False),
    ([[ct('established'), ACCEPT], [port('tcp', 'dport', 5000), ACCEPT]], 'drop', True),
    ([[ct('established'), ACCEPT], [port('udp', 'dport', 5000, op='!='), DROP]], 'accept', False),
    # a named set: unknown, may not match
    ([[ct('established'), ACCEPT], [port('udp', 'dport', '@allowed'), ACCEPT]], 'drop', True),
])
def test_chain_verdicts_for_udp_5000(rules, policy, affected):
    res = analyze_nft({'input': ('input', 0, policy, rules)}, [{'protocol': 'udp', 'port': 5000}])
    assert bool(res['input']['affected_by']) is affected, res['input']


def test_jumps_and_user_chains():
    chains = {'input': ('input', 0, 'accept', [
        [ct('established'), ACCEPT],
        [{'jump': {'target': 'services'}}],
        [DROP],
    ]), 'services': (None, None, None, [[port('tcp', 'dport', 443), ACCEPT], [{'return': None}]])}
    assert analyze_nft(chains, [{'protocol': 'tcp', 'port': 443}])['input']['affected_by'] == []
    res = analyze_nft(chains, [{'protocol': 'udp', 'port': 5000}])['input']
    assert res['affected_by'] == [0] and res['reason'] == ['input: drop']
    # goto a chain that drops
    chains['input'] = ('input', 0, 'accept', [[ct('established'), ACCEPT], [{'goto': {'target': 'services'}}]])
    chains['services'] = (None, None, None, [[DROP]])
    assert analyze_nft(chains, [{'interface': 'lo'}])['input']['affected_by'] == [0]


def test_interfaces_addresses_families():
    chains = {'input': ('input', 0, 'drop', [
        [ct('established'), ACCEPT],
        [meta('iifname', 'eth*'), ACCEPT],
        [addr('ip', 'saddr', {'prefix': {'addr': '10.0.0.0', 'len': 8}}), ACCEPT],
    ])}
    assert analyze_nft(chains, [{'interface': 'eth1'}], )['input']['affected_by'] == []
    assert analyze_nft(chains, [{'address': '10.1.0.0/16', 'protocol': 'tcp', 'port': 80}])['input']['affected_by'] == []
    # the address-only exemption also untracks packets TO 10/8 arriving here (daddr): not all accepted
    assert analyze_nft(chains, [{'address': '10.1.0.0/16'}])['input']['affected_by'] == [0]
    assert analyze_nft(chains, [{'interface': 'lo'}])['input']['affected_by'] == [0]
    # an ip6 table never sees IPv4-only exemptions; an ip table never sees IPv6 ones
    assert analyze_nft(chains, [{'address': '10.0.0.0/8'}], family='ip6') == {}
    res = analyze_nft(chains, [{'address': '2001:db8::/32'}, {'protocol': 'udp', 'port': 53}], family='ip')
    assert res['input']['affected_by'] == [1]


def test_chains_not_reached():
    chains = {'pre': ('prerouting', -400, 'drop', [[ct('established'), ACCEPT]]),
              'mangle': ('prerouting', -150, 'drop', [[ct('established'), ACCEPT]]),
              'nat': ('prerouting', -100, 'accept', [[ct('established'), ACCEPT], [DROP]], 'nat')}
    res = analyze_nft(chains, [{'protocol': 'udp', 'port': 5000}])
    assert 'pre' not in res and 'nat' not in res   # before our raw chains; nat never sees untracked packets
    assert res['mangle']['affected_by'] == [0]


def test_output_replies_of_an_inbound_service():
    chains = {'output': ('output', 0, 'drop', [[ct(['established', 'related', 'new']), ACCEPT]])}
    res = analyze_nft(chains, [{'protocol': 'tcp', 'port': 443}])
    assert res['output']['affected_by'] == [0] and res['output']['hook'] == 'output'


def test_our_companion_effective_or_not():
    rules = [['OURS', ct('untracked'), ACCEPT], [ct('established'), ACCEPT]]
    res = analyze_nft({'input': ('input', 0, 'drop', rules)}, [{'interface': 'lo'}])['input']
    # still needed (ours is not counted), and effective where it is
    assert res['affected_by'] == [0] and res['companion'] == 'effective' and res['companion_rules'] == [0]
    rules = [[addr('ip', 'saddr', '192.0.2.1'), DROP], ['OURS', ct('untracked'), ACCEPT], [ct('established'), ACCEPT]]
    res = analyze_nft({'input': ('input', 0, 'drop', rules)}, [{'interface': 'lo'}])['input']
    assert res['companion'] == 'ineffective'
    rules = [['OURS', ct('untracked'), ACCEPT], ['OURS', ct('untracked'), ACCEPT], [ct('established'), ACCEPT]]
    assert analyze_nft({'input': ('input', 0, 'drop', rules)}, [{'interface': 'lo'}])['input']['companion'] == 'ineffective'
    # not needed: no chain decides by state
    res = analyze_nft({'input': ('input', 0, 'accept', [['OURS', ct('untracked'), ACCEPT]])}, [{'interface': 'lo'}])
    assert res['input']['affected_by'] == []


IPT = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:SERVICES - [0:0]
-A INPUT -j NFCT-UNTRACKED
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -j SERVICES
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
-A SERVICES -p tcp -m multiport --dports 80,443 -j ACCEPT
-A SERVICES -p udp -m udp --dport 53 -j ACCEPT
:NFCT-UNTRACKED - [0:0]
-A NFCT-UNTRACKED -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
'''


@pytest.mark.parametrize('exemption, input_affected', [
    ({'interface': 'lo'}, False), ({'protocol': 'tcp', 'port': 443}, False), ({'protocol': 'udp', 'port': 53}, False),
    ({'protocol': 'udp', 'port': 5000}, True), ({'address': '192.0.2.0/24'}, True),
])
def test_iptables_filter(exemption, input_affected):
    rules = n.spec_rules(n.validate_exemptions([exemption]))
    tables = ni.safety_tables(ni.parse_save(IPT), 'iptables-legacy', 'ipv4')
    res = dict((a['chain'], a) for a in ns.analyze(tables, rules))
    assert bool(res['INPUT']['affected_by']) is input_affected
    # our jump is first: effective
    assert res['INPUT']['companion'] == 'effective'
    # FORWARD drops by policy, but never by conntrack state: not affected
    assert res['FORWARD']['affected_by'] == [] and res['FORWARD']['hook'] == 'forward'
    assert res['OUTPUT']['affected_by'] == []
    assert 'DOCKER-USER' not in res
