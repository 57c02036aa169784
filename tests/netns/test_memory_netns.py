# -*- coding: utf-8 -*-
"""Bytes per conntrack entry, measured on the real kernel (issue 10, finding 4).

A throwaway namespace gets 200,000 UDP entries from real packets, once plainly, once through a
masquerade rule, once with nf_conntrack_acct=1. The kernel memory they take is the slab delta
(/proc/meminfo SUnreclaim, and the nf_conntrack and kmalloc caches of /proc/slabinfo) from
before to after. The sizing engine's bytes per entry for that host and profile must be within
15% of it: 256 B for the object, plus 128 B (the extension area, NF_CT_EXT_PREALLOC) with NAT
masquerade, accounting, timestamps or events. docs/keys.md has the numbers.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
N = 200000

# quiet_machine (tests/netns/conftest.py): the slab is machine-wide, other jobs move it.
pytestmark = [pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces and /proc/slabinfo'),
              pytest.mark.quiet_machine]

# UDP from 4 sockets to N distinct destinations: one entry each
FILL = r'''
import socket, sys
n, net = int(sys.argv[1]), sys.argv[2]
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
for i in range(n):
    socks[i % 4].sendto(b'x', ('%s.%d.%d.%d' % (net, 1 + (i >> 16) % 250, (i >> 8) & 255, 1 + (i & 255) % 254),
                               1000 + i % 50))
'''
# the facts the role would gather in that namespace, then the engine's bytes per entry
ESTIMATE = r'''
import json, sys
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
facts = _gather.gather()
rec = _sizing.recommend(facts, profile=sys.argv[1], only_raise=False, force=True)
print(json.dumps({'entry_bytes': rec['memory']['entry_bytes'], 'extension': rec['memory']['extension'],
                  'object_size': facts['memory']['object_size']}))
'''
MASQUERADE = b'table ip nfct_masq { chain post { type nat hook postrouting priority 100; oifname "nfm0" masquerade; }; }'


def slab():
    """SUnreclaim bytes and {cache: (objects, objsize)} for nf_conntrack and the kmalloc caches."""
    caches = {}
    with open('/proc/slabinfo') as f:
        for line in f:
            fld = line.split()
            if fld and (fld[0] == 'nf_conntrack' or fld[0].startswith('kmalloc-')):
                caches[fld[0]] = (int(fld[2]), int(fld[3]))
    with open('/proc/meminfo') as f:
        mem = dict((ln.split(':')[0], int(ln.split()[1]) * 1024) for ln in f)
    return mem['SUnreclaim'], caches


def settle(timeout=90):
    """Wait until no other netns is tearing its conntrack table down (the active objects of the
    nf_conntrack cache stop moving: a namespace's entries are freed asynchronously, by a workqueue
    and after RCU grace periods), then shrink the cache so the free objects a torn-down table left
    are not reused by ours (a delta of 0 otherwise: seen on a CI run while another job emptied a
    1M-entry table)."""
    def active():
        with open('/proc/slabinfo') as f:
            for line in f:
                if line.startswith('nf_conntrack '):
                    return int(line.split()[1])
        return 0
    deadline = time.time() + timeout
    last = active()
    while time.time() < deadline:
        time.sleep(1)
        now = active()
        if abs(now - last) < N // 100:
            break
        last = now
    try:
        with open('/sys/kernel/slab/nf_conntrack/shrink', 'w') as f:
            f.write('1')
    except (IOError, OSError):
        pass   # not SLUB, or no sysfs: the measurement is then as before


def outbound(ns):
    """A veth with a static neighbour and a route for 10.0.0.0/8: packets leave through it."""
    for cmd in (['ip', 'link', 'add', 'nfm0', 'type', 'veth', 'peer', 'name', 'nfm1'],
                ['ip', 'addr', 'add', '192.168.77.1/24', 'dev', 'nfm0'], ['ip', 'link', 'set', 'nfm0', 'up'],
                ['ip', 'link', 'set', 'nfm1', 'up'],
                ['ip', 'neigh', 'add', '192.168.77.2', 'lladdr', '02:00:00:00:00:01', 'dev', 'nfm0', 'nud', 'permanent'],
                ['ip', 'route', 'add', '10.0.0.0/8', 'via', '192.168.77.2']):
        nsfill.ns_exec(ns.name, cmd)


def measure(mode, profile):
    ns = nsfill.Netns('nfct-mem')
    try:
        net = '127'
        if mode == 'masquerade':
            outbound(ns)
            nsfill.ns_exec(ns.name, ['nft', '-f', '-'], input=MASQUERADE)
            net = '10'
        if mode == 'acct':
            ns.write_sysctl('acct', 1)
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.cache', 'collections'))
        est = json.loads(nsfill.ns_exec(ns.name, [sys.executable, '-c', ESTIMATE, profile], stdout=subprocess.PIPE,
                                        env=env).stdout.decode())
        settle()
        time.sleep(0.5)
        s0, c0 = slab()
        nsfill.ns_exec(ns.name, [sys.executable, '-c', FILL, str(N), net])
        count = ns.wait_stable()
        s1, c1 = slab()
        per_cache = dict((k, (c1[k][0] - c0.get(k, (0, 0))[0]) * c1[k][1] / float(count)) for k in c1)
        return {'count': count, 'sunreclaim_per_entry': (s1 - s0) / float(count),
                'caches': dict((k, round(v, 1)) for k, v in per_cache.items() if abs(v) > 8), 'estimate': est}
    finally:
        ns.remove()


@pytest.mark.parametrize('mode, profile, extension', [
    ('plain', 'default', False),
    ('masquerade', 'nat_gateway', True),
    ('acct', 'default', True),
])
def test_engine_bytes_per_entry_match_the_slab_delta(mode, profile, extension):
    m = measure(mode, profile)
    print(mode, json.dumps(m, sort_keys=True))
    assert m['count'] >= N * 0.99
    est = m['estimate']['entry_bytes']
    assert bool(m['estimate']['extension']) is extension
    # SUnreclaim moves with everything else the machine allocates; the caches are the check
    measured = m['caches'].get('nf_conntrack', 0) + sum(v for k, v in m['caches'].items() if k.startswith('kmalloc-'))
    assert abs(est - measured) <= 0.15 * measured, (est, m)
    assert abs(est - m['sunreclaim_per_entry']) <= 0.15 * m['sunreclaim_per_entry'], (est, m)
