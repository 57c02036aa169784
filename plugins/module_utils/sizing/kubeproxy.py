# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kube-proxy writes to the conntrack sysctls, per release line. Pure data and functions.

Read from kubernetes/kubernetes (cmd/kube-proxy/app/conntrack.go and server*.go up to 1.35,
pkg/proxy/conntrack/sysctls.go from 1.36) and placed in release lines by the CHANGELOG-1.xx
entries of the PRs named below; docs/profiles.md ("kubernetes_node") has the details.

In every line:
  - max = max(maxPerCore x CPUs, min) (getConntrackMax); maxPerCore 0 leaves nf_conntrack_max
    AND the hash size alone (min is then ignored);
  - the hash size is raised to max/4 when it is below (never lowered);
  - tcp_timeout_established (default 24h) and tcp_timeout_close_wait (default 1h) are written
    when configured above 0.
What changed between lines: whether max is written only when it is lower (raise-only) or
whenever it differs, the cap of the per-CPU product, and the CPU count.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

CAP_1_36 = 1048576

DEFAULT_CONFIG = {
    'max_per_core': 32768,
    'min': 131072,
    'tcp_established_timeout': 86400,
    'tcp_close_wait_timeout': 3600,
}
# option name -> kube-proxy KubeProxyConntrackConfiguration field (for messages)
CONFIG_FIELDS = {
    'max_per_core': 'conntrack.maxPerCore',
    'min': 'conntrack.min',
    'tcp_established_timeout': 'conntrack.tcpEstablishedTimeout',
    'tcp_close_wait_timeout': 'conntrack.tcpCloseWaitTimeout',
}

_SRC = 'kube-proxy getConntrackMax / setIntSysCtl'
# (first minor, last minor or None, max_mode, cap, timeouts_mode, cpu count, source)
# max_mode / timeouts_mode: 'any' = writes whenever the value differs (can lower it),
# 'raise' = writes only when the current value is lower.
LINES = (
    (0, 20, 'any', None, 'any', 'runtime.NumCPU() (the process affinity)',
     '%s, cmd/kube-proxy/app/conntrack.go (val != value); 1.20 and earlier' % _SRC),
    (21, 22, 'any', None, 'any', 'online CPUs of the host (cadvisor, PR #99613)',
     '%s, cmd/kube-proxy/app/conntrack.go (val != value)' % _SRC),
    (23, 28, 'raise', None, 'raise', 'online CPUs of the host (cadvisor)',
     '%s, PR #103174 "Do not attempt to overwrite higher system (sysctl) values" (1.23)' % _SRC),
    (29, 35, 'any', None, 'any', 'online CPUs of the host (cadvisor)',
     '%s, PR #120448 reverts #103174 (1.29): lower values are written too' % _SRC),
    (36, 37, 'any', CAP_1_36, 'any', 'online CPUs of the host',
     'pkg/proxy/conntrack/sysctls.go, PR #137002 caps maxPerCore x CPUs at 1048576 (1.36)'),
    (38, None, 'raise', CAP_1_36, 'any', 'online CPUs of the host (cpuset.NumCPU)',
     'pkg/proxy/conntrack/sysctls.go, PR #142035 writes nf_conntrack_max only when it is lower (1.38)'),
)
NEWEST_KNOWN = 38


class KubeProxyError(ValueError):
    """Bad kube_proxy option; the message names the field and what is allowed."""


