# -*- coding: utf-8 -*-
"""_notrack: validation of the exemption list, the rules it becomes and their nft / iptables
forms (checked against what nft 1.0.6 and iptables 1.8.9 print back, see tests/netns), the
control-connection guard and the backend decision table."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as n


def item(**kw):
    base = dict((k, None) for k in n.FIELDS)
    base.update(kw)
    return base


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize('given, expected', [
    (item(interface='lo'), {'interface': 'lo', 'protocol': None, 'port': None, 'direction': None, 'family': None}),
    (item(protocol='TCP', port=443), {'protocol': 'tcp', 'port': 443, 'direction': 'inbound'}),
    (item(protocol='udp', port='53', direction='outbound'), {'port': 53, 'direction': 'outbound'}),
    (item(address='10.0.0.0/8'), {'address': '10.0.0.0/8', 'family': 'ipv4'}),
    (item(address='2001:DB8::1'), {'address': '2001:db8::1/128', 'family': 'ipv6'}),
    (item(address='192.0.2.1', family='ipv4'), {'address': '192.0.2.1/32', 'family': 'ipv4'}),
    (item(protocol='udp'), {'protocol': 'udp', 'port': None, 'direction': None}),
    ({'interface': 'eth0', 'family': 'ipv6'}, {'interface': 'eth0', 'family': 'ipv6'}),
])
def test_validate_normalizes(given, expected):
    ex = n.validate_exemptions([given], interfaces=['lo', 'eth0'])[0]
    assert ex['index'] == 0
    for k, v in expected.items():
        assert ex[k] == v, k


@pytest.mark.parametrize('items, interfaces, message', [
    ([item(interface='eth9')], ['lo', 'eth0'],
     "exemptions[0].interface: 'eth9' is not an interface on this host (present: eth0, lo); set interfaces_must_exist: "
     "false for an interface that appears later"),
    ([item(interface='lo'), item(interface='a' * 16)], None,
     "exemptions[1].interface: '" + 'a' * 16 + "' is not a valid interface name (1-15 letters"),
    ([item(interface='eth 0')], None, "exemptions[0].interface: 'eth 0' is not a valid interface name"),
    ([item(interface='..')], None, "exemptions[0].interface: '..' is not a valid interface name"),
    ([item(interface='lo;reboot')], None, "exemptions[0].interface: 'lo;reboot' is not a valid interface name"),
    ([item(interface='eth0$(id)')], None, "exemptions[0].interface: 'eth0$(id)' is not a valid interface name"),
    ([item(interface='eth`x`')], None, "exemptions[0].interface: 'eth`x`' is not a valid interface name"),
    ([item(protocol='tcp', port=0)], None, 'exemptions[0].port: 0 is outside the allowed range 1-65535'),
    ([item(protocol='tcp', port=65536)], None, 'exemptions[0].port: 65536 is outside the allowed range 1-65535'),
    ([item(protocol='tcp', port=-1)], None, 'exemptions[0].port: -1 is outside the allowed range 1-65535'),
    ([item(protocol='tcp', port='http')], None, "exemptions[0].port: expected an integer 1-65535, got 'http'"),
    ([item(protocol='tcp', port=True)], None, 'exemptions[0].port: expected an integer 1-65535, got True'),
    ([item(port=80)], None, 'exemptions[0].protocol: a port needs a protocol (tcp or udp)'),
    ([item(protocol='icmp')], None, "exemptions[0].protocol: 'icmp' is not supported; allowed: tcp, udp"),
    ([item(interface='lo', direction='inbound')], None, 'exemptions[0].direction: only meaningful with a port'),
    ([item(protocol='tcp', port=1, direction='up')], None, "exemptions[0].direction: 'up' is not allowed; allowed: inbound, outbound"),
    ([item(address='10.0.0.0/33')], None, "exemptions[0].address: '10.0.0.0/33' is not an IPv4/IPv6 address or CIDR network"),
    ([item(address='not-an-ip')], None, "exemptions[0].address: 'not-an-ip' is not an IPv4/IPv6 address or CIDR network"),
    ([item(address='10.0.0.1/8')], None, 'exemptions[0].address: 10.0.0.1/8 has host bits set; the network is 10.0.0.0/8'),
    ([item(address='2001:db8::1/32')], None, 'exemptions[0].address: 2001:db8::1/32 has host bits set; the network is 2001:db8::/32'),
    ([item(address='10.0.0.0/8', family='ipv6')], None,
     'exemptions[0].family: ipv6 does not match address 10.0.0.0/8 (an IPv4 network)'),
    ([item(interface='lo', family='ipv5')], None, "exemptions[0].family: 'ipv5' is not allowed; allowed: ipv4, ipv6"),
    ([item(family='ipv4')], None, 'exemptions[0]: give at least one of interface, protocol (with port), address'),
    ([{'iface': 'lo'}], None, 'exemptions[0]: unknown field(s) iface; allowed: interface, protocol'),
    (['lo'], None, "exemptions[0]: expected a dict with some of interface"),
    ('lo', None, 'exemptions: expected a list of dicts, got str'),
])
def test_validate_errors_name_the_field(items, interfaces, message):
    with pytest.raises(n.NotrackError) as e:
        n.validate_exemptions(items, interfaces)
    assert str(e.value).startswith(message), str(e.value)


def test_describe():
    exs = n.validate_exemptions([item(interface='lo'), item(protocol='tcp', port=443), item(address='10.0.0.0/8'),
                                 item(protocol='udp'), item(interface='eth0', family='ipv6')])
    assert [n.describe(e) for e in exs] == [
        'exemptions[0] (interface lo)', 'exemptions[1] (tcp/443 inbound)', 'exemptions[2] (address 10.0.0.0/8)',
        'exemptions[3] (all udp)', 'exemptions[4] (interface eth0, ipv6)']


# --------------------------------------------------------------------------- rules

def rules_of(*items):
    return n.spec_rules(n.validate_exemptions(list(items)))


def nft(rules):
    return [(r['chain'], n.render_nft_rule(r)) for r in rules]


@pytest.mark.parametrize('given, expected', [
    (item(interface='lo'), [('prerouting', 'iifname "lo" notrack'), ('output', 'oifname "lo" notrack')]),
    (item(protocol='tcp', port=443), [('prerouting', 'tcp dport 443 notrack'), ('output', 'tcp sport 443 notrack')]),
    (item(protocol='udp', port=53, direction='outbound'),
     [('prerouting', 'udp sport 53 notrack'), ('output', 'udp dport 53 notrack')]),
    (item(address='10.0.0.0/8'),
     [('prerouting', 'ip saddr 10.0.0.0/8 notrack'), ('prerouting', 'ip daddr 10.0.0.0/8 notrack'),
      ('output', 'ip saddr 10.0.0.0/8 notrack'), ('output', 'ip daddr 10.0.0.0/8 notrack')]),
    (item(protocol='tcp', port=443, address='2001:db8::/32'),
     [('prerouting', 'ip6 saddr 2001:db8::/32 tcp dport 443 notrack'),
      ('output', 'ip6 daddr 2001:db8::/32 tcp sport 443 notrack')]),
    (item(protocol='udp', port=53, direction='outbound', address='192.0.2.53'),
     [('prerouting', 'ip saddr 192.0.2.53 udp sport 53 notrack'), ('output', 'ip daddr 192.0.2.53 udp dport 53 notrack')]),
    (item(interface='eth0', family='ipv6'),
     [('prerouting', 'meta nfproto ipv6 iifname "eth0" notrack'), ('output', 'meta nfproto ipv6 oifname "eth0" notrack')]),
    (item(protocol='udp'), [('prerouting', 'meta l4proto udp notrack'), ('output', 'meta l4proto udp notrack')]),
])
def test_spec_rules_and_nft_form(given, expected):
    assert nft(rules_of(given)) == expected


def test_spec_rules_dedupe_and_order():
    rules = rules_of(item(interface='lo'), item(protocol='tcp', port=80), item(interface='lo'))
    assert nft(rules) == [('prerouting', 'iifname "lo" notrack'), ('prerouting', 'tcp dport 80 notrack'),
                          ('output', 'oifname "lo" notrack'), ('output', 'tcp sport 80 notrack')]
    assert rules[0]['items'] == [0, 2]


def test_iptables_forms_per_family():
    rules = rules_of(item(interface='lo'), item(protocol='tcp', port=443, address='2001:db8::/32'),
                     item(address='10.0.0.1'), item(interface='eth0', protocol='udp', port=4789, address='10.0.0.0/24'),
                     item(protocol='udp'))
    v4 = n.ipt_rules(rules, 'ipv4')
    v6 = n.ipt_rules(rules, 'ipv6')
    assert v4['NFCT-NOTRACK-PRE'] == [
        '-A NFCT-NOTRACK-PRE -i lo -j CT --notrack',
        '-A NFCT-NOTRACK-PRE -s 10.0.0.1/32 -j CT --notrack',
        '-A NFCT-NOTRACK-PRE -d 10.0.0.1/32 -j CT --notrack',
        '-A NFCT-NOTRACK-PRE -s 10.0.0.0/24 -i eth0 -p udp -m udp --dport 4789 -j CT --notrack',
        '-A NFCT-NOTRACK-PRE -p udp -j CT --notrack']
    assert v4['NFCT-NOTRACK-OUT'][-2] == '-A NFCT-NOTRACK-OUT -d 10.0.0.0/24 -o eth0 -p udp -m udp --sport 4789 -j CT --notrack'
    assert v6['NFCT-NOTRACK-PRE'] == ['-A NFCT-NOTRACK-PRE -i lo -j CT --notrack',
                                      '-A NFCT-NOTRACK-PRE -s 2001:db8::/32 -p tcp -m tcp --dport 443 -j CT --notrack',
                                      '-A NFCT-NOTRACK-PRE -p udp -j CT --notrack']
    assert n.families_used(rules) == {'ipv4', 'ipv6'}


def test_nft_table_rendering():
    text = n.render_nft_table(rules_of(item(interface='lo')), companions=[('inet', 'fw', 'input')])
    assert text == ('table inet nfct_notrack {\n\tchain prerouting {\n'
                    '\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tiifname "lo" notrack\n\t}\n\n'
                    '\tchain output {\n\t\ttype filter hook output priority raw; policy accept;\n'
                    '\t\toifname "lo" notrack\n\t}\n}\n'
                    'insert rule inet fw input ct state untracked accept comment "nfct.tuning notrack companion"\n')


# --------------------------------------------------------------------------- control connection

def test_ssh_connection_and_sshd_ports():
    assert n.parse_ssh_connection('192.0.2.9 51234 198.51.100.1 22') == {
        'client': '192.0.2.9', 'client_port': 51234, 'server': '198.51.100.1', 'server_port': 22,
        'source': 'SSH_CONNECTION'}
    assert n.parse_ssh_connection('::ffff:192.0.2.9 1 ::ffff:10.0.0.1 22')['client'] == '192.0.2.9'
    assert n.parse_ssh_connection('fe80::1%eth0 5 fe80::2%eth0 22')['server'] == 'fe80::2'
    assert n.parse_ssh_connection('garbage') is None and n.parse_ssh_connection(None) is None
    assert n.parse_sshd_ports('port 22\nport 2222\nlistenaddress 0.0.0.0:2200\nlistenaddress [::]:22\n', sshd_t=True) == [22, 2200, 2222]
    conf = '# Port 99\nPort 2022\nInclude /etc/ssh/sshd_config.d/*.conf\nMatch User x\n  Port 3000\n'
    assert n.parse_sshd_ports(conf) == [2022]
    assert n.parse_sshd_ports(None) == []


PROC_TCP = '''  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100000A:0016 0900000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 3 1
'''
PROC_TCP6 = '''  sl  local_address                         remote_address                        st
   0: B80D0120000000000000000001000000:0016 B80D0120000000000000000009000000:D431 01 0
'''


def test_proc_tcp_and_sessions():
    v4 = n.parse_proc_tcp(PROC_TCP, 'ipv4')
    assert v4 == [('10.0.0.1', 22, '10.0.0.9', 50000), ('127.0.0.1', 8080, '127.0.0.1', 40960)]
    v6 = n.parse_proc_tcp(PROC_TCP6, 'ipv6')
    assert v6 == [('2001:db8::1', 22, '2001:db8::9', 54321)]
    assert n._hex_addr('0A000001', 'ipv4', byteorder='big') == '10.0.0.1'
    sessions = n.control_sessions('10.0.0.9 50000 10.0.0.1 22', v4 + v6, [22])
    assert [(s['client'], s['source']) for s in sessions] == [('10.0.0.9', 'SSH_CONNECTION'),
                                                              ('2001:db8::9', 'established socket')]


@pytest.mark.parametrize('given, conflict', [
    (item(protocol='tcp', port=22), 'port tcp/22 (SSH)'),
    (item(protocol='tcp'), 'port tcp/22 (SSH)'),
    (item(protocol='tcp', port=22, interface='eth0'), 'port tcp/22 (SSH)'),
    (item(protocol='tcp', port=22, direction='outbound'), None),
    (item(protocol='udp', port=22), None),
    (item(protocol='tcp', port=443), None),
    (item(interface='lo'), None),
    (item(interface='eth0'), 'the control connection 10.0.0.9:50000 -> 10.0.0.1:22 via eth0'),
    (item(address='10.0.0.0/24'), 'the control connection 10.0.0.9:50000 -> 10.0.0.1:22 via eth0'),
    (item(address='10.0.0.1'), 'the control connection'),
    (item(address='10.0.1.0/24'), None),
    (item(address='2001:db8::/32'), None),
    (item(interface='eth0', family='ipv6'), None),
])
def test_control_conflicts(given, conflict):
    exs = n.validate_exemptions([given])
    sessions = n.control_sessions('10.0.0.9 50000 10.0.0.1 22', [], [22])
    found = n.control_conflicts(n.spec_rules(exs), exs, sessions, [22], iface_of={'10.0.0.9': 'eth0'}.get)
    if conflict is None:
        assert found == []
    else:
        assert len(found) == 1 and conflict in found[0][1], found


# --------------------------------------------------------------------------- backend decision table

ALL = {'nftables', 'iptables-nft', 'iptables-legacy'}


@pytest.mark.parametrize('requested, tools, native, legacy, xtnft, ours, default, expected', [
    # auto: what the host already uses, in this order
    ('auto', ALL, ['inet fw'], True, True, set(), 'nft', 'iptables-legacy'),
    ('auto', ALL, ['inet fw'], False, True, set(), 'nft', 'nftables'),
    ('auto', ALL, [], False, True, {'nftables'}, 'nft', 'iptables-nft'),
    ('auto', ALL, [], False, False, {'iptables-legacy'}, 'nft', 'iptables-legacy'),
    ('auto', ALL, [], False, False, set(), 'legacy', 'nftables'),
    ('auto', {'iptables-nft', 'iptables-legacy'}, [], False, False, set(), 'legacy', 'iptables-legacy'),
    ('auto', {'iptables-nft'}, [], False, False, set(), 'nft', 'iptables-nft'),
    ('auto', {'nftables'}, [], True, False, set(), None, 'nftables'),
    # iptables: the flavour
    ('iptables', ALL, ['inet fw'], False, False, set(), 'nft', 'iptables-nft'),
    ('iptables', ALL, [], True, False, set(), 'nft', 'iptables-legacy'),
    ('iptables', ALL, [], False, False, {'iptables-legacy'}, 'nft', 'iptables-legacy'),
    ('iptables', ALL, [], False, False, set(), 'legacy', 'iptables-legacy'),
    # explicit
    ('nftables', ALL, [], True, True, set(), 'nft', 'nftables'),
    ('iptables-legacy', ALL, ['inet fw'], False, False, set(), 'nft', 'iptables-legacy'),
])
def test_backend_decision_table(requested, tools, native, legacy, xtnft, ours, default, expected):
    assert n.decide_backend(requested, tools, native, legacy, xtnft, ours, default)[0] == expected


@pytest.mark.parametrize('requested, tools, message', [
    ('nftables', {'iptables-legacy'}, 'backend: nftables is not installed here (no nft command); installed: iptables-legacy'),
    ('iptables-legacy', {'nftables', 'iptables-nft'},
     'backend: iptables-legacy is not installed here (no iptables-legacy-restore / iptables-legacy-save command); '
     'installed: iptables-nft, nftables'),
    ('iptables', {'nftables'}, 'backend: iptables is not installed here (neither iptables-legacy nor iptables-nft); '
                               'installed: nftables'),
    ('auto', set(), 'backend: no firewall tool is installed here'),
])
def test_backend_not_installed(requested, tools, message):
    with pytest.raises(n.NotrackError) as e:
        n.decide_backend(requested, tools, [], False, False, set(), None)
    assert str(e.value).startswith(message)
