# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal ctnetlink (NETLINK_NETFILTER, NFNL_SUBSYS_CTNETLINK) client.

Standard library only (socket, struct), usable from an Ansible module. It reads
the conntrack table and statistics of the network namespace the calling process
lives in. Needs CAP_NET_ADMIN in that namespace (the kernel answers EPERM
otherwise).

Public API:

* ``ctnetlink_stats()`` -> dict: per-CPU counters summed over CPUs
  (IPCTNL_MSG_CT_GET_STATS_CPU dump) plus ``entries``/``max``
  (IPCTNL_MSG_CT_GET_STATS; None when the kernel does not answer it).
* ``iter_entries(family=AF_UNSPEC)`` -> generator of
  ``(l3, l4, state, src, dst, dport, assured, unreplied)``, the same values a
  by-key parser of /proc/net/nf_conntrack yields (_proc.parse_conntrack_line).
  IPv6 addresses are compressed with inet_ntop (``::1``), as conntrack -L prints
  them and as _proc.compress_ipv6 normalises /proc; note that /proc itself prints
  them in full (kernel ``%pI6``: ``0000:0000:0000:0000:0000:0000:0000:0001``),
  which ``ipv6_compressed=False`` reproduces.
* ``parse_stats(data)`` / ``parse_entries(data)``: pure parsers of a buffer of
  concatenated netlink messages, for unit tests.
* ``dump_breakdown(top, capacity, family)``: _breakdown.summarize() of one dump,
  counted on raw values (the fast path); ``EntryDump(**kwargs)``: one dump as an
  entry source, iterable (iter_entries) with a breakdown() method (dump_breakdown).
* ``count_dump_chunks(acc, chunks, family)``: dump_breakdown's counting over datagrams
  given in chunks (benchmarks/timeline.py times it over a capture).
* ``retry_dump(consume, attempts=DUMP_RESTARTS, **kwargs)``: consume(EntryDump(**kwargs)),
  started over (up to ``attempts`` more times) when the dump was interrupted midway;
  what _gather reads the table with.
* ``NetlinkError``: ``errno`` is set when the kernel (or the socket layer)
  returned one.

Decoding: one walk over the conntrack messages, ``_decode_entries``, serves both
readers of a dump. It hands each entry out as raw values (address family, protocol
and TCP state numbers, status bits, port and packed addresses) to callables of the
caller: ``_count_entries_into`` (dump_breakdown) counts them as they are, and
``_parse_entries_into`` (iter_entries, parse_entries) turns them into the entry tuples
afterwards, one datagram at a time. The offsets of the entry layout it reads are
written down once, above ``_ATTRS_AT``. The breakdown reads runs of messages of one
byte layout (a flood: IPv4 UDP after IPv4 UDP) without it: a template of the layout
(``_Template``, a regular expression and a Struct made from the same offsets) spans the
run with one match and reads it with one ``iter_unpack``, giving the same raw values.

Interrupted or overrun dumps: the kernel flags a dump whose table changed
under it with NLM_F_DUMP_INTR, and a receive queue overrun gives ENOBUFS.
``iter_entries`` restarts the dump transparently (up to 3 times) when this
happens before the first entry was handed to the caller; afterwards a restart
would hand out duplicates, so it raises ``DumpInterrupted`` (a NetlinkError
with errno EINTR or ENOBUFS) and the caller may start over (see
``retry_dump``). ``ctnetlink_stats`` buffers everything and simply retries.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno as _errno
import operator
import os
import re
import socket
import struct
from itertools import repeat

from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as bd

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
NFNETLINK_V0 = 0

IPCTNL_MSG_CT_NEW = 0
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_GET_STATS_CPU = 4
IPCTNL_MSG_CT_GET_STATS = 5

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300

NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = 0x3fff

# enum ctattr_type
CTA_TUPLE_ORIG = 1
CTA_TUPLE_REPLY = 2
CTA_STATUS = 3
CTA_PROTOINFO = 4
# enum ctattr_tuple
CTA_TUPLE_IP = 1
CTA_TUPLE_PROTO = 2
# enum ctattr_ip
CTA_IP_V4_SRC = 1
CTA_IP_V4_DST = 2
CTA_IP_V6_SRC = 3
CTA_IP_V6_DST = 4
# enum ctattr_l4proto
CTA_PROTO_NUM = 1
CTA_PROTO_SRC_PORT = 2
CTA_PROTO_DST_PORT = 3
# enum ctattr_protoinfo / ctattr_protoinfo_tcp
CTA_PROTOINFO_TCP = 1
CTA_PROTOINFO_TCP_STATE = 1

# enum ctattr_stats_cpu -> result key
STATS_CPU_ATTRS = {
    2: 'found',             # CTA_STATS_FOUND
    4: 'invalid',           # CTA_STATS_INVALID
    8: 'insert',            # CTA_STATS_INSERT
    9: 'insert_failed',     # CTA_STATS_INSERT_FAILED
    10: 'drop',             # CTA_STATS_DROP
    11: 'early_drop',       # CTA_STATS_EARLY_DROP
    12: 'icmp_error',       # CTA_STATS_ERROR
    13: 'search_restart',   # CTA_STATS_SEARCH_RESTART
    14: 'clash_resolve',    # CTA_STATS_CLASH_RESOLVE
    15: 'chaintoolong',     # CTA_STATS_CHAIN_TOOLONG
}
STATS_KEYS = ('found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop',
              'icmp_error', 'search_restart', 'clash_resolve', 'chaintoolong')
# enum ctattr_stats_global
CTA_STATS_GLOBAL_ENTRIES = 1
CTA_STATS_GLOBAL_MAX_ENTRIES = 2

IPS_SEEN_REPLY = 0x2
IPS_ASSURED = 0x4

# l4proto_name() of net/netfilter/nf_conntrack_standalone.c
L4_NAMES = {1: 'icmp', 6: 'tcp', 17: 'udp', 136: 'udplite', 58: 'icmpv6',
            132: 'sctp', 33: 'dccp', 47: 'gre'}
PORT_PROTOS = frozenset((6, 17, 136, 132, 33))
# tcp_conntrack_names[] (what /proc/net/nf_conntrack prints)
TCP_STATES = ('NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT',
              'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2')

_AF_INET = 2
_AF_INET6 = 10
_L3_NAMES = {_AF_INET: 'ipv4', _AF_INET6: 'ipv6'}

_MSG_CT_NEW = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW
_MSG_CT_GET = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET
_MSG_STATS_CPU = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU
_MSG_STATS = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS

_NLMSGHDR = struct.Struct('=IHHII')     # len, type, flags, seq, pid (host order)
_NLMSG_LTF = struct.Struct('=IHH')      # len, type, flags
_NFGENMSG = struct.Struct('=BBH')       # family, version, res_id (res_id is big endian)
_NLA = struct.Struct('=HH')             # nla_len, nla_type (host order)
_I32 = struct.Struct('=i')
_BE32 = struct.Struct('>I')
_BE16 = struct.Struct('>H')
_BE64 = struct.Struct('>Q')

RCVBUF_SIZE = 4 * 1024 * 1024           # SO_RCVBUF(FORCE) request
RECV_CHUNK = 256 * 1024                 # recv_into() buffer; dump skbs are <= 32 KiB
DUMP_RESTARTS = 3


