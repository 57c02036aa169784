# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming breakdown of a conntrack table in memory bounded by design.

Input: entries from the /proc parser or the ctnetlink dump. Output: counts per L3 and L4
protocol, per TCP state, ASSURED / UNREPLIED (exact), and the top N sources, destinations
and destination ports (exact while they fit, within a proven bound after).

Memory: each per-key counter (sources, destinations, destination ports) is a
BoundedCounter: past `capacity` distinct keys it is pruned with the Misra-Gries rule,
whatever the table's shape. The counts per protocol and state are exact: their keys are
the kernel's few names. So the memory of a breakdown does not grow with the table: about
`capacity` keys per counter at most (see BoundedCounter), whether the table has 60 ports
or a million distinct sources.

Accuracy: a count that survives pruning is a lower bound, at most `error` below the
truth, and `error` <= entries / (capacity / 2 + 1) (BoundedCounter). The checks run at
fixed entry numbers (every CHECK_EVERY entries), never at chunk boundaries, so the
result depends only on the entries and their order: the /proc and the ctnetlink paths
walk the table in the same order and give the same answer, also when pruned.

Speed: a table of a million entries is 170 MB of /proc text or 210 MB of netlink
messages, and the kernel spends about 2.5 s producing either. The fast paths
(proc_breakdown, and _netlink.dump_breakdown through summarize()) read in a forked child
process (ChildStream), so that the kernel's work (in the child's read()/recv() calls)
overlaps with the parsing in this process, and count whole chunks at a time with C-level
helpers (a bytes regex over /proc text, Counter updates over per-chunk lists) with raw
keys that are converted to text only once per distinct key kept, at the end.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno as _errno
import gc
import heapq
import os
import signal
import socket
import struct
from collections import Counter
from operator import itemgetter

from ansible_collections.nfct.tuning.plugins.module_utils.host import proc as _proc

# keys per counter: ~2-3 MiB each at most (docs/benchmarks.md); the error bound at 1M entries
# is then 1,000,000 / 8,193 = 122 entries
DEFAULT_CAPACITY = 16384
# entries between two checks of the counters' sizes (fixed entry numbers: 4096, 8192, ...)
CHECK_EVERY = 4096
# what a key converter returns for a key that is not counted (no destination port)
DROP = object()
# Counts._feed_joint counts groups and ports through one Counter of joint keys while there are
# fewer than one distinct key in JOINT_DISTINCT entries (judged on parts of JOINT_SAMPLE entries
# or more), and tries again JOINT_RETRY parts after a part with more
JOINT_DISTINCT = 4
JOINT_SAMPLE = 512
JOINT_RETRY = 64
# BoundedCounter.top() converts the keys counting at least its (n + TOP_SPARE)-th largest
# count: room for the few keys the port converter drops (protocols without ports)
TOP_SPARE = 8
# ChildStream's ring: 16 slots of 256 KiB (4 MiB) let the reader run ahead. A slot is handed
# over when less than MIN_ROOM is left: the largest netlink datagram of a dump is 32 KiB, so a
# slot carries about eight. Measured at 1M entries (a dump of 6,500 datagrams of ~29 KiB):
# 128 KiB slots with 64 KiB of room cost 0.12 s over the bare dump, 256 KiB slots 0.04 s
# (fewer hand-overs); the /proc parser is as fast with 128 or 256 KiB chunks (they stay in
# the CPU caches; 1 MiB chunks cost it 15-25 % more CPU).
SLOT_SIZE = 256 * 1024
RING_SLOTS = 16
MIN_ROOM = 32 * 1024
_TOKEN = struct.Struct('=II')      # (slot, length) to the parser; (slot, 0) back
_END = 0xffffffff


