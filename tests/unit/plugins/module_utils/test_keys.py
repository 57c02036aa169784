# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys


@pytest.mark.parametrize('key, short', [
    ('max', 'max'), ('nf_conntrack_max', 'max'), ('net.netfilter.nf_conntrack_max', 'max'),
    ('net/netfilter/nf_conntrack_tcp_timeout_established', 'tcp_timeout_established'),
    (' buckets ', 'buckets'), ('NET.X', None), (5, None),
])
def test_short_name(key, short):
    assert _keys.short_name(key) == short


@pytest.mark.parametrize('key, value, expected', [
    ('max', 262144, 262144), ('max', '262144', 262144), ('max', 262144.0, 262144),
    ('tcp_timeout_established', 86400, 86400), ('tcp_loose', 0, 0), ('log_invalid', 255, 255),
    ('buckets', 1, 1),
])
def test_validate_ok(key, value, expected):
    assert _keys.validate_value(key, value) == expected


@pytest.mark.parametrize('key, value, fragment', [
    ('max', 0, 'outside the allowed range 1-268435456 entries'),
    ('max', -5, 'outside the allowed range 1-268435456'),
    ('max', 10 ** 12, 'outside the allowed range 1-268435456'),
    ('max', '12.5', 'expected an integer'),
    ('max', 12.5, 'expected an integer'),
    ('max', 'lots', 'expected an integer'),
    ('max', True, 'boolean'),
    ('max', None, 'expected an integer'),
    ('buckets', 2 ** 31, 'outside the allowed range 1-268435455 hash buckets'),
    ('tcp_timeout_established', 0, 'outside the allowed range 1-2147483 seconds'),
    ('tcp_timeout_established', 3000000, 'allowed range 1-2147483 seconds'),
    ('tcp_loose', 2, 'allowed range 0-1'),
    ('log_invalid', 256, 'allowed range 0-255'),
])
def test_validate_bad(key, value, fragment):
    with pytest.raises(_keys.InvalidSetting) as e:
        _keys.validate_value(key, value, 'overrides')
    assert 'overrides.%s' % key in str(e.value)
    assert fragment in str(e.value)


def test_unknown_and_readonly_keys():
    with pytest.raises(_keys.InvalidSetting) as e:
        _keys.validate_settings({'net.netfilter.nf_conntrack_maxx': 1})
    assert "unknown conntrack key 'net.netfilter.nf_conntrack_maxx'" in str(e.value)
    assert 'tcp_timeout_established' in str(e.value)
    with pytest.raises(_keys.InvalidSetting) as e:
        _keys.validate_settings({'count': 1})
    assert 'read-only' in str(e.value)
    with pytest.raises(_keys.InvalidSetting) as e:
        _keys.validate_settings({'max': 1, 'nf_conntrack_max': 2})
    assert 'twice' in str(e.value)
    with pytest.raises(_keys.InvalidSetting):
        _keys.validate_settings(['max'])
    assert _keys.validate_settings(None) == {}


def test_sort_keys():
    assert _keys.sort_keys(['udp_timeout', 'max', 'acct', 'buckets']) == ['buckets', 'max', 'acct', 'udp_timeout']
