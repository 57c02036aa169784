# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's own rules for the conntrack table, in one place: its sysctl interface (key names,
kinds, scopes, allowed ranges, procfs / sysfs paths), default sizes per kernel era, bucket
rounding, per-entry memory, default timeouts and flags, the cost of a live resize. Pure data and
functions, no policy: facts, the sizing engine, the planners and the audit all use them (kernel/keys.py
builds the key vocabulary and validation on the tables here). docs/keys.md cites each.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

GIB = 1024 ** 3

# ---------------------------------------------------------------- the sysctl interface

SYSCTL_PREFIX = 'net.netfilter.nf_conntrack_'
PROC_DIR = '/proc/sys/net/netfilter'
# the module parameter that resizes the table (also writable where nf_conntrack_buckets is not)
HASHSIZE_PATH = '/sys/module/nf_conntrack/parameters/hashsize'
# The packet filter's address families we write rules for (NFPROTO_IPV4, NFPROTO_IPV6), and the
# two kernel interfaces behind the iptables commands: x_tables (iptables-legacy) and nf_tables
# (iptables-nft, the same rule syntax compiled to nftables bytecode).
FAMILIES = ('ipv4', 'ipv6')
IPT_FLAVOURS = ('iptables-legacy', 'iptables-nft')

# Kernel limits behind the ranges (see docs/keys.md):
#  - timeouts are seconds stored as jiffies in an int: INT_MAX / HZ with HZ up to 1000.
#  - buckets: nf_ct_alloc_hashtable() refuses more than INT_MAX / sizeof(hlist_nulls_head).
#  - max: the kernel takes an unsigned int; above 2**28 entries the table alone needs more
#    than 64 GiB of unswappable kernel memory, which we treat as a typo rather than a plan.
INT_MAX = 2147483647
TIMEOUT_MAX = INT_MAX // 1000
BUCKETS_MAX = INT_MAX // 8
MAX_MAX = 2 ** 28

# kind of key -> (minimum, maximum, what the range means)
KEY_KINDS = {
    'size': (1, MAX_MAX, 'entries'),
    'buckets': (1, BUCKETS_MAX, 'hash buckets'),
    'timeout': (1, TIMEOUT_MAX, 'seconds'),
    'bool': (0, 1, '0 or 1'),
    'u8': (0, 255, '0-255'),
    'events': (0, 2, '0 off, 1 on, 2 auto'),
    'readonly': (None, None, 'read-only'),
}

# short name -> (kind, scope). scope: 'global' keys are writable only from the initial
# network namespace (read-only 0444 elsewhere since 5.13 / 5.4.120); 'netns' keys are per netns.
KEYS = {
    'max': ('size', 'global'),
    'buckets': ('buckets', 'global'),
    'expect_max': ('size', 'global'),
    'count': ('readonly', 'netns'),
    'acct': ('bool', 'netns'),
    'checksum': ('bool', 'netns'),
    'events': ('events', 'netns'),
    'helper': ('bool', 'netns'),
    'timestamp': ('bool', 'netns'),
    'log_invalid': ('u8', 'netns'),
    'tcp_be_liberal': ('bool', 'netns'),
    'tcp_loose': ('bool', 'netns'),
    'tcp_ignore_invalid_rst': ('bool', 'netns'),
    'tcp_max_retrans': ('u8', 'netns'),
    'dccp_loose': ('bool', 'netns'),
}

TIMEOUT_KEYS = (
    'tcp_timeout_syn_sent', 'tcp_timeout_syn_recv', 'tcp_timeout_established',
    'tcp_timeout_fin_wait', 'tcp_timeout_close_wait', 'tcp_timeout_last_ack',
    'tcp_timeout_time_wait', 'tcp_timeout_close', 'tcp_timeout_max_retrans',
    'tcp_timeout_unacknowledged',
    'udp_timeout', 'udp_timeout_stream',
    'icmp_timeout', 'icmpv6_timeout', 'generic_timeout',
    'gre_timeout', 'gre_timeout_stream',
    'sctp_timeout_closed', 'sctp_timeout_cookie_wait', 'sctp_timeout_cookie_echoed',
    'sctp_timeout_established', 'sctp_timeout_shutdown_sent', 'sctp_timeout_shutdown_recd',
    'sctp_timeout_shutdown_ack_sent', 'sctp_timeout_heartbeat_sent',
    'dccp_timeout_request', 'dccp_timeout_respond', 'dccp_timeout_partopen',
    'dccp_timeout_open', 'dccp_timeout_closereq', 'dccp_timeout_closing',
    'dccp_timeout_timewait',
)
KEYS.update((timeout_key, ('timeout', 'netns')) for timeout_key in TIMEOUT_KEYS)

