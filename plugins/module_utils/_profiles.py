# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Built-in workload profiles, as data. docs/profiles.md explains every number.

A profile is a dict with: description, extends (another profile), sizing (how
max and buckets are computed), settings (sysctl key -> {value, reason, source}),
notrack (suggested exemptions, data only), nat (the host translates addresses),
sources (where the sizing numbers come from), notes. Users add their own
profiles with the same shape (see docs/profiles.md), no Python needed.
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
    'cap': None,
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

_KERNEL = 'kernel defaults, net/netfilter/nf_conntrack_proto_tcp.c'
_K8S = 'kube-proxy KubeProxyConntrackConfiguration defaults (maxPerCore 32768, min 131072, ' \
       'tcpEstablishedTimeout 24h, tcpCloseWaitTimeout 1h)'
_SEED = 'seed articles (router example values), adapted; see docs/profiles.md'


def _s(value, reason, source):
    return {'value': value, 'reason': reason, 'source': source}


BUILTIN_PROFILES = {
    'default': {
        'description': 'General-purpose host: the kernel >= 5.15 sizing for this RAM (so older kernels with '
                       '"max = 4 x buckets" tables catch up), no timeout changes.',
        'sizing': {},
        'sources': {'load_factor': 'kernel >= 5.15 keeps max = buckets (average chain length 1 at full table)'},
        'settings': {},
        'notrack': [],
    },
    'web': {
        'description': 'Reverse proxy / web front end: many short client connections, keep-alive to upstreams.',
        'sizing': {'per_gib_ram': 65536, 'min': 262144},
        'sources': {'per_gib_ram': '65536 entries per GiB is ~1.7% of RAM at 272 B per entry; covers ~20k new '
                                   'connections/s with 120 s TIME_WAIT tails',
                    'min': 'one busy nginx worker pool easily holds 100k+ flows including TIME_WAIT'},
        'settings': {
            'tcp_timeout_time_wait': _s(30, 'closed client connections leave TIME_WAIT entries; 30 s still covers '
                                            'late segments (2 x typical MSL on the internet)', _SEED),
            'tcp_timeout_fin_wait': _s(30, 'half-closed client connections are rarely resumed after 30 s', _SEED),
            'tcp_timeout_syn_recv': _s(30, 'limits entries held by half-open handshakes (SYN floods)', _SEED),
            'tcp_timeout_established': _s(86400, 'idle keep-alive connections are closed by the proxy long before a '
                                                 'day; 5 days only keeps dead entries', _K8S),
        },
        'notrack': [{'interface': 'lo', 'reason': 'proxy <-> local upstream traffic on loopback needs no tracking'}],
    },
    'nat_gateway': {
        'description': 'NAT / masquerading gateway: every forwarded flow of every client holds an entry.',
        'nat': True,
        'sizing': {'per_gib_ram': 131072, 'min': 262144, 'memory_budget_percent': 10},
        'sources': {'per_gib_ram': 'a gateway does little else with its memory: 131072 per GiB is ~3.4% of RAM',
                    'memory_budget_percent': 'gateways dedicate memory to forwarding state'},
        'settings': {
            'tcp_timeout_established': _s(86400, 'a NAT mapping idle for a day is almost always dead; 5 days hold '
                                                 'ports of vanished clients', _K8S),
            'tcp_timeout_time_wait': _s(60, 'frees source ports for reuse sooner; kept above 30 s because NAT must '
                                            'still map late segments', _SEED),
            'udp_timeout': _s(30, 'kernel default kept: shorter breaks DNS and VoIP over NAT', _KERNEL),
            'udp_timeout_stream': _s(120, 'kernel default kept: NAT keep-alives of VPNs assume ~2 minutes', _KERNEL),
            'tcp_timeout_close_wait': _s(60, 'kernel default kept: cutting close_wait on NAT breaks FIN handling',
                                         _KERNEL),
        },
        'notrack': [],
        'notes': ['NAT needs conntrack: no NOTRACK exemptions for forwarded traffic.',
                  'If insert_failed grows, add --random-fully to MASQUERADE/SNAT rules.'],
    },
    'kubernetes_node': {
        'description': 'Kubernetes node: the same numbers kube-proxy sets, so the two never fight.',
        'nat': True,
        'sizing': {'use_kernel_default': 0, 'per_cpu': 32768, 'min': 131072, 'load_factor': 4,
                   'memory_budget_percent': 10},
        'sources': {'per_cpu': _K8S, 'min': _K8S,
                    'load_factor': 'kube-proxy sets hashsize = max / 4'},
        'settings': {
            'tcp_timeout_established': _s(86400, 'kube-proxy sets 24h', _K8S),
            'tcp_timeout_close_wait': _s(3600, 'kube-proxy sets 1h: cutting close_wait hard on k8s nodes breaks FIN '
                                               'handling through service NAT', _K8S),
        },
        'notrack': [],
        'notes': ['kube-proxy needs conntrack for services: no NOTRACK suggestions.',
                  'kube-proxy only raises max; so does this profile (only_raise).'],
    },
    'dns': {
        'description': 'DNS server or resolver: huge numbers of tiny, short UDP exchanges.',
        'sizing': {'per_gib_ram': 32768, 'min': 131072},
        'sources': {'per_gib_ram': 'each query is one UDP entry living udp_timeout seconds',
                    'min': '131072 entries absorb ~13k queries/s at a 10 s UDP timeout'},
        'settings': {
            'udp_timeout': _s(10, 'a DNS exchange completes in milliseconds; 30 s keeps 3x more dead entries', _SEED),
            'udp_timeout_stream': _s(60, 'resolver-to-upstream flows that saw replies need less than 2 minutes',
                                     _SEED),
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
            'tcp_timeout_established': _s(432000, 'kernel default kept: pooled connections may idle for hours and '
                                                  'must not be forgotten by a stateful firewall', _KERNEL),
            'tcp_timeout_time_wait': _s(60, 'reconnect storms leave TIME_WAIT entries; 60 s halves them', _SEED),
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
            'tcp_timeout_syn_recv': _s(30, 'SYN floods create SYN_RECV entries; the default 60 s doubles them', _SEED),
            'tcp_timeout_syn_sent': _s(30, 'outbound handshakes that get no answer in 30 s are dead', _SEED),
            'tcp_timeout_fin_wait': _s(30, 'dying connections of attackers should not hold entries for 2 minutes',
                                       _SEED),
            'tcp_timeout_time_wait': _s(30, 'see web', _SEED),
            'tcp_timeout_last_ack': _s(30, 'kernel default kept', _KERNEL),
            'tcp_timeout_established': _s(3600, 'an hour idle is long for internet clients; 5 days lets idle '
                                                'floods of ESTABLISHED entries fill the table', _SEED),
            'udp_timeout': _s(15, 'UDP floods: halve the lifetime of unanswered flows', _SEED),
            'icmp_timeout': _s(10, 'ICMP floods: echo replies arrive within seconds', _SEED),
            'tcp_loose': _s(0, 'do not pick up connections from the middle: random ACK floods become INVALID '
                               'instead of new entries (breaks flows across a conntrack flush or failover)',
                            'kernel documentation nf_conntrack-sysctl.rst (nf_conntrack_tcp_loose)'),
        },
        'notrack': [],
        'notes': ['Pair tcp_loose=0 with SYNPROXY if you terminate SYN floods here.'],
    },
}