class NetlinkError(Exception):
    """A netlink failure. ``errno`` is the kernel's (positive) errno or None."""

    def __init__(self, message, errno=None):
        super(NetlinkError, self).__init__(message)
        self.errno = errno


class DumpInterrupted(NetlinkError):
    """The dump was interrupted (NLM_F_DUMP_INTR) or overran (ENOBUFS)."""


_HINTS = {
    _errno.EPERM: 'ctnetlink needs CAP_NET_ADMIN in this network namespace (run as root)',
    _errno.EACCES: 'ctnetlink needs CAP_NET_ADMIN in this network namespace (run as root)',
    _errno.EPROTONOSUPPORT: 'NETLINK_NETFILTER is not available (kernel built without nfnetlink?)',
    _errno.ENOENT: 'ctnetlink subsystem or object not found (nf_conntrack_netlink not loaded?)',
    _errno.EOPNOTSUPP: 'ctnetlink is not available (nf_conntrack_netlink not loaded/built?)',
    _errno.ENOBUFS: 'netlink receive buffer overrun',
    _errno.EINTR: 'dump interrupted because the table changed during the dump',
}


def _error(err, what):
    hint = _HINTS.get(err)
    msg = '%s: %s' % (what, os.strerror(err) if err else 'error')
    if hint:
        msg += ' (%s)' % hint
    return NetlinkError(msg, err)


# --------------------------------------------------------------------------
# address formatting

def _fmt_ipv6_proc(raw):
    # kernel %pI6 as used by print_tuple(): 8 groups of 4 lower-case hex digits
    h = bytearray(raw)
    return ':'.join('%02x%02x' % (h[i], h[i + 1]) for i in range(0, 16, 2))


def _fmt_ipv6_compressed(raw):
    # glibc inet_ntop, like conntrack-tools (RFC 5952; "::ffff:1.2.3.4" for mapped and
    # "::1.2.3.4" for IPv4-compatible addresses; the kernel's %pI6c differs on the latter)
    return socket.inet_ntop(socket.AF_INET6, raw)


# --------------------------------------------------------------------------
# generic netlink message walking (used for stats, errors and as the fallback
# for conntrack messages the fast path below does not recognise)

def _attrs(data, start, end):
    """Yield (type & NLA_TYPE_MASK, payload_start, payload_end) of the attributes in [start, end)."""
    unpack = _NLA.unpack_from
    while start + 4 <= end:
        alen, atype = unpack(data, start)
        if alen < 4 or start + alen > end:
            raise NetlinkError('malformed netlink attribute at offset %d (len %d)' % (start, alen))
        yield atype & NLA_TYPE_MASK, start + 4, start + alen
        start += (alen + 3) & ~3


def _attr_dict(data, start, end):
    d = {}
    for atype, s, e in _attrs(data, start, end):
        d[atype] = (s, e)
    return d


def _be_uint(data, s, e):
    n = e - s
    if n == 4:
        return _BE32.unpack_from(data, s)[0]
    if n == 8:
        return _BE64.unpack_from(data, s)[0]
    if n == 2:
        return _BE16.unpack_from(data, s)[0]
    if n == 1:
        return data[s]
    raise NetlinkError('unexpected integer attribute size %d' % n)


def _check_error(data, off, mlen):
    """Handle an NLMSG_ERROR message; returns True for an ACK (errno 0)."""
    if mlen < 20:
        raise NetlinkError('truncated NLMSG_ERROR message')
    err = -_I32.unpack_from(data, off + 16)[0]
    if err == 0:
        return True
    raise _error(err, 'ctnetlink request failed')


def _check_done(data, off, mlen):
    # NLMSG_DONE may carry the dump's error code (netlink_dump_done)
    if mlen >= 20:
        err = -_I32.unpack_from(data, off + 16)[0]
        if err > 0:
            raise _error(err, 'ctnetlink dump failed')


def _iter_messages(data):
    """Yield (type, flags, offset, length) for each netlink message in data."""
    off = 0
    end = len(data)
    unpack = _NLMSG_LTF.unpack_from
    while off + 16 <= end:
        mlen, mtype, mflags = unpack(data, off)
        if mlen < 16 or off + mlen > end:
            raise NetlinkError('malformed netlink message at offset %d (len %d)' % (off, mlen))
        yield mtype, mflags, off, mlen
        off += (mlen + 3) & ~3


# --------------------------------------------------------------------------
# statistics

def _parse_stats_into(data, acc):
    """Accumulate stats messages of data into acc. Returns (done, interrupted)."""
    done = intr = False
    for mtype, mflags, off, mlen in _iter_messages(data):
        if mflags & NLM_F_DUMP_INTR:
            intr = True
        if mtype == NLMSG_DONE:
            _check_done(data, off, mlen)
            done = True
            break
        if mtype == NLMSG_ERROR:
            _check_error(data, off, mlen)   # raises unless it is an ACK
            done = True
            break
        if mtype == NLMSG_OVERRUN:
            raise _error(_errno.ENOBUFS, 'ctnetlink stats')
        if mtype == _MSG_STATS_CPU:
            acc['_cpus'] = acc.get('_cpus', 0) + 1
            for atype, s, e in _attrs(data, off + 20, off + mlen):
                key = STATS_CPU_ATTRS.get(atype)
                if key is not None:
                    acc[key] += _be_uint(data, s, e)
        elif mtype == _MSG_STATS:
            for atype, s, e in _attrs(data, off + 20, off + mlen):
                if atype == CTA_STATS_GLOBAL_ENTRIES:
                    acc['entries'] = _be_uint(data, s, e)
                elif atype == CTA_STATS_GLOBAL_MAX_ENTRIES:
                    acc['max'] = _be_uint(data, s, e)
    return done, intr


def _new_stats():
    acc = dict.fromkeys(STATS_KEYS, 0)
    acc['entries'] = None
    acc['max'] = None
    return acc


def parse_stats(data):
    """Parse GET_STATS_CPU and/or GET_STATS replies (concatenated messages) into the stats dict."""
    acc = _new_stats()
    _parse_stats_into(data, acc)
    acc.pop('_cpus', None)
    return acc


