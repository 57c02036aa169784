# -*- coding: utf-8 -*-
"""kube-proxy's conntrack behaviour per release line (sizing/kubeproxy.py; issue 10, finding 1).

Read from kubernetes/kubernetes: getConntrackMax and setIntSysCtl in cmd/kube-proxy/app
(conntrack.go, server*.go) up to 1.35, pkg/proxy/conntrack/sysctls.go from 1.36; placed in
release lines by the CHANGELOG-1.xx entries of PRs #99613, #103174, #120448, #137002, #142035.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.sizing import kubeproxy as kp


# version, CPUs, maxPerCore, min -> max kube-proxy computes
@pytest.mark.parametrize('minor, cpus, per_core, minimum, expected', [
    (20, 2, 32768, 131072, 131072),      # max(65536, 131072)
    (20, 8, 32768, 131072, 262144),
    (22, 64, 32768, 131072, 2097152),    # no cap before 1.36
    (28, 64, 32768, 131072, 2097152),
    (29, 2, 32768, 131072, 131072),
    (35, 64, 32768, 131072, 2097152),
    (36, 64, 32768, 131072, 1048576),    # PR #137002: maxPerCore x CPUs capped at 1048576
    (36, 32, 32768, 131072, 1048576),    # exactly the cap
    (36, 16, 32768, 131072, 524288),
    (37, 512, 32768, 131072, 1048576),
    (38, 64, 32768, 131072, 1048576),
    (36, 64, 32768, 4000000, 1048576),   # the cap is checked before the floor
    (36, 4, 32768, 4000000, 4000000),    # a floor above the cap still wins under the cap
    (29, 2, 32768, 0, 65536),            # min 0: no floor
    (29, 8, 0, 131072, 0),               # maxPerCore 0: max and the hash size left alone, min ignored
    (38, 8, 0, 131072, 0),
])
def test_conntrack_max_per_line(minor, cpus, per_core, minimum, expected):
    assert kp.conntrack_max(minor, cpus, per_core, minimum) == expected


@pytest.mark.parametrize('minor, line, max_mode, timeouts_mode, cap', [
    (19, '<= 1.20', 'any', 'any', None),
    (20, '<= 1.20', 'any', 'any', None),
    (21, '1.21-1.22', 'any', 'any', None),
    (23, '1.23-1.28', 'raise', 'raise', None),      # PR #103174
    (28, '1.23-1.28', 'raise', 'raise', None),
    (29, '1.29-1.35', 'any', 'any', None),          # PR #120448 reverts it
    (35, '1.29-1.35', 'any', 'any', None),
    (36, '1.36-1.37', 'any', 'any', 1048576),       # PR #137002
    (37, '1.36-1.37', 'any', 'any', 1048576),
    (38, '1.38+', 'raise', 'any', 1048576),         # PR #142035: raise-only again, for max only
    (45, '1.38+', 'raise', 'any', 1048576),
])
def test_lines(minor, line, max_mode, timeouts_mode, cap):
    ln = kp.line(minor)
    assert (ln['line'], ln['max_mode'], ln['timeouts_mode'], ln['cap']) == (line, max_mode, timeouts_mode, cap)
    assert ln['source']


@pytest.mark.parametrize('minor, live, expected', [
    (29, 262144, 131072),   # 1.29-1.35 lower a larger live value: the "fight" of issue 10
    (29, 131072, None),
    (29, 65536, 131072),
    (25, 262144, None),     # 1.23-1.28 only raise
    (25, 65536, 131072),
    (38, 262144, None),     # 1.38+ only raise max
    (36, 262144, 131072),
])
def test_would_write_max(minor, live, expected):
    plan = kp.plan(dict(kp.DEFAULT_CONFIG, version=(1, minor)), 2)
    assert kp.would_write(plan, 'max', live) == expected


def test_hash_size_only_raised_to_max_over_4_and_timeouts():
    plan = kp.plan(dict(kp.DEFAULT_CONFIG, version=(1, 31)), 8)    # max 262144
    assert plan['hashsize_floor'] == 65536
    assert kp.would_write(plan, 'buckets', 65536) is None
    assert kp.would_write(plan, 'buckets', 1048576) is None
    assert kp.would_write(plan, 'buckets', 16384) == 65536
    assert plan['timeouts'] == {'tcp_timeout_established': 86400, 'tcp_timeout_close_wait': 3600}
    assert kp.would_write(plan, 'tcp_timeout_established', 432000) == 86400
    old = kp.plan(dict(kp.DEFAULT_CONFIG, version=(1, 25)), 8)
    # 1.23-1.28 raise-only for every sysctl: the 24h default never lowers the kernel's 5 days
    assert kp.would_write(old, 'tcp_timeout_established', 432000) is None
    assert kp.would_write(old, 'tcp_timeout_close_wait', 60) == 3600
    off = kp.plan(dict(kp.DEFAULT_CONFIG, version=(1, 31), max_per_core=0, tcp_established_timeout=0), 8)
    assert off['max'] is None and kp.would_write(off, 'max', 1) is None and kp.would_write(off, 'buckets', 1) is None
    assert 'tcp_timeout_established' not in off['timeouts']


@pytest.mark.parametrize('option, expected', [
    (None, None), ('', None), ('absent', {'absent': True}), ('Absent', {'absent': True}),
    ('1.31', (1, 31)), ('v1.31.2', (1, 31)), ('1.38.0-alpha.1', (1, 38)), (1.29, (1, 29)),
    ({'version': '1.30', 'max_per_core': 0}, (1, 30)),
    # kube-proxy's own conntrack: section, verbatim (issue 22, finding 11)
    ({'version': '1.31', 'conntrack': {'maxPerCore': 0, 'min': None, 'tcpEstablishedTimeout': '24h0m0s'}}, (1, 31)),
    ({'version': '1.31', 'maxPerCore': 0}, (1, 31)),
])
def test_normalize(option, expected):
    got = kp.normalize(option)
    if isinstance(expected, tuple):
        assert got['version'] == expected
    else:
        assert got == expected


@pytest.mark.parametrize('option, fragment', [
    ('2.1', "kube_proxy.version: expected a Kubernetes version 1.x"),
    ('latest', "kube_proxy.version: expected a Kubernetes version 1.x such as '1.31'"),
    (True, "kube_proxy: expected 'absent', a version"),
    (['1.31'], "kube_proxy: expected 'absent', a version"),
    ({'version': '1.31', 'maxPercore': 0}, "kube_proxy: unknown field maxPercore (did you mean 'maxPerCore'?)"),
    ({'version': '1.31', 'max_per_core': -1}, 'kube_proxy.max_per_core (conntrack.maxPerCore): -1 is outside'),
    ({'version': '1.31', 'min': 'lots'}, "kube_proxy.min (conntrack.min): expected an integer"),
    ({'version': '1.31', 'tcp_established_timeout': '24 hours'},
     "kube_proxy.tcp_established_timeout (conntrack.tcpEstablishedTimeout): expected a duration such as '24h0m0s'"),
    ({'version': '1.31', 'max_per_core': 1, 'maxPerCore': 2}, 'kube_proxy: conntrack.maxPerCore is given twice'),
    ({'version': '1.31', 'conntrack': 'maxPerCore: 0'}, 'kube_proxy.conntrack: expected the conntrack: section'),
    ({'version': '1.31', 'conntrack': {'tcpBeLiberal': 'yes'}},
     'kube_proxy.conntrack.tcp_be_liberal (conntrack.tcpBeLiberal): expected true or false'),
    (1.4, "kube_proxy.version: 1.4 arrived as a number, and YAML reads an unquoted 1.40 as 1.4 too: quote the version"),
])
def test_normalize_errors(option, fragment):
    with pytest.raises(kp.KubeProxyError) as e:
        kp.normalize(option)
    assert fragment in str(e.value)
