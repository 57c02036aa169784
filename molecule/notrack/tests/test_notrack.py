# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify of the notrack scenario, run twice: after converge (our exemptions present) and
after side_effect (state absent, marked by /root/notrack-absent).

Present: functional checks on the container's loopback, behind the admin's stateful firewall
(prepare.yml): a UDP request/reply on the exempted port 5000 and an IPv6 loopback ping
(interface lo, family ipv6) pass the firewall and leave no conntrack entry, while UDP 6000 and
an IPv4 loopback ping are still tracked. A restart (a new boot in a new network namespace)
brings our objects back from the persisted files, identical, and the behaviour with them.
Absent: every ruleset and every file is as prepare left it, and port 5000 is dropped again.
"""

import re

import pytest

UDP = r'''
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_DGRAM); srv.bind((sys.argv[1], int(sys.argv[2]))); srv.settimeout(2)
cli = socket.socket(fam, socket.SOCK_DGRAM); cli.settimeout(2)
cli.sendto(b'ping', (sys.argv[1], int(sys.argv[2])))
try:
    data, peer = srv.recvfrom(100); srv.sendto(b'pong', peer); cli.recv(100); print('ok')
except socket.timeout:
    print('timeout')
'''

PING = r'''
import socket, sys
v6 = ':' in sys.argv[1]
p = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
p.settimeout(2)
p.sendto((b'\x80' if v6 else b'\x08') + b'\x00\x00\x00\x00\x00\x00\x01', (sys.argv[1], 0))
try:
    p.recv(100); print('ok')
except socket.timeout:
    print('timeout')
'''


def flavour(host):
    return host.backend.name.split("nfct-notrack-", 1)[1]


def absent(host):
    return host.file("/root/notrack-absent").exists


def python(host, script, *args):
    return host.check_output("python3 -c %s %s" % (_quote(script), " ".join(args)))


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def count(host, args):
    return len(host.check_output("conntrack -L %s 2>/dev/null || true" % args).splitlines())


def flush(host):
    host.run("conntrack -F 2>/dev/null")


def our_objects(host):
    """Our objects as the live rulesets print them."""
    if flavour(host) == "nftables":
        return host.check_output("nft list table inet nfct_notrack; nft list chain inet fw input; nft list chain inet fw output")
    text = host.check_output("%s-save; %s-save" % (flavour(host), flavour(host).replace("iptables", "ip6tables")))
    return "\n".join(line for line in normalize(text).splitlines() if "NFCT-" in line)


def normalize(text):
    """Without counters (iptables-save's [packets:bytes], nft's counter of iptables-nft rules) or comments."""
    text = re.sub(r"\[\d+:\d+\]", "[0:0]", text)
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", text)
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def check_behaviour(host):
    host.run_expect([0], "sysctl -q -w net.ipv4.ping_group_range='0 2147483647'")
    flush(host)
    assert python(host, UDP, "127.0.0.1", "5000") == "ok", "exempted UDP 5000 must pass the stateful firewall"
    assert count(host, "-p udp --dport 5000") == 0, "exempted UDP 5000 must leave no conntrack entry"
    assert python(host, PING, "::1") == "ok", "exempted IPv6 loopback ping must pass the stateful firewall"
    assert python(host, UDP, "::1", "7000") == "ok"
    assert count(host, "-f ipv6") == 0, "IPv6 loopback (interface lo, family ipv6) must leave no conntrack entry"
    assert python(host, UDP, "127.0.0.1", "6000") == "ok"
    assert count(host, "-p udp --dport 6000") == 1, "UDP 6000 is not exempted: tracked"
    assert python(host, PING, "127.0.0.1") == "ok"
    assert count(host, "-p icmp") == 1, "an IPv4 loopback ping is not exempted: tracked"


def test_our_object_in_the_detected_backend(host):
    if absent(host):
        pytest.skip("state absent phase")
    f = flavour(host)
    if f == "nftables":
        table = host.check_output("nft list table inet nfct_notrack")
        assert "udp dport 5000 notrack" in table and 'meta nfproto ipv6 iifname "lo" notrack' in table
        assert 'ct state untracked accept comment "nfct.tuning notrack companion"' in \
            host.check_output("nft list chain inet fw input")
        assert host.service("nftables").is_enabled
        assert 'include "/etc/nftables.d/nfct-notrack.nft"' in host.file("/etc/nftables.conf").content_string
    else:
        save = host.check_output("%s-save" % f)
        assert "-A NFCT-NOTRACK-PRE -p udp -m udp --dport 5000 -j CT --notrack" in save
        assert "-A INPUT -j NFCT-UNTRACKED" in save and "-A OUTPUT -j NFCT-UNTRACKED" in save
        assert "-A NFCT-NOTRACK-PRE -i lo -j CT --notrack" in host.check_output("%s-save" % f.replace("iptables", "ip6tables"))
        assert "NFCT-NOTRACK-PRE" in host.file("/etc/iptables/rules.v4").content_string
        assert host.service("netfilter-persistent").is_enabled
        other = "iptables-nft" if f == "iptables-legacy" else "iptables-legacy"
        assert "NFCT" not in host.check_output("%s-save" % other)


def test_exempted_traffic_flows_and_is_not_tracked(host):
    if absent(host):
        pytest.skip("state absent phase")
    check_behaviour(host)


def test_restart_brings_rules_and_behaviour_back(host, restart_container):
    if absent(host):
        pytest.skip("state absent phase")
    before = our_objects(host)
    assert restart_container() == "running"
    assert our_objects(host) == before
    check_behaviour(host)


def test_absent_removes_exactly_our_objects(host):
    if not absent(host):
        pytest.skip("present phase")
    want = normalize(host.file("/root/notrack-before/ruleset.nft").content_string)
    assert normalize(host.check_output("nft list ruleset")) == want.strip()
    for tool in ("iptables-legacy", "ip6tables-legacy", "iptables-nft", "ip6tables-nft"):
        now = normalize(host.check_output("%s-save" % tool))
        was = normalize(host.file("/root/notrack-before/%s.save" % tool).content_string)
        # a legacy table stays registered (empty) once used in a network namespace: same as none
        empty = r"\*\w+\n(?::[A-Z]+ ACCEPT \[0:0\]\n)*COMMIT\n?"
        assert re.sub(empty, "", now + "\n").strip() == re.sub(empty, "", was + "\n").strip(), tool
    for name, path in (("nftables.conf", "/etc/nftables.conf"), ("rules.v4", "/etc/iptables/rules.v4"),
                       ("rules.v6", "/etc/iptables/rules.v6")):
        assert host.file(path).content_string == host.file("/root/notrack-before/" + name).content_string, path
    assert not host.file("/etc/nftables.d/nfct-notrack.nft").exists


def test_absent_port_5000_dropped_again(host):
    if not absent(host):
        pytest.skip("present phase")
    flush(host)
    assert python(host, UDP, "127.0.0.1", "5000") == "timeout"
    assert python(host, UDP, "127.0.0.1", "6000") == "ok"
