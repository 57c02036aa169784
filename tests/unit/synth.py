# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conntrack facts of made-up hosts, for the sizing engine's tests: the same keys
conntrack_facts returns, built from a few numbers (RAM, CPUs, kernel, live values, netns,
module or built-in). The kernel's own defaults come from _kernel, as gather() computes them."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel

GIB = 1024 ** 3


def facts(ram=8 * GIB, cpus=2, release=(6, 18, 0), count=0, cmax=None, buckets=None, initial=True,
          module='builtin', objsize=256, persisted=None, sysctls=None, stats=None, hashsize=None):
    """Facts of one host. cmax/buckets default to the kernel's own default for this RAM and
    kernel; persisted: {short: value} in sysctl.d (at boot); sysctls: extra/overriding values."""
    kd = _kernel.kernel_default(ram, 8, release, 4096, hashsize)
    cmax = kd['max'] if cmax is None else cmax
    buckets = kd['buckets'] if buckets is None else buckets
    sc = _kernel.default_timeouts(release)
    sc.update({'count': count, 'max': cmax, 'buckets': buckets, 'expect_max': 4096, 'acct': 0, 'timestamp': 0,
               'events': 2 if tuple(release[:2]) >= (5, 19) else 1, 'tcp_loose': 1, 'tcp_be_liberal': 0})
    sc.update(sysctls or {})
    writable = sorted(k for k in sc if k in _keys.KEYS and _keys.KEYS[k][0] != 'readonly'
                      and (initial or _keys.KEYS[k][1] == 'netns'))
    readonly = dict((k, 'global key: read-only (0444) outside the initial network namespace')
                    for k in sc if k in _keys.KEYS and _keys.KEYS[k][1] == 'global' and not initial)
    readonly['count'] = 'maintained by the kernel'
    at_boot = dict((k, {'value': str(v), 'file': '/etc/sysctl.d/90-conntrack.conf'})
                   for k, v in (persisted or {}).items())
    return {
        'available': True, 'kernel': {'release': '.'.join(str(x) for x in release), 'version': list(release),
                                      'arch': 'x86_64', 'pointer_size': 8, 'page_size': 4096},
        'ram_bytes': ram, 'cpus': cpus, 'euid': 0,
        'module': {'type': module, 'loaded': True, 'evidence': 'synthetic'},
        'netns': {'initial': initial, 'evidence': 'synthetic'},
        'sysctls': sc, 'writable': writable, 'readonly': readonly,
        'hashsize': {'value': buckets, 'writable': initial},
        'count': count, 'max': cmax, 'buckets': buckets,
        'usage_ratio': float(count) / cmax if cmax else None, 'load_factor': float(count) / buckets if buckets else None,
        'stats': dict({'source': 'procfs', 'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'invalid': 0},
                      **(stats or {})),
        'memory': {'object_size': objsize, 'object_size_source': 'slabinfo', 'bucket_size': 8},
        'persisted': {'at_boot': at_boot, 'sysctl_files': [], 'modprobe': {'hashsize': hashsize},
                      'modules_load': {'entries': [], 'loads_at_boot': False}},
        'kernel_default': kd,
    }
