# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metrics writer (docs/monitoring.md): run by a systemd timer on each host, it gathers the
conntrack facts with the same code as conntrack_facts, the breakdown behind a guard, the drift
of the tuned keys with the audit's code, the recommendation for the host's profile and the
users verdict, and writes one .prom file atomically into node_exporter's textfile directory.

conntrack_metrics installs this package's module_utils on the host (read from the module's own
payload: the code that runs there is the collection's) and a launcher that calls main().

The guard: the breakdown (a walk of the whole table) is skipped when the table holds more than
`breakdown_max_entries` entries, and otherwise runs in a child process that is killed after
`breakdown_timeout` seconds; either way the cheap metrics are written, with
nfct_conntrack_breakdown_skipped{reason="size"|"time"|"error"} = 1. Only one breakdown is ever in
memory. The unit runs at idle CPU and I/O priority."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import time

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.history import file as _history_file, store as _store
from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, io as _hostio, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import exposition as _metrics
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, observed as _observed
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host, verdict as _users

CONFIG = '/etc/nfct-tuning/metrics.json'
OUTPUT = 'nfct_conntrack.prom'
DEFAULTS = {
    'dir': '/var/lib/prometheus/node-exporter', 'breakdown': True, 'top': 10, 'breakdown_timeout': 20,
    'breakdown_max_entries': 2000000, 'desired': {}, 'recommend': {'profile': 'default'}, 'users': True,
    'files': {}, 'usage_threshold': _health.DEFAULT_USAGE_THRESHOLD, 'history': _store.PATH,
}


class Shim(object):
    """What module_utils expect of an AnsibleModule, for a program that is not one."""

    def __init__(self):
        self.warnings = []

    def get_bin_path(self, name):
        return shutil.which(name) if hasattr(shutil, 'which') else None

    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.communicate(data.encode() if isinstance(data, str) else data)
        return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')

    def warn(self, msg):
        self.warnings.append(msg)

    def atomic_move(self, src, dst):
        os.rename(src, dst)


def guarded_breakdown(top, timeout, root=''):
    """The breakdown in a child process, killed after `timeout` seconds -> (breakdown, skipped)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(read_fd)
        try:
            breakdown = _gather._breakdown(root, _gather.Probes(), True, top, 'auto')
            data = json.dumps(breakdown).encode()
        except Exception as e:  # report it: the parent writes the cheap metrics
            data = json.dumps({'error': str(e)}).encode()
        with os.fdopen(write_fd, 'wb') as f:
            f.write(data)
        os._exit(0)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                return None, 'time'
            ready, _w, _x = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    try:
        breakdown = json.loads(b''.join(chunks).decode())
    except ValueError:
        return None, 'error'
    if breakdown.get('error') or breakdown.get('total') is None:
        return None, 'error'
    return breakdown, None


def drift_keys(facts, desired, files, root=''):
    """The audit's per-key entries ({key: {'kinds'}}) for the tuned values."""
    params = dict(_settings.LAYER_DEFAULTS, **files)
    params.update(readonly='report')
    state = _state.read(params, root)
    current = state.files
    settings_plan = _settings.plan(facts, desired, params, state)
    values = dict((short, {'recommended': value, 'reason': 'the value the role set', 'source': 'metrics.json'})
                  for short, value in desired.items())
    rec = {'values': values, 'profile': None, 'memory': {}, 'warnings': []}
    entry = _audit.host_entry(facts, rec, settings_plan, current, params['udev_rule_file'], None, (), params['sysctl_file'])
    return entry['keys']


