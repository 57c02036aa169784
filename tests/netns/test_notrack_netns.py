# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_notrack on the real kernel, for nftables, iptables-nft and iptables-legacy.

Each test builds two throwaway network namespaces joined by a veth pair: the "server"
(10.77.0.1, fd77::1) where the module runs through Ansible, and a "client" (10.77.0.2,
fd77::2) that sends traffic to it, so packets really arrive on an interface. The server
gets a stateful firewall in the flavour under test (policy drop, `ct state
established,related accept`, `ct state invalid drop`, UDP 6000 and ICMP allowed, nothing
for UDP 5000). Checks are functional: a UDP request/reply to the exempted port 5000 crosses
that firewall (thanks to the companion accept) and leaves no entry in the server's conntrack
table, while UDP 6000 and pings from the client still create entries; a loopback ping with
`interface: lo` leaves none. Check mode, bad input and refusals leave every ruleset exactly
as it was (nft, iptables-nft and iptables-legacy dumps compared); state absent removes
exactly our objects. A "reboot" deletes the namespaces, creates them again and loads the
persisted files the way nftables.service / netfilter-persistent do at boot.

Persisted files go to a private copy of /etc (nsfill.isolated); the host's /etc and its initial-netns ruleset are
never touched (every command runs inside the namespaces; services are not enabled).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)
FLAVOURS = ('nftables', 'iptables-nft', 'iptables-legacy')

pytestmark = pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces')

NFT_FIREWALL = textwrap.dedent('''\
    table inet fw {
    \tchain input {
    \t\ttype filter hook input priority filter; policy drop;
    \t\tct state invalid drop
    \t\tct state established,related accept
    \t\ttcp dport 22 accept
    \t\tudp dport 6000 accept
    \t\tmeta l4proto { icmp, ipv6-icmp } accept
    \t}

    \tchain output {
    \t\ttype filter hook output priority filter; policy drop;
    \t\tct state invalid drop
    \t\tct state established,related,new accept
    \t\tmeta l4proto ipv6-icmp accept
    \t}
    }
    ''')

IPT_FIREWALL = textwrap.dedent('''\
    *filter
    :INPUT DROP [0:0]
    :FORWARD DROP [0:0]
    :OUTPUT DROP [0:0]
    -A INPUT -m conntrack --ctstate INVALID -j DROP
    -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
    -A INPUT -p udp -m udp --dport 6000 -j ACCEPT
    -A INPUT -p {icmp} -j ACCEPT
    -A OUTPUT -m state --state NEW,RELATED,ESTABLISHED -j ACCEPT
    -A OUTPUT -p {icmp} -j ACCEPT
    COMMIT
    ''')

SERVER = textwrap.dedent(r'''
    import socket, sys
    fam = socket.AF_INET6 if sys.argv[2] == '6' else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', int(sys.argv[1])))
    s.settimeout(float(sys.argv[3]))
    sys.stdout.write('ready\n'); sys.stdout.flush()
    try:
        data, peer = s.recvfrom(100)
        s.sendto(b'pong', peer)
        sys.stdout.write('got\n')
    except socket.timeout:
        sys.stdout.write('timeout\n')
''')

CLIENT = textwrap.dedent(r'''
    import socket, sys
    fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(float(sys.argv[3]))
    s.sendto(b'ping', (sys.argv[1], int(sys.argv[2])))
    try:
        s.recvfrom(100)
        print('reply')
    except socket.timeout:
        print('timeout')
''')

PING = textwrap.dedent(r'''
    import socket, sys
    fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
    p = socket.socket(fam, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6)
    p.settimeout(1.5)
    p.sendto((b'\x08' if fam == socket.AF_INET else b'\x80') + b'\x00\x00\x00\x00\x00\x00\x01', (sys.argv[1], 0))
    try:
        p.recv(100); print('reply')
    except socket.timeout:
        print('timeout')
''')


