# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for the kernel's text formats around conntrack.

Every function takes text (or lines) and returns plain data, so the unit tests
can feed fixtures captured from real kernels.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import socket

_V6 = {}


def compress_ipv6(addr):
    """/proc/net/nf_conntrack prints IPv6 in full (%pI6: 0000:...:0001); return the
    compressed form ('::1') that conntrack-tools and ctnetlink users print."""
    got = _V6.get(addr)
    if got is None:
        try:
            got = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, addr))
        except (OSError, ValueError):
            got = addr
        if len(_V6) < 65536:
            _V6[addr] = got
    return got


# /proc/net/stat/nf_conntrack column names (header line) -> our counter names.
# Older kernels name some columns differently; 'entries' repeats the global count
# on every row and must not be summed; new/ignore/delete/searched read 0 on
# modern kernels and are not reported.
STAT_COUNTERS = ('found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop',
                 'icmp_error', 'search_restart', 'clash_resolve', 'chaintoolong')
_STAT_ALIASES = {
    'clashres': 'clash_resolve',
    'chainlength': 'chaintoolong',
    'error': 'icmp_error',
}

TCP_STATES = ('NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT',
              'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2')


def parse_stat_file(text):
    """Parse /proc/net/stat/nf_conntrack: a header and one row of hex per CPU.

    Returns {'entries': int or None, 'cpus': rows, <counter>: sum over CPUs}.
    Columns are found by header name, not position, because the set of columns
    changed across kernel versions (searched -> clashres, chainlength added).
    """
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError('empty stat file')
    header = lines[0]
    if header[0] != 'entries':
        raise ValueError("unexpected stat header: %r" % ' '.join(header))
    names = [_STAT_ALIASES.get(h, h) for h in header]
    sums = dict((c, 0) for c in STAT_COUNTERS)
    seen = set()
    entries = None
    rows = 0
    for fields in lines[1:]:
        if len(fields) != len(names):
            raise ValueError('stat row has %d columns, header has %d' % (len(fields), len(names)))
        rows += 1
        for name, raw in zip(names, fields):
            val = int(raw, 16)
            if name == 'entries':
                entries = val
            elif name in sums:
                sums[name] += val
                seen.add(name)
    out = {'entries': entries, 'cpus': rows, 'columns': sorted(seen)}
    out.update(sums)
    return out


def parse_slab_cache(text):
    """The nf_conntrack cache of /proc/slabinfo: {objsize, objperslab, pagesperslab}, or None.

    Kernels before 4.7 named the cache per netns ('nf_conntrack_ffff8800...');
    'nf_conntrack_expect' is a different cache.
    """
    for line in text.splitlines():
        if not line.startswith('nf_conntrack'):
            continue
        fields = line.split()
        name = fields[0]
        if name == 'nf_conntrack' or re.match(r'^nf_conntrack_[0-9a-f]{8,}$', name):
            try:
                out = {'objsize': int(fields[3])}
            except (IndexError, ValueError):
                return None
            try:
                out['objperslab'], out['pagesperslab'] = int(fields[4]), int(fields[5])
            except (IndexError, ValueError):
                pass
            return out
    return None


def parse_slabinfo(text):
    """Return the nf_conntrack object size in bytes from /proc/slabinfo, or None."""
    cache = parse_slab_cache(text)
    return cache['objsize'] if cache else None


def parse_meminfo_total(text):
    """MemTotal in bytes from /proc/meminfo."""
    m = re.search(r'^MemTotal:\s+(\d+)\s*kB', text, re.M)
    if not m:
        raise ValueError('MemTotal not found in meminfo')
    return int(m.group(1)) * 1024


def parse_release(release):
    """'6.18.44-fc-v657' -> (6, 18, 44); '3.10.0-1160.el7.x86_64' -> (3, 10, 0)."""
    m = re.match(r'^(\d+)\.(\d+)(?:\.(\d+))?', release or '')
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def parse_cmdline_hashsize(text):
    """Value of nf_conntrack.hashsize= on a kernel command line (last wins), or None."""
    value = None
    for tok in (text or '').split():
        if tok.startswith('nf_conntrack.hashsize='):
            raw = tok.split('=', 1)[1].strip('"\'')
            if raw.isdigit():
                value = int(raw)
    return value


def parse_grub_default(text):
    """nf_conntrack.hashsize= in GRUB_CMDLINE_LINUX(_DEFAULT) of /etc/default/grub."""
    value = None
    for line in (text or '').splitlines():
        m = re.match(r'^\s*GRUB_CMDLINE_LINUX(?:_DEFAULT)?\s*=\s*(.*)$', line)
        if m:
            v = parse_cmdline_hashsize(m.group(1).strip().strip('"\''))
            if v is not None:
                value = v
    return value


