# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway network namespace whose conntrack table holds every kind of entry, on the real
kernel (root): used by tests/netns/test_netlink_netns.py and tests/netns/test_breakdown_netns.py.

Netns creates a namespace (unique name, deleted on exit), loads an nft `ct state new` rule so
conntrack tracks, raises every conntrack timeout of that namespace to 3600 s (the initial netns
is never touched); Netns.fill(FILL_CFG) fills the table from a Python process living in the
namespace (UDP v4/v6 replied/unreplied/assured, TCP in several states, ICMP/ICMPv6 echo, GRE,
SCTP INIT, UDP-Lite, an unknown protocol), which keeps its sockets, and so the table, until the
namespace is closed.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable


def collections_path():
    """A directory with ansible_collections/nfct/tuning -> this checkout (created if missing)."""
    parts = REPO.split(os.sep)
    if len(parts) >= 3 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3])
    base = os.path.join(REPO, '.cache', 'collections')
    link = os.path.join(base, 'ansible_collections', 'nfct', 'tuning')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink('../../../..', link)
        except FileExistsError:
            pass
    return base


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


class Netns(object):
    """A throwaway network namespace with conntrack enabled and long timeouts."""

    def __init__(self, prefix='nfct-nl'):
        self.name = '%s-%d-%s' % (prefix, os.getpid(), uuid.uuid4().hex[:8])
        self.procs = []

    def __enter__(self):
        run(['ip', 'netns', 'add', self.name])
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.stdin.close()
                except Exception:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        run(['ip', 'netns', 'del', self.name], check=False)

    def cmd(self, *args):
        return ['ip', 'netns', 'exec', self.name] + list(args)

    def sh(self, script):
        return run(self.cmd('sh', '-ec', script))

    def setup(self):
        self.sh('''
ip link set lo up
ip -6 addr add 2001:db8:0:0:1:0:0:1/128 dev lo nodad
ip -6 addr add fd00::ffff:102:304/128 dev lo nodad
nft -f - <<'EOF'
table inet t {
  chain c { type filter hook output priority 0; ct state new accept; }
  # SYN_SENT: SYNs to port 9 are tracked on output and dropped on input (no RST)
  chain i { type filter hook input priority 0; tcp dport 9 drop; }
  # SYN_RECV: the handshake's final ACK to port 10 is dropped before conntrack sees it
  chain r { type filter hook output priority -300; tcp dport 10 tcp flags & (syn|ack|fin|rst) == ack drop; }
}
EOF
for f in /proc/sys/net/netfilter/nf_conntrack_*timeout*; do echo 3600 > "$f"; done
sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
''')

    def python(self, code, *args, **kw):
        env = dict(os.environ, PYTHONPATH=collections_path(), PYTHONDONTWRITEBYTECODE='1')
        return subprocess.Popen(self.cmd(PY, '-c', code, *args), env=env, universal_newlines=True,
                                stdin=kw.get('stdin', subprocess.PIPE), stdout=subprocess.PIPE,
                                stderr=kw.get('stderr', subprocess.PIPE))

    def py_json(self, code, *args):
        p = self.python(code, *args)
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise AssertionError('netns python failed (%s):\n%s' % (p.returncode, err))
        return json.loads(out)

    def fill(self, cfg):
        """Start the filler; returns once the traffic is done (the process keeps its sockets)."""
        p = self.python(FILL, json.dumps(cfg))
        self.procs.append(p)
        line = p.stdout.readline()
        if not line.startswith('READY'):
            raise AssertionError('filler failed: %r %s' % (line, p.stderr.read()))
        return json.loads(line[5:])


