# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast breakdown paths on the real kernel: a throwaway namespace with every kind of entry
tests/netns/ctkinds.py creates (TCP in many states, UDP, ICMP, IPv6, GRE, SCTP, UDP-Lite,
an unknown protocol) plus 30 000 entries made through ctnetlink (benchmarks/ctfill.py). The /proc
fast path, the ctnetlink fast path and the entry-by-entry summarize() of both sources must give
the same breakdown. (make bench checks the same at 100 000 and 1 000 000 entries.)"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from ctkinds import FILL_CFG, PY, REPO, Netns  # noqa: E402

PROBE = r'''
import json
from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as bd, gather as _gather, netlink as nl
path = '/proc/net/nf_conntrack'
out = {
    'count': int(open('/proc/sys/net/netfilter/nf_conntrack_count').read()),
    'proc_fast': bd.proc_breakdown(path, top=20),
    'proc_slow': bd.summarize(_gather.iter_proc_entries(path), top=20),
    'nl_fast': nl.retry_dump(lambda e: bd.summarize(e, top=20)),
    'nl_slow': bd.summarize(iter(nl.EntryDump()), top=20),
}
print(json.dumps(out))
'''


@pytest.fixture(scope='module')
def views():
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces, nft)')
    for tool in ('ip', 'nft'):
        assert shutil.which(tool), '%s is required' % tool
    with Netns(prefix='nfct-bd') as ns:
        ns.fill(FILL_CFG)
        subprocess.run(ns.cmd(PY, os.path.join(REPO, 'benchmarks', 'ctfill.py'), '30000'), check=True,
                       stdout=subprocess.PIPE)
        yield ns.py_json(PROBE)


def test_fast_paths_equal_entry_by_entry(views):
    assert views['proc_fast'] == views['proc_slow']
    assert views['nl_fast'] == views['nl_slow']


def test_proc_and_ctnetlink_agree(views):
    assert views['proc_fast'] == views['nl_fast']
    b = views['proc_fast']
    assert b['total'] == views['count'] >= 30000 + 3000
    assert set(b['l4']) >= {'tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'sctp', 'udplite', 'unknown'}
    assert set(b['tcp_states']) >= {'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
                                    'FIN_WAIT', 'LAST_ACK'}
    assert b['top_exact'] is True


# The lossy path (issue 16): a table of three shapes whose sources, destinations and ports all
# outnumber a small capacity, so that every bounded counter is pruned. The reported top lists
# are checked against exact counts from a full parse of the same (frozen) table.
CAPACITY = 256
PROBE_LOSSY = r'''
import json
from collections import Counter
from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as bd, gather as _gather, netlink as nl
path = '/proc/net/nf_conntrack'
cap = %d
exact = {'sources': Counter(), 'destinations': Counter(), 'destination_ports': Counter()}
for ent in _gather.iter_proc_entries(path):
    exact['sources'][ent[3]] += 1
    exact['destinations'][ent[4]] += 1
    if ent[5] is not None:
        exact['destination_ports']['%%s/%%d' %% (ent[1], ent[5])] += 1
out = {
    'proc_fast': bd.proc_breakdown(path, top=20, capacity=cap),
    'proc_slow': bd.summarize(_gather.iter_proc_entries(path), top=20, capacity=cap),
    'nl_fast': nl.retry_dump(lambda e: bd.summarize(e, top=20, capacity=cap)),
    'nl_slow': bd.summarize(iter(nl.EntryDump()), top=20, capacity=cap),
    'exact': dict((k, dict(v)) for k, v in exact.items()),
}
print(json.dumps(out))
''' % CAPACITY


@pytest.fixture(scope='module')
def lossy():
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces, nft)')
    with Netns(prefix='nfct-bdl') as ns:
        for shape, n in (('mixed', 40000), ('nat', 20000), ('ports', 20000)):
            subprocess.run(ns.cmd(PY, os.path.join(REPO, 'benchmarks', 'ctfill.py'), str(n), '--shape', shape),
                           check=True, stdout=subprocess.PIPE)
        yield ns.py_json(PROBE_LOSSY)


LISTS = (('top_sources', 'sources'), ('top_destinations', 'destinations'),
         ('top_destination_ports', 'destination_ports'))


def test_lossy_paths_agree(lossy):
    """Pruned at fixed entry numbers: /proc and ctnetlink, fast and entry by entry, the same."""
    b = lossy['proc_fast']
    assert b == lossy['proc_slow'] == lossy['nl_fast'] == lossy['nl_slow']
    assert b['total'] == 80000 and b['top_exact'] is False
    assert all(b['top_errors'][name] > 0 for _l, name in LISTS)


def test_lossy_top_lists_within_the_reported_bound(lossy):
    b = lossy['proc_fast']
    total = b['total']
    for listed, name in LISTS:
        exact = lossy['exact'][name]
        err = b['top_errors'][name]
        assert err <= b['top_max_error']
        # the a priori bound: entries / (capacity / 2 + 1)
        assert err <= total // (CAPACITY // 2 + 1)
        top = b[listed]
        assert len(top) == 20
        for item in top:
            true = exact[item['key']]
            assert item['count'] <= true <= item['count'] + err, (name, item, true, err)
        # no key left out counts more than the last one listed plus the bound
        shown = set(item['key'] for item in top)
        least = top[-1]['count']
        missed = [(k, n) for k, n in exact.items() if k not in shown and n > least + err]
        assert not missed, (name, missed[:5], least, err)
