# -*- coding: utf-8 -*-
"""The breakdown of issue 23 (ctnetlink runs read through templates, the groups and ports
counted through one joint Counter) against the breakdown before it, on the same tables: the
result must be the same, byte for byte (the JSON the module answers, key order included).

The implementation before issue 23 is kept here, and only here (REFERENCE below): its counting
of the /proc chunks and of the ctnetlink datagrams, which the plugins replaced (the parsers it
calls, _proc.scan_conntrack_lines and _netlink._decode_entries, are unchanged). The tables are
random, in the kernel's formats: /proc lines as ct_seq_show() prints them and ctnetlink messages
as ctnetlink_fill_info() lays them out, IPv4 and IPv6, every protocol (TCP in every state and
with unknown state numbers, UDP, UDP-Lite, SCTP, DCCP, ICMP, ICMPv6, GRE, unknown), zones,
accounting, offloaded flows, the layouts the fast paths do not know (a zone before CTA_STATUS,
CTA_PROTOINFO elsewhere or missing, attribute flags); long runs of one layout and mixes; cut in
chunks anywhere; with capacities that prune. Each result is also checked against the
entry-by-entry breakdown (summarize() over the line parser or the generic netlink walk), which
shares no code with either fast path."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import random
import socket
import struct

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown, gather as _gather, netlink as _netlink

import hosts
from netlink_fakes import full_dump


# --------------------------------------------------------------------------
# REFERENCE: the counting loops before issue 23 (plugins/module_utils/facts, git 48a81dd)

def ref_feed(acc, n, columns, plan):
    """Counts.feed() before the joint count."""
    i = 0
    while i < n:
        j = min(n, i + acc.next_check - acc.total)
        whole = i == 0 and j == n
        parts = columns if whole else [col[i:j] for col in columns]
        for counter, idx, get in plan:
            counter.update(parts[idx] if get is None else map(get, parts[idx]))
        acc.total += j - i
        i = j
        if acc.total == acc.next_check:
            acc._check()


def ref_proc_breakdown(chunks, top, capacity):
    """proc_breakdown()'s loop before: every record into four counters."""
    from operator import itemgetter
    acc = _breakdown.Counts(capacity)
    plan = [(acc.groups, 0, itemgetter(0, 2)), (acc.ports, 0, itemgetter(1, 5)),
            (acc.srcs, 0, itemgetter(3)), (acc.dsts, 0, itemgetter(4))]

    def count(buf, end):
        recs, lines = _breakdown._proc.scan_conntrack_lines(buf, end)
        if len(recs) != lines:
            match, record = _breakdown._proc.CT_LINE_FAST.match, _breakdown._proc.conntrack_line_record
            recs = []
            for line in buf[1:end].split(b'\n'):
                m = match(b'\n' + line)
                rec = m.groups() if m else record(line.decode('utf-8', 'replace'))
                if rec is not None:
                    recs.append(rec)
        ref_feed(acc, len(recs), (recs,), plan)
        acc.assured += buf.count(b'[ASSURED]', 0, end)
        acc.unreplied += buf.count(b'[UNREPLIED]', 0, end)

    tail = b''
    for data in chunks:
        buf = b''.join((b'\n', tail, data))
        cut = buf.rfind(b'\n')
        if cut > 0:
            count(buf, cut)
        tail = buf[cut + 1:]
    if tail:
        count(b'\n' + tail, len(tail) + 1)
    return acc.result(top, _breakdown._proc_group, _breakdown._proc_addr, _breakdown._proc_port,
                      _breakdown._proc_addr_rank)


def ref_count_entries_into(data, sink, family=0):
    """_netlink._count_entries_into() before: every message through _decode_entries."""
    keys, srcs, dsts = sink
    swap = _netlink._swap16_table()

    def other(data, off, mlen, fam):
        w = _netlink._walk_entry_generic(data, off, mlen)
        if w is not None:
            raw_src, raw_dst, pnum, dport, status, state = w
            keys.append((fam, pnum, state if pnum == 6 else None, status & 6, None if dport is None else swap[dport]))
            srcs.append(raw_src)
            dsts.append(raw_dst)

    return _netlink._decode_entries(data, keys.append, srcs.append, dsts.append, other, family)