def sh(ns, argv, data=None, check=True):
    out = subprocess.run(['ip', 'netns', 'exec', ns] + argv, input=data.encode() if data is not None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if check and out.returncode != 0:
        raise AssertionError('%s in %s failed: %s' % (argv, ns, out.stderr.decode()))
    return out.stdout.decode()


class Pair(object):
    """Server and client namespaces joined by a veth pair (created inside the namespaces)."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.srv, self.cli = 'nfnt-s-%s' % tag, 'nfnt-c-%s' % tag
        self.create()

    def create(self):
        for ns in (self.srv, self.cli):
            subprocess.run(['ip', 'netns', 'add', ns], check=True)
        try:
            subprocess.run(['ip', '-n', self.srv, 'link', 'add', 'nfv0', 'type', 'veth', 'peer', 'name', 'nfv1',
                            'netns', self.cli], check=True)
            for ns, dev, n in ((self.srv, 'nfv0', 1), (self.cli, 'nfv1', 2)):
                for cmd in (['link', 'set', 'lo', 'up'], ['addr', 'add', '10.77.0.%d/24' % n, 'dev', dev],
                            ['addr', 'add', 'fd77::%d/64' % n, 'dev', dev, 'nodad'], ['link', 'set', dev, 'up']):
                    subprocess.run(['ip', '-n', ns] + cmd, check=True)
                sh(ns, ['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647'])
                sh(ns, ['sh', '-c', 'echo 600 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout'])
        except Exception:
            self.remove()
            raise

    def remove(self):
        for ns in (self.srv, self.cli):
            subprocess.run(['ip', 'netns', 'delete', ns], check=False, stderr=subprocess.DEVNULL)

    def reboot(self):
        self.remove()
        self.create()

    def firewall(self, flavour):
        """The stateful ruleset of the server, the way its admin would load it."""
        if flavour == 'nftables':
            sh(self.srv, ['nft', '-f', '-'], data=NFT_FIREWALL)
            return
        sh(self.srv, ['%s-restore' % flavour], data=IPT_FIREWALL.replace('{icmp}', 'icmp'))
        sh(self.srv, [flavour.replace('iptables', 'ip6tables') + '-restore'], data=IPT_FIREWALL.replace('{icmp}', 'ipv6-icmp'))

    def entries(self, needle):
        return sum(1 for line in sh(self.srv, ['cat', '/proc/net/nf_conntrack']).splitlines() if needle in line)

    def udp(self, port, family=4, timeout=1.5):
        """Client -> server UDP request and the server's reply: (server got it, client got the reply)."""
        srv = subprocess.Popen(['ip', 'netns', 'exec', self.srv, sys.executable, '-c', SERVER, str(port), str(family),
                                str(timeout + 1)], stdout=subprocess.PIPE)
        try:
            assert srv.stdout.readline().strip() == b'ready'
            dst = 'fd77::1' if family == 6 else '10.77.0.1'
            reply = sh(self.cli, [sys.executable, '-c', CLIENT, dst, str(port), str(timeout)]).strip()
            got = srv.stdout.readline().strip()
        finally:
            srv.wait(timeout=10)
        return got == b'got', reply == 'reply'

    def ping(self, ns, addr):
        return sh(ns, [sys.executable, '-c', PING, addr]).strip() == 'reply'

    def dump(self):
        """Every ruleset of the server, normalized (no counters, comments or handles)."""
        parts = [sh(self.srv, ['nft', 'list', 'ruleset'])]
        for cmd in ('iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save'):
            text = sh(self.srv, [cmd])
            if 'legacy' in cmd:
                # a legacy table, once used in a namespace, stays registered (empty) for its lifetime:
                # an empty one is the same as none
                text = re.sub(r'\*\w+\n(?::[A-Z]+ ACCEPT \[\d+:\d+\]\n)*COMMIT\n', '', re.sub(r'(?m)^#.*\n', '', text))
            parts.append(text)
        text = '\n'.join(parts)
        text = re.sub(r'\[\d+:\d+\]', '[0:0]', text)
        text = re.sub(r'counter packets \d+ bytes \d+', 'counter', text)
        return '\n'.join(l for l in text.splitlines() if not l.startswith('#'))


@pytest.fixture
def pair():
    p = Pair()
    try:
        yield p
    finally:
        p.remove()


def run_module(ns, args, check=False, env=None, root=None):
    """Run conntrack_notrack through Ansible inside ns -> (ok, result). With root (nsfill.private_root),
    /etc is that private copy, so persisted files never reach the host's /etc."""
    cmd = [os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local', '-i', 'localhost,',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'nfct.tuning.conntrack_notrack',
           '-a', json.dumps(args), '-o'] + (['--check'] if check else [])
    cmd = ['ip', 'netns', 'exec', ns] + (nsfill.isolated(root, cmd) if root else cmd)
    e = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    e.pop('SSH_CONNECTION', None)
    e.update(env or {})
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, cwd=REPO, check=False)
    text = out.stdout.decode()
    assert '=>' in text, text + out.stderr.decode()
    return out.returncode == 0, json.loads(text.split('=>', 1)[1])