FILL = r'''
import json, socket, struct, sys, time
cfg = json.loads(sys.argv[1])
keep = []
done = {}

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def step(name, fn, n):
    try:
        fn(n)
        done[name] = n
    except Exception as e:
        done[name] = 'failed: %s' % e

def udp_unreplied(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); keep.append(s)
    send = s.sendto
    for i in range(n):
        send(b'x', ('127.%d.%d.%d' % (1 + (i // 64516) % 254, 1 + (i // 254) % 254, 1 + i % 254),
                    1024 + (i * 7) % 60000))

def udp_v6(n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); keep.append(s)
    addrs = ['::1', '2001:db8::1:0:0:1', 'fd00::ffff:102:304']
    for i in range(n):
        s.sendto(b'x', (addrs[i % 3], 2000 + i))

def udp_replied(n, assure, fam=socket.AF_INET, host='127.0.0.1', port=7000):
    srv = socket.socket(fam, socket.SOCK_DGRAM); srv.bind((host, port)); keep.append(srv)
    cl = []
    for i in range(n):
        c = socket.socket(fam, socket.SOCK_DGRAM); keep.append(c); cl.append(c)
        c.sendto(b'q', (host, port))
        _d, addr = srv.recvfrom(100)
        srv.sendto(b'r', addr)
        c.recv(100)
    if assure:
        time.sleep(2.2)   # UDP becomes ASSURED on traffic > 2 s after the first reply
        for c in cl:
            c.sendto(b'q', (host, port))
            srv.recvfrom(100)

def tcp_established(n, fam=socket.AF_INET, host='127.0.0.1', port=8000):
    ls = socket.socket(fam, socket.SOCK_STREAM); ls.bind((host, port)); ls.listen(1024); keep.append(ls)
    for i in range(n):
        c = socket.create_connection((host, port)); keep.append(c); keep.append(ls.accept()[0])

def tcp_time_wait(n):
    ls = socket.socket(); ls.bind(('127.0.0.1', 8002)); ls.listen(1024); keep.append(ls)
    for i in range(n):
        c = socket.create_connection(('127.0.0.1', 8002)); a = ls.accept()[0]
        c.close(); time.sleep(0.01); a.close()

def tcp_half_closed(n):
    ls = socket.socket(); ls.bind(('127.0.0.1', 8003)); ls.listen(1024); keep.append(ls)
    for i in range(n):
        c = socket.create_connection(('127.0.0.1', 8003)); keep.append(c); keep.append(ls.accept()[0])
        c.shutdown(socket.SHUT_WR)

def tcp_reset(n):
    # an RST answering an unreplied SYN deletes the entry at once; an RST on an
    # established connection leaves it in CLOSE
    ls = socket.socket(); ls.bind(('127.0.0.1', 8001)); ls.listen(1024); keep.append(ls)
    for i in range(n):
        c = socket.create_connection(('127.0.0.1', 8001)); keep.append(ls.accept()[0])
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        c.close()

def invalid(n):
    # per CPU: TCP with an invalid flag combination (SYN|FIN|RST) -> 'invalid', ICMP
    # errors with a truncated inner header -> 'icmp_error' (both counted on output
    # and again on input), a different number on each CPU
    import os
    cpus = sorted(os.sched_getaffinity(0))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); keep.append(r)
    ic = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); keep.append(ic)
    for k, cpu in enumerate(cpus):
        os.sched_setaffinity(0, [cpu])
        for i in range(n + k):
            r.sendto(struct.pack('!HHIIBBHHH', 40000 + i, 80, 1, 0, 5 << 4, 0x07, 1024, 0, 0),
                     ('127.0.0.1', 0))
        for i in range(n + 2 * k):
            ic.sendto(struct.pack('!BBHI', 3, 3, 0, 0) + b'\x45\x00', ('127.0.0.1', 0))
    os.sched_setaffinity(0, cpus)

def tcp_syn_sent(n):
    for i in range(n):
        c = socket.socket(); c.setblocking(False); keep.append(c)
        c.connect_ex(('127.0.0.1', 9))

def tcp_syn_recv(n):
    ls = socket.socket(); ls.bind(('127.0.0.1', 10)); ls.listen(1024); keep.append(ls)
    for i in range(n):
        c = socket.socket(); c.setblocking(False); keep.append(c)
        c.connect_ex(('127.0.0.1', 10))

def icmp(n):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); keep.append(r)
    for i in range(n):
        h = struct.pack('!BBHHH', 8, 0, 0, 100 + i, 1)
        r.sendto(h[:2] + struct.pack('!H', csum(h)) + h[4:], ('127.0.0.1', 0))

def icmp6(n):
    r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); keep.append(r)
    for i in range(n):
        r.sendto(struct.pack('!BBHHH', 128, 0, 0, 200 + i, 1), ('::1', 0))

def raw_proto(proto, payload, n):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto); keep.append(r)
    for i in range(n):
        r.sendto(payload(i), ('127.0.%d.1' % (10 + i), 0))

def gre(n):
    raw_proto(47, lambda i: struct.pack('!HH', 0, 0x0800) + b'\0' * 20, n)

def sctp_init(n):
    # common header (vtag 0, checksum not verified on output) + INIT chunk
    raw_proto(132, lambda i: struct.pack('!HHII', 5000 + i, 36412, 0, 0) +
              struct.pack('!BBHIIHHI', 1, 0, 20, 0x1234 + i, 65536, 1, 1, 1), n)

def unknown_proto(n):
    raw_proto(253, lambda i: b'hello', n)

def udplite(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136); keep.append(s)
    for i in range(n):
        s.sendto(b'x', ('127.0.0.1', 3000 + i))

c = cfg.get
step('udp_unreplied', udp_unreplied, c('udp_unreplied', 0))
step('udp_v6', udp_v6, c('udp_v6', 0))
step('udp_replied', lambda n: udp_replied(n, False, port=7001), c('udp_replied', 0))
step('udp_assured', lambda n: udp_replied(n, True), c('udp_assured', 0))
step('udp6_assured', lambda n: udp_replied(n, True, socket.AF_INET6, '::1', 7002), c('udp6_assured', 0))
step('tcp_established', tcp_established, c('tcp_established', 0))
step('tcp6_established', lambda n: tcp_established(n, socket.AF_INET6, '::1', 8000), c('tcp6_established', 0))
step('tcp_time_wait', tcp_time_wait, c('tcp_time_wait', 0))
step('tcp_half_closed', tcp_half_closed, c('tcp_half_closed', 0))
step('tcp_reset', tcp_reset, c('tcp_reset', 0))
step('invalid', invalid, c('invalid', 0))
step('tcp_syn_sent', tcp_syn_sent, c('tcp_syn_sent', 0))
step('tcp_syn_recv', tcp_syn_recv, c('tcp_syn_recv', 0))
step('icmp', icmp, c('icmp', 0))
step('icmp6', icmp6, c('icmp6', 0))
step('gre', gre, c('gre', 0))
step('sctp', sctp_init, c('sctp', 0))
step('unknown', unknown_proto, c('unknown', 0))
step('udplite', udplite, c('udplite', 0))
time.sleep(c('settle', 0.5))
sys.stdout.write('READY' + json.dumps(done) + '\n')
sys.stdout.flush()
sys.stdin.read()
'''

# what the tests fill: a few thousand entries of every kind
FILL_CFG = {'udp_unreplied': 3000, 'udp_v6': 300, 'udp_replied': 20, 'udp_assured': 30,
            'udp6_assured': 10, 'tcp_established': 25, 'tcp6_established': 5, 'tcp_time_wait': 10,
            'tcp_half_closed': 5, 'tcp_reset': 5, 'invalid': 3, 'tcp_syn_sent': 15, 'tcp_syn_recv': 5,
            'icmp': 20, 'icmp6': 10, 'gre': 3, 'sctp': 3, 'unknown': 3, 'udplite': 3}