def ref_dump_breakdown(chunks, top, capacity, family=0):
    """dump_breakdown()'s loop before: the raw keys into the groups and the ports one by one."""
    from operator import itemgetter
    acc = _breakdown.Counts(capacity)
    sink = ([], [], [])
    tail = b''
    for data in chunks:
        if tail:
            data = tail + data
        off, done, intr = ref_count_entries_into(data, sink, family)
        assert not intr
        ref_feed(acc, len(sink[0]), sink, [(acc.groups, 0, itemgetter(0, 1, 2, 3)), (acc.ports, 0, itemgetter(1, 4)),
                                           (acc.srcs, 1, None), (acc.dsts, 2, None)])
        del sink[0][:], sink[1][:], sink[2][:]
        if done:
            break
        tail = bytes(data[off:])
    return _netlink.breakdown_result(acc, top)


# --------------------------------------------------------------------------
# the code under test, fed the same chunks

def new_proc_breakdown(chunks, top, capacity):
    acc = _breakdown.Counts(capacity)
    _breakdown.count_proc_chunks(acc, chunks)
    return _breakdown.proc_result(acc, top)


def new_dump_breakdown(chunks, top, capacity, family=0):
    acc = _breakdown.Counts(capacity)
    assert _netlink.count_dump_chunks(acc, chunks, family)
    return _netlink.breakdown_result(acc, top)


def same(new, ref):
    """Byte for byte: the JSON the module would answer (key order included)."""
    assert json.dumps(new) == json.dumps(ref)


def cut(data, rnd, pieces):
    """data in pieces, cut at random offsets."""
    cuts = sorted(rnd.randrange(len(data) + 1) for _i in range(pieces))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


# --------------------------------------------------------------------------
# tables: the values

V4 = socket.AF_INET
V6 = socket.AF_INET6
TCP_STATES = list(range(10)) + [11, 12]            # 10+: numbers the kernel has no name for
PROTOS = [6, 6, 6, 17, 17, 17, 136, 132, 33, 1, 58, 47, 253]


class Pools(object):
    """Value pools: few of each (the counters stay exact) or many (they prune)."""

    def __init__(self, rnd, distinct):
        self.rnd = rnd
        self.v4 = [struct.pack('>I', rnd.getrandbits(32)) for _i in range(distinct)]
        specials = ['::1', '::', '::ffff:1.2.3.4', '::1.2.3.4', 'fe80::1', '2001:db8::a:0:0:1']
        self.v6 = [socket.inet_pton(V6, a) for a in specials]
        self.v6 += [struct.pack('>QQ', 0xfd00000100000000, rnd.getrandbits(64)) for _i in range(distinct)]
        self.ports = [rnd.randrange(65536) for _i in range(min(distinct, 4000))] + [0, 53, 443, 65535]

    def addr(self, fam):
        return self.rnd.choice(self.v4 if fam == V4 else self.v6)

    def port(self):
        return self.rnd.choice(self.ports)


def entry(rnd, pools, fam=None, pnum=None):
    """One random entry: a dict of what both formats print."""
    fam = fam or rnd.choice([V4, V4, V4, V6])
    pnum = pnum if pnum is not None else rnd.choice(PROTOS)
    if fam == V4 and pnum == 58:
        pnum = 1
    if fam == V6 and pnum == 1:
        pnum = 58
    return {
        'fam': fam, 'pnum': pnum, 'src': pools.addr(fam), 'dst': pools.addr(fam),
        'rsrc': pools.addr(fam), 'rdst': pools.addr(fam), 'sport': pools.port(), 'dport': pools.port(),
        'state': rnd.choice(TCP_STATES), 'status': rnd.choice([0x8, 0xa, 0xe, 0x18e, 0x38e, 0x4e, 0x1a]) | (
            rnd.getrandbits(32) & ~0x6 if rnd.random() < 0.1 else 0),
        'zone': rnd.choice([0, 0, 0, 7]), 'mark': rnd.choice([0, 0, 0x12345678]), 'id': rnd.getrandbits(32),
    }


# --------------------------------------------------------------------------
# /proc text (net/netfilter/nf_conntrack_standalone.c, ct_seq_show)