# --------------------------------------------------------------------------
# conntrack entries
#
# One decoder, _decode_entries, walks the conntrack messages of a datagram for both users:
# _count_entries_into (raw keys for the breakdown: dump_breakdown, the hot path of the
# facts module) and _parse_entries_into (entry tuples: parse_entries, iter_entries). It
# hands every entry out as raw values to three callables of the caller's and the messages
# it does not recognise to a fourth one. Both users pass list appends (C calls, so the walk
# costs what the two hand-specialised copies it replaced cost; a Python callback per entry
# would add ~10 %); _parse_entries_into turns the raw values into tuples afterwards, once
# per datagram, with the parts that depend on the raw key only cached (_ENTRY_PARTS). A
# sink that counts as it goes (bounded counters...) fits in as objects with an append().
#
# The entry layout the fast path reads (the only place its offsets are written down).
# ctnetlink_fill_info() emits, for an entry in the default zone:
#   CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_MARK, CTA_ID, CTA_USE, CTA_TIMEOUT,
#   [CTA_PROTOINFO ...]
# and lays the tuple nests out the same way every time. One precompiled Struct per (family,
# ORIG length) (_body_struct) reads ORIG, the REPLY header and CTA_STATUS in one call; the
# fixed attribute headers it returns are compared as whole integers (the _*_HDR(S)
# constants) and any difference (zones, other kernels, NAT with different tuple sizes...)
# sends the message to the generic parser (_parse_entry_generic). Offsets from the start of
# CTA_TUPLE_ORIG, which is the message's first attribute (_ATTRS_AT bytes into it: nlmsghdr
# and nfgenmsg), IPv4 | IPv6; * marks what the Struct returns:
#
#    0 |  0   CTA_TUPLE_ORIG nest header            (read by _MSG_HEAD with the nlmsghdr)
#    4 |  4   CTA_TUPLE_IP nest header (len 20|44)  * \ one 64-bit integer (_V4_IP_HDRS)
#    8 |  8   CTA_IP_V4_SRC|V6_SRC header (8|20)    * /
#   12 | 12   source address (4|16 bytes)           * packed, as add_src gets it
#   16 | 28   CTA_IP_V4_DST|V6_DST header (8|20)    * (_V4_DST_HDR, _V6_DST_HDR)
#   20 | 32   destination address                   * packed, as add_dst gets it
#   24 | 48   CTA_TUPLE_PROTO nest header
#   28 | 52   CTA_PROTO_NUM header (len 5)          * (_NUM_HDR)
#   32 | 56   protocol number, 3 bytes padding      *
#   36 | 60   CTA_PROTO_SRC_PORT header, port, pad  (ICMP: its id; not read)
#   44 | 68   CTA_PROTO_DST_PORT header (len 6)     * (_DPORT_HDR; port protocols only)
#   48 | 72   destination port (big endian)         * read in host order; _swap16_table()
#   50 | 74   end of ORIG's fixed part (_ORIG_FIXED)
#   al        CTA_TUPLE_REPLY header                * al = ORIG's length aligned to 4; REPLY
#                                                     is as long as ORIG (checked on this header)
#   2al       CTA_STATUS header (len 8)             * (_STATUS_HDR)
#   2al + 7   low byte of the big-endian status     * (IPS_ASSURED, IPS_SEEN_REPLY are in it)
#   2al + _PROTOINFO_AFTER_STATUS (or 8 more)       CTA_PROTOINFO of TCP, read by _PROTOINFO_TCP:
#             header, CTA_PROTOINFO_TCP nest header, CTA_PROTOINFO_TCP_STATE header (len 5),
#             the state; when neither offset has it, _tcp_state_walk() walks the attributes
#             after CTA_STATUS.
_ATTRS_AT = 20                              # nlmsghdr (16) + nfgenmsg (4)
_MSG_HEAD = struct.Struct('=IHH8xB3xHH')   # nlmsg len/type/flags, nfgen family, 1st attr len/type
_MSG_HEAD_AT_LEAST = _MSG_HEAD.size         # 24: shorter messages are read by _NLMSG_LTF only


def _orig_format(addr_len):
    # the rows of the table above, from offset 0 to _ORIG_FIXED
    return '=4xQ%dsI%ds4xIB3x8xIH' % (addr_len, addr_len)


_ORIG_FORMATS = dict((fam, _orig_format(n)) for fam, n in ((_AF_INET, 4), (_AF_INET6, 16)))
_ORIG_FIXED = dict((fam, struct.calcsize(fmt)) for fam, fmt in _ORIG_FORMATS.items())   # 50, 74
_BODY_STRUCTS = {}


def _body_struct(fam, olen):
    """(unpack_from of the Struct over CTA_TUPLE_ORIG, the CTA_TUPLE_REPLY header and
    CTA_STATUS, its size, the expected CTA_TUPLE_REPLY header as an integer), or (None, 0,
    None) when there is no fast layout. Cached per (family, ORIG length) in _BODY_STRUCTS
    (at most 256 of them)."""
    key = (fam << 16) | olen
    body = _BODY_STRUCTS.get(key)
    if body is not None:
        return body
    body = (None, 0, None)
    fixed = _ORIG_FIXED.get(fam)
    al = (olen + 3) & ~3
    if fixed is not None and al >= fixed + 2 and olen < 0x10000:
        # the rest of ORIG, REPLY hdr, the rest of REPLY, STATUS hdr, 3 bytes, the low byte
        # of the big-endian status word
        st = struct.Struct(_ORIG_FORMATS[fam] + '%dxI%dxI3xB' % (al - fixed, al - 4))
        body = (st.unpack_from, st.size, _hdr((olen, _REPLY_TYPE)))
    if len(_BODY_STRUCTS) < 256:
        _BODY_STRUCTS[key] = body
    return body


def _hdr(*pairs):
    raw = b''.join(_NLA.pack(ln, tp) for ln, tp in pairs)
    return struct.unpack('=Q' if len(raw) == 8 else '=I', raw)[0]


_V4_IP_HDRS = _hdr((20, NLA_F_NESTED | CTA_TUPLE_IP), (8, CTA_IP_V4_SRC))
_V4_DST_HDR = _hdr((8, CTA_IP_V4_DST))
_V6_IP_HDRS = _hdr((44, NLA_F_NESTED | CTA_TUPLE_IP), (20, CTA_IP_V6_SRC))
_V6_DST_HDR = _hdr((20, CTA_IP_V6_DST))
_NUM_HDR = _hdr((5, CTA_PROTO_NUM))
_DPORT_HDR = _hdr((6, CTA_PROTO_DST_PORT))
_STATUS_HDR = _hdr((8, CTA_STATUS))
_STATE_HDR = _hdr((5, CTA_PROTOINFO_TCP_STATE))
_ORIG_TYPE = NLA_F_NESTED | CTA_TUPLE_ORIG
_REPLY_TYPE = NLA_F_NESTED | CTA_TUPLE_REPLY
# CTA_PROTOINFO hdr, CTA_PROTOINFO_TCP nest hdr (skipped), TCP_STATE hdr, state (13 bytes)
_PROTOINFO_TCP = struct.Struct('=HH4xIB')
# offset of CTA_PROTOINFO from the start of CTA_STATUS: STATUS, MARK, ID, USE, TIMEOUT
# (8 bytes each; 6.x kernels), or one more 8-byte attribute before it on some builds; the
# decoder tries both, then walks the attributes
_PROTOINFO_AFTER_STATUS = 5 * 8
_IPPROTO_TCP = 6
_STATUS_FLAGS = IPS_ASSURED | IPS_SEEN_REPLY     # what a raw key keeps of the status
_SWAP16 = None


def _swap16_table():
    global _SWAP16
    if _SWAP16 is None:
        if struct.pack('=H', 1) == b'\x00\x01':   # big-endian host: network order is native
            _SWAP16 = list(range(65536))
        else:
            _SWAP16 = [((x & 0xff) << 8) | (x >> 8) for x in range(65536)]
    return _SWAP16


