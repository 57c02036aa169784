# -*- coding: utf-8 -*-
"""The fast breakdown paths (a reader process, chunked counting with raw keys) give exactly
what summarize() gives entry by entry: /proc (proc_breakdown) and ctnetlink (dump_breakdown)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown, gather as _gather, netlink as _netlink
from ansible_collections.nfct.tuning.plugins.module_utils.host import proc as _proc

import hosts
from netlink_fakes import DUMP_ORDER, EPERM_REPLY, FakeSocket, full_dump, msg, set_flags

V6 = '0000:0000:0000:0000:0000:0000:0000:0001'
MORE_LINES = (
    # SCTP and DCCP print a state too; only TCP states are reported
    'ipv4     2 sctp     132 3 CLOSED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=9 src=2.2.2.2 dst=1.1.1.1 '
    'sport=9 dport=1 mark=0 use=1\n'
    'ipv4     2 unknown  47 599 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 mark=0 use=1\n'
    # a flow offloaded to a flowtable: no timeout column
    'ipv4     2 tcp      6 ESTABLISHED src=10.9.9.9 dst=10.0.0.1 sport=1 dport=22 src=10.0.0.1 '
    'dst=10.9.9.9 sport=22 dport=1 [OFFLOAD] mark=0 zone=0 use=3\n'
    'ipv6     10 udp      17 29 src=%s dst=%s sport=39361 dport=2000 [UNREPLIED] src=%s dst=%s '
    'sport=2000 dport=39361 mark=0 zone=0 use=2\n'
    # accounting on (nf_conntrack_acct=1) and timestamps
    'ipv4     2 tcp      6 299 ESTABLISHED src=10.0.0.5 dst=10.0.0.9 sport=51000 dport=443 packets=3 bytes=180 '
    'src=10.0.0.9 dst=10.0.0.5 sport=443 dport=51000 packets=2 bytes=120 [ASSURED] mark=0 '
    'delta-time=12 zone=0 use=2\n'
    'ipv6     10 icmpv6   58 29 src=%s dst=%s type=128 code=0 id=7 src=%s dst=%s type=129 code=0 id=7 '
    'mark=0 zone=0 use=2\n'
) % ((V6,) * 8)
# a layout the fast pattern does not know (GRE prints its timeouts as key=value): the chunk of
# lines it is in is parsed line by line
ODD_LINE = ('ipv4     2 gre      47 179 timeout=180, stream_timeout=18000 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 '
            'dstkey=0x0 src=10.0.0.2 dst=10.0.0.1 srckey=0x0 dstkey=0x0 mark=0 zone=0 use=2\n')


def both(path, top=10, capacity=_breakdown.DEFAULT_CAPACITY):
    fast = _breakdown.proc_breakdown(path, top=top, capacity=capacity)
    slow = _breakdown.summarize(_gather.iter_proc_entries(path), top=top, capacity=capacity)
    return fast, slow


@pytest.fixture(params=['fork', 'no-fork'])
def forking(request, monkeypatch):
    if request.param == 'no-fork':
        def nofork():
            raise OSError(errno.EAGAIN, 'no fork here')
        monkeypatch.setattr(os, 'fork', nofork)
    return request.param


@pytest.mark.parametrize('text', [
    hosts.PROC_LINES,
    hosts.PROC_LINES + MORE_LINES,
    hosts.PROC_LINES + MORE_LINES + ODD_LINE,
    (hosts.PROC_LINES + MORE_LINES).rstrip('\n'),     # no newline after the last line
    '',
], ids=['fixture', 'more-protocols', 'fallback-line', 'no-final-newline', 'empty'])
@pytest.mark.parametrize('top', [1, 3, 10])
def test_proc_fast_equals_line_by_line(tmp_path, forking, text, top):
    path = tmp_path / 'nf_conntrack'
    path.write_text(text)
    fast, slow = both(str(path), top=top)
    assert fast == slow
    assert fast['total'] == len([line for line in text.splitlines() if line])


def test_proc_fast_big_file_crosses_chunks(tmp_path, forking):
    # ~6 MB: several pipe reads and read batches, lines cut at every boundary
    lines = []
    for i in range(30000):
        lines.append('ipv4     2 udp      17 %d src=10.%d.%d.%d dst=10.200.0.%d sport=%d dport=%d [UNREPLIED] '
                     'src=10.200.0.%d dst=10.1.2.3 sport=53 dport=4000 mark=0 zone=0 use=2\n'
                     % (i % 30, i % 7, (i >> 8) & 255, i & 255, i % 13, 1024 + i % 5000, 53 + i % 3, i % 13))
        if i % 97 == 0:
            lines.append(hosts.PROC_LINES + MORE_LINES)
        if i == 20000:
            lines.append(ODD_LINE)
    path = tmp_path / 'nf_conntrack'
    path.write_text(''.join(lines))
    fast, slow = both(str(path), top=20, capacity=65536)
    assert fast == slow
    assert fast['top_exact'] is True and fast['top_max_error'] == 0
    # bounded counters: with a capacity below the distinct sources the result is lossy, and the
    # same: the counters are checked at fixed entry numbers, not at the chunks' ends
    for capacity in (1000, _breakdown.DEFAULT_CAPACITY):
        fast, slow = both(str(path), top=5, capacity=capacity)
        assert fast['top_exact'] is False and fast['top_errors']['sources'] > 0
        assert fast == slow


def test_proc_fast_missing_file(tmp_path, forking):
    with pytest.raises(OSError):
        _breakdown.proc_breakdown(str(tmp_path / 'nope'))


def test_offloaded_flow_keeps_its_state():
    line = MORE_LINES.splitlines()[2]
    assert _proc.parse_conntrack_line(line) == ('ipv4', 'tcp', 'ESTABLISHED', '10.9.9.9', '10.0.0.1', 22, False, False)
    buf = ('\n' + line).encode()
    assert _proc.scan_conntrack_lines(buf, len(buf)) == (
        [(b'ipv4     2 tcp', b'tcp', b'ESTABLISHED', b'10.9.9.9', b'10.0.0.1', b'22')], 1)


def test_scan_reports_unrecognised_lines():
    buf = ('\n' + hosts.PROC_LINES + ODD_LINE).encode()
    recs, lines = _proc.scan_conntrack_lines(buf, len(buf) - 1)
    assert lines == 6 and len(recs) == 5
    assert recs[0] == (b'ipv4     2 tcp', b'tcp', b'ESTABLISHED', b'10.0.0.5', b'10.0.0.9', b'443')
    assert recs[2] == (b'ipv4     2 udp', b'udp', b'', b'10.0.0.6', b'10.0.0.9', b'53')
    assert recs[3][5] == b''   # icmp: no port


# --------------------------------------------------------------------------
# ctnetlink


def netlink_reference(data):
    return _breakdown.summarize(_netlink.parse_entries(data), top=10)


def count_in_pieces(data, cut, capacity=_breakdown.DEFAULT_CAPACITY):
    acc = _breakdown.Counts(capacity)
    sink = ([], [], [])
    tail = b''
    for piece in (data[:cut], data[cut:]):
        buf = tail + piece
        off, done, intr = _netlink._count_entries_into(buf, sink)
        assert not intr
        _netlink.count_sink(acc, sink)
        tail = buf[off:]
    assert done and not tail
    return _netlink.breakdown_result(acc, 10)


@pytest.mark.parametrize('cut', [0, 1, 17, 200, 999, 2000, -21, -20, -1])
def test_count_entries_equals_parse_entries(cut):
    data = full_dump()
    assert count_in_pieces(data, cut % len(data)) == netlink_reference(data)


def test_count_entries_slow_layouts():
    # the generic parser handles what the fast path does not recognise (parse_entries(fast=False)
    # gives the reference); the counts must not depend on which path read a message
    data = full_dump()
    ref = _breakdown.summarize(_netlink.parse_entries(data, fast=False), top=10)
    assert count_in_pieces(data, 100) == ref


@pytest.fixture
def fake(monkeypatch):
    def install(*per_socket):
        script = list(per_socket)
        monkeypatch.setattr(_netlink, '_Socket', lambda: FakeSocket(script.pop(0)))
    return install


def test_dump_breakdown_equals_summarize(fake, forking):
    fake([[b''.join(msg(n) for n in DUMP_ORDER[:7]), b''.join(msg(n) for n in DUMP_ORDER[7:])]])
    assert _netlink.dump_breakdown(top=10) == netlink_reference(full_dump())


def test_summarize_takes_the_fast_path_of_a_dump(fake, monkeypatch):
    fake([[full_dump()]])
    called = []
    real = _netlink.dump_breakdown
    monkeypatch.setattr(_netlink, 'dump_breakdown', lambda *a, **k: called.append(a) or real(*a, **k))
    got = _netlink.retry_dump(lambda entries: _breakdown.summarize(entries, top=3))
    assert called and got == _breakdown.summarize(_netlink.parse_entries(full_dump()), top=3)


def test_dump_breakdown_retried_when_interrupted(fake, monkeypatch):
    def nofork():
        raise OSError(errno.EAGAIN, 'no fork')
    monkeypatch.setattr(os, 'fork', nofork)
    intr = set_flags(msg('ipv4_udp_assured'), _netlink.NLM_F_MULTI | _netlink.NLM_F_DUMP_INTR)
    fake([[msg('ipv4_icmp'), intr + msg('done')]], [[full_dump()]])
    got = _netlink.retry_dump(lambda entries: _breakdown.summarize(entries, top=10))
    assert got == netlink_reference(full_dump())


def test_dump_breakdown_interrupted_raises(fake, forking):
    intr = set_flags(msg('ipv4_udp_assured'), _netlink.NLM_F_MULTI | _netlink.NLM_F_DUMP_INTR)
    fake([[intr + msg('done')]])
    with pytest.raises(_netlink.DumpInterrupted):
        _netlink.dump_breakdown()


def test_dump_breakdown_errors_keep_errno(fake, forking):
    fake([[bytes.fromhex(EPERM_REPLY)]])
    with pytest.raises(_netlink.NetlinkError) as ei:
        _netlink.dump_breakdown()
    assert ei.value.errno == errno.EPERM
    assert 'CAP_NET_ADMIN' in str(ei.value)


def test_dump_breakdown_enobufs_is_an_interruption(fake, forking):
    fake([[msg('ipv4_icmp'), _netlink.NetlinkError('overrun', errno.ENOBUFS)]])
    with pytest.raises(_netlink.DumpInterrupted) as ei:
        _netlink.dump_breakdown()
    assert ei.value.errno == errno.ENOBUFS


def test_entry_dump_iterates_like_iter_entries(fake):
    fake([[full_dump()]])
    assert list(_netlink.EntryDump()) == _netlink.parse_entries(full_dump())


# --------------------------------------------------------------------------
# the reader process and its ring of shared slots


class Pattern(object):
    """fill(view) writing `slots` slots of `size` bytes, slot i all bytes i % 251; raises
    OSError(EIO) at slot `fail` if given."""

    def __init__(self, slots, size, fail=None):
        self.slots, self.size, self.fail, self.i = slots, size, fail, 0

    def __call__(self, view):
        if self.i == self.fail:
            raise OSError(errno.EIO, 'disk on fire at slot %d' % self.i)
        n = min(self.size, len(view))
        view[:n] = bytes([self.i % 251]) * n
        self.i += 1
        return n, self.i == self.slots


def test_child_stream_goes_round_the_ring(forking):
    # three times round the ring: every chunk arrives once, in order, intact
    slots = 3 * _breakdown.RING_SLOTS + 1
    seen = []
    with _breakdown.ChildStream(Pattern, slots, 1000) as stream:
        for chunk in stream:
            assert bytes(chunk) == bytes([len(seen) % 251]) * 1000
            seen.append(len(chunk))
    assert seen == [1000] * slots


def test_child_stream_reports_the_readers_error(forking):
    with pytest.raises((_breakdown.ChildFailed, OSError)) as ei:
        with _breakdown.ChildStream(Pattern, 100, 10, 20) as stream:
            for _chunk in stream:
                pass
    assert ei.value.errno == errno.EIO and 'disk on fire at slot 20' in str(ei.value)


def test_child_stream_stopped_early_ends_the_reader():
    with _breakdown.ChildStream(Pattern, 10 ** 6, 1000) as stream:
        pid = stream.pid
        for _chunk in stream:
            break
    assert stream.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)      # reaped: no zombie left


def test_top_converts_only_candidates_unless_too_many_drop():
    b = _breakdown.BoundedCounter(1000)
    # 20 keys without a port count most; the ports after them
    b.update([('icmp', None)] * 50 + [('gre%d' % i, None) for i in range(19) for _j in range(40)])
    b.update([('udp', p) for p in range(100) for _j in range(p % 7 + 1)])

    def conv(k):
        return _breakdown.DROP if k[1] is None else k
    top, err = b.top(5, conv, lambda kv: (-kv[1], kv[0]))
    full = sorted(((k, c) for k, c in b.counts.items() if k[1] is not None), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert (top, err) == (full, 0)
    assert [c for _k, c in top] == [7] * 5
