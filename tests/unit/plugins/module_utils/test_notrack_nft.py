# -*- coding: utf-8 -*-
"""_notrack_nft: parsing `nft -j list ruleset` (fixture captured from nft 1.0.6 on the CI
machine, in a throwaway netns: tests/unit/fixtures/nft), our table and companion rules, the
safety model of the other tables, the `nft -f` transaction, the persisted file and the include
line in the system ruleset."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import nft as nn, spec as n

from notrack_rulesets import CAPTURED


def test_parse_and_classify_tables():
    m = nn.parse_ruleset(CAPTURED)
    assert m['version'] == '1.0.6'
    assert sorted(m['tables']) == [('inet', 'fw'), ('inet', 'nfct_notrack'), ('ip', 'filter')]
    assert nn.is_ours(m['tables'][('inet', 'nfct_notrack')])
    assert nn.is_xtables(m['tables'][('ip', 'filter')]) is True
    assert nn.is_xtables(m['tables'][('inet', 'fw')]) is False
    # a native table named like an iptables one, with lowercase chains, is native
    native = {'family': 'ip', 'name': 'filter', 'chains': {'input': {'name': 'input', 'hook': 'input', 'rules': []}}}
    assert nn.is_xtables(native) is False
    assert nn.native_tables(m) == ['inet fw']
    assert nn.parse_ruleset('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}')['tables'] == {}


def test_our_state_reads_every_form_back():
    st = nn.our_state(nn.parse_ruleset(CAPTURED))
    assert st['exists'] and st['chains_ok']
    rendered = [n.render_nft_rule(dict(zip(n.RULE_KEYS, k))) if k[0] != 'unknown' else k for k in st['rules']]
    assert rendered == ['iifname "lo" notrack', 'udp dport 5000 notrack', 'ip6 saddr 2001:db8::/32 tcp dport 443 notrack',
                        'ip saddr 10.0.0.1 notrack', 'meta nfproto ipv6 iifname "eth0" notrack', 'meta l4proto udp notrack',
                        ('unknown', 'prerouting: tcp dport 22 counter notrack'), 'oifname "lo" notrack']
    # the keys equal those of the exemptions that render these rules
    ex = n.validate_exemptions([{'interface': 'lo'}, {'protocol': 'udp', 'port': 5000},
                                {'protocol': 'tcp', 'port': 443, 'address': '2001:db8::/32'}])
    keys = [n.rule_key(r) for r in n.spec_rules(ex)]
    assert keys[0] == st['rules'][0] and keys[1] == st['rules'][1] and keys[2] == st['rules'][2]
    assert keys[3] == st['rules'][7]
    assert 'tcp dport 22 counter notrack' in st['text'] and 'priority raw; policy accept;' in st['text']


def test_our_state_wrong_chain_definition_is_drift():
    data = json.loads(CAPTURED)
    for o in data['nftables']:
        if 'chain' in o and o['chain']['table'] == 'nfct_notrack' and o['chain']['name'] == 'output':
            o['chain']['prio'] = 0
    assert nn.our_state(nn.parse_ruleset(json.dumps(data)))['chains_ok'] is False
    assert nn.our_state(nn.parse_ruleset('{"nftables": []}')) == {'exists': False, 'chains_ok': False, 'rules': [], 'text': ''}


def test_companions_found_by_comment():
    assert nn.companions(nn.parse_ruleset(CAPTURED)) == [
        {'family': 'inet', 'table': 'fw', 'chain': 'input', 'handle': 2, 'index': 0}]


def test_safety_model_of_native_tables():
    tables = nn.safety_tables(nn.parse_ruleset(CAPTURED))
    assert [(t['framework'], t['family'], t['table']) for t in tables] == [('nftables', 'inet', 'fw')]
    rules = tables[0]['chains']['input']['rules']
    assert rules[0]['ours'] is True and rules[0]['matches'][0] == {'field': 'ct_state', 'neg': False, 'values': {'untracked'}}
    assert rules[1]['verdict'] == 'vmap' and rules[1]['vmap']['entries'][0] == ({'invalid'}, 'drop', None)
    assert rules[2]['matches'][0]['field'] == 'iif' and rules[2]['matches'][0]['values'] == ['lo']
    assert rules[3]['matches'][0]['values'] == [(22, 22), (80, 80), (443, 443)]
    assert rules[3]['matches'][0]['proto'] == frozenset(['tcp'])


def test_to_match_forms():
    def m(op, left, right):
        return nn.to_match({'op': op, 'left': left, 'right': right})
    assert m('!=', {'ct': {'key': 'state'}}, 'untracked') == {'field': 'ct_state', 'neg': True, 'values': {'untracked'}}
    assert m('==', {'ct': {'key': 'mark'}}, 1)['field'] == 'ct_other'
    assert m('==', {'payload': {'protocol': 'th', 'field': 'dport'}}, {'range': [1000, 2000]})['values'] == [(1000, 2000)]
    assert m('==', {'payload': {'protocol': 'tcp', 'field': 'dport'}}, '@allowed')['values'] is None
    nets = {'set': [{'prefix': {'addr': '10.0.0.0', 'len': 8}}, '192.168.1.1']}
    addr = m('==', {'payload': {'protocol': 'ip', 'field': 'saddr'}}, nets)
    assert addr == {'field': 'saddr', 'neg': False, 'family': 'ipv4', 'values': ['10.0.0.0/8', '192.168.1.1']}
    assert m('==', {'meta': {'key': 'l4proto'}}, {'set': [6, 'udp']})['values'] == {'tcp', 'udp'}
    assert m('==', {'meta': {'key': 'iifname'}}, 'veth*')['values'] == ['veth*']
    assert m('<', {'meta': {'key': 'length'}}, 100)['field'] == 'unknown'
    rule = nn.to_rule({'expr': [{'match': {'op': '==', 'left': {'payload': {'protocol': 'ip', 'field': 'protocol'}},
                                           'right': 'icmp'}}, {'limit': {'rate': 5}}, {'accept': None}]})
    assert [x['field'] for x in rule['matches']] == ['l4proto', 'nfproto', 'unknown'] and rule['verdict'] == 'accept'
    assert nn.to_rule({'expr': [{'reject': {'type': 'icmpx'}}]})['verdict'] == 'drop'
    assert nn.to_rule({'expr': [{'jump': {'target': 'x'}}]})['target'] == 'x'
    assert nn.to_rule({'expr': [{'counter': {}}]})['verdict'] == 'continue'


def test_render_script():
    m = nn.parse_ruleset(CAPTURED)
    st = nn.our_state(m)
    rules = n.spec_rules(n.validate_exemptions([{'interface': 'lo'}]))
    script = nn.render_script(st, rules, True, [('inet', 'fw', 'output')], [{'family': 'inet', 'table': 'fw',
                                                                            'chain': 'input', 'handle': 2}])
    assert script.startswith('delete table inet nfct_notrack\ntable inet nfct_notrack {\n')
    assert script.endswith('delete rule inet fw input handle 2\ninsert rule inet fw output ct state untracked accept '
                           'comment "nfct.tuning notrack companion"\n')
    assert nn.render_script(st, [], False, [], []) == 'delete table inet nfct_notrack\n'
    empty = nn.our_state(nn.parse_ruleset('{"nftables": []}'))
    assert nn.render_script(empty, [], False, [], []) == ''
    assert nn.render_script(empty, rules, True, [], []).startswith('table inet nfct_notrack {')
    in_sync = dict(st, rules=[n.rule_key(r) for r in rules])
    assert nn.render_script(in_sync, rules, True, [], []) == ''


def test_persisted_file_reloads_cleanly():
    text = nn.render_file(n.spec_rules(n.validate_exemptions([{'interface': 'lo'}])), [('inet', 'fw', 'input')])
    lines = text.splitlines()
    assert lines[0] == '#!/usr/sbin/nft -f' and 'Managed by nfct.tuning' in lines[1]
    assert lines[4:7] == ['table inet nfct_notrack', 'delete table inet nfct_notrack', 'table inet nfct_notrack {']
    assert lines[-1] == 'insert rule inet fw input ct state untracked accept comment "nfct.tuning notrack companion"'


DEBIAN_CONF = '''#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter;
\t}
}
'''


def test_include_line_added_once_and_removed_exactly():
    conf, ours = '/etc/nftables.conf', '/etc/nftables.d/nfct-notrack.nft'
    added = nn.conf_with_include(DEBIAN_CONF, conf, ours)
    assert added == DEBIAN_CONF + '\n# Added by nfct.tuning (conntrack_notrack): NOTRACK exemptions\n' \
                                  'include "/etc/nftables.d/nfct-notrack.nft"\n'
    assert nn.conf_includes(added, conf, ours)
    assert nn.conf_with_include(added, conf, ours) == added
    assert nn.conf_without_include(added, ours) == DEBIAN_CONF
    # an admin's glob include already covers our file: nothing added, nothing removed
    globbed = DEBIAN_CONF + 'include "/etc/nftables.d/*.nft"\n'
    assert nn.conf_with_include(globbed, conf, ours) == globbed
    assert nn.conf_without_include(globbed, ours) == globbed
    relative = DEBIAN_CONF + 'include "nftables.d/*.nft"\n'
    assert nn.conf_includes(relative, conf, ours)
    # no system ruleset yet: a minimal one that only includes ours; no trailing newline kept safe
    assert nn.conf_with_include(None, conf, ours).endswith('include "/etc/nftables.d/nfct-notrack.nft"\n')
    assert nn.conf_with_include('flush ruleset', conf, ours).startswith('flush ruleset\n\n# Added by')
    assert nn.conf_without_include(None, ours) is None