PROC_L4 = {6: 'tcp', 17: 'udp', 136: 'udplite', 132: 'sctp', 33: 'dccp', 1: 'icmp', 58: 'icmpv6', 47: 'gre'}
TCP_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT',
             'CLOSE', 'SYN_SENT2']


def proc_addr(fam, raw):
    if fam == V4:
        return socket.inet_ntop(V4, raw)
    return ':'.join('%04x' % g for g in struct.unpack('>8H', raw))      # %pI6: in full


def proc_tuple(e, reply):
    fam, pnum = e['fam'], e['pnum']
    src, dst = (e['rsrc'], e['rdst']) if reply else (e['src'], e['dst'])
    sport, dport = (e['dport'], e['sport']) if reply else (e['sport'], e['dport'])
    out = 'src=%s dst=%s ' % (proc_addr(fam, src), proc_addr(fam, dst))
    if pnum in (6, 17, 136, 132, 33):
        out += 'sport=%d dport=%d ' % (sport, dport)
    elif pnum in (1, 58):
        out += 'type=%d code=0 id=%d ' % (0 if reply else 8, sport)
    elif pnum == 47:
        out += 'srckey=0x%x dstkey=0x%x ' % (sport, dport)
    return out


def proc_line(rnd, e):
    fam, pnum = e['fam'], e['pnum']
    l3 = 'ipv4     2 ' if fam == V4 else 'ipv6     10 '
    out = l3 + '%-8s %u ' % (PROC_L4.get(pnum, 'unknown'), pnum)
    offloaded = rnd.random() < 0.03
    if pnum == 47:
        out += '%d timeout=180, stream_timeout=18000 ' % rnd.randrange(180)
    elif not offloaded:
        out += '%d ' % rnd.randrange(432000)
    if pnum == 6:
        out += (TCP_NAMES[e['state']] if e['state'] < 10 else 'UNKNOWN') + ' '
    elif pnum == 132:
        out += rnd.choice(['CLOSED', 'ESTABLISHED', 'COOKIE_WAIT']) + ' '
    elif pnum == 33:
        out += rnd.choice(['REQUEST', 'OPEN', 'TIMEWAIT']) + ' '
    acct = rnd.random() < 0.1
    out += proc_tuple(e, False)
    if e['zone'] and rnd.random() < 0.3:
        out += 'zone-orig=%d ' % e['zone']
    if acct:
        out += 'packets=%d bytes=%d ' % (rnd.randrange(99), rnd.randrange(99999))
    if not e['status'] & 2:
        out += '[UNREPLIED] '
    out += proc_tuple(e, True)
    if acct:
        out += 'packets=%d bytes=%d ' % (rnd.randrange(99), rnd.randrange(99999))
    out += '[OFFLOAD] ' if offloaded else '[ASSURED] ' if e['status'] & 4 else ''
    out += 'mark=%d ' % e['mark']
    if e['zone']:
        out += 'zone=%d ' % e['zone']
    if rnd.random() < 0.05:
        out += 'delta-time=%d ' % rnd.randrange(9999)
    return out + 'use=%d\n' % rnd.randrange(1, 4)


# --------------------------------------------------------------------------
# ctnetlink messages (net/netfilter/nf_conntrack_netlink.c, ctnetlink_fill_info)

def nla(atype, payload, nested=False, flags=0):
    return struct.pack('=HH', 4 + len(payload), atype | (0x8000 if nested else 0) | flags) + payload + \
        b'\0' * (-len(payload) % 4)


def nl_tuple(e, reply, tuple_zone):
    fam, pnum = e['fam'], e['pnum']
    src, dst = (e['rsrc'], e['rdst']) if reply else (e['src'], e['dst'])
    sport, dport = (e['dport'], e['sport']) if reply else (e['sport'], e['dport'])
    ip = nla(1, nla(1 if fam == V4 else 3, src) + nla(2 if fam == V4 else 4, dst), True)
    proto = nla(1, struct.pack('B', pnum))
    if pnum in (6, 17, 136, 132, 33, 47):
        proto += nla(2, struct.pack('>H', sport)) + nla(3, struct.pack('>H', dport))
    elif pnum in (1, 58):
        base = 4 if pnum == 1 else 7
        proto += nla(base, struct.pack('>H', sport)) + nla(base + 1, b'\x08') + nla(base + 2, b'\0')
    return ip + nla(2, proto, True) + (nla(3, struct.pack('>H', e['zone'])) if tuple_zone else b'')


