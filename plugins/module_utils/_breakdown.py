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
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DEFAULT_CAPACITY = 131072


class _Bounded(object):
    __slots__ = ('counts', 'capacity', 'error', 'pruned')

    def __init__(self, capacity):
        self.counts = {}
        self.capacity = capacity
        self.error = 0
        self.pruned = False

    def prune(self):
        keep = max(1, self.capacity // 2)
        items = sorted(self.counts.items(), key=lambda kv: kv[1], reverse=True)
        if len(items) > keep:
            self.error = max(self.error, items[keep][1])
            self.pruned = True
            self.counts = dict(items[:keep])

    def top(self, n):
        items = sorted(self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return [{'key': k, 'count': c} for k, c in items[:n]]


def summarize(entries, top=10, capacity=DEFAULT_CAPACITY):
    """Consume the entries once and return the breakdown dict."""
    groups = {}
    srcs = _Bounded(capacity)
    dsts = _Bounded(capacity)
    ports = _Bounded(capacity)
    sc, dc, pc = srcs.counts, dsts.counts, ports.counts
    total = 0
    for ent in entries:
        total += 1
        g = ent[0:3] + ent[6:8]
        groups[g] = groups.get(g, 0) + 1
        s = ent[3]
        sc[s] = sc.get(s, 0) + 1
        d = ent[4]
        dc[d] = dc.get(d, 0) + 1
        p = ent[5]
        if p is not None:
            pk = (ent[1], p)
            pc[pk] = pc.get(pk, 0) + 1
        if total & 0x3fff == 0:
            if len(sc) > capacity:
                srcs.prune()
                sc = srcs.counts
            if len(dc) > capacity:
                dsts.prune()
                dc = dsts.counts
            if len(pc) > capacity:
                ports.prune()
                pc = ports.counts
    return finish(total, groups, srcs, dsts, ports, top)


def finish(total, groups, srcs, dsts, ports, top):
    l3 = {}
    l4 = {}
    tcp_states = {}
    assured = unreplied = 0
    for (g3, g4, state, is_assured, is_unreplied), n in groups.items():
        l3[g3] = l3.get(g3, 0) + n
        l4[g4] = l4.get(g4, 0) + n
        if g4 == 'tcp' and state is not None:
            tcp_states[state] = tcp_states.get(state, 0) + n
        if is_assured:
            assured += n
        if is_unreplied:
            unreplied += n
    port_top = [{'key': '%s/%d' % (k[0], k[1]), 'protocol': k[0], 'port': k[1], 'count': c}
                for k, c in sorted(ports.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
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
