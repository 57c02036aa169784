# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What conntrack_metrics installs (docs/monitoring.md): this collection's module_utils (the
writer's code, read from the module's own payload), a launcher, the configuration, a systemd
service and timer. Pure functions: the file contents for given options."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import sys

PACKAGE = 'ansible_collections.nfct.tuning.plugins.module_utils'
LIB = '/usr/local/lib/nfct-tuning'
LAUNCHER = LIB + '/nfct-conntrack-metrics'
CONFIG = '/etc/nfct-tuning/metrics.json'
UNIT_DIR = '/etc/systemd/system'
SERVICE = 'nfct-conntrack-metrics.service'
TIMER = 'nfct-conntrack-metrics.timer'
MARK = 'Managed by nfct.tuning (conntrack_metrics). Do not edit: changes are overwritten.'


def sources():
    """{path below module_utils without .py ('notrack/host', 'notrack/__init__'): source} of every
    module_utils loaded in this process (the writer's
    closure, imported by the module), read through each module's loader (the AnsiballZ payload,
    or the files)."""
    out = {}
    for name, mod in sorted(sys.modules.items()):
        if not name.startswith(PACKAGE + '.') or mod is None:
            continue
        # a package (module_utils/notrack) is written as its __init__.py
        short = name[len(PACKAGE) + 1:].replace('.', '/') + ('/__init__' if hasattr(mod, '__path__') else '')
        src = None
        loader = getattr(mod, '__loader__', None)
        if loader is not None and hasattr(loader, 'get_source'):
            try:
                src = loader.get_source(name)
            except ImportError:
                src = None
        if src is None and getattr(mod, '__file__', None):
            with open(mod.__file__) as f:
                src = f.read()
        if src is not None:
            out[short] = src
    return out


def launcher(python):
    return ('#!%s\n# %s\n"""The nfct.tuning conntrack metrics writer (docs/monitoring.md)."""\n'
            'import sys\nsys.path.insert(0, %r)\n'
            'from ansible_collections.nfct.tuning.plugins.module_utils.metrics import writer\n'
            'sys.exit(writer.main())\n' % (python, MARK, LIB))


def config(p):
    return json.dumps({
        'dir': p['dir'], 'breakdown': p['breakdown'], 'top': p['top'], 'breakdown_timeout': p['breakdown_timeout'],
        'breakdown_max_entries': p['breakdown_max_entries'], 'desired': p['desired'], 'recommend': p['recommend'],
        'users': p['users'], 'files': p['files'], 'usage_threshold': p.get('usage_threshold', 0.75),
        'history': p.get('history_path') or '/var/lib/nfct-tuning/history.json',
    }, indent=2, sort_keys=True) + '\n'


def service(p):
    return ('# %s\n[Unit]\nDescription=nfct.tuning conntrack metrics for node_exporter (docs/monitoring.md)\n'
            'After=network.target\n\n[Service]\nType=oneshot\nExecStart=%s %s\n'
            '# a burden to nothing: idle CPU and I/O priority, bounded time and memory\n'
            'Nice=19\nCPUSchedulingPolicy=idle\nIOSchedulingClass=idle\nTimeoutStartSec=%ds\nMemoryMax=%dM\n'
            % (MARK, LAUNCHER, CONFIG, p['breakdown_timeout'] + 30, p['memory_max_mb']))


def timer(p):
    return ('# %s\n[Unit]\nDescription=nfct.tuning conntrack metrics every %d s\n\n[Timer]\n'
            'OnActiveSec=1s\nOnUnitActiveSec=%ds\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n'
            % (MARK, p['interval'], p['interval']))


def files(p, python, srcs):
    """{path: content} of everything installed for state present."""
    out = {LAUNCHER: launcher(python), CONFIG: config(p), UNIT_DIR + '/' + SERVICE: service(p),
           UNIT_DIR + '/' + TIMER: timer(p)}
    base = LIB + '/' + PACKAGE.replace('.', '/')
    for short, src in srcs.items():
        out['%s/%s.py' % (base, short)] = src
    return out
