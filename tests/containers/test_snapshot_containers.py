# -*- coding: utf-8 -*-
"""conntrack_snapshot in a systemd container of our image (--network none, its own netns):
conntrack_settings and conntrack_notrack (nftables, then iptables: the image's iptables flavour)
really change the container - runtime values, sysctl.d and modprobe.d, our nft table or raw
chains with the companion, the persisted rules, the loading service enabled - then a restore puts
it back: every file of /etc hashed with its mode, the nf_conntrack values and parameters, `nft list
ruleset` and iptables-save of both flavours are identical to before. A corrupt and a missing
snapshot fail with a clear message; check mode writes nothing, not even the snapshot folder."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'netns'))
import nsfill  # noqa: E402
import podhost  # noqa: E402
from podhost import Container  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='needs root and podman (make test installs it)')

SNAP = {'id': 'rollout-7'}
PATH = '/var/lib/nfct-tuning/snapshots/rollout-7.json'


@pytest.fixture(scope='module')
def tree():
    d = podhost.module_tree()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def box(tree):
    # the global keys a container reads (max, buckets) stay still while the test runs: the tests
    # that write them hold this lock
    with nsfill.host_global_lock():
        c = Container(tree=tree)
        try:
            yield c
        finally:
            c.remove()


def host_state(c):
    """Everything the role may change, comparable: /etc (mode, sha256, link; not mtimes), the
    nf_conntrack values and parameters, the nft ruleset, iptables-save of both flavours."""
    s = c.snapshot()
    s['files'] = dict((p, (v[0], v[2], v[3])) for p, v in s['files'].items() if p.startswith('/etc'))
    return s


def differences(a, b):
    return podhost.diff(a, b)


@pytest.mark.parametrize('backend', ['nftables', 'iptables'])
def test_role_changes_then_restore_is_exact(box, backend):
    before = host_state(box)
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='saved'), check=True)
    assert rc == 0 and res['changed'] is True, res
    assert box.sh('test -e /var/lib/nfct-tuning && echo yes || echo no').strip() == 'no', 'check mode wrote a folder'
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='saved'))
    assert rc == 0 and res['changed'] is True, res

    rc, res = box.module('conntrack_notrack', {'exemptions': [{'interface': 'lo'},
                                                              {'protocol': 'udp', 'port': 5000}],
                                               'backend': backend, 'companion': 'insert'})
    assert rc == 0 and res['changed'] is True, res
    rc, res = box.module('conntrack_settings', {'settings': {'udp_timeout': 41, 'tcp_timeout_time_wait': 61},
                                                'module_layers': 'always', 'boot_fix': 'udev'})
    assert rc == 0 and res['changed'] is True, res
    changed = host_state(box)
    assert differences(before, changed)

    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'), check=True)
    assert rc == 0 and res['changed'] is True, res
    assert not differences(changed, host_state(box)), 'check mode changed the host'

    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'))
    assert rc == 0 and res['changed'] is True, res
    after = host_state(box)
    assert not differences(before, after), differences(before, after)
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'))
    assert rc == 0 and res['changed'] is False, res


def test_corrupt_and_missing_snapshots_fail_clearly(box):
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'))
    assert rc != 0 and 'snapshot %s is missing: nothing to restore from' % PATH in res['msg'], res
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='saved'))
    assert rc == 0, res
    box.sh("sed -i 's/\"hashsize\": [0-9]*/\"hashsize\": 1/' %s" % PATH)
    before = host_state(box)
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'))
    assert rc != 0 and 'snapshot %s is corrupt' % PATH in res['msg'] and 'sha256 does not match' in res['msg'], res
    box.sh('head -c 100 %s > /tmp/x && cat /tmp/x > %s' % (PATH, PATH))
    rc, res = box.module('conntrack_snapshot', dict(SNAP, state='restored'))
    assert rc != 0 and 'is corrupt (not JSON' in res['msg'], res
    assert not differences(before, host_state(box))
