# -*- coding: utf-8 -*-
"""conntrack_snapshot on the real kernel, in a throwaway network namespace (per-netns runtime
keys, its own nft ruleset with another tool's table) and a private /etc (nsfill.isolated): the
role's settings and NOTRACK (nftables, persisted) are applied through Ansible, then the host is
restored from the snapshot; every file of the private /etc is byte-identical with its mode, every
nf_conntrack value of the namespace is as before, and `nft list ruleset` of the namespace is
identical. The host's /etc and its systemd are never touched (services: false)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces')


def module(ns, root, name, args, check=False):
    """Run an nfct.tuning module through Ansible inside ns, /etc being root's private copy -> (ok, result)."""
    cmd = [os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local', '-i', 'localhost,',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'nfct.tuning.%s' % name,
           '-a', json.dumps(args), '-o'] + (['--check'] if check else [])
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    env.pop('SSH_CONNECTION', None)
    out = subprocess.run(['ip', 'netns', 'exec', ns.name] + nsfill.isolated(root, cmd), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=REPO, check=False)
    text = out.stdout.decode()
    assert '=>' in text, text + out.stderr.decode()
    return out.returncode == 0, json.loads(text.split('=>', 1)[1])


def runtime(ns):
    """Every nf_conntrack_* value of the namespace (but the count)."""
    script = ('for f in /proc/sys/net/netfilter/nf_conntrack_*; do case $f in *_count) ;; *) echo "$f $(cat $f)";; '
              'esac; done; echo hashsize $(cat /sys/module/nf_conntrack/parameters/hashsize)')
    return subprocess.run(['ip', 'netns', 'exec', ns.name, 'sh', '-c', script], stdout=subprocess.PIPE,
                          check=True).stdout.decode()


def ruleset(ns):
    return subprocess.run(['ip', 'netns', 'exec', ns.name, 'nft', 'list', 'ruleset'], stdout=subprocess.PIPE,
                          check=True).stdout.decode()


def test_apply_the_role_then_restore_exactly(ns, tmp_path):
    root = nsfill.private_root(tmp_path)
    etc = os.path.join(root, 'etc')
    with open(os.path.join(etc, 'nftables.conf'), 'w') as f:  # the admin's ruleset our include goes into
        f.write('#!/usr/sbin/nft -f\n\nflush ruleset\n')
    snaps = str(tmp_path / 'snapshots')
    snap = {'id': 'rollout-1', 'directory': snaps, 'services': False}
    with nsfill.host_global_lock():  # the global keys read here stay still while the test runs
        files_before, values_before, rules_before = nsfill.tree(etc), runtime(ns), ruleset(ns)
        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='saved'), check=True)
        assert ok and res['changed'] is True, res
        assert not os.path.exists(snaps), 'check mode wrote the snapshot'
        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='saved'))
        assert ok and res['changed'] is True, res
        assert os.stat(os.path.join(snaps, 'rollout-1.json')).st_mode & 0o777 == 0o600
        assert res['snapshot']['files']['/etc/nftables.conf'] and res['snapshot']['files']['/etc/sysctl.d/90-conntrack.conf'] is None

        # what the role applies: NOTRACK first (persisted, our include), then the settings
        ok, res = module(ns, root, 'conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'backend': 'nftables',
                                                         'enable_service': False})
        assert ok and res['changed'] is True, res
        ok, res = module(ns, root, 'conntrack_settings', {'settings': {'udp_timeout': 45, 'tcp_timeout_time_wait': 61,
                                                                       'tcp_timeout_established': 7441}})
        assert ok and res['changed'] is True, res
        assert nsfill.tree(etc) != files_before and runtime(ns) != values_before and ruleset(ns) != rules_before
        changed = nsfill.tree(etc), runtime(ns), ruleset(ns)

        # a second save keeps the first snapshot
        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='saved'))
        assert ok and res['changed'] is False, res
        # check mode reports, changes nothing
        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='restored'), check=True)
        assert ok and res['changed'] is True, res
        assert sorted(res['restored']['runtime']) == ['tcp_timeout_established', 'tcp_timeout_time_wait', 'udp_timeout']
        assert (nsfill.tree(etc), runtime(ns), ruleset(ns)) == changed

        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='restored'))
        assert ok and res['changed'] is True, res
        assert nsfill.tree(etc) == files_before
        assert runtime(ns) == values_before
        assert ruleset(ns) == rules_before

        ok, res = module(ns, root, 'conntrack_snapshot', dict(snap, state='restored'))
        assert ok and res['changed'] is False, res