def _walk_entry_generic(data, off, mlen):
    """Full attribute walk of one conntrack message: (raw source, raw destination,
    protocol number, destination port, status, TCP state number), None for what the
    message lacks; None without an original tuple."""
    top = _attr_dict(data, off + _ATTRS_AT, off + mlen)
    orig = top.get(CTA_TUPLE_ORIG)
    if orig is None:
        return None
    tup = _attr_dict(data, orig[0], orig[1])
    src = dst = None
    ip = tup.get(CTA_TUPLE_IP)
    if ip is not None:
        ipd = _attr_dict(data, ip[0], ip[1])
        for sk, dk in ((CTA_IP_V4_SRC, CTA_IP_V4_DST), (CTA_IP_V6_SRC, CTA_IP_V6_DST)):
            if sk in ipd:
                src = bytes(data[ipd[sk][0]:ipd[sk][1]])
            if dk in ipd:
                dst = bytes(data[ipd[dk][0]:ipd[dk][1]])
    pnum = None
    dport = None
    proto = tup.get(CTA_TUPLE_PROTO)
    if proto is not None:
        pd = _attr_dict(data, proto[0], proto[1])
        if CTA_PROTO_NUM in pd:
            pnum = data[pd[CTA_PROTO_NUM][0]]
        if pnum in PORT_PROTOS and CTA_PROTO_DST_PORT in pd:
            dport = _BE16.unpack_from(data, pd[CTA_PROTO_DST_PORT][0])[0]
    status = 0
    st = top.get(CTA_STATUS)
    if st is not None:
        status = _be_uint(data, st[0], st[1])
    state = None
    if pnum == _IPPROTO_TCP:
        pi = top.get(CTA_PROTOINFO)
        if pi is not None:
            tcp = _attr_dict(data, pi[0], pi[1]).get(CTA_PROTOINFO_TCP)
            if tcp is not None:
                sd = _attr_dict(data, tcp[0], tcp[1]).get(CTA_PROTOINFO_TCP_STATE)
                if sd is not None:
                    state = data[sd[0]]
    return src, dst, pnum, dport, status, state


def _parse_entry_generic(data, off, mlen, l3, fmt6, cache4, cache6):
    """Full attribute walk of one conntrack message. Returns the entry tuple or None."""
    w = _walk_entry_generic(data, off, mlen)
    if w is None:
        return None
    raw_src, raw_dst, pnum, dport, status, state = w
    addrs = []
    for raw in (raw_src, raw_dst):
        if raw is not None:
            cache, fmt = (cache4, socket.inet_ntoa) if len(raw) == 4 else (cache6, fmt6)
            raw = cache.get(raw) or cache.setdefault(raw, fmt(raw))
        addrs.append(raw)
    return (l3, L4_NAMES.get(pnum, 'unknown'), None if state is None else _tcp_state_name(state),
            addrs[0], addrs[1], dport, bool(status & IPS_ASSURED), not status & IPS_SEEN_REPLY)


def _tcp_state_name(s):
    """What /proc prints for TCP state number s."""
    return TCP_STATES[s] if s < len(TCP_STATES) else str(s)


def _tcp_state_walk(data, attr, mend):
    """TCP state number from the CTA_PROTOINFO found walking attributes from offset attr, or None."""
    while attr + 4 <= mend:
        alen, atype = _NLA.unpack_from(data, attr)
        if alen < 4:
            return None
        if atype & NLA_TYPE_MASK == CTA_PROTOINFO:
            if alen >= _PROTOINFO_TCP.size:
                shdr, s = _PROTOINFO_TCP.unpack_from(data, attr)[2:4]
                if shdr == _STATE_HDR:
                    return s
            return None
        attr += (alen + 3) & ~3
    return None


def _tcp_state_slow(data, b, mend):
    """The TCP state of a message whose CTA_PROTOINFO is not right after CTA_STATUS (b: where
    CTA_STATUS starts): after a CTA_ZONE, or found by walking the attributes; None if absent."""
    p = b + _PROTOINFO_AFTER_STATUS + 8
    if p + _PROTOINFO_TCP.size <= mend:
        ptype, shdr, state = _PROTOINFO_TCP.unpack_from(data, p)[1:4]
        if ptype & NLA_TYPE_MASK == CTA_PROTOINFO and shdr == _STATE_HDR:
            return state
    return _tcp_state_walk(data, b + 8, mend)  # the attributes after CTA_STATUS (8 bytes)


def _control_message(data, off, mlen, mtype):
    """True when a message other than a conntrack one ends the dump (NLMSG_DONE, or an ACK);
    raises NetlinkError when it reports an error (NLMSG_ERROR, NLMSG_OVERRUN, DONE with an error)."""
    if mtype == NLMSG_DONE:
        _check_done(data, off, mlen)
        return True
    if mtype == NLMSG_ERROR:
        _check_error(data, off, mlen)   # raises unless it is an ACK
        return True
    if mtype == NLMSG_OVERRUN:
        raise _error(_errno.ENOBUFS, 'ctnetlink dump')
    return False


def _decode_entries(data, add_key, add_src, add_dst, add_other, family=0, fast=True):
    """The one walk over the complete netlink messages of data (both users above). Per conntrack
    message of the fixed layout described above: add_key((address family, protocol number, TCP
    state number or None, status & (IPS_ASSURED | IPS_SEEN_REPLY), destination port as its two
    big-endian bytes read in host order (_swap16_table() turns it into the port) or None)),
    add_src(packed source), add_dst(packed destination); for one of another layout (or every one
    with fast=False) add_other(data, offset, length, address family). Messages of another family
    than family (0: any) are skipped. Stops after NLMSG_DONE or an ACK, and before a message cut at
    the end of data. Returns (offset of the unconsumed bytes, done, interrupted by NLM_F_DUMP_INTR);
    raises NetlinkError as _control_message() says, or on a message shorter than its header."""
    head, head_short, head_size = _MSG_HEAD.unpack_from, _NLMSG_LTF.unpack_from, _MSG_HEAD_AT_LEAST
    bodies, body_struct, port_protos = _BODY_STRUCTS, _body_struct, PORT_PROTOS
    pinfo, pinfo_size = _PROTOINFO_TCP.unpack_from, _PROTOINFO_TCP.size
    ct_new, ct_get = _MSG_CT_NEW, _MSG_CT_GET
    V4_IP_HDRS, V4_DST_HDR, V6_IP_HDRS, V6_DST_HDR = _V4_IP_HDRS, _V4_DST_HDR, _V6_IP_HDRS, _V6_DST_HDR
    NUM_HDR, DPORT_HDR, STATUS_HDR, STATE_HDR = _NUM_HDR, _DPORT_HDR, _STATUS_HDR, _STATE_HDR
    ORIG_TYPE = _ORIG_TYPE if fast else -1      # -1: no message takes the fast path
    AF_INET, TCP, PROTOINFO, TYPE_MASK = _AF_INET, _IPPROTO_TCP, CTA_PROTOINFO, NLA_TYPE_MASK
    ATTRS_AT, FLAGS, PI_AFTER = _ATTRS_AT, _STATUS_FLAGS, _PROTOINFO_AFTER_STATUS
    done = intr = False
    off = 0
    end = len(data)
    while off + 16 <= end:
        if off + head_size <= end:
            mlen, mtype, mflags, fam, olen, otype = head(data, off)
        else:
            mlen, mtype, mflags = head_short(data, off)
            fam = olen = otype = 0
        if mlen < 16:
            raise NetlinkError('malformed netlink message at offset %d (len %d)' % (off, mlen))
        if off + mlen > end:
            break
        if mflags & NLM_F_DUMP_INTR:
            intr = True
        if mtype == ct_new or mtype == ct_get:
            ok = False
            if family and fam != family:
                ok = True    # another address family: skipped, not counted
            elif otype == ORIG_TYPE:
                unpack, size, reply_hdr = bodies.get((fam << 16) | olen) or body_struct(fam, olen)
                attrs_at, mend = off + ATTRS_AT, off + mlen
                if attrs_at + size <= mend and unpack is not None:
                    iphdrs, raw_src, dhdr, raw_dst, numhdr, pnum, h3, dp, rhdr, shdr, st = unpack(data, attrs_at)
                    ok = (iphdrs == V4_IP_HDRS and dhdr == V4_DST_HDR) if fam == AF_INET else (
                        iphdrs == V6_IP_HDRS and dhdr == V6_DST_HDR)
                    if ok and numhdr == NUM_HDR and shdr == STATUS_HDR and rhdr == reply_hdr:
                        state = None
                        if pnum in port_protos:
                            if h3 != DPORT_HDR:
                                ok = False
                            elif pnum == TCP:
                                # CTA_STATUS starts at attrs_at + 2 * aligned(olen); CTA_PROTOINFO follows
                                b = attrs_at + 2 * ((olen + 3) & ~3)
                                p = b + PI_AFTER
                                if p + pinfo_size <= mend:
                                    ptype, shdr, state = pinfo(data, p)[1:4]
                                    if ptype & TYPE_MASK != PROTOINFO or shdr != STATE_HDR:
                                        state = None
                                if state is None:
                                    state = _tcp_state_slow(data, b, mend)
                                    ok = state is not None
                        else:
                            dp = None
                        if ok:
                            add_key((fam, pnum, state, st & FLAGS, dp))
                            add_src(raw_src)
                            add_dst(raw_dst)
                    else:
                        ok = False
            if not ok:
                add_other(data, off, mlen, fam)
        elif _control_message(data, off, mlen, mtype):
            done = True
            off += (mlen + 3) & ~3
            break
        off += (mlen + 3) & ~3
    return off, done, intr


