# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway network namespaces with a filled conntrack table, on the real kernel.

Used by tests/netns and by benchmarks/. Everything happens inside the namespace
except reading/writing the global nf_conntrack_max, which callers save and restore.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import contextlib
import fcntl
import os
import subprocess
import sys
import textwrap
import time
import uuid

RULES = """
table inet nfct_test {
  chain out { type filter hook output priority 0; ct state new accept; }
  chain in { type filter hook input priority 0; tcp dport 9 drop; }
}
"""

# new UDP flows at a rate per second (argv[1]) (each datagram to a new destination: a new entry) until killed
FLOOD = r'''
import socket, sys, time
rate = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
i, start = 0, time.monotonic()
sys.stdout.write('flooding\n'); sys.stdout.flush()
while True:
    for _ in range(20):
        i += 1
        try:
            s.sendto(b'x', ('127.%d.%d.%d' % (1 + (i >> 16) % 250, (i >> 8) & 255, 1 + (i & 255) % 254), 1000 + i % 50))
        except OSError:
            pass  # EPERM: conntrack dropped it (the table is full)
    time.sleep(max(0.0, float(i) / rate - (time.monotonic() - start)))
'''
# the drop counters of this namespace's table, summed over the CPUs (/proc/net/stat/nf_conntrack)
COUNTERS = r'''
import json
lines = open('/proc/net/stat/nf_conntrack').read().split('\n')
head = lines[0].split()
rows = [[int(v, 16) for v in l.split()] for l in lines[1:] if l.strip()]
out = dict((k, sum(r[head.index(k)] for r in rows)) for k in ('drop', 'early_drop', 'insert_failed'))
out['count'] = int(open('/proc/sys/net/netfilter/nf_conntrack_count').read())
print(json.dumps(out))
'''


FILLER = textwrap.dedent(r'''
    import socket, sys, time, os
    udp, tcp_est, tcp_tw, syn, icmp, udp6 = [int(x) for x in sys.argv[1:7]]
    # UDP: one entry per (dst, sport, dport); a few sockets, many destinations and ports
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    for i in range(udp):
        s = socks[i % 4]
        dst = '127.%d.%d.%d' % (1 + (i >> 16) % 250, (i >> 8) & 255, 1 + (i & 255) % 254)
        s.sendto(b'x', (dst, 1000 + (i % 50)))
    for i in range(udp6):
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.sendto(b'x', ('::1', 2000 + i))
        s6.close()
    # TCP ESTABLISHED (held open by this process) and TIME_WAIT (closed)
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 8080)); srv.listen(4096)
    held = []
    for i in range(tcp_est + tcp_tw):
        c = socket.create_connection(('127.0.0.1', 8080)); a, _ = srv.accept()
        if i < tcp_est:
            held.append((c, a))
        else:
            c.close(); a.close()
    # TCP SYN_SENT: port 9 is dropped on input, so the handshake never completes
    for i in range(syn):
        c = socket.socket(); c.setblocking(False)
        try:
            c.connect(('127.0.0.2', 9))
        except BlockingIOError:
            pass
        held.append((c, None))
    # ICMP echo through an unprivileged ping socket
    for i in range(icmp):
        p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        p.sendto(b'\x08\x00\x00\x00\x00\x00\x00\x01', ('127.0.0.%d' % (3 + i), 0)); p.close()
    sys.stdout.write('ready\n'); sys.stdout.flush()
    sys.stdin.read()  # hold the sockets until the test closes stdin
''')

LONG_TIMEOUTS = {
    'udp_timeout': 3600, 'udp_timeout_stream': 3600, 'icmp_timeout': 3600,
    'tcp_timeout_syn_sent': 3600, 'tcp_timeout_time_wait': 3600, 'tcp_timeout_close': 3600,
    'tcp_timeout_fin_wait': 3600, 'tcp_timeout_close_wait': 3600, 'tcp_timeout_last_ack': 3600,
}


def ns_exec(name, argv, **kw):
    return subprocess.run(['ip', 'netns', 'exec', name] + argv, check=True, **kw)


