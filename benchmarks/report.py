# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part "Audit report": the controller's cost of the fleet report (what the
conntrack_audit_report action does after the hosts answered: build the report from every host's
registered result, then write it as JSON, JUnit XML and HTML) for 500 to 5,000 synthetic hosts.

The hosts come from tests/unit/audit_synth.py: real conntrack_audit results (facts, the sizing
engine, the settings plan, the audit entry) of made-up hosts in every shape (in sync, drifted
in each kind, full tables with drops, unreachable, failed). Building them is not timed. Each
size is timed ROUNDS times in interleaved rounds (one round times every size once); medians.

Targets (issue 12): 5,000 hosts in under 10 s, and linear: the time per host at the largest
size at most 1.5x the time per host at the smallest.

Standalone: python3 benchmarks/report.py [--sizes 500,1000,2000,5000] [--rounds 3]
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit'))

SIZES = (500, 1000, 2000, 5000)
TARGETS = {'seconds_at_5000': 10.0, 'linearity': 1.5}
META = {'collection_version': 'bench', 'ansible_core_version': 'bench'}


def render_all(results, hosts):
    """What the action does: build, then the three texts. Returns {stage: seconds}."""
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report
    t = {}
    t0 = time.perf_counter()
    report = _audit_report.build(results, hosts, meta=META)
    t['build'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    json.dumps(report, indent=1, sort_keys=True)
    t['json'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _audit_report.to_junit(report)
    t['junit'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _audit_html.to_html(report)
    t['html'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _audit_report.summary_lines(report)
    t['lines'] = time.perf_counter() - t0
    t['total'] = sum(t.values())
    return t


def run(sizes=SIZES, rounds=3, log=None):
    """Returns {'rows': [...], 'verdicts': [(target, measured, ok)], 'markdown': str}."""
    import audit_synth
    sizes = sorted(sizes)
    fleets = {}
    for n in sizes:
        if log:
            log('audit report: building %d synthetic host results' % n)
        fleets[n] = audit_synth.fleet(n)
    times = dict((n, []) for n in sizes)
    for _round in range(rounds):
        for n in sizes:
            times[n].append(render_all(fleets[n], sorted(fleets[n])))
    rows = []
    for n in sizes:
        med = dict((stage, statistics.median(r[stage] for r in times[n])) for stage in times[n][0])
        rows.append({'hosts': n, 'median': med, 'per_host_ms': 1000.0 * med['total'] / n})
    first, last = rows[0], rows[-1]
    linearity = last['per_host_ms'] / first['per_host_ms']
    at_max = last['median']['total'] * 5000.0 / last['hosts']
    verdicts = [
        ('audit report of 5,000 hosts (build, JSON, JUnit, HTML) < %.0f s' % TARGETS['seconds_at_5000'],
         '%.2f s' % at_max, at_max < TARGETS['seconds_at_5000']),
        ('audit report time grows linearly (per host at %d / at %d hosts <= %.1f)'
         % (last['hosts'], first['hosts'], TARGETS['linearity']), '%.2f' % linearity,
         linearity <= TARGETS['linearity']),
    ]
    L = ['## Audit report on the controller', '',
         'What `nfct.tuning.conntrack_audit_report` does once the hosts answered, for synthetic fleets '
         '(tests/unit/audit_synth.py: every shape of host, unreachable and failed ones included); medians of %d '
         'interleaved rounds, seconds.' % rounds, '',
         '| hosts | build | JSON | JUnit | HTML | lines | total | ms per host |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        m = r['median']
        L.append('| %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |' % (
            r['hosts'], m['build'], m['json'], m['junit'], m['html'], m['lines'], m['total'], r['per_host_ms']))
    return {'rows': rows, 'verdicts': verdicts, 'markdown': '\n'.join(L)}


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--sizes', default=','.join(str(s) for s in SIZES))
    p.add_argument('--rounds', type=int, default=3)
    opts = p.parse_args(argv)
    res = run([int(x) for x in opts.sizes.split(',') if x], opts.rounds,
              lambda m: sys.stderr.write('[report] %s\n' % m))
    sys.stdout.write(res['markdown'] + '\n')
    for t, m, ok in res['verdicts']:
        sys.stdout.write('%s: %s (%s)\n' % (t, m, 'met' if ok else 'NOT met'))
    return 0 if all(ok for _t, _m, ok in res['verdicts']) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
