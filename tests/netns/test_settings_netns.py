# -*- coding: utf-8 -*-
"""conntrack_settings and the role on the real kernel, inside a throwaway network namespace:
per-netns timeouts really change and read back, global keys are reported read-only (not failed),
--check changes nothing, a second run changes nothing, and a steady-state role run makes at most
4 module executions (counted by a logging interpreter wrapper). Files go to a temporary folder,
never to the host's /etc."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces')


def interpreter(tmp_path):
    """A python that logs each module execution, so the test can count them."""
    log = tmp_path / 'executions.log'
    wrapper = tmp_path / 'python'
    wrapper.write_text('#!/bin/sh\necho run >> %s\nexec %s "$@"\n' % (log, sys.executable))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper), log


def playbook(ns, tmp_path, extra, check=False, ok=True):
    """The tune playbook inside the namespace, with the default file paths; /etc is a private copy
    (nsfill.private_root: tmp_path/root/etc), so the host's /etc is never written."""
    py, log = interpreter(tmp_path)
    if log.exists():
        log.unlink()
    root = nsfill.private_root(tmp_path)
    cmd = ['ip', 'netns', 'exec', ns.name] + nsfill.isolated(root, [
        os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
        '-e', 'ansible_python_interpreter=%s' % py, '-e', json.dumps(extra),
        os.path.join(REPO, 'playbooks', 'tune.yml')] + (['--check', '--diff'] if check else []))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, check=False)
    text = out.stdout.decode()
    assert (out.returncode == 0) is ok, text[-4000:] + out.stderr.decode()[-2000:]
    data = json.loads(text)
    runs = len(log.read_text().splitlines()) if log.exists() else 0
    return data, runs


def etc(tmp_path, rel=''):
    """A path in the private /etc of playbook()."""
    return os.path.join(nsfill.private_root(tmp_path), 'etc', rel)


def task_result(data, name):
    for play in data['plays']:
        for t in play['tasks']:
            if t['task']['name'].split(' : ')[-1] == name:
                return t['hosts']['localhost']
    raise KeyError(name)


def read(ns, short):
    return int(ns.read('/proc/sys/net/netfilter/nf_conntrack_%s' % short))


def test_role_in_netns_check_apply_idempotent(ns, tmp_path):
    host_max = int(open('/proc/sys/net/netfilter/nf_conntrack_max').read())
    ns.write_sysctl('tcp_timeout_time_wait', 120)
    sysctl_file = etc(tmp_path, 'sysctl.d/90-conntrack.conf')
    etc_before = nsfill.tree(etc(tmp_path))
    # --check --diff: reports, changes nothing (not even an empty file)
    data, _runs = playbook(ns, tmp_path, {'conntrack_profile': 'web'}, check=True)
    res = task_result(data, 'Apply to the running kernel and every persistent layer, then verify by reading them again')
    assert res['changed'] is True
    assert read(ns, 'tcp_timeout_time_wait') == 120
    assert nsfill.tree(etc(tmp_path)) == etc_before
    # apply
    data, _runs = playbook(ns, tmp_path, {'conntrack_profile': 'web'})
    res = task_result(data, 'Apply to the running kernel and every persistent layer, then verify by reading them again')
    assert res['changed'] is True
    assert read(ns, 'tcp_timeout_time_wait') == 60
    assert read(ns, 'tcp_timeout_established') == 86400
    assert res['keys']['tcp_timeout_time_wait']['runtime_before'] == 120
    assert res['keys']['tcp_timeout_time_wait']['runtime_after'] == 60
    # global keys: reported read-only, not failed, not persisted in a container's file
    assert 'outside the initial network namespace' in res['not_applied']['max']
    text = open(sysctl_file).read()
    assert 'nf_conntrack_tcp_timeout_time_wait = 60' in text and 'nf_conntrack_max' not in text
    assert int(open('/proc/sys/net/netfilter/nf_conntrack_max').read()) == host_max
    # steady state: nothing changes, 2 module executions (facts, settings with its own verify)
    data, runs = playbook(ns, tmp_path, {'conntrack_profile': 'web'})
    res = task_result(data, 'Apply to the running kernel and every persistent layer, then verify by reading them again')
    assert res['changed'] is False
    assert data['stats']['localhost']['changed'] == 0
    assert runs <= 2, runs
    # runtime drift is repaired by the next run
    ns.write_sysctl('tcp_timeout_time_wait', 77)
    data, _runs = playbook(ns, tmp_path, {'conntrack_profile': 'web'})
    assert task_result(data, 'Apply to the running kernel and every persistent layer, then verify by reading them again')['changed'] is True
    assert read(ns, 'tcp_timeout_time_wait') == 60


def test_readonly_fail_stops_before_changing(ns, tmp_path):
    py, _log = interpreter(tmp_path)
    cmd = ['ip', 'netns', 'exec', ns.name] + nsfill.isolated(nsfill.private_root(tmp_path), [
        os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local',
        '-i', 'localhost,', '-e', 'ansible_python_interpreter=%s' % py, '-m', 'nfct.tuning.conntrack_settings',
        '-a', json.dumps({'settings': {'max': 524288, 'udp_timeout': 11}, 'readonly': 'fail'})])
    out = subprocess.run(cmd, stdout=subprocess.PIPE, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg')),
                         cwd=REPO, check=False)
    assert out.returncode != 0
    assert b'readonly: fail' in out.stdout
    assert read(ns, 'udp_timeout') != 11
    assert not os.path.exists(etc(tmp_path, 'sysctl.d/90-conntrack.conf'))


