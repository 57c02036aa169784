# -*- coding: utf-8 -*-
"""No lockout (issue 11): conntrack_notrack against rulesets as real tools write them - Debian's
default nftables.conf, a firewalld nftables ruleset, ufw's iptables chains, Docker's iptables
chains - on the real kernel, in a server and a client network namespace joined by a veth.

Before the module runs, an SSH-like TCP session is opened from the client to the server's
port 22 and kept open. After the exemptions are applied: that established session still
carries data both ways, a new session to port 22 still connects, the other tool's objects are
byte for byte as they were, and an exemption that would cover the control connection is
refused with a message that says why.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402
from vethpair import run_module, sh  # noqa: E402

# `pair`, the server and client namespaces, is a fixture of tests/netns/conftest.py

# quiet_machine (tests/netns/conftest.py): make test runs these after the VM lane, on a quiet machine
# (one case saw an extra entry once while qemu ran next to it).
pytestmark = [pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces'), pytest.mark.quiet_machine]

DEBIAN_NFTABLES_CONF = textwrap.dedent('''\
    #!/usr/sbin/nft -f

    flush ruleset

    table inet filter {
    \tchain input {
    \t\ttype filter hook input priority filter;
    \t}
    \tchain forward {
    \t\ttype filter hook forward priority filter;
    \t}
    \tchain output {
    \t\ttype filter hook output priority filter;
    \t}
    }
    ''')

# firewalld 1.x (nftables backend), zone public with ssh and udp/5000 allowed: the shape
# `nft list table inet firewalld` shows (trimmed to the input path)
FIREWALLD = textwrap.dedent('''\
    table inet firewalld {
    \tchain filter_INPUT {
    \t\ttype filter hook input priority filter + 10; policy accept;
    \t\tct state { established, related } accept
    \t\tct status dnat accept
    \t\tiifname "lo" accept
    \t\tct state invalid drop
    \t\tjump filter_INPUT_ZONES
    \t\treject with icmpx admin-prohibited
    \t}
    \tchain filter_INPUT_ZONES {
    \t\tgoto filter_IN_public
    \t}
    \tchain filter_IN_public {
    \t\tjump filter_IN_public_allow
    \t\tmeta l4proto { icmp, ipv6-icmp } accept
    \t}
    \tchain filter_IN_public_allow {
    \t\ttcp dport 22 ct state { new, untracked } accept
    \t\tudp dport 5000 ct state { new, untracked } accept
    \t}
    }
    ''')

# ufw (iptables): the chains `iptables-save` shows after `ufw allow 22/tcp; ufw enable`, trimmed
UFW = textwrap.dedent('''\
    *filter
    :INPUT DROP [0:0]
    :FORWARD DROP [0:0]
    :OUTPUT ACCEPT [0:0]
    :ufw-after-input - [0:0]
    :ufw-before-input - [0:0]
    :ufw-user-input - [0:0]
    -A INPUT -j ufw-before-input
    -A INPUT -j ufw-after-input
    -A ufw-before-input -i lo -j ACCEPT
    -A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A ufw-before-input -m conntrack --ctstate INVALID -j DROP
    -A ufw-before-input -p {icmp} -j ACCEPT
    -A ufw-before-input -j ufw-user-input
    -A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT
    -A ufw-user-input -p udp -m udp --dport 5000 -m conntrack --ctstate NEW -j ACCEPT
    COMMIT
    ''')

# Docker (iptables): the chains dockerd creates for the default bridge, with one published port
DOCKER_FILTER = textwrap.dedent('''\
    *filter
    :INPUT ACCEPT [0:0]
    :FORWARD DROP [0:0]
    :OUTPUT ACCEPT [0:0]
    :DOCKER - [0:0]
    :DOCKER-ISOLATION-STAGE-1 - [0:0]
    :DOCKER-ISOLATION-STAGE-2 - [0:0]
    :DOCKER-USER - [0:0]
    -A FORWARD -j DOCKER-USER
    -A FORWARD -j DOCKER-ISOLATION-STAGE-1
    -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A FORWARD -o docker0 -j DOCKER
    -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
    -A FORWARD -i docker0 -o docker0 -j ACCEPT
    -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
    -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
    -A DOCKER-ISOLATION-STAGE-1 -j RETURN
    -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
    -A DOCKER-ISOLATION-STAGE-2 -j RETURN
    -A DOCKER-USER -j RETURN
    COMMIT
    *nat
    :PREROUTING ACCEPT [0:0]
    :INPUT ACCEPT [0:0]
    :OUTPUT ACCEPT [0:0]
    :POSTROUTING ACCEPT [0:0]
    :DOCKER - [0:0]
    -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
    -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
    -A DOCKER -i docker0 -j RETURN
    -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
    COMMIT
    ''')

TCP_SERVER = textwrap.dedent(r'''
    import socket, sys, threading
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', 22)); s.listen(16)
    sys.stdout.write('ready\n'); sys.stdout.flush()
    def echo(c):
        while True:
            d = c.recv(100)
            if not d:
                return
            c.sendall(b'echo:' + d)
    while True:
        c, _a = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
''')

# an SSH-like client: one session kept open, one line per stdin line, the echo printed back
TCP_CLIENT = textwrap.dedent(r'''
    import socket, sys
    c = socket.create_connection((sys.argv[1], 22), timeout=3)
    sys.stdout.write('connected\n'); sys.stdout.flush()
    for line in sys.stdin:
        try:
            c.sendall(line.strip().encode()); sys.stdout.write(c.recv(100).decode() + '\n')
        except OSError as e:
            sys.stdout.write('error %s\n' % e)
        sys.stdout.flush()
''')


class Session(object):
    """An established TCP session client -> server:22, kept open across the module run."""

    def __init__(self, pair):
        self.server = subprocess.Popen(['ip', 'netns', 'exec', pair.srv, sys.executable, '-c', TCP_SERVER],
                                       stdout=subprocess.PIPE)
        assert self.server.stdout.readline().strip() == b'ready'
        self.client = subprocess.Popen(['ip', 'netns', 'exec', pair.cli, sys.executable, '-c', TCP_CLIENT, '10.77.0.1'],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.client.stdout.readline().strip() == b'connected'

    def say(self, word):
        self.client.stdin.write((word + '\n').encode())
        self.client.stdin.flush()
        return self.client.stdout.readline().decode().strip()

    def close(self):
        for p in (self.client, self.server):
            if p.poll() is None:
                p.kill()
            p.wait()


def loaded(pair, nft_ruleset):
    """The server with this nft ruleset and an SSH-like session to it, open."""
    sh(pair.srv, ['nft', '-f', '-'], data=nft_ruleset)
    return Session(pair)


def new_session(pair):
    """A fresh connection to port 22 exchanges a line."""
    out = sh(pair.cli, [sys.executable, '-c', 'import socket; c = socket.create_connection(("10.77.0.1", 22), timeout=3); '
                        'c.sendall(b"hi"); print(c.recv(100).decode())'], check=False)
    return out.strip()


def not_ours(text):
    """A ruleset dump without our objects: for nft, every table but ours and no line of ours; for
    iptables-save, the sections of the other tables without our lines (counters zeroed)."""
    text = re.sub(r'\[\d+:\d+\]', '[0:0]', text)
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith('table '):
            skip = 'nfct_notrack' in line
        elif line.startswith('*'):
            skip = line == '*raw'   # our NOTRACK chains live there; the tools' rules are elsewhere
        if skip or not line.strip() or line.startswith('#') or 'NFCT' in line or 'nfct' in line:
            continue
        out.append(line)
    return out


CASES = {
    'debian-nftables-conf': ('nftables', lambda p: sh(p.srv, ['nft', '-f', '-'], data=DEBIAN_NFTABLES_CONF),
                             {'companion': 'auto'}),
    'ufw': ('iptables-legacy', lambda p: (sh(p.srv, ['iptables-legacy-restore'], data=UFW.replace('{icmp}', 'icmp')),
                                          sh(p.srv, ['ip6tables-legacy-restore'], data=UFW.replace('{icmp}', 'ipv6-icmp'))),
            {'companion': 'auto'}),
    'docker': ('iptables-nft', lambda p: sh(p.srv, ['iptables-nft-restore'], data=DOCKER_FILTER), {'companion': 'auto'}),
}


def dump(pair, framework):
    if framework == 'nftables':
        return sh(pair.srv, ['nft', 'list', 'ruleset'])
    return sh(pair.srv, ['%s-save' % framework]) + sh(pair.srv, [framework.replace('iptables', 'ip6tables') + '-save'])


@pytest.mark.parametrize('case', sorted(CASES))
def test_exemptions_keep_the_control_port_and_established_flows(pair, tmp_path, case):
    framework, load, extra = CASES[case]
    load(pair)
    session = Session(pair)
    try:
        assert session.say('before') == 'echo:before'
        others_before = not_ours(dump(pair, framework))
        args = dict(extra, exemptions=[{'interface': 'lo'}, {'protocol': 'udp', 'port': 5000, 'direction': 'inbound'}],
                    backend=framework if framework != 'nftables' else 'nftables', persist=False)
        ok, res = run_module(pair.srv, args)
        assert ok, res.get('msg')
        assert res['changed'] is True
        # the established session and new sessions to the control port still work
        assert session.say('after') == 'echo:after'
        assert new_session(pair) == 'echo:hi'
        # the exempted service works through the firewall and is not tracked
        assert pair.udp(5000) == (True, True)
        # (seen once under load: 1 entry; the table is printed to tell which packet was tracked)
        assert pair.entries('dport=5000') == 0, (sh(pair.srv, ['cat', '/proc/net/nf_conntrack']), dump(pair, framework))
        # the other tool's objects are as they were
        assert not_ours(dump(pair, framework)) == others_before
        if case == 'docker':
            assert any('NAT rules present' in m and 'exempted packets are not NATed' in m for m in res['messages'])
    finally:
        session.close()


def test_firewalld_table_is_never_edited_and_the_refusal_explains_itself(pair):
    session = loaded(pair, FIREWALLD)
    try:
        before = dump(pair, 'nftables')
        # firewalld itself accepts untracked packets of the services it allows: nothing to add
        ok, res = run_module(pair.srv, {'exemptions': [{'protocol': 'udp', 'port': 5000, 'direction': 'inbound'}],
                                        'persist': False})
        assert ok, res.get('msg')
        assert res['drift_report']['companion']['needed'] == []
        assert pair.udp(5000) == (True, True) and pair.entries('dport=5000') == 0
        assert session.say('x') == 'echo:x'
        # udp/6000 is not allowed by firewalld: untracked packets would be rejected there, and
        # the firewalld table is not ours to edit (it rebuilds it): refused, with the reason
        ok, res = run_module(pair.srv, {'exemptions': [{'protocol': 'udp', 'port': 6000}], 'companion': 'insert',
                                        'persist': False})
        assert not ok
        assert 'belongs to firewalld, which rebuilds it' in res['msg']
        assert not_ours(dump(pair, 'nftables')) == not_ours(before)   # firewalld's table as it was
    finally:
        session.close()


def test_an_exemption_of_the_control_connection_is_refused_with_the_reason(pair):
    session = loaded(pair, DEBIAN_NFTABLES_CONF)
    try:
        time.sleep(0.2)
        env = {'SSH_CONNECTION': '10.77.0.2 50000 10.77.0.1 22'}
        before = dump(pair, 'nftables')
        for exemption in ({'protocol': 'tcp', 'port': 22}, {'interface': 'nfv0'}, {'address': '10.77.0.0/24'}):
            ok, res = run_module(pair.srv, {'exemptions': [exemption], 'persist': False}, env=env)
            assert not ok, exemption
            assert 'would match' in res['msg'] and 'the control connection 10.77.0.2:50000 -> 10.77.0.1:22' in res['msg']
            assert 'could cut off the connection that manages this host' in res['msg']
            assert res['changed'] is False
            assert dump(pair, 'nftables') == before
        assert session.say('still') == 'echo:still'
    finally:
        session.close()