def nl_message(rnd, e, layout, odd=True):
    """A CT_NEW message of entry e; layout: 'plain' (the fast path's), 'tuplezone' (a zone in the
    tuples: longer, read the same), or one it does not read that way: 'zone' (CTA_ZONE before
    CTA_STATUS), 'pi48' (CTA_PROTOINFO 8 bytes later), 'piwalk' (CTA_PROTOINFO further on),
    'nopi' (TCP without it), 'flags' (attribute flags). odd: now and then CT_GET instead of
    CT_NEW, other header flags, a trailing nest (as ctfill's entries carry)."""
    tz = layout == 'tuplezone'
    body = nla(1, nl_tuple(e, False, tz), True) + nla(2, nl_tuple(e, True, tz), True)
    if layout == 'zone':
        body += nla(18, struct.pack('>H', e['zone']))
    body += nla(3, struct.pack('>I', e['status']), flags=0x4000 if layout == 'flags' else 0)
    body += nla(8, struct.pack('>I', e['mark'])) + nla(12, struct.pack('>I', e['id']))
    body += nla(11, struct.pack('>I', 1)) + nla(7, struct.pack('>I', 3600))
    if layout == 'pi48':
        body += nla(17, struct.pack('>I', 0))
    elif layout == 'piwalk':
        body += nla(22, b'\0' * 16)
    if e['pnum'] == 6 and layout != 'nopi':
        tcp = nla(1, struct.pack('B', e['state'])) + nla(2, b'\x07') + nla(3, b'\x07') + nla(4, b'\x23\0') + nla(5, b'\x23\0')
        body += nla(4, nla(1, tcp, True), True)
    elif e['pnum'] == 132:
        body += nla(4, nla(3, nla(1, b'\x03') + nla(2, b'\0\0\0\0') + nla(3, b'\0\0\x12\x34'), True), True)
    if odd and rnd.random() < 0.5:
        body += nla(24, nla(1, b'\0' * 4) + nla(2, b'\0' * 4) + nla(3, b'\0' * 4), True)
    mtype = 0x101 if odd and rnd.random() < 0.05 else 0x100
    mflags = 0x22 if odd and rnd.random() < 0.05 else 0x2
    head = struct.pack('=IHHII', 20 + len(body), mtype, mflags, 1, 4242) + struct.pack('=BBH', e['fam'], 0, 0)
    return head + body


DONE = struct.pack('=IHHIIi', 20, 3, 2, 1, 4242, 0)


def datagrams(messages):
    """The messages in datagrams of at most 32 KiB, as a dump sends them, NLMSG_DONE last."""
    out, cur = [], b''
    for m in messages:
        if len(cur) + len(m) > 32768:
            out.append(cur)
            cur = b''
        cur += m
    if len(cur) + len(DONE) > 32768:
        out.append(cur)
        cur = b''
    return out + [cur + DONE]


def slots(grams, rnd):
    """Whole datagrams packed into chunks, as the reader process fills its slots (a random
    number per chunk)."""
    out, cur = [], []
    for g in grams:
        cur.append(g)
        if rnd.random() < 0.3:
            out.append(b''.join(cur))
            cur = []
    return out + ([b''.join(cur)] if cur else [])


# --------------------------------------------------------------------------
# tables: the shapes

def table(rnd, shape, n):
    """[(entry, netlink layout)] of n entries: runs of one layout, mixes, odd layouts."""
    pools = Pools(rnd, {'few': 40, 'many': 30000}[shape[1]])
    kind = shape[0]
    out = []
    while len(out) < n:
        if kind == 'runs':          # long runs of one protocol, now and then another or an odd layout
            fam, pnum = rnd.choice([V4, V6]), rnd.choice([6, 17, 17, 1, 58, 132])
            run = [(entry(rnd, pools, fam, pnum), 'plain') for _i in range(rnd.choice([1, 3, 20, 300, 2500]))]
        elif kind == 'mixed':       # every entry another protocol and family
            run = [(entry(rnd, pools), 'plain') for _i in range(50)]
        else:                       # odd layouts everywhere
            run = [(entry(rnd, pools), rnd.choice(['plain', 'zone', 'pi48', 'piwalk', 'nopi', 'flags', 'tuplezone']))
                   for _i in range(50)]
        if rnd.random() < 0.2:
            run.append((entry(rnd, pools), rnd.choice(['zone', 'pi48', 'piwalk', 'nopi', 'flags', 'tuplezone'])))
        out.extend(run)
    return out[:n]


