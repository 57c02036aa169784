# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conntrack sysctl keys this collection knows, their kinds and allowed ranges.

Pure data and pure functions; no I/O. Every user-supplied value goes through
validate_value() so that an error always names the key and the allowed range.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math
import re

SYSCTL_PREFIX = 'net.netfilter.nf_conntrack_'
PROC_DIR = '/proc/sys/net/netfilter'

# Kernel limits behind the ranges (see docs/keys.md):
#  - timeouts are seconds stored as jiffies in an int: INT_MAX / HZ with HZ up to 1000.
#  - buckets: nf_ct_alloc_hashtable() refuses more than INT_MAX / sizeof(hlist_nulls_head).
#  - max: the kernel takes an unsigned int; above 2**28 entries the table alone needs more
#    than 64 GiB of unswappable kernel memory, which we treat as a typo rather than a plan.
INT_MAX = 2147483647
TIMEOUT_MAX = INT_MAX // 1000
BUCKETS_MAX = INT_MAX // 8
MAX_MAX = 2 ** 28

# kind -> (minimum, maximum, what the range means)
KINDS = {
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
for _k in TIMEOUT_KEYS:
    KEYS[_k] = ('timeout', 'netns')

# The order keys are written in: sizes first (buckets before max so the table is resized
# before it may fill), then alphabetical. Stable, so files and diffs are stable.
_FIRST = ('buckets', 'max', 'expect_max')

_NAME_RE = re.compile(r'^[a-z0-9_]+$')


class InvalidSetting(ValueError):
    """A bad key or value; the message names the key and the allowed range."""


def short_name(key):
    """Return the short name of a conntrack key given in any accepted spelling.

    Accepts 'max', 'nf_conntrack_max', 'net.netfilter.nf_conntrack_max' and the
    slash form 'net/netfilter/nf_conntrack_max'. Returns None when it is not a
    conntrack key at all.
    """
    if not isinstance(key, str):
        return None
    k = key.strip().replace('/', '.')
    if k.startswith(SYSCTL_PREFIX):
        k = k[len(SYSCTL_PREFIX):]
    elif k.startswith('nf_conntrack_'):
        k = k[len('nf_conntrack_'):]
    if not _NAME_RE.match(k):
        return None
    return k


def sysctl_name(short):
    return SYSCTL_PREFIX + short


def proc_path(short, root=''):
    return '%s%s/nf_conntrack_%s' % (root, PROC_DIR, short)


def sort_keys(keys):
    """Stable order for writing: buckets, max, expect_max, then alphabetical."""
    first = [k for k in _FIRST if k in keys]
    rest = sorted(k for k in keys if k not in _FIRST)
    return first + rest


def describe_range(short):
    kind = KEYS[short][0]
    lo, hi, unit = KINDS[kind]
    if kind in ('bool', 'u8', 'events'):
        return '%d-%d (%s)' % (lo, hi, unit)
    return '%d-%d %s' % (lo, hi, unit)


def known_keys():
    return sorted(KEYS)


def canonical_key(key, where='overrides'):
    """Return the short name of a writable known key or raise InvalidSetting naming it."""
    short = short_name(key)
    if short is None or short not in KEYS:
        raise InvalidSetting(
            "%s: unknown conntrack key '%s'. Known keys (short form, or with the "
            "'net.netfilter.nf_conntrack_' prefix): %s" % (where, key, ', '.join(known_keys())))
    if KEYS[short][0] == 'readonly':
        raise InvalidSetting("%s: '%s' is read-only (the kernel maintains it) and cannot be set" % (where, key))
    return short


def validate_value(short, value, where='overrides'):
    """Return value as an int within the key's allowed range, or raise InvalidSetting.

    Accepts ints and strings of decimal digits (YAML and Jinja often hand over
    strings). Rejects booleans, floats with a fraction, negatives, zero where the
    kernel does not accept it, and anything beyond the kernel's limit.
    """
    kind = KEYS[short][0]
    lo, hi, unit = KINDS[kind]
    label = "%s.%s" % (where, short) if where else short
    allowed = 'allowed range %s' % describe_range(short)
    if isinstance(value, bool):
        raise InvalidSetting("%s: expected an integer, got a boolean (%s); %s" % (label, value, allowed))
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or value != int(value):
            raise InvalidSetting("%s: expected an integer, got %r; %s" % (label, value, allowed))
        value = int(value)
    elif isinstance(value, str):
        v = value.strip()
        if not re.match(r'^-?[0-9]+$', v):
            raise InvalidSetting("%s: expected an integer, got %r; %s" % (label, value, allowed))
        value = int(v)
    elif not isinstance(value, int):
        raise InvalidSetting("%s: expected an integer, got %s; %s" % (label, type(value).__name__, allowed))
    if value < lo or value > hi:
        raise InvalidSetting("%s: %d is outside the %s" % (label, value, allowed))
    return value


def validate_settings(settings, where='overrides'):
    """Validate a dict of key -> value; return {short: int}. Raises on the first bad item."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise InvalidSetting("%s: expected a dict of conntrack key -> integer value, got %s"
                             % (where, type(settings).__name__))
    out = {}
    for key in settings:
        short = canonical_key(key, where)
        if short in out:
            raise InvalidSetting("%s: key '%s' is given twice (as '%s')" % (where, short, key))
        out[short] = validate_value(short, settings[key], where)
    return out
