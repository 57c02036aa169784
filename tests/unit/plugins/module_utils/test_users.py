# -*- coding: utf-8 -*-
"""_users and _users_rules: which rules, modules, services, listeners and namespaces use
connection tracking, and the verdict. Table-driven over synthetic observations; the captured
real outputs of each tool are in test_users_captured.py, the real hosts in tests/containers
and the VM scenario."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.users import rules as ur, verdict as u


def nft(*objs):
    return json.dumps({'nftables': [{'metainfo': {'version': '1.0.6'}}] + list(objs)})


def table(family, name):
    return {'table': {'family': family, 'name': name, 'handle': 1}}


def chain(family, tname, name, **kw):
    c = {'family': family, 'table': tname, 'name': name, 'handle': 2}
    c.update(kw)
    return {'chain': c}


def rule(family, tname, cname, *expr):
    return {'rule': {'family': family, 'table': tname, 'chain': cname, 'handle': 3, 'expr': list(expr)}}


CT_STATE = {'match': {'op': 'in', 'left': {'ct': {'key': 'state'}}, 'right': ['established', 'related']}}
ACCEPT = {'accept': None}


@pytest.mark.parametrize('expr, uses', [
    ([CT_STATE, ACCEPT], {'ct_state'}),
    ([{'masquerade': None}], {'nat'}),
    ([{'snat': {'addr': '192.0.2.1'}}], {'nat'}),
    ([{'dnat': {'addr': '10.0.0.2', 'port': 80}}], {'nat'}),
    ([{'redirect': {'port': 8080}}], {'nat'}),
    ([{'notrack': None}], {'notrack'}),
    ([{'flow': {'op': 'add', 'flowtable': '@ft'}}], {'flowtable'}),
    ([{'mangle': {'key': {'ct': {'key': 'mark'}}, 'value': 1}}], {'ct_mark'}),
    ([{'ct helper': 'ftp-standard'}], {'ct_helper'}),
    ([{'ct count': {'val': 10}}], {'ct_count'}),
    ([{'xt': {'type': 'match', 'name': 'conntrack'}}], {'ct_state'}),
    ([{'xt': {'type': 'target', 'name': 'CT'}}], {'ct_template'}),
    ([{'match': {'op': '==', 'left': {'payload': {'protocol': 'tcp', 'field': 'dport'}}, 'right': 22}}, ACCEPT], set()),
    ([{'match': {'op': '==', 'left': {'meta': {'key': 'iifname'}}, 'right': 'lo'}}, ACCEPT], set()),
])
def test_nft_rule_uses(expr, uses):
    assert ur.nft_rule_uses(expr) == uses


@pytest.mark.parametrize('line, uses', [
    ('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', {'ct_state'}),
    ('-A INPUT -m state --state NEW -p tcp --dport 22 -j ACCEPT', {'ct_state'}),
    ('-A PREROUTING -m connmark --mark 0x1 -j ACCEPT', {'ct_mark'}),
    ('-A PREROUTING -j CONNMARK --set-xmark 0x2/0xffffffff', {'ct_mark'}),
    ('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE', {'nat'}),
    ('-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80', {'nat'}),
    ('-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080', {'nat'}),
    ('-A PREROUTING -i lo -j CT --notrack', {'notrack'}),
    ('-A PREROUTING -p tcp --dport 21 -j CT --helper ftp', {'ct_template'}),
    ('-A PREROUTING -i lo -j NOTRACK', {'notrack'}),
    ('-A INPUT -p tcp --syn -m connlimit --connlimit-above 10 -j REJECT', {'ct_count'}),
    ('-A INPUT -p tcp --dport 22 -j ACCEPT', set()),
    ('-A INPUT -s 10.0.0.0/8 -j DROP', set()),
    ('-A INPUT -m comment --comment "-m conntrack in a comment" -j ACCEPT', set()),
])
def test_ipt_rule_uses(line, uses):
    assert ur.ipt_rule_uses(line) == uses


@pytest.mark.parametrize('name, owner', [
    ('DOCKER', 'docker'), ('DOCKER-USER', 'docker'), ('DOCKER-ISOLATION-STAGE-1', 'docker'),
    ('NETAVARK_FORWARD', 'podman'), ('NETAVARK-HOSTPORT-DNAT', 'podman'), ('CNI-HOSTPORT-DNAT', 'cni'),
    ('LIBVIRT_PRT', 'libvirt'), ('KUBE-SERVICES', 'kube-proxy'), ('cali-FORWARD', 'calico'),
    ('CILIUM_POST_nat', 'cilium'), ('ufw-before-input', 'ufw'), ('ufw6-user-input', 'ufw'),
    ('IN_public_allow', 'firewalld'), ('INPUT_direct', 'firewalld'), ('f2b-sshd', 'fail2ban'),
    ('INPUT', None), ('MYCHAIN', None), ('DOCKERFILE', None),
])
def test_owner_of_chain(name, owner):
    assert ur.owner_of_chain(name) == owner


def test_nft_findings_nat_chain_even_empty_and_ours_apart():
    text = nft(table('ip', 'nat'), chain('ip', 'nat', 'postrouting', type='nat', hook='postrouting', prio=100),
               table('inet', 'nfct_notrack'),
               chain('inet', 'nfct_notrack', 'prerouting', type='filter', hook='prerouting', prio=-300),
               rule('inet', 'nfct_notrack', 'prerouting', {'match': {'op': '==', 'left': {'meta': {'key': 'iif'}},
                                                                     'right': 'lo'}}, {'notrack': None}),
               table('inet', 'filter'), chain('inet', 'filter', 'input', type='filter', hook='input', prio=0),
               rule('inet', 'filter', 'input', CT_STATE, ACCEPT),
               {'flowtable': {'family': 'inet', 'table': 'filter', 'name': 'ft', 'hook': 'ingress', 'prio': 0}})
    fs = ur.nft_findings(text)
    nat = [f for f in fs if f['table'] == 'nat']
    assert len(nat) == 1 and nat[0]['uses'] == ['nat_chain'] and nat[0]['needs']
    ours = [f for f in fs if f['ours']]
    assert len(ours) == 1 and ours[0]['uses'] == ['notrack'] and not ours[0]['needs']
    assert [f['uses'] for f in fs if f['table'] == 'filter'] == [['ct_state'], ['flowtable']]


def test_iptables_nft_tables_in_nft_json_are_left_to_iptables_save():
    text = nft(table('ip', 'filter'), chain('ip', 'filter', 'INPUT', type='filter', hook='input', prio=0),
               rule('ip', 'filter', 'INPUT', {'xt': {'type': 'match', 'name': 'conntrack'}}, ACCEPT))
    assert ur.nft_findings(text) == []


def test_ipt_findings_empty_nat_table_is_a_finding():
    save = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'
    fs = ur.ipt_findings(save, 'iptables-legacy', 'ipv4')
    assert [(f['table'], f['uses'], f['needs']) for f in fs] == [('nat', ['nat_chain'], True)]
    assert fs[0]['text'].startswith('table nat (4 chains, 0 rules; ')


def test_ipt_findings_our_chains_are_ours():
    save = ('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:NFCT-NOTRACK-PRE - [0:0]\n'
            '-A PREROUTING -j NFCT-NOTRACK-PRE\n-A NFCT-NOTRACK-PRE -i lo -j CT --notrack\nCOMMIT\n'
            '*filter\n:INPUT ACCEPT [0:0]\n:NFCT-UNTRACKED - [0:0]\n'
            '-A NFCT-UNTRACKED -m conntrack --ctstate UNTRACKED -j ACCEPT\n'
            '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n')
    fs = ur.ipt_findings(save, 'iptables-nft', 'ipv4')
    assert sorted((f['chain'], f['ours']) for f in fs) == [('INPUT', False), ('NFCT-NOTRACK-PRE', True),
                                                           ('NFCT-UNTRACKED', True)]


@pytest.mark.parametrize('text, uses', [
    ('table inet filter {\n chain input {\n  ct state established,related accept\n }\n}\n', [['ct']]),
    ('table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "eth0" masquerade\n }\n}',
     [['nat_chain'], ['nat']]),
    ('# ct state established accept\ntable inet f {\n}\n', []),
    ('table inet raw {\n chain pre {\n  iif "lo" notrack\n }\n}\n', [['notrack']]),
    ('table inet f {\n chain input {\n  tcp dport 22 accept\n }\n}\n', []),
])
def test_nft_conf_findings(text, uses):
    assert [f['uses'] for f in ur.nft_conf_findings(text, '/etc/nftables.conf')] == uses


NETLINK = '''sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   1          00000000 0        0        0     2        0        100
0000000000000000 12  4242       00000007 0        0        0     2        0        3689050
0000000000000000 12  4243       00000040 0        0        0     2        0        3689051
0000000000000000 12  0          00000000 0        0        0     2        0        3689052
'''


def test_ct_listener_inodes_only_conntrack_groups():
    # 0x7: conntrack new/update/destroy (conntrack -E); 0x40: nftables events (nft monitor)
    assert u.ct_listener_inodes(NETLINK) == [3689050]


def test_parse_systemctl_show():
    text = ('Id=firewalld.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n'
            'Id=docker.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n\n'
            'Id=ufw.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n')
    units = u.parse_systemctl_show(text)
    assert units['firewalld.service'] == {'load': 'loaded', 'active': 'active', 'enabled': True}
    assert units['docker.service']['load'] == 'not-found' and not units['docker.service']['enabled']
    assert units['ufw.service']['enabled']


MODS = {
    'nf_conntrack': {'refcnt': 4, 'holders': ['nf_nat', 'nft_ct', 'xt_conntrack']},
    'nf_nat': {'refcnt': 1, 'holders': ['nft_chain_nat']},
    'nft_chain_nat': {'refcnt': 0, 'holders': []},
    'nft_ct': {'refcnt': 0, 'holders': []},
    'xt_conntrack': {'refcnt': 0, 'holders': []},
}


def test_module_closure_unloads_holders_first():
    order = u.module_closure(MODS)
    assert order[-1] == 'nf_conntrack'
    assert order.index('nft_chain_nat') < order.index('nf_nat')
    assert set(order) == set(MODS)


def obs(**kw):
    base = {'kernel': {'type': 'builtin', 'loaded': True, 'modules': {}}, 'initial_netns': True, 'nft': None,
            'ipt': {}, 'processes': [], 'units': {}, 'files': {}, 'netlink': '', 'socket_pids': {},
            'namespaces': [], 'ipvs': None, 'ipvs_conntrack': None}
    base.update(kw)
    return base


def ids(report, blocking=True):
    return [x['id'] for x in report['users'] if x['blocking'] == blocking]


def test_clean_builtin_host_can_disable():
    r = u.analyze(obs())
    assert r['can_disable'] and r['blockers'] == [] and r['users'] == []
    assert r['summary'][0] == 'nf_conntrack: built into the kernel (cannot be unloaded), loaded'
    assert r['unload_order'] == [] and r['reload_triggers'] == []


def test_idle_holders_on_a_module_kernel_do_not_block_and_unload_in_order():
    r = u.analyze(obs(kernel={'type': 'module', 'loaded': True, 'modules': MODS}))
    assert r['can_disable'], r['summary']
    assert r['unload_order'][-1] == 'nf_conntrack' and len(r['unload_order']) == 5
    assert r['reload_triggers'] and r['loaded_by'] == []


def test_module_in_use_by_something_unidentified_blocks():
    mods = dict(MODS, nft_ct={'refcnt': 2, 'holders': []})
    r = u.analyze(obs(kernel={'type': 'module', 'loaded': True, 'modules': mods}))
    assert r['blockers'] == ['module:nft_ct']
    assert 'not identified' in r['users'][[x['id'] for x in r['users']].index('module:nft_ct')]['why']
    assert r['loaded_by'] == ['nft_ct (nftables ct expressions (ct state, ct mark, notrack, ct helper)): 2 reference(s)']


def test_module_in_use_explained_by_a_rule_lists_the_rule_as_the_blocker():
    mods = dict(MODS, nft_ct={'refcnt': 1, 'holders': []})
    text = nft(table('inet', 'filter'), chain('inet', 'filter', 'input', type='filter', hook='input', prio=0),
               rule('inet', 'filter', 'input', CT_STATE, ACCEPT))
    r = u.analyze(obs(kernel={'type': 'module', 'loaded': True, 'modules': mods}, nft=text))
    assert r['blockers'] == ['rules:nftables:inet:filter']


def test_module_in_use_by_our_notrack_only_does_not_block():
    mods = dict(MODS, nft_ct={'refcnt': 1, 'holders': []})
    text = nft(table('inet', 'nfct_notrack'),
               chain('inet', 'nfct_notrack', 'output', type='filter', hook='output', prio=-300),
               rule('inet', 'nfct_notrack', 'output', {'notrack': None}))
    r = u.analyze(obs(kernel={'type': 'module', 'loaded': True, 'modules': mods}, nft=text))
    assert r['can_disable'] and len(r['ours']) == 1


def test_foreign_notrack_rules_do_not_need_conntrack_but_block():
    save = '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i lo -j CT --notrack\nCOMMIT\n'
    r = u.analyze(obs(ipt={('iptables-nft', 'ipv4'): save}))
    user = r['users'][0]
    assert user['id'] == 'rules:iptables-nft:ipv4:raw' and user['needs'] is False and user['blocking'] is True


@pytest.mark.parametrize('procs, units, files, blocker', [
    ([{'pid': 812, 'comm': 'dockerd', 'args': ['/usr/bin/dockerd']}], {}, {}, 'service:docker'),
    ([], {'docker.service': {'load': 'loaded', 'active': 'inactive', 'enabled': True}}, {}, 'service:docker'),
    ([{'pid': 5, 'comm': 'firewalld', 'args': ['/usr/bin/python3', '/usr/sbin/firewalld']}], {}, {},
     'service:firewalld'),
    ([], {'ufw.service': {'load': 'loaded', 'active': 'active', 'enabled': True}},
     {'/etc/ufw/ufw.conf': 'ENABLED=yes\n'}, 'service:ufw'),
    ([{'pid': 7, 'comm': 'conntrackd', 'args': ['conntrackd', '-d']}], {}, {}, 'service:conntrackd'),
    ([{'pid': 8, 'comm': 'keepalived', 'args': ['keepalived']}], {},
     {'/etc/keepalived/keepalived.conf': 'notify_master "/etc/conntrackd/primary-backup.sh primary"\n'},
     'service:keepalived'),
    ([{'pid': 9, 'comm': 'kube-proxy', 'args': ['kube-proxy', '--proxy-mode=ipvs']}], {}, {}, 'service:kube-proxy'),
])
def test_services_that_need_conntrack_block(procs, units, files, blocker):
    r = u.analyze(obs(processes=procs, units=units, files=files))
    assert blocker in r['blockers'], r['summary']
    user = [x for x in r['users'] if x['id'] == blocker][0]
    assert user['evidence'] and user['needs'] is True


@pytest.mark.parametrize('procs, units, files, listed', [
    # ufw installed (unit enabled, as Debian ships it) but ENABLED=no: listed, not blocking
    ([], {'ufw.service': {'load': 'loaded', 'active': 'active', 'enabled': True}},
     {'/etc/ufw/ufw.conf': 'ENABLED=no\n'}, 'service:ufw'),
    # keepalived without conntrackd
    ([{'pid': 8, 'comm': 'keepalived', 'args': ['keepalived']}], {},
     {'/etc/keepalived/keepalived.conf': 'vrrp_instance VI_1 {\n}\n'}, 'service:keepalived'),
    # podman's conmon with --network none containers: no NAT rules
    ([{'pid': 10, 'comm': 'conmon', 'args': ['/usr/bin/conmon']}], {}, {}, 'service:podman'),
    # libvirtd without NAT networks
    ([{'pid': 11, 'comm': 'libvirtd', 'args': ['/usr/sbin/libvirtd']}], {}, {}, 'service:libvirt'),
])
def test_services_present_but_not_needing_conntrack_are_listed_not_blocking(procs, units, files, listed):
    r = u.analyze(obs(processes=procs, units=units, files=files))
    assert r['can_disable'], r['summary']
    user = [x for x in r['users'] if x['id'] == listed][0]
    assert user['needs'] is False and user['blocking'] is False and user['why']


def test_docker_chains_without_the_daemon_name_docker_as_owner():
    save = ('*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n'
            '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n')
    r = u.analyze(obs(ipt={('iptables-nft', 'ipv4'): save}))
    assert set(r['blockers']) == {'rules:iptables-nft:ipv4:nat', 'service:docker'}
    docker = [x for x in r['users'] if x['id'] == 'service:docker'][0]
    assert docker['evidence'] == ['rules in iptables-nft ipv4 nat']


def test_boot_loaders_with_conntrack_rules_block():
    units = {'nftables.service': {'load': 'loaded', 'active': 'active', 'enabled': True},
             'netfilter-persistent.service': {'load': 'loaded', 'active': 'active', 'enabled': False}}
    files = {'/etc/nftables.conf': 'table inet filter {\n chain input {\n  ct state established accept\n }\n}\n',
             '/etc/iptables/rules.v4': '*filter\n-A INPUT -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n'}
    r = u.analyze(obs(units=units, files=files))
    # netfilter-persistent is not enabled: its file does not come back at boot
    assert r['blockers'] == ['boot:nftables.service']
    assert r['users'][0]['evidence'] == ['/etc/nftables.conf:3: ct state established accept']


def test_listeners_and_namespaces():
    procs = [{'pid': 4242, 'comm': 'conntrack', 'args': ['conntrack', '-E']}]
    spaces = [{'inode': 1, 'names': ['blue'], 'pids': [], 'comms': [], 'count': 5},
              {'inode': 2, 'names': [], 'pids': [77], 'comms': ['nginx'], 'count': 0},
              {'inode': 3, 'names': [], 'pids': [78], 'comms': ['sleep'], 'count': None}]
    r = u.analyze(obs(processes=procs, netlink=NETLINK, socket_pids={3689050: [4242]}, namespaces=spaces))
    assert r['blockers'] == ['listener:conntrack', 'namespace:1', 'namespace:3']
    listener = r['users'][0]
    assert listener['evidence'] == ['pid 4242 (conntrack -E): netlink socket 3689050 subscribed to conntrack events']
    assert [x['needs'] for x in r['users'][1:]] == [True, False, None]


def test_ipvs():
    text = ('IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n'
            '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  0A600001:01BB rr\n'
            '  -> 0A000105:1A0A      Masq    1      0          0\n')
    r = u.analyze(obs(ipvs=text, ipvs_conntrack=1))
    assert r['blockers'] == ['service:ipvs']
    r = u.analyze(obs(ipvs=text, ipvs_conntrack=0))
    assert r['can_disable'] and r['users'][0]['needs'] is False


def test_ignore_patterns_keep_the_user_listed():
    procs = [{'pid': 812, 'comm': 'dockerd', 'args': ['/usr/bin/dockerd']}]
    save = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE\nCOMMIT\n'
    r = u.analyze(obs(processes=procs, ipt={('iptables-legacy', 'ipv4'): save}), ignore=['service:docker'])
    assert r['blockers'] == ['rules:iptables-legacy:ipv4:nat'] and r['ignored'] == ['service:docker']
    r = u.analyze(obs(processes=procs, ipt={('iptables-legacy', 'ipv4'): save}), ignore=['*'])
    assert r['can_disable'] and len(r['ignored']) == 2
    assert all(x.get('ignored') for x in r['users'])


def test_not_the_initial_netns_says_so():
    r = u.analyze(obs(initial_netns=False))
    assert r['scope'].startswith('this network namespace only')
    assert any(line.startswith('scope: ') for line in r['summary'])


def test_evidence_is_capped():
    save = '*filter\n' + ''.join('-A INPUT -p tcp --dport %d -m state --state NEW -j ACCEPT\n' % p
                                 for p in range(20)) + 'COMMIT\n'
    r = u.analyze(obs(ipt={('iptables-nft', 'ipv4'): save}))
    ev = r['users'][0]['evidence']
    assert len(ev) == u.EVIDENCE_MAX + 1 and ev[-1] == '... and 12 more'


def test_a_native_nft_table_named_like_an_iptables_one_is_counted_once():
    # `table ip nat` written by hand: iptables-nft-save lists it as well (found on a real container)
    text = nft(table('ip', 'nat'), chain('ip', 'nat', 'post', type='nat', hook='postrouting', prio=100),
               rule('ip', 'nat', 'post', {'masquerade': None}))
    save = '*nat\n:post - [0:0]\n-A post -j MASQUERADE\nCOMMIT\n'
    r = u.analyze(obs(nft=text, ipt={('iptables-nft', 'ipv4'): save}))
    assert r['blockers'] == ['rules:nftables:ip:nat']


def test_our_include_line_in_nftables_conf_is_not_a_user():
    # found on a real container: the include of our nfct-notrack.nft matched "notrack"
    units = {'nftables.service': {'load': 'loaded', 'active': 'active', 'enabled': True}}
    files = {'/etc/nftables.conf': '#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n'
                                   '# Added by nfct.tuning (conntrack_notrack): NOTRACK exemptions\n'
                                   'include "/etc/nftables.d/nfct-notrack.nft"\n'}
    r = u.analyze(obs(units=units, files=files))
    assert r['can_disable'] and r['users'] == []


@pytest.mark.parametrize('procs, case, mode', [
    ([{'pid': 9, 'comm': 'kube-proxy', 'args': ['kube-proxy', '--proxy-mode=ipvs']}], None, 'ipvs (--proxy-mode)'),
    ([{'pid': 9, 'comm': 'kube-proxy', 'args': ['kube-proxy', '--proxy-mode', 'nftables']}], None,
     'nftables (--proxy-mode)'),
    ([], 'nft', 'nftables (its nft tables)'),
    ([], 'ipt', 'iptables (its KUBE-* chains)'),
])
def test_kube_proxy_mode(procs, case, mode):
    kw = {}
    if case == 'nft':
        kw['nft'] = nft(table('ip', 'kube-proxy'), chain('ip', 'kube-proxy', 'nat-output', type='nat', hook='output',
                                                         prio=-100))
    elif case == 'ipt':
        kw['ipt'] = {('iptables-nft', 'ipv4'): '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SVC-X -j KUBE-SEP-Y\n'
                                               '-A KUBE-SEP-Y -p tcp -j DNAT --to-destination 10.0.0.2:80\nCOMMIT\n'}
    r = u.analyze(obs(processes=procs, **kw))
    assert [x for x in r['users'] if x['id'] == 'service:kube-proxy'][0]['evidence'][0] == 'mode: ' + mode
