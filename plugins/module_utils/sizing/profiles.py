# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Built-in workload profiles, as data. docs/profiles.md explains every number.

A profile is a dict with: description, extends (another profile), replace (a user profile
named like a built-in one replaces it), sizing (how max and buckets are computed), settings
(sysctl key -> {value, reason, source}; value 'kernel_default' keeps the host kernel's own
default), notrack (suggested exemptions, data only), nat (the host translates addresses, so its
entries carry the NAT extension), kube_proxy (the profile sizes like kube-proxy and checks
against it), sources (where the sizing numbers come from), notes. Users add their own profiles
with the same shape (see docs/profiles.md), no Python needed.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

SIZING_DEFAULTS = {
    # max = the largest of: the kernel >= 5.15 default for this RAM (use_kernel_default),
    # per_gib_ram x RAM, per_cpu x CPUs, min; then capped at cap.
    'use_kernel_default': 1,
    'per_gib_ram': 0,
    'per_cpu': 0,
    'min': 0,
    # Cap of the rules above (not of expected_peak or the live count): a live resize rehashes
    # every entry with softirqs off, ~2.6 s for a full table of 4M entries (docs/benchmarks.md).
    'cap': 4194304,
    # buckets = max / load_factor: the average chain length when the table is full.
    'load_factor': 1,
    # share of RAM the table (entries + bucket heads) may use.
    'memory_budget_percent': 5,
    # max >= expected_peak x peak_headroom when expected_peak is given.
    'peak_headroom': 2,
    # max is raised so that the live count uses at most this share of it.
    'target_usage': 0.5,
    # warn when the live count is above this share of the current max.
    'alert_usage': 0.75,
}

SIZING_SOURCES = {
    'use_kernel_default': 'kernel >= 5.15 sizing (commit d532bcd0b269), so older kernels catch up',
    'cap': 'a live resize of a full 4M-entry table stalls ~2.6 s with softirqs off (measured, docs/benchmarks.md '
           '"Live resize"); size beyond it from expected_peak',
    'load_factor': 'kernel >= 5.15 keeps max = buckets: average chain length 1 at a full table',
    'memory_budget_percent': 'conntrack entries are unswappable kernel memory; 5% of RAM leaves the host its memory',
    'peak_headroom': 'at the stated peak the table is half full, below the 75% alert of node_exporter/netdata',
    'target_usage': 'the rule of thumb in keithmork\'s "nf_conntrack: table full, dropping packet" (2018): scale when the count '
                     'stays above ~20% of max (with buckets = max/4); we keep it at most 50%',
    'alert_usage': 'node_exporter / netdata alert at 75% of max',
}

# Sources that check out (docs/profiles.md quotes them).
_TCP = 'kernel net/netfilter/nf_conntrack_proto_tcp.c tcp_timeouts[]'
_UDP = 'kernel net/netfilter/nf_conntrack_proto_udp.c udp_timeouts[] and udp_packet()'
_TIMEWAIT = 'Linux TCP_TIMEWAIT_LEN = 60 s (include/net/tcp.h): a Linux endpoint leaves TIME_WAIT after 60 s'
# conntrack's FIN_WAIT is "FIN packet seen" and its CLOSE_WAIT "ACK seen (after FIN)" (the state
# comments and tcp_conntracks[] of nf_conntrack_proto_tcp.c): a FIN's ACK moves the entry on, so
# FIN_WAIT lasts a round trip unless the FIN is lost; Linux's FIN_WAIT_2 (the half-closed wait,
# tcp_fin_timeout) is spent in conntrack's CLOSE_WAIT.
_FIN_WAIT = ('kernel nf_conntrack_proto_tcp.c ("FIN_WAIT: FIN packet seen", "CLOSE_WAIT: ACK seen (after FIN)"); '
             'the FIN is retransmitted at RTO gaps doubling from 200 ms (include/net/tcp.h TCP_RTO_MIN, RFC 6298 '
             'section 5.5)')
