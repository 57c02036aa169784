# -*- coding: utf-8 -*-
"""_users on real outputs of real tools (tests/unit/fixtures/users, each case's README says how
it was captured): ufw and firewalld as they write their rulesets, nft NAT, iptables-legacy and
iptables-nft with conntrack matches (IPv4 and IPv6), Docker's, netavark's, libvirt's,
kube-proxy's, Calico's and Cilium's published layouts loaded for real and read back, a
`conntrack -E` listener next to `nft monitor`, our own NOTRACK objects, and this machine's
built-in nf_conntrack."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.users import verdict as u

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'users')
SAVES = [(fw, fam) for fw in ('iptables-legacy', 'iptables-nft') for fam in ('ipv4', 'ipv6')]


def read(case, name):
    path = os.path.join(FIXTURES, case, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def parse_fds(text):
    """fds.txt ('PID COMM CMDLINE' then `ls -l /proc/PID/fd` socket lines) -> (processes, {inode: [pid]})."""
    procs, sockets, pid = [], {}, None
    for line in (text or '').splitlines():
        m = re.match(r'^(\d+) (\S+) ?(.*)$', line)
        if m:
            pid = int(m.group(1))
            procs.append({'pid': pid, 'comm': m.group(2), 'args': m.group(3).split(), 'netns': None})
            continue
        m = re.search(r'socket:\[(\d+)\]', line)
        if m and pid is not None:
            sockets.setdefault(int(m.group(1)), []).append(pid)
    return procs, sockets


def observe(case, **kw):
    procs, sockets = parse_fds(read(case, 'fds.txt'))
    obs = {'kernel': {'type': 'builtin', 'loaded': True, 'modules': {}}, 'initial_netns': False,
           'nft': read(case, 'nft.json'),
           'ipt': dict((k, read(case, '%s-%s.save' % k)) for k in SAVES if read(case, '%s-%s.save' % k)),
           'processes': procs, 'socket_pids': sockets, 'units': {}, 'files': {},
           'netlink': read(case, 'netlink.txt') or '', 'namespaces': [], 'ipvs': None, 'ipvs_conntrack': None}
    obs.update(kw)
    return u.analyze(obs)


def user(report, uid):
    return [x for x in report['users'] if x['id'] == uid][0]


# case -> (blockers, {user id: a fragment its evidence must contain})
CASES = {
    'clean': ([], {}),
    'ufw': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv6:filter', 'service:ufw'],
            {'rules:iptables-nft:ipv4:filter': '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'}),
    'firewalld': (['rules:nftables:inet:firewalld', 'service:firewalld'],
                  {'rules:nftables:inet:firewalld': 'ct state { established, related } accept'}),
    'nft-nat': (['rules:nftables:inet:filter_demo', 'rules:nftables:inet:nat_demo'],
                {'rules:nftables:inet:nat_demo': 'masquerade', 'rules:nftables:inet:filter_demo': 'ct state'}),
    'iptables-legacy-conntrack': (['rules:iptables-legacy:%s:%s' % (f, t) for f in ('ipv4', 'ipv6')
                                   for t in ('filter', 'mangle', 'nat', 'raw')],
                                  {'rules:iptables-legacy:ipv4:nat': 'MASQUERADE',
                                   'rules:iptables-legacy:ipv6:filter': '-m conntrack',
                                   'rules:iptables-legacy:ipv4:mangle': 'CONNMARK'}),
    'iptables-nft-conntrack': (['rules:iptables-nft:%s:%s' % (f, t) for f in ('ipv4', 'ipv6')
                                for t in ('filter', 'mangle', 'nat', 'raw')],
                               {'rules:iptables-nft:ipv4:filter': '-m state --state NEW'}),
    'docker-layout': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'service:docker'],
                      {'rules:iptables-nft:ipv4:nat': '-j DNAT --to-destination 172.17.0.2:8080',
                       'service:docker': 'rules in iptables-nft ipv4 nat'}),
    'podman-netavark-iptables': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'service:podman'],
                                 {'rules:iptables-nft:ipv4:filter': 'NETAVARK_FORWARD'}),
    'podman-netavark-nftables': (['rules:nftables:inet:netavark', 'service:podman'],
                                 {'rules:nftables:inet:netavark': 'ct state invalid drop'}),
    'kube-proxy-iptables': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'service:kube-proxy'],
                            {'rules:iptables-nft:ipv4:nat': 'KUBE-'}),
    'kube-proxy-nftables': (['rules:nftables:ip6:kube-proxy', 'rules:nftables:ip:kube-proxy', 'service:kube-proxy'],
                            {'rules:nftables:ip:kube-proxy': 'dnat'}),
    'libvirt-iptables': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'rules:iptables-nft:ipv6:nat',
                          'service:libvirt'], {'rules:iptables-nft:ipv4:nat': 'MASQUERADE'}),
    'libvirt-nftables': (['rules:nftables:ip6:libvirt_network', 'rules:nftables:ip:libvirt_network', 'service:libvirt'],
                         {'rules:nftables:ip:libvirt_network': 'masquerade'}),
    'calico': (['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'rules:iptables-nft:ipv6:nat',
                'service:calico'], {'rules:iptables-nft:ipv4:filter': 'cali-'}),
    'cilium': (['rules:iptables-nft:ipv4:nat', 'rules:iptables-nft:ipv4:raw', 'rules:iptables-nft:ipv6:raw',
                'service:cilium'], {'rules:iptables-nft:ipv4:raw': 'CT --notrack'}),
    'conntrack-listener': (['listener:conntrack'], {'listener:conntrack': 'conntrack -E'}),
    'our-notrack': ([], {}),
    'our-notrack-legacy': ([], {}),
}


def test_every_captured_case_is_in_the_table():
    cases = sorted(d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d)) and d != 'host-builtin')
    assert cases == sorted(CASES)


@pytest.mark.parametrize('case', sorted(CASES))
def test_captured_case(case):
    blockers, evidence = CASES[case]
    r = observe(case)
    assert sorted(r['blockers']) == sorted(blockers), r['summary']
    assert r['can_disable'] is (not blockers)
    for uid, fragment in evidence.items():
        ev = ' | '.join(user(r, uid)['evidence'])
        assert fragment in ev, (uid, ev)
    # every user found says why, and our own objects never show up among them
    assert all(x['why'] and x['evidence'] for x in r['users'])
    assert not any('nfct' in x['id'].lower() or 'NFCT-' in ' '.join(x['evidence']) for x in r['users'])


@pytest.mark.parametrize('case', ['our-notrack', 'our-notrack-legacy'])
def test_our_objects_are_listed_apart(case):
    r = observe(case)
    assert r['ours'] and r['can_disable'] and r['untrack_all'] is False
    assert all('nfct_notrack' in o or 'NFCT-' in o for o in r['ours'])


def test_rule_owners_name_the_tool():
    for case, owner in (('ufw', 'ufw'), ('firewalld', 'firewalld'), ('docker-layout', 'docker'),
                        ('podman-netavark-nftables', 'podman'), ('kube-proxy-iptables', 'kube-proxy'),
                        ('libvirt-nftables', 'libvirt'), ('calico', 'calico'), ('cilium', 'cilium')):
        r = observe(case)
        owners = set(o for x in r['users'] if x['kind'] == 'rules' for o in x['owners'])
        assert owner in owners, (case, owners)


def test_nft_monitor_is_not_a_conntrack_listener():
    # the capture has both: conntrack -E (groups 0x7) and nft monitor (0x140, nftables events)
    inodes = u.ct_listener_inodes(read('conntrack-listener', 'netlink.txt'))
    procs, sockets = parse_fds(read('conntrack-listener', 'fds.txt'))
    owners = set(p['comm'] for p in procs for ino in inodes if p['pid'] in sockets.get(ino, []))
    assert owners == {'conntrack'}


def test_cilium_notrack_rules_do_not_need_conntrack_but_block():
    r = observe('cilium')
    raw = user(r, 'rules:iptables-nft:ipv4:raw')
    assert raw['needs'] is False and raw['blocking'] is True


def test_this_machines_builtin_nf_conntrack():
    # /sys/module/nf_conntrack has only parameters/: no holders, no refcnt, no /proc/modules
    listing = read('host-builtin', 'ls-la-sys-module-nf_conntrack.txt')
    assert 'parameters' in listing and 'holders' not in listing and 'refcnt' not in listing
    r = observe('clean')
    assert r['kernel'] == 'builtin' and r['unload_order'] == [] and r['reload_triggers'] == []
