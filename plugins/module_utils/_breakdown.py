# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming breakdown of a conntrack table with bounded memory.

Input: an iterable of entry tuples (l3, l4, state, src, dst, dport, assured,
unreplied) from either the /proc parser or the ctnetlink dump. Output: counts
per L3 and L4 protocol, per TCP state, ASSURED / UNREPLIED, and the top N
sources, destinations and destination ports.

Memory: the per-key counters for sources, destinations and ports are bounded.
When one grows past `capacity` distinct keys it is pruned back to the
capacity/2 largest counts (lossy counting). Counts of keys that survive a
prune are lower bounds, at most `error` below the truth; `exact` says whether
any pruning happened. With fewer distinct keys than the capacity (the usual
case: ports never exceed 65536) the result is exact.

Speed: a table of a million entries is 170 MB of /proc text or 210 MB of
netlink messages, and the kernel spends about 2 s producing either. The fast
paths (proc_breakdown, and _netlink.dump_breakdown through summarize()) read in
a forked child process (ChildStream), so that the kernel's work (in the child's
read()/recv() calls) overlaps with the parsing in this process, and count whole
chunks at a time with C-level helpers (a bytes regex over /proc text, Counter
updates over per-chunk lists) with raw keys that are converted to text only
once per distinct key at the end.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno as _errno
import gc
import heapq
import os
import signal
from collections import Counter
from operator import itemgetter

from ansible_collections.nfct.tuning.plugins.module_utils import _proc

DEFAULT_CAPACITY = 131072
# what a key converter returns for a key that is not counted (no destination port)
DROP = object()
# the pipe's size (F_SETPIPE_SZ), and the bytes the parent takes from it per read: chunks of
# 128 KiB keep a chunk and what the parser makes of it in the CPU caches (measured: 15-25 %
# less CPU than 1 MiB chunks for the /proc parser)
PIPE_SIZE = 1024 * 1024
READ_CHUNK = 128 * 1024
_F_SETPIPE_SZ = 1031


