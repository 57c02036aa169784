# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus text exposition of conntrack (the metrics writer, docs/monitoring.md): every
family with HELP and TYPE, base units, small bounded label sets. Pure functions: render()
takes what the writer collected and returns the file's text.

Cardinality: fixed families have at most a few dozen series (keys, protocols, TCP states); the
only traffic-dependent labels are the top sources, at most `top` series (1-100), and the
breakdown's protocol pairs, bounded by the protocols the kernel tracks."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math

PREFIX = 'nfct_conntrack_'
HEALTH_KINDS = ('full', 'high_usage', 'dropping', 'invalid', 'search_restart', 'filling')
TOP_MAX = 100

# name (without prefix) -> (type, help)
FAMILIES = (
    ('entries', 'gauge', 'Entries in the conntrack table now (nf_conntrack_count).'),
    ('max', 'gauge', 'Maximum entries (nf_conntrack_max).'),
    ('buckets', 'gauge', 'Hash table buckets (nf_conntrack_buckets).'),
    ('usage_ratio', 'gauge', 'entries / max.'),
    ('usage_threshold', 'gauge', 'The share of max at which usage is high (the audit\'s high_usage; the alert rules '
                                 'compare usage_ratio with it).'),
    ('health', 'gauge', '1 when the table is in that state since the writer\'s previous run (kind: full, high_usage, '
                        'dropping, invalid, search_restart, filling; docs/audit.md).'),
    ('seconds_to_full', 'gauge', 'Seconds until the table is full at the trend of the host\'s history (docs/history.md); '
                                 'absent when it does not fill within what the trend is trusted for.'),
    ('chain_length', 'gauge', 'Average hash chain length: entries / buckets.'),
    ('drop_total', 'counter', 'Packets dropped because the table was full (sum over CPUs).'),
    ('early_drop_total', 'counter', 'Entries evicted early to make room (sum over CPUs).'),
    ('insert_failed_total', 'counter', 'Entries that could not be inserted (sum over CPUs).'),
    ('invalid_total', 'counter', 'Packets that could not be tracked (sum over CPUs).'),
    ('entries_by_l3_protocol', 'gauge', 'Entries per L3 protocol: ipv4, ipv6 (breakdown).'),
    ('entries_by_l4_protocol', 'gauge', 'Entries per L4 protocol: tcp, udp, icmp... (breakdown).'),
    ('tcp_entries_by_state', 'gauge', 'TCP entries per state (breakdown).'),
    ('assured_entries', 'gauge', 'Entries with ASSURED (breakdown).'),
    ('unreplied_entries', 'gauge', 'Entries with UNREPLIED (breakdown).'),
    ('top_source_entries', 'gauge', 'Entries of the top sources by entry count (breakdown; at most the configured '
                                    'top, 1-100, series).'),
    ('breakdown_exact', 'gauge', '1 when the top counts are exact, 0 when they are lower bounds.'),
    ('top_source_entries_max_error', 'gauge',
     'The most a top_source_entries value can be below the true count (0 while exact).'),
    ('breakdown_skipped', 'gauge', '1 when the breakdown was skipped by its guard (reason: size, time, error, off).'),
    ('desired', 'gauge', 'The value the role set (tuned) per key.'),
    ('drift', 'gauge', '1 when the key differs from the desired value in that layer (runtime: live value; at_boot: '
                       'what the next boot gives).'),
    ('recommended_max', 'gauge', 'nf_conntrack_max recommended for this host by its profile now.'),
    ('timeout_seconds', 'gauge', 'Timeout per conntrack timeout key.'),
    ('can_disable', 'gauge', '1 when nothing found needs connection tracking (conntrack_users).'),
    ('collector_duration_seconds', 'gauge', 'Duration of the last collection.'),
    ('collector_success', 'gauge', '1 when the last collection succeeded (the facts were read).'),
    ('collector_part_success', 'gauge', '1 when that part of the last collection succeeded (facts, drift, '
                                        'recommendation, users); its error is in the writer\'s journal.'),
    ('collector_last_run_timestamp_seconds', 'gauge', 'Unix time of the last collection.'),
)
TYPES = dict((n, t) for n, t, _h in FAMILIES)


def _esc(v):
    """A label value: backslash, newline and quote escaped as the text format says; other control
    characters (no escape exists for them) become '?'."""
    text = str(v).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')
    return ''.join('?' if ord(ch) < 32 or ch == '\x7f' else ch for ch in text)


def _num(v):
    if isinstance(v, bool):
        return '1' if v else '0'
    if isinstance(v, float):
        if math.isnan(v):
            return 'NaN'
        if math.isinf(v):
            return '+Inf' if v > 0 else '-Inf'
        return repr(v)
    return str(int(v))