SHAPES = [('runs', 'few'), ('runs', 'many'), ('mixed', 'few'), ('mixed', 'many'), ('odd', 'few')]


@pytest.mark.parametrize('seed', range(2))
@pytest.mark.parametrize('shape', SHAPES, ids=['-'.join(s) for s in SHAPES])
def test_netlink_same_as_before(shape, seed):
    rnd = random.Random('nl-%s-%s-%d' % (shape + (seed,)))
    rows = table(rnd, shape, (9000, 5000)[seed])
    grams = datagrams([nl_message(rnd, e, layout) for e, layout in rows])
    data = b''.join(grams)
    for capacity in (_breakdown.DEFAULT_CAPACITY, 64):
        top = rnd.choice([1, 3, 10, 50])
        ref = ref_dump_breakdown([data], top, capacity)
        # whole datagrams per chunk (as the reader process hands them over), and cut anywhere
        same(new_dump_breakdown(slots(grams, rnd), top, capacity), ref)
        same(new_dump_breakdown(cut(data, rnd, 40), top, capacity), ref)
        # the entry-by-entry breakdown over the generic netlink walk: no fast path at all
        assert ref == _breakdown.summarize(_netlink.parse_entries(data, fast=False), top, capacity)
    assert ref['total'] == len(rows)


@pytest.mark.parametrize('seed', range(2))
@pytest.mark.parametrize('shape', SHAPES, ids=['-'.join(s) for s in SHAPES])
def test_proc_same_as_before(tmp_path, shape, seed):
    rnd = random.Random('proc-%s-%s-%d' % (shape + (seed,)))
    rows = table(rnd, shape, (9000, 5000)[seed])
    text = ''.join(proc_line(rnd, e) for e, _layout in rows).encode()
    path = tmp_path / 'nf_conntrack'
    path.write_bytes(text)
    for capacity in (_breakdown.DEFAULT_CAPACITY, 64):
        top = rnd.choice([1, 3, 10, 50])
        ref = ref_proc_breakdown([text], top, capacity)
        same(new_proc_breakdown(cut(text, rnd, 60), top, capacity), ref)
        same(_breakdown.proc_breakdown(str(path), top, capacity), ref)     # the reader process
        assert ref == _breakdown.summarize(_gather.iter_proc_entries(str(path)), top, capacity)
    assert ref['total'] == len(rows)


def test_a_chunk_read_line_by_line_counts_the_same_port_keys():
    """Before issue 23 a chunk with a line of another layout (GRE) was read line by line into
    records whose missing port was None where findall() gives b'': an ICMP entry then counted
    under two raw port keys depending on the chunk it fell in, and a pruned counter could end
    one off (the bound of the ports 9 instead of 8 here, the file read in two chunks instead of
    one). Now the same keys whatever the chunks, as the entry-by-entry breakdown counts them."""
    rnd = random.Random(1)
    pools = Pools(rnd, 3000)
    lines = [proc_line(rnd, entry(rnd, pools, V4, 1 if i % 3 == 0 else 17)) for i in range(9000)]
    gre = proc_line(rnd, entry(rnd, pools, V4, 47))
    first, second = ''.join(lines[:4500]).encode(), (gre + ''.join(lines[4500:])).encode()
    whole = ref_proc_breakdown([first + second], 10, 16)
    before = ref_proc_breakdown([first, second], 10, 16)
    assert before['top_errors']['destination_ports'] == whole['top_errors']['destination_ports'] + 1
    for chunks in ([first + second], [first, second], cut(first + second, rnd, 30)):
        same(new_proc_breakdown(chunks, 10, 16), whole)
    entries = (_breakdown._proc.parse_conntrack_line(line) for line in (first + second).decode().splitlines())
    assert whole == _breakdown.summarize(entries, 10, 16)