def files(tmp_path):
    """The Debian default paths; /etc is the private copy of run_module(root=...)."""
    return {'enable_service': False}


def etc(tmp_path):
    """The private /etc (a pathlib.Path) that run_module(root=nsfill.private_root(tmp_path)) uses."""
    return tmp_path / 'root' / 'etc'


def admin_files(tmp_path, flavour):
    """The admin's persisted firewall, as the distribution's boot would load it."""
    nsfill.private_root(tmp_path)
    e = etc(tmp_path)
    if flavour == 'nftables':
        conf = '#!/usr/sbin/nft -f\n\nflush ruleset\n\n' + NFT_FIREWALL
        (e / 'nftables.conf').write_text(conf)
        return {'nftables.conf': conf}
    (e / 'iptables').mkdir(exist_ok=True)
    v4 = '# Generated by iptables-save v1.8.9\n' + IPT_FIREWALL.replace('{icmp}', 'icmp')
    v6 = '# Generated by ip6tables-save v1.8.9\n' + IPT_FIREWALL.replace('{icmp}', 'ipv6-icmp')
    (e / 'iptables' / 'rules.v4').write_text(v4)
    (e / 'iptables' / 'rules.v6').write_text(v6)
    return {'iptables/rules.v4': v4, 'iptables/rules.v6': v6}


def boot(pair, tmp_path, flavour):
    """What nftables.service / netfilter-persistent do at boot, in the fresh server namespace."""
    e = etc(tmp_path)
    if flavour == 'nftables':
        sh(pair.srv, nsfill.isolated(str(tmp_path / 'root'), ['nft', '-f', '/etc/nftables.conf']))
    else:
        sh(pair.srv, ['%s-restore' % flavour], data=(e / 'iptables' / 'rules.v4').read_text())
        sh(pair.srv, [flavour.replace('iptables', 'ip6tables') + '-restore'], data=(e / 'iptables' / 'rules.v6').read_text())


EXEMPT = [{'protocol': 'udp', 'port': 5000, 'direction': 'inbound'}, {'interface': 'lo'}]


def assert_behaviour(pair):
    """Exempted traffic flows through the stateful firewall and is not tracked; the rest is."""
    assert pair.udp(5000) == (True, True), 'exempted UDP 5000 must cross the stateful firewall both ways'
    assert pair.entries('dport=5000') == 0, 'exempted UDP 5000 must leave no conntrack entry'
    assert pair.udp(5000, family=6) == (True, True)
    assert pair.entries('dport=5000') == 0
    before = pair.entries('dport=6000')
    assert pair.udp(6000) == (True, True)
    assert pair.entries('dport=6000') == before + 1, 'non-exempted UDP 6000 must still be tracked'
    assert pair.ping(pair.srv, '127.0.0.1')
    assert pair.entries('src=127.0.0.1') == 0, 'loopback (interface: lo) must leave no conntrack entry'
    icmp = pair.entries('src=10.77.0.2 dst=10.77.0.1')
    assert pair.ping(pair.cli, '10.77.0.1')
    assert pair.entries('src=10.77.0.2 dst=10.77.0.1') > icmp, 'a ping over the veth must still be tracked'