class BoundedCounter(object):
    """Counts per key, with at most `capacity` keys after each bound() (Misra-Gries).

    Keys are added in bulk (counts.update(iterable): C speed). bound(), called every
    CHECK_EVERY entries, prunes when more than `capacity` keys are held: t is the count
    of the (keep + 1)-th largest key (keep = capacity // 2), every count is lowered by t
    and the keys left at 0 or below go. Between two checks the counter holds at most
    capacity + CHECK_EVERY keys.

    The bound, for N entries added: each prune takes t from at least keep + 1 keys
    (those counting t or more), so it removes at least t * (keep + 1) of the N counts,
    and the sum of the t's, `error`, is at most N / (keep + 1). A key's count here is
    never above its true count and at most `error` below it (each prune lowered it by at
    most its t), and a key not held counted at most `error`.
    """
    __slots__ = ('counts', 'capacity', 'keep', 'error', 'prunes')

    def __init__(self, capacity):
        if capacity < 2:
            raise ValueError('capacity must be at least 2, not %r' % (capacity,))
        self.counts = Counter()
        self.capacity = capacity
        self.keep = capacity // 2
        self.error = 0
        self.prunes = 0

    def update(self, keys):
        """Count each key of the iterable once (Counter.update: C speed)."""
        self.counts.update(keys)

    def bound(self):
        if len(self.counts) > self.capacity:
            self.prune()

    def prune(self):
        counts = self.counts
        # the (keep + 1)-th largest count, from the histogram of the counts (C speed)
        hist = Counter(counts.values())
        above = 0       # keys counting more than t
        for t in sorted(hist, reverse=True):
            if above + hist[t] > self.keep:
                break
            above += hist[t]
        kept = Counter()
        if above:
            for k, c in counts.items():
                if c > t:
                    kept[k] = c - t
        self.counts = kept
        self.error += t
        self.prunes += 1

    def top(self, n, conv, order):
        """(the n largest [(key, count)] after conv, merged, sorted by order; the error bound
        of those counts). Keys that conv maps to the same value are added, and so are
        their errors: the bound is error times the most raw keys merged into one (the
        converters of the fast paths map distinct raw keys to distinct values, or DROP).

        Only the keys that can be among the n largest are converted: those counting at
        least the (n + TOP_SPARE)-th largest count (all of them when conv drops so many
        that fewer than n are left)."""
        counts = self.counts
        if len(counts) > n + TOP_SPARE:
            least = heapq.nlargest(n + TOP_SPARE, counts.values())[-1]
            items = [kv for kv in counts.items() if kv[1] >= least]
            result, factor = self._top(items, n, conv, order)
            if len(result) == n or len(items) == len(counts):
                return result, self.error * factor
        result, factor = self._top(counts.items(), n, conv, order)
        return result, self.error * factor

    def top_ranked(self, n, conv, rank):
        """(the n largest [(conv(key), count)], ties in the order of rank(key); the error bound).
        For keys that conv maps one to one (addresses): the candidates are ranked on their
        raw keys and only the n kept are converted."""
        counts = self.counts
        items = counts.items()
        if len(counts) > n:
            least = heapq.nlargest(n, counts.values())[-1]
            items = [kv for kv in items if kv[1] >= least]
        best = heapq.nsmallest(n, items, key=lambda kv: (-kv[1], rank(kv[0])))
        return [(conv(k), c) for k, c in best], self.error

    @staticmethod
    def _top(items, n, conv, order):
        merged = {}
        ways = {}
        for k, c in items:
            k = conv(k)
            if k is DROP:
                continue
            if k in merged:
                merged[k] += c
                ways[k] = ways.get(k, 1) + 1
            else:
                merged[k] = c
        factor = max(ways.values()) if ways else 1
        # heapq.nsmallest(n, ...) == sorted(...)[:n], without sorting every key
        return heapq.nsmallest(n, merged.items(), key=order), factor