# ---------------------------------------------------------------- default sizes per era

_CORE = 'net/netfilter/nf_conntrack_core.c'
# Each era of the default sizing (nf_conntrack_init() in 2.6.15, nf_conntrack_init_init_net()
# from 2.6.28, nf_conntrack_init_start() in 3.x+): from which release, buckets per RAM step, the
# minimum, the bucket head (list_head = 2 pointers before 2.6.23), the max factor, whether the
# size is rounded up to a page of heads and whether max is computed from the rounded size.
# Read from release trees of torvalds/linux; docs/keys.md ("Kernel eras") has the quotes.
ERAS = (
    {'name': '2.6.15-2.6.22', 'since': (2, 6, 15), 'until': (2, 6, 23),
     'steps': ((GIB, 8192),), 'min_buckets': 16, 'head_pointers': 2, 'factor': 8,
     'rounds': False, 'max_from_rounded': False,
     'source': '%s nf_conntrack_init(), commit 9fb9cbb1082d "[NETFILTER]: Add nf_conntrack subsystem." (2.6.15): '
               'RAM/16384/sizeof(list_head), 8192 buckets above 1 GiB, at least 16, max = 8 x buckets' % _CORE},
    {'name': '2.6.23-2.6.27', 'since': (2, 6, 23), 'until': (2, 6, 28),
     'steps': ((GIB, 16384),), 'min_buckets': 32, 'head_pointers': 1, 'factor': 4,
     'rounds': True, 'max_from_rounded': True,
     'source': '%s nf_conntrack_init(), commits f205c5e0c28a "use hlists for conntrack hash" and 8e5105a0c36a '
               '"round up hashsize to next multiple of PAGE_SIZE" (2.6.23): 16384 buckets above 1 GiB, at least 32, '
               'max = 4 x buckets' % _CORE},
    {'name': '2.6.28-3.19', 'since': (2, 6, 28), 'until': (4, 0),
     'steps': ((GIB, 16384),), 'min_buckets': 32, 'head_pointers': 1, 'factor': 4,
     'rounds': True, 'max_from_rounded': False,
     'source': '%s nf_conntrack_init_init_net() / nf_conntrack_init_start(), commit 08f6547d266f "netns '
               'nf_conntrack: final netns tweaks" (2.6.28): 16384 buckets above 1 GiB, at least 32, max = 4 x the '
               'size before rounding' % _CORE},
    {'name': '4.0-4.6', 'since': (4, 0), 'until': (4, 7),
     'steps': ((4 * GIB, 65536), (GIB, 16384)), 'min_buckets': 32, 'head_pointers': 1, 'factor': 4,
     'rounds': True, 'max_from_rounded': False,
     'source': '%s nf_conntrack_init_start() in 4.0 (the 4 GiB step; 3.19 has only the 1 GiB one): 65536 buckets '
               'above 4 GiB, 16384 above 1 GiB, max = 4 x the size before rounding' % _CORE},
    {'name': '4.7-5.14', 'since': (4, 7), 'until': (5, 15),
     'steps': ((4 * GIB, 65536), (GIB, 16384)), 'min_buckets': 32, 'head_pointers': 1, 'factor': 4,
     'rounds': True, 'max_from_rounded': True,
     'source': '%s nf_conntrack_init_start(), commit 56d52d4892d0 "use a single hashtable for all namespaces" '
               '(4.7): 65536 buckets above 4 GiB, 16384 above 1 GiB, max = 4 x buckets' % _CORE},
    {'name': '5.15+', 'since': (5, 15), 'until': None,
     'steps': ((4 * GIB, 262144), (GIB, 65536)), 'min_buckets': 1024, 'head_pointers': 1, 'factor': 1,
     'rounds': True, 'max_from_rounded': True, 'sixty_four_bit_only': 4 * GIB,
     'source': '%s nf_conntrack_init_start(), commit d532bcd0b269 "netfilter: conntrack: sanitize table size '
               'default settings" (5.15): 262144 buckets above 4 GiB on 64-bit, 65536 above 1 GiB, at least 1024, '
               'max = buckets' % _CORE},
)
# factor when a hash size is given at load time (module option or nf_conntrack.hashsize=)
EXPLICIT_FACTOR = 8
# the smallest table a current kernel makes by itself (5.15+: at least 1024 buckets, max = buckets)
MIN_TABLE = ERAS[-1]['min_buckets']
SRC_ROUND = 'kernel nf_ct_alloc_hashtable(): the table is rounded up to a whole page of bucket heads'


