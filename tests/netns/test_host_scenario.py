# -*- coding: utf-8 -*-
"""The Molecule `host` scenario changes this machine's global conntrack values and /etc files;
its safety net is cleanup.yml. Run the scenario with a failure injected after converge and check
that the values and files are exactly what they were before."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)
KEYS = ('max', 'buckets', 'expect_max', 'tcp_timeout_time_wait', 'tcp_timeout_established')
FILES = ('/etc/sysctl.d/90-conntrack.conf', '/etc/modprobe.d/nfct-tuning.conf')

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to write the initial netns')


def snapshot():
    vals = {}
    for k in KEYS:
        with open('/proc/sys/net/netfilter/nf_conntrack_%s' % k) as f:
            vals[k] = f.read()
    files = {}
    for p in FILES:
        files[p] = open(p).read() if os.path.exists(p) else None
    return vals, files


def test_failed_scenario_restores_the_host():
    before = snapshot()
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ['PATH'], NFCT_INJECT_FAILURE='verify',
               ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    out = subprocess.run([os.path.join(VENV_BIN, 'molecule'), 'test', '-s', 'host'], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    text = out.stdout.decode(errors='replace')
    assert out.returncode != 0, text[-3000:]
    # the scenario must have failed where the failure was injected, not earlier
    assert 'injected failure after converge changed the host' in text, text[-6000:]
    assert 'cleanup' in text, text[-6000:]
    assert snapshot() == before