def address_rank(addr):
    """The order of addresses in a top list when counts tie: IPv4 before IPv6, then by
    number (10.0.0.9 before 10.0.0.10); the same for the text of any reading (an address
    the kernel would not print, and None, first). Raw keys rank with a function of their
    own that gives the same order (_proc_addr_rank, _netlink._breakdown_addr_rank)."""
    if addr is None:
        return (0, b'')
    try:
        if ':' in addr:
            return (16, socket.inet_pton(socket.AF_INET6, addr))
        return (4, socket.inet_pton(socket.AF_INET, addr))
    except (OSError, ValueError, TypeError):
        return (1, str(addr).encode('utf-8', 'replace'))


def _by_count_key(kv):
    return (-kv[1], kv[0])


def _same(k):
    return k


def _port_or_drop(k):
    return DROP if k[1] is None else k


class Counts(object):
    """The counters of a breakdown: exact ones per (l3, l4, state, flags) group, bounded
    ones (BoundedCounter) per source, destination and destination port.

    The fast paths add columns of raw keys (bytes straight from /proc, packed addresses
    and protocol numbers from ctnetlink) with feed(), also for the entries of a layout
    their fast pattern does not know; result() converts the raw keys once per distinct
    key held. summarize() adds entry tuples (l3, l4, state, src, dst, dport, assured,
    unreplied) with add_entry(), whose keys the converters pass through unchanged.
    Either way each counter sees one key per entry, in the table's order: the same
    prunes, the same result."""

    def __init__(self, capacity=DEFAULT_CAPACITY):
        self.capacity = capacity
        self.total = 0
        self.next_check = CHECK_EVERY
        self.assured = 0
        self.unreplied = 0
        self.groups = Counter()
        self.srcs = BoundedCounter(capacity)
        self.dsts = BoundedCounter(capacity)
        self.ports = BoundedCounter(capacity)
        self.joint_skip = 0

    def _check(self):
        self.srcs.bound()
        self.dsts.bound()
        self.ports.bound()
        self.next_check += CHECK_EVERY

    def feed(self, n, columns, plan, joint=None):
        """Count n entries given as columns (sequences of n items each): plan is a list of
        (counter, column index, getter or None): counter.update(map(getter, column)),
        counter being a Counter or a BoundedCounter; joint, if given, counts the groups and
        the destination ports from one column (see _feed_joint).
        The entries are cut at the fixed check points (see CHECK_EVERY)."""
        i = 0
        while i < n:
            j = min(n, i + self.next_check - self.total)
            whole = i == 0 and j == n
            parts = columns if whole else [col[i:j] for col in columns]
            for counter, idx, get in plan:
                counter.update(parts[idx] if get is None else map(get, parts[idx]))
            if joint is not None:
                self._feed_joint(parts[joint[0]], j - i, joint)
            self.total += j - i
            i = j
            if self.total == self.next_check:
                self._check()

    def _feed_joint(self, column, n, joint):
        """The groups and the destination ports of the n entries of column (between two checks),
        joint being (column index, key getter or None, group of a key, port of a key, group of
        an item, port of an item). While the entries have few distinct keys (a key: what the
        group and the port are made of), one Counter of their keys folded into the groups and
        the ports: one update per entry instead of two. When a part of JOINT_SAMPLE entries or
        more has many (a table of many ports), the two updates, and the joint count is tried
        again JOINT_RETRY parts later.
        The same counts either way, before the same check."""
        _idx, key, group, port, item_group, item_port = joint
        if self.joint_skip:
            self.joint_skip -= 1
            self.groups.update(map(item_group, column))
            self.ports.update(map(item_port, column))
            return
        keys = Counter(column if key is None else map(key, column))
        groups, ports = self.groups, self.ports.counts
        for k, c in keys.items():
            groups[group(k)] += c
            ports[port(k)] += c
        if n >= JOINT_SAMPLE and len(keys) * JOINT_DISTINCT > n:
            self.joint_skip = JOINT_RETRY

    def add_entry(self, ent):
        """One (l3, l4, state, src, dst, dport, assured, unreplied) entry."""
        self.total += 1
        self.groups[ent[0:3] + ent[6:8]] += 1     # (l3, l4, state, assured, unreplied)
        self.srcs.counts[ent[3]] += 1
        self.dsts.counts[ent[4]] += 1
        # (l4, None) without a port, as the fast paths count it: the same keys make the same
        # prunes (result() drops it)
        self.ports.counts[(ent[1], ent[5])] += 1
        if self.total == self.next_check:
            self._check()

    def result(self, top, group=_same, addr=_same, port=_port_or_drop, rank=address_rank):
        """The breakdown dict; group/addr/port convert raw keys (and pass final ones), rank
        orders raw addresses as address_rank() orders their text."""
        groups = {}
        for k, n in self.groups.items():
            k = group(k)
            groups[k] = groups.get(k, 0) + n
        srcs, src_err = self.srcs.top_ranked(top, addr, rank)
        dsts, dst_err = self.dsts.top_ranked(top, addr, rank)
        ports, port_err = self.ports.top(top, port, _by_count_key)
        return finish(self.total, groups, srcs, dsts, ports, (src_err, dst_err, port_err),
                      self.srcs.prunes + self.dsts.prunes + self.ports.prunes == 0,
                      (self.assured, self.unreplied))