@pytest.mark.parametrize('flavour', FLAVOURS)
def test_stateful_firewall_check_apply_reboot_absent(pair, tmp_path, flavour):
    admin = admin_files(tmp_path, flavour)
    pair.firewall(flavour)
    # without exemptions: UDP 5000 is dropped by the policy, UDP 6000 is tracked
    assert pair.udp(5000, timeout=0.5)[0] is False
    assert pair.udp(6000) == (True, True) and pair.entries('dport=6000') == 1
    args = dict(files(tmp_path), exemptions=EXEMPT, companion='insert' if flavour == 'nftables' else 'auto')
    before = pair.dump()
    root = str(tmp_path / 'root')
    etc_before = nsfill.tree(str(etc(tmp_path)))

    ok, res = run_module(pair.srv, args, check=True, root=root)
    assert ok, res
    assert res['changed'] is True and res['drift'] is True and res['backend']['name'] == flavour
    assert res['drift_report']['drifted'] is True and res['drift_report']['ruleset']['missing']
    assert res['drift_report']['companion']['needed']
    assert pair.dump() == before, 'check mode changed a ruleset'
    assert nsfill.tree(str(etc(tmp_path))) == etc_before, 'check mode changed a file'

    ok, res = run_module(pair.srv, args, root=root)
    assert ok, res
    assert res['changed'] is True and res['backend']['name'] == flavour
    assert_behaviour(pair)
    ok, res = run_module(pair.srv, args, root=root)
    assert ok and res['changed'] is False and res['drift'] is False, res
    assert res['drift_report']['drifted'] is False

    # reboot: fresh namespaces, the boot loads the persisted files; rules and behaviour are back
    pair.reboot()
    boot(pair, tmp_path, flavour)
    assert_behaviour(pair)
    ok, res = run_module(pair.srv, args, check=True, root=root)
    assert ok and res['changed'] is False, res

    # state absent removes exactly our objects, at runtime and in the files
    pair.reboot()
    pair.firewall(flavour)
    clean = pair.dump()
    boot(pair, tmp_path, flavour)
    assert pair.dump() != clean
    ok, res = run_module(pair.srv, dict(files(tmp_path), state='absent'), root=root)
    assert ok and res['changed'] is True, res
    assert pair.dump() == clean
    for rel, text in admin.items():
        assert (etc(tmp_path) / rel).read_text() == text, rel
    assert not (etc(tmp_path) / 'nftables.d' / 'nfct-notrack.nft').exists()
    assert pair.udp(5000, timeout=0.5)[0] is False
    ok, res = run_module(pair.srv, dict(files(tmp_path), state='absent'), root=root)
    assert ok and res['changed'] is False, res


ALL_FORMS = [
    {'interface': 'nfv0'},
    {'protocol': 'udp'},
    {'protocol': 'tcp', 'port': 443},
    {'protocol': 'tcp', 'port': 8443, 'direction': 'outbound', 'address': '192.0.2.0/24'},
    {'protocol': 'udp', 'port': 53, 'direction': 'outbound', 'address': '2001:db8::53'},
    {'address': '198.51.100.7'},
    {'address': '2001:db8:1::/48'},
    {'interface': 'lo', 'family': 'ipv6'},
    {'interface': 'nfv0', 'protocol': 'udp', 'port': 4789, 'address': '10.77.0.0/24'},
]


