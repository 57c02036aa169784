# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: conntrack_facts on large conntrack tables, side by side with the shell tools.

For each table shape (SHAPES: few keys, many ports from one source, distinct IPv4 sources,
distinct IPv6 sources, NAT) and size (100 000 and 1 000 000 entries by default) it creates a
throwaway network namespace, fills it (through ctnetlink, benchmarks/ctfill.py; the 'mixed'
shape also with a few thousand entries from real traffic, tests/netns/nsfill.py), checks that
the /proc and the ctnetlink breakdowns of the module are equal, then times in interleaved
hyperfine rounds (the seeds' tools and the old breakdown on the 'mixed' shape only):

  cat        cat /proc/net/nf_conntrack > /dev/null          (the kernel's cost of a full walk)
  awk        conntrack -L -o extended | awk '...'            (the seeds' per-state count)
  awk_all    the seeds' four pipelines for per-L3, per-L4, per-state counts and top sources
             (what an operator runs by hand for the information one breakdown returns)
  ctL        conntrack -L > /dev/null                        (conntrack-tools' dump)
  nl_floor   a ctnetlink dump received and not parsed          (the netlink dump floor)
  facts      conntrack_facts, default arguments              (no breakdown)
  facts0     the same in an EMPTY namespace                  (O(1) check; the module's start-up)
  py0        python -c pass                                  (the interpreter's start-up)
  bd_proc    conntrack_facts breakdown=true, /proc path
  bd_nl      conntrack_facts breakdown=true, ctnetlink path
  writer     the metrics writer (docs/monitoring.md): facts, breakdown behind its guard, drift,
             recommendation, users, the .prom file written

and the peak RSS of the module process with /usr/bin/time. Next to them, for each table: the
CPU reference (benchmarks/timeline.py: `for i in range(10000000): pass` at the top level of
`python -c`, the loop issue 23 named a slow machine by), the parser's own CPU time per entry
without the kernel's walk (timeline.py --parse-cost over a capture of the table), and from
those the estimated ratios on a machine whose reference is SLOW_REFERENCE seconds (the Python
part scaled, the kernel's walk kept; docs/benchmarks.md, "Slow CPUs"). The module runs the
way Ansible's AnsiballZ wrapper runs it on a host, minus the unzip: `python -m <module> ARGS.json`.

Writes benchmarks/results/bench-<UTC time>.md and .json (and latest.md). The global
nf_conntrack_max (initial namespace) is raised for the run and restored afterwards; every
namespace created is deleted, every process started is stopped. Root only.

Then (benchmarks/resize.py) the cost of a live resize of the hash table with 1M, 4M and 16M
entries, (benchmarks/report.py) the controller's cost of the audit report for 500 to 5,000
hosts, (benchmarks/fleet.py) the audit on fleets of containers, and (benchmarks/replay.py)
sizing from history and its forecast replayed on synthetic traces (issue 24; --no-replay skips it),
and (benchmarks/history_cost.py) what reading the host's history adds to conntrack_facts (target 5 ms).

Usage: bench.py [--sizes 100000,1000000] [--shapes mixed,ports,...] [--runs N] [--no-fleet] [--fleet-sizes 10,30] [--fleet-rounds N]
                [--no-resize] [--resize-sizes 1048576,4194304,16777216] [--no-replay]
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'netns'))
import nsfill  # noqa: E402  (throwaway namespaces, shared with tests/netns)
import timeline  # noqa: E402  (the CPU reference, the parser's cost per entry)

MAX_PATH = '/proc/sys/net/netfilter/nf_conntrack_max'
MODULE = 'ansible_collections.nfct.tuning.plugins.modules.conntrack_facts'
# relieve's decision in check mode (issue 23): its breakdown of a full table, next to `cat`
RELIEVE = 'ansible_collections.nfct.tuning.plugins.modules.conntrack_relieve'
RELIEVE_FROM = 1000000
SEEDS_AWK = "awk '/^.*tcp.*$/ {sum[$6]++} END {for(i in sum) print i, sum[i]}'"
# The seed articles' breakdown by hand (seeds/003): counts per L3 protocol, per L4 protocol and per
# TCP state, and the top sources, one conntrack dump each, one after the other. The breakdown
# returns all of that (and destinations and ports) from one walk. ($7 is the source only on lines
# with a state column, BRIEF.md; the pipeline is timed as the articles print it.)
SEEDS_ALL = ''.join(
    'conntrack -L -o extended 2>/dev/null | %s\n' % tail for tail in (
        "awk '{sum[$1]++} END {for(i in sum) print i, sum[i]}'",
        "awk '{sum[$3]++} END {for(i in sum) print i, sum[i]}'",
        SEEDS_AWK,
        "awk '{print $7}' | cut -d \"=\" -f 2 | sort | uniq -c | sort -nr | head -n 10",
    ))
MIB = 1024 * 1024
# The entry-by-entry breakdown the module used before the fast paths (still in the code:
# _gather.iter_proc_entries, _netlink.iter_entries, _breakdown.summarize), for comparison.
OLD_PROC = ('from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as b, gather as g; '
            "b.summarize(g.iter_proc_entries('/proc/net/nf_conntrack'))")
OLD_NL = ('from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as b, netlink as n; '
          'b.summarize(n.iter_entries())')
# The kernel's cost of a ctnetlink dump: receive every datagram of IPCTNL_MSG_CT_GET, parse nothing
# (the netlink counterpart of `cat`; stops at the NLMSG_DONE that ends the last datagram).
NL_FLOOR = ('import socket, struct; s = socket.socket(16, 3, 12); s.setsockopt(1, 33, 4 << 20); s.bind((0, 0)); '
            "s.send(struct.pack('=IHHIIBBH', 20, 0x101, 0x301, 1, 0, 0, 0, 0)); b = bytearray(262144); "
            "any(n >= 20 and struct.unpack_from('=IH', b, n - 20) == (20, 3) or struct.unpack_from('=H', b, 4)[0] == 2 "
            'for n in iter(lambda: s.recv_into(b), 0))')

# Targets of issues 5 and 16 (ratios from one run), for every table shape at the largest size.
TARGETS = {
    'bd_proc_vs_cat': 1.15,        # breakdown via /proc within 1.15x of cat
    'bd_nl_vs_floor': 1.10,        # breakdown via ctnetlink within 1.10x of the bare dump (nl_floor)
    'awk_vs_bd': 2.0,              # at least 2x faster than the seeds' pipeline (mixed shape)
    'rss_mib': 40,                 # peak RSS of the module and of the metrics writer
    'rss_growth_mib': 4,           # from the smallest size to the largest
    'facts_vs_empty': 1.2,         # default facts call: O(1) in the table size
    'writer_vs_bd_proc': 1.5,      # the metrics writer (breakdown, drift, users) next to facts+breakdown
    'slow_cpu_estimate': 1.3,      # issue 23: the estimated ratio to the walk where the reference is SLOW_REFERENCE s
}
# issue 23: a machine whose CPU reference (timeline.REFERENCE_LOOP) takes 2.65 s
SLOW_REFERENCE = 2.65
# The table shapes (benchmarks/ctfill.py --shape), in the order they run.
SHAPES = ('mixed', 'ports', 'sources4', 'sources6', 'nat')
SHAPE_TEXT = {
    'mixed': 'few keys: 60 % UDP, 28 % TCP in eight states, 6 % ICMP, 6 % IPv6 from fixed pools (17,424 sources, '
             '4,352 destinations, ~60 ports), the same diversity at every size; a few thousand entries from real '
             'traffic',
    'ports': 'many ports from one source: 10.9.0.1 to 249 destinations x ~4,000 ports each (~124,000 distinct '
             '(protocol, port) keys at 1M), 9 in 10 UDP unreplied, 1 in 10 TCP SYN_SENT: a resolver or a crawler',
    'sources4': 'every entry from another IPv4 source, to one UDP port: a busy server, or a flood',
    'sources6': 'every entry from another IPv6 source (fd00:1::/64), to one UDP port',
    'nat': 'a NAT gateway: 4,096 inside clients to 131,072 outside addresses, TCP 443 / 80 ESTABLISHED and '
           'UDP 53; the reply tuple goes to one of 16 public addresses and a mapped port (not back to the '
           'client)',
}
# the metrics writer's run (docs/monitoring.md), its config and output in the bench's folder
WRITER = ('from ansible_collections.nfct.tuning.plugins.module_utils.metrics import writer as _metrics_writer; '
          'import sys; sys.exit(_metrics_writer.main([sys.argv[1]]))')


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


class GlobalMax(object):
    """Raise the initial namespace's nf_conntrack_max for the run; restore it on exit,
    unless something else changed it meanwhile (other work on a shared machine)."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.saved = None
        self.set_to = None

    def __enter__(self):
        self.saved = read_int(MAX_PATH)
        if self.wanted > self.saved:
            with open(MAX_PATH, 'w') as f:
                f.write('%d\n' % self.wanted)
            self.set_to = self.wanted
            log('nf_conntrack_max %d -> %d (restored at the end)' % (self.saved, self.wanted))
        return self

    def __exit__(self, *exc):
        if self.set_to is None:
            return False
        now = read_int(MAX_PATH)
        if now == self.set_to:
            with open(MAX_PATH, 'w') as f:
                f.write('%d\n' % self.saved)
            log('nf_conntrack_max restored to %d' % self.saved)
        else:
            log('WARNING: nf_conntrack_max is %d, not the %d we set: left alone (saved value was %d)'
                % (now, self.set_to, self.saved))
        return False


def fill(ns, n, python, shape):
    """The mixed shape: real traffic for a few thousand entries (TCP ESTABLISHED/TIME_WAIT/SYN_SENT,
    UDP, ICMP, IPv6), then ctnetlink-created entries up to n. The other shapes: ctnetlink only
    (a few entries from the filler's own traffic aside)."""
    t0 = time.time()
    if shape == 'mixed':
        ns.fill(udp=1000, tcp_est=200, tcp_tw=200, syn=100, icmp=20, udp6=50, python=python)
    have = ns.count()
    out = nsfill.ns_exec(ns.name, [python, os.path.join(HERE, 'ctfill.py'), str(n - have), '--shape', shape],
                         stdout=subprocess.PIPE).stdout
    res = json.loads(out.decode().strip().splitlines()[-1])
    count = ns.wait_stable()
    if res['errors'] or count != n:
        raise RuntimeError('fill of %s: wanted %d entries, have %d (kernel errors: %s)'
                           % (ns.name, n, count, res['errors']))
    log('%s: %d entries of shape %s in %.1f s (%d from traffic, %d via ctnetlink)'
        % (ns.name, count, shape, time.time() - t0, have, n - have))
    return {'entries': count, 'from_traffic': have, 'via_ctnetlink': n - have,
            'seconds': round(time.time() - t0, 1)}


def module_cmd(ns, python, args_file):
    return 'ip netns exec %s %s -m %s %s' % (ns, python, MODULE, args_file)


def run_module(ns, python, args_file, env):
    out = subprocess.run(['ip', 'netns', 'exec', ns, python, '-m', MODULE, args_file], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise RuntimeError('module failed in %s: %s %s' % (ns, out.stdout[-2000:], out.stderr[-2000:]))
    return json.loads(out.stdout.decode())['ansible_facts']['conntrack']


def equality(ns, python, args, env):
    """The /proc and the ctnetlink breakdowns of the same (frozen) table must be equal, also
    where the counters were pruned (they are checked at fixed entry numbers)."""
    proc = run_module(ns, python, args['bd_proc'], env)
    nl = run_module(ns, python, args['bd_nl'], env)
    bp, bn = dict(proc['breakdown']), dict(nl['breakdown'])
    sources = (bp.pop('source'), bn.pop('source'))
    diff = sorted(k for k in set(bp) | set(bn) if bp.get(k) != bn.get(k))
    return {'equal': not diff and sources == ('procfs', 'ctnetlink'), 'differs_in': diff,
            'total': bp.get('total'), 'count': proc['count'], 'top_exact': bp.get('top_exact'),
            'breakdown': bp}


def hyperfine(cmds, rounds, env, json_path):
    """Time every command rounds times, interleaved: one hyperfine call per round runs each
    command once (the first round after a warm-up run of each), so that a change in the
    machine's load during the run hits every command alike (other work shares the machine)."""
    per = dict((name, {'times': [], 'user': [], 'system': []}) for name, _c in cmds)
    for r in range(rounds):
        argv = ['hyperfine', '--style', 'none', '--runs', '1', '--warmup', '1' if r == 0 else '0',
                '--export-json', json_path]
        for name, cmd in cmds:
            argv += ['--command-name', name, cmd]
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(json_path) as f:
            data = json.load(f)
        for res in data['results']:
            p = per[res['command']]
            p['times'] += res['times']
            p['user'].append(res['user'])
            p['system'].append(res['system'])
        log('round %d/%d: %s' % (r + 1, rounds, ', '.join(
            '%s %.2f' % (name, per[name]['times'][-1]) for name, _c in cmds)))
    out = {}
    for name, p in per.items():
        t = p['times']
        out[name] = {
            'median': statistics.median(t), 'mean': statistics.mean(t),
            'stddev': statistics.stdev(t) if len(t) > 1 else None,
            'min': min(t), 'max': max(t), 'user': statistics.median(p['user']),
            'system': statistics.median(p['system']), 'runs': len(t), 'times': t,
        }
    return out


def peak_rss(cmd, env, runs=3):
    """(max peak RSS in KiB, median wall s) over runs of cmd under /usr/bin/time."""
    rss, wall = [], []
    for _i in range(runs):
        with tempfile.NamedTemporaryFile('r', suffix='.time') as tf:
            subprocess.run(['/usr/bin/time', '-f', '%M %e', '-o', tf.name, 'sh', '-c', cmd + ' > /dev/null'],
                           check=True, env=env)
            kib, sec = tf.read().split()[-2:]
        rss.append(int(kib))
        wall.append(float(sec))
    return {'peak_kib': max(rss), 'all_kib': rss, 'wall_median': statistics.median(wall)}


def machine():
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(':', 1)[1].strip()
        except (IOError, OSError):
            pass
        return None

    def version(cmd):
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 universal_newlines=True, check=False).stdout
            return out.strip().splitlines()[0] if out.strip() else None
        except OSError:
            return None
    return {
        'kernel': platform.release(),
        'cpu': first('/proc/cpuinfo', 'model name'),
        'cpus': os.cpu_count(),
        'mem': first('/proc/meminfo', 'MemTotal'),
        'os': version(['sh', '-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
        'python_module': None,
        'hyperfine': version(['hyperfine', '--version']),
        'conntrack': version(['conntrack', '--version']),
        'awk': version(['sh', '-c', 'awk -W version 2>&1 || awk --version']),
        'buckets': read_int('/proc/sys/net/netfilter/nf_conntrack_buckets'),
    }


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def bench_tables(opts, env, tmp):
    python = opts.python
    args = {}
    for name, a in (('facts', {}), ('bd_proc', {'breakdown': True, 'breakdown_source': 'procfs'}),
                    ('bd_nl', {'breakdown': True, 'breakdown_source': 'ctnetlink'})):
        path = os.path.join(tmp, name + '.json')
        with open(path, 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': a}, f)
        args[name] = path
    args['relieve'] = os.path.join(tmp, 'relieve.json')
    with open(args['relieve'], 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': {'_ansible_check_mode': True,
                                           'history_path': os.path.join(tmp, 'no-history.json')}}, f)
    writer_cfg = os.path.join(tmp, 'metrics.json')
    with open(writer_cfg, 'w') as f:
        json.dump({'dir': os.path.join(tmp, 'metrics'), 'breakdown_timeout': 300,
                   'desired': {'udp_timeout': 600}, 'recommend': {'profile': 'default'}}, f)
    seeds_all = os.path.join(tmp, 'seeds-all.sh')
    with open(seeds_all, 'w') as f:
        f.write(SEEDS_ALL)

    def writer(ns):
        return 'ip netns exec %s %s -c "%s" %s' % (ns, python, WRITER, writer_cfg)
    results = {'tables': {}}
    empty = nsfill.Netns(prefix='nfct-bench-empty')
    try:
        for shape in opts.shapes:
            for n in opts.sizes:
                ns = nsfill.Netns(prefix='nfct-bench')
                try:
                    size = results['tables'].setdefault(shape, {})[str(n)] = {'fill': fill(ns, n, python, shape)}
                    log('%s %d: equality of the /proc and ctnetlink breakdowns' % (shape, n))
                    eq = equality(ns.name, python, args, env)
                    size['equality'] = dict((k, v) for k, v in eq.items() if k != 'breakdown')
                    size['breakdown'] = eq['breakdown']
                    if not eq['equal']:
                        log('ERROR: /proc and ctnetlink breakdowns differ (%s, %d) in %s' % (shape, n, eq['differs_in']))
                    log('%s %d: the parser alone, over a capture of the table (timeline.py --parse-cost)' % (shape, n))
                    size['parse'] = parse_cost(ns.name, python, env, tmp)
                    cmds = [
                        ('cat', 'ip netns exec %s cat /proc/net/nf_conntrack > /dev/null' % ns.name),
                        ('nl_floor', 'ip netns exec %s %s -c "%s"' % (ns.name, python, NL_FLOOR)),
                        ('bd_proc', module_cmd(ns.name, python, args['bd_proc']) + ' > /dev/null'),
                        ('bd_nl', module_cmd(ns.name, python, args['bd_nl']) + ' > /dev/null'),
                        ('facts', module_cmd(ns.name, python, args['facts']) + ' > /dev/null'),
                        ('writer', writer(ns.name)),
                        ('facts0', module_cmd(empty.name, python, args['facts']) + ' > /dev/null'),
                        ('py0', 'ip netns exec %s %s -c pass' % (empty.name, python)),
                    ]
                    if n >= RELIEVE_FROM:
                        cmds.append(('relieve', 'ip netns exec %s %s -m %s %s > /dev/null'
                                     % (ns.name, python, RELIEVE, args['relieve'])))
                    if shape == 'mixed':
                        # the tools operators use by hand and the entry-by-entry breakdown of
                        # before: on the shape of the earlier runs
                        cmds += [
                            ('awk', 'ip netns exec %s conntrack -L -o extended 2>/dev/null | %s > /dev/null'
                             % (ns.name, SEEDS_AWK)),
                            ('awk_all', 'ip netns exec %s sh %s > /dev/null' % (ns.name, seeds_all)),
                            ('ctL', 'ip netns exec %s conntrack -L > /dev/null 2>&1' % ns.name),
                            ('old_proc', 'ip netns exec %s %s -c "%s"' % (ns.name, python, OLD_PROC)),
                            ('old_nl', 'ip netns exec %s %s -c "%s"' % (ns.name, python, OLD_NL)),
                        ]
                    runs = opts.runs or (10 if n <= 200000 else 7)
                    size['load_before'] = loadavg()
                    size['cpu_reference'] = timeline.cpu_reference(python, 3)
                    log('%s %d: %d interleaved rounds of %d commands' % (shape, n, runs, len(cmds)))
                    size['times'] = hyperfine(cmds, runs, env, os.path.join(tmp, 'hf-%s-%d.json' % (shape, n)))
                    size['load_after'] = loadavg()
                    size['commands'] = dict(cmds)
                    log('%s %d: peak RSS of the module and the writer (/usr/bin/time, 3 runs each)' % (shape, n))
                    size['rss'] = dict((name, peak_rss(module_cmd(ns.name, python, args[name]), env))
                                       for name in ('facts', 'bd_proc', 'bd_nl'))
                    size['rss']['writer'] = peak_rss(writer(ns.name), env)
                    size['writer_file'] = writer_check(os.path.join(tmp, 'metrics', 'nfct_conntrack.prom'))
                finally:
                    ns.remove()
    finally:
        empty.remove()
    return results


def parse_cost(ns, python, env, tmp):
    """The parser's CPU time over a capture of the table of ns (/proc text and one ctnetlink dump,
    written to tmp and removed after): timeline.parse_cost()'s dict."""
    proc, dump = os.path.join(tmp, 'table.proc'), os.path.join(tmp, 'table.nl')
    script = os.path.join(HERE, 'timeline.py')
    try:
        nsfill.ns_exec(ns, ['sh', '-c', 'cat /proc/net/nf_conntrack > %s' % proc])
        nsfill.ns_exec(ns, [python, script, '--capture-netlink', dump], env=env)
        out = json.loads(sh([python, script, '--parse-cost', proc, dump, '3'], env=env).stdout)
    finally:
        for path in (proc, dump, dump + '.idx'):
            if os.path.exists(path):
                os.unlink(path)
    log('parser: %.3f us/entry (/proc), %.3f (ctnetlink), %d entries, results %s'
        % (out['procfs']['us_per_entry'], out['ctnetlink']['us_per_entry'], out['entries'],
           'equal' if out['equal'] else 'DIFFERENT'))
    return out


def slow_cpu(t, parse, ref):
    """The model of a breakdown's time and its estimate on a slower CPU, from one table's
    medians t, its parse cost and the CPU reference ref (seconds) of this machine.

    The module's time = its fixed Python part F (facts0: start-up, imports, the O(1) facts,
    the answer, exit) + max(the kernel's walk W, the parser P): the reader process walks on
    one CPU while the module parses on the other. W is `cat` for /proc and the bare dump less
    a Python start (py0) for ctnetlink. On a machine whose reference is SLOW_REFERENCE s every
    Python part is scaled by k = SLOW_REFERENCE / ref (F, P, and the py0 of the bare dump) and
    the walk is kept."""
    k = SLOW_REFERENCE / ref
    n = max(parse['entries'], 1)
    f, py0 = t['facts0'], t['py0']
    walks = {'proc': (t['cat'], 0.0), 'nl': (max(t['nl_floor'] - py0, 0.0), py0)}
    out = {'reference_s': ref, 'scale': k, 'parser_us': {}, 'model_here': {}, 'slow': {}, 'slow_free_parser': {},
           'slow_parser_budget_us': {}}
    for name, source in (('proc', 'procfs'), ('nl', 'ctnetlink')):
        w, start = walks[name]
        p = parse[source]['best_s']
        out['parser_us'][name] = p / n * 1e6
        out['model_here'][name] = (f + max(w, p)) / (w + start)
        out['slow'][name] = (k * f + max(w, k * p)) / (w + k * start)
        out['slow_free_parser'][name] = (k * f + w) / (w + k * start)
        out['slow_parser_budget_us'][name] = w / k / n * 1e6
    return out


def writer_check(path):
    """What the writer's last bench run wrote: its entries and whether the breakdown ran."""
    out = {}
    with open(path) as f:
        for line in f:
            for name in ('nfct_conntrack_entries ', 'nfct_conntrack_breakdown_skipped{', 'nfct_conntrack_collector_success '):
                if line.startswith(name):
                    out[name.strip(' {')] = line.split()[-1]
    return out


def ratios(res):
    """Per shape and size: ratios of medians (and of the fastest rounds, 'best')."""
    out = {}
    for shape, sizes in res['tables'].items():
        for n, s in sizes.items():
            t = dict((k, v['median']) for k, v in s['times'].items())
            b = dict((k, v['min']) for k, v in s['times'].items())
            # the module's own start-up (Python, Ansible's basic, our imports, the O(1) facts):
            # facts0 less a bare Python start (nl_floor starts Python too, cat does not)
            start = max(t['facts0'] - t['py0'], 0.0)
            r = {
                'bd_proc_vs_cat': t['bd_proc'] / t['cat'],
                'bd_nl_vs_floor': t['bd_nl'] / t['nl_floor'],
                'facts_vs_empty': t['facts'] / t['facts0'],
                'writer_vs_bd_proc': t['writer'] / t['bd_proc'],
                # what the module adds over the unavoidable: the walk plus the module's start-up
                'start_s': start,
                'bd_proc_vs_module_floor': t['bd_proc'] / (t['cat'] + start + t['py0']),
                'bd_nl_vs_module_floor': t['bd_nl'] / (t['nl_floor'] + start),
                'rss_bd_proc_mib': s['rss']['bd_proc']['peak_kib'] / 1024.0,
                'rss_bd_nl_mib': s['rss']['bd_nl']['peak_kib'] / 1024.0,
                'rss_facts_mib': s['rss']['facts']['peak_kib'] / 1024.0,
                'rss_writer_mib': s['rss']['writer']['peak_kib'] / 1024.0,
                'best': {'bd_proc_vs_cat': b['bd_proc'] / b['cat'], 'bd_nl_vs_floor': b['bd_nl'] / b['nl_floor'],
                         'facts_vs_empty': b['facts'] / b['facts0'], 'writer_vs_bd_proc': b['writer'] / b['bd_proc']},
            }
            if 'relieve' in t:
                r['relieve_vs_cat'] = t['relieve'] / t['cat']
                r['relieve_s'] = t['relieve']
            if s.get('parse') and s.get('cpu_reference'):
                r['slow_cpu'] = slow_cpu(t, s['parse'], s['cpu_reference']['median'])
            if shape == 'mixed':
                r.update({
                    'bd_nl_vs_ctL': t['bd_nl'] / t['ctL'],
                    'awk_vs_bd_proc': t['awk'] / t['bd_proc'],
                    'awk_vs_bd_nl': t['awk'] / t['bd_nl'],
                    'old_vs_bd_proc': t['old_proc'] / t['bd_proc'],
                    'old_vs_bd_nl': t['old_nl'] / t['bd_nl'],
                    # the most any breakdown could reach against the seeds' pipeline: the pipeline
                    # over the kernel's walk alone (a breakdown that cost nothing on top of the walk)
                    'awk_vs_cat': t['awk'] / t['cat'],
                    'awk_vs_nl_floor': t['awk'] / t['nl_floor'],
                    'awk_all_vs_bd_proc': t['awk_all'] / t['bd_proc'],
                    'awk_all_vs_bd_nl': t['awk_all'] / t['bd_nl'],
                })
                r['best'].update({'awk_vs_bd_proc': b['awk'] / b['bd_proc'], 'awk_vs_bd_nl': b['awk'] / b['bd_nl']})
            out.setdefault(shape, {})[n] = r
    return out


def verdicts(res, rat):
    """[(target text, measured text, ok)]: per shape at the largest size (time, memory, its growth
    from the smallest size, the writer, equality at every size), the seeds' pipeline on 'mixed'."""
    v = []
    for shape in res['tables']:
        keys = sorted(res['tables'][shape], key=int)
        big, small = keys[-1], keys[0]
        r = rat[shape][big]

        def x(name):
            return '%.2fx (best rounds %.2fx)' % (r[name], r['best'][name])
        v.append(('%s, %s: breakdown via /proc <= %.2fx `cat`' % (shape, big, TARGETS['bd_proc_vs_cat']),
                  x('bd_proc_vs_cat') + '; over `cat` + the module\'s start-up %.2fx' % r['bd_proc_vs_module_floor'],
                  r['bd_proc_vs_cat'] <= TARGETS['bd_proc_vs_cat']))
        v.append(('%s, %s: breakdown via ctnetlink <= %.2fx the bare dump' % (shape, big, TARGETS['bd_nl_vs_floor']),
                  x('bd_nl_vs_floor') + '; over the dump + the module\'s start-up (%.2f s) %.2fx'
                  % (r['start_s'], r['bd_nl_vs_module_floor']),
                  r['bd_nl_vs_floor'] <= TARGETS['bd_nl_vs_floor']))
        rss = max(r['rss_bd_proc_mib'], r['rss_bd_nl_mib'], r['rss_writer_mib'])
        v.append(('%s, %s: peak RSS of the module and the writer <= %d MiB' % (shape, big, TARGETS['rss_mib']),
                  '%.1f MiB (/proc), %.1f (ctnetlink), %.1f (writer)'
                  % (r['rss_bd_proc_mib'], r['rss_bd_nl_mib'], r['rss_writer_mib']), rss <= TARGETS['rss_mib']))
        if big != small:
            s0 = rat[shape][small]
            g = max(r[k] - s0[k] for k in ('rss_bd_proc_mib', 'rss_bd_nl_mib', 'rss_writer_mib'))
            v.append(('%s: peak RSS grows <= %d MiB from %s to %s' % (shape, TARGETS['rss_growth_mib'], small, big),
                      '%+.1f MiB' % g, g <= TARGETS['rss_growth_mib']))
        v.append(('%s, %s: default facts call <= %.1fx its time on an empty table' % (shape, big, TARGETS['facts_vs_empty']),
                  x('facts_vs_empty'), r['facts_vs_empty'] <= TARGETS['facts_vs_empty']))
        sc = r.get('slow_cpu')
        if sc:
            v.append(('%s, %s: estimated breakdown / walk on a CPU whose reference takes %.2f s <= %.1fx (issue 23)'
                      % (shape, big, SLOW_REFERENCE, TARGETS['slow_cpu_estimate']), slow_text(sc),
                      max(sc['slow'].values()) <= TARGETS['slow_cpu_estimate']))
        if 'relieve_vs_cat' in r:
            v.append(('%s, %s: relieve --check (its breakdown of the full table), reported next to `cat` (issue 23)'
                      % (shape, big), '%.2f s, %.2fx `cat` (%.2f s)' % (r['relieve_s'], r['relieve_vs_cat'],
                                                                        res['tables'][shape][big]['times']['cat']['median']),
                      True))
        wf = res['tables'][shape][big].get('writer_file') or {}
        v.append(('%s, %s: metrics writer <= %.1fx the facts module with breakdown, breakdown not skipped'
                  % (shape, big, TARGETS['writer_vs_bd_proc']),
                  '%s; breakdown_skipped %s, entries %s' % (x('writer_vs_bd_proc'), wf.get('nfct_conntrack_breakdown_skipped'),
                                                            wf.get('nfct_conntrack_entries')),
                  r['writer_vs_bd_proc'] <= TARGETS['writer_vs_bd_proc'] and wf.get('nfct_conntrack_breakdown_skipped') == '0'))
        for n in keys:
            eq = res['tables'][shape][n]['equality']
            v.append(('%s, %s: /proc and ctnetlink breakdowns equal' % (shape, n),
                      ('equal (%d entries, top_exact %s)' % (eq['total'], eq['top_exact'])) if eq['equal']
                      else 'DIFFER in %s' % ', '.join(eq['differs_in']), eq['equal']))
    if 'mixed' in rat:
        big = sorted(rat['mixed'], key=int)[-1]
        r = rat['mixed'][big]
        v.append(('mixed, %s: breakdown via /proc >= %.0fx faster than the seeds\' awk' % (big, TARGETS['awk_vs_bd']),
                  '%.2fx (best rounds %.2fx); ceiling: awk / cat = %.2fx' % (
                      r['awk_vs_bd_proc'], r['best']['awk_vs_bd_proc'], r['awk_vs_cat']),
                  r['awk_vs_bd_proc'] >= TARGETS['awk_vs_bd']))
        v.append(('mixed, %s: breakdown via ctnetlink >= %.0fx faster than the seeds\' awk' % (big, TARGETS['awk_vs_bd']),
                  '%.2fx (best rounds %.2fx); ceiling: awk / bare dump = %.2fx' % (
                      r['awk_vs_bd_nl'], r['best']['awk_vs_bd_nl'], r['awk_vs_nl_floor']),
                  r['awk_vs_bd_nl'] >= TARGETS['awk_vs_bd']))
    return v


def slow_text(sc):
    """The slow-CPU estimate of one table (slow_cpu()) in words."""
    return ('/proc %.2fx, ctnetlink %.2fx (Python x%.1f: reference %.3f s here; parser %.3f / %.3f us per entry, '
            'the walk stays the floor below %.3f / %.3f; with a parser that cost nothing %.2fx / %.2fx)'
            % (sc['slow']['proc'], sc['slow']['nl'], sc['scale'], sc['reference_s'], sc['parser_us']['proc'],
               sc['parser_us']['nl'], sc['slow_parser_budget_us']['proc'], sc['slow_parser_budget_us']['nl'],
               sc['slow_free_parser']['proc'], sc['slow_free_parser']['nl']))


def fmt_s(x):
    return '%.3f' % x if x < 10 else '%.2f' % x


def report(res, rat, opts, started, fleet=None, audit_report=None):
    m = res['machine']
    L = []
    a = L.append
    a('# `make bench` report, %s' % started)
    a('')
    a('Machine: %s, %s CPUs (%s), %s, kernel %s; nf_conntrack_buckets %s (the initial namespace\'s, shared).'
      % (m['os'], m['cpus'], m['cpu'], m['mem'], m['kernel'], m['buckets']))
    a('Tools: %s; %s; %s; module run by %s with ansible-core %s.'
      % (m['hyperfine'], m['conntrack'], m['awk'], m['python_module'], m['ansible_core']))
    ref = m.get('cpu_reference')
    if ref:
        a('CPU reference (`%s`, the top level of `python -c`, a fresh interpreter each run; issue 23\'s slow machine: '
          '%.2f s): median %.3f s of CPU, min %.3f s over %d runs at the start (wall clock %s s); next to each '
          'table below.' % (timeline.REFERENCE_LOOP, SLOW_REFERENCE, ref['median'], ref['min'], len(ref['wall']),
                            ', '.join('%.3f' % w for w in ref['wall'])))
    a('')
    a('Table shapes (benchmarks/ctfill.py `--shape`, one network namespace each):')
    a('')
    for shape in res['tables']:
        a('- `%s`: %s' % (shape, SHAPE_TEXT[shape]))
    a('')
    a('## Verdicts (ratios of medians from this one run)')
    a('')
    a('"best rounds": the same ratio from each command\'s fastest round, the one least disturbed by other work '
      'on the machine; the verdicts use the medians. "ceiling": the seeds\' pipeline over the kernel\'s '
      'walk alone (`cat`, the bare dump `nl_floor`), the ratio a breakdown that cost nothing on top of '
      'the walk would reach; where it is below the target, no breakdown can meet it on this machine '
      '(docs/benchmarks.md, "Floors").')
    a('')
    a('| target | measured | met |')
    a('|---|---|---|')
    for t, meas, ok in verdicts(res, rat):
        a('| %s | %s | %s |' % (t, meas, 'yes' if ok else '**NO**'))
    for part in (fleet, audit_report):
        for t, meas, ok in (part or {}).get('verdicts', []):
            a('| %s | %s | %s |' % (t, meas, 'yes' if ok else '**NO**'))
    a('')
    for shape, sizes in res['tables'].items():
        for n, s in sorted(sizes.items(), key=lambda kv: int(kv[0])):
            r = rat[shape][n]
            a('## %s, %s entries' % (shape, '{:,}'.format(int(n)).replace(',', ' ')))
            a('')
            f = s['fill']
            bd = s['breakdown']
            a('Table (%s): %d entries (%d from real traffic, %d created through ctnetlink by benchmarks/ctfill.py '
              '`--shape %s` in %.0f s); l3 %s; l4 %s; TCP states %s; %d ASSURED, %d UNREPLIED. Top lists: exact %s, '
              'error bounds %s.'
              % (SHAPE_TEXT[shape], f['entries'], f['from_traffic'], f['via_ctnetlink'], shape, f['seconds'],
                 json.dumps(bd['l3'], sort_keys=True), json.dumps(bd['l4'], sort_keys=True),
                 json.dumps(bd['tcp_states'], sort_keys=True), bd['assured'], bd['unreplied'], bd['top_exact'],
                 json.dumps(bd.get('top_errors'), sort_keys=True)))
            a('')
            a('Times over %d interleaved rounds (load average before / after: %s / %s):'
              % (s['times']['cat']['runs'], s['load_before'], s['load_after']))
            a('')
            a('| command | median s | mean ± sd s | min–max s | user s | sys s | peak RSS MiB |')
            a('|---|---|---|---|---|---|---|')
            for name in ('cat', 'nl_floor', 'awk', 'awk_all', 'ctL', 'bd_proc', 'bd_nl', 'facts', 'facts0', 'py0',
                         'writer', 'old_proc', 'old_nl'):
                t = s['times'].get(name)
                if t is None:
                    continue
                rss = s['rss'].get(name)
                a('| `%s` | %s | %s ± %s | %s–%s | %.2f | %.2f | %s |' % (
                    name, fmt_s(t['median']), fmt_s(t['mean']), fmt_s(t['stddev'] or 0), fmt_s(t['min']),
                    fmt_s(t['max']), t['user'], t['system'], '%.1f' % (rss['peak_kib'] / 1024.0) if rss else ''))
            a('')
            line = ('Ratios (CPU reference %s): breakdown / `cat` %.2f (/proc); breakdown / bare dump %.2f (ctnetlink); the module\'s '
                    'start-up (`facts0` - `py0`) %.3f s, breakdown / (walk + start-up) %.2f (/proc), %.2f (ctnetlink); '
                    'default facts here / empty table %.2f; writer / breakdown %.2f.'
                    % ('%.3f s' % s['cpu_reference']['median'] if s.get('cpu_reference') else 'not measured',
                       r['bd_proc_vs_cat'], r['bd_nl_vs_floor'], r['start_s'], r['bd_proc_vs_module_floor'],
                       r['bd_nl_vs_module_floor'], r['facts_vs_empty'], r['writer_vs_bd_proc']))
            if shape == 'mixed':
                line += (' Breakdown via ctnetlink / `conntrack -L` %.2f; the seeds\' awk / breakdown %.2f (/proc), %.2f '
                         '(ctnetlink); the entry-by-entry breakdown (before the fast paths) / the module\'s %.2f (/proc), '
                         '%.2f (ctnetlink); the seeds\' breakdown by hand (`awk_all`) / the module\'s %.2f (/proc), %.2f '
                         '(ctnetlink).' % (r['bd_nl_vs_ctL'], r['awk_vs_bd_proc'], r['awk_vs_bd_nl'], r['old_vs_bd_proc'],
                                           r['old_vs_bd_nl'], r['awk_all_vs_bd_proc'], r['awk_all_vs_bd_nl']))
            a(line)
            sc = r.get('slow_cpu')
            if sc:
                a('')
                a('Slow CPUs: CPU reference %.3f s (median of %d, load %s); the parser alone (Python CPU time per entry, '
                  'without the kernel\'s walk, best of 3) %.3f us (/proc), %.3f us (ctnetlink); the model here, '
                  '(facts0 + max(walk, parser)) / walk, %.2f (/proc, measured %.2f), %.2f (ctnetlink, measured %.2f). '
                  'Estimated on a machine whose reference takes %.2f s: %s.'
                  % (s['cpu_reference']['median'], len(s['cpu_reference']['wall']), s['load_before'],
                     sc['parser_us']['proc'], sc['parser_us']['nl'], sc['model_here']['proc'], r['bd_proc_vs_cat'],
                     sc['model_here']['nl'], r['bd_nl_vs_floor'], SLOW_REFERENCE, slow_text(sc)))
            eq = s['equality']
            a('Equality: the /proc and ctnetlink breakdowns of this table are %s (%d entries, nf_conntrack_count %d).'
              % ('**equal**' if eq['equal'] else '**different** in ' + ', '.join(eq['differs_in']), eq['total'], eq['count']))
            a('')
    if fleet:
        a(fleet['markdown'])
        a('')
    if audit_report:
        a(audit_report['markdown'])
        a('')
    a('## Commands')
    a('')
    a('Every command ran through hyperfine from the initial namespace, wrapped in `ip netns exec NS` (the same '
      'wrapper for every command), in interleaved rounds: each round is one hyperfine call that runs every command '
      'once (the first round after one warm-up run of each), so that changes in the machine\'s load hit all '
      'commands alike; medians over the rounds. user/sys: medians of the CPU time of each command with its '
      'children. `nl_floor` receives a whole ctnetlink dump and parses nothing (the kernel\'s cost of the '
      'dump, as `cat` is for /proc). `facts0` is the default facts call in an empty namespace with conntrack '
      'active. `old_proc` and '
      '`old_nl` are the entry-by-entry breakdown the module used before the fast paths (summarize() over '
      'iter_proc_entries() and iter_entries(), still in the code), in a plain Python process without the '
      'module\'s Ansible imports (about 0.1 s less start-up). Peak RSS: '
      '/usr/bin/time `%M`, the largest of 3 runs; it covers the module and its reader child process (wait4 '
      'reports the larger of the two). `awk_all` is the seed articles\' breakdown by hand: their pipelines for '
      'the counts per L3 protocol, per L4 protocol and per TCP state and for the top sources, one '
      '`conntrack -L -o extended` each, run one after the other by the script below (the module\'s breakdown '
      'returns all of that, and the top destinations and ports, from one walk).')
    a('')
    a('```sh')
    a(SEEDS_ALL.rstrip('\n'))
    a('```')
    a('')
    s = res['tables']['mixed' if 'mixed' in res['tables'] else list(res['tables'])[0]]
    s = s[sorted(s, key=int)[-1]]
    for name, cmd in s['commands'].items():
        a('- `%s`: `%s`' % (name, cmd))
    a('')
    a('## Reproduce')
    a('')
    a('```console')
    a('make bench                                  # as root: setup, both sizes, fleet, this report')
    a('make bench BENCH_FLEET=0 BENCH_ARGS="--sizes 100000 --runs 3"   # a quicker look, no fleet')
    a('```')
    a('')
    a('The raw numbers are in the .json file next to this report. Method and caveats: docs/benchmarks.md.')
    return '\n'.join(L) + '\n'


def run_replay():
    """benchmarks/replay.py (pure Python, no root): its results, or its error, in the report."""
    import replay as replay_mod
    try:
        return replay_mod.run(log=log)
    except Exception as e:  # the other results are reported anyway
        log('ERROR: replay benchmark failed: %s' % e)
        ran = ('replay benchmark ran', 'failed: %s' % str(e)[:300], False, True)
        return {'ok': False, 'error': str(e), 'verdicts': [ran],
                'markdown': '## Sizing from history: replay\n\nFailed: `%s`' % str(e)[:2000].replace('`', "'")}


def _interrupted(*_args):
    raise KeyboardInterrupt()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--sizes', default='100000,1000000')
    p.add_argument('--shapes', default=','.join(SHAPES), help='table shapes (%s)' % ', '.join(SHAPES))
    p.add_argument('--runs', type=int, default=0, help='interleaved rounds (runs per command; default 10 below 200k, 7 above)')
    p.add_argument('--python', default=os.path.join(REPO, '.venv', 'bin', 'python'))
    p.add_argument('--out', default=os.path.join(HERE, 'results'))
    p.add_argument('--fleet', dest='fleet', action='store_true', default=True)
    p.add_argument('--no-fleet', dest='fleet', action='store_false')
    p.add_argument('--fleet-sizes', default='10,30')
    p.add_argument('--fleet-rounds', type=int, default=1)
    p.add_argument('--resize', dest='resize', action='store_true', default=True)
    p.add_argument('--no-resize', dest='resize', action='store_false')
    p.add_argument('--resize-sizes', default='1048576,4194304,16777216')
    p.add_argument('--replay', dest='replay', action='store_true', default=True)
    p.add_argument('--no-replay', dest='replay', action='store_false',
                   help='skip the replay of sizing from history (benchmarks/replay.py)')
    opts = p.parse_args(argv)
    opts.sizes = [int(x) for x in opts.sizes.split(',') if x]
    opts.shapes = [x for x in opts.shapes.split(',') if x]
    for shape in opts.shapes:
        if shape not in SHAPES:
            sys.exit('unknown shape %r: one of %s' % (shape, ', '.join(SHAPES)))
    if os.geteuid() != 0:
        sys.exit('bench.py needs root (network namespaces, nf_conntrack_max)')
    for tool in ('hyperfine', 'conntrack', 'nft', 'ip', 'awk'):
        if not shutil.which(tool):
            sys.exit('%s is missing (make setup installs it)' % tool)
    if not os.path.exists('/usr/bin/time'):
        sys.exit('/usr/bin/time is missing (apt package time; make setup installs it)')
    started = datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')
    stamp = datetime.datetime.utcnow().strftime('%Y%m%d-%H%M%S')
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.cache', 'collections'), LC_ALL='C',
               PYTHONDONTWRITEBYTECODE='1')
    # SIGTERM (make interrupted, CI timeout) unwinds like Ctrl-C: namespaces removed, max restored
    signal.signal(signal.SIGTERM, _interrupted)
    t0 = time.time()
    res = {'machine': machine()}
    res['machine']['python_module'] = sh([opts.python, '-c', 'import platform; print("Python " + platform.python_version())']).stdout.strip()
    res['machine']['ansible_core'] = sh([opts.python, '-c', 'import ansible; print(ansible.__version__)']).stdout.strip()
    res['machine']['cpu_reference'] = timeline.cpu_reference(opts.python, 5)
    log('CPU reference (%s): median %.3f s' % (timeline.REFERENCE_LOOP, res['machine']['cpu_reference']['median']))
    tmp = tempfile.mkdtemp(prefix='nfct-bench-')
    fleet = audit_report = replay = history_cost = None
    try:
        with GlobalMax(max(opts.sizes) + 100000):
            res.update(bench_tables(opts, env, tmp))
        rat = ratios(res)
        res['ratios'] = rat
        res['verdicts'] = verdicts(res, rat)
        if opts.resize:
            import resize as resize_mod
            try:
                resize = resize_mod.run([int(x) for x in opts.resize_sizes.split(',') if x], 3, opts.python, log)
            except Exception as e:  # the other results are reported anyway
                log('ERROR: resize benchmark failed: %s' % e)
                resize = {'rows': [], 'error': str(e), 'markdown': '## Live resize of the hash table\n\nFailed: `%s`'
                          % str(e)[:2000].replace('`', "'")}
            res['resize'] = resize['rows']
        import report as report_mod
        try:
            audit_report = report_mod.run(rounds=3, log=log)
        except Exception as e:  # the other results are reported anyway
            log('ERROR: audit report benchmark failed: %s' % e)
            audit_report = {'rows': [], 'verdicts': [('audit report benchmark ran', 'failed: %s' % str(e)[:300], False)],
                            'markdown': '## Audit report on the controller\n\nFailed: `%s`' % str(e)[:2000].replace('`', "'")}
        res['audit_report'] = audit_report['rows']
        import history_cost as history_cost_mod
        try:
            history_cost = history_cost_mod.run(opts.python, log=log)
        except Exception as e:  # the other results are reported anyway
            log('ERROR: history cost benchmark failed: %s' % e)
            history_cost = {'ok': False, 'verdicts': [('history cost benchmark ran', 'failed: %s' % str(e)[:300], False)],
                            'markdown': "## Reading the host's history in conntrack_facts\n\nFailed: `%s`"
                                        % str(e)[:2000].replace('`', "'")}
        res['history_cost'] = dict((k, v) for k, v in history_cost.items() if k != 'markdown')
        if opts.replay:
            replay = run_replay()
            res['replay'] = dict((k, v) for k, v in replay.items() if k != 'markdown')
        if opts.fleet:
            import fleet as fleet_mod
            try:
                fleet = fleet_mod.run([int(x) for x in opts.fleet_sizes.split(',') if x], env, tmp, log,
                                      rounds=opts.fleet_rounds)
            except Exception as e:  # the table results are reported anyway
                log('ERROR: fleet benchmark failed: %s' % e)
                fleet = {'error': str(e), 'verdicts': [('fleet benchmark ran', 'failed: %s' % str(e)[:300], False)],
                         'markdown': '## Fleet\n\nFailed: `%s`' % str(e)[:2000].replace('`', "'")}
            res['fleet'] = dict((k, v) for k, v in fleet.items() if k != 'markdown')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res['seconds'] = round(time.time() - t0)
    os.makedirs(opts.out, exist_ok=True)
    md = report(res, rat, opts, started, fleet, audit_report)
    if opts.resize:
        md += '\n' + resize['markdown'] + '\n'
    if history_cost:
        md += '\n' + history_cost['markdown']
    if replay:
        md += '\n' + replay['markdown'] + '\n'
    md += '\n`make bench` took %d s.\n' % res['seconds']
    base = os.path.join(opts.out, 'bench-%s' % stamp)
    with open(base + '.md', 'w') as f:
        f.write(md)
    with open(base + '.json', 'w') as f:
        json.dump(res, f, indent=1, sort_keys=True)
    shutil.copyfile(base + '.md', os.path.join(opts.out, 'latest.md'))
    sys.stdout.write(md)
    log('report: %s.md (and latest.md); %d s' % (base, res['seconds']))
    bad = [t for t, _m, ok in res['verdicts'] if not ok and 'equal' in t]
    return 1 if bad or (fleet and fleet.get('error')) or (replay and not replay['ok']) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
