# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part "Audit report": the controller's cost of the fleet report (what the
conntrack_audit_report action does after the hosts answered: build the report from every host's
registered result, render it as JSON, JUnit XML and HTML and write the three files - temporary
file, fsync, rename, as the action's write() does) for 500 to 5,000 synthetic hosts, and the size
of the HTML page.

The hosts come from tests/unit/audit_synth.py: real conntrack_audit results (facts, the sizing
engine, the settings plan, the audit entry) of made-up hosts in every shape (in sync, drifted
in each kind, full tables with drops, unreachable, failed). Building them is not timed. Each
size is timed ROUNDS times in interleaved rounds (one round times every size once); medians.
One more row, for information: the largest size again with what the audit adds on request
(audit_synth.rich_fleet: the users verdict on every host, the breakdown on every sixth).

Targets: 5,000 hosts in under 2 s, build and writes included, with an HTML page under 5 MB
(issue 23; issue 12 asked for 10 s); and linear: the time per host at the largest size at most
1.5x the time per host at the smallest.

Standalone: python3 benchmarks/report.py [--sizes 500,1000,2000,5000] [--rounds 3]
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit'))

SIZES = (500, 1000, 2000, 5000)
TARGETS = {'seconds_at_5000': 2.0, 'html_mb_at_5000': 5.0, 'linearity': 1.5}
META = {'collection_version': 'bench', 'ansible_core_version': 'bench'}


def write(path, text):
    """What the action's write() does: a temporary file in the same folder, fsync, rename."""
    fd, tmp = tempfile.mkstemp(prefix='.conntrack-audit-', dir=os.path.dirname(path))
    with os.fdopen(fd, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def render_all(results, hosts, folder):
    """What the action does: build, the three texts, the three files (in folder). Returns
    ({stage: seconds}, HTML bytes)."""
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report
    t = {}
    t0 = time.perf_counter()
    report = _audit_report.build(results, hosts, meta=META)
    t['build'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    texts = {'json': json.dumps(report, indent=1, sort_keys=True) + '\n'}
    t['json'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    texts['junit.xml'] = _audit_report.to_junit(report)
    t['junit'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    texts['html'] = _audit_html.to_html(report)
    t['html'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _audit_report.summary_lines(report)
    t['lines'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for suffix, text in sorted(texts.items()):
        write(os.path.join(folder, 'conntrack-audit.' + suffix), text)
    t['writes'] = time.perf_counter() - t0
    t['total'] = sum(t.values())
    return t, len(texts['html'].encode('utf-8'))


def measure(fleets, rounds, folder):
    """{size: [({stage: seconds}, html bytes) per round]}, interleaved rounds."""
    times = dict((n, []) for n in fleets)
    for _round in range(rounds):
        for n in sorted(fleets):
            times[n].append(render_all(fleets[n], sorted(fleets[n]), folder))
    return times


def row(hosts, runs, label=None):
    med = dict((stage, statistics.median(r[0][stage] for r in runs)) for stage in runs[0][0])
    return {'hosts': hosts, 'median': med, 'per_host_ms': 1000.0 * med['total'] / hosts, 'html_bytes': runs[-1][1],
            'fleet': label or 'fleet'}


def run(sizes=SIZES, rounds=3, log=None):
    """Returns {'rows': [...], 'rich': row, 'verdicts': [(target, measured, ok)], 'markdown': str}."""
    import audit_synth
    sizes = sorted(sizes)
    fleets = {}
    for n in sizes:
        if log:
            log('audit report: building %d synthetic host results' % n)
        fleets[n] = audit_synth.fleet(n)
    if log:
        log('audit report: building %d synthetic host results with users and breakdowns' % sizes[-1])
    rich = audit_synth.rich_fleet(sizes[-1])
    folder = tempfile.mkdtemp(prefix='nfct-bench-report-')
    try:
        times = measure(fleets, rounds, folder)
        rich_times = measure({sizes[-1]: rich}, rounds, folder)[sizes[-1]]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [row(n, times[n]) for n in sizes]
    extra = row(sizes[-1], rich_times, 'rich')
    # the rich row apart: the runs of record (benchmarks/record.yml, scripts/gen_docs.py) read the rows
    return {'rows': rows, 'rich': extra, 'verdicts': verdicts(rows), 'markdown': markdown(rows, extra, rounds)}


def verdicts(rows):
    first, last = rows[0], rows[-1]
    linearity = last['per_host_ms'] / first['per_host_ms']
    at_max = last['median']['total'] * 5000.0 / last['hosts']
    mb = last['html_bytes'] * 5000.0 / last['hosts'] / 1e6
    return [
        ('audit report of 5,000 hosts (build, JSON, JUnit, HTML, the three files written) < %.0f s'
         % TARGETS['seconds_at_5000'], '%.2f s' % at_max, at_max < TARGETS['seconds_at_5000']),
        ('HTML page of 5,000 hosts < %.0f MB' % TARGETS['html_mb_at_5000'], '%.2f MB' % mb,
         mb < TARGETS['html_mb_at_5000']),
        ('audit report time grows linearly (per host at %d / at %d hosts <= %.1f)'
         % (last['hosts'], first['hosts'], TARGETS['linearity']), '%.2f' % linearity,
         linearity <= TARGETS['linearity']),
    ]


def markdown(rows, extra, rounds):
    L = ['## Audit report on the controller', '',
         'What `nfct.tuning.conntrack_audit_report` does once the hosts answered, for synthetic fleets '
         '(tests/unit/audit_synth.py: every shape of host, unreachable and failed ones included): build the report, '
         'render JSON, JUnit and HTML, write the three files (fsync, rename); medians of %d interleaved rounds, seconds; '
         'the size of the HTML page. The last row: the largest fleet again with the users verdict on every host and '
         'the breakdown on every sixth (for information).' % rounds, '',
         '| hosts | build | JSON | JUnit | HTML | lines | writes | total | ms per host | HTML MB |',
         '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows + [extra]:
        m = r['median']
        L.append('| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |' % (
            '%d' % r['hosts'] if r['fleet'] == 'fleet' else '%d (users, breakdowns)' % r['hosts'], m['build'], m['json'],
            m['junit'], m['html'], m['lines'], m['writes'], m['total'], r['per_host_ms'], r['html_bytes'] / 1e6))
    return '\n'.join(L)


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