# The parts of an entry tuple that depend on its raw key only: raw key -> (l3, l4, state,
# dport, assured, unreplied, is IPv6). Bounded (cleared past _ENTRY_PARTS_MAX keys).
_ENTRY_PARTS = {}
_ENTRY_PARTS_MAX = 4096


def _entry_parts(key):
    fam, pnum, state, flags, dport = key
    if state is not None:
        state = _tcp_state_name(state)
    if dport is not None:
        dport = _swap16_table()[dport]
    parts = (_L3_NAMES.get(fam, 'unknown'), L4_NAMES.get(pnum, 'unknown'), state, dport,
             flags & IPS_ASSURED != 0, flags & IPS_SEEN_REPLY == 0, fam != _AF_INET)
    if len(_ENTRY_PARTS) >= _ENTRY_PARTS_MAX:
        _ENTRY_PARTS.clear()
    _ENTRY_PARTS[key] = parts
    return parts


def _format_entries(keys, addrs, append, caches, fmt6):
    """append() the entry tuple of each raw key of _decode_entries and its two addresses
    (source, destination, one after the other in addrs); empties keys and addrs."""
    cache4, cache6 = caches
    fmt4 = socket.inet_ntoa
    parts_of = _ENTRY_PARTS.get
    new_parts = _entry_parts
    it = iter(addrs)
    for key, raw_src, raw_dst in zip(keys, it, it):   # zip takes raw_src, then raw_dst from it
        parts = parts_of(key)
        if parts is None:
            parts = new_parts(key)
        l3, l4, state, dport, assured, unreplied, v6 = parts
        if v6:
            cache = cache6
            fmt = fmt6
        else:
            cache = cache4
            fmt = fmt4
        src = cache.get(raw_src)
        if src is None:
            if len(cache) > 65536:
                cache.clear()
            src = cache[raw_src] = fmt(raw_src)
        dst = cache.get(raw_dst)
        if dst is None:
            dst = cache[raw_dst] = fmt(raw_dst)
        append((l3, l4, state, src, dst, dport, assured, unreplied))
    del keys[:], addrs[:]


def _parse_entries_into(data, out, family=0, ipv6_compressed=True, caches=None, fast=True):
    """Append the entries of the conntrack messages in data to out, in their order.

    Returns (done, interrupted). caches is a (v4, v6) pair of dicts from raw
    address bytes to text, reused across calls. Raises NetlinkError on
    NLMSG_ERROR (errno != 0), NLMSG_OVERRUN and malformed messages (a message cut
    at the end of data is one). fast=False reads every message with the generic
    parser (the reference of the tests).
    """
    if caches is None:
        caches = ({}, {})
    fmt6 = _fmt_ipv6_compressed if ipv6_compressed else _fmt_ipv6_proc
    keys, addrs = [], []
    append = out.append

    def other(data, off, mlen, fam):
        if keys:   # the entries before this one first: out keeps the order of the dump
            _format_entries(keys, addrs, append, caches, fmt6)
        ent = _parse_entry_generic(data, off, mlen, _L3_NAMES.get(fam, 'unknown'), fmt6,
                                   caches[0], caches[1])
        if ent is not None:
            append(ent)

    try:
        off, done, intr = _decode_entries(data, keys.append, addrs.append, addrs.append, other,
                                          family, fast)
    finally:
        _format_entries(keys, addrs, append, caches, fmt6)
    if not done and off + 16 <= len(data):
        raise NetlinkError('malformed netlink message at offset %d (len %d)'
                           % (off, _NLMSG_LTF.unpack_from(data, off)[0]))
    return done, intr


def parse_entries(data, family=0, ipv6_compressed=True, fast=True):
    """Parse a buffer of concatenated ctnetlink messages into a list of entry tuples.

    Raises NetlinkError for NLMSG_ERROR with a non-zero errno, and
    DumpInterrupted when a message carries NLM_F_DUMP_INTR.
    """
    out = []
    done, intr = _parse_entries_into(data, out, family, ipv6_compressed, None, fast)
    if intr:
        raise DumpInterrupted('ctnetlink dump interrupted (NLM_F_DUMP_INTR)', _errno.EINTR)
    return out


# --------------------------------------------------------------------------
# templates: runs of messages of one byte layout, read in C
#
# The messages of a dump mostly come in runs of one byte layout (a flood or a busy server:
# IPv4 UDP after IPv4 UDP): the same length, the same attribute headers at the same offsets;
# only the values differ. A template is one such layout, made from a message of the dump: a
# bytes regular expression that fixes every byte the fast path of _decode_entries checks (the
# message's length, type and flags, the address family, the headers of ORIG and its IP nest, of
# the destination address, CTA_PROTO_NUM and the protocol number, CTA_PROTO_DST_PORT for the
# protocols with ports, CTA_TUPLE_REPLY, CTA_STATUS, and for TCP the CTA_PROTOINFO type and the
# TCP_STATE header _PROTOINFO_AFTER_STATUS bytes after CTA_STATUS) and leaves the others free,
# and a Struct that reads the values that fast path hands out, at the same offsets (addresses,
# destination port, the status byte, the TCP state). A message the template matches gets from
# it exactly the raw values _decode_entries would give it.
#
# _count_entries_into() matches the run of messages of the layout of the message it is at
# ("(?:T)+": the messages it spans follow each other, each exactly as long as its length field
# says) and reads them all with one iter_unpack: no Python code per message. Everything else
# (short runs, NLMSG_DONE, NLM_F_DUMP_INTR, zones, other kernels' layouts) goes through
# _decode_entries, a window of bytes at a time; the window doubles while runs stay short (a
# table of mixed layouts is read as before, at the cost of a match every _WINDOW_MAX bytes).
_TEMPLATES = {}            # layout key -> _Template, or None (not a layout the fast path reads)
_TEMPLATES_MAX = 256
_FLAGS_OF = tuple(b & _STATUS_FLAGS for b in range(256))      # status byte -> raw key flags
_U16 = struct.Struct('=H')
_U32 = struct.Struct('=I')
# offsets from the start of a message (the table above, plus _ATTRS_AT): source, destination,
# address length, protocol number, destination port
_AT = {_AF_INET: (32, 40, 4, 52, 68), _AF_INET6: (32, 52, 16, 76, 92)}
_IP_HDRS = {_AF_INET: (_V4_IP_HDRS, _V4_DST_HDR), _AF_INET6: (_V6_IP_HDRS, _V6_DST_HDR)}
_RUN_MIN = 16              # a run of fewer messages costs more than it saves
_WINDOW = 4096             # bytes for _decode_entries after a short run, doubled after each
_WINDOW_MAX = 1 << 20      # short run in a row


