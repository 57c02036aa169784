# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway Podman containers of the Molecule image (systemd, nft, iptables, own netns) for
the safety tests: start one, run a module in it directly (fast, with fault injection) or
through Ansible's podman connection (the user's way), snapshot everything it could change.

Containers always run with --network none. Each is removed by its owner (remove()).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IMAGE = os.environ.get('NFCT_SAFETY_IMAGE', 'localhost/nfct-debian:bookworm')
MODULE_ROOT = '/opt/nfct'
# sysctls that change by themselves (counters, random values); compared nowhere
VOLATILE_SYSCTLS = ('fs.dentry-state', 'fs.file-nr', 'fs.inode-nr', 'fs.inode-state', 'kernel.ns_last_pid',
                    'kernel.random.', 'net.netfilter.nf_conntrack_count', 'fs.quota.',
                    # machine-wide counters other work moves (a qemu VM's AIO contexts, ptys) and
                    # the rate the kernel lowers itself under load
                    'fs.aio-nr', 'kernel.pty.nr', 'kernel.perf_event_max_sample_rate',
                    # the initial namespace's global conntrack values, read-only in a container
                    # (nothing run in one can change them): tests of other lanes write them, under
                    # tests/netns/nsfill.py host_global_lock()
                    'net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_buckets',
                    'net.netfilter.nf_conntrack_expect_max')

# what the snapshot reads inside the container
SNAPSHOT = r'''
import hashlib, json, os, subprocess
def run(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    except OSError:
        return None
files = {}
for top in ('/etc', '/run'):
    for d, dirs, names in os.walk(top):
        if d.startswith('/run/log/journal'):
            continue  # journald's own files (Ansible logs module invocations to the journal)
        for n in dirs + names:
            p = os.path.join(d, n)
            st = os.lstat(p)
            h = None
            if os.path.isfile(p) and not os.path.islink(p):
                try:
                    with open(p, 'rb') as f:
                        h = hashlib.sha256(f.read()).hexdigest()
                except OSError:
                    h = 'unreadable'
            files[p] = [st.st_mode, st.st_mtime_ns, h, os.readlink(p) if os.path.islink(p) else None]
params = {}
pdir = '/sys/module/nf_conntrack/parameters'
for n in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
    try:
        params[n] = open(os.path.join(pdir, n)).read()
    except OSError:
        params[n] = None
out = {'files': files, 'params': params, 'sysctl': run(['sysctl', '-a']), 'nft': run(['nft', 'list', 'ruleset'])}
for t in ('iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save'):
    out[t] = run([t])
print(json.dumps(out))
'''


def podman(args, check=True, **kw):
    kw.setdefault('stdout', subprocess.PIPE)
    kw.setdefault('stderr', subprocess.PIPE)
    out = subprocess.run(['podman'] + list(args), check=False, **kw)
    if check and out.returncode != 0:
        err = (out.stderr or b'').decode()[-2000:]
        raise RuntimeError('podman %s failed (%d): %s' % (' '.join(args[:3]), out.returncode, err))
    return out


def module_tree():
    """A folder with what a module needs to run in a container without Ansible installed there:
    ansible.module_utils (from the venv) and this collection's plugins."""
    import ansible
    src = os.path.dirname(ansible.__file__)
    d = tempfile.mkdtemp(prefix='nfct-modtree-')
    os.makedirs(os.path.join(d, 'ansible'))
    for name in ('__init__.py', 'release.py'):
        shutil.copy(os.path.join(src, name), os.path.join(d, 'ansible', name))
    for name in ('_vendor', 'module_utils'):
        shutil.copytree(os.path.join(src, name), os.path.join(d, 'ansible', name),
                        ignore=shutil.ignore_patterns('__pycache__'))
    dst = os.path.join(d, 'ansible_collections', 'nfct', 'tuning', 'plugins')
    for name in ('modules', 'module_utils'):
        shutil.copytree(os.path.join(REPO, 'plugins', name), os.path.join(dst, name),
                        ignore=shutil.ignore_patterns('__pycache__'))
    return d


