# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the time of one conntrack_facts run goes: a timeline of its phases, the parser's own
cost per entry, and the CPU reference next to which both are read.

Usage (as root, in a namespace filled by benchmarks/ctfill.py):
    ip netns exec NS env PYTHONPATH=.cache/collections PYTHONDONTWRITEBYTECODE=1 \\
        .venv/bin/python benchmarks/timeline.py ARGS.json

ARGS.json holds {"ANSIBLE_MODULE_ARGS": {"breakdown": true, "breakdown_source": "ctnetlink"}}
(or procfs). The module runs as `python -m` runs it, with marks (seconds since this script
started) printed to stderr at exit: ansible-core's basic imported, our module_utils imported,
the reader started (the table's walk begins), the first chunk parsed, the last chunk parsed
(the walk and the parsing behind it), the result built, the module's exit. Compare the walk
with `cat /proc/net/nf_conntrack` or the bare dump of benchmarks/bench.py (NL_FLOOR); the
interpreter's own start-up is `python -c pass`. docs/benchmarks.md ("Floors") has a run.

The parser alone, without the kernel (benchmarks/bench.py runs these for every table):
    ip netns exec NS cat /proc/net/nf_conntrack > T.proc
    ip netns exec NS env PYTHONPATH=... python benchmarks/timeline.py --capture-netlink T.nl
    env PYTHONPATH=... python benchmarks/timeline.py --parse-cost T.proc T.nl [RUNS]
--capture-netlink writes the datagrams of one ctnetlink dump (T.nl, and their lengths in
T.nl.idx); --parse-cost feeds the captures to the module's own counting loops
(_breakdown.count_proc_chunks, _netlink.count_dump_chunks) in the slots the reader process
fills (256 KiB; whole datagrams for ctnetlink), then builds the result, and prints as JSON
the CPU seconds of that (time.process_time, the reading of the captures left out; the best
of RUNS, 3 by default) and per entry, for each source. That is the Python time per entry of
a breakdown, without the kernel's walk (which the module's reader process does on another
CPU).