@pytest.mark.parametrize('flavour', FLAVOURS)
def test_every_rule_form_reads_back_equal(pair, flavour):
    """Every kind of exemption is written in the exact form the tool prints it back,
    so a second run finds nothing to do (idempotence by comparing the live ruleset)."""
    args = {'exemptions': ALL_FORMS, 'backend': flavour, 'persist': False}
    ok, res = run_module(pair.srv, args)
    assert ok and res['changed'] is True, res
    ok, res = run_module(pair.srv, args)
    assert ok and res['changed'] is False, res['drift_report']
    dump = pair.dump()
    if flavour == 'nftables':
        assert 'ip6 daddr 2001:db8::53 udp dport 53 notrack' in dump
        assert 'meta nfproto ipv6 iifname "lo" notrack' in dump
    else:
        assert '-A NFCT-NOTRACK-OUT -d 2001:db8::53/128 -p udp -m udp --dport 53 -j CT --notrack' in dump
        assert '-A NFCT-NOTRACK-PRE -s 10.77.0.0/24 -i nfv0 -p udp -m udp --dport 4789 -j CT --notrack' in dump
    # drift: one rule of ours deleted by hand is found and put back
    if flavour == 'nftables':
        sh(pair.srv, ['nft', 'flush', 'chain', 'inet', 'nfct_notrack', 'output'])
    else:
        sh(pair.srv, ['%s' % flavour, '-t', 'raw', '-D', 'NFCT-NOTRACK-PRE', '1'])
    ok, res = run_module(pair.srv, args, check=True)
    assert ok and res['drift'] is True and res['drift_report']['ruleset']['missing'], res
    ok, res = run_module(pair.srv, args)
    assert ok and res['changed'] is True
    ok, res = run_module(pair.srv, args)
    assert ok and res['changed'] is False


def test_nftables_refuses_without_consent_and_companion_matters(pair, tmp_path):
    pair.firewall('nftables')
    before = pair.dump()
    ok, res = run_module(pair.srv, dict(files(tmp_path), exemptions=EXEMPT), root=nsfill.private_root(tmp_path))
    assert not ok
    assert 'an accept in a table of ours cannot help' in res['msg'] and 'companion: insert' in res['msg']
    assert 'inet fw input' in res['msg'] and 'inet fw output' in res['msg']
    assert res['drift_report']['companion']['refused']
    assert pair.dump() == before
    assert not (etc(tmp_path) / 'nftables.d' / 'nfct-notrack.nft').exists()
    # companion: ignore installs the exemptions only: the stateful firewall then drops them
    ok, res = run_module(pair.srv, dict(files(tmp_path), exemptions=EXEMPT, companion='ignore', persist=False))
    assert ok and res['changed'] is True
    assert any('companion: ignored' in m for m in res['messages'])
    assert pair.udp(5000, timeout=0.5)[0] is False
    assert pair.entries('dport=5000') == 0


def test_user_untracked_accept_needs_no_companion(pair):
    """An admin's own `ct state untracked accept` first in the chain already protects it."""
    pair.firewall('nftables')
    for chain in ('input', 'output'):
        sh(pair.srv, ['nft', 'insert', 'rule', 'inet', 'fw', chain, 'ct', 'state', 'untracked', 'accept'])
    ok, res = run_module(pair.srv, {'exemptions': EXEMPT, 'persist': False})
    assert ok and res['changed'] is True, res
    assert res['drift_report']['companion']['needed'] == []
    assert 'nfct.tuning notrack companion' not in pair.dump()
    assert pair.udp(5000) == (True, True) and pair.entries('dport=5000') == 0


def test_backend_switch_moves_our_object(pair):
    args = {'exemptions': [{'interface': 'lo'}], 'persist': False}
    ok, res = run_module(pair.srv, dict(args, backend='nftables'))
    assert ok and res['changed'], res
    ok, res = run_module(pair.srv, dict(args, backend='iptables-legacy'), check=True)
    assert ok and res['drift_report']['ruleset']['other_backends'] == ['nftables: table inet nfct_notrack (2 rules)']
    ok, res = run_module(pair.srv, dict(args, backend='iptables-legacy'))
    assert ok and res['changed']
    dump = pair.dump()
    assert 'nfct_notrack' not in dump and '-A NFCT-NOTRACK-PRE -i lo -j CT --notrack' in dump
    # auto keeps it where it is now (no other rules anywhere)
    ok, res = run_module(pair.srv, args)
    assert ok and res['changed'] is False and res['backend']['name'] == 'iptables-legacy', res


