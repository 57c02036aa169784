# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils import _drift


def settings(drifted, keys=None, files=None):
    return {'changed': drifted, 'drift_report': {'drifted': drifted, 'keys': keys or {}, 'files': files or []}}


KEY = {'kinds': ['runtime'], 'desired': 30, 'runtime': 99, 'persisted': 30, 'at_boot': 30,
       'at_boot_file': '/etc/sysctl.d/90-conntrack.conf', 'shadowed_by': []}
NT_OK = {'drifted': False, 'backend': 'nftables', 'state': 'present',
         'ruleset': {'missing': [], 'extra': [], 'other_backends': []},
         'companion': {'missing': [], 'extra': [], 'refused': []}, 'persistence': {'files': [], 'services': []}}
NT_BAD = dict(NT_OK, drifted=True, ruleset={'missing': ['nftables: iifname "lo" notrack'], 'extra': [],
                                            'other_backends': []})


def test_collect_and_lines():
    rep = _drift.collect({
        'a': {'settings': settings(True, {'tcp_timeout_time_wait': KEY, 'max': {'kinds': [], 'readonly': 'global'}}),
              'recommendation': {'profile': 'web'}},
        'b': {'settings': settings(False), 'notrack': {'drift_report': NT_OK, 'changed': False}},
        'c': {'settings': settings(False), 'notrack': {'drift_report': NT_BAD, 'changed': True}},
        'd': {'settings': {'failed': True, 'msg': 'boom'}},
        'e': {'settings': settings(False), 'notrack': {'skipped': True}},
    })
    assert rep['drifted_hosts'] == ['a', 'c', 'd']
    assert rep['hosts']['a']['keys'] == {'tcp_timeout_time_wait': KEY}
    assert rep['hosts']['a']['readonly'] == {'max': 'global'}
    assert rep['hosts']['b']['drifted'] is False and rep['hosts']['b']['notrack'] == NT_OK
    assert 'notrack' not in rep['hosts']['e']
    lines = _drift.lines(rep)
    assert 'a: DRIFT' in lines
    assert any(l.startswith('  tcp_timeout_time_wait: runtime (desired 30, runtime 99') for l in lines)
    assert '  NOTRACK: in sync (nftables)' in lines
    assert any('missing rule: nftables: iifname "lo" notrack' in l for l in lines)
    assert 'd: ERROR boom' in lines


def test_refused_notrack_counts_as_drift():
    rep = _drift.collect({'h': {'settings': settings(False),
                                'notrack': {'failed': True, 'msg': 'refused: companion', 'drift_report': NT_OK}}})
    assert rep['drifted'] is True
    assert rep['hosts']['h']['notrack']['error'] == 'refused: companion'