class _Bounded(object):
    __slots__ = ('counts', 'capacity', 'error', 'pruned')

    def __init__(self, capacity, counts=None):
        self.counts = {} if counts is None else counts
        self.capacity = capacity
        self.error = 0
        self.pruned = False

    def prune(self):
        keep = max(1, self.capacity // 2)
        items = sorted(self.counts.items(), key=lambda kv: kv[1], reverse=True)
        if len(items) > keep:
            self.error = max(self.error, items[keep][1])
            self.pruned = True
            kept = dict(items[:keep])
            self.counts = Counter(kept) if isinstance(self.counts, Counter) else kept

    def converted(self, conv):
        """A copy whose keys went through conv (DROP drops the key); counts of keys that
        convert to the same value are added."""
        out = _Bounded(self.capacity)
        out.error, out.pruned = self.error, self.pruned
        c = out.counts
        for k, n in self.counts.items():
            k = conv(k)
            if k is not DROP:
                c[k] = c.get(k, 0) + n
        return out

    def top(self, n):
        # heapq.nsmallest(n, ...) == sorted(...)[:n], without sorting every key
        items = heapq.nsmallest(n, self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return [{'key': k, 'count': c} for k, c in items]


def summarize(entries, top=10, capacity=DEFAULT_CAPACITY):
    """Consume the entries once and return the breakdown dict.

    An entry source that can summarize itself faster than entry by entry (the
    ctnetlink dump, see _netlink.EntryDump) offers a breakdown(top, capacity)
    method with the same result; it is used instead of iterating.
    """
    fast = getattr(entries, 'breakdown', None)
    if fast is not None:
        return fast(top, capacity)
    groups = {}
    srcs = _Bounded(capacity)
    dsts = _Bounded(capacity)
    ports = _Bounded(capacity)
    src_counts, dst_counts, port_counts = srcs.counts, dsts.counts, ports.counts
    total = 0
    for ent in entries:
        total += 1
        g = ent[0:3] + ent[6:8]
        groups[g] = groups.get(g, 0) + 1
        s = ent[3]
        src_counts[s] = src_counts.get(s, 0) + 1
        d = ent[4]
        dst_counts[d] = dst_counts.get(d, 0) + 1
        p = ent[5]
        if p is not None:
            port_key = (ent[1], p)
            port_counts[port_key] = port_counts.get(port_key, 0) + 1
        if total & 0x3fff == 0:
            if len(src_counts) > capacity:
                srcs.prune()
                src_counts = srcs.counts
            if len(dst_counts) > capacity:
                dsts.prune()
                dst_counts = dsts.counts
            if len(port_counts) > capacity:
                ports.prune()
                port_counts = ports.counts
    return finish(total, groups, srcs, dsts, ports, top)


def finish(total, groups, srcs, dsts, ports, top, flags=(0, 0)):
    """The breakdown dict. groups: {(l3, l4, state, assured, unreplied): n}; flags: ASSURED
    and UNREPLIED counts not represented in groups (the /proc fast path counts them apart)."""
    l3 = {}
    l4 = {}
    tcp_states = {}
    assured, unreplied = flags
    for (l3_name, l4_name, state, is_assured, is_unreplied), n in groups.items():
        l3[l3_name] = l3.get(l3_name, 0) + n
        l4[l4_name] = l4.get(l4_name, 0) + n
        if l4_name == 'tcp' and state is not None:
            tcp_states[state] = tcp_states.get(state, 0) + n
        if is_assured:
            assured += n
        if is_unreplied:
            unreplied += n
    port_top = [{'key': '%s/%d' % (k[0], k[1]), 'protocol': k[0], 'port': k[1], 'count': c}
                for k, c in heapq.nsmallest(top, ports.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    exact = not (srcs.pruned or dsts.pruned or ports.pruned)
    return {
        'total': total,
        'l3': l3,
        'l4': l4,
        'tcp_states': tcp_states,
        'assured': assured,
        'unreplied': unreplied,
        'top_sources': srcs.top(top),
        'top_destinations': dsts.top(top),
        'top_destination_ports': port_top,
        'top_exact': exact,
        'top_max_error': max(srcs.error, dsts.error, ports.error),
    }


# --------------------------------------------------------------------------
# fast paths: raw counters, a reader in a child process, /proc in chunks

class Counts(object):
    """Counters of the fast paths, keyed by raw values (bytes straight from /proc, packed
    addresses and protocol numbers from ctnetlink) that result() converts once per
    distinct key. Entries the fast parsers do not recognise go through add_entry() with
    the keys summarize() uses; the converters pass those through unchanged."""

    def __init__(self, split, capacity=DEFAULT_CAPACITY):
        self.split = split
        self.capacity = capacity
        self.total = 0
        self.assured = 0
        self.unreplied = 0
        self.groups = Counter()
        self.srcs = _Bounded(capacity, Counter())
        self.dsts = _Bounded(capacity, Counter())
        self.ports = _Bounded(capacity, Counter())
        # group and port counted together under one raw key (one Counter update per entry
        # instead of two); fold() adds them to groups and ports with split(key) ->
        # (group key, port key or None)
        self.pairs = Counter()

    def bound(self):
        """Prune the key counters that grew past the capacity (call once per chunk)."""
        cap = self.capacity
        if len(self.pairs) > cap:
            self.fold()
        for b in (self.srcs, self.dsts, self.ports):
            if len(b.counts) > cap:
                b.prune()

    def fold(self):
        """Add the (group, port) pair counts to groups and ports."""
        groups, ports, split = self.groups, self.ports.counts, self.split
        for key, n in self.pairs.items():
            group, port = split(key)
            groups[group] += n
            if port is not None:
                ports[port] += n
        self.pairs = Counter()

    def add_entry(self, ent):
        """One (l3, l4, state, src, dst, dport, assured, unreplied) entry."""
        self.total += 1
        self.groups[ent[0:3] + ent[6:8]] += 1
        self.srcs.counts[ent[3]] += 1
        self.dsts.counts[ent[4]] += 1
        if ent[5] is not None:
            self.ports.counts[(ent[1], ent[5])] += 1

    def result(self, top, group, addr, port):
        """The breakdown dict; group/addr/port convert raw keys (and pass final ones)."""
        self.fold()
        if len(self.ports.counts) > self.capacity:
            self.ports.prune()
        groups = {}
        for k, n in self.groups.items():
            k = group(k)
            groups[k] = groups.get(k, 0) + n
        return finish(self.total, groups, self.srcs.converted(addr), self.dsts.converted(addr),
                      self.ports.converted(port), top, (self.assured, self.unreplied))


class GcPaused(object):
    """Pause the cyclic garbage collector: the fast paths allocate millions of short-lived
    tuples and no cycles, and the collector would walk them again and again."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc):
        if self.was:
            gc.enable()
        return False


class ChildFailed(Exception):
    """The producer raised in the child: kind is its class name, errno its errno or 0."""

    def __init__(self, kind, err, message):
        super(ChildFailed, self).__init__(message)
        self.kind = kind
        self.errno = err


class ChildStream(object):
    """Iterate over the chunks of bytes produce(*args) yields, produced in a forked child.

    The kernel's work behind a full read of the conntrack table (formatting /proc text,
    filling netlink messages) runs inside read()/recv() of the process that asks, so a
    child that only reads and writes into a pipe lets this process parse at the same
    time on another CPU, with no lock between the two. Errors in the child come back as
    ChildFailed. Without fork (or pipes) the producer runs here, one chunk at a time.

        with ChildStream(produce, arg) as stream:
            for chunk in stream:
                ...
    """

    def __init__(self, produce, *args):
        self.produce = produce
        self.args = args
        self.pid = None
        self.rfd = self.efd = None
        self.local = None

    def __enter__(self):
        fds = []
        try:
            r, w = os.pipe()
            fds += [r, w]
            err_r, err_w = os.pipe()
            fds += [err_r, err_w]
            try:
                import fcntl
                fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_SIZE)
            except (ImportError, OSError, IOError):
                pass
            pid = os.fork()
        except (OSError, AttributeError):
            for fd in fds:
                os.close(fd)
            self.local = self.produce(*self.args)
            return self
        if pid == 0:   # pragma: no cover (the child ends in os._exit)
            self._child(r, w, err_r, err_w)
        os.close(w)
        os.close(err_w)
        self.pid, self.rfd, self.efd = pid, r, err_r
        return self

    def _child(self, r, w, err_r, err_w):   # pragma: no cover
        code = 0
        try:
            os.close(r)
            os.close(err_r)
            for data in self.produce(*self.args):
                view = memoryview(data)
                while len(view):
                    view = view[os.write(w, view):]
        except BaseException as e:  # everything goes back to the parent
            code = 1
            try:
                msg = '%s\0%d\0%s' % (type(e).__name__, getattr(e, 'errno', None) or 0, e)
                os.write(err_w, msg.encode('utf-8', 'replace')[:60000])
            except BaseException:
                pass
        finally:
            os._exit(code)

    def __iter__(self):
        if self.local is not None:
            yield from self.local
            return
        read, fd, size = os.read, self.rfd, READ_CHUNK
        while True:
            data = read(fd, size)
            if not data:
                break
            yield data
        self._reap()

    def _reap(self):
        parts = []
        while True:
            b = os.read(self.efd, 65536)
            if not b:
                break
            parts.append(b)
        _pid, status = os.waitpid(self.pid, 0)
        self.pid = None
        if parts:
            kind, err, msg = (b''.join(parts).decode('utf-8', 'replace').split('\0', 2) + ['', ''])[:3]
            raise ChildFailed(kind, int(err) if err.isdigit() else 0, msg)
        if status:
            raise ChildFailed('OSError', 0, 'reader process ended with status %d' % status)

    def __exit__(self, *exc):
        for fd in (self.rfd, self.efd):
            if fd is not None:
                os.close(fd)
        self.rfd = self.efd = None
        if self.pid is not None:
            # stopped early (an error here, or the consumer saw the end of a dump)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
        if self.local is not None and hasattr(self.local, 'close'):
            self.local.close()
        return False


def read_file_chunks(path, batch=READ_CHUNK):
    """Yield the contents of path in chunks of about batch bytes.

    /proc/net/nf_conntrack (a seq_file) returns at most a page per read() whatever the
    size asked, hence the reads into one buffer until it is nearly full."""
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(batch + 65536)
        view = memoryview(buf)
        pos = 0
        readv = os.readv
        while True:
            n = readv(fd, [view[pos:]])
            if not n:
                break
            pos += n
            if pos >= batch:
                yield bytes(view[:pos])
                pos = 0
        if pos:
            yield bytes(view[:pos])
    finally:
        os.close(fd)


_REC_PAIR = itemgetter(0, 1, 4)
_REC_SRC = itemgetter(2)
_REC_DST = itemgetter(3)


def count_proc_lines(acc, buf, end):
    """Count the complete lines of buf[0:end] (buf[0] is a newline, see
    _proc.scan_conntrack_lines) into acc; line by line when the fast pattern does not
    recognise every line of the chunk."""
    recs, lines = _proc.scan_conntrack_lines(buf, end)
    if len(recs) == lines:
        acc.total += lines
        # pair key (l3l4, state, dport): group (l3l4, state), port (l3l4, dport)
        acc.pairs.update(map(_REC_PAIR, recs))
        acc.srcs.counts.update(map(_REC_SRC, recs))
        acc.dsts.counts.update(map(_REC_DST, recs))
        acc.assured += buf.count(b'[ASSURED]', 0, end)
        acc.unreplied += buf.count(b'[UNREPLIED]', 0, end)
    else:
        parse = _proc.parse_conntrack_line
        for line in buf[1:end].decode('utf-8', 'replace').split('\n'):
            ent = parse(line)
            if ent is not None:
                acc.add_entry(ent)
    acc.bound()


def _proc_split(key):
    l34, state, dport = key
    return (l34, state), ((l34, dport) if dport else None)


def _proc_group(k):
    if len(k) == 5:
        return k
    l34, state = k
    f = l34.split()
    l4 = f[2].decode('ascii')
    return (f[0].decode('ascii'), l4, state.decode('ascii') if state and l4 == 'tcp' else None, False, False)


def _proc_addr(k):
    if not isinstance(k, bytes):
        return k
    t = k.decode('utf-8', 'replace')
    return _proc.compress_ipv6(t) if ':' in t else t


def _proc_port(k):
    proto, port = k
    if not isinstance(proto, bytes):
        return k
    return (proto.split()[2].decode('ascii'), int(port))


def proc_breakdown(path, top=10, capacity=DEFAULT_CAPACITY):
    """summarize() of the entries of a /proc/net/nf_conntrack file, fast: read by a child
    process, counted a chunk of lines at a time."""
    acc = Counts(_proc_split, capacity)
    tail = b''
    with GcPaused():
        with ChildStream(read_file_chunks, path) as stream:
            try:
                for data in stream:
                    buf = b''.join((b'\n', tail, data))
                    cut = buf.rfind(b'\n')
                    if cut > 0:
                        count_proc_lines(acc, buf, cut)
                    tail = buf[cut + 1:]
            except ChildFailed as e:
                raise OSError(e.errno or _errno.EIO, '%s: %s' % (path, e))
        if tail:
            count_proc_lines(acc, b'\n' + tail, len(tail) + 1)
        return acc.result(top, _proc_group, _proc_addr, _proc_port)