_PROXY_IDLE = ('nginx keepalive_timeout, default 75s (nginx.org/en/docs/http/ngx_http_core_module.html'
               '#keepalive_timeout); the floor is RFC 5382 REQ-5 (7440 s)')
_LOOSE_IDLE = ('socket(7) SO_KEEPALIVE (off unless the application sets it); with nf_conntrack_tcp_loose=0 only a '
               'SYN creates an entry (tcp_new(), nf_conntrack_proto_tcp.c; Documentation/networking/'
               'nf_conntrack-sysctl.rst)')
_SYNACK = ('Linux tcp_synack_retries default 5 (Documentation/networking/ip-sysctl.rst): SYN-ACK retransmissions '
           '1, 2, 4, 8 and 16 s apart, no gap reaches 30 s')
_SYN = ('Linux tcp_syn_retries default 6 (Documentation/networking/ip-sysctl.rst): SYN retransmissions 1-32 s apart; '
        'a SYN after an expired entry simply creates a new one')
_RFC5382 = 'RFC 5382 REQ-5: established idle timeout >= 2 h 4 min (7440 s); Linux tcp_keepalive_time is 7200 s'
_RFC4787 = 'RFC 4787 REQ-5: a NAT UDP mapping must live >= 2 min'
_K8S = ('kube-proxy KubeProxyConntrackConfiguration defaults (pkg/proxy/apis/config/v1alpha1/defaults.go): '
        'maxPerCore 32768, min 131072, tcpEstablishedTimeout 24h, tcpCloseWaitTimeout 1h')
_RESOLV = 'glibc resolver: timeout:5 per try (resolv.conf(5)); an answer later than 10 s reaches no client'
_LOOSE = 'kernel Documentation/networking/nf_conntrack-sysctl.rst (nf_conntrack_tcp_loose)'


def _s(value, reason, source):
    return {'value': value, 'reason': reason, 'source': source}


