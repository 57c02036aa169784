# -*- coding: utf-8 -*-
"""_notrack_plan: the whole change from what the module read (rulesets of every framework,
files, services, control connection), the drift report the audit uses, and persistence for
both platform families. RHEL-family persistence (/etc/sysconfig/iptables and ip6tables,
iptables.service / ip6tables.service) is tested only here: no RHEL image can be built on the
project's machines."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import plan as np, spec as n

from notrack_rulesets import CAPTURED, LEGACY_FW, apply_restore, web_json

PARAMS = {'state': 'present', 'backend': 'auto', 'companion': 'auto', 'allow_control_connection': False, 'persist': True,
          'enable_service': True, 'control_ports': []}


def facts(legacy4='', legacy6='', nft=None, files=None, units=None, platform='debian', sessions=None, default='nft'):
    ipt = {('iptables-legacy', 'ipv4'): legacy4, ('iptables-legacy', 'ipv6'): legacy6,
           ('iptables-nft', 'ipv4'): '', ('iptables-nft', 'ipv6'): ''}
    return {'tools': {'nftables': nft is not None, 'iptables-legacy': {'ipv4': True, 'ipv6': True},
                      'iptables-nft': {'ipv4': True, 'ipv6': True}},
            'iptables_default': default, 'nft': nft, 'ipt': ipt,
            'control': {'ssh_ports': [22], 'sessions': sessions or [], 'interfaces': {}},
            'platform': platform, 'files': files or {}, 'units': units or {}}


def without_empty(save):
    """A legacy table stays registered once used: an empty one is the same as none."""
    return re.sub(r'\*\w+\n(?::[A-Z]+ ACCEPT \[0:0\]\n)*COMMIT\n', '', save)


def exs(*items):
    return n.validate_exemptions(list(items))


def test_iptables_legacy_host_apply_then_in_sync():
    f = facts(LEGACY_FW, '', units={'netfilter-persistent.service': {'exists': True, 'enabled': False}},
              files={'/etc/iptables/rules.v4': LEGACY_FW})
    pl = np.plan(dict(PARAMS), exs({'interface': 'lo'}), f)
    assert pl['errors'] == []
    assert pl['backend'] == {'name': 'iptables-legacy', 'reason': 'legacy xtables hold rules (iptables-legacy-save is not empty)'}
    assert [(s['framework'], s['family']) for s in pl['steps']] == [('iptables-legacy', 'ipv4'), ('iptables-legacy', 'ipv6')]
    assert '-I INPUT 1 -j NFCT-UNTRACKED' in pl['steps'][0]['script']
    assert 'NFCT-UNTRACKED' not in pl['steps'][1]['script']  # no IPv6 filter rules: no companion there
    assert sorted(pl['files']) == ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6']
    assert pl['files']['/etc/iptables/rules.v6']['before'] is None
    assert pl['services'] == ['netfilter-persistent.service']
    rep = pl['drift_report']
    assert rep['drifted'] is True and rep['backend'] == 'iptables-legacy'
    assert 'iptables-legacy ipv4: -A NFCT-NOTRACK-PRE -i lo -j CT --notrack' in rep['ruleset']['missing']
    assert rep['companion']['needed'] == ['iptables-legacy ipv4 filter INPUT']
    assert rep['companion']['missing'] == ['iptables-legacy ipv4 filter INPUT: -A INPUT -j NFCT-UNTRACKED']
    assert rep['persistence'] == {'in_sync': False, 'files': ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6'],
                                  'services': ['netfilter-persistent.service'], 'loaders_missing': []}
    assert any('widens what the firewall accepts' in w for w in pl['warnings'])
    assert any('which is the nft flavour here' in w for w in pl['warnings'])
    # after applying (emulated restore) and writing the files: nothing left to do
    v4 = apply_restore(LEGACY_FW, pl['steps'][0]['script'])
    v6 = apply_restore('', pl['steps'][1]['script'])
    f2 = facts(v4, v6, units={'netfilter-persistent.service': {'exists': True, 'enabled': True}},
               files=dict((p, c['after']) for p, c in pl['files'].items()))
    again = np.plan(dict(PARAMS), exs({'interface': 'lo'}), f2)
    assert again['steps'] == [] and again['files'] == {} and again['services'] == []
    assert again['drift_report']['drifted'] is False
    assert _audit.notrack_lines(again['drift_report'], 'h1') == ['h1: NOTRACK: in sync (iptables-legacy)']
    lines = _audit.notrack_lines(rep, 'h1')
    assert lines[0] == 'h1: NOTRACK: DRIFT (backend iptables-legacy, state present)'
    assert '  companion missing: iptables-legacy ipv4 filter INPUT: -A INPUT -j NFCT-UNTRACKED' in lines
    assert '  service not enabled: netfilter-persistent.service' in lines
    # absent: exactly our objects go, at runtime and in the files
    gone = np.plan(dict(PARAMS, state='absent'), [], f2)
    v4b = apply_restore(v4, gone['steps'][0]['script'])
    assert without_empty(v4b) == apply_restore(LEGACY_FW, '')
    assert gone['files']['/etc/iptables/rules.v4']['after'] == LEGACY_FW
    assert gone['files']['/etc/iptables/rules.v6']['after'] == ''
    assert gone['drift_report']['ruleset']['extra']


def test_rhel_layout_and_missing_loader():
    files = {'/etc/sysconfig/iptables': LEGACY_FW}
    units = {'iptables.service': {'exists': True, 'enabled': False}, 'ip6tables.service': {'exists': False}}
    params = dict(PARAMS, paths=np.persist_paths({}, 'redhat'), backend='iptables')
    f = facts(LEGACY_FW, files=files, units=units, platform='redhat', default='legacy')
    pl = np.plan(params, exs({'protocol': 'udp', 'port': 123}), f)
    assert pl['errors'] == []
    assert sorted(pl['files']) == ['/etc/sysconfig/ip6tables', '/etc/sysconfig/iptables']
    after = pl['files']['/etc/sysconfig/iptables']['after']
    assert after.startswith(LEGACY_FW.replace('COMMIT\n', '')[:40])
    assert '-A NFCT-NOTRACK-PRE -p udp -m udp --dport 123 -j CT --notrack' in after
    assert pl['services'] == ['iptables.service']
    assert pl['drift_report']['persistence']['loaders_missing'] == ['ip6tables.service']
    assert any('ip6tables.service is not installed (package iptables-services)' in w for w in pl['warnings'])
    assert np.platform_of('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n') == 'redhat'
    assert np.platform_of('ID=ubuntu\nID_LIKE=debian\n') == 'debian'
    assert np.platform_of('ID=alpine\n') is None


def test_nftables_refusal_and_insert():
    conf = '#!/usr/sbin/nft -f\nflush ruleset\n'
    f = facts(nft=web_json(), files={'/etc/nftables.conf': conf},
              units={'nftables.service': {'exists': True, 'enabled': True}})
    pl = np.plan(dict(PARAMS), exs({'protocol': 'udp', 'port': 5000}), f)
    assert pl['backend']['name'] == 'nftables'
    assert len(pl['errors']) == 1 and 'an accept in a table of ours cannot help' in pl['errors'][0]
    assert pl['errors'][0].startswith('companion: nftables chain inet fw input (hook input, policy drop) decides by '
                                      'conntrack state and would drop the untracked packets of exemptions[0] '
                                      '(udp/5000 inbound) (input: policy drop)')
    assert pl['drift_report']['companion']['refused'] == ['nftables inet fw input']
    pl = np.plan(dict(PARAMS, companion='insert'), exs({'protocol': 'udp', 'port': 5000}), f)
    assert pl['errors'] == []
    script = pl['steps'][0]['script']
    assert script.startswith('table inet nfct_notrack {')
    assert script.endswith('insert rule inet fw input ct state untracked accept comment "nfct.tuning notrack companion"\n')
    body = pl['files']['/etc/nftables.d/nfct-notrack.nft']['after']
    assert body.endswith('insert rule inet fw input ct state untracked accept comment "nfct.tuning notrack companion"\n')
    assert pl['files']['/etc/nftables.conf']['after'].endswith('include "/etc/nftables.d/nfct-notrack.nft"\n')
    assert pl['services'] == []
    # ignore: no companion, a warning
    pl = np.plan(dict(PARAMS, companion='ignore'), exs({'protocol': 'udp', 'port': 5000}), f)
    assert pl['errors'] == [] and 'insert rule' not in pl['steps'][0]['script']
    assert pl['drift_report']['companion']['ignored'] == ['nftables inet fw input']
    assert any(w.startswith('companion: ignored (companion: ignore): nftables chain inet fw input') for w in pl['warnings'])


def test_nft_companion_kept_or_removed_from_captured_ruleset():
    # CAPTURED has our companion first in inet fw input, and our table with a foreign rule
    pl = np.plan(dict(PARAMS, companion='insert', persist=False), exs({'interface': 'lo'}), facts(nft=CAPTURED))
    assert pl['errors'] == []
    script = pl['steps'][0]['script']
    # lo is accepted by `iif lo accept` in fw input: the companion there is not needed -> removed
    assert script.startswith('delete table inet nfct_notrack\ntable inet nfct_notrack {')
    assert script.endswith('delete rule inet fw input handle 2\n')
    assert pl['drift_report']['companion']['needed'] == []
    assert pl['drift_report']['companion']['extra'] == ['nftables inet fw input: rule handle 2']
    gone = np.plan(dict(PARAMS, state='absent', persist=False), [], facts(nft=CAPTURED))
    assert gone['steps'][0]['script'] == 'delete table inet nfct_notrack\ndelete rule inet fw input handle 2\n'
    # undo of that step, from the live ruleset after it: our table and the companion come back
    undo = np.undo_script(gone['steps'][0], '{"nftables": [{"table": {"family": "inet", "name": "fw"}}]}')
    assert undo.startswith('table inet nfct_notrack {') and undo.endswith(n.companion_nft_statement(('inet', 'fw', 'input')) + '\n')


def test_backend_not_installed_and_control_connection():
    f = facts()
    pl = np.plan(dict(PARAMS, backend='nftables'), exs({'interface': 'lo'}), f)
    assert pl['errors'] == ['backend: nftables is not installed here (no nft command); installed: iptables-legacy, iptables-nft']
    assert pl['steps'] == [] and pl['drift_report'] is None
    sessions = [{'client': '192.0.2.9', 'client_port': 50000, 'server': '192.0.2.1', 'server_port': 22, 'source': 'x'}]
    f = facts(sessions=sessions)
    pl = np.plan(dict(PARAMS), exs({'address': '192.0.2.0/24'}, {'protocol': 'tcp', 'port': 22}), f)
    assert len(pl['errors']) == 2 and all('allow_control_connection' in e for e in pl['errors'])
    pl = np.plan(dict(PARAMS, allow_control_connection=True), exs({'protocol': 'tcp', 'port': 22}), f)
    assert pl['errors'] == [] and pl['warnings'][0].startswith('control connection: exemptions[0] (tcp/22 inbound) '
                                                               'would match port tcp/22 (SSH)')


def test_ipv6_rules_without_ip6tables():
    f = facts()
    f['tools']['iptables-legacy']['ipv6'] = False
    f['tools']['iptables-nft'] = {'ipv4': False, 'ipv6': False}
    del f['ipt'][('iptables-legacy', 'ipv6')]
    pl = np.plan(dict(PARAMS, persist=False), exs({'address': '2001:db8::/32'}), f)
    assert pl['errors'] == ['exemptions: ipv6 rules need ip6tables, which is not installed here (backend iptables-legacy)']
    pl = np.plan(dict(PARAMS, persist=False), exs({'interface': 'lo'}), f)
    assert pl['errors'] == [] and 'ip6tables is not installed: exemptions apply to IPv4 only' in pl['warnings']


def test_undo_of_an_iptables_step():
    f = facts(LEGACY_FW, '')
    pl = np.plan(dict(PARAMS, persist=False), exs({'interface': 'lo'}), f)
    after = apply_restore(LEGACY_FW, pl['steps'][0]['script'])
    back = apply_restore(after, np.undo_script(pl['steps'][0], after))
    assert without_empty(back) == apply_restore(LEGACY_FW, '')