def summarize(entries, top=10, capacity=DEFAULT_CAPACITY):
    """Consume the entries once and return the breakdown dict.

    An entry source that can summarize itself faster than entry by entry (the
    ctnetlink dump, see _netlink.EntryDump) offers a breakdown(top, capacity)
    method with the same result; it is used instead of iterating.
    """
    fast = getattr(entries, 'breakdown', None)
    if fast is not None:
        return fast(top, capacity)
    acc = Counts(capacity)
    add = acc.add_entry
    for ent in entries:
        add(ent)
    return acc.result(top)


def finish(total, groups, srcs, dsts, ports, errors, exact, flags=(0, 0)):
    """The breakdown dict. groups: {(l3, l4, state, assured, unreplied): n}; srcs, dsts:
    top [(address, count)]; ports: top [((l4, port), count)]; errors: the error bounds of
    the three; exact: whether no counter was pruned; flags: ASSURED and UNREPLIED counts
    not represented in groups (the /proc fast path counts them apart)."""
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
    src_err, dst_err, port_err = errors
    return {
        'total': total,
        'l3': l3,
        'l4': l4,
        'tcp_states': tcp_states,
        'assured': assured,
        'unreplied': unreplied,
        'top_sources': [{'key': k, 'count': c} for k, c in srcs],
        'top_destinations': [{'key': k, 'count': c} for k, c in dsts],
        'top_destination_ports': [{'key': '%s/%d' % (k[0], k[1]), 'protocol': k[0], 'port': k[1], 'count': c}
                                  for k, c in ports],
        'top_exact': exact,
        'top_max_error': max(errors),
        'top_errors': {'sources': src_err, 'destinations': dst_err, 'destination_ports': port_err},
    }


