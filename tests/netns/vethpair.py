# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two throwaway network namespaces joined by a veth pair, on the real kernel (root), and
conntrack_notrack run through Ansible inside one: used by tests/netns/test_notrack_netns.py and
tests/netns/test_lockout_netns.py (the `pair` fixture is in tests/netns/conftest.py).

The "server" (10.77.0.1, fd77::1) is where the module runs; the "client" (10.77.0.2, fd77::2)
sends traffic to it, so packets really arrive on an interface. Pair.firewall loads the server's
stateful firewall (NFT_FIREWALL or IPT_FIREWALL: policy drop, `ct state established,related
accept`, `ct state invalid drop`, TCP 22, UDP 6000 and ICMP allowed, nothing for UDP 5000).
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

import nsfill

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)

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