class Exposition(object):
    """Samples grouped per family, rendered with HELP and TYPE once each, families in FAMILIES order."""

    def __init__(self):
        self.samples = {}

    def add(self, name, value, **labels):
        if value is None:
            return
        if name not in TYPES:
            raise KeyError('unknown family %s' % name)
        self.samples.setdefault(name, []).append((tuple(sorted(labels.items())), value))

    def text(self):
        out = []
        for name, metric_type, help_text in FAMILIES:
            if name not in self.samples:
                continue
            full = PREFIX + name
            out.append('# HELP %s %s' % (full, help_text))
            out.append('# TYPE %s %s' % (full, metric_type))
            for labels, value in self.samples[name]:
                label_text = '{%s}' % ','.join('%s="%s"' % (k, _esc(v)) for k, v in labels) if labels else ''
                out.append('%s%s %s' % (full, label_text, _num(value)))
        return '\n'.join(out) + '\n'


def _breakdown(e, bd, top):
    """The breakdown's families: per protocol and TCP state, ASSURED / UNREPLIED, the top sources."""
    if not (bd and bd.get('total') is not None):
        return
    for proto, n in sorted((bd.get('l3') or {}).items()):
        e.add('entries_by_l3_protocol', n, protocol=proto)
    for proto, n in sorted((bd.get('l4') or {}).items()):
        e.add('entries_by_l4_protocol', n, protocol=proto)
    for state, n in sorted((bd.get('tcp_states') or {}).items()):
        e.add('tcp_entries_by_state', n, state=state)
    e.add('assured_entries', bd.get('assured'))
    e.add('unreplied_entries', bd.get('unreplied'))
    top = max(1, min(TOP_MAX, int(top or 10)))
    for rank, item in enumerate((bd.get('top_sources') or [])[:top], 1):
        e.add('top_source_entries', item['count'], rank=str(rank), source=item['key'])
    e.add('breakdown_exact', bool(bd.get('top_exact')))
    errors = bd.get('top_errors') or {}
    e.add('top_source_entries_max_error',
          errors.get('sources', bd.get('top_max_error', 0 if bd.get('top_exact') else None)))


def render(c):
    """c: {'facts', 'breakdown' (dict or None), 'breakdown_skipped' (reason or None), 'top',
    'desired' ({key: int}), 'keys' (audit key entries: {key: {'kinds'}}), 'recommended_max',
    'profile', 'can_disable' (bool or None), 'duration', 'success', 'timestamp'} -> text."""
    e = Exposition()
    f = c.get('facts') or {}
    if f.get('available'):
        e.add('entries', f.get('count'))
        e.add('max', f.get('max'))
        e.add('buckets', f.get('buckets'))
        e.add('usage_ratio', float(f['usage_ratio']) if f.get('usage_ratio') is not None else None)
        if c.get('usage_threshold') is not None:
            e.add('usage_threshold', float(c['usage_threshold']))
        health = c.get('health')
        if health is not None:
            for kind in HEALTH_KINDS:
                e.add('health', 1 if kind in (health.get('kinds') or []) else 0, kind=kind)
            e.add('seconds_to_full', (health.get('forecast') or {}).get('seconds_to_full'))
        e.add('chain_length', float(f['load_factor']) if f.get('load_factor') is not None else None)
        st = f.get('stats') or {}
        for k in ('drop', 'early_drop', 'insert_failed', 'invalid'):
            e.add(k + '_total', st.get(k))
        for k, v in sorted((f.get('timeouts') or {}).items()):
            if isinstance(v, int):
                e.add('timeout_seconds', v, key=k)
    _breakdown(e, c.get('breakdown'), c.get('top'))
    e.add('breakdown_skipped', 0 if c.get('breakdown_skipped') is None else 1,
          reason=c.get('breakdown_skipped') or 'none')
    for k, v in sorted((c.get('desired') or {}).items()):
        e.add('desired', v, key=k)
        if c.get('keys') is None:
            continue  # the drift could not be computed: no series rather than a false 0
        kinds = (c['keys'].get(k) or {}).get('kinds') or []
        # at_boot: what the next boot gives differs (the kinds at_boot and unpersisted)
        e.add('drift', 1 if 'runtime' in kinds else 0, key=k, layer='runtime')
        e.add('drift', 1 if 'at_boot' in kinds or 'unpersisted' in kinds else 0, key=k, layer='at_boot')
    if c.get('recommended_max') is not None:
        e.add('recommended_max', c['recommended_max'], profile=c.get('profile') or 'default')
    if c.get('can_disable') is not None:
        e.add('can_disable', bool(c['can_disable']))
    e.add('collector_duration_seconds', float(c.get('duration') or 0.0))
    e.add('collector_success', bool(c.get('success')))
    for name, ok in sorted((c.get('parts') or {}).items()):
        e.add('collector_part_success', bool(ok), part=name)
    e.add('collector_last_run_timestamp_seconds', float(c.get('timestamp') or 0.0))
    return e.text()