BUILTIN_PROFILES = {
    'default': {
        'description': 'General-purpose host: the kernel >= 5.15 sizing for this RAM (so older kernels with '
                       '"max = 4 x buckets" tables catch up), no timeout changes.',
        'sizing': {},
        'sources': {},
        'settings': {},
        'notrack': [],
    },
    'web': {
        'description': 'Reverse proxy / web front end: many short client connections, keep-alive to upstreams.',
        'sizing': {'per_gib_ram': 65536, 'min': 262144},
        'sources': {'per_gib_ram': '65536 entries per GiB is 1.6% of RAM at 256 B per entry; with 60 s TIME_WAIT '
                                   'tails it holds ~1,000 new connections per second per GiB (65536 / 60)',
                    'min': '262144 entries hold ~4,300 new connections/s for their 60 s TIME_WAIT tail'},
        'settings': {
            'tcp_timeout_time_wait': _s(60, 'entries of closed connections outlive the Linux endpoint\'s own TIME_WAIT '
                                            '(60 s) by a minute at the kernel\'s 120 s; 60 s halves them', _TIMEWAIT),
            'tcp_timeout_fin_wait': _s(60, 'FIN_WAIT lasts from a FIN to its ACK (a round trip; the ACK moves the '
                                           'entry to CLOSE_WAIT, where a half-closed connection waits), longer only '
                                           'while the FIN is retransmitted: 60 s covers eight retransmissions '
                                           '(51 s); the kernel\'s 120 s mostly keeps peers that vanished mid-close',
                                       _FIN_WAIT),
            'tcp_timeout_syn_recv': _s(30, 'half the default halves what a SYN flood holds; no live handshake waits '
                                           '30 s between SYN-ACKs', _SYNACK),
            'tcp_timeout_established': _s(86400, 'a proxy closes idle keep-alive connections after seconds or '
                                                 'minutes (nginx: 75 s), far within a day; 5 days only keep entries '
                                                 'of peers that vanished. Well above the 7440 s floor', _PROXY_IDLE),
        },
        'notrack': [{'interface': 'lo', 'reason': 'proxy <-> local upstream traffic on loopback needs no tracking'}],
    },
    'nat_gateway': {
        'description': 'NAT / masquerading gateway: every forwarded flow of every client holds an entry.',
        'nat': True,
        'sizing': {'per_gib_ram': 131072, 'min': 262144, 'memory_budget_percent': 10},
        'sources': {'per_gib_ram': 'a gateway does little else with its memory: 131072 per GiB is 4.7% of RAM at '
                                   '384 B per entry (object + NAT extension)',
                    'memory_budget_percent': 'gateways dedicate memory to forwarding state'},
        'settings': {
            'tcp_timeout_established': _s(86400, 'a NAT mapping idle for a day is almost always dead; 5 days hold '
                                                 'ports of vanished clients; still above RFC 5382\'s 7440 s',
                                          _RFC5382),
            'tcp_timeout_time_wait': _s('kernel_default', 'RFC 5382 REQ-5 wants >= 4 min for closing connections on '
                                                          'a NAT; the kernel\'s 120 s is already below it: no shorter',
                                        _TCP),
            'udp_timeout': _s('kernel_default', 'unreplied UDP flows; shorter breaks DNS and VoIP through NAT', _UDP),
            'udp_timeout_stream': _s('kernel_default', 'replied UDP flows keep their mapping >= 2 min (RFC 4787 '
                                                       'REQ-5); the kernel default (120 s, 180 s before 5.0) '
                                                       'meets it', _RFC4787),
            'tcp_timeout_close_wait': _s('kernel_default', 'cutting close_wait on NAT breaks FIN handling', _TCP),
        },
        'notrack': [],
        'notes': ['NAT needs conntrack: no NOTRACK exemptions for forwarded traffic.',
                  'If insert_failed grows, add --random-fully to MASQUERADE/SNAT rules.'],
    },
    'kubernetes_node': {
        'description': 'Kubernetes node: kube-proxy\'s own numbers (per release line, see kube_proxy), so the role '
                       'agrees with kube-proxy or says exactly where they differ.',
        'nat': True,
        'kube_proxy': True,
        'sizing': {'use_kernel_default': 0, 'per_cpu': 32768, 'min': 131072, 'cap': 1048576, 'load_factor': 4,
                   'memory_budget_percent': 10},
        'sources': {'per_cpu': _K8S, 'min': _K8S,
                    'cap': 'kube-proxy 1.36+ caps maxPerCore x CPUs at 1048576 (PR #137002)',
                    'load_factor': 'kube-proxy raises the hash size to max / 4'},
        'settings': {
            'tcp_timeout_established': _s(86400, 'kube-proxy sets 24h', _K8S),
            'tcp_timeout_close_wait': _s(3600, 'kube-proxy sets 1h: cutting close_wait hard on k8s nodes breaks FIN '
                                               'handling through service NAT', _K8S),
        },
        'notrack': [],
        'notes': ['kube-proxy needs conntrack for services: no NOTRACK suggestions.',
                  'State kube_proxy (version, or absent) for an exact answer; with maxPerCore: 0 kube-proxy leaves '
                  'nf_conntrack_max and the hash size alone.'],
    },
    'dns': {
        'description': 'DNS server or resolver: huge numbers of tiny, short UDP exchanges.',
        'sizing': {'per_gib_ram': 32768, 'min': 131072},
        'sources': {'per_gib_ram': 'sized for the suggested NOTRACK not applied (it is data until you apply it with '
                                   'conntrack_notrack): each query is one UDP entry living udp_timeout (10 s), 3,300 '
                                   'queries/s per GiB. Applied, the inbound queries hold none, and what remains is a '
                                   'recursive resolver\'s own queries to upstream servers (the exemption covers only '
                                   'the local service\'s port 53)',
                    'min': '131072 entries absorb ~13k queries/s at a 10 s UDP timeout, tracked or not'},
        'settings': {
            'udp_timeout': _s(10, 'for the queries that stay tracked (all of them until the NOTRACK suggestion is '
                                  'applied, the resolver\'s upstream queries after): a DNS exchange completes in '
                                  'milliseconds and clients retry after 5 s; 30 s keeps 3x more dead entries', _RESOLV),
        },
        'notrack': [{'protocol': 'udp', 'port': 53, 'direction': 'inbound',
                     'reason': 'queries to the local DNS service need no tracking; the classic fix for DNS servers'},
                    {'protocol': 'tcp', 'port': 53, 'direction': 'inbound',
                     'reason': 'TCP fallback and zone transfers to the local DNS service'}],
    },
    'database': {
        'description': 'Database server: few, long-lived pooled connections; a full table is rare but fatal.',
        'sizing': {'min': 65536},
        'sources': {'min': 'pools and replication need few entries; 65536 leaves room for reconnect storms'},
        'settings': {
            'tcp_timeout_established': _s('kernel_default',
                                          'pooled connections may idle for hours and must not be forgotten by a '
                                          'stateful firewall', _TCP),
            'tcp_timeout_time_wait': _s(60, 'reconnect storms leave TIME_WAIT entries; the Linux server forgets them '
                                            'after 60 s itself', _TIMEWAIT),
        },
        'notrack': [{'interface': 'lo', 'reason': 'local clients and sidecars on loopback need no tracking'}],
    },
    'edge': {
        'description': 'Internet-facing edge (load balancer, firewall, DDoS-exposed): big table, short timeouts for '
                       'half-open and dying flows.',
        'sizing': {'per_gib_ram': 131072, 'min': 524288, 'memory_budget_percent': 15},
        'sources': {'per_gib_ram': 'floods fill tables; entries are cheap compared to dropped customers',
                    'min': '524288 entries hold ~17k SYN/s for the 30 s syn_recv window',
                    'memory_budget_percent': 'an edge box spends memory on state by design'},
        'settings': {
            'tcp_timeout_syn_recv': _s(30, 'SYN floods create SYN_RECV entries; the default 60 s doubles them', _SYNACK),
            'tcp_timeout_syn_sent': _s(30, 'outbound handshakes without an answer; a late retransmitted SYN creates '
                                           'a new entry', _SYN),
            'tcp_timeout_fin_wait': _s(60, 'dying connections: FIN_WAIT lasts from a FIN to its ACK; 60 s covers '
                                           'eight retransmissions of a lost FIN (51 s)', _FIN_WAIT),
            'tcp_timeout_time_wait': _s(60, 'the Linux endpoint leaves TIME_WAIT after 60 s', _TIMEWAIT),
            'tcp_timeout_last_ack': _s('kernel_default', 'kernel default kept (30 s)', _TCP),
            'tcp_timeout_established': _s(86400, 'with tcp_loose=0 a flow whose entry expired turns INVALID on its '
                                                 'next packet, and most idle flows send nothing (SO_KEEPALIVE is '
                                                 'opt-in): a day keeps idle sessions of a working day alive. Only a '
                                                 'completed handshake creates an ESTABLISHED entry then, so 5 days '
                                                 'would only hold vanished clients longer', _LOOSE_IDLE),
            'udp_timeout': _s(15, 'UDP floods: unreplied flows live half as long; replied flows move to '
                                  'udp_timeout_stream', _UDP),
            'icmp_timeout': _s(10, 'ICMP floods: echo replies arrive within seconds (ping waits at most 10 s)',
                               'kernel net/netfilter/nf_conntrack_proto_icmp.c; iputils ping(8) -W'),
            'tcp_loose': _s(0, 'do not pick up connections from the middle: random ACK floods become INVALID '
                               'instead of new entries. It breaks flows across a conntrack flush or failover, and '
                               'flows idle longer than tcp_timeout_established (a day here)', _LOOSE),
        },
        'notrack': [],
        'notes': ['Pair tcp_loose=0 with SYNPROXY if you terminate SYN floods here.'],
    },
}
