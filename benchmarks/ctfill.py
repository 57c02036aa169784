# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fill the conntrack table of the CURRENT network namespace fast, through ctnetlink.

Usage (inside a throwaway namespace, as root):
    ip netns exec NS python3 benchmarks/ctfill.py COUNT [--start I] [--shape mixed|unique]

Creates COUNT real kernel conntrack entries with IPCTNL_MSG_CT_NEW messages, a
thousand or so per sendmsg: about 100 000 entries/s here, as fast as UDP packets
create them (the kernel's insertion is the limit), but in any TCP state with any
addresses, without holding sockets open. They are ordinary entries: /proc/net/nf_conntrack, `conntrack -L` and every
ctnetlink dump show them like the ones packets create. The mix is deterministic
(entry i always gets the same tuple) and fixed-pool, so a table of 100k and one
of 1M have the same key diversity (17 424 sources: 16 400 IPv4 of which 16 heavy
hitters, 1 024 IPv6; 4 352 destinations of which 16 busy ones; ~60 ports):

  60 % UDP     dport 53 / 123 / 443 / 5353 / 1000-1019; 1 in 3 replied + ASSURED
  28 % TCP     ESTABLISHED 50 %, TIME_WAIT 20 %, SYN_SENT 10 %, SYN_RECV 5 %,
               FIN_WAIT 5 %, CLOSE_WAIT 5 %, LAST_ACK 3 %, CLOSE 2 %
   6 % ICMP    echo request, replied
   6 % IPv6    UDP and TCP ESTABLISHED

--shape unique: UDP/53 entries from distinct IPv4 sources 11.0.0.0/8 (60 000 source ports
each), any number of them (the hash resize benchmark, benchmarks/resize.py, fills 16M).

The table shapes of `make bench` (benchmarks/bench.py SHAPES), besides 'mixed' (few keys):
--shape ports      one source to 249 destinations x ~4,000 ports each (a resolver, a crawler)
--shape sources4   every entry from another IPv4 source, to one UDP port (a busy server)
--shape sources6   the same with IPv6 sources
--shape nat        a NAT gateway: the reply tuple goes to a public address and a mapped port
(see each entry_* function).

Timeouts are 4 hours, so nothing expires during a benchmark. Prints a JSON line
with what it created and the errors the kernel reported (EEXIST, ENOMEM when the
global nf_conntrack_max is too small...).
"""

from __future__ import (absolute_import, division, print_function)

import errno
import json
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
MSG_CT_NEW = (1 << 8) | 0
NLM_F_REQUEST, NLM_F_CREATE, NLM_F_EXCL = 0x1, 0x400, 0x200
NESTED = 0x8000
TIMEOUT = 4 * 3600
IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED = 0x2, 0x4, 0x8

# TCP states (enum tcp_conntrack) with their share per 100 and status
TCP_MIX = [(3, 50, True), (7, 20, True), (1, 10, False), (2, 5, False), (4, 5, True),
           (5, 5, True), (6, 3, True), (8, 2, True)]
TCP_PORTS = [443] * 10 + [80] * 5 + [22, 3306, 5432, 6379, 8080, 8443, 9090, 25, 993, 11211]
UDP_PORTS = [53] * 8 + [123, 123, 443, 443, 5353] + list(range(1000, 1020))
HEAVY_SOURCES = 16
SOURCES = 16384
DESTINATIONS = 4096
# IPv6 entries are 6 % of the table: small pools, so that 100k entries already use them all
SOURCES6 = 1024
DESTINATIONS6 = 256

_TCP_STATE = []
for _st, _share, _ok in TCP_MIX:
    _TCP_STATE += [(_st, _ok)] * _share


def _hdr(ln, tp):
    return struct.pack('=HH', ln, tp)


def _msg(family, ipattr, src, dst, proto, sport, dport, status, tcp_state, icmp):
    """One CT_NEW message (addresses as 4 or 16 bytes; ipattr: CTA_IP_V4_SRC or V6_SRC)."""
    def tuple_(a, b, sp, dp, reply):
        ip = _hdr(4 + len(a), ipattr) + a + _hdr(4 + len(b), ipattr + 1) + b
        ip = _hdr(4 + len(ip), NESTED | 1) + ip
        pr = _hdr(5, 1) + struct.pack('B3x', proto)
        if icmp:
            # CTA_PROTO_ICMP(V6)_ID / TYPE / CODE: 4/5/6 for ICMP, 7/8/9 for ICMPv6
            base = 4 if family == socket.AF_INET else 7
            req, rep = (8, 0) if family == socket.AF_INET else (128, 129)
            pr += _hdr(6, base) + struct.pack('>H2x', sport)   # the echo id, both directions
            pr += _hdr(5, base + 1) + struct.pack('B3x', rep if reply else req)
            pr += _hdr(5, base + 2) + struct.pack('B3x', 0)
        else:
            pr += _hdr(6, 2) + struct.pack('>H2x', sp) + _hdr(6, 3) + struct.pack('>H2x', dp)
        pr = _hdr(4 + len(pr), NESTED | 2) + pr
        body = ip + pr
        return body
    orig = tuple_(src, dst, sport, dport, False)
    reply = tuple_(dst, src, dport, sport, True)
    attrs = _hdr(4 + len(orig), NESTED | 1) + orig + _hdr(4 + len(reply), NESTED | 2) + reply
    # CTA_STATUS: the kernel marks a new entry CONFIRMED before it applies the status we
    # send and refuses (EBUSY) a status that would clear that bit
    attrs += _hdr(8, 3) + struct.pack('>I', status | IPS_CONFIRMED)
    attrs += _hdr(8, 7) + struct.pack('>I', TIMEOUT)         # CTA_TIMEOUT
    if tcp_state is not None:
        st = _hdr(5, 1) + struct.pack('B3x', tcp_state)      # CTA_PROTOINFO_TCP_STATE
        st = _hdr(4 + len(st), NESTED | 1) + st              # CTA_PROTOINFO_TCP
        attrs += _hdr(4 + len(st), NESTED | 4) + st          # CTA_PROTOINFO
    body = struct.pack('=BBH', family, 0, 0) + attrs
    return struct.pack('=IHHII', 16 + len(body), MSG_CT_NEW,
                       NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 0, 0) + body


def _mix(i):
    """Hash of i for the pseudo-random choices (deterministic, cheap)."""
    return (i * 2654435761) & 0xffffffff


_TEMPLATES = {}


def _template(family, ipattr, proto, dport, status, tcp_state, icmp):
    """Message bytes for one shape with src, dst and sport zeroed, and where they go.

    Every entry of a shape has the same layout; only the addresses and the source
    port (the echo id for ICMP) change, so they are patched into a copy.
    """
    key = (family, proto, dport, status, tcp_state, icmp)
    t = _TEMPLATES.get(key)
    if t is None:
        alen = 4 if family == socket.AF_INET else 16
        zero = b'\0' * alen
        msg = _msg(family, ipattr, zero, zero, proto, 0, dport, status, tcp_state, icmp)
        o_src = 32                        # nlmsghdr 16, nfgenmsg 4, ORIG, IP nest, SRC hdr
        o_dst = o_src + alen + 4
        o_sport = o_dst + alen + 16       # PROTO nest, NUM (8), SRC_PORT or ICMP_ID hdr
        olen = struct.unpack_from('=H', msg, 20)[0]
        r = 20 + olen                     # CTA_TUPLE_REPLY
        r_src, r_dst = r + 12, r + 16 + alen
        r_port = r_dst + alen + 16 + (0 if icmp else 8)   # reply DST_PORT = our sport; ICMP id
        t = _TEMPLATES[key] = (msg, o_src, o_dst, o_sport, r_src, r_dst, r_port, alen)
    return t


def _pieces(t):
    """The template cut around the variable fields, for b''.join (the fast path)."""
    msg, o_src, o_dst, o_sport, r_src, r_dst, r_port, alen = t
    cuts = sorted([(o_src, alen), (o_dst, alen), (o_sport, 2), (r_src, alen), (r_dst, alen), (r_port, 2)])
    assert [c[0] for c in cuts] == [o_src, o_dst, o_sport, r_src, r_dst, r_port]
    out, pos = [], 0
    for off, ln in cuts:
        out.append(msg[pos:off])
        pos = off + ln
    out.append(msg[pos:])
    return out


SRC4 = [struct.pack('>I', (10 << 24) | (1 << 16) | k) for k in range(SOURCES + HEAVY_SOURCES)]
DST4 = [struct.pack('>I', (10 << 24) | (200 << 16) | (k + 1)) for k in range(DESTINATIONS)]
SRC6 = [socket.inet_pton(socket.AF_INET6, 'fd00::1:%x' % k) for k in range(SOURCES6)]
DST6 = [socket.inet_pton(socket.AF_INET6, 'fd00:0:0:53::%x' % (k + 1)) for k in range(DESTINATIONS6)]
PORTS = [struct.pack('>H', p) for p in range(65536)]
_PIECES = {}


def entry(i, fast=True):
    """The CT_NEW message of entry number i (unique tuple per i)."""
    h = _mix(i)
    kind = h % 100
    # (source, sport) is unique per i below 1 024 000 entries; 1/8 of the entries come
    # from 16 heavy sources
    if h & 0x700 == 0:
        sidx = SOURCES + (i % HEAVY_SOURCES)
        sport = 1024 + (i // HEAVY_SOURCES) % 64000
    else:
        sidx = i % SOURCES
        sport = 1024 + (i // SOURCES) % 64000
    g = (h >> 12) & 0xfff
    didx = (g >> 3) % 16 if g & 7 == 0 else g % DESTINATIONS
    if kind < 6:
        # (source, sport) unique per i below 65 536 000 entries
        fam, ipattr, icmp = socket.AF_INET6, 3, False
        sport = 1024 + (i // SOURCES6) % 64000
        src, dst = SRC6[i % SOURCES6], DST6[didx % DESTINATIONS6]
        if kind < 3:
            shape = (17, UDP_PORTS[h % len(UDP_PORTS)], 0, None)
        else:
            shape = (6, TCP_PORTS[(h >> 8) % len(TCP_PORTS)], IPS_SEEN_REPLY | IPS_ASSURED, 3)
    else:
        fam, ipattr, icmp = socket.AF_INET, 1, False
        src, dst = SRC4[sidx], DST4[didx]
        if kind < 12:
            icmp = True
            shape = (1, 0, IPS_SEEN_REPLY, None)
        elif kind < 40:
            st, replied = _TCP_STATE[(h >> 20) % 100]
            shape = (6, TCP_PORTS[(h >> 8) % len(TCP_PORTS)],
                     (IPS_SEEN_REPLY | IPS_ASSURED) if replied else 0, st)
        else:
            shape = (17, UDP_PORTS[(h >> 8) % len(UDP_PORTS)],
                     (IPS_SEEN_REPLY | IPS_ASSURED) if (h >> 24) % 3 == 0 else 0, None)
    proto, dport, status, st = shape
    if not fast:
        return _msg(fam, ipattr, src, dst, proto, sport, dport, status, st, icmp)
    key = (fam, proto, dport, status, st, icmp)
    pc = _PIECES.get(key)
    if pc is None:
        pc = _PIECES[key] = _pieces(_template(fam, ipattr, proto, dport, status, st, icmp))
    sp = PORTS[sport]
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], src, pc[5], sp, pc[6]))


_UNIQUE = {}


def entry_unique(i, fast=True):
    """Entry number i of the 'unique' shape: UDP to 10.200.0.1:53 from 11.x.y.z, port 1024-61023."""
    pc = _UNIQUE.get('pieces')
    if pc is None:
        pc = _UNIQUE['pieces'] = _pieces(_template(socket.AF_INET, 1, 17, 53, 0, None, False))
        _UNIQUE['dst'] = struct.pack('>I', (10 << 24) | (200 << 16) | 1)
    src = struct.pack('>I', (11 << 24) + i // 60000)
    sp = PORTS[1024 + i % 60000]
    dst = _UNIQUE['dst']
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], src, pc[5], sp, pc[6]))


def _shape_pieces(name, family, ipattr, proto, dport, status, tcp_state):
    pc = _UNIQUE.get(name)
    if pc is None:
        pc = _UNIQUE[name] = _pieces(_template(family, ipattr, proto, dport, status, tcp_state, False))
    return pc


_DPORT_PIECES = {}


def _pieces_dport(proto, dport, status, tcp_state):
    """IPv4 pieces with their destination port: many ports make many templates, kept here."""
    key = (proto, dport)
    pc = _DPORT_PIECES.get(key)
    if pc is None:
        pc = _DPORT_PIECES[key] = _pieces(_template(socket.AF_INET, 1, proto, dport, status, tcp_state, False))
    return pc


PORTS_SRC = struct.pack('>I', (10 << 24) | (9 << 16) | 1)
PORTS_DST = [struct.pack('>I', (10 << 24) | (8 << 16) | (k + 1)) for k in range(249)]


def entry_ports(i, fast=True):
    """'ports' (a resolver or a crawler): one source, 10.9.0.1, to 249 destinations x ~4,000
    destination ports each, spread over 1024-63023 (~124,000 distinct (protocol, port) keys
    at 1M entries); 9 in 10 UDP unreplied, 1 in 10 TCP SYN_SENT."""
    d = i % 249
    dport = 1024 + (i // 249 + d * 257) % 62000
    if i % 10 == 0:
        pc = _pieces_dport(6, dport, 0, 1)
    else:
        pc = _pieces_dport(17, dport, 0, None)
    src, dst, sp = PORTS_SRC, PORTS_DST[d], PORTS[40000]
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], src, pc[5], sp, pc[6]))


def entry_sources4(i, fast=True):
    """'sources4' (a busy server, or a flood): entry i from the distinct source 11.0.0.0 + i,
    to 10.200.0.1 UDP port 53, unreplied."""
    pc = _shape_pieces('sources4', socket.AF_INET, 1, 17, 53, 0, None)
    src = struct.pack('>I', (11 << 24) + i)
    dst, sp = struct.pack('>I', (10 << 24) | (200 << 16) | 1), PORTS[40000]
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], src, pc[5], sp, pc[6]))


SRC6_BASE = socket.inet_pton(socket.AF_INET6, 'fd00:1::')[:8]
DST6_SERVER = socket.inet_pton(socket.AF_INET6, 'fd00:53::1')


def entry_sources6(i, fast=True):
    """'sources6': the same with distinct IPv6 sources fd00:1::/64 + i, to [fd00:53::1]:53."""
    pc = _shape_pieces('sources6', socket.AF_INET6, 3, 17, 53, 0, None)
    src = SRC6_BASE + struct.pack('>Q', i + 1)
    dst, sp = DST6_SERVER, PORTS[40000]
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], src, pc[5], sp, pc[6]))


NAT_PUBLIC = [struct.pack('>I', (203 << 24) | (0 << 16) | (113 << 8) | (k + 1)) for k in range(16)]


def entry_nat(i, fast=True):
    """'nat' (a NAT gateway): 4,096 inside clients 192.168.x.y to 131,072 outside addresses
    (198.18.0.0/15), TCP ESTABLISHED to 443 (7 in 10) or 80 (2 in 10), UDP to 53 (1 in 10);
    the reply tuple goes to one of 16 public addresses 203.0.113.1-16 and a mapped port,
    not back to the client: the reply tuple differs from the original, as masquerade's."""
    h = _mix(i)
    client = i % 4096
    src = struct.pack('>I', (192 << 24) | (168 << 16) | (client + 256))
    dst = struct.pack('>I', (198 << 24) | (18 << 16) | ((h >> 8) & 0x1ffff))
    kind = h % 10
    if kind < 7:
        pc = _shape_pieces('nat443', socket.AF_INET, 1, 6, 443, IPS_SEEN_REPLY | IPS_ASSURED, 3)
    elif kind < 9:
        pc = _shape_pieces('nat80', socket.AF_INET, 1, 6, 80, IPS_SEEN_REPLY | IPS_ASSURED, 3)
    else:
        pc = _shape_pieces('nat53', socket.AF_INET, 1, 17, 53, IPS_SEEN_REPLY, None)
    # (client, sport) unique per i below 4096 * 60000 entries; (public, mapped port) too
    sp = PORTS[1024 + (i // 4096) % 60000]
    pub = NAT_PUBLIC[i % 16]
    mapped = PORTS[1024 + (i // 16) % 64000]
    return b''.join((pc[0], src, pc[1], dst, pc[2], sp, pc[3], dst, pc[4], pub, pc[5], mapped, pc[6]))


SHAPES = {'mixed': entry, 'unique': entry_unique, 'ports': entry_ports, 'sources4': entry_sources4,
          'sources6': entry_sources6, 'nat': entry_nat}


def _drain(sock, errors):
    """Read the error messages the kernel sent back (no ACKs are requested)."""
    while True:
        try:
            data = sock.recv(1 << 20, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        off = 0
        while off + 20 <= len(data):
            mlen, mtype = struct.unpack_from('=IH', data, off)
            if mtype == 2:
                err = -struct.unpack_from('=i', data, off + 16)[0]
                if err:
                    errors[errno.errorcode.get(err, str(err))] = errors.get(errno.errorcode.get(err, str(err)), 0) + 1
            if mlen < 16:
                break
            off += (mlen + 3) & ~3


def fill(count, start=0, batch_bytes=200 * 1024, shape='mixed'):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)   # SO_RCVBUFFORCE: room for error replies
    sock.setsockopt(socket.SOL_SOCKET, 32, 4 << 20)   # SO_SNDBUFFORCE
    sock.bind((0, 0))
    errors = {}
    buf = []
    size = 0
    t0 = time.time()
    make = SHAPES[shape]
    for i in range(start, start + count):
        m = make(i)
        buf.append(m)
        size += len(m)
        if size >= batch_bytes:
            sock.send(b''.join(buf))
            buf, size = [], 0
            _drain(sock, errors)
    if buf:
        sock.send(b''.join(buf))
    time.sleep(0.05)
    _drain(sock, errors)
    sock.close()
    return {'requested': count, 'errors': errors, 'seconds': round(time.time() - t0, 2)}


def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        sys.stdout.write(__doc__)
        return 2
    count = int(argv[0])
    start = int(argv[argv.index('--start') + 1]) if '--start' in argv else 0
    shape = argv[argv.index('--shape') + 1] if '--shape' in argv else 'mixed'
    res = fill(count, start, shape=shape)
    with open('/proc/sys/net/netfilter/nf_conntrack_count') as f:
        res['count'] = int(f.read())
    sys.stdout.write(json.dumps(res) + '\n')
    return 1 if res['errors'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