def parse_conntrack_line(line):
    """Parse one /proc/net/nf_conntrack line by key, not by column position.

    Returns (l3, l4, state, src, dst, dport, assured, unreplied) where state is the
    TCP state for tcp and None otherwise, src/dst/dport describe the original
    direction (the first occurrence of each key), dport is None for protocols
    without ports. Returns None for a line that is not an entry.

    Example lines (an offloaded flow has no timeout column: "ipv4 2 tcp 6 ESTABLISHED src=..."):
      ipv4 2 tcp 6 117 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=4 dport=80 [UNREPLIED] src=...
      ipv4 2 udp 17 29 src=10.0.0.1 dst=10.0.0.2 sport=5 dport=53 src=... [ASSURED] mark=0 use=2
      ipv6 10 udp 17 29 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=... (printed in full;
                                                                            returned compressed: '::1')
    """
    f = conntrack_line_fields(line)
    if f is None:
        return None
    l3, l4, state, src, dst, dport, assured, unreplied = f
    if l4 != 'tcp':
        state = None
    if l3 == 'ipv6':
        src = compress_ipv6(src) if src else src
        dst = compress_ipv6(dst) if dst else dst
    return (l3, l4, state, src, dst, None if dport is None else int(dport), assured, unreplied)


def conntrack_line_fields(line):
    """The fields of parse_conntrack_line() as the line prints them: (l3, l4, state word
    (of any protocol) or None, src, dst, dport text or None, assured, unreplied), or None."""
    tok = line.split()
    if len(tok) < 6:
        return None
    state = None
    # the timeout column (the kernel leaves it out for flows offloaded to a flowtable), then
    # the state word of the protocols that have one
    i = 5 if tok[4].lstrip('-').isdigit() else 4
    if '=' not in tok[i] and not tok[i].startswith('['):
        state = tok[i]
        i += 1
    src = dst = dport = None
    assured = unreplied = False
    for t in tok[i:]:
        if src is None and t.startswith('src='):
            src = t[4:]
        elif dst is None and t.startswith('dst='):
            dst = t[4:]
        elif dport is None and t.startswith('dport='):
            dport = t[6:]
        elif t == '[ASSURED]':
            assured = True
        elif t == '[UNREPLIED]':
            unreplied = True
    return (tok[0], tok[2], state, src, dst, dport, assured, unreplied)


def conntrack_line_record(line):
    """A line the fast pattern (CT_LINE_FAST) does not match, as the record it would give:
    (l3l4, l4, state, src, dst, dport) in bytes (b'' when absent; l3l4 'ipv4 0 gre'), or
    None. The breakdown then counts it under the same keys as the lines the pattern reads."""
    f = conntrack_line_fields(line)
    if f is None:
        return None
    l3, l4, state, src, dst, dport = f[:6]
    # a state word is only printed by protocols that have one; the breakdown keeps TCP's
    return tuple(v.encode('utf-8', 'replace') for v in (
        '%s 0 %s' % (l3, l4), l4, state or '', src or '', dst or '', dport or ''))


# Fast path for whole chunks of /proc/net/nf_conntrack (see scan_conntrack_lines). One
# match per line, anchored on the newline before it, with the values the breakdown needs:
# "ipv4     2 tcp" (L3 and L4 names, split later), the L4 name alone (the key of the port
# counter, the same for IPv4 and IPv6), the state word if any, the first src= and dst=, and
# the dport= that follows sport= in the original direction. The layout is
# the kernel's ct_seq_show(): "%-8s %u %-8s %u %ld " then [STATE ] then the original tuple
# (src= dst= sport= dport= for port protocols) first. A line with another layout has no
# match (a match cannot start inside a line: it needs the newline), which the caller sees
# in the count and then parses that chunk with parse_conntrack_line. The match stops after
# the original tuple: the search for the next newline is as fast as reading to it.
# ([^ ]+ is cheaper than [^ \n]+; a value running into the next line would swallow that
# line's newline, which the count catches too.)
CT_LINE_FAST = re.compile(
    br'\n(ipv[46] +[0-9]+ ([a-z0-9]+))[ 0-9-]+(?:([A-Z][A-Z0-9_]*) )?'
    br'src=([^ ]+) dst=([^ ]+) (?:sport=[0-9]+ dport=([0-9]+) )?')


def scan_conntrack_lines(buf, end):
    """Scan the complete lines of buf[0:end], where buf[0] is a newline and every line
    starts after one (buf[end] is the newline ending the last line, or end == len(buf)).

    Returns (records, lines): one (l3l4, l4, state, src, dst, dport) tuple of bytes per
    line the fast pattern recognises (state and dport b'' when absent; l3l4 is the text
    'ipv4     2 tcp', to be split; l4 the L4 name), and the number of lines. When len(records) != lines
    some line has another layout and the caller must parse the chunk line by line.
    """
    return CT_LINE_FAST.findall(buf, 0, end), buf.count(b'\n', 0, end)


def parse_uptime(text):
    """/proc/uptime -> seconds since boot (float), or None."""
    try:
        return float((text or '').split()[0])
    except (IndexError, ValueError):
        return None


def parse_local_ports(text, states):
    """The local ports of the sockets in /proc/net/{tcp,tcp6,udp,udp6} text whose state (hex, as
    the kernel prints it: 0A is LISTEN, 07 an unconnected UDP socket) is in states."""
    ports = set()
    for line in (text or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3].upper() not in states:
            continue
        try:
            ports.add(int(fields[1].rsplit(':', 1)[1], 16))
        except (IndexError, ValueError):
            continue
    return ports
