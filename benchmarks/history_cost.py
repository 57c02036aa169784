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
tests.

And the history read from Prometheus (issue 24: one request per host), on a real server
(Debian's prometheus, extracted by `make prometheus`, started here on a free localhost port and
stopped after) whose TSDB holds PROM_HOSTS hosts' node_exporter series over PROM_DAYS days
(backfilled with promtool from generated OpenMetrics):

  requests     ansible-playbook over the PROM_HOSTS hosts (local connection), conntrack_facts then
               conntrack_recommend with history_source prometheus: the query_range requests the
               server counted itself (prometheus_http_requests_total) during the run, per host
  time         the same playbook with history_source none, interleaved, PROM_ROUNDS each: the wall
               time the Prometheus history adds per host; and in process, the median of one
               host's read (history/prometheus.py reader(): the request, the answer parsed, the
               history built) next to the bare HTTP request of the same query

Part of `make bench` (bench.py); alone: .venv/bin/python benchmarks/history_cost.py
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
PROM_HOSTS = 10
PROM_DAYS = 30
PROM_EVERY = 300
PROM_ROUNDS = 3
PROM_READS = 20
NFCT_CACHE = os.environ.get('NFCT_CACHE') or os.path.expanduser('~/.cache/nfct-tuning')
PROM_PLAYBOOK = """
- name: The recommendation of every host, its history from Prometheus or none
  hosts: all
  gather_facts: false
  tasks:
    - name: The facts (no history file)
      nfct.tuning.conntrack_facts:
        history_path: ""
    - name: The recommendation
      nfct.tuning.conntrack_recommend:
        profile: default
        only_raise: false
        force: true
        sizing: auto
        history_source: "{{ source }}"
        prometheus_url: "{{ url if source == 'prometheus' else omit }}"
        prometheus_instance: "{{ inventory_hostname if source == 'prometheus' else omit }}"
      register: r
    - name: Check that the history came from Prometheus
      ansible.builtin.assert:
        that: r.history.source == 'prometheus' and r.history.fallback is none
        quiet: true
      when: source == 'prometheus'
"""


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


# --------------------------------------------------------------------------- Prometheus

def _tool(name):
    path = os.path.join(NFCT_CACHE, 'tools', name)
    if not os.access(path, os.X_OK):
        raise RuntimeError('%s not found in %s/tools: make prometheus extracts it' % (name, NFCT_CACHE))
    return path