# --------------------------------------------------------------------------
# fast paths: a reader in a child process, /proc in chunks

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
    """Iterate over chunks of bytes that a forked child reads into shared memory.

    The kernel's work behind a full read of the conntrack table (formatting /proc text,
    filling netlink messages) runs inside read()/recv() of the process that asks, so a
    child that only reads lets this process parse at the same time on another CPU.

    The child reads straight into the slots of a ring in a shared anonymous mapping
    (RING_SLOTS slots of SLOT_SIZE bytes) and passes only (slot, length) through a pipe;
    this process parses the slot where it lies and hands it back through another pipe.
    No byte of the table is copied between the two (a pipe would copy each byte twice:
    measured 5 % of the kernel's walk at 1M entries). Errors in the child come back as
    ChildFailed. Without fork, pipes or mmap the reader runs here, one slot at a time.

    make_fill(*args) runs in the reader and returns fill(view) -> (bytes written into the
    writable memoryview of a slot, whether the end was reached); it fills the slot in as
    many reads as it takes (a /proc seq_file returns at most a page per read, so the loop
    over the reads of a slot stays in one call). A chunk is valid until the next step of
    the iteration.

        with ChildStream(make_fill, arg) as stream:
            for chunk in stream:      # memoryview
                ...
    """

    def __init__(self, make_fill, *args):
        self.make_fill = make_fill
        self.args = args
        self.pid = None
        self.fds = []
        self.ring = None
        self.local = None

    def __enter__(self):
        try:
            import mmap
            self.ring = mmap.mmap(-1, RING_SLOTS * SLOT_SIZE)
            for _i in range(3):
                self.fds += list(os.pipe())
            pid = os.fork()
        except (ImportError, OSError, AttributeError, ValueError):
            self._close()
            self.local = self.make_fill(*self.args)
            return self
        tok_r, tok_w, free_r, free_w, err_r, err_w = self.fds
        if pid == 0:   # pragma: no cover (the child ends in os._exit)
            self._child(tok_w, free_r, err_w)
        for fd in (tok_w, free_r, err_w):
            os.close(fd)
        self.fds = [tok_r, free_w, err_r]
        self.pid = pid
        return self

    def _child(self, tok_w, free_r, err_w):   # pragma: no cover
        code = 0
        try:
            for fd in self.fds:
                if fd not in (tok_w, free_r, err_w):
                    os.close(fd)
            fill = self.make_fill(*self.args)
            view = memoryview(self.ring)
            free = list(range(RING_SLOTS))
            write, read, pack = os.write, os.read, _TOKEN.pack
            while True:
                if not free:
                    data = read(free_r, _TOKEN.size * RING_SLOTS)
                    if not data:
                        break
                    free += [t[0] for t in _TOKEN.iter_unpack(data)]
                slot = free.pop()
                base = slot * SLOT_SIZE
                n, ended = fill(view[base:base + SLOT_SIZE])
                if n:
                    write(tok_w, pack(slot, n))
                if ended:
                    write(tok_w, pack(_END, 0))
                    break
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
            buf = memoryview(bytearray(SLOT_SIZE))
            ended = False
            while not ended:
                n, ended = self.local(buf)
                if n:
                    yield buf[:n]
            return
        view = memoryview(self.ring)
        tok_r, free_w, _err_r = self.fds
        read, write, unpack, size = os.read, os.write, _TOKEN.unpack, _TOKEN.size
        pending = b''
        while True:
            if len(pending) < size:
                data = read(tok_r, size * RING_SLOTS)
                if not data:
                    break      # the reader ended without its end token: _reap() says why
                pending += data
                continue
            slot, length = unpack(pending[:size])
            pending = pending[size:]
            if slot == _END:
                break
            base = slot * SLOT_SIZE
            yield view[base:base + length]
            if free_w is not None:
                try:
                    write(free_w, _TOKEN.pack(slot, 0))
                except OSError as e:
                    if e.errno != _errno.EPIPE:
                        raise
                    free_w = None     # the reader has ended: its last slots follow
        self._reap()

    def _reap(self):
        parts = []
        while True:
            b = os.read(self.fds[2], 65536)
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

    def _close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.ring is not None:
            self.ring.close()
            self.ring = None

    def __exit__(self, *exc):
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.pid is not None:
            # stopped early (an error here, or the consumer saw the end of a dump)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
        if self.ring is not None:
            try:
                self.ring.close()
            except BufferError:   # a chunk (memoryview) still referenced by the caller
                pass
            self.ring = None
        close = getattr(self.local, 'close', None)
        if close is not None:
            close()
        return False


class FileReader(object):
    """fill(view) for ChildStream: the file at path, a slot at a time."""

    def __init__(self, path):
        self.f = open(path, 'rb', buffering=0)

    def __call__(self, view):
        readinto = self.f.readinto
        pos, size = 0, len(view)
        while pos < size:
            n = readinto(view[pos:])
            if not n:
                self.close()
                return pos, True
            pos += n
        return pos, False

    def close(self):
        self.f.close()