def collect(cfg, root='', now=None):
    """Everything render() needs; never raises: a part that fails is left out and reported
    (parts[name] False, its error in errors), success 0 when the facts could not be read."""
    start = time.monotonic()
    collected = {'top': cfg['top'], 'desired': cfg['desired'], 'profile': cfg['recommend'].get('profile'),
                 'breakdown': None, 'breakdown_skipped': None if cfg['breakdown'] else 'off', 'success': False,
                 'parts': {}, 'errors': []}

    def part(name, compute):
        try:
            value = compute()
            collected['parts'][name] = True
            return value
        except Exception as e:  # one part must not cost the others: reported per part
            collected['parts'][name] = False
            collected['errors'].append('%s: %s: %s' % (name, type(e).__name__, e))
            return None
    facts = part('facts', lambda: _gather.gather(root=root))
    collected['usage_threshold'] = cfg['usage_threshold']
    if facts:
        collected['facts'] = facts
        collected['success'] = True
        if facts.get('available') and cfg.get('history'):
            collected['health'] = part('history', lambda: record_history(cfg, facts, collected['errors'], root))
        if cfg['breakdown'] and facts.get('available'):
            if (facts.get('count') or 0) > cfg['breakdown_max_entries']:
                collected['breakdown_skipped'] = 'size'
            else:
                collected['breakdown'], collected['breakdown_skipped'] = guarded_breakdown(
                    cfg['top'], cfg['breakdown_timeout'], root)
        if cfg['desired']:
            collected['keys'] = part('drift', lambda: drift_keys(facts, cfg['desired'], cfg['files'], root))
        recommended = part('recommendation', lambda: recommendation(cfg, facts, root))
        collected['recommended_max'] = (recommended or {}).get('max')
        if cfg['users']:
            collected['can_disable'] = part('users', lambda: can_disable(facts, root))
    collected['duration'] = time.monotonic() - start
    collected['timestamp'] = now if now is not None else time.time()
    return collected


def record_history(cfg, facts, errors, root=''):
    """Add this run's sample to the host's history (history/file.py) and return the table's health
    since the previous sample of this boot (audit/health.py): the window the audit reads too. The
    first sample of a boot has no growth yet (never the counters since boot: a host that dropped
    weeks ago is not dropping now)."""
    boot = facts.get('boot') or {}
    sample = _health.sample(facts, boot.get('time') or time.time(), boot.get('id'))
    history, previous, warning = _history_file.record_full(Shim(), cfg['history'], sample, root)
    if warning:
        errors.append('history: %s' % warning)
    start, window = _health.baseline(previous, None, sample, boot.get('uptime'))
    if window['source'] != 'recorded':
        start, window = sample, {'source': 'sample', 'seconds': 0.0, 'since': sample['time'],
                                 'why': 'the first sample of this boot: no growth yet'}
    health = _health.evaluate(sample, start, window, cfg['usage_threshold'])
    horizon = cfg.get('forecast_horizon', _health.DEFAULT_FORECAST_HORIZON)
    forecast = _observed.forecast(history, sample['time'], facts.get('max'), horizon) if horizon else None
    return _health.with_forecast(health, forecast)


def recommendation(cfg, facts, root=''):
    """The recommendation the role computed, computed here again from this minute's facts (with the
    host's NAT rules, as conntrack_facts reads them for the role)."""
    shim = Shim()
    facts = dict(facts, nat=_users_host.nat(shim, _hostio.HostIO(shim, root), (facts.get('kernel') or {}).get('release')))
    result, error = _recommend_args.compute(dict(cfg['recommend']), facts, platform.node())
    if error:
        raise ValueError(error)
    return result['recommended']


def can_disable(facts, root):
    shim = Shim()
    observed = _users_host.gather(shim, _hostio.HostIO(shim, root), (facts.get('kernel') or {}).get('release'))
    return _users.analyze(observed)['can_disable']


def load_config(path):
    cfg = dict(DEFAULTS)
    with open(path) as f:
        cfg.update(json.load(f))
    return cfg


def write(cfg, text, root=''):
    path = os.path.join(root + cfg['dir'], OUTPUT)
    _files.atomic_write(Shim(), path, text)
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    config = argv[0] if argv else CONFIG
    try:
        cfg = load_config(config)
    except (IOError, OSError, ValueError) as e:
        sys.stderr.write('nfct-conntrack-metrics: cannot read %s: %s\n' % (config, e))
        return 2
    collected = collect(cfg)
    try:
        path = write(cfg, _metrics.render(collected))
    except (IOError, OSError) as e:
        sys.stderr.write('nfct-conntrack-metrics: cannot write into %s: %s\n' % (cfg['dir'], e))
        return 1
    for err in collected['errors']:
        sys.stderr.write('nfct-conntrack-metrics: %s\n' % err)
    if '--verbose' in argv:
        sys.stdout.write('%s: %.3f s, breakdown %s\n'
                         % (path, collected['duration'], collected['breakdown_skipped'] or 'done'))
    return 0 if collected['success'] else 1
