# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit as a user runs it (issue 12): the built tarball installed with ansible-galaxy into an
empty folder, ansible-playbook run from another empty folder with no ansible.cfg (ANSIBLE_CONFIG
unset) and the default stdout callback, against an inventory of fresh systemd containers of our
image - one at the kernel's defaults (profile default), two tuned with the role's web profile (set
in host_vars), one of them then drifted by hand - one host that does not exist and one whose
module fails (no Python).

Checked: exit codes; the readable summary (one line per line, every host, worst first); the three
reports in the working directory - JSON valid against the schema shipped in the tarball, JUnit
read by junitparser, HTML rendered by headless Chromium; the audit variables taken from
group_vars / host_vars as well as -e; check mode changed nothing in any container; nothing was
written inside the installed collection (only ansible-core's bytecode cache of our action
plugin, which `ansible-galaxy collection verify --offline` lists; ansible/ansible#81628);
tune.yml --check prints the recommendation and what would change, and changes nothing.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import jsonschema
import junitparser
import pytest

import headless
import podhost

sys.path.insert(0, os.path.join(podhost.REPO, 'tests', 'netns'))
import nsfill  # noqa: E402

REPO = podhost.REPO
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
DIST = os.environ.get('NFCT_DIST') or os.path.join(REPO, '.cache', 'dist')
OFFLINE = os.path.join(REPO, '.cache', 'collections', 'ansible_collections')
GONE = 'nfct-audit-gone'          # no such container: unreachable
BROKEN = 'nfct-audit-nopython'    # the fresh container again, with a Python that does not exist: the module fails
CUSTOM_FILE = '/etc/sysctl.d/85-nfct-custom.conf'   # the tuned host's conntrack_sysctl_file (host_vars)
SUMMARY = ('conntrack audit: 5 hosts - 2 in sync, 1 drifted, 0 unhealthy (full or dropping now), 1 unreachable, 1 failed; '
           '3 fail the run')

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='podman containers need root')


def tarball():
    found = sorted(glob.glob(os.path.join(DIST, 'nfct-tuning-*.tar.gz')), key=os.path.getmtime)
    if not found:
        pytest.fail('no nfct-tuning tarball in %s: make build (make containers builds it first)' % DIST)
    return found[-1]


def user_env(coll):
    """A user's environment: no ANSIBLE_* of ours (no ansible.cfg, default callback), the
    installed collections only."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=coll, PATH=VENV_BIN + os.pathsep + env.get('PATH', os.defpath),
               ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8', LANG='C.UTF-8')
    env.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'scripts', 'containers.conf'))
    env.pop('PYTHONPATH', None)
    # the Makefile exports it; a user's controller writes bytecode (and the test must see that)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return env


class World(object):
    """Installed collection, containers, inventory, an empty working directory."""

    def __init__(self, base):
        self.base = base
        self.coll = str(base / 'collections')
        self.cwd = base / 'work'
        self.cwd.mkdir()
        self.env = user_env(self.coll)
        run(['ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', self.coll, tarball()],
            self.env, str(base))
        # a user gets containers.podman (the connection to the containers) from Galaxy; here the offline copy
        shutil.copytree(os.path.join(OFFLINE, 'containers'), os.path.join(self.coll, 'ansible_collections', 'containers'))
        self.installed = os.path.join(self.coll, 'ansible_collections', 'nfct', 'tuning')
        self.boxes = {}

    def inventory(self, group_vars=None):
        names = sorted(self.boxes) + [GONE, BROKEN]
        inv = self.cwd / 'inventory'
        (inv / 'group_vars').mkdir(parents=True, exist_ok=True)
        (inv / 'host_vars').mkdir(exist_ok=True)
        with open(str(inv / 'hosts.yml'), 'w') as f:
            f.write('all:\n  hosts:\n' + ''.join('    %s:\n' % n for n in names))
        gv = {'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'}
        gv.update(group_vars or {})
        (inv / 'group_vars' / 'all.yml').write_text(json.dumps(gv))
        (inv / 'host_vars' / ('%s.yml' % self.drifted)).write_text(json.dumps({'conntrack_profile': 'web'}))
        # a role variable customised in the inventory: the apply and the audit must both use it
        (inv / 'host_vars' / ('%s.yml' % self.tuned)).write_text(json.dumps(
            {'conntrack_profile': 'web', 'conntrack_sysctl_file': CUSTOM_FILE}))
        (inv / 'host_vars' / ('%s.yml' % BROKEN)).write_text(json.dumps(
            {'ansible_host': self.fresh, 'ansible_python_interpreter': '/usr/bin/python-nfct-missing'}))
        return str(inv)

    def playbook(self, name, *args, **kw):
        return run(['ansible-playbook', '-i', self.inventory(kw.get('group_vars')), 'nfct.tuning.%s' % name] + list(args),
                   self.env, str(self.cwd), check=False)


def run(argv, env, cwd, check=True):
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, check=False, timeout=900)
    p.output = p.stdout + p.stderr
    if check and p.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s' % (' '.join(argv), p.returncode, p.output[-4000:]))
    return p


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp('audit-fleet'))
    try:
        for role in ('fresh', 'drifted', 'tuned'):
            box = podhost.Container()
            w.boxes[box.name] = box
            setattr(w, role, box.name)
        yield w
    finally:
        for box in w.boxes.values():
            box.remove()


def snapshots(world):
    return dict((n, b.snapshot()) for n, b in world.boxes.items())


def lines_of(output):
    """The debug task prints the summary as a list: one JSON string per line."""
    out = []
    for line in output.splitlines():
        s = line.strip().rstrip(',')
        if s.startswith('"') and s.endswith('"'):
            out.append(json.loads(s))
    return out


def test_tune_check_prints_the_summary_and_changes_nothing(world):
    before = snapshots(world)
    run_ = world.playbook('tune', '--check', '--limit', world.tuned)
    assert run_.returncode == 0, run_.output[-4000:]
    print(run_.stdout)
    lines = lines_of(run_.stdout)
    # the recommendation's summary, then what applying would change (the same lines as the apply)
    assert any(line.startswith('%s: ' % world.tuned) and 'profile web' in line for line in lines), lines
    assert any('would change' in line or 'would write' in line for line in lines), lines
    assert '\\n' not in run_.stdout
    assert snapshots(world) == before


@pytest.fixture(scope='module')
def audited(world):
    """The audit in --check, as a user runs it, after two hosts were tuned (web) and one of them
    drifted by hand: a sysctl -w, and another tool's file read after ours at boot."""
    run_ = world.playbook('tune', '--limit', '%s,%s' % (world.tuned, world.drifted))
    assert run_.returncode == 0, run_.output[-4000:]
    world.boxes[world.drifted].sh('sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=99 && '
                                  'echo "net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 120" > /etc/sysctl.d/99-local.conf')
    before = snapshots(world)
    run_ = world.playbook('audit', '--check')
    return run_, before, snapshots(world)