The CPU reference (--cpu-reference [RUNS]): the seconds of `for i in range(10000000): pass`
run at the top level of `python -c` (i is a global, as when typed at a prompt), in a fresh
interpreter each time, in CPU seconds (time.process_time; the wall clock beside it): the loop
by which issue 23 named a slow machine (2.65 s there). docs/benchmarks.md reads the ratios with it.
"""

from __future__ import (absolute_import, division, print_function)

import array
import atexit
import gc
import hashlib
import importlib
import json
import runpy
import statistics
import subprocess
import sys
import time

T0 = time.time()
MARKS = []
# the CPU reference: a fixed pure-Python loop, at the top level of `python -c`
REFERENCE_LOOP = 'for i in range(10000000): pass'
REFERENCE_CODE = ('import time\nt0, c0 = time.perf_counter(), time.process_time()\n%s\n'
                  'print(time.perf_counter() - t0, time.process_time() - c0)\n' % REFERENCE_LOOP)
MU = 'ansible_collections.nfct.tuning.plugins.module_utils.'


def mark(name):
    MARKS.append((name, time.time() - T0))


def report():
    mark('exit')
    sys.stderr.write('timeline: ' + ' | '.join('%s %.3f' % m for m in MARKS) + '\n')


def timeline(args_file):
    importlib.import_module('ansible.module_utils.basic')
    mark('basic imported')
    for name in ('facts.gather', 'facts.netlink', 'facts.breakdown'):
        importlib.import_module(MU + name)
    mark('our imports')
    _breakdown = importlib.import_module(MU + 'facts.breakdown')
    stream_iter = _breakdown.ChildStream.__iter__
    result = _breakdown.Counts.result

    def timed_iter(self):
        mark('reader started')
        first = True
        for chunk in stream_iter(self):
            yield chunk
            if first:
                mark('first chunk parsed')
                first = False
        mark('last chunk parsed')

    def timed_result(self, *args, **kwargs):
        out = result(self, *args, **kwargs)
        mark('result built')
        return out

    _breakdown.ChildStream.__iter__ = timed_iter
    _breakdown.Counts.result = timed_result
    atexit.register(report)
    sys.argv = [sys.argv[0], args_file]
    runpy.run_module('ansible_collections.nfct.tuning.plugins.modules.conntrack_facts', run_name='__main__')
    return 0


def cpu_reference(python=None, runs=5):
    """The CPU reference: REFERENCE_LOOP in a fresh `python -c` runs times: {'loop', 'python',
    'wall': [s], 'cpu': [s], 'median', 'min'}, the median and min of the CPU times (the loop's
    time when it has a CPU to itself: on a busy machine the wall clock adds the waits; on an
    idle one both agree)."""
    python = python or sys.executable
    wall, cpu = [], []
    for _i in range(runs):
        out = subprocess.run([python, '-c', REFERENCE_CODE], check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.split()
        wall.append(round(float(out[0]), 4))
        cpu.append(round(float(out[1]), 4))
    return {'loop': REFERENCE_LOOP + '  (top level of python -c, a fresh interpreter each run)',
            'python': python, 'wall': wall, 'cpu': cpu, 'median': statistics.median(cpu), 'min': min(cpu)}


def capture_netlink(path):
    """The datagrams of one ctnetlink dump of this namespace into path, their lengths into
    path.idx (native unsigned ints)."""
    _netlink = importlib.import_module(MU + 'facts.netlink')
    sock = _netlink._Socket()
    lengths = array.array('I')
    buf = bytearray(_netlink.RECV_CHUNK)
    view = memoryview(buf)
    try:
        sock.request(_netlink.IPCTNL_MSG_CT_GET, _netlink.NLM_F_DUMP)
        with open(path, 'wb') as f:
            while True:
                n = sock.recv_into(view)
                f.write(view[:n])
                lengths.append(n)
                if any(t in (_netlink.NLMSG_DONE, _netlink.NLMSG_ERROR)
                       for t, _f, _o, _l in _netlink._iter_messages(view[:n])):
                    break
    finally:
        sock.close()
    with open(path + '.idx', 'wb') as f:
        f.write(lengths.tobytes())
    return len(lengths)


def proc_slots(path, size):
    """The file in chunks of size bytes, as the reader process hands them over."""
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                return
            yield chunk


def dump_slots(path, size, room):
    """The captured datagrams packed into slots of size bytes while room is left, as the
    reader process (_netlink._DumpReader) packs them."""
    lengths = array.array('I')
    with open(path + '.idx', 'rb') as f:
        lengths.frombytes(f.read())
    slot = bytearray(size)
    view = memoryview(slot)
    pos = 0
    with open(path, 'rb') as f:
        for n in lengths:
            if size - pos < room:
                yield view[:pos]
                pos = 0
            f.readinto(view[pos:pos + n])
            pos += n
    if pos:
        yield view[:pos]


def untimed(chunks, spent):
    """The chunks, with the CPU time spent producing them (reading the captures) added to
    spent[0]."""
    it = iter(chunks)
    while True:
        c0 = time.process_time()
        chunk = next(it, None)
        spent[0] += time.process_time() - c0
        if chunk is None:
            return
        yield chunk


def parse_cost(proc_path, nl_path, runs=3, top=10):
    """{'entries', 'procfs': {...}, 'ctnetlink': {...}, 'equal'}: per source the CPU seconds of
    the module's counting loop and result over the captures (each run, the best), the best
    per entry in microseconds, and a digest of the result (both sources must agree)."""
    bd = importlib.import_module(MU + 'facts.breakdown')
    nl = importlib.import_module(MU + 'facts.netlink')
    paths = {
        'procfs': (lambda: proc_slots(proc_path, bd.SLOT_SIZE), bd.count_proc_chunks, bd.proc_result),
        'ctnetlink': (lambda: dump_slots(nl_path, bd.SLOT_SIZE, bd.MIN_ROOM), nl.count_dump_chunks,
                      nl.breakdown_result),
    }
    out = {}
    for name, (chunks, count, result) in paths.items():
        cpu = []
        for _i in range(runs):
            gc.collect()
            spent = [0.0]
            acc = bd.Counts()
            with bd.GcPaused():
                c0 = time.process_time()
                count(acc, untimed(chunks(), spent))
                res = result(acc, top)
                cpu.append(time.process_time() - c0 - spent[0])
        digest = hashlib.sha256(json.dumps(res, sort_keys=True).encode()).hexdigest()[:16]
        out[name] = {'cpu_s': [round(c, 4) for c in cpu], 'best_s': round(min(cpu), 4),
                     'us_per_entry': round(min(cpu) / max(res['total'], 1) * 1e6, 4), 'digest': digest}
        out['entries'] = res['total']
    out['equal'] = out['procfs']['digest'] == out['ctnetlink']['digest']
    return out


def main(argv):
    if len(argv) == 1 and not argv[0].startswith('--'):
        return timeline(argv[0])
    if len(argv) == 2 and argv[0] == '--capture-netlink':
        capture_netlink(argv[1])
        return 0
    if len(argv) in (3, 4) and argv[0] == '--parse-cost':
        json.dump(parse_cost(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 3), sys.stdout)
        sys.stdout.write('\n')
        return 0
    if len(argv) in (1, 2) and argv[0] == '--cpu-reference':
        json.dump(cpu_reference(runs=int(argv[1]) if len(argv) > 1 else 5), sys.stdout)
        sys.stdout.write('\n')
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
