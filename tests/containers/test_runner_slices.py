# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit under ansible-runner (the engine of AWX / Automation Platform) and under job slicing
(issue 25, item 5; docs/fleet.md): a fleet of 7 hosts - 5 fresh systemd containers of our image,
3 of them tuned with the role first (two with the web profile, one of those drifted by hand, one
with dns), one fresh host whose inventory asks for web (drifted), one host that does not exist
(unreachable) and one whose module cannot run (no Python: failed).

The collection comes from the built tarball, installed where AWX installs a project's collections
(the private data dir's requirements_collections, on ANSIBLE_COLLECTIONS_PATH); the project holds a
one-line playbook that imports nfct.tuning.audit, unchanged. Every job runs with
`ansible-runner run PRIVATE_DATA_DIR -p audit.yml --inventory PRIVATE_DATA_DIR/inventory/hosts`,
its extra vars in env/extravars, as AWX lays a job out. A slice job gets what AWX's
build_inventory() writes for it: an executable inventory script printing the inventory's JSON with
the slice's hosts only (Inventory.get_script_data(slice_number, slice_count): the hosts ordered by
name, every count-th from number - 1; every group kept, emptied of the other slices' hosts;
remote_tower_id in the hostvars). Slice jobs reuse one private data dir one after the other, so
each sees the same paths, as AWX's jobs do inside their execution environment (/runner).

Checked: the one run's verdict through runner (rc 2, status failed), each slice's (a slice whose
hosts all pass: rc 0, successful); the three slices' JSON reports merged with the documented
command (ansible-playbook nfct.tuning.merge_reports) equal the one run's report but for the run's
own fields (report.comparable()); its JUnit XML and HTML differ from the one run's only in lines
that carry those fields; the merge's own verdict (rc 2, the failing hosts named); a merge of
reports that share a host is refused with the reason, writing nothing.
One module run per host per audit; the containers serve every job.

Then the rollout (nfct.tuning.rollout, unchanged, in a project playbook) in three slice jobs run at
once, each in a private data dir of its own, with conntrack_rollout_restore_all: the slice whose
second stage fails a user check puts that stage back and then its first stage's host, each
byte-exact (files, every net.netfilter value, the ruleset); the other slices complete; the slices'
rollout reports merge with nfct.tuning.merge_rollout_reports into one (stopped, the failing host,
gate and restores named), and an audit report among them is refused.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import concurrent.futures
import copy
import difflib
import glob
import importlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import podhost

sys.path.insert(0, os.path.join(podhost.REPO, 'tests', 'netns'))
import nsfill  # noqa: E402