def era(release):
    """The era dict for a kernel release tuple (None: the newest era)."""
    if not release:
        return ERAS[-1]
    rel = tuple(release[:3]) + (0,) * (3 - len(release[:3]))
    for e in ERAS:
        since = e['since'] + (0,) * (3 - len(e['since']))
        until = None if e['until'] is None else e['until'] + (0,) * (3 - len(e['until']))
        if rel >= since and (until is None or rel < until):
            return e
    return ERAS[0] if rel < ERAS[0]['since'] else ERAS[-1]


def round_buckets(n, page_size=4096, pointer_size=8):
    """Round a hash size up the way nf_ct_alloc_hashtable() does."""
    per_page = max(1, page_size // pointer_size)
    n = max(1, int(n))
    return ((n + per_page - 1) // per_page) * per_page


def kernel_default(ram_bytes, pointer_size=8, release=None, page_size=4096, hashsize=None):
    """What the kernel picks for buckets and max at this RAM, with its reason and source.

    release: (major, minor, ...) or None for the newest era. hashsize: an explicit hash size
    given at load time (module option or nf_conntrack.hashsize= on the command line).
    """
    e = era(release)
    rnd = (lambda n: round_buckets(n, page_size, pointer_size)) if e['rounds'] else int
    if hashsize:
        buckets = rnd(hashsize)
        base = buckets if e['max_from_rounded'] else int(hashsize)
        return {'buckets': buckets, 'max': EXPLICIT_FACTOR * base, 'factor': EXPLICIT_FACTOR, 'era': e['name'],
                'reason': 'hash size %d given explicitly at load time: max = %d x %s' % (
                    hashsize, EXPLICIT_FACTOR, 'buckets' if e['max_from_rounded'] else 'the size given'),
                'source': e['source']}
    ram_bytes = int(ram_bytes or 0)
    head = pointer_size * e['head_pointers']
    b = ram_bytes // 16384 // head
    why = 'RAM/16384/%d = %d buckets' % (head, b)
    for threshold, size in e['steps']:
        if threshold == e.get('sixty_four_bit_only') and pointer_size < 8:
            continue
        if ram_bytes > threshold:
            b = size
            why = 'more than %d GiB RAM%s: %d buckets' % (threshold // GIB, ' on 64-bit' if threshold == e.get(
                'sixty_four_bit_only') else '', size)
            break
    if b < e['min_buckets']:
        b = e['min_buckets']
        why += ', raised to the minimum %d' % b
    rounded = rnd(b)
    base = rounded if e['max_from_rounded'] else b
    return {'buckets': rounded, 'max': e['factor'] * base, 'factor': e['factor'], 'era': e['name'],
            'reason': '%s, max = %d x %s (kernel %s)' % (why, e['factor'],
                                                         'buckets' if e['max_from_rounded'] else 'the unrounded size',
                                                         e['name']),
            'source': e['source']}


# ---------------------------------------------------------------- memory per entry

# struct nf_conn comes from its own slab cache "nf_conntrack" (objsize in /proc/slabinfo).
# When /proc/slabinfo cannot be read: 384 B, the largest object size known on distribution
# kernels (376 B on 3.10-era x86_64) rounded up to the cache's 64-byte alignment, so the
# estimate never undercounts the object.
FALLBACK_OBJECT_SIZE = 384
# Any entry with an extension (NAT, accounting, timestamps, events, labels, helpers, synproxy)
# also gets an extension area: since 4.12 at least NF_CT_EXT_PREALLOC = 128 bytes
# (net/netfilter/nf_conntrack_extend.c), one kmalloc-128 object; before 4.12 a kzalloc of the
# extensions' size (an estimate of 128 B is used there too). Measured on 6.18 (docs/keys.md):
# +128 B per entry with acct, timestamp, events=1 or masquerade, also all at once; SNAT/DNAT
# without masquerade add nothing there (before 4.12 every entry through a NAT hook got it).
# events: the default was 1 (every entry) until 5.18; 5.19 made it 2 (only while a ctnetlink
# event listener such as conntrackd exists), commit 90d1daa45849.
EXTENSION_BYTES = 128
SRC_EXTENSION = 'kernel nf_conntrack_extend.c NF_CT_EXT_PREALLOC (128 B, one kmalloc-128 object per entry)'


def slab_bytes_per_object(objsize, objperslab=None, pagesperslab=None, page_size=4096):
    """Bytes a slab object really takes: the slab's pages shared by its objects."""
    if objperslab and pagesperslab:
        return max(int(objsize), (int(pagesperslab) * page_size) // int(objperslab))
    return int(objsize)


def extension_reasons(sysctls, nat=False):
    """Why the entries of this host carry the extension area ([] when they do not)."""
    sysctls = sysctls or {}
    out = []
    if nat:
        out.append('NAT (masquerade keeps the interface in the NAT extension)')
    if sysctls.get('acct') == 1:
        out.append('nf_conntrack_acct=1')
    if sysctls.get('timestamp') == 1:
        out.append('nf_conntrack_timestamp=1')
    if sysctls.get('events') == 1:
        out.append('nf_conntrack_events=1 (every entry gets the event cache)')
    return out


def entry_bytes(object_size, extension):
    """Kernel memory of one entry: the object, plus the extension area when it applies."""
    return int(object_size) + (EXTENSION_BYTES if extension else 0)


def table_bytes(entries, buckets, per_entry, pointer_size=8):
    """Kernel memory of the table: entries x bytes per entry + buckets x bucket head."""
    return int(entries) * int(per_entry) + int(buckets) * int(pointer_size)


# ---------------------------------------------------------------- live resize

# Writing nf_conntrack_buckets (or the hashsize parameter) rehashes every entry into a new
# table under the global conntrack lock with bottom halves off (nf_conntrack_hash_resize()).
# Measured on this project's machines (docs/benchmarks.md, "Live resize"; benchmarks/resize.py):
# 0.45-0.7 us per live entry, growing with the table (1M entries 0.48 s, 4M 2.6 s, 16M 12 s).
RESIZE_SECONDS_PER_ENTRY = 0.7e-6
SRC_RESIZE = 'kernel nf_conntrack_hash_resize(); measured in docs/benchmarks.md ("Live resize")'


def resize_seconds(entries):
    return int(entries or 0) * RESIZE_SECONDS_PER_ENTRY


# ---------------------------------------------------------------- default timeouts

# seconds; net/netfilter/nf_conntrack_proto_{tcp,udp,icmp,icmpv6,generic}.c
DEFAULT_TIMEOUTS = {
    'tcp_timeout_syn_sent': 120, 'tcp_timeout_syn_recv': 60,
    'tcp_timeout_established': 432000, 'tcp_timeout_fin_wait': 120,
    'tcp_timeout_close_wait': 60, 'tcp_timeout_last_ack': 30,
    'tcp_timeout_time_wait': 120, 'tcp_timeout_close': 10,
    'tcp_timeout_max_retrans': 300, 'tcp_timeout_unacknowledged': 300,
    'udp_timeout': 30, 'udp_timeout_stream': 120, 'icmp_timeout': 30,
    'icmpv6_timeout': 30, 'generic_timeout': 600,
}
# (key, until release, value): defaults that differed before a release
_OLDER_TIMEOUTS = (
    # udp_timeouts[UDP_CT_REPLIED]: 180 s in the 4.20.1 tree, 120 s in the 5.0.1 tree
    # (net/netfilter/nf_conntrack_proto_udp.c). The 2-second rule that came with it - a replied
    # flow moves to udp_timeout_stream only once it is 2 s old - is a separate commit,
    # d535c8a69c19 "netfilter: conntrack: udp: only extend timeout to stream mode after 2s"; it
    # did not change the value.
    ('udp_timeout_stream', (5, 0), 180),
)
TIMEOUT_SOURCES = {
    'tcp': 'kernel net/netfilter/nf_conntrack_proto_tcp.c tcp_timeouts[]',
    'udp': 'kernel net/netfilter/nf_conntrack_proto_udp.c udp_timeouts[]',
    'icmp': 'kernel net/netfilter/nf_conntrack_proto_icmp.c nf_ct_icmp_timeout',
    'icmpv6': 'kernel net/netfilter/nf_conntrack_proto_icmpv6.c nf_ct_icmpv6_timeout',
    'generic': 'kernel net/netfilter/nf_conntrack_proto_generic.c nf_ct_generic_timeout',
}


def default_timeouts(release=None):
    """The kernel's default timeouts for a release (None: current kernels)."""
    out = dict(DEFAULT_TIMEOUTS)
    rel = tuple(release[:2]) if release else None
    for key, until, value in _OLDER_TIMEOUTS:
        if rel is not None and rel < until:
            out[key] = value
    return out


def timeout_source(short):
    proto = short.split('_timeout')[0]
    return TIMEOUT_SOURCES.get(proto, 'kernel net/netfilter/nf_conntrack_proto_%s.c' % proto)


# defaults of the other per-netns keys (nf_conntrack_standalone.c, nf_conntrack_proto_tcp.c)
_FLAGS = {'acct': 0, 'timestamp': 0, 'checksum': 1, 'log_invalid': 0, 'tcp_loose': 1, 'tcp_be_liberal': 0,
          'tcp_ignore_invalid_rst': 0, 'tcp_max_retrans': 3, 'dccp_loose': 1}


def default_flags(release=None):
    """Defaults of the non-timeout keys for a release: events is 2 (auto) since 5.19
    (90d1daa45849), 1 before; helper is 0 since 4.7, 1 before."""
    out = dict(_FLAGS)
    rel = tuple(release[:2]) if release else None
    out['events'] = 1 if rel is not None and rel < (5, 19) else 2
    out['helper'] = 1 if rel is not None and rel < (4, 7) else 0
    return out


# ---------------------------------------------------------------- keys a kernel may lack

# Keys the kernel removed (short name or prefix) -> (first release without them, the change).
# A key a kernel lacks for another reason (a protocol tracker not built or not loaded: sctp, gre,
# dccp) is simply not in its /proc/sys/net/netfilter.
REMOVED_KEYS = (
    ('helper', (6, 0), 'the automatic helper assignment and its sysctl were removed in 6.0 (commit b118509076b3 '
                       '"netfilter: remove nf_conntrack_helper sysctl and modparam toggles"); assign helpers '
                       'with explicit ct helper rules instead'),
    ('dccp_', (6, 17), 'DCCP tracking was removed in 6.17 (commit fd72f265bb00 "netfilter: conntrack: remove DCCP '
                       'protocol support")'),
)


def removed_key(short, release=None):
    """Why kernels of this release have no nf_conntrack_<short> at all (REMOVED_KEYS), or None.
    release None: the newest kernels."""
    rel = tuple(release[:2]) if release else None
    for name, since, why in REMOVED_KEYS:
        if short == name or (name.endswith('_') and short.startswith(name)):
            if rel is None or rel >= since:
                return why
    return None


def missing_key_reason(short, release=None):
    """Why a kernel of this release has no nf_conntrack_<short> (for a key it does not list)."""
    why = removed_key(short, release)
    return why or 'it is not on this kernel (its protocol tracker is not built in or not loaded)'


# ---------------------------------------------------------------- timeout floors

# The lowest value of every timeout we write without force, with why and where to check it: below
# it a live flow loses its entry while its endpoints still wait for each other (its next packet
# is then INVALID, or a new entry in the middle of a flow). conntrack_recommend (overrides, profile
# values, kube-proxy's) and conntrack_settings (settings=) refuse a value below its floor unless
# force; docs/keys.md lists the table. Kernel defaults are at or above every floor.
_RTO = 'RFC 6298 section 2.1 (initial RTO 1 s; Linux TCP_TIMEOUT_INIT, include/net/tcp.h)'
_RTO_MIN = 'include/net/tcp.h TCP_RTO_MIN (200 ms) and RFC 6298 section 5.5 (the RTO doubles per retransmission)'
_KEEPALIVE = ('RFC 5382 REQ-5 (2 h 4 min: TCP keep-alive probes start after 2 h idle, RFC 1122 section 4.2.3.6 '
              'and Linux tcp_keepalive_time 7200 s, plus 4 min for the probes)')
_R2 = 'RFC 1122 section 4.2.3.5 (R2 >= 100 s; quoted above tcp_timeouts[] in nf_conntrack_proto_tcp.c)'
_SCTP = 'RFC 9260 section 16 (RTO.Initial 1 s, HB.interval 30 s, RTO.Max 60 s, Path.Max.Retrans 5)'
_DCCP = 'RFC 4340 section 8 (MSL 2 min) and nf_conntrack_proto_dccp.c dccp_timeout[] (its timers in MSL units)'
# key -> (floor in seconds, why, source)
TIMEOUT_FLOORS = {
    'tcp_timeout_syn_sent': (5, 'the SYN-ACK must find the entry of its SYN: it answers within a round trip, and every '
                                'retransmitted SYN refreshes the entry', _RTO),
    'tcp_timeout_syn_recv': (5, 'the handshake\'s last ACK must find the entry: a lost SYN-ACK is sent again 1 and 3 s '
                                'after the first (tcp_synack_retries)', _RTO),
    'tcp_timeout_established': (7440, 'an idle established flow must outlive TCP keep-alive; a NAT or stateful filter '
                                      'that forgets it sooner breaks it', _KEEPALIVE),
    'tcp_timeout_fin_wait': (10, 'conntrack\'s FIN_WAIT lasts from a FIN to its ACK (the ACK moves it to CLOSE_WAIT): '
                                 'a lost FIN is sent again 0.2, 0.6, 1.4, 3 and 6.2 s later', _RTO_MIN),
    'tcp_timeout_close_wait': (60, 'conntrack\'s CLOSE_WAIT is the half-closed connection ("ACK seen (after FIN)", '
                                   'nf_conntrack_proto_tcp.c): the side whose FIN was acknowledged waits in '
                                   'FIN_WAIT_2 for the other FIN, 60 s for an orphaned Linux socket',
                               'Documentation/networking/ip-sysctl.rst tcp_fin_timeout (60 s, TCP_FIN_TIMEOUT)'),
    'tcp_timeout_last_ack': (10, 'both FINs seen, the last ACK pending: the second FIN is sent again like the first',
                             _RTO_MIN),
    'tcp_timeout_time_wait': (60, 'a Linux endpoint keeps TIME_WAIT for 60 s: its retransmitted last ACK and a '
                                  'resent FIN must still find the entry',
                              'include/net/tcp.h TCP_TIMEWAIT_LEN (60 s)'),
    'tcp_timeout_close': (10, 'the entry of a reset connection absorbs what is still in flight; no TCP timer '
                              'documents a shorter value, so the kernel\'s default is the floor',
                          'nf_conntrack_proto_tcp.c tcp_timeouts[] (10 s)'),
    'tcp_timeout_max_retrans': (100, 'a segment retransmitted without an answer: TCP itself tries for at least 100 s',
                                _R2),
    'tcp_timeout_unacknowledged': (100, 'data left unacknowledged: TCP itself tries for at least 100 s', _R2),
    'udp_timeout': (10, 'an unreplied flow (and a replied one younger than 2 s) must see its answer; the resolver '
                        'retries after 5 s and the retry must still find it', 'resolv.conf(5) timeout:5 (glibc)'),
    'udp_timeout_stream': (120, 'a replied UDP flow (VoIP, QUIC, VPN) must live 2 min idle; applications time their '
                                'keep-alives to it',
                           'RFC 4787 REQ-5 (a NAT UDP mapping must not expire in less than 2 min)'),
    'icmp_timeout': (5, 'an echo reply arrives within a round trip; traceroute waits 5 s for each probe',
                     'traceroute(8) -w (default 5 s)'),
    'icmpv6_timeout': (5, 'an echo reply arrives within a round trip; traceroute waits 5 s for each probe',
                       'traceroute(8) -w (default 5 s)'),
    'generic_timeout': (600, 'protocols without a tracker of their own (ESP, OSPF, ...) have no timer to align a '
                             'shorter value with: the kernel\'s default is the floor',
                        'nf_conntrack_proto_generic.c nf_ct_generic_timeout (600 s)'),
    'gre_timeout': (30, 'no GRE timer documents a shorter value: the kernel\'s default is the floor',
                    'nf_conntrack_proto_gre.c gre_timeouts[] (30 s)'),
    'gre_timeout_stream': (180, 'no GRE timer documents a shorter value: the kernel\'s default is the floor',
                           'nf_conntrack_proto_gre.c gre_timeouts[] (180 s)'),
    'sctp_timeout_closed': (1, 'a closed association\'s entry only absorbs stray chunks', _SCTP),
    'sctp_timeout_cookie_wait': (1, 'the INIT ACK answers within the 1 s initial RTO, and a resent INIT refreshes '
                                    'the entry', _SCTP),
    'sctp_timeout_cookie_echoed': (1, 'the COOKIE ACK answers within the 1 s initial RTO', _SCTP),
    'sctp_timeout_established': (210, 'an idle association sends a HEARTBEAT every 30 s and gives a path up after 5 '
                                      'unanswered ones: 30 x 5 + 60 (RTO.Max)',
                                 _SCTP + '; Documentation/networking/nf_conntrack-sysctl.rst'),
    'sctp_timeout_shutdown_sent': (1, 'the SHUTDOWN ACK answers within the 1 s initial RTO', _SCTP),
    'sctp_timeout_shutdown_recd': (1, 'the SHUTDOWN ACK answers within the 1 s initial RTO', _SCTP),
    'sctp_timeout_shutdown_ack_sent': (1, 'the SHUTDOWN COMPLETE answers within the 1 s initial RTO', _SCTP),
    'sctp_timeout_heartbeat_sent': (30, 'the entry of a secondary path lives from one HEARTBEAT to the next '
                                        '(HB.interval 30 s)', _SCTP),
    'dccp_timeout_request': (240, 'DCCP\'s own timers are in MSL units: REQUEST 2 MSL', _DCCP),
    'dccp_timeout_respond': (480, 'DCCP\'s own timers are in MSL units: RESPOND 4 MSL', _DCCP),
    'dccp_timeout_partopen': (480, 'DCCP\'s own timers are in MSL units: PARTOPEN 4 MSL', _DCCP),
    'dccp_timeout_open': (43200, 'an open DCCP connection has no keep-alive to align a shorter value with', _DCCP),
    'dccp_timeout_closereq': (64, 'a CLOSEREQ is retransmitted for 64 s', _DCCP),
    'dccp_timeout_closing': (64, 'a CLOSE is retransmitted for 64 s', _DCCP),
    'dccp_timeout_timewait': (240, 'TIMEWAIT lasts 2 MSL', _DCCP),
}


def timeout_floor(short):
    """(floor, why, source) of a timeout key, or None for a key that is not a timeout."""
    return TIMEOUT_FLOORS.get(short)
