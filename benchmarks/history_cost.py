# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What reading the host's history adds to conntrack_facts (issue 24: at most 5 ms), side by side.

The history file is the largest the store keeps: 60 days of one-minute samples recorded through
history/store.py record() (every day, the 26 hours of 5-minute points and the histogram full).
Measured on this host (its own network namespace's table; nothing is written but a temporary
folder):

  in process   facts/gather.gather() without and with history_path, plus the forecast the module
               adds (sizing/observed.py forecast()), interleaved, ROUNDS each: the added
               milliseconds (medians) are the cost of the history itself
  process      conntrack_facts run as Ansible runs it on a host (python -m MODULE ARGS.json),
               history_path "" against the full file, interleaved, PROCESS_ROUNDS each: the
               whole module, where the interpreter's start dominates

Target: the median added in process at most TARGET_MS. A report, never a timed assertion in the
tests. Part of `make bench` (bench.py); alone: .venv/bin/python benchmarks/history_cost.py
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
MODULE = 'ansible_collections.nfct.tuning.plugins.modules.conntrack_facts'
TARGET_MS = 5.0
ROUNDS = 200
PROCESS_ROUNDS = 15
DAYS = 60


def full_history(end, store):
    """60 days of one-minute samples: a diurnal table, counters growing, a reboot a fortnight."""
    history = store.empty()
    start = end - DAYS * 86400
    insert = 0
    for i, t in enumerate(range(int(start), int(end), 60)):
        insert += 300 * 60
        phase = ((t % 86400) / 86400.0)
        count = int(150000 + 100000 * (1 - abs(phase - 0.58) * 2) + (i % 97) * 31)
        store.record(history, {'time': float(t), 'boot_id': 'b%d' % (i // 20160), 'count': count, 'max': 524288,
                               'counters': {'drop': i // 5000, 'early_drop': 0, 'insert_failed': i // 7000,
                                            'insert': insert}})
    return history


def _ms(values):
    return round(statistics.median(values) * 1000.0, 3)


def in_process(path):
    """Median milliseconds of gather() without and with the history (and the forecast)."""
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed
    bare, read = [], []
    for _round in range(ROUNDS):
        t0 = time.perf_counter()
        gather.gather()
        t1 = time.perf_counter()
        facts = gather.gather(history_path=path)
        if facts['history'] and facts.get('max'):
            observed.forecast(facts['history'], time.time(), facts['max'])
        t2 = time.perf_counter()
        bare.append(t1 - t0)
        read.append(t2 - t1)
    return {'without_ms': _ms(bare), 'with_ms': _ms(read), 'added_ms': round(_ms(read) - _ms(bare), 3),
            'ratio': round(statistics.median(read) / statistics.median(bare), 3), 'rounds': ROUNDS}


def processes(python, path, tmp):
    """Median milliseconds of the module process with history_path "" and with the full file."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, LC_ALL='C', PYTHONDONTWRITEBYTECODE='1')
    args = {}
    for name, value in (('without', ''), ('with', path)):
        args[name] = os.path.join(tmp, '%s.json' % name)
        with open(args[name], 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': {'history_path': value}}, f)
    times = {'without': [], 'with': []}
    for _round in range(PROCESS_ROUNDS):
        for name in ('without', 'with'):
            t0 = time.perf_counter()
            out = subprocess.run([python, '-m', MODULE, args[name]], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, check=False)
            times[name].append(time.perf_counter() - t0)
            if out.returncode != 0:
                raise RuntimeError('conntrack_facts failed: %s' % out.stdout.decode()[-500:])
    return {'without_ms': _ms(times['without']), 'with_ms': _ms(times['with']),
            'added_ms': round(_ms(times['with']) - _ms(times['without']), 3),
            'ratio': round(statistics.median(times['with']) / statistics.median(times['without']), 3),
            'rounds': PROCESS_ROUNDS}


def markdown(res):
    rows = ['## Reading the host\'s history in conntrack_facts', '',
            'The largest history the store keeps (%d days of one-minute samples, %d bytes), read with the facts and '
            'the forecast computed, side by side with the facts without it (benchmarks/history_cost.py). Target: at '
            'most %.0f ms added (in process).' % (DAYS, res['file_bytes'], TARGET_MS), '',
            '| measured | without history | with history | added | ratio |', '|---|---|---|---|---|']
    for name, label in (('in_process', 'gather() + forecast, in process (median of %d)'),
                        ('process', 'the module process, python -m (median of %d)')):
        r = res[name]
        cells = (label % r['rounds'], r['without_ms'], r['with_ms'], r['added_ms'], r['ratio'])
        rows.append('| %s | %.2f ms | %.2f ms | %+.2f ms | %.3fx |' % cells)
    rows += ['', 'Verdict: %s (%.2f ms added in process, target <= %.0f ms).' % (
        'met' if res['ok'] else 'NOT MET', res['in_process']['added_ms'], TARGET_MS)]
    return '\n'.join(rows) + '\n'


def run(python=sys.executable, log=print):
    """{'in_process', 'process', 'file_bytes', 'ok', 'verdicts', 'markdown'}."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.nfct.tuning.plugins.module_utils.history import store
    tmp = tempfile.mkdtemp(prefix='nfct-history-cost-')
    try:
        path = os.path.join(tmp, 'history.json')
        log('history cost: recording %d days of one-minute samples' % DAYS)
        text = store.dumps(full_history(time.time(), store))
        with open(path, 'w') as f:
            f.write(text)
        log('history cost: gather() in process, %d interleaved rounds' % ROUNDS)
        res = {'file_bytes': len(text), 'in_process': in_process(path)}
        log('history cost: the module process, %d interleaved rounds' % PROCESS_ROUNDS)
        res['process'] = processes(python, path, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res['ok'] = res['in_process']['added_ms'] <= TARGET_MS
    res['verdicts'] = [('reading the history adds <= %.0f ms to conntrack_facts' % TARGET_MS,
                        '%.2f ms' % res['in_process']['added_ms'], res['ok'])]
    res['markdown'] = markdown(res)
    return res


if __name__ == '__main__':
    result = run()
    sys.stdout.write(result['markdown'])
    sys.exit(0 if result['ok'] else 1)