REPO = podhost.REPO
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
DIST = os.environ.get('NFCT_DIST') or os.path.join(REPO, '.cache', 'dist')
OFFLINE = os.path.join(REPO, '.cache', 'collections', 'ansible_collections')
SLICES = 3
# inventory name -> (container role, host vars). Sorted by name, slice 1 (every third from the
# first) holds only hosts that pass; slices 2 and 3 hold the failing ones.
FLEET = {
    'a-fresh': ('fresh', {}),
    'b-drifted': ('drifted', {'conntrack_profile': 'web'}),
    'c-gone': (None, {'ansible_host': 'nfct-runner-gone'}),
    'd-tuned': ('tuned', {'conntrack_profile': 'web'}),
    'e-broken': ('fresh', {'ansible_python_interpreter': '/usr/bin/python-nfct-missing'}),
    'f-untuned-web': ('untuned', {'conntrack_profile': 'web'}),
    'g-tuned-dns': ('dns', {'conntrack_profile': 'dns'}),
}
TUNED = ('b-drifted', 'd-tuned', 'g-tuned-dns')
PASSING = ('a-fresh', 'd-tuned', 'g-tuned-dns')
INVENTORY_VARS = {'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='podman containers need root')


def awx_slice(hosts, number, count):
    """The hosts of slice `number` (1-based) of `count`, as AWX's Inventory.get_sliced_hosts gives
    them: ordered by name, every count-th from offset number - 1 (all of them when count is 1)."""
    ordered = sorted(hosts)
    return ordered[number - 1::count] if count > 1 and number > 0 else ordered


def inventory_script(hostvars, number=1, count=1):
    """What AWX's build_inventory() writes to inventory/hosts for a (slice) job: a Python script
    printing the inventory's JSON (get_script_data with hostvars and towervars): the slice's hosts,
    each group with its hosts of the slice (a group left with none is only named under all), the
    hosts of no group under all."""
    hosts = awx_slice(hostvars, number, count)
    groups = {'containers': [], 'tuned': [h for h in TUNED if h in hosts]}
    data = {'all': {'vars': INVENTORY_VARS, 'hosts': [h for h in hosts if not any(h in g for g in groups.values())],
                    'children': sorted(groups)}}
    data.update((name, {'hosts': members}) for name, members in groups.items() if members)
    towervars = dict((h, {'remote_tower_enabled': 'true', 'remote_tower_id': i + 1, 'remote_host_enabled': 'true',
                          'remote_host_id': i + 1}) for i, h in enumerate(sorted(hostvars)))
    data['_meta'] = {'hostvars': dict((h, dict(hostvars[h], **towervars[h])) for h in hosts)}
    return '#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n' % json.dumps(data)


def tarball():
    found = sorted(glob.glob(os.path.join(DIST, 'nfct-tuning-*.tar.gz')), key=os.path.getmtime)
    if not found:
        pytest.fail('no nfct-tuning tarball in %s: make build (make containers builds it first)' % DIST)
    return found[-1]


def user_env():
    """The controller's environment without our ANSIBLE_* settings (no ansible.cfg of ours)."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    env.update(PATH=VENV_BIN + os.pathsep + env.get('PATH', os.defpath), ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8',
               LANG='C.UTF-8')
    env.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'scripts', 'containers.conf'))
    env.pop('PYTHONPATH', None)
    return env


def run(argv, env, cwd):
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, check=False, timeout=900)
    return p


class Jobs(object):
    """A private data dir laid out as AWX lays out a job's, and the jobs run in it one after the
    other (each with its own ident: artifacts/IDENT/{rc,status,stdout})."""

    def __init__(self, base, hostvars):
        self.pdd = base / 'pdd'
        self.hostvars = hostvars
        self.shared = base / 'shared'          # where the jobs write their reports (a path exposed to jobs)
        self.shared.mkdir()
        for sub in ('env', 'inventory', 'project'):
            (self.pdd / sub).mkdir(parents=True)
        self.collections = self.pdd / 'requirements_collections'
        self.env = user_env()
        self.env['ANSIBLE_COLLECTIONS_PATH'] = str(self.collections)
        p = run(['ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', str(self.collections),
                 tarball()], self.env, str(base))
        assert p.returncode == 0, p.stdout[-3000:]
        # AWX installs containers.podman from the project's collections/requirements.yml; here the offline copy
        shutil.copytree(os.path.join(OFFLINE, 'containers'),
                        str(self.collections / 'ansible_collections' / 'containers'))
        (self.pdd / 'env' / 'envvars').write_text(json.dumps({'ANSIBLE_COLLECTIONS_PATH': str(self.collections)}))
        for name in ('audit', 'tune', 'rollout'):
            (self.pdd / 'project' / ('%s.yml' % name)).write_text(
                '---\n- name: The collection playbook, unchanged\n'
                '  ansible.builtin.import_playbook: nfct.tuning.%s\n' % name)
        self.next_id = 100

    def sibling(self, name):
        """Another private data dir with the same project, environment and collections, for a job
        that runs at the same time as this one's (AWX runs the slice jobs of one job in parallel)."""
        other = copy.copy(self)
        other.pdd = self.pdd.parent / name
        for sub in ('env', 'project'):
            shutil.copytree(str(self.pdd / sub), str(other.pdd / sub))
        (other.pdd / 'inventory').mkdir()
        return other

    def run(self, playbook, ident, number=1, count=1, limit=None, extravars=None, job_id=None):
        """One job: its inventory (the slice's), its extra vars (awx_job_id ...), ansible-runner run."""
        if job_id is None:
            self.next_id += 1
            job_id = self.next_id
        script = self.pdd / 'inventory' / 'hosts'
        script.write_text(inventory_script(self.hostvars, number, count))
        script.chmod(0o700)
        (self.pdd / 'env' / 'extravars').write_text(json.dumps(dict(extravars or {}, awx_job_id=job_id)))
        argv = ['ansible-runner', 'run', str(self.pdd), '-p', '%s.yml' % playbook, '--ident', ident,
                '--inventory', str(script)]
        if limit:
            argv += ['--limit', limit]
        p = run(argv, self.env, str(self.pdd))
        art = self.pdd / 'artifacts' / ident
        job = {'cli_rc': p.returncode, 'output': p.stdout, 'id': job_id,
               'rc': int((art / 'rc').read_text()), 'status': (art / 'status').read_text().strip(),
               'stdout': (art / 'stdout').read_text()}
        return job

    def paths(self, job_id, folder=None):
        folder = folder or self.shared
        return dict((kind, folder / ('conntrack-audit-%d.%s' % (job_id, kind)))
                    for kind in ('json', 'junit.xml', 'html'))


REPORT_VARS = {'conntrack_audit_report_path': '{{ shared }}/conntrack-audit-{{ awx_job_id }}.json',
               'conntrack_audit_junit_path': '{{ shared }}/conntrack-audit-{{ awx_job_id }}.junit.xml',
               'conntrack_audit_html_path': '{{ shared }}/conntrack-audit-{{ awx_job_id }}.html'}


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    base = tmp_path_factory.mktemp('runner-slices')
    boxes = {}
    try:
        for role in ('fresh', 'drifted', 'tuned', 'untuned', 'dns'):
            boxes[role] = podhost.Container()
        hostvars = {}
        for name, (role, hv) in FLEET.items():
            hostvars[name] = dict(hv)
            if role:
                hostvars[name].setdefault('ansible_host', boxes[role].name)
        jobs = Jobs(base, hostvars)
        jobs.boxes = dict((name, boxes[role]) for name, (role, _hv) in FLEET.items() if role)
        tune = jobs.run('tune', 'tune', limit=','.join(TUNED))
        assert (tune['rc'], tune['status']) == (0, 'successful'), tune['stdout'][-4000:]
        boxes['drifted'].sh('sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=99')
        yield jobs
    finally:
        for box in boxes.values():
            box.remove()


@pytest.fixture(scope='module')
def audits(fleet):
    """The audit in one job over the fleet, then in SLICES slice jobs; their reports in shared/
    (the slices') and shared/one/ (the one run's). Under the lock of the tests that change the
    host's global values: max is global, every container reports it, and the fleet must be in one
    state for the runs to compare."""
    one_dir = fleet.shared / 'one'
    one_dir.mkdir()
    with nsfill.host_global_lock():
        one = fleet.run('audit', 'audit-one', extravars=dict((k, v.replace('{{ shared }}', str(one_dir)))
                                                             for k, v in REPORT_VARS.items()))
        slices = [fleet.run('audit', 'audit-slice-%d' % k, number=k, count=SLICES,
                            extravars=dict((k2, v.replace('{{ shared }}', str(fleet.shared)))
                                           for k2, v in REPORT_VARS.items()))
                  for k in range(1, SLICES + 1)]
    return one, slices, one_dir


def report_module(fleet):
    """audit/report.py of the collection installed from the tarball (comparable(), the window texts)."""
    if str(fleet.collections) not in sys.path:
        sys.path.insert(0, str(fleet.collections))
    return importlib.import_module('ansible_collections.nfct.tuning.plugins.module_utils.audit.report')


def load(path):
    with open(str(path)) as f:
        return json.load(f)


def test_runner_gives_the_audit_verdict(fleet, audits):
    one, slices, one_dir = audits
    # the one run: hosts fail the audit -> ansible-playbook exits 2, runner's status failed
    assert (one['rc'], one['status'], one['cli_rc']) == (2, 'failed', 2), one['stdout'][-4000:]
    report = load(fleet.paths(one['id'], one_dir)['json'])
    assert sorted(report['hosts']) == sorted(FLEET)
    assert report['failing_hosts'] == sorted(set(FLEET) - set(PASSING)), report['failing_hosts']
    assert report['counts'] == {'hosts': 7, 'checked': 5, 'in_sync': 3, 'drifted': 2, 'unreachable': 1, 'failed': 1,
                                'failing': 4, 'unhealthy': 0}
    assert report['hosts']['g-tuned-dns']['profile'] == 'dns' and report['profiles'] == ['default', 'dns', 'web']
    assert 'conntrack audit: 7 hosts - 3 in sync, 2 drifted' in one['stdout']
    # each slice: its hosts only, its own verdict
    for k, job in enumerate(slices, 1):
        part = load(fleet.paths(job['id'])['json'])
        assert sorted(part['hosts']) == awx_slice(FLEET, k, SLICES)
        passes = set(part['hosts']) <= set(PASSING)
        assert (job['rc'], job['status']) == ((0, 'successful') if passes else (2, 'failed')), job['stdout'][-3000:]
        assert part['failed'] is not passes
    assert [set(load(fleet.paths(j['id'])['json'])['hosts']) <= set(PASSING) for j in slices] == [True, False, False]


@pytest.fixture(scope='module')
def merged(fleet, audits):
    """The documented command: ansible-playbook nfct.tuning.merge_reports, from an empty folder."""
    work = fleet.shared.parent / 'merge'
    work.mkdir()
    p = run(['ansible-playbook', 'nfct.tuning.merge_reports', '-e',
             json.dumps({'conntrack_merge_reports': [str(fleet.shared / 'conntrack-audit-*.json')]})],
            fleet.env, str(work))
    return p, work


def test_merged_slices_equal_the_one_run(fleet, audits, merged):
    one, _slices, one_dir = audits
    p, work = merged
    # the merged report fails the run as the one run does, naming the failing hosts
    assert p.returncode == 2, p.stdout[-4000:]
    assert 'merged 3 reports: ' in p.stdout
    assert 'conntrack audit (merged): 4 host(s) fail the run: b-drifted (runtime); c-gone (unreachable); ' \
           'e-broken (failed); f-untuned-web (' in ' '.join(p.stdout.split()), p.stdout[-3000:]
    whole = load(fleet.paths(one['id'], one_dir)['json'])
    merged_report = load(work / 'conntrack-audit.json')
    comparable = report_module(fleet).comparable
    assert comparable(merged_report) == comparable(whole)
    # generated_at: the newest slice's
    assert merged_report['generated_at'] == max(load(fleet.paths(j['id'])['json'])['generated_at'] for j in _slices)
    # the health sampled in each run: compared but for its window's length and start
    assert all(e['health']['window']['source'] == 'sample' for e in merged_report['hosts'].values()
               if e['status'] in ('in_sync', 'drifted'))


def run_specific(line, reports, report_py):
    """Does this line of a JUnit or HTML file carry what differs from run to run (generated_at, a
    health window, Ansible's temporary folder on the host)?"""
    texts = [r['generated_at'] for r in reports]
    for r in reports:
        for e in r['hosts'].values():
            window = (e.get('health') or {}).get('window')
            if window:
                texts += [window['why'], report_py._health._window_text(window)]
    return any(t and t in line for t in texts) or any(p.search(line) for p in report_py.RUN_PATTERNS)


@pytest.mark.parametrize('kind', ['junit.xml', 'html'])
def test_merged_junit_and_html_are_the_one_runs(fleet, audits, merged, kind):
    one, _slices, one_dir = audits
    _p, work = merged
    whole_text = fleet.paths(one['id'], one_dir)[kind].read_text()
    merged_text = (work / ('conntrack-audit.%s' % kind)).read_text()
    reports = [load(fleet.paths(one['id'], one_dir)['json']), load(work / 'conntrack-audit.json')]
    # HTML pages carry their sections on few long lines: split at tags to compare them piece by piece
    split = (lambda t: t.replace('><', '>\n<').splitlines()) if kind == 'html' else (lambda t: t.splitlines())
    differing = [line for line in difflib.unified_diff(split(whole_text), split(merged_text), lineterm='', n=0)
                 if line[:1] in '+-' and not line.startswith(('+++', '---'))]
    report_py = report_module(fleet)
    assert [line for line in differing if not run_specific(line, reports, report_py)] == []
    assert len(split(whole_text)) == len(split(merged_text))


def test_merge_refuses_reports_that_share_a_host(fleet, audits):
    one, slices, one_dir = audits
    work = fleet.shared.parent / 'refused'
    work.mkdir()
    p = run(['ansible-playbook', 'nfct.tuning.merge_reports', '-e', json.dumps({'conntrack_merge_reports': [
        str(fleet.paths(one['id'], one_dir)['json']), str(fleet.paths(slices[0]['id'])['json'])]})],
        fleet.env, str(work))
    assert p.returncode == 2, p.stdout[-3000:]
    assert 'merge: host a-fresh is in two reports, %s and %s: each host must be in one report only' % (
        fleet.paths(one['id'], one_dir)['json'], fleet.paths(slices[0]['id'])['json']) in ' '.join(p.stdout.split()), \
        p.stdout[-3000:]
    assert os.listdir(str(work)) == []


# The rollout under runner, in parallel slices (AWX runs a sliced job's slices at the same time),
# conntrack_rollout_restore_all on: slice 1 (a-fresh | d-tuned, g-tuned-dns) stops at its stage 2,
# where g-tuned-dns fails the user check; its stage is put back, and restore_all puts back a-fresh,
# whose stage had passed. The hosts that cannot run a rollout (c-gone, e-broken) are left out with
# --limit, as a user would.
ROLLOUT_LIMIT = 'all:!c-gone:!e-broken'
ROLLOUT_VARS = {'conntrack_rollout_stages': [1, '100%'], 'conntrack_rollout_soak': 2,
                'conntrack_rollout_restore_all': True,
                'conntrack_rollout_checks': [{'name': 'app', 'command': 'test ! -e /etc/nfct-fault-check'}],
                'conntrack_rollout_report_path': '{{ shared }}/conntrack-rollout-{{ awx_job_id }}.json',
                'conntrack_rollout_html_path': '{{ shared }}/conntrack-rollout-{{ awx_job_id }}.html'}


@pytest.fixture(scope='module')
def rollouts(fleet, audits):
    """The rollout's three slice jobs at once; the hosts' state before and after. Under the lock of
    the tests that change the host's global values (the states read max, which is global)."""
    hosts = [h for h in sorted(fleet.boxes) if h not in ('e-broken',)]
    extravars = dict((k, v.replace('{{ shared }}', str(fleet.shared)) if isinstance(v, str) else v)
                     for k, v in ROLLOUT_VARS.items())
    with nsfill.host_global_lock():
        before = dict((h, podhost.role_state(fleet.boxes[h])) for h in hosts)
        fleet.boxes['g-tuned-dns'].write('/etc/nfct-fault-check', 'the app check fails on this host\n')
        try:
            pdds = [fleet.sibling('pdd-rollout-%d' % k) for k in range(1, SLICES + 1)]
            with concurrent.futures.ThreadPoolExecutor(max_workers=SLICES) as pool:
                jobs = list(pool.map(lambda k: pdds[k - 1].run('rollout', 'rollout-slice-%d' % k, number=k,
                                                               count=SLICES, limit=ROLLOUT_LIMIT, extravars=extravars,
                                                               job_id=200 + k), range(1, SLICES + 1)))
        finally:
            fleet.boxes['g-tuned-dns'].sh('rm -f /etc/nfct-fault-check')
        after = dict((h, podhost.role_state(fleet.boxes[h])) for h in hosts)
    return jobs, before, after


def rollout_report(fleet, job):
    return load(fleet.shared / ('conntrack-rollout-%d.json' % job['id']))


def test_the_rollout_runs_sliced_under_runner_and_restore_all_puts_back_earlier_stages(fleet, rollouts):
    jobs, before, after = rollouts
    one, two, three = [rollout_report(fleet, j) for j in jobs]
    # slice 1 stops: rc 2, the report names the host, the gate and the restores
    assert (jobs[0]['rc'], jobs[0]['status']) == (2, 'failed'), jobs[0]['stdout'][-5000:]
    assert one['status'] == 'stopped' and [s['hosts'] for s in one['stages']] == [['a-fresh'], ['d-tuned', 'g-tuned-dns']]
    assert [s['status'] for s in one['stages']] == ['restored', 'failed'], one['stages']
    failed = one['stages'][1]['results']['g-tuned-dns']
    assert [f['gate'] for f in failed['failures']] == ['check:app'] and failed['restore'] == 'restored', failed
    assert one['stages'][1]['results']['d-tuned']['restore'] == 'restored'
    assert one['stages'][0]['results']['a-fresh']['restore'] == 'restored (conntrack_rollout_restore_all)'
    assert [d['decision'] for d in one['decisions']] == ['stop', 'restore_all']
    assert 'conntrack_rollout_restore_all: put back a-fresh' in jobs[0]['stdout']
    # every host of slice 1 is back as it was (a-fresh had the change: its files and values)
    for host in ('a-fresh', 'd-tuned', 'g-tuned-dns'):
        assert podhost.without_snapshots(after[host]) == podhost.without_snapshots(before[host]), host
    # slices 2 and 3 completed: their hosts have the change
    for job, part, host in ((jobs[1], two, 'b-drifted'), (jobs[2], three, 'f-untuned-web')):
        assert (job['rc'], job['status']) == (0, 'successful'), job['stdout'][-5000:]
        assert part['status'] == 'completed' and [s['hosts'] for s in part['stages']] == [[host]], part['stages']
        assert after[host] != before[host], host


def test_the_slices_rollout_reports_merge_into_one(fleet, rollouts):
    jobs, _before, _after = rollouts
    work = fleet.shared.parent / 'merge-rollout'
    work.mkdir()
    p = run(['ansible-playbook', 'nfct.tuning.merge_rollout_reports', '-e',
             json.dumps({'conntrack_merge_reports': [str(fleet.shared / 'conntrack-rollout-*.json')]})],
            fleet.env, str(work))
    text = ' '.join(p.stdout.split())
    assert p.returncode == 2, p.stdout[-4000:]
    assert 'conntrack rollout (merged): 3 slice(s), 5 host(s): STOPPED' in text, p.stdout[-4000:]
    assert 'g-tuned-dns: stage 2: check:app failed; restore: restored' in text
    merged = load(work / 'conntrack-rollout.json')
    assert merged['status'] == 'stopped' and merged['merged'] is True
    assert sorted(merged['hosts']) == ['a-fresh', 'b-drifted', 'd-tuned', 'f-untuned-web', 'g-tuned-dns']
    assert [part['rollout_id'] for part in merged['slices']] == [rollout_report(fleet, j)['rollout_id'] for j in jobs]
    assert (work / 'conntrack-rollout.html').read_text().count('<h2>slice ') == SLICES
    # an audit report among them: refused with the playbook to use, nothing written
    refused = fleet.shared.parent / 'merge-rollout-refused'
    refused.mkdir()
    p = run(['ansible-playbook', 'nfct.tuning.merge_rollout_reports', '-e', json.dumps({'conntrack_merge_reports': [
        str(fleet.shared / 'conntrack-rollout-201.json'), str(fleet.shared / 'conntrack-audit-*.json')]})],
        fleet.env, str(refused))
    assert p.returncode == 2 and 'audit reports merge with nfct.tuning.merge_reports' in ' '.join(p.stdout.split()), \
        p.stdout[-3000:]
    assert os.listdir(str(refused)) == []
