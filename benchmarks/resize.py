# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part "Live resize": how long writing net.netfilter.nf_conntrack_buckets takes
on the real kernel with a full table, at 1M, 4M and 16M buckets (issue 10, finding 8).

nf_conntrack_hash_resize() rehashes every entry into the new table with bottom halves off and
the global conntrack lock held: nothing on that CPU processes packets and no conntrack entry
is created anywhere until it is done. The write's wall time (it also waits for an RCU grace
period after the rehash) is the upper bound of that stall.

For each size B: the initial namespace's max and buckets are saved, set to B (so filling is
fast), a throwaway namespace is filled with B entries through ctnetlink (benchmarks/ctfill.py
--shape unique), then buckets is written to 2B and back to B, ROUNDS times each. The namespace
is deleted and max/buckets are restored whatever happens. Root only; 16M entries take ~4.5 GiB
of kernel memory for the run.

Standalone: python3 benchmarks/resize.py [--sizes 1048576,4194304,16777216] [--rounds 3]
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'netns'))
import nsfill  # noqa: E402

PROC = '/proc/sys/net/netfilter/nf_conntrack_'
SIZES = (1048576, 4194304, 16777216)


def _read(key):
    with open(PROC + key) as f:
        return int(f.read())


def _write(key, value):
    with open(PROC + key, 'w') as f:
        f.write('%d\n' % value)


def _timed_write(key, value):
    t = time.perf_counter()
    _write(key, value)
    return time.perf_counter() - t


def _fill(ns, n, python, log):
    t0 = time.time()
    have = 0
    start = 0
    while have < n:
        out = subprocess.run(['ip', 'netns', 'exec', ns.name, python, os.path.join(HERE, 'ctfill.py'), str(n - have),
                              '--start', str(start), '--shape', 'unique'], stdout=subprocess.PIPE, check=False)
        start += n - have
        got = ns.count()
        if got <= have:
            raise RuntimeError('ctfill made no progress at %d entries: %s' % (got, out.stdout.decode()[-300:]))
        have = got
    log('  filled %d entries in %.0f s' % (have, time.time() - t0))
    return have


def run(sizes=SIZES, rounds=3, python=sys.executable, log=print):
    saved = {'max': _read('max'), 'buckets': _read('buckets')}
    log('resize: saved max %d, buckets %d (restored at the end)' % (saved['max'], saved['buckets']))
    rows = []
    try:
        for b in sizes:
            _write('max', b + 65536)
            _timed_write('buckets', b)
            ns = nsfill.Netns('nfct-resize')
            try:
                entries = _fill(ns, b, python, log)
                grow, shrink = [], []
                for _round in range(rounds):
                    grow.append(_timed_write('buckets', 2 * b))
                    shrink.append(_timed_write('buckets', b))
                row = {'buckets': b, 'entries': entries, 'grow_to': 2 * b, 'grow_s': grow, 'shrink_s': shrink,
                       'median_s': statistics.median(grow + shrink)}
                row['us_per_entry'] = round(1e6 * row['median_s'] / entries, 3)
                rows.append(row)
                log('  buckets %d <-> %d with %d entries: median %.2f s (%.3f us per entry)'
                    % (b, 2 * b, entries, row['median_s'], row['us_per_entry']))
            finally:
                ns.remove()
                _wait_empty(log)
    finally:
        _write('buckets', saved['buckets'])
        _write('max', saved['max'])
        log('resize: restored max %d, buckets %d' % (_read('max'), _read('buckets')))
    return {'rows': rows, 'markdown': markdown(rows)}


def _wait_empty(log, timeout=120):
    """Deleting a namespace frees its entries asynchronously; wait so the next size starts clean."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open('/proc/slabinfo') as f:
            active = [int(line.split()[1]) for line in f if line.startswith('nf_conntrack ')]
        if not active or active[0] < 100000:
            return
        time.sleep(1)
    log('  WARNING: %d conntrack objects still allocated after the namespace was deleted' % active[0])


def markdown(rows):
    out = ['## Live resize of the hash table', '',
           'Writing `net.netfilter.nf_conntrack_buckets` with a full table (initial namespace; the entries live in a '
           'throwaway namespace; medians of growing to 2x and shrinking back, 3 rounds each). The kernel rehashes '
           'every entry with bottom halves off and the global conntrack lock held (`nf_conntrack_hash_resize()`).',
           '', '| buckets | entries | median write | per entry |', '|---|---|---|---|']
    for r in rows:
        out.append('| %d <-> %d | %d | %.2f s | %.2f us |' % (r['buckets'], r['grow_to'], r['entries'], r['median_s'],
                                                              r['us_per_entry']))
    return '\n'.join(out)


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--sizes', default=','.join(str(s) for s in SIZES))
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--python', default=os.path.join(REPO, '.venv', 'bin', 'python'))
    o = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('resize.py needs root (network namespaces, nf_conntrack_buckets)')
    res = run([int(x) for x in o.sizes.split(',') if x], o.rounds, o.python)
    sys.stdout.write(res['markdown'] + '\n')
    sys.stdout.write(json.dumps(res['rows']) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