def test_audit_exit_code_and_readable_summary(world, audited):
    run_, _before, _after = audited
    assert run_.returncode == 2, run_.output[-4000:]
    lines = lines_of(run_.stdout)
    assert SUMMARY + (' (fail_on: runtime, at_boot, unpersisted, shadowed, notrack, reenabled, unreachable, failed, full, '
                      'dropping)') in lines, lines
    # every reachable host's health, with its window
    # the window is at least the 0.3 s sample, longer when the module's own work takes longer (a
    # busy machine: CI saw 0.4 s once, with make test's lanes side by side)
    assert len([line for line in lines if re.match(r'^  health: healthy \(a sample of [0-9.]+ s inside this run\)$',
                                                   line)]) == 3, lines
    hosts_in_order = [line.split(': ', 1)[0] for line in lines if not line.startswith(' ') and ': ' in line
                      and line.split(': ', 1)[0] in set(world.boxes) | {GONE, BROKEN}]
    # worst first: the failed host, the unreachable one, the drifted one, then the two in sync
    assert hosts_in_order[:3] == [BROKEN, GONE, world.drifted], hosts_in_order
    assert set(hosts_in_order[3:]) == {world.fresh, world.tuned}
    assert ('  tcp_timeout_time_wait: runtime - desired 60, runtime 99, ours 60, at boot 60 from '
            '/etc/sysctl.d/90-conntrack.conf') in lines, lines
    # right now, but another tool's file gives 120 at the next boot: unpersisted (and shadowed)
    assert ('  tcp_timeout_fin_wait: unpersisted+shadowed - desired 60, runtime 60, ours 60, at boot 120 from '
            '/etc/sysctl.d/99-local.conf; shadowed by /etc/sysctl.d/99-local.conf') in lines, lines
    assert not any('None' in line for line in lines)
    assert '\\n' not in run_.stdout   # no literal newlines under the default callback
    # the failing hosts, and only they, are failed in the recap
    assert 'conntrack audit: %s fails the run (unreachable; fail_on: ' % GONE in run_.output
    assert 'conntrack audit: %s fails the run (failed; fail_on: ' % BROKEN in run_.output
    assert 'conntrack audit: %s fails the run (runtime, shadowed, unpersisted; fail_on: ' % world.drifted in run_.output
    recap = run_.stdout[run_.stdout.index('PLAY RECAP'):]
    for name in world.boxes:
        line = next(x for x in recap.splitlines() if x.startswith(name + ' '))
        assert ('failed=1' in line) is (name == world.drifted), line