def test_role_with_notrack_steady_state_at_most_4_executions(ns, tmp_path):
    # persist false: the NOTRACK files (/etc/nftables.d, ...) would be the host's; runtime only here
    extra = {'conntrack_profile': 'web', 'conntrack_persist': False,
             'conntrack_notrack': [{'interface': 'lo'}]}
    data, _runs = playbook(ns, tmp_path, extra)
    assert task_result(data, 'Apply the NOTRACK exemptions (our own nft table or iptables chains only)')['changed'] is True
    assert 'nfct_notrack' in nsfill.ns_exec(ns.name, ['nft', 'list', 'tables'], stdout=subprocess.PIPE).stdout.decode()
    data, runs = playbook(ns, tmp_path, extra)
    assert data['stats']['localhost']['changed'] == 0
    assert runs <= 3, runs
    # loopback traffic is no longer tracked
    before = ns.count()
    nsfill.ns_exec(ns.name, [sys.executable, '-c', 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); '
                             '[s.sendto(b"x", ("127.0.0.1", 7000 + i)) for i in range(50)]'])
    assert ns.count() == before


@pytest.mark.parametrize('exemption, task, fragment', [
    # an interface the host lacks: known once the facts are read (the recommendation step)
    ({'interface': 'eth9'}, 'Compute the recommendation on the controller and check every input of the steps below',
     "conntrack_notrack[0].interface: 'eth9' is not an interface on this host (present: lo)"),
    # a name that cannot be an interface: refused by the role's first task, before the facts (issue 22)
    ({'interface': 'lo;reboot'}, 'Check the variables of nfct.tuning.conntrack before anything runs',
     "conntrack_notrack[0].interface: 'lo;reboot' is not a valid interface name"),
    ({'interface': 'averyveryverylongname'}, 'Check the variables of nfct.tuning.conntrack before anything runs',
     'is not a valid interface name (1-15 letters'),
])
def test_role_checks_notrack_exemptions_before_the_first_change(ns, tmp_path, exemption, task, fragment):
    # issue 11, finding 6: a bad exemption used to fail in the NOTRACK step, after the sysctl
    # settings had been applied and persisted; issue 22, finding 10: the role's messages name its
    # variables (conntrack_notrack), not the module's options
    ns.write_sysctl('tcp_timeout_time_wait', 120)
    before = nsfill.tree(etc(tmp_path))
    data, _runs = playbook(ns, tmp_path, {'conntrack_profile': 'web', 'conntrack_notrack': [exemption]}, ok=False)
    res = task_result(data, task)
    assert res['failed'] is True and fragment in res['msg'], res['msg']
    assert res['msg'].startswith('conntrack_notrack[0].interface: ')
    assert read(ns, 'tcp_timeout_time_wait') == 120
    assert nsfill.tree(etc(tmp_path)) == before
    assert 'nfct_notrack' not in nsfill.ns_exec(ns.name, ['nft', 'list', 'tables'], stdout=subprocess.PIPE).stdout.decode()


@pytest.mark.parametrize('extra, fragment', [
    ({'conntrack_state': 'gone'}, 'conntrack_state'),
    ({'conntrack_lock_timeout': 'soon'}, 'conntrack_lock_timeout'),
    ({'conntrack_overrides': {'max': 'nan'}}, "overrides.max: expected an integer, got 'nan'"),
    ({'conntrack_memory_budget_percent': 90}, 'memory_budget_percent: 90 is outside the allowed range 0.1-50'),
    ({'conntrack_sysctl_file': '/etc/passwd'}, 'conntrack_sysctl_file: /etc/passwd is outside the directories '
                                               'systemd-sysctl'),
    # issue 22: a misspelt variable, a string where a list of exemptions goes, a timeout below its floor
    ({'conntrack_profil': 'edge'}, "conntrack_profil: not a variable of nfct.tuning.conntrack (did you mean "
                                   "'conntrack_profile'?)"),
    ({'conntrack_notrack': 'lo'}, "conntrack_notrack: expected a list of dicts, got the string 'lo'; write for example "
                                  "conntrack_notrack: [{interface: lo}"),
    ({'conntrack_overrides': {'tcp_timeout_time_wait': 1}}, 'conntrack_overrides.tcp_timeout_time_wait: 1 s is below '
                                                            'the floor of 60 s'),
    ({'conntrack_profile': 'p', 'conntrack_profiles': {'p': {'sizing': {'target_usage': 0}}}},
     'profiles.p.sizing.target_usage: 0 is outside the allowed range 0.1-0.9'),
])
def test_tune_playbook_refuses_bad_variables_before_any_change(ns, tmp_path, extra, fragment):
    ns.write_sysctl('tcp_timeout_time_wait', 120)
    before = nsfill.tree(etc(tmp_path))
    data, runs = playbook(ns, tmp_path, dict({'conntrack_profile': 'web'}, **extra), ok=False)
    failed = [h for play in data['plays'] for t in play['tasks'] for h in t['hosts'].values() if h.get('failed')]
    assert failed and fragment in failed[0]['msg'], failed
    # our check fails first (issue 22, finding 13): never Ansible's argument check with the whole spec
    assert 'argument_spec_data' not in failed[0] and 'ansible_collections' not in failed[0]['msg'], failed[0]
    assert read(ns, 'tcp_timeout_time_wait') == 120
    assert nsfill.tree(etc(tmp_path)) == before
    assert runs <= 1   # at most the facts module ran on the host