def _layout_key(data, off, end, family):
    """(length, type, flags, family, ORIG length, protocol number, CTA_PROTOINFO type of TCP
    or 0) of the complete conntrack message at off: what a template fixes besides the constant
    headers; None for another message, or one of another family than family (0: any)."""
    if off + _MSG_HEAD_AT_LEAST > end:
        return None
    mlen, mtype, mflags, fam, olen, otype = _MSG_HEAD.unpack_from(data, off)
    at = _AT.get(fam)
    if at is None or otype != _ORIG_TYPE or off + max(mlen, at[3] + 1) > end or (family and fam != family):
        return None
    pnum = data[off + at[3]]
    ptype = 0
    q = off + _ATTRS_AT + 2 * ((olen + 3) & ~3) + _PROTOINFO_AFTER_STATUS + 2
    if pnum == _IPPROTO_TCP and q + 2 <= off + mlen:
        ptype = _U16.unpack_from(data, q)[0]
    return (mlen, mtype, mflags, fam, olen, pnum, ptype)


def _template_parts(key):
    """([(offset, bytes the template fixes)], [(offset, Struct code of a value)]) of a layout
    key (_layout_key), or None when _decode_entries would not read such messages through its
    fast path, or not at these offsets."""
    mlen, mtype, mflags, fam, olen, pnum, ptype = key
    al = (olen + 3) & ~3
    status = _ATTRS_AT + 2 * al
    pinfo = status + _PROTOINFO_AFTER_STATUS
    tcp = pnum == _IPPROTO_TCP
    if (mtype not in (_MSG_CT_NEW, _MSG_CT_GET) or mflags & NLM_F_DUMP_INTR or mlen & 3
            or al < _ORIG_FIXED[fam] + 2 or mlen < status + 8
            or (tcp and (mlen < pinfo + _PROTOINFO_TCP.size or ptype & NLA_TYPE_MASK != CTA_PROTOINFO))):
        return None
    src, dst, alen, num, dport = _AT[fam]
    ip_hdrs, dst_hdr = _IP_HDRS[fam]
    u32 = _U32.pack
    fixed = [(0, struct.pack('=IHH', mlen, mtype, mflags)), (16, struct.pack('=B', fam)),
             (_ATTRS_AT, struct.pack('=HHQ', olen, _ORIG_TYPE, ip_hdrs)), (dst - 4, u32(dst_hdr)),
             (num - 4, u32(_NUM_HDR) + struct.pack('=B', pnum)),
             (_ATTRS_AT + al, struct.pack('=HH', olen, _REPLY_TYPE)), (status, u32(_STATUS_HDR))]
    values = [(src, '%ds' % alen), (dst, '%ds' % alen)]
    if pnum in PORT_PROTOS:
        fixed.append((dport - 4, u32(_DPORT_HDR)))
        values.append((dport, 'H'))
    values.append((status + 7, 'B'))       # the low byte of the big-endian status
    if tcp:
        fixed += [(pinfo + 2, _U16.pack(ptype)), (pinfo + 8, u32(_STATE_HDR))]
        values.append((pinfo + 12, 'B'))
    return sorted(fixed), values


class _Template(object):
    """One layout (see above): run(data, off, end), the match of the longest run of its messages
    at off (None when the message at off does not match), and hand_out(), their raw values."""
    __slots__ = ('size', 'run', 'unpack', 'fam', 'pnum', 'tcp', 'port')

    def __init__(self, key, fixed, values):
        mlen, fam, pnum = key[0], key[3], key[5]
        pattern, pos = [], 0
        for at, lit in fixed:
            pattern += [b'.{%d}' % (at - pos), re.escape(lit)]
            pos = at + len(lit)
        pattern.append(b'.{%d}' % (mlen - pos))
        self.run = re.compile(b'(?s)(?:%s)+' % b''.join(pattern)).match
        fmt, pos = '=', 0
        for at, code in values:
            fmt += '%dx%s' % (at - pos, code)
            pos = at + struct.calcsize('=' + code)
        self.unpack = struct.Struct(fmt + '%dx' % (mlen - pos)).iter_unpack
        self.size, self.fam, self.pnum = mlen, fam, pnum
        self.tcp, self.port = pnum == _IPPROTO_TCP, pnum in PORT_PROTOS

    def hand_out(self, buf, sink):
        """Append the raw values of the messages in buf (whole messages of this layout, one
        after the other) to sink = (keys, srcs, dsts), in their order, as _decode_entries would."""
        keys, srcs, dsts = sink
        rows = list(self.unpack(buf))
        n = len(rows)
        srcs.extend(map(_COL0, rows))
        dsts.extend(map(_COL1, rows))
        # a row: source, destination, [destination port], status byte, [TCP state] (TCP has ports)
        dports = map(_COL2, rows) if self.port else repeat(None, n)
        status = map(_COL3 if self.port else _COL2, rows)
        states = map(_COL4, rows) if self.tcp else repeat(None, n)
        keys.extend(zip(repeat(self.fam, n), repeat(self.pnum, n), states,
                        map(_FLAGS_OF.__getitem__, status), dports))


_COL0, _COL1, _COL2, _COL3, _COL4 = (operator.itemgetter(i) for i in range(5))


def _template_at(data, off, end, family):
    """The _Template of the message at off, or None (cached in _TEMPLATES)."""
    key = _layout_key(data, off, end, family)
    if key is None:
        return None
    tpl = _TEMPLATES.get(key, False)
    if tpl is False:
        parts = _template_parts(key)
        tpl = None if parts is None else _Template(key, *parts)
        if len(_TEMPLATES) < _TEMPLATES_MAX:
            _TEMPLATES[key] = tpl
    return tpl