def test_audit_changes_nothing_on_the_hosts(audited):
    _run, before, after = audited
    for name in before:
        assert podhost.diff(before[name], after[name]) == [], name


def test_json_report_is_schema_valid_and_complete(world, audited):
    path = world.cwd / 'conntrack-audit.json'
    data = json.loads(path.read_text())
    with open(os.path.join(world.installed, 'schemas', 'conntrack-audit-report-v2.schema.json')) as f:
        schema = json.load(f)   # the schema the tarball ships
    jsonschema.validators.validator_for(schema)(schema).validate(data)
    assert sorted(data['hosts']) == sorted(list(world.boxes) + [GONE, BROKEN])
    assert data['counts'] == {'hosts': 5, 'checked': 3, 'in_sync': 2, 'drifted': 1, 'unreachable': 1, 'failed': 1,
                              'failing': 3, 'unhealthy': 0}
    assert data['schema_version'] == 2
    assert data['failed'] is True and data['failing_hosts'] == sorted([BROKEN, GONE, world.drifted])
    broken = data['hosts'][BROKEN]
    assert broken['status'] == 'failed' and 'python-nfct-missing' in broken['error'], broken
    with open(os.path.join(world.installed, 'MANIFEST.json')) as f:
        assert data['collection_version'] == json.load(f)['collection_info']['version']
    gone = data['hosts'][GONE]
    assert gone['status'] == 'unreachable' and gone['error']
    d = data['hosts'][world.drifted]
    assert d['keys']['tcp_timeout_time_wait']['kinds'] == ['runtime']
    assert d['keys']['tcp_timeout_fin_wait']['kinds'] == ['unpersisted', 'shadowed']
    assert d['keys']['tcp_timeout_fin_wait']['at_boot'] == 120
    assert d['netns'] == 'non-initial' and d['keys']['max']['readonly']
    fresh = data['hosts'][world.fresh]
    assert fresh['status'] == 'in_sync' and fresh['profile'] == 'default'
    tuned = data['hosts'][world.tuned]
    assert tuned['status'] == 'in_sync' and tuned['profile'] == 'web', tuned['lines']   # host_vars
    # the audit compared with the file the role wrote (conntrack_sysctl_file from host_vars)
    assert tuned['keys']['tcp_timeout_time_wait']['at_boot_source'] == CUSTOM_FILE
    assert data['profile'] is None and data['profiles'] == ['default', 'web']


def test_junit_report_parsed(world, audited):
    xml = junitparser.JUnitXml.fromfile(str(world.cwd / 'conntrack-audit.junit.xml'))
    suites = dict((s.name, s) for s in xml)
    assert sorted(suites) == sorted(list(world.boxes) + [GONE, BROKEN])
    failed = dict((n, sorted(c.name for c in s if c.result and isinstance(c.result[0], junitparser.Failure)))
                  for n, s in suites.items())
    assert failed == {GONE: ['reachability'], BROKEN: ['reachability'], world.drifted: ['tcp_timeout_fin_wait', 'tcp_timeout_time_wait'],
                      world.fresh: [], world.tuned: []}
    case = next(c for c in suites[world.drifted] if c.name == 'tcp_timeout_time_wait')
    assert 'desired 60, runtime 99' in case.result[0].text


def test_html_report_in_chromium(world, audited, tmp_path):
    if not os.path.exists(headless.CHROMIUM):
        pytest.skip('needs Debian chromium')
    page = world.cwd / 'conntrack-audit.html'
    d = headless.dom(tmp_path, page.as_uri())
    assert dict(d.rows) == {BROKEN: 'failed', GONE: 'unreachable', world.drifted: 'drifted', world.fresh: 'in_sync',
                            world.tuned: 'in_sync'}
    assert [r[0] for r in d.rows][:3] == [BROKEN, GONE, world.drifted]