def parse_version(value, where='kube_proxy.version'):
    """'1.29', 'v1.30.2', '1.38.0-alpha.1' -> (1, minor)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise KubeProxyError("%s: expected a Kubernetes version such as '1.31' or 'v1.31.2', got %r" % (where, value))
    m = re.match(r'^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$', str(value).strip())
    if not m or int(m.group(1)) != 1:
        raise KubeProxyError("%s: expected a Kubernetes version 1.x such as '1.31' or 'v1.31.2', got %r"
                             % (where, value))
    return 1, int(m.group(2))


def line(minor):
    for first, last, max_mode, cap, t_mode, cpus, source in LINES:
        if minor >= first and (last is None or minor <= last):
            name = '1.%d-1.%d' % (first, last) if last is not None else '1.%d+' % first
            if first == 0:
                name = '<= 1.20'
            return {'line': name, 'max_mode': max_mode, 'cap': cap, 'timeouts_mode': t_mode,
                    'cpus': cpus, 'source': source}
    raise KubeProxyError('kube_proxy.version: no release line for 1.%d' % minor)


def _int_field(cfg, key, lo, hi):
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, str) and re.match(r'^\s*[0-9]+\s*$', v):
            v = int(v)
        else:
            raise KubeProxyError('kube_proxy.%s (%s): expected an integer %d-%d, got %r'
                                 % (key, CONFIG_FIELDS[key], lo, hi, cfg[key]))
    if v < lo or v > hi:
        raise KubeProxyError('kube_proxy.%s (%s): %d is outside the allowed range %d-%d'
                             % (key, CONFIG_FIELDS[key], v, lo, hi))
    return v


def normalize(option):
    """The kube_proxy option -> None (not stated), {'absent': True}, or a config dict.

    Accepted: null (unknown), 'absent', a version string, or a dict with 'version' and any of
    max_per_core, min, tcp_established_timeout, tcp_close_wait_timeout (kube-proxy's
    conntrack settings; defaults are kube-proxy's own).
    """
    if option is None or option == '':
        return None
    if isinstance(option, str) and option.strip().lower() == 'absent':
        return {'absent': True}
    if isinstance(option, (str, int, float)) and not isinstance(option, bool):
        option = {'version': option}
    if not isinstance(option, dict):
        raise KubeProxyError("kube_proxy: expected 'absent', a version such as '1.31', or a dict with 'version' "
                             "(and max_per_core, min, tcp_established_timeout, tcp_close_wait_timeout); got %s"
                             % type(option).__name__)
    unknown = set(option) - set(DEFAULT_CONFIG) - {'version'}
    if unknown:
        raise KubeProxyError('kube_proxy: unknown field(s) %s; allowed: version, %s'
                             % (', '.join(sorted(str(u) for u in unknown)), ', '.join(sorted(DEFAULT_CONFIG))))
    if 'version' not in option:
        raise KubeProxyError("kube_proxy.version: required (e.g. '1.31'); use kube_proxy: absent when the node runs "
                             "no kube-proxy")
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(dict((k, v) for k, v in option.items() if k != 'version'))
    out = {'absent': False, 'version': parse_version(option['version'])}
    out['max_per_core'] = _int_field(cfg, 'max_per_core', 0, 2 ** 28)
    out['min'] = _int_field(cfg, 'min', 0, 2 ** 28)
    out['tcp_established_timeout'] = _int_field(cfg, 'tcp_established_timeout', 0, 2147483)
    out['tcp_close_wait_timeout'] = _int_field(cfg, 'tcp_close_wait_timeout', 0, 2147483)
    return out


def conntrack_max(minor, cpus, max_per_core=32768, minimum=131072):
    """nf_conntrack_max kube-proxy 1.<minor> computes (0: it leaves max and the hash size alone)."""
    if not max_per_core:
        return 0
    scaled = max_per_core * cpus
    cap = line(minor)['cap']
    if cap is not None and scaled > cap:
        return cap  # 1.36+: the cap is checked before the floor
    return max(scaled, minimum)


def plan(cfg, cpus):
    """What kube-proxy (normalized config) will write on this node: max, hash size floor, timeouts."""
    minor = cfg['version'][1]
    ln = line(minor)
    k = conntrack_max(minor, cpus, cfg['max_per_core'], cfg['min'])
    timeouts = {}
    if cfg['tcp_established_timeout']:
        timeouts['tcp_timeout_established'] = cfg['tcp_established_timeout']
    if cfg['tcp_close_wait_timeout']:
        timeouts['tcp_timeout_close_wait'] = cfg['tcp_close_wait_timeout']
    if k and ln['cap'] is not None and cfg['max_per_core'] * cpus > ln['cap']:
        why = 'min(%d x %d CPUs, cap %d)' % (cfg['max_per_core'], cpus, ln['cap'])
    elif k:
        why = 'max(%d x %d CPUs, min %d)' % (cfg['max_per_core'], cpus, cfg['min'])
    else:
        why = 'maxPerCore 0: nf_conntrack_max and the hash size are left alone'
    return dict(ln, version='1.%d' % minor, max=k or None, hashsize_floor=(k // 4) if k else None,
                timeouts=timeouts, formula=why)


def would_write(kp, short, value):
    """Would kube-proxy change `short` away from `value`? Returns its value or None."""
    if short == 'max':
        if not kp['max']:
            return None
        if kp['max_mode'] == 'raise':
            return kp['max'] if value < kp['max'] else None
        return kp['max'] if value != kp['max'] else None
    if short == 'buckets':
        if kp['hashsize_floor'] and value < kp['hashsize_floor']:
            return kp['hashsize_floor']
        return None
    want = kp['timeouts'].get(short)
    if want is None:
        return None
    if kp['timeouts_mode'] == 'raise':
        return want if value < want else None
    return want if value != want else None
