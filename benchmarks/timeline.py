# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the time of one conntrack_facts run goes: a timeline of its phases.

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
"""

from __future__ import (absolute_import, division, print_function)

import atexit
import importlib
import runpy
import sys
import time

T0 = time.time()
MARKS = []


def mark(name):
    MARKS.append((name, time.time() - T0))


def report():
    mark('exit')
    sys.stderr.write('timeline: ' + ' | '.join('%s %.3f' % m for m in MARKS) + '\n')


def main(argv):
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    importlib.import_module('ansible.module_utils.basic')
    mark('basic imported')
    for name in ('_gather', '_netlink', '_breakdown'):
        importlib.import_module('ansible_collections.nfct.tuning.plugins.module_utils.' + name)
    mark('our imports')
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown
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
    sys.argv = [sys.argv[0], argv[0]]
    runpy.run_module('ansible_collections.nfct.tuning.plugins.modules.conntrack_facts', run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
