# -*- coding: utf-8 -*-
"""conntrack_settings in the host's initial network namespace (nf_conntrack built in here):
really writes max and buckets (the live hash table is resized), reads them back, writes the
file atomically, and is idempotent. The original values are saved first and restored in a
finally block whatever happens; the module runs with a private copy of /etc
(nsfill.isolated), so its file never reaches the host's /etc."""
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
PROC = '/proc/sys/net/netfilter/nf_conntrack_%s'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to write the initial netns')


def get(short):
    with open(PROC % short) as f:
        return int(f.read())


def put(short, value):
    with open(PROC % short, 'w') as f:
        f.write('%d\n' % value)


def module(args, root, check=False):
    cmd = nsfill.isolated(root, [
        os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local', '-i', 'localhost,',
        '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'nfct.tuning.conntrack_settings',
        '-a', json.dumps(args), '-o'] + (['--check'] if check else []))
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg')))
    text = out.stdout.decode()
    return out.returncode, json.loads(text.split('=>', 1)[1])


@pytest.fixture
def saved():
    before = {k: get(k) for k in ('max', 'buckets', 'expect_max')}
    try:
        yield before
    finally:
        # buckets first: resizing back cannot fail for lack of max
        put('buckets', before['buckets'])
        put('max', before['max'])
        put('expect_max', before['expect_max'])
        assert {k: get(k) for k in before} == before


def test_host_max_and_buckets(saved, tmp_path):
    target = {'max': saved['max'] + 65536, 'buckets': saved['buckets'] + 300}  # kernel rounds to 512s
    args = {'settings': target}
    root = nsfill.private_root(tmp_path)
    conf = os.path.join(root, 'etc/sysctl.d/90-conntrack.conf')
    rc, res = module(args, root, check=True)
    assert rc == 0 and res['changed'] is True
    assert get('max') == saved['max'] and not os.path.exists(conf)
    rc, res = module(args, root)
    assert rc == 0 and res['changed'] is True, res
    rounded = ((target['buckets'] + 511) // 512) * 512
    assert get('max') == target['max']
    assert get('buckets') == rounded
    assert res['keys']['buckets']['runtime_after'] == rounded
    with open('/sys/module/nf_conntrack/parameters/hashsize') as f:
        assert int(f.read()) == rounded
    with open(conf) as f:
        text = f.read()
    assert 'net.netfilter.nf_conntrack_max = %d' % target['max'] in text
    assert res['cmdline_hint'] == 'nf_conntrack.hashsize=%d' % target['buckets']
    # idempotent, although the kernel rounded buckets: the same input changes nothing
    rc, res = module(args, root)
    assert rc == 0 and res['changed'] is False, res


def test_host_refuses_max_below_live_count_and_budget(saved, tmp_path):
    rc, res = module({'settings': {'max': 10 ** 8}}, nsfill.private_root(tmp_path))
    assert rc != 0 and 'memory_budget_percent' in res['msg']
    assert get('max') == saved['max']