# runs argv with this stdin and reports its wall time on stderr
TIMER = ("import subprocess, sys, time; t = time.monotonic(); r = subprocess.call(sys.argv[1:]); "
         "sys.stderr.write('NFCT-ELAPSED %f\\n' % (time.monotonic() - t)); sys.exit(r)")


class Container(object):
    """A systemd container of the Molecule image, own network namespace (--network none)."""

    def __init__(self, unmask=True, extra=(), tree=None, image=None):
        self.name = 'nfct-safety-%s' % uuid.uuid4().hex[:8]
        args = ['run', '-d', '--name', self.name, '--hostname', self.name, '--network', 'none',
                '--cap-add', 'NET_ADMIN']
        if unmask:
            args += ['--security-opt', 'unmask=/proc/sys']
        try:
            podman(args + list(extra) + [image or IMAGE])
            self.wait_booted()
            if tree:
                podman(['cp', tree, '%s:%s' % (self.name, MODULE_ROOT)])
        except Exception:
            self.remove()
            raise

    def wait_booted(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.sh('systemctl is-system-running 2>/dev/null || true', check=False)
            if out.strip() in ('running', 'degraded'):
                return
            time.sleep(0.3)
        raise RuntimeError('%s did not boot in %d s' % (self.name, timeout))

    def exec(self, argv, env=None, data=None, check=True, timeout=60):
        args = ['exec', '-i'] + ['-e=%s=%s' % kv for kv in sorted((env or {}).items())] + [self.name] + list(argv)
        out = podman(args, check=False, input=data.encode() if isinstance(data, str) else data, timeout=timeout)
        if check and out.returncode != 0:
            text = out.stdout.decode()[-1500:] + out.stderr.decode()[-1500:]
            raise RuntimeError('%s in %s failed (%d): %s' % (argv, self.name, out.returncode, text))
        return out

    def sh(self, script, check=True, **kw):
        return self.exec(['sh', '-c', script], check=check, **kw).stdout.decode()

    def read(self, path):
        out = self.exec(['cat', path], check=False)
        return out.stdout.decode() if out.returncode == 0 else None

    def write(self, path, text):
        self.exec(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', path], data=text)

    def module(self, name, args, check=False, kill_at=None, kill_after=None, timed=False):
        """Run a module directly (as AnsiballZ would, without the zip) -> (rc, result or None).
        timed: self.elapsed becomes the module's wall time measured inside the container (no
        podman exec overhead), for tests that pick kill delays from it."""
        payload = dict(args, _ansible_check_mode=check, _ansible_diff=False,
                       _ansible_tmpdir='/tmp', _ansible_remote_tmp='/tmp')
        # the arguments on stdin, as AnsiballZ hands them over
        argv = ['python3', '-m', 'ansible_collections.nfct.tuning.plugins.modules.%s' % name]
        if kill_after is not None:
            argv = ['timeout', '-s', 'KILL', '%.3f' % kill_after] + argv
        if timed:
            argv = ['python3', '-c', TIMER] + argv
        env = {'PYTHONPATH': MODULE_ROOT}
        if kill_at:
            env['NFCT_TEST_KILL_AT'] = kill_at
        out = self.exec(argv, env=env, data=json.dumps({'ANSIBLE_MODULE_ARGS': payload}), check=False)
        text = out.stdout.decode()
        if timed:
            self.elapsed = float(out.stderr.decode().rsplit('NFCT-ELAPSED ', 1)[1].split()[0])
        try:
            return out.returncode, json.loads(text)
        except ValueError:
            return out.returncode, None

    def snapshot(self):
        """Everything a module could change: /etc and /run (mode, mtime, sha256), the nf_conntrack
        module parameters, sysctl -a (without the values that move by themselves), the nft
        ruleset and iptables-save / ip6tables-save of both backends (counters zeroed)."""
        import re
        raw = json.loads(self.exec(['python3', '-c', SNAPSHOT]).stdout.decode())
        raw['sysctl'] = '\n'.join(line for line in (raw['sysctl'] or '').splitlines()
                                  if not line.startswith(VOLATILE_SYSCTLS))
        for k in ('iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save'):
            if raw.get(k):
                raw[k] = re.sub(r'\[\d+:\d+\]', '[0:0]', re.sub(r'(?m)^#.*\n', '', raw[k]))
        return raw

    def probe(self, files=(), keys=(), nft_table=None):
        """Several files, sysctl values and an nft table read in one exec -> dict."""
        script = ('''
import json, subprocess, sys
a = json.loads(sys.argv[1])
def rd(p):
    try:
        return open(p).read()
    except OSError:
        return None
out = {'files': dict((p, rd(p)) for p in a['files']),
       'keys': dict((k, (rd('/proc/sys/net/netfilter/nf_conntrack_' + k) or '').strip()) for k in a['keys'])}
if a['table']:
    r = subprocess.run(['nft', 'list', 'table'] + a['table'].split(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out['table'] = r.stdout.decode() if r.returncode == 0 else ''
print(json.dumps(out))
''')
        arg = json.dumps({'files': list(files), 'keys': list(keys), 'table': nft_table})
        return json.loads(self.exec(['python3', '-c', script, arg]).stdout.decode())

    def temp_files(self):
        return [p for p in self.sh('find /etc -name ".nfct-*" 2>/dev/null || true').split() if p]

    def remove(self):
        podman(['rm', '-f', '-t', '0', self.name], check=False)


def diff(before, after):
    """What changed between two snapshots, in words (empty when nothing did)."""
    out = []
    for k in sorted(set(before) | set(after)):
        if k == 'files':
            b, a = before['files'], after['files']
            out += ['file %s: %s' % (p, 'added' if p not in b else 'removed' if p not in a else 'changed %s -> %s'
                                     % (b[p], a[p])) for p in sorted(set(b) | set(a)) if b.get(p) != a.get(p)]
        elif before.get(k) != after.get(k):
            out.append('%s changed' % k)
    return out


def inventory(tmp, names):
    path = os.path.join(str(tmp), 'inventory.yml')
    with open(path, 'w') as f:
        f.write('all:\n  vars:\n    ansible_connection: containers.podman.podman\n'
                '    ansible_python_interpreter: /usr/bin/python3\n  hosts:\n')
        for n in names:
            f.write('    %s: {}\n' % n)
    return path


def ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    env.pop('ANSIBLE_DISPLAY_ARGS_TO_STDOUT', None)
    return env


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


# what the change may touch, read in one exec: the files (mode, sha256), every net.netfilter
# value of the container's own (not the count, not the global ones), the nft ruleset, the snapshots kept
ROLE_STATE = r'''
import hashlib, json, os, subprocess
files = {}
for top in ('/etc/sysctl.d', '/etc/modprobe.d', '/etc/modules-load.d', '/etc/udev/rules.d', '/etc/nftables.d',
            '/etc/iptables', '/etc/systemd/system', '/etc/nftables.conf', '/usr/local/lib/nfct-tuning'):
    walk = [(os.path.dirname(top), [], [os.path.basename(top)])] if os.path.isfile(top) else os.walk(top)
    for d, _dirs, names in walk:
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files[p] = [os.stat(p).st_mode, hashlib.sha256(open(p, 'rb').read()).hexdigest()]
            elif os.path.islink(p):
                files[p] = ['link', os.readlink(p)]
keys = {}
# the count, and the global values a container can only read (tests of other lanes change them)
for n in sorted(os.listdir('/proc/sys/net/netfilter')):
    if n not in ('nf_conntrack_count', 'nf_conntrack_max', 'nf_conntrack_buckets', 'nf_conntrack_expect_max'):
        try:
            keys[n] = open('/proc/sys/net/netfilter/' + n).read().strip()
        except OSError:
            keys[n] = None
nft = subprocess.run(['nft', 'list', 'ruleset'], stdout=subprocess.PIPE).stdout.decode()
snaps = sorted(os.listdir('/var/lib/nfct-tuning/snapshots')) if os.path.isdir('/var/lib/nfct-tuning/snapshots') else []
print(json.dumps({'files': files, 'keys': keys, 'nft': nft, 'snapshots': snaps}))
'''


def role_state(box):
    """What the role and a rollout may touch in the container: ROLE_STATE's reading."""
    return json.loads(box.exec(['python3', '-c', ROLE_STATE]).stdout.decode())


def without_snapshots(s):
    return dict((k, v) for k, v in s.items() if k != 'snapshots')