# the columns of a record of _proc.scan_conntrack_lines: (l3l4, l4, state, src, dst, dport)
def _proc_plan(acc):
    # record -> src; dst (the groups and ports: _PROC_JOINT)
    return [(acc.srcs, 0, itemgetter(3)), (acc.dsts, 0, itemgetter(4))]


# record -> joint key (l3l4, l4, state, dport); key -> group (l3l4, state), port (l4, dport);
# record -> group, port (Counts._feed_joint)
_PROC_JOINT = (0, itemgetter(0, 1, 2, 5), itemgetter(0, 2), itemgetter(1, 3), itemgetter(0, 2), itemgetter(1, 5))


def count_proc_lines(acc, buf, end, plan=None):
    """Count the complete lines of buf[0:end] (buf[0] is a newline, see
    _proc.scan_conntrack_lines) into acc; line by line when the fast pattern does not
    recognise every line of the chunk. plan: _proc_plan(acc), when the caller keeps it."""
    recs, lines = _proc.scan_conntrack_lines(buf, end)
    if len(recs) != lines:
        # some line has another layout: every line on its own, the others as the records
        # the pattern would give (the same keys, in the table's order: b'' for a group that
        # did not match, as findall() gives it, so that an ICMP entry counts under one port
        # key whichever way its chunk was read)
        match, record = _proc.CT_LINE_FAST.match, _proc.conntrack_line_record
        recs = []
        for line in buf[1:end].split(b'\n'):
            m = match(b'\n' + line)
            rec = m.groups(b'') if m else record(line.decode('utf-8', 'replace'))
            if rec is not None:
                recs.append(rec)
    acc.feed(len(recs), (recs,), plan or _proc_plan(acc), _PROC_JOINT)
    acc.assured += buf.count(b'[ASSURED]', 0, end)
    acc.unreplied += buf.count(b'[UNREPLIED]', 0, end)


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
    if not k:
        return None
    t = k.decode('utf-8', 'replace')
    return _proc.compress_ipv6(t) if ':' in t else t


def _proc_addr_rank(k):
    """address_rank() of a raw /proc address (bytes as printed: IPv6 in full)."""
    if not isinstance(k, bytes):
        return address_rank(k)
    if not k:
        return (0, b'')
    try:
        if b':' in k:
            return (16, socket.inet_pton(socket.AF_INET6, k.decode('ascii')))
        return (4, socket.inet_pton(socket.AF_INET, k.decode('ascii')))
    except (OSError, ValueError, UnicodeDecodeError):
        return (1, k)


def _proc_port(k):
    proto, port = k
    if not isinstance(proto, bytes):
        return _port_or_drop(k)
    if not port:
        return DROP
    return (proto.decode('ascii'), int(port))


def count_proc_chunks(acc, chunks):
    """Count the /proc/net/nf_conntrack text given as chunks (bytes-like pieces of the file, in
    order, cut anywhere; each one only read before the next is asked for) into acc (a Counts)."""
    plan = _proc_plan(acc)
    tail = b''
    for data in chunks:
        buf = b''.join((b'\n', tail, data))
        cut = buf.rfind(b'\n')
        if cut > 0:
            count_proc_lines(acc, buf, cut, plan)
        tail = buf[cut + 1:]
    if tail:
        count_proc_lines(acc, b'\n' + tail, len(tail) + 1, plan)


def proc_result(acc, top):
    """The breakdown dict of what count_proc_chunks() counted into acc."""
    return acc.result(top, _proc_group, _proc_addr, _proc_port, _proc_addr_rank)


def proc_breakdown(path, top=10, capacity=DEFAULT_CAPACITY):
    """summarize() of the entries of a /proc/net/nf_conntrack file, fast: read by a child
    process, counted a chunk of lines at a time."""
    acc = Counts(capacity)
    with GcPaused():
        with ChildStream(FileReader, path) as stream:
            try:
                count_proc_chunks(acc, stream)
            except ChildFailed as e:
                raise OSError(e.errno or _errno.EIO, '%s: %s' % (path, e))
        return proc_result(acc, top)
