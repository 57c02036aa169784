# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet run cost: the audit playbook on 10 and 30 Podman hosts, next to `ansible -m ping` and a
naive playbook with one ansible.posix.sysctl task per key. Called by bench.py (make bench);
runs alone too: `fleet.py [--sizes 10,30] [--rounds N]` (root, after `make setup images`).

Hosts: systemd containers from localhost/nfct-debian:bookworm (make images), started with
`--network none` (always: a bridge network would change the host's ip_forward and NAT tables),
NET_ADMIN, and /proc/sys read-only (the default), so nothing on the host can change. Reached
with the containers.podman.podman connection (podman exec), as the Molecule scenarios do.

Variants, timed with hyperfine in interleaved rounds (one hyperfine call per round runs each
variant once), all with the same forks (the project's ansible.cfg, ANSIBLE_FORKS if set):
  ping    ansible all -m ansible.builtin.ping (the yardstick of the target: what users run)
  ping_become  the same with --become: the audit playbook has become: true (sudo on the host), so
          this is ping's like-for-like; reported beside it
  audit   ansible-playbook playbooks/audit.yml --check (profile edge: 11 keys): one module run per
          host, then the JSON, JUnit and HTML reports written on the controller
  audit_nosample  the same audit with conntrack_audit_health_sample=0: what the in-run health
          sample costs
  naive   ansible-playbook naive.yml --check: one ansible.posix.sysctl task per key of the same
          recommendation (same keys, same values; sysctl_set: true so it compares the running
          value too, as the audit does)

fs.inotify.max_user_instances is raised to 1024 when needed (more than ~20 systemd containers)
and restored afterwards; every container is removed, also on errors and Ctrl-C. The machine's
load average is read before and after every round (other work on the machine shows there).

Alone with --out DIR it also writes DIR/fleet-YYYYMMDD-HHMMSS.{json,md}, a result file of the same
shape as bench.py's fleet part (benchmarks/record.yml can name it as the fleet's run of record).
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import statistics
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
IMAGE = os.environ.get('NFCT_BENCH_IMAGE', 'localhost/nfct-debian:bookworm')
PROFILE = 'edge'
INOTIFY = '/proc/sys/fs/inotify/max_user_instances'
TARGETS = {'audit_vs_ping': 1.3, 'naive_vs_audit': 3.0, 'rollout_overhead_vs_audit': 2.0}


def _log(msg):
    sys.stderr.write('[fleet %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def _run(cmd, env, check=True, **kw):
    res = subprocess.run(cmd, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, **kw)
    if check and res.returncode != 0:
        raise RuntimeError('%s failed (%d): %s %s'
                           % (' '.join(cmd), res.returncode, res.stdout[-1500:], res.stderr[-1500:]))
    return res


class Sysctl(object):
    """Raise an integer sysctl for the run if it is below `wanted`; restore it afterwards
    unless someone else changed it meanwhile."""

    def __init__(self, path, wanted, log):
        self.path, self.wanted, self.log = path, wanted, log
        self.saved = self.set_to = None

    def __enter__(self):
        with open(self.path) as f:
            self.saved = int(f.read())
        if self.saved < self.wanted:
            with open(self.path, 'w') as f:
                f.write('%d\n' % self.wanted)
            self.set_to = self.wanted
            self.log('%s %d -> %d (restored at the end)' % (self.path, self.saved, self.wanted))
        return self

    def __exit__(self, *exc):
        if self.set_to is not None:
            with open(self.path) as f:
                now = int(f.read())
            if now == self.set_to:
                with open(self.path, 'w') as f:
                    f.write('%d\n' % self.saved)
                self.log('%s restored to %d' % (self.path, self.saved))
            else:
                self.log('WARNING: %s is %d, not the %d we set: left alone' % (self.path, now, self.set_to))
        return False


class Fleet(object):
    """Podman systemd containers named nfct-bench-fleet-<run id>-<n>; remove() removes them all."""

    def __init__(self, env, log):
        self.env, self.log = env, log
        self.prefix = 'nfct-bench-fleet-%s' % uuid.uuid4().hex[:6]
        self.names = []

    def grow(self, n):
        """Start containers until there are n; wait until systemd runs in every new one."""
        new = []
        while len(self.names) < n:
            name = '%s-%02d' % (self.prefix, len(self.names) + 1)
            self.names.append(name)   # before starting: remove() must see half-started ones
            _run(['podman', 'run', '-d', '--name', name, '--hostname', name, '--network', 'none',
                  '--systemd', 'always', '--cap-add', 'NET_ADMIN', IMAGE, '/sbin/init'], self.env)
            new.append(name)
        # systemctl is-system-running --wait, retried while the container's bus is not up yet
        states = {}
        deadline = time.time() + 180
        pending = list(new)
        while pending and time.time() < deadline:
            procs = [(name, subprocess.Popen(['podman', 'exec', name, 'systemctl', 'is-system-running', '--wait'],
                                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             universal_newlines=True)) for name in pending]
            pending = []
            for name, p in procs:
                try:
                    text, _e = p.communicate(timeout=max(1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    text, _e = p.communicate()
                state = text.strip().splitlines()[-1] if text.strip() else 'unknown'
                states[name] = state
                if state not in ('running', 'degraded'):
                    pending.append(name)
            if pending:
                time.sleep(1)
        bad = dict((k, v) for k, v in states.items() if v not in ('running', 'degraded'))
        if bad:
            raise RuntimeError('containers did not boot: %s' % bad)
        self.log('%d containers running (%s)' % (len(self.names), ', '.join(sorted(set(states.values()))) or 'up'))

    def inventory(self, n, path):
        with open(path, 'w') as f:
            f.write('[fleet]\n')
            for name in self.names[:n]:
                f.write(name + '\n')
            f.write('[fleet:vars]\nansible_connection=containers.podman.podman\n'
                    'ansible_python_interpreter=/usr/bin/python3\n')
        return path

    def remove(self):
        if self.names:
            _run(['podman', 'rm', '-f', '-t', '0'] + self.names, self.env, check=False)
            self.log('removed %d containers' % len(self.names))
            self.names = []


def naive_playbook(env, inventory, host, path):
    """The recommendation the audit checks (profile edge) as one ansible.posix.sysctl task per key."""
    e = dict(env, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    out = _run(['ansible', '-i', inventory, host, '-m', 'nfct.tuning.conntrack_recommend', '-a',
                'profile=%s' % PROFILE], e).stdout
    rec = json.loads(out)['plays'][0]['tasks'][0]['hosts'][host]['recommended']
    lines = ['---', '# Generated by benchmarks/fleet.py: the keys and values of the audit\'s recommendation',
             '# (profile %s), one ansible.posix.sysctl task per key.' % PROFILE,
             '- name: Naive conntrack check, one sysctl task per key', '  hosts: all', '  gather_facts: false',
             '  tasks:']
    for key in sorted(rec):
        name = 'net.netfilter.nf_conntrack_%s' % key
        lines += ['    - name: %s' % name, '      ansible.posix.sysctl:', '        name: %s' % name,
                  '        value: "%s"' % rec[key], '        sysctl_file: /etc/sysctl.d/90-conntrack.conf',
                  '        sysctl_set: true', '        reload: false', '        state: present']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return sorted(rec)


def hyperfine_rounds(cmds, rounds, env, json_path, log, loads=None):
    per = dict((name, []) for name, _c in cmds)
    cpu = dict((name, []) for name, _c in cmds)
    for r in range(rounds):
        before = os.getloadavg()[0]
        argv = ['hyperfine', '--style', 'none', '--runs', '1', '--warmup', '0', '--export-json', json_path]
        for name, cmd in cmds:
            argv += ['--command-name', name, cmd]
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(json_path) as f:
            for res in json.load(f)['results']:
                per[res['command']] += res['times']
                cpu[res['command']].append(res['user'] + res['system'])
        after = os.getloadavg()[0]
        if loads is not None:
            loads.append([round(before, 2), round(after, 2)])
        log('round %d/%d: %s (load %.1f -> %.1f)' % (r + 1, rounds, ', '.join('%s %.1f s' % (n, per[n][-1]) for n, _c in cmds),
                                                     before, after))
    return dict((n, {'median': statistics.median(t), 'min': min(t), 'max': max(t), 'runs': len(t), 'times': t,
                     'cpu': statistics.median(cpu[n])}) for n, t in per.items())


def rollout_cmds(inv, tmp, env):
    """tune and a one-stage rollout (soak 0) of the same change: the rollout's own cost is the
    difference. The rollout's report is removed before each run (a rerun of the same rollout would
    resume after its completed stage and do nothing). tune runs once first: every timed run applies
    an unchanged host, as a rollout of a fleet already converged."""
    tune = 'ansible-playbook -i %s %s -e conntrack_profile=%s > /dev/null' % (
        inv, os.path.join(REPO, 'playbooks', 'tune.yml'), PROFILE)
    _run(['sh', '-c', tune], env)
    report = os.path.join(tmp, 'rollout.json')
    rollout = ('rm -f %s; ansible-playbook -i %s %s -e conntrack_profile=%s -e \'{"conntrack_rollout_stages": ["100%%"]}\' '
               '-e conntrack_rollout_soak=0 -e conntrack_rollout_report_path=%s -e conntrack_rollout_html_path= > /dev/null'
               % (report, inv, os.path.join(REPO, 'playbooks', 'rollout.yml'), PROFILE, report))
    return [('tune', tune), ('rollout', rollout)]


def run(sizes, env, tmp, log=_log, rounds=1):
    """Returns {'sizes': {...}, 'verdicts': [(target, measured, ok)], 'markdown': str}."""
    env = dict(env, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.cache', 'collections'),
               CONTAINERS_CONF=env.get('CONTAINERS_CONF') or os.path.join(REPO, 'scripts', 'containers.conf'),
               PATH=os.path.join(REPO, '.venv', 'bin') + os.pathsep + env.get('PATH', os.defpath),
               ANSIBLE_DEPRECATION_WARNINGS='false', ANSIBLE_ACTION_WARNINGS='false', ANSIBLE_NOCOLOR='1',
               LC_ALL='C.UTF-8', LANG='C.UTF-8')   # ansible-core refuses a non-UTF-8 locale
    if subprocess.run(['podman', 'image', 'exists', IMAGE], env=env, check=False).returncode != 0:
        md = ('## Fleet\n\nNot run: the image %s does not exist (`make images` builds it; then `make bench`).' % IMAGE)
        log('image %s missing: fleet benchmark skipped' % IMAGE)
        return {'skipped': 'image %s missing' % IMAGE, 'verdicts': [], 'markdown': md, 'sizes': {}}
    out = {'sizes': {}, 'image': IMAGE, 'profile': PROFILE, 'rounds': rounds,
           'forks': int(os.environ.get('ANSIBLE_FORKS') or 5)}
    fleet = Fleet(env, log)
    t0 = time.time()
    try:
        with Sysctl(INOTIFY, 1024 if max(sizes) > 20 else 0, log):
            for n in sorted(sizes):
                fleet.grow(n)
                inv = fleet.inventory(n, os.path.join(tmp, 'fleet-%d.ini' % n))
                naive = os.path.join(tmp, 'naive.yml')
                keys = naive_playbook(env, inv, fleet.names[0], naive)
                # warm-up (first podman exec into fresh containers, controller caches)
                _run(['ansible', '-i', inv, 'all', '-m', 'ansible.builtin.ping'], env)
                cmds = [
                    ('ping', 'ansible -i %s all -m ansible.builtin.ping > /dev/null' % inv),
                    ('ping_become', 'ansible -i %s all -m ansible.builtin.ping --become > /dev/null' % inv),
                    ('audit', 'ansible-playbook -i %s %s --check -e conntrack_profile=%s '
                              '-e conntrack_audit_fail_on_drift=false -e conntrack_audit_report_path=%s '
                              '-e conntrack_audit_junit_path=%s -e conntrack_audit_html_path=%s > /dev/null'
                     % (inv, os.path.join(REPO, 'playbooks', 'audit.yml'), PROFILE, os.path.join(tmp, 'audit.json'),
                        os.path.join(tmp, 'audit.junit.xml'), os.path.join(tmp, 'audit.html'))),
                    ('naive', 'ansible-playbook -i %s %s --check > /dev/null' % (inv, naive)),
                ]
                # the same audit without its in-run health sample (the counters since boot): what the
                # health window costs (issue 23)
                audit = dict(cmds)['audit']
                cmds.append(('audit_nosample', audit.replace(' --check ', ' --check -e conntrack_audit_health_sample=0 ')))
                cmds += rollout_cmds(inv, tmp, env)
                log('%d hosts: %d round(s) of %s (%d keys)' % (n, rounds, ', '.join(c for c, _x in cmds), len(keys)))
                loads = []
                t = hyperfine_rounds(cmds, rounds, env, os.path.join(tmp, 'hf-fleet-%d.json' % n), log, loads)
                with open(os.path.join(tmp, 'audit.json')) as f:
                    report = json.load(f)
                if len(report.get('hosts', {})) != n or report['counts']['checked'] != n:
                    raise RuntimeError('the audit of %d hosts reported %s' % (n, report.get('counts')))
                out['sizes'][str(n)] = {'times': t, 'keys': keys, 'commands': dict(cmds), 'load': loads,
                                        'audited_hosts': len(report.get('hosts', {}))}
    finally:
        fleet.remove()
    out['seconds'] = round(time.time() - t0)
    verdicts = []
    for n, s in sorted(out['sizes'].items(), key=lambda kv: int(kv[0])):
        t = s['times']
        s['audit_vs_ping'] = t['audit']['median'] / t['ping']['median']
        s['naive_vs_audit'] = t['naive']['median'] / t['audit']['median']
        s['nosample_vs_ping'] = t['audit_nosample']['median'] / t['ping']['median']
        s['audit_vs_ping_become'] = t['audit']['median'] / t['ping_become']['median']
        verdicts.append(('fleet of %s: audit --check <= %.1fx ansible -m ping' % (n, TARGETS['audit_vs_ping']),
                         '%.2fx' % s['audit_vs_ping'], s['audit_vs_ping'] <= TARGETS['audit_vs_ping']))
        verdicts.append(('fleet of %s: audit >= %.0fx faster than one sysctl task per key' % (n, TARGETS['naive_vs_audit']),
                         '%.2fx' % s['naive_vs_audit'], s['naive_vs_audit'] >= TARGETS['naive_vs_audit']))
        verdicts.append(('fleet of %s: the health sample\'s cost (audit without it, for comparison)' % n,
                         '%.2fx ping without the sample, %.2fx with it' % (s['nosample_vs_ping'], s['audit_vs_ping']), True))
        verdicts.append(('fleet of %s: audit --check against ping --become (like for like: the audit has become: true)' % n,
                         '%.2fx' % s['audit_vs_ping_become'], True))
        # the rollout's own cost per stage beyond the soak: one stage of every host with soak 0,
        # minus the same change applied by tune (the change is not the rollout's overhead)
        s['rollout_overhead_s'] = t['rollout']['median'] - t['tune']['median']
        s['rollout_overhead_vs_audit'] = s['rollout_overhead_s'] / t['audit']['median']
        verdicts.append(('fleet of %s: the rollout\'s own overhead per stage (beyond the soak) <= %.0fx one audit pass'
                         % (n, TARGETS['rollout_overhead_vs_audit']),
                         '%.2fx (%.1f s: rollout %.1f s - tune %.1f s; audit %.1f s)'
                         % (s['rollout_overhead_vs_audit'], s['rollout_overhead_s'], t['rollout']['median'],
                            t['tune']['median'], t['audit']['median']),
                         s['rollout_overhead_vs_audit'] <= TARGETS['rollout_overhead_vs_audit']))
    out['verdicts'] = verdicts
    out['markdown'] = markdown(out)
    return out


def markdown(out):
    L = ['## Fleet: %s' % ' and '.join('%s hosts' % n for n in sorted(out['sizes'], key=int)), '']
    L.append('Podman systemd containers from `%s` (`--network none`, NET_ADMIN, /proc/sys read-only), '
             'containers.podman.podman connection (no pipelining: it is not supported by that connection), forks %d, '
             'profile `%s`; %d interleaved round(s) per size; wall seconds of the whole ansible run on the controller '
             '(this machine: controller and hosts share the 2 CPUs). The fleet part took %d s.'
             % (out['image'], out['forks'], out['profile'], out['rounds'], out['seconds']))
    L.append('')
    L.append('| hosts | ping s | ping --become s | audit --check s | audit without the health sample s | naive s (1 task per key) '
             '| audit/ping | audit/ping --become | no sample/ping | naive/audit | keys | load (1 min) |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for n, s in sorted(out['sizes'].items(), key=lambda kv: int(kv[0])):
        t = s['times']
        load = [x for pair in s.get('load') or [] for x in pair]
        L.append('| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %d | %s |' % (
            n, t['ping']['median'], t['ping_become']['median'], t['audit']['median'], t['audit_nosample']['median'],
            t['naive']['median'], s['audit_vs_ping'], s['audit_vs_ping_become'], s['nosample_vs_ping'], s['naive_vs_audit'],
            len(s['keys']), '%.1f-%.1f' % (min(load), max(load)) if load else '-'))
    L.append('')
    L.append('Each variant\'s spread over the rounds (min-max s): %s.' % '; '.join(
        '%s hosts: %s' % (n, ', '.join('%s %.1f-%.1f' % (v, r['min'], r['max']) for v, r in sorted(s['times'].items())))
        for n, s in sorted(out['sizes'].items(), key=lambda kv: int(kv[0]))))
    L.append('')
    L.append('The rollout (`nfct.tuning.rollout`, one stage of every host, soak 0) next to tune applying the same '
             'change to the same converged hosts: its own overhead per stage, beyond the soak (target <= %.0fx one '
             'audit pass).' % TARGETS['rollout_overhead_vs_audit'])
    L.append('')
    L.append('| hosts | tune s | rollout s | overhead s | audit s | overhead/audit |')
    L.append('|---|---|---|---|---|---|')
    for n, s in sorted(out['sizes'].items(), key=lambda kv: int(kv[0])):
        t = s['times']
        row = (n, t['tune']['median'], t['rollout']['median'], s['rollout_overhead_s'], t['audit']['median'],
               s['rollout_overhead_vs_audit'])
        L.append('| %s | %.1f | %.1f | %.1f | %.1f | %.2f |' % row)
    L.append('')
    some = out['sizes'][sorted(out['sizes'], key=int)[-1]]
    L.append('Keys (both playbooks): %s. Commands:' % ', '.join(some['keys']))
    L.append('')
    for name, cmd in some['commands'].items():
        L.append('- `%s`: `%s`' % (name, cmd))
    L.append('')
    L.append('Knobs that matter for big fleets: docs/fleet.md.')
    return '\n'.join(L)


def main(argv):
    import argparse
    import shutil
    import tempfile
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--sizes', default='10,30')
    p.add_argument('--rounds', type=int, default=1)
    p.add_argument('--out', help='also write the result here as fleet-YYYYMMDD-HHMMSS.json and .md (bench.py\'s shape)')
    opts = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('fleet.py needs root (podman containers, inotify limit)')
    tmp = tempfile.mkdtemp(prefix='nfct-fleet-')
    try:
        res = run([int(x) for x in opts.sizes.split(',') if x], dict(os.environ), tmp, rounds=opts.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    verdicts = ''.join('%s: %s (%s)\n' % (t, m, 'met' if ok else 'NOT met') for t, m, ok in res['verdicts'])
    sys.stdout.write(res['markdown'] + '\n' + verdicts)
    if opts.out:
        write_result(opts.out, res, verdicts)
    return 0


def write_result(folder, res, verdicts):
    """fleet-STAMP.json ({'fleet': ..., 'machine': ...}, as bench.py writes its fleet part) and .md."""
    import platform
    stamp = time.strftime('%Y%m%d-%H%M%S', time.gmtime())
    os.makedirs(folder, exist_ok=True)
    base = os.path.join(folder, 'fleet-%s' % stamp)
    machine = {'kernel': platform.release(), 'cpus': os.cpu_count(), 'python': platform.python_version()}
    with open(base + '.json', 'w') as f:
        json.dump({'fleet': dict((k, v) for k, v in res.items() if k != 'markdown'), 'machine': machine,
                   'verdicts': res['verdicts']}, f, indent=1, sort_keys=True)
    with open(base + '.md', 'w') as f:
        when = time.strftime('%Y-%m-%d %H:%M', time.gmtime())
        f.write('# benchmarks/fleet.py, %s UTC\n\n%s\n\n%s' % (when, res['markdown'], verdicts))
    _log('result: %s.json, %s.md' % (base, base))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