def test_both_sources_give_the_same_table():
    """One random table through /proc text and through ctnetlink messages: the same breakdown
    (the addresses ranked alike from text and from packed bytes), pruned or not."""
    rnd = random.Random('both')
    rows = [(e, 'plain') for e, _l in table(rnd, ('runs', 'many'), 12000)]
    text = ''.join(proc_line(rnd, e) for e, _l in rows).encode()
    grams = datagrams([nl_message(rnd, e, layout) for e, layout in rows])
    for capacity in (_breakdown.DEFAULT_CAPACITY, 256):
        proc = new_proc_breakdown(cut(text, rnd, 30), 20, capacity)
        nl = new_dump_breakdown(slots(grams, rnd), 20, capacity)
        # the kernel prints no state for the TCP numbers it has no name for, and ASSURED is not
        # printed for offloaded flows: compare what both sources print alike
        for key in ('total', 'top_sources', 'top_destinations', 'top_destination_ports', 'top_errors', 'l3', 'l4'):
            assert proc[key] == nl[key], key


def test_recorded_tables_same_as_before():
    """The tables recorded from a real kernel (tests/unit/hosts.py, netlink_fakes.py)."""
    data = full_dump()
    for top in (1, 3, 10):
        same(new_dump_breakdown([data], top, _breakdown.DEFAULT_CAPACITY),
             ref_dump_breakdown([data], top, _breakdown.DEFAULT_CAPACITY))
        text = hosts.PROC_LINES.encode()
        same(new_proc_breakdown([text], top, _breakdown.DEFAULT_CAPACITY),
             ref_proc_breakdown([text], top, _breakdown.DEFAULT_CAPACITY))


def test_templates_read_what_the_fast_path_reads():
    """Every message a template matches gets from it the raw values _decode_entries gives it; a
    message of another layout matches no template (it goes through _decode_entries)."""
    rnd = random.Random('tpl')
    pools = Pools(rnd, 50)
    for layout in ('plain', 'tuplezone', 'zone', 'pi48', 'piwalk', 'nopi', 'flags'):
        for pnum in sorted(set(PROTOS)):
            for fam in (V4, V6):
                msgs = [nl_message(rnd, entry(rnd, pools, fam, pnum), layout) for _i in range(20)]
                data = b''.join(msgs)
                tpl = _netlink._template_at(data, 0, len(data), 0)
                run = tpl.run(data, 0, len(data)) if tpl is not None else None
                ref = ([], [], [])
                ref_count_entries_into(data, ref)
                if run is None:
                    continue
                got = ([], [], [])
                tpl.hand_out(memoryview(data)[:run.end()], got)
                n = len(got[0])
                assert n and run.end() == sum(len(m) for m in msgs[:n])
                assert tuple(col[:n] for col in ref) == got, (layout, pnum, fam)
                # what the fast path reads elsewhere or not at all has no template
                assert layout not in ('zone', 'flags') and not (pnum == 6 and layout in ('pi48', 'piwalk', 'nopi'))


def test_the_runs_are_read_by_templates(monkeypatch):
    """A table of long runs goes through the templates, a table of mixed layouts through
    _decode_entries in growing windows: both give what _decode_entries alone gives."""
    rnd = random.Random('runs')
    pools = Pools(rnd, 100)
    run = [nl_message(rnd, entry(rnd, pools, V4, 17), 'plain', odd=False) for _i in range(3000)]
    handed = []
    real = _netlink._Template.hand_out
    monkeypatch.setattr(_netlink._Template, 'hand_out', lambda self, buf, sink: handed.append(len(buf)) or real(self, buf, sink))
    data = b''.join(run)
    sink, ref = ([], [], []), ([], [], [])
    assert _netlink._count_entries_into(data, sink) == ref_count_entries_into(data, ref) == (len(data), False, False)
    assert sink == ref and sum(handed) == len(data)


def test_address_forms_rank_alike():
    """IPv6 addresses printed in full by /proc, compressed for the answer, ranked as numbers."""
    raw = socket.inet_pton(V6, '::ffff:1.2.3.4')
    assert _breakdown._proc_addr(proc_addr(V6, raw).encode()) == socket.inet_ntop(V6, raw) == '::ffff:1.2.3.4'
    assert _breakdown._proc_addr_rank(proc_addr(V6, raw).encode()) == _netlink._breakdown_addr_rank(raw)
