# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_audit results of made-up fleets, built with the real pipeline (facts of synth.py,
the recommendation, the settings plan, _audit.host_entry): in sync, drifted in every kind, full
tables with drops, unreachable and failed hosts. For the report tests and `make bench`."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import random

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit
from ansible_collections.nfct.tuning.plugins.module_utils.host import state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing

import synth

GIB = 1024 ** 3
PROFILES = ('default', 'web', 'nat_gateway', 'dns', 'edge', 'database')
PARAMS = {'state': 'present', 'runtime': True, 'persist': True, 'readonly': 'report', 'force': True,
          'memory_budget_percent': 50, 'boot_fix': 'auto', 'module_layers': 'auto',
          'sysctl_file': '/etc/sysctl.d/90-conntrack.conf', 'modprobe_file': '/etc/modprobe.d/nfct-tuning.conf',
          'modules_load_file': '/etc/modules-load.d/nfct-tuning.conf',
          'udev_rule_file': '/etc/udev/rules.d/90-nfct-tuning.rules'}


def audit_result(rnd, shape):
    """One host's registered conntrack_audit result for a shape: in_sync, runtime, at_boot,
    shadowed, full, unreachable, failed."""
    if shape == 'unreachable':
        return {'unreachable': True, 'changed': False,
                'msg': 'Failed to connect to the host via ssh: ssh: connect to host 10.0.0.%d port 22: No route to host'
                       % rnd.randint(2, 250)}
    if shape == 'failed':
        return {'failed': True, 'msg': 'MODULE FAILURE: /usr/bin/python3: not found'}
    profile = rnd.choice(PROFILES)
    ram = rnd.choice((2, 4, 8, 16, 64)) * GIB
    cpus = rnd.choice((2, 4, 8))
    # the recommendation for a host whose live values are the profile's (the tuned state), then
    # the shape's drift on top; a full table's recommendation is made from the full table
    base = synth.facts(ram=ram, cpus=cpus)
    desired = _sizing.recommend(base, profile=profile, force=True, only_raise=False,
                                memory_budget_percent=50)['recommended']
    sysctls = dict(desired)
    stats = {}
    if shape == 'runtime':
        sysctls['tcp_timeout_established'] = 432000
        sysctls['max'] = max(desired['max'] // 2, 1024)
    cmax = sysctls['max']
    count = rnd.randint(0, int(cmax * 0.6))
    if shape == 'full':
        count = cmax
        stats = dict(drop=rnd.randint(1, 5000), early_drop=rnd.randint(1, 500), insert_failed=rnd.randint(0, 90))
    facts = synth.facts(ram=ram, cpus=cpus, count=count, cmax=cmax, buckets=sysctls['buckets'], sysctls=sysctls,
                        stats=stats)
    rec = _sizing.recommend(facts, profile=profile, force=True, only_raise=False, memory_budget_percent=50)
    desired = rec['recommended']
    ours = dict(desired) if shape != 'full' else dict(sysctls, **dict((k, v) for k, v in desired.items()
                                                                      if k not in ('max', 'buckets')))
    text = _settings.render_sysctl(dict((k, v) for k, v in ours.items() if k in desired))
    listing = [('/etc/sysctl.d', {'90-conntrack.conf': {'content': text, 'real': '/etc/sysctl.d/90-conntrack.conf',
                                                        'masked': False}})]
    current = {PARAMS['sysctl_file']: text}
    if shape == 'at_boot':
        current = {}
        listing = []
    if shape == 'shadowed':
        listing.append(('/etc/sysctl.d', {'99-local.conf': {'content': 'net.netfilter.nf_conntrack_max = 65536\n',
                                                            'real': '/etc/sysctl.d/99-local.conf', 'masked': False}}))
    plan = _settings.plan(facts, desired, PARAMS, _state.of(current, listing))
    entry = _audit.host_entry(facts, rec, plan, current, PARAMS['udev_rule_file'])
    return {'changed': entry['status'] == 'drifted', 'audit': entry, 'report': _sizing.report_lines('h', facts, rec)}


SHAPES = ('in_sync',) * 6 + ('runtime', 'at_boot', 'shadowed', 'full', 'unreachable', 'failed')


def fleet(n, seed=1126):
    """{host: result} for n hosts named web-0001..., with every shape represented."""
    rnd = random.Random(seed)
    out = {}
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)] if i < len(SHAPES) else rnd.choice(SHAPES)
        out['host-%04d' % (i + 1)] = audit_result(rnd, shape)
    return out