def _openmetrics(hosts, end):
    """node_exporter's conntrack series of `hosts` over PROM_DAYS days, every PROM_EVERY s."""
    from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as prom
    lines = []
    first = end - PROM_DAYS * 86400
    for field, name, _fn in prom.FAMILIES['node_exporter']:
        lines.append('# TYPE %s gauge' % name)
        for n, host in enumerate(hosts):
            counter = 0
            for t in range(first, end, PROM_EVERY):
                phase = (t % 86400) / 86400.0
                counter += 300 * PROM_EVERY
                value = {'count': int(100000 + 60000 * (1 - abs(phase - 0.58) * 2) + 5000 * n),
                         'max': 262144}.get(field, counter // (1000 if field != 'insert' else 1))
                lines.append('%s{instance="%s:9100",job="node"} %d %d' % (name, host, value, t))
    lines.append('# EOF')
    return '\n'.join(lines) + '\n'


def _get(url):
    from urllib.request import urlopen
    return urlopen(url, timeout=30).read()


def _query_range_requests(url):
    """The query_range requests the server has answered: its own counter, read from its /metrics
    (prometheus_http_requests_total{handler="/api/v1/query_range"}, every status code)."""
    total = 0
    for line in _get(url + '/metrics').decode().splitlines():
        if line.startswith('prometheus_http_requests_total{') and 'handler="/api/v1/query_range"' in line:
            total += int(float(line.rsplit(' ', 1)[1]))
    return total


def _prometheus(tmp, hosts):
    """The server (tests/prometheus/promserver.py) on the hosts' backfilled series, ready."""
    sys.path.insert(0, os.path.join(REPO, 'tests', 'prometheus'))
    import promserver
    om, blocks = os.path.join(tmp, 'trace.om'), os.path.join(tmp, 'blocks')
    with open(om, 'w') as f:
        f.write(_openmetrics(hosts, int(time.time()) - 3600))
    os.makedirs(blocks)
    subprocess.run([_tool('promtool'), 'tsdb', 'create-blocks-from', 'openmetrics', '-q', om, blocks], check=True,
                   stdout=subprocess.DEVNULL)
    os.remove(om)
    server = promserver.Server(_tool('prometheus'), blocks, os.path.join(tmp, 'server'))
    return server.wait_ready(lambda: _get(server.url + '/-/ready'), timeout=60)


def _playbook(python, tmp, hosts, url, source):
    """Seconds of the recommendation playbook over the hosts."""
    inventory = os.path.join(tmp, 'hosts.ini')
    with open(inventory, 'w') as f:
        f.write('\n'.join(hosts) + '\n[all:vars]\nansible_connection=local\nansible_python_interpreter=%s\n'
                % python)
    book = os.path.join(tmp, 'recommend.yml')
    with open(book, 'w') as f:
        f.write(PROM_PLAYBOOK)
    bindir = os.path.dirname(os.path.abspath(python))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    t0 = time.perf_counter()
    out = subprocess.run([os.path.join(bindir, 'ansible-playbook'), '-i', inventory, '-f', str(len(hosts)),
                          '-e', json.dumps({'source': source, 'url': url}), book], env=env, cwd=tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError('the recommendation playbook (%s) failed: %s' % (source, out.stdout.decode()[-1500:]))
    return took


def prometheus_cost(python, log):
    """{'requests_per_host', 'runs', 'hosts', 'playbook': {...}, 'in_process': {...}, 'ok'}."""
    from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as prom
    hosts = ['h%02d' % i for i in range(1, PROM_HOSTS + 1)]
    tmp = tempfile.mkdtemp(prefix='nfct-prometheus-cost-')
    log('history cost: Prometheus with %d hosts x %d days (backfilled with promtool)' % (PROM_HOSTS, PROM_DAYS))
    server = _prometheus(tmp, hosts)
    try:
        counted, times = [], {'none': [], 'prometheus': []}
        for _round in range(PROM_ROUNDS):
            for source in ('none', 'prometheus'):
                before = _query_range_requests(server.url)
                times[source].append(_playbook(python, tmp, hosts, server.url, source))
                if source == 'prometheus':
                    counted.append(_query_range_requests(server.url) - before)
        reads, bare = [], []
        for k in range(PROM_READS):
            host = hosts[k % len(hosts)]
            req, _meta = prom.request(server.url, host)
            t0 = time.perf_counter()
            _get(req['url'])
            t1 = time.perf_counter()
            history, _meta, _why = prom.reader(server.url, host)
            t2 = time.perf_counter()
            if history is None:
                raise RuntimeError('no history from Prometheus for %s: %s' % (host, _why))
            bare.append(t1 - t0)
            reads.append(t2 - t1)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    per_host = [c / float(PROM_HOSTS) for c in counted]
    added = (statistics.median(times['prometheus']) - statistics.median(times['none'])) / PROM_HOSTS
    res = {'hosts': PROM_HOSTS, 'days': PROM_DAYS, 'requests_counted': counted,
           'requests_per_host': max(per_host),
           'playbook': {'none_s': round(statistics.median(times['none']), 2),
                        'prometheus_s': round(statistics.median(times['prometheus']), 2),
                        'added_ms_per_host': round(added * 1000.0, 1), 'rounds': PROM_ROUNDS},
           'in_process': {'bare_ms': _ms(bare), 'read_ms': _ms(reads),
                          'ratio': round(statistics.median(reads) / statistics.median(bare), 2), 'reads': PROM_READS}}
    res['ok'] = all(c == PROM_HOSTS for c in counted)
    return res


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
        'met' if res['in_process']['added_ms'] <= TARGET_MS else 'NOT MET', res['in_process']['added_ms'], TARGET_MS)]
    prom = res.get('prometheus')
    if prom and 'error' in prom:
        rows += ['', '## The history from Prometheus', '', 'Failed: `%s`' % prom['error'][:2000].replace('`', "'")]
    elif prom:
        pb, ip = prom['playbook'], prom['in_process']
        rows += ['', '## The history from Prometheus', '',
                 'A real Prometheus server holding %d hosts\' node_exporter series over %d days; conntrack_recommend '
                 'with history_source prometheus over the %d hosts (ansible-playbook, local connection), side by side '
                 'with history_source none (benchmarks/history_cost.py). Target: one request per host.' % (
                     prom['hosts'], prom['days'], prom['hosts']), '',
                 '| measured | value |', '|---|---|',
                 '| query_range requests the server counted, per run of %d hosts | %s |' % (
                     prom['hosts'], ', '.join(str(c) for c in prom['requests_counted'])),
                 '| requests per host | %g |' % prom['requests_per_host'],
                 '| playbook, history_source none / prometheus (median of %d) | %.2f s / %.2f s |' % (
                     pb['rounds'], pb['none_s'], pb['prometheus_s']),
                 '| added per host | %+.1f ms |' % pb['added_ms_per_host'],
                 '| one host\'s read in process (request, parsing, history; median of %d) | %.1f ms |' % (
                     ip['reads'], ip['read_ms']),
                 '| the bare HTTP request of the same query | %.1f ms (%.2fx) |' % (ip['bare_ms'], ip['ratio']),
                 '', 'Verdict: %s (%g request(s) per host, target 1).' % (
                     'met' if prom['ok'] else 'NOT MET', prom['requests_per_host'])]
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
    try:
        res['prometheus'] = prometheus_cost(python, log)
    except Exception as e:  # reported, the other results kept
        log('ERROR: the Prometheus part failed: %s' % e)
        res['prometheus'] = {'error': str(e), 'ok': False, 'requests_per_host': None}
    res['verdicts'] = [('reading the history adds <= %.0f ms to conntrack_facts' % TARGET_MS,
                        '%.2f ms' % res['in_process']['added_ms'], res['in_process']['added_ms'] <= TARGET_MS),
                       ('the history from Prometheus is one request per host',
                        '%s request(s) per host' % res['prometheus']['requests_per_host'], res['prometheus']['ok'])]
    res['ok'] = all(ok for _what, _got, ok in res['verdicts'])
    res['markdown'] = markdown(res)
    return res


def main(argv):
    """Alone (no root needed): the report on stdout; with --out DIR, also DIR/history-STAMP.json and
    .md, shaped as make bench's own results ({"history_cost": ...}), which benchmarks/record.yml can
    name as the run of record of this part."""
    import argparse
    import datetime
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--python', default=os.path.join(REPO, '.venv', 'bin', 'python'))
    p.add_argument('--out', help='folder for history-STAMP.json and .md (benchmarks/results)')
    opts = p.parse_args(argv)
    result = run(opts.python, log=lambda m: sys.stderr.write(m + '\n'))
    sys.stdout.write(result['markdown'])
    if opts.out:
        base = os.path.join(opts.out, 'history-%s' % datetime.datetime.utcnow().strftime('%Y%m%d-%H%M%S'))
        with open(base + '.json', 'w') as f:
            json.dump({'history_cost': dict((k, v) for k, v in result.items() if k != 'markdown')}, f, indent=1,
                      sort_keys=True)
        with open(base + '.md', 'w') as f:
            f.write(result['markdown'])
        sys.stderr.write('written: %s.json, .md\n' % base)
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
