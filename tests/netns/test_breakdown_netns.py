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
from ansible_collections.nfct.tuning.plugins.module_utils import _breakdown as bd, _gather, _netlink as nl
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