def test_nothing_written_inside_the_installed_collection(world, audited):
    expected = ['conntrack-audit.html', 'conntrack-audit.json', 'conntrack-audit.junit.xml', 'inventory']
    assert sorted(os.listdir(str(world.cwd))) == expected
    v = run(['ansible-galaxy', 'collection', 'verify', '--offline', '-p', world.coll, 'nfct.tuning'],
            world.env, str(world.cwd), check=False)
    # ansible-core's plugin loader caches the bytecode of every controller plugin it imports
    # (ansible/ansible#81628); plugins/action/__pycache__ is a file in the tarball, so Python
    # cannot: verify finds nothing modified, and nothing is added (run without
    # PYTHONDONTWRITEBYTECODE, as a user's controller)
    assert v.returncode == 0, v.output
    modified = [ln.strip() for ln in v.output.splitlines() if ln.startswith('    ')]
    assert not modified, v.output
    root = os.path.join(world.coll, 'ansible_collections', 'nfct', 'tuning')
    with open(os.path.join(root, 'FILES.json')) as f:
        shipped = set(e['name'] for e in json.load(f)['files']) | {'FILES.json', 'MANIFEST.json'}
    added = [os.path.relpath(os.path.join(d, n), root) for d, _dirs, names in os.walk(root) for n in names]
    added = [a for a in added if a not in shipped]
    assert not added, added


def test_audit_variables_from_inventory(world, audited):
    # group_vars: report paths (one not written), and fail_on that lets the run pass
    gv = {'conntrack_audit_report_path': 'reports/fleet.json', 'conntrack_audit_junit_path': '',
          'conntrack_audit_html_path': 'reports/fleet.html', 'conntrack_audit_fail_on': ['notrack']}
    run_ = world.playbook('audit', '--check', group_vars=gv)
    assert run_.returncode == 0, run_.output[-4000:]
    assert 'the run passes (fail_on: notrack)' in run_.stdout
    reports = world.cwd / 'reports'
    assert sorted(os.listdir(str(reports))) == ['fleet.html', 'fleet.json']
    data = json.loads((reports / 'fleet.json').read_text())
    assert data['options']['fail_on'] == ['notrack'] and data['counts']['unreachable'] == 1
    # -e wins over the inventory, and the variable of before keeps working
    run_ = world.playbook('audit', '--check', '-e', 'conntrack_audit_fail_on_drift=false', '-e',
                          'conntrack_audit_report_path=reports/e.json', group_vars=dict(gv, conntrack_audit_fail_on=None))
    assert run_.returncode == 0, run_.output[-4000:]
    # drift reported, not failing; a table full or dropping now would still fail
    assert 'the run passes (fail_on: full, dropping)' in run_.stdout
    assert json.loads((reports / 'e.json').read_text())['failed'] is False


def test_recommend_always_returns_warning_messages(world):
    # Ansible drops an empty 'warnings' from a result; warning_messages is always there. No
    # warning only while the global max is the kernel's default (what the default profile
    # recommends here): under the lock of the tests that lower it (another lane's rollout did, CI)
    with nsfill.host_global_lock():
        p = run(['ansible', '-i', world.inventory(), world.fresh, '-m', 'nfct.tuning.conntrack_recommend',
                 '-a', 'profile=default'], world.env, str(world.cwd))
    result = json.loads(p.stdout.split('=>', 1)[1])
    assert 'warnings' not in result and result['warning_messages'] == []
    p = run(['ansible', '-i', world.inventory(), world.fresh, '-m', 'nfct.tuning.conntrack_recommend',
             '-a', 'profile=web'], world.env, str(world.cwd))
    result = json.loads(p.stdout.split('=>', 1)[1])
    assert result['warning_messages'] and '[WARNING]' in p.stderr + p.stdout


def test_relieve_from_the_installed_tarball_in_containers(world):
    """nfct.tuning.relieve as a user runs it against containers: max is global and read-only there,
    so each says where to run (the node) and nothing changes, with --check --diff or without; the
    unreachable and the broken host fail the run, and nothing is written in the working folder."""
    before = snapshots(world)
    world.inventory()
    folder = sorted(os.listdir(str(world.cwd)))
    for args in (['--check', '--diff'], []):
        run_ = world.playbook('relieve', *args)
        assert run_.returncode == 4, run_.output[-4000:]   # the unreachable host
        lines = lines_of(run_.stdout)
        # the node's max, whatever it is on this machine
        assert sum(bool(re.match(r'table: 0 of max \d+ entries \(0%\) in this network namespace$', line))
                   for line in lines) == 3, lines
        assert sum('Run relieve on the node' in line for line in lines) == 3, lines
        assert not any('None' in line for line in lines)
        recap = run_.stdout[run_.stdout.index('PLAY RECAP'):]
        for name in world.boxes:
            line = next(x for x in recap.splitlines() if x.startswith(name + ' '))
            assert 'changed=0' in line and 'failed=0' in line, line
        assert 'cannot be changed from here' not in run_.output
    after = snapshots(world)
    for name in before:
        assert podhost.diff(before[name], after[name]) == [], name
    assert sorted(os.listdir(str(world.cwd))) == folder
