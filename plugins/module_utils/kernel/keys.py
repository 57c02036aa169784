# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conntrack sysctl keys this collection knows: their spellings, write order and validation,
on the kernel's tables of kinds, scopes and allowed ranges (kernel/rules.py).

Pure data and pure functions; no I/O. Every user-supplied value goes through
validate_value() so that an error always names the key and the allowed range.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import difflib
import math
import re

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel

# The kernel's tables (names, limits, kinds and ranges, scopes): kernel/rules.py holds them, with
# the kernel's other rules; the names below stay for the callers.
SYSCTL_PREFIX = _kernel.SYSCTL_PREFIX
PROC_DIR = _kernel.PROC_DIR
INT_MAX = _kernel.INT_MAX
TIMEOUT_MAX = _kernel.TIMEOUT_MAX
BUCKETS_MAX = _kernel.BUCKETS_MAX
MAX_MAX = _kernel.MAX_MAX
# kind -> (minimum, maximum, what the range means)
KINDS = _kernel.KEY_KINDS
# short name -> (kind, scope)
KEYS = _kernel.KEYS
TIMEOUT_KEYS = _kernel.TIMEOUT_KEYS

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


def did_you_mean(word, choices):
    """" (did you mean 'x'?)" for the closest of choices to a misspelt word, or ''."""
    if not isinstance(word, str):
        return ''
    close = difflib.get_close_matches(word, [c for c in choices if isinstance(c, str)], n=1, cutoff=0.75)
    return " (did you mean '%s'?)" % close[0] if close else ''


def canonical_key(key, where='overrides'):
    """Return the short name of a writable known key or raise InvalidSetting naming it."""
    short = short_name(key)
    if short is None or short not in KEYS:
        raise InvalidSetting(
            "%s: unknown conntrack key '%s'%s. Known keys (short form, or with the "
            "'net.netfilter.nf_conntrack_' prefix): %s"
            % (where, key, did_you_mean(short or key, known_keys()), ', '.join(known_keys())))
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


def floor_message(short, value, where='overrides', label=None):
    """The refusal of a timeout below its floor (kernel/rules.py TIMEOUT_FLOORS), or None. The
    message starts with label, or with where.short."""
    floor = _kernel.timeout_floor(short)
    if floor is None or not isinstance(value, int) or value >= floor[0]:
        return None
    label = label or ('%s.%s' % (where, short) if where else short)
    return ('%s: %d s is below the floor of %d s for %s: %s (source: %s). Use at least %d, or set force: true '
            'to go below it' % (label, value, floor[0], sysctl_name(short), floor[1], floor[2], floor[0]))


def check_floors(settings, where='overrides', force=False):
    """Timeouts below their floors: ([refusals], []) without force, ([], [warnings]) with it."""
    found = []
    for short in sort_keys(list(settings or {})):
        msg = floor_message(short, settings[short], where)
        if msg:
            found.append(msg)
    if force:
        # the warning of a value force let through: no advice to set force
        return [], ['force: ' + m.replace(', or set force: true to go below it', '') for m in found]
    return found, []