@pytest.fixture(scope='module')
def applied():
    """One pair with our chains applied (iptables-legacy), shared by the bad-input cases."""
    p = Pair()
    try:
        ok, res = run_module(p.srv, {'exemptions': [{'interface': 'lo'}], 'persist': False, 'backend': 'iptables-legacy'})
        assert ok and res['changed'], res
        yield p, p.dump()
    finally:
        p.remove()


@pytest.mark.parametrize('exemption, fragment', [
    ({'interface': 'eth9'}, "exemptions[0].interface: 'eth9' is not an interface on this host (present: lo, nfv0)"),
    ({'interface': 'bad/name'}, "exemptions[0].interface: 'bad/name' is not a valid interface name"),
    ({'protocol': 'tcp', 'port': 0}, 'exemptions[0].port: 0 is outside the allowed range 1-65535'),
    ({'protocol': 'udp', 'port': 70000}, 'exemptions[0].port: 70000 is outside the allowed range 1-65535'),
    ({'port': 53}, 'exemptions[0].protocol: a port needs a protocol (tcp or udp)'),
    ({'address': '10.0.0.300/8'}, "exemptions[0].address: '10.0.0.300/8' is not an IPv4/IPv6 address or CIDR network"),
    ({'address': '10.1.2.3/8'}, 'exemptions[0].address: 10.1.2.3/8 has host bits set; the network is 10.0.0.0/8'),
    ({'address': '2001:db8::/32', 'family': 'ipv4'},
     'exemptions[0].family: ipv4 does not match address 2001:db8::/32 (an IPv6 network)'),
    ({'interface': 'lo', 'direction': 'inbound'}, 'exemptions[0].direction: only meaningful with a port'),
    ({'family': 'ipv4'}, 'exemptions[0]: give at least one of interface, protocol (with port), address'),
    ({'protocol': 'sctp'}, 'value of protocol must be one of: tcp, udp, got: sctp found in exemptions'),
])
def test_bad_input_leaves_the_ruleset_untouched(applied, exemption, fragment):
    pair, before = applied
    ok, res = run_module(pair.srv, {'exemptions': [exemption], 'persist': False})
    assert not ok
    assert fragment in res['msg'], res['msg']
    assert pair.dump() == before


def test_control_connection_is_never_exempted(pair):
    env = {'SSH_CONNECTION': '10.77.0.2 51000 10.77.0.1 2222'}
    cases = [
        ({'protocol': 'tcp', 'port': 2222}, 'port tcp/2222 (SSH)'),
        ({'protocol': 'tcp', 'port': 22}, 'port tcp/22 (SSH)'),
        ({'protocol': 'tcp'}, 'port tcp/2222 (SSH)'),
        ({'address': '10.77.0.0/24'}, 'the control connection 10.77.0.2:51000 -> 10.77.0.1:2222 via nfv0'),
        ({'interface': 'nfv0'}, 'the control connection 10.77.0.2:51000 -> 10.77.0.1:2222 via nfv0'),
    ]
    before = pair.dump()
    for exemption, fragment in cases:
        ok, res = run_module(pair.srv, {'exemptions': [exemption], 'persist': False}, env=env)
        assert not ok, exemption
        assert fragment in res['msg'] and 'allow_control_connection' in res['msg'], res['msg']
    assert pair.dump() == before
    # traffic that does not touch the session is fine; so is an outbound exemption of port 22
    fine = [{'interface': 'lo'}, {'protocol': 'tcp', 'port': 22, 'direction': 'outbound'}]
    ok, res = run_module(pair.srv, {'exemptions': fine, 'persist': False}, env=env)
    assert ok, res['msg']
    assert res['control_connection']['ssh_ports'][-1] == 2222
    # explicitly allowed
    ok, res = run_module(pair.srv, {'exemptions': [{'interface': 'nfv0'}], 'persist': False,
                                    'allow_control_connection': True}, env=env)
    assert ok and res['changed'] and any('allowed by allow_control_connection' in m for m in res['messages'])