class Netns(object):
    """A network namespace with conntrack active; remove() deletes it and its filler."""

    def __init__(self, prefix='nfct'):
        self.name = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
        self.filler = None
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        try:
            ns_exec(self.name, ['ip', 'link', 'set', 'lo', 'up'])
            ns_exec(self.name, ['nft', '-f', '-'], input=RULES.encode())
            ns_exec(self.name, ['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647'])
            for k, v in LONG_TIMEOUTS.items():
                self.write_sysctl(k, v)
        except Exception:
            self.remove()
            raise

    def write_sysctl(self, short, value):
        ns_exec(self.name, ['sh', '-c', 'echo %d > /proc/sys/net/netfilter/nf_conntrack_%s' % (value, short)])

    def read(self, path):
        return ns_exec(self.name, ['cat', path], stdout=subprocess.PIPE).stdout.decode()

    def count(self):
        return int(self.read('/proc/sys/net/netfilter/nf_conntrack_count'))

    def fill(self, udp=2000, tcp_est=200, tcp_tw=200, syn=100, icmp=20, udp6=50, python=None):
        """Create entries; returns once they exist. The filler holds TCP sockets open."""
        self.filler = subprocess.Popen(['ip', 'netns', 'exec', self.name, python or sys.executable, '-c', FILLER,
                                        str(udp), str(tcp_est), str(tcp_tw), str(syn), str(icmp), str(udp6)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.filler.stdout.readline()
        if line.strip() != b'ready':
            raise RuntimeError('filler failed in netns %s' % self.name)
        self.wait_stable()

    def wait_stable(self, timeout=20):
        """Wait until the count stops moving (FIN handshakes on loopback settle in milliseconds)."""
        last = -1
        deadline = time.time() + timeout
        while time.time() < deadline:
            c = self.count()
            if c == last:
                return c
            last = c
            time.sleep(0.3)
        return last

    def remove(self):
        if self.filler is not None and self.filler.poll() is None:
            try:
                self.filler.stdin.close()
                self.filler.wait(timeout=10)
            except Exception:
                self.filler.kill()
                self.filler.wait()
        subprocess.run(['ip', 'netns', 'delete', self.name], check=False)


def is_root():
    return os.geteuid() == 0


# ---------------------------------------------------------------- a private /etc

ISOLATE = 'mount --bind "$0/etc" /etc && mount --bind "$0/run-lock" /run/lock && exec "$@"'


def private_root(tmp_path):
    """tmp_path/root with a copy of the host's /etc and an empty /run/lock, for isolated().

    The modules only write where the boot reads (/etc/sysctl.d, /etc/nftables.conf...), so the
    real-kernel tests run them in a mount namespace where those are these copies: nothing they
    write reaches the host's /etc."""
    root = os.path.join(str(tmp_path), 'root')
    if not os.path.isdir(root):
        os.makedirs(root)
        subprocess.run(['cp', '-a', '/etc', os.path.join(root, 'etc')], check=True)
        os.makedirs(os.path.join(root, 'run-lock'))
    return root


def isolated(root, argv):
    """argv in its own mount namespace where /etc and /run/lock are root's copies."""
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', ISOLATE, root] + list(argv)


def tree(path):
    """{relative path: (mode, content)} of every file under path, to compare before and after."""
    out = {}
    for d, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(d, name)
            st = os.lstat(full)
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, 'rb') as f:
                    content = f.read()
            elif os.path.islink(full):
                content = os.readlink(full)
            out[os.path.relpath(full, path)] = (st.st_mode, content)
    return out


def read(path):
    """A /proc or /sys value, stripped."""
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, 'w') as f:
        f.write('%s\n' % value)


GLOBAL_LOCK = '/run/nfct-tuning-tests-global.lock'
_held = {'depth': 0}


@contextlib.contextmanager
def host_global_lock():
    """Held by every test that writes the initial namespace's global values (max, buckets, the hash
    size), fills a table against the global max or compares global values before and after: two
    such tests of different lanes or runs on this machine never interleave (make test runs the
    container fleet tests next to tests/netns and the Molecule `host` scenario, which takes it
    with flock(1)). Re-entrant within a process: a test that takes it inside the netns tests'
    own hold (tests/netns/conftest.py) does not wait for itself."""
    if _held['depth']:
        _held['depth'] += 1
        try:
            yield
        finally:
            _held['depth'] -= 1
        return
    with open(GLOBAL_LOCK, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        _held['depth'] = 1
        try:
            yield
        finally:
            _held['depth'] = 0
            fcntl.flock(f, fcntl.LOCK_UN)


def writable_conntrack_keys():
    """The nf_conntrack_* keys of /proc/sys/net/netfilter this process may write (short names)."""
    d = '/proc/sys/net/netfilter'
    return sorted(n[len('nf_conntrack_'):] for n in os.listdir(d)
                  if n.startswith('nf_conntrack_') and os.stat(os.path.join(d, n)).st_mode & 0o200)


def busiest_namespace():
    """The largest count of any network namespace on this machine (each counts against max)."""
    seen, top = set(), 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            ino = os.stat('/proc/%s/ns/net' % pid).st_ino
            if ino in seen:
                continue
            seen.add(ino)
            with open('/proc/%s/net/stat/nf_conntrack' % pid) as f:
                top = max(top, int(f.read().split('\n')[1].split()[0], 16))
        except (OSError, IndexError, ValueError):
            continue
    return top
