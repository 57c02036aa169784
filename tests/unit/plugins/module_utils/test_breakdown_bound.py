# -*- coding: utf-8 -*-
"""The breakdown's bounded counters (issue 16): memory bounded by `capacity` whatever the
number of distinct keys, and `top_max_error` a proven bound, checked against exact counts
on streams where the lossy path is taken (Hypothesis draws the streams; the tables below
are the shapes of the issue: few keys, many ports, all-distinct sources, skewed sources)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown


def counted(keys, capacity, check_every=None):
    """A BoundedCounter fed keys in blocks, bound() after each (as Counts does)."""
    b = _breakdown.BoundedCounter(capacity)
    step = check_every or _breakdown.CHECK_EVERY
    peak = 0
    for i in range(0, len(keys), step):
        b.update(keys[i:i + step])
        peak = max(peak, len(b.counts))
        b.bound()
        assert len(b.counts) <= capacity
    return b, peak


def assert_bound_holds(b, keys):
    """Every held count within [true - error, true], every key not held at most error,
    and error <= N / (keep + 1)."""
    true = Counter(keys)
    for k, c in b.counts.items():
        assert c <= true[k] <= c + b.error, (k, c, true[k], b.error)
    for k, n in true.items():
        if k not in b.counts:
            assert n <= b.error, (k, n, b.error)
    assert b.error * (b.keep + 1) <= len(keys)


KEY_STREAMS = st.sampled_from([3, 40, 400, 100000]).flatmap(
    lambda distinct: st.lists(st.integers(min_value=0, max_value=distinct), max_size=3000))


@settings(max_examples=300, deadline=None)
@given(keys=KEY_STREAMS, capacity=st.integers(min_value=2, max_value=300),
       check_every=st.integers(min_value=1, max_value=500))
def test_bound_holds_for_any_stream(keys, capacity, check_every):
    b, peak = counted(keys, capacity, check_every)
    assert peak <= capacity + check_every
    assert_bound_holds(b, keys)


@settings(max_examples=200, deadline=None)
@given(heavy=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 400)), max_size=20),
       noise=st.integers(0, 5000), capacity=st.integers(4, 200), seed=st.integers(0, 2 ** 32))
def test_heavy_hitters_are_never_missed(heavy, noise, capacity, seed):
    """A key counting more than error is held; the top N of the result is the true top N up to
    the error: no key outside the reported list counts more than the last reported + error."""
    import random
    rnd = random.Random(seed)
    keys = ['noise-%d' % i for i in range(noise)]
    for k, n in heavy:
        keys += ['heavy-%d' % k] * n
    rnd.shuffle(keys)
    b, _peak = counted(keys, capacity)
    assert_bound_holds(b, keys)
    true = Counter(keys)
    top, err = b.top(5, lambda k: k, lambda kv: (-kv[1], kv[0]))
    assert err == b.error
    if len(top) == 5:
        listed = set(k for k, _c in top)
        for k, n in true.items():
            if k not in listed:
                assert n <= top[-1][1] + err


def table(shape, n):
    """Source keys of a table shape (the bench's shapes, as streams of keys)."""
    if shape == 'few keys':
        return ['10.1.0.%d' % (i % 40) for i in range(n)]
    if shape == 'all distinct':
        return ['11.%d.%d.%d' % (i >> 16, (i >> 8) & 255, i & 255) for i in range(n)]
    if shape == 'skewed':
        # 1/8 of the entries from 16 heavy sources, the rest each from a distinct one
        return ['heavy-%d' % ((i // 8) % 16) if i % 8 == 0 else 'one-%d' % i for i in range(n)]
    if shape == 'many ports':
        return [('udp', 1024 + (i // 249 + (i % 249) * 257) % 62000) for i in range(n)]
    raise ValueError(shape)


@pytest.mark.parametrize('shape', ['few keys', 'all distinct', 'skewed', 'many ports'])
def test_memory_does_not_grow_with_distinct_keys(shape):
    """The keys held stay under capacity + CHECK_EVERY at 20k and 200k entries alike."""
    cap = 1024
    for n in (20000, 200000):
        keys = table(shape, n)
        b, peak = counted(keys, cap)
        assert peak <= cap + _breakdown.CHECK_EVERY
        assert_bound_holds(b, keys)
        if shape == 'few keys':
            assert b.prunes == 0 and b.error == 0
        if shape == 'skewed':
            # the heavy sources (n / 128 entries each) are held and ranked first
            top, err = b.top(16, lambda k: k, lambda kv: (-kv[1], kv[0]))
            assert set(k for k, _c in top) == set('heavy-%d' % i for i in range(16))
            assert err <= n // (cap // 2 + 1)


def test_summarize_reports_the_bound_per_list():
    ents = [('ipv4', 'udp', None, '11.0.%d.%d' % (i >> 8, i & 255), '10.0.0.1', 53, False, True)
            for i in range(20000)]
    got = _breakdown.summarize(iter(ents), top=3, capacity=1000)
    assert got['top_exact'] is False
    assert got['top_errors']['destinations'] == 0 and got['top_errors']['destination_ports'] == 0
    assert 0 < got['top_errors']['sources'] == got['top_max_error'] <= 20000 // 501
    assert got['top_destinations'] == [{'key': '10.0.0.1', 'count': 20000}]
    # every source counted once: the reported counts are within the bound of 1
    assert all(0 <= 1 - t['count'] <= got['top_max_error'] for t in got['top_sources'])


def test_capacity_below_two_is_refused():
    with pytest.raises(ValueError, match='at least 2'):
        _breakdown.BoundedCounter(1)


def test_ties_are_ordered_by_address_in_every_reading():
    """Counts that tie are listed IPv4 before IPv6, by number (not by text: 10.0.0.9 before
    10.0.0.10), whichever reading the keys come from."""
    import socket
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import netlink as _netlink
    texts = ['10.0.0.10', '10.0.0.9', '::1', '10.0.0.100', '2001:db8::5', '9.255.255.255']
    ents = [('ipv4', 'udp', None, a, '10.0.0.1', 53, False, True) for a in texts]
    got = [t['key'] for t in _breakdown.summarize(iter(ents), top=10)['top_sources']]
    assert got == ['9.255.255.255', '10.0.0.9', '10.0.0.10', '10.0.0.100', '::1', '2001:db8::5']
    full = {'::1': b'0000:0000:0000:0000:0000:0000:0000:0001', '2001:db8::5': b'2001:0db8:0000:0000:0000:0000:0000:0005'}
    for a in texts:
        proc_raw = full.get(a, a.encode())
        packed = socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)
        assert _breakdown._proc_addr_rank(proc_raw) == _breakdown.address_rank(a) == _netlink._breakdown_addr_rank(packed)
    assert _breakdown.address_rank(None) < _breakdown.address_rank('not an address') < _breakdown.address_rank('0.0.0.0')