def _count_entries_into(data, sink, family=0, runs=True, pace=None):
    """The breakdown's fast path over the complete messages of data.

    Per conntrack entry it appends to the lists of sink = (keys, srcs, dsts) the raw key
    (address family, protocol number, TCP state number or None, status & (ASSURED |
    SEEN_REPLY), destination port as read or None) and the packed source and destination
    addresses, in the dump's order: runs of messages of one layout through a template (above),
    the others through _decode_entries (a message of another layout is walked attribute by
    attribute into the same raw values, in its place). count_sink() counts the lists;
    _breakdown_group/_addr/_port convert the raw keys. A message cut at the end of data is left
    for the next call. runs=False: every message through _decode_entries (the reference of
    the tests). pace: a list holding the window (see _WINDOW) to start with, updated for the
    next call (the caller's, across the chunks of a dump; _WINDOW when not given).

    Returns (offset, done, interrupted), offset being where the unconsumed bytes start.
    """
    keys, srcs, dsts = sink
    swap = _swap16_table()

    def other(data, off, mlen, fam):
        w = _walk_entry_generic(data, off, mlen)
        if w is not None:
            raw_src, raw_dst, pnum, dport, status, state = w
            keys.append((fam, pnum, state if pnum == _IPPROTO_TCP else None, status & _STATUS_FLAGS,
                         None if dport is None else swap[dport]))
            srcs.append(raw_src)
            dsts.append(raw_dst)

    if not runs:
        return _decode_entries(data, keys.append, srcs.append, dsts.append, other, family)
    view, off, end = memoryview(data), 0, len(data)
    window = pace[0] if pace else _WINDOW
    done = intr = False
    while not done and off + 16 <= end:
        tpl = _template_at(data, off, end, family)
        run = tpl.run(data, off, end) if tpl is not None else None
        if run is not None:
            tpl.hand_out(view[off:run.end()], sink)
            long_run = run.end() - off >= _RUN_MIN * tpl.size
            off = run.end()
            if long_run:
                window = _WINDOW
                continue
        stop = min(end, off + window)
        used, done, was = _decode_entries(view[off:stop], keys.append, srcs.append, dsts.append, other, family)
        intr = intr or was
        if not used and stop == end:
            break       # a message cut at the end of data
        off += used
        window = min(2 * window, _WINDOW_MAX)
    if pace:
        pace[0] = window
    return off, done, intr


def count_sink(acc, sink):
    """Count what _count_entries_into put in sink into acc (a _breakdown.Counts), and
    empty the lists."""
    keys, srcs, dsts = sink
    acc.feed(len(keys), sink, [(acc.srcs, 1, None), (acc.dsts, 2, None)], _JOINT)
    del keys[:], srcs[:], dsts[:]


# raw key (fam, pnum, state, flags, dport) -> group (fam, pnum, state, flags), port (pnum, dport);
# the raw key is the joint key of the groups and the ports (_breakdown.Counts._feed_joint)
_KEY_GROUP = operator.itemgetter(0, 1, 2, 3)
_KEY_PORT = operator.itemgetter(1, 4)
_JOINT = (0, None, _KEY_GROUP, _KEY_PORT, _KEY_GROUP, _KEY_PORT)


def _breakdown_group(key):
    """Raw (address family, protocol number, TCP state number, status flags) -> the
    breakdown's (l3, l4, state, assured, unreplied)."""
    fam, pnum, state, flags = key
    if pnum == 6 and state is not None:
        state = TCP_STATES[state] if state < len(TCP_STATES) else str(state)
    else:
        state = None
    return (_L3_NAMES.get(fam, 'unknown'), L4_NAMES.get(pnum, 'unknown'), state,
            flags & IPS_ASSURED != 0, flags & IPS_SEEN_REPLY == 0)


def _breakdown_addr(key):
    """Packed address -> text (None, for a message without one, stays None)."""
    if key is None:
        return None
    if len(key) == 4:
        return socket.inet_ntoa(key)
    return _fmt_ipv6_compressed(key)


def breakdown_result(acc, top):
    """The breakdown dict of what count_sink() counted into acc (a _breakdown.Counts)."""
    return acc.result(top, _breakdown_group, _breakdown_addr, _breakdown_port, _breakdown_addr_rank)


def _breakdown_addr_rank(key):
    """_breakdown.address_rank() of a packed address: IPv4 (4 bytes) before IPv6, by number."""
    if key is None:
        return (0, b'')
    return (len(key), key)


def _breakdown_port(key):
    """Raw (protocol number, destination port as read) -> (l4, port); DROP without a port."""
    proto, port = key
    if port is None:
        return bd.DROP
    return (L4_NAMES.get(proto, 'unknown'), _swap16_table()[port])


# --------------------------------------------------------------------------
# socket I/O

class _Socket(object):
    """A NETLINK_NETFILTER socket with a large receive buffer."""

    def __init__(self):
        af = getattr(socket, 'AF_NETLINK', None)
        if af is None:
            raise NetlinkError('netlink sockets are not supported on this platform',
                               _errno.EPROTONOSUPPORT)
        try:
            self.sock = socket.socket(af, socket.SOCK_RAW, NETLINK_NETFILTER)
        except (OSError, socket.error) as e:
            raise _error(e.errno, 'cannot open NETLINK_NETFILTER socket')
        try:
            self._setup()
        except BaseException:
            self.sock.close()
            raise
        self.buf = bytearray(RECV_CHUNK)
        self.view = memoryview(self.buf)
        self.seq = 0

    def _setup(self):
        s = self.sock
        for opt in (getattr(socket, 'SO_RCVBUFFORCE', 33), socket.SO_RCVBUF):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, RCVBUF_SIZE)
                break
            except (OSError, socket.error):
                continue
        try:
            s.bind((0, 0))
        except (OSError, socket.error) as e:
            raise _error(e.errno, 'cannot bind NETLINK_NETFILTER socket')

    def close(self):
        self.sock.close()

    def request(self, msg_type, flags, family=0):
        self.seq += 1
        payload = _NFGENMSG.pack(family, NFNETLINK_V0, 0)
        msg = _NLMSGHDR.pack(16 + len(payload), (NFNL_SUBSYS_CTNETLINK << 8) | msg_type,
                             NLM_F_REQUEST | flags, self.seq, 0) + payload
        try:
            self.sock.sendto(msg, (0, 0))
        except (OSError, socket.error) as e:
            raise _error(e.errno, 'cannot send ctnetlink request')

    def recv(self):
        """Return the bytes of the next datagram."""
        return bytes(self.view[:self.recv_into(self.view)])

    def recv_into(self, view):
        """Receive the next datagram into the writable view; return its length."""
        while True:
            try:
                n = self.sock.recv_into(view, len(view), socket.MSG_TRUNC)
            except (OSError, socket.error) as e:
                if e.errno == _errno.EINTR:
                    continue
                raise _error(e.errno, 'cannot receive ctnetlink reply')
            if n > len(view):
                raise NetlinkError('netlink message of %d bytes truncated' % n, _errno.EMSGSIZE)
            return n


def _dump_raw(msg_type=IPCTNL_MSG_CT_GET, family=0, flags=NLM_F_DUMP):
    """Send one request; return the raw reply datagrams (list of bytes) up to DONE/ERROR.

    Does not interpret errors: used to record fixtures and to cross-check parsers.
    """
    chunks = []
    sock = _Socket()
    try:
        sock.request(msg_type, flags, family)
        while True:
            data = sock.recv()
            chunks.append(data)
            if any(t in (NLMSG_DONE, NLMSG_ERROR) for t, _f, _o, _l in _iter_messages(data)):
                return chunks
    finally:
        sock.close()


def _stats_once():
    acc = _new_stats()
    sock = _Socket()
    try:
        sock.request(IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP)
        interrupted = False
        while True:
            done, intr = _parse_stats_into(sock.recv(), acc)
            interrupted = interrupted or intr
            if done:
                break
        try:
            sock.request(IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK)
            while True:
                done, intr = _parse_stats_into(sock.recv(), acc)
                if done:
                    break
        except NetlinkError as e:
            # GET_STATS appeared in 3.19; older kernels answer EOPNOTSUPP/EINVAL
            if e.errno in (_errno.EPERM, _errno.EACCES):
                raise
            acc['entries'] = acc['max'] = None
    finally:
        sock.close()
    acc.pop('_cpus', None)
    return acc, interrupted


