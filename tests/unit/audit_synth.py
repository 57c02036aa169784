# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_audit results of made-up fleets, built with the real pipeline (facts of synth.py,
the recommendation, the settings plan, _audit.host_entry): in sync, drifted in every kind, full
tables with drops, unreachable and failed hosts. For the report tests and `make bench`."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import random

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.host import state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown
from ansible_collections.nfct.tuning.plugins.module_utils.users import verdict as _users

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
    entry = _audit.host_entry(facts, rec, plan, current, PARAMS['udev_rule_file'], health=health_of(facts, shape, rnd))
    return {'changed': entry['status'] == 'drifted', 'audit': entry, 'report': _sizing.report_lines('h', facts, rec)}


def health_of(facts, shape, rnd):
    """The health of the table over a one-second sample inside the run: a full table drops during it."""
    last = _health.sample(facts, 1000.0, 'boot')
    first = dict(last, time=999.0, counters=dict(last['counters']))
    if shape == 'full':
        for name in ('drop', 'early_drop'):
            first['counters'][name] = max(0, last['counters'].get(name, 0) - rnd.randint(1, 50))
    start, window = _health.baseline(None, first, last, 86400.0 * rnd.randint(1, 60))
    return _health.evaluate(last, start, window)


SHAPES = ('in_sync',) * 6 + ('runtime', 'at_boot', 'shadowed', 'full', 'unreachable', 'failed')


def fleet(n, seed=1126):
    """{host: result} for n hosts named web-0001..., with every shape represented."""
    rnd = random.Random(seed)
    out = {}
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)] if i < len(SHAPES) else rnd.choice(SHAPES)
        out['host-%04d' % (i + 1)] = audit_result(rnd, shape)
    return out


# ---------------------------------------------------------------- users and breakdown
# what the audit adds on request: the users verdict (conntrack_audit_users, on by default) and the
# breakdown (conntrack_audit_breakdown); rich_fleet() puts them on the hosts of fleet()

def _obs(**kw):
    base = {'kernel': {'type': 'builtin', 'loaded': True, 'modules': {}}, 'initial_netns': True, 'nft': None,
            'ipt': {}, 'processes': [], 'units': {}, 'files': {}, 'netlink': '', 'socket_pids': {},
            'namespaces': [], 'ipvs': None, 'ipvs_conntrack': None}
    base.update(kw)
    return base


DOCKER_NAT = ('*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n'
              '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n')
KUBE_RULES = ('*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n'
              '-A KUBE-SVC-%s -j DNAT --to-destination 10.%d.%d.%d:8080\nCOMMIT\n'
              '*filter\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n')
KUBE_MODULES = {'nf_conntrack': {'refcnt': 3, 'holders': ['nf_nat', 'xt_conntrack']},
                'nf_nat': {'refcnt': 2, 'holders': ['xt_MASQUERADE']}, 'xt_MASQUERADE': {'refcnt': 1, 'holders': []},
                'xt_conntrack': {'refcnt': 2, 'holders': []}}
NFT_CONF = 'table inet filter {\n chain input {\n  ct state established,related accept\n }\n}\n'


def users_of(rnd):
    """A users verdict (users/verdict.analyze) of one of four kinds of host, with its own pids:
    nothing uses conntrack, a docker host, a node of one of four Kubernetes clusters, an nftables
    firewall loaded at boot."""
    kind = rnd.choice(('clean', 'docker', 'kube', 'nftables'))
    if kind == 'clean':
        return _users.analyze(_obs())
    if kind == 'docker':
        return _users.analyze(_obs(processes=[{'pid': rnd.randint(300, 99999), 'comm': 'dockerd',
                                               'args': ['/usr/bin/dockerd']}],
                                   ipt={('iptables-nft', 'ipv4'): DOCKER_NAT}))
    if kind == 'kube':
        # the nodes of one cluster carry the same Service rules (kube-proxy programs every Service
        # on every node): one of four clusters
        cluster = rnd.randint(1, 4)
        rules = KUBE_RULES % ('%08X' % (0x9E3779B1 * cluster % 2 ** 32), cluster, 96, 10 + cluster)
        return _users.analyze(_obs(kernel={'type': 'module', 'loaded': True, 'modules': KUBE_MODULES},
                                   processes=[{'pid': rnd.randint(300, 99999), 'comm': 'kube-proxy',
                                               'args': ['kube-proxy', '--proxy-mode=iptables']}],
                                   ipt={('iptables-nft', 'ipv4'): rules}))
    return _users.analyze(_obs(units={'nftables.service': {'load': 'loaded', 'active': 'active', 'enabled': True}},
                               files={'/etc/nftables.conf': NFT_CONF}))


def breakdown_of(rnd, total, top=10):
    """A breakdown (facts/breakdown.finish) of a table of `total` entries: TCP and UDP, IPv4 and
    IPv6, the TCP states, the top sources, destinations and destination ports."""
    total = max(int(total or 0), 0)
    tcp = total * rnd.randint(55, 90) // 100
    udp = total - tcp
    states = (('ESTABLISHED', 60), ('TIME_WAIT', 25), ('SYN_SENT', 5), ('CLOSE_WAIT', 5), ('FIN_WAIT', 5))
    groups = {}
    for state, share in states:
        groups[('ipv4', 'tcp', state, True, False)] = tcp * share // 100
    groups[('ipv4', 'udp', None, False, True)] = udp * 2 // 3
    groups[('ipv6', 'udp', None, True, False)] = udp - udp * 2 // 3

    def tops(make):
        counts = sorted((rnd.randint(1, max(total // 20, 1)) for _i in range(top)), reverse=True)
        return [(make(i), c) for i, c in enumerate(counts)]
    srcs = tops(lambda i: '10.%d.%d.%d' % (rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(1, 254)))
    dsts = tops(lambda i: '192.0.2.%d' % rnd.randint(1, 254) if i % 3 else '2001:db8::%x' % rnd.getrandbits(16))
    ports = tops(lambda i: ('tcp', (443, 80, 8080, 5432, 6379, 22)[i % 6] + i // 6) if i % 4 else ('udp', 53 + i))
    exact = total < 16384
    out = _breakdown.finish(total, groups, srcs, dsts, ports, (0, 0, 0) if exact else (3, 2, 1), exact)
    out['source'] = rnd.choice(('procfs', 'ctnetlink'))
    return out


def rich_fleet(n, seed=1126):
    """fleet(n, seed) - the same hosts, shapes and values - where every reachable host also carries
    its users verdict and every sixth one its breakdown, as the audit reports them (lines too)."""
    out = fleet(n, seed)
    rnd = random.Random(seed + 1)
    for i, name in enumerate(sorted(out)):
        result = out[name]
        if not isinstance(result.get('audit'), dict) or result.get('failed') or result.get('unreachable'):
            continue
        entry = dict(result['audit'], users=_audit.users_entry(users_of(rnd)))
        if i % 6 == 0:
            entry['breakdown'] = breakdown_of(rnd, (entry.get('usage') or {}).get('count'))
        entry['lines'] = _audit.lines(entry)
        out[name] = dict(result, audit=entry)
    return out
