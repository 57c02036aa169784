# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/run-stages.sh, which runs make test's stages in lanes: the pool of a phase is taken
by whichever lane is free first, each stage once, and none once a stage failed. A fake make
(MAKE) records the stages it runs; a stage wait-X waits for stage X to have run, so that which
lane is free first does not depend on timing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

FAKE_MAKE = r'''#!/usr/bin/env bash
stage=${@: -1}
dir=$(dirname "$0")
case $stage in
    wait-*) for _ in $(seq 200); do [[ -e $dir/done-${stage#wait-} ]] && break; sleep 0.05; done
            [[ -e $dir/done-${stage#wait-} ]] || exit 9 ;;
    bad) touch "$dir/done-bad"; exit 3 ;;
esac
echo "$stage" >> "$dir/ran"
touch "$dir/done-$stage"
'''


def run(tmp_path, *phases):
    make = tmp_path / 'fakemake'
    make.write_text(FAKE_MAKE)
    make.chmod(0o755)
    logs = tmp_path / 'logs'
    proc = subprocess.run([os.path.join(ROOT, 'scripts', 'run-stages.sh'), str(logs)] + list(phases),
                          env=dict(os.environ, MAKE=str(make)), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60, check=False)
    table = {}
    for line in (logs / 'stages.tsv').read_text().splitlines()[1:]:
        stage, lane, _start, _secs, status = line.split('\t')
        table[stage] = (lane, status)
    ran = (tmp_path / 'ran').read_text().split() if (tmp_path / 'ran').exists() else []
    return proc, table, ran


def test_the_pool_goes_to_the_lane_free_first_each_stage_once(tmp_path):
    # lane 1 is busy until p1 has run: only lane 2 can take it
    proc, table, ran = run(tmp_path, 'setup', 'wait-p1 +pool | quick +pool | other | pool: p1 p2 p3', 'after')
    assert proc.returncode == 0, proc.stdout.decode()
    assert table['p1'] == ('2.2', 'ok')
    assert all(table[s][0] in ('2.1', '2.2') and table[s][1] == 'ok' for s in ('p2', 'p3'))
    assert sorted(ran) == sorted(['setup', 'wait-p1', 'quick', 'other', 'p1', 'p2', 'p3', 'after'])
    assert ran.index('after') == len(ran) - 1          # the next phase after the whole pool
    assert table['other'] == ('2.3', 'ok')             # a lane without +pool takes none


def test_no_pool_stage_runs_after_a_failure_and_the_next_phase_does_not_run(tmp_path):
    proc, table, ran = run(tmp_path, 'wait-bad +pool | bad +pool | pool: p1 p2', 'after')
    assert proc.returncode == 1
    assert table['bad'] == ('1.2', 'FAILED (exit 3)')
    assert table['p1'] == ('1.*', 'not run') and table['p2'] == ('1.*', 'not run')
    assert table['after'] == ('2.1', 'not run')
    assert 'p1' not in ran and 'after' not in ran


def test_without_a_pool_the_lanes_run_as_before(tmp_path):
    proc, table, ran = run(tmp_path, 'a b | c')
    assert proc.returncode == 0
    assert table == {'a': ('1.1', 'ok'), 'b': ('1.1', 'ok'), 'c': ('1.2', 'ok')}