def ctnetlink_stats():
    """Conntrack statistics of the current network namespace.

    Keys: found, invalid, insert, insert_failed, drop, early_drop, icmp_error,
    search_restart, clash_resolve, chaintoolong (summed over CPUs, 0 when the
    kernel does not send the attribute), entries and max (None when the
    kernel does not support IPCTNL_MSG_CT_GET_STATS).
    """
    last = None
    for _attempt in range(DUMP_RESTARTS + 1):
        try:
            acc, interrupted = _stats_once()
        except NetlinkError as e:
            if e.errno != _errno.ENOBUFS:
                raise
            last = e
            continue
        if not interrupted:
            return acc
        last = acc
    if isinstance(last, dict):
        return last   # counters of an interrupted CPU dump are still per-CPU consistent
    raise last


def iter_entries(family=socket.AF_UNSPEC, ipv6_compressed=True):
    """Yield (l3, l4, state, src, dst, dport, assured, unreplied) for every conntrack entry.

    family: socket.AF_UNSPEC (all), AF_INET or AF_INET6. ipv6_compressed=False
    gives IPv6 addresses in /proc's full form. Reads the table of the network
    namespace of the calling process with one IPCTNL_MSG_CT_GET dump.
    See the module docstring for NLM_F_DUMP_INTR / ENOBUFS handling.
    """
    family = int(family or 0)
    caches = ({}, {})
    attempt = 0
    while True:
        attempt += 1
        yielded = False
        out = []
        sock = _Socket()
        try:
            try:
                sock.request(IPCTNL_MSG_CT_GET, NLM_F_DUMP, family)
                while True:
                    data = sock.recv()
                    del out[:]
                    done, intr = _parse_entries_into(data, out, family, ipv6_compressed, caches)
                    if intr:
                        raise DumpInterrupted(
                            'ctnetlink dump interrupted (NLM_F_DUMP_INTR): the table changed '
                            'during the dump', _errno.EINTR)
                    if out:
                        yielded = True
                        yield from out
                    if done:
                        return
            except NetlinkError as e:
                if e.errno in (_errno.EINTR, _errno.ENOBUFS) and not yielded and attempt <= DUMP_RESTARTS:
                    continue
                if e.errno in (_errno.EINTR, _errno.ENOBUFS) and not isinstance(e, DumpInterrupted):
                    raise DumpInterrupted(str(e), e.errno)
                raise
        finally:
            sock.close()


class _DumpReader(object):
    """fill(view) for _breakdown.ChildStream: one IPCTNL_MSG_CT_GET dump received
    datagram by datagram into the views it is given, up to NLMSG_DONE or an error (run in
    the reader process of dump_breakdown; errors are raised in the parent)."""

    def __init__(self, family=0):
        self.sock = _Socket()
        self.ended = False
        try:
            self.sock.request(IPCTNL_MSG_CT_GET, NLM_F_DUMP, family)
        except BaseException:
            self.close()
            raise

    def __call__(self, view, _head=_NLMSG_LTF.unpack_from):
        """Datagrams into view while a whole one fits (MIN_ROOM left) -> (bytes, ended)."""
        recv_into = self.sock.recv_into
        pos, size, room = 0, len(view), bd.MIN_ROOM
        while not self.ended and size - pos >= room:
            part = view[pos:]
            n = recv_into(part)
            if n >= 16 and _head(part, 0)[1] == NLMSG_ERROR:
                self.ended = True
            # NLMSG_DONE is the last message of the last datagram (20 bytes: header and the
            # dump's error code); confirm with a walk over the headers
            elif n >= 20 and _head(part, n - 20)[:2] == (20, NLMSG_DONE):
                self.ended = any(t == NLMSG_DONE for t, _f, _o, _l in _iter_messages(part[:n]))
            pos += n
        if self.ended:
            self.close()
        return pos, self.ended

    def close(self):
        self.ended = True
        self.sock.close()


def count_dump_chunks(acc, chunks, family=0):
    """Count the conntrack messages of a ctnetlink dump given as chunks (bytes-like, whole
    datagrams, in order; each one only read before the next is asked for) into acc (a
    _breakdown.Counts), up to NLMSG_DONE. Returns whether NLMSG_DONE (or an ACK) was seen;
    raises DumpInterrupted when a message carries NLM_F_DUMP_INTR, NetlinkError as
    _decode_entries does."""
    sink = ([], [], [])
    pace = [_WINDOW]
    tail = b''
    for data in chunks:
        if tail:   # (the datagrams hold whole messages: not seen)
            data = tail + data
        off, done, intr = _count_entries_into(data, sink, family, True, pace)
        if intr:
            raise DumpInterrupted('ctnetlink dump interrupted (NLM_F_DUMP_INTR): the table '
                                  'changed during the dump', _errno.EINTR)
        count_sink(acc, sink)
        if done:
            return True
        tail = bytes(data[off:])    # the chunk is only valid until the next one
    return False


def dump_breakdown(top=10, capacity=None, family=0):
    """_breakdown.summarize() of one ctnetlink dump, fast.

    The dump runs in a forked reader process (the kernel fills the messages inside its
    recv() calls) while this process counts them with count_dump_chunks. Raises
    DumpInterrupted when the table changed during the dump (retry: retry_dump) and
    NetlinkError for the other failures, as iter_entries does.
    """
    acc = bd.Counts(capacity or bd.DEFAULT_CAPACITY)
    family = int(family or 0)
    with bd.GcPaused(), bd.ChildStream(_DumpReader, family) as stream:
        try:
            done = count_dump_chunks(acc, stream, family)
        except bd.ChildFailed as e:
            # the reader's exception, rebuilt here (errno kept for the hints and the retry)
            if e.errno in (_errno.EINTR, _errno.ENOBUFS):
                raise DumpInterrupted(str(e), e.errno)
            raise NetlinkError(str(e), e.errno or None)
        except NetlinkError as e:
            # the same, raised here directly when the reader could not be forked
            if e.errno in (_errno.EINTR, _errno.ENOBUFS) and not isinstance(e, DumpInterrupted):
                raise DumpInterrupted(str(e), e.errno)
            raise
    if not done:
        raise NetlinkError('ctnetlink dump ended without NLMSG_DONE')
    with bd.GcPaused():
        return breakdown_result(acc, top)


class EntryDump(object):
    """One ctnetlink dump as an entry source: iterating it gives iter_entries(**kwargs);
    _breakdown.summarize() uses its breakdown() method, the fast path (dump_breakdown)."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def __iter__(self):
        return iter_entries(**self.kwargs)

    def breakdown(self, top=10, capacity=None):
        if not self.kwargs.get('ipv6_compressed', True):
            return bd.summarize(iter(self), top, capacity or bd.DEFAULT_CAPACITY)
        return dump_breakdown(top, capacity, self.kwargs.get('family', 0))


def retry_dump(consume, attempts=DUMP_RESTARTS, **kwargs):
    """consume(EntryDump(**kwargs)), run again (up to attempts more times) when the dump
    was interrupted midway; raises the last DumpInterrupted when every attempt was.

    consume iterates the dump (iter_entries) or, being _breakdown.summarize, asks it
    for its breakdown (dump_breakdown). Public: _gather reads the table with it."""
    for i in range(attempts + 1):
        try:
            return consume(EntryDump(**kwargs))
        except DumpInterrupted:
            if i == attempts:
                raise
