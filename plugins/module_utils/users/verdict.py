# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who uses connection tracking on a host, and can it be turned off (conntrack_users, the
audit, the role's conntrack_state: disabled). Pure functions over what _users_host read:

    obs = {'kernel': {'type': 'builtin'|'module'|'absent', 'loaded': bool,
                      'modules': {name: {'refcnt': int or None, 'holders': [name]}}},
           'initial_netns': bool or None,
           'nft': `nft -j list ruleset` or None, 'ipt': {(framework, family): iptables-save text},
           'processes': [{'pid', 'comm', 'args': [str], 'netns': inode or None}],
           'units': {unit: {'load', 'active', 'enabled'}}, 'files': {path: text or None},
           'netlink': /proc/net/netlink text, 'socket_pids': {inode: [pid]},
           'namespaces': [{'inode', 'names': [str], 'pids': [int], 'count': int or None}],
           'ipvs': /proc/net/ip_vs text or None, 'ipvs_conntrack': int or None}

A user is {'id', 'kind' ('module'|'rules'|'service'|'listener'|'namespace'|'boot'), 'name',
'needs' (losing tracking breaks it), 'blocking' (it must go before conntrack can be turned off),
'why', 'evidence': [str]}. Our own NOTRACK objects are listed apart and never block."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import re

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.users import rules as _users_rules

ROOT_MODULE = 'nf_conntrack'
# our NOTRACK chains (notrack/spec.py, the one specification of our objects)
UNTRACK_CHAINS = (_notrack.IPT_CHAINS['prerouting'], _notrack.IPT_CHAINS['output'])
EVIDENCE_MAX = 8

# What the kernel modules that hold nf_conntrack (directly or through nf_nat) are for.
MODULES = {
    'nf_nat': 'NAT core (masquerade, snat, dnat, redirect)',
    'nft_ct': 'nftables ct expressions (ct state, ct mark, notrack, ct helper)',
    'nft_chain_nat': 'nftables chains of type nat', 'nft_nat': 'nftables snat/dnat',
    'nft_masq': 'nftables masquerade', 'nft_redir': 'nftables redirect',
    'nft_flow_offload': 'nftables flowtable offload', 'nf_flow_table': 'flowtables',
    'nf_flow_table_inet': 'flowtables', 'nft_connlimit': 'nftables ct count', 'nf_conncount': 'connection limits',
    'nft_synproxy': 'nftables synproxy', 'nf_synproxy_core': 'SYNPROXY',
    'xt_conntrack': 'iptables -m conntrack', 'xt_state': 'iptables -m state', 'xt_connmark': 'iptables connmark',
    'xt_CT': 'iptables -j CT (notrack, helpers, zones)', 'xt_nat': 'iptables SNAT/DNAT',
    'xt_MASQUERADE': 'iptables MASQUERADE', 'xt_REDIRECT': 'iptables REDIRECT', 'xt_connlimit': 'iptables connlimit',
    'xt_connbytes': 'iptables connbytes', 'xt_connlabel': 'iptables connlabel', 'xt_helper': 'iptables -m helper',
    'xt_cluster': 'iptables -m cluster', 'xt_ipvs': 'iptables -m ipvs', 'xt_CONNSECMARK': 'iptables CONNSECMARK',
    'iptable_nat': 'the legacy iptables nat table (registers NAT hooks even when empty)',
    'ip6table_nat': 'the legacy ip6tables nat table (registers NAT hooks even when empty)',
    'ipt_MASQUERADE': 'iptables MASQUERADE (old kernels)',
    'nf_conntrack_netlink': 'ctnetlink: conntrack -L/-E, conntrackd, ulogd, kube-proxy clean-ups',
    'openvswitch': 'the Open vSwitch datapath (ct() actions)', 'act_ct': 'tc ct action',
    'ip_vs': 'IPVS load balancing (kube-proxy ipvs mode, keepalived LVS)',
    'nf_conntrack_bridge': 'conntrack on bridges', 'br_netfilter': 'netfilter on bridged traffic',
}
HELPER_RE = re.compile(r'^nf_(conntrack|nat)_(ftp|tftp|sip|h323|irc|amanda|pptp|snmp|sane|netbios_ns|broadcast|proto_gre)$')

# Services and tools: (name, process names, units, what it does with conntrack)
SERVICES = (
    ('docker', ('dockerd',), ('docker.service',), 'publishes ports with DNAT and masquerades container traffic'),
    ('podman', ('netavark', 'aardvark-dns', 'conmon'), ('podman.service',),
     'netavark/CNI networks NAT container traffic'),
    ('firewalld', ('firewalld',), ('firewalld.service',), 'its zones accept replies by conntrack state'),
    ('ufw', (), ('ufw.service',), 'its rules accept replies by conntrack state'),
    ('kube-proxy', ('kube-proxy',), ('kube-proxy.service',), 'Services are DNAT and masquerade rules'),
    ('kubelet', ('kubelet',), ('kubelet.service',), 'a Kubernetes node: pods reach Services through NAT'),
    ('cilium', ('cilium-agent',), (), 'installs conntrack-dependent rules for pods'),
    ('calico', ('calico-node', 'calico-felix'), (), 'installs conntrack-dependent rules for pods'),
    ('libvirt', ('libvirtd', 'virtnetworkd'), ('libvirtd.service', 'virtnetworkd.service'),
     'NAT virtual networks masquerade guest traffic'),
    ('openvswitch', ('ovs-vswitchd',), ('openvswitch-switch.service', 'ovs-vswitchd.service'),
     'OpenFlow ct() actions use the kernel conntrack'),
    ('conntrackd', ('conntrackd',), ('conntrackd.service',), 'replicates the conntrack table (failover)'),
    ('keepalived', ('keepalived',), ('keepalived.service',), 'with conntrackd: state sync on failover'),
    ('ulogd', ('ulogd',), ('ulogd.service', 'ulogd2.service'), 'NFCT plugin logs connections'),
)
# Services that need conntrack whenever they run: enabled at boot is enough to block
INHERENT = frozenset(['docker', 'firewalld', 'kube-proxy', 'kubelet', 'cilium', 'calico', 'conntrackd'])
# Services that load rules at boot, and the files they load
BOOT_LOADERS = (
    ('nftables.service', (('/etc/nftables.conf', 'nft'),)),
    ('netfilter-persistent.service', (('/etc/iptables/rules.v4', 'ipv4'), ('/etc/iptables/rules.v6', 'ipv6'))),
    ('iptables.service', (('/etc/sysconfig/iptables', 'ipv4'),)),
    ('ip6tables.service', (('/etc/sysconfig/ip6tables', 'ipv6'),)),
)
UNITS = tuple(sorted(set(u for s in SERVICES for u in s[2]) | set(u for u, _f in BOOT_LOADERS)))
FILES = tuple(sorted(set(p for _u, fs in BOOT_LOADERS for p, _k in fs) | set([
    '/etc/ufw/ufw.conf', '/etc/keepalived/keepalived.conf', '/etc/ulogd.conf'])))
PROCESS_NAMES = frozenset(n for s in SERVICES for n in s[1]) | frozenset(['conntrack'])
NETLINK_NETFILTER = 12
CT_GROUPS = 0x3f  # NFNLGRP_CONNTRACK_NEW .. NFNLGRP_CONNTRACK_EXP_DESTROY

# What loads nf_conntrack again once unloaded (module kernels), for the report and the docs.
RELOAD_TRIGGERS = (
    'an nftables rule with ct, nat, notrack or a flowtable (nft_ct, nft_chain_nat, ... need nf_conntrack)',
    'an iptables rule with -m state / -m conntrack / -m connmark / -j CT / -j MASQUERADE|SNAT|DNAT|REDIRECT',
    'the legacy iptables nat table, even only listed: `iptables-legacy -t nat -L` loads iptable_nat -> nf_nat',
    '`conntrack -L` / `conntrack -E` / conntrackd (ctnetlink: nf_conntrack_netlink)',
    'nftables.service, netfilter-persistent or iptables.service at boot when their files use the above',
    'Docker, podman (netavark), libvirt NAT networks, kube-proxy, Open vSwitch ct() actions starting',
    '`modprobe nf_conntrack` or a modules-load.d entry',
)
NOT_TRIGGERS = (
    '`iptables -L` / `nft list ruleset` of filter rules without conntrack matches',
    'plain accept/drop rules on addresses, ports and interfaces',
)


def _cap(lines, n=EVIDENCE_MAX):
    lines = list(lines)
    return lines[:n] + (['... and %d more' % (len(lines) - n)] if len(lines) > n else [])


def _user(uid, kind, name, needs, why, evidence, blocking=None, **extra):
    u = {'id': uid, 'kind': kind, 'name': name, 'needs': needs, 'why': why, 'evidence': _cap(evidence),
         'blocking': needs if blocking is None else blocking}
    u.update(extra)
    return u


# --------------------------------------------------------------------------- parsers

def parse_netlink(text):
    """/proc/net/netlink -> [{'protocol', 'portid', 'groups', 'inode'}]."""
    out = []
    for line in (text or '').splitlines()[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        try:
            out.append({'protocol': int(f[1]), 'portid': int(f[2]), 'groups': int(f[3], 16), 'inode': int(f[9])})
        except ValueError:
            continue
    return out


def ct_listener_inodes(text):
    """Inodes of netlink sockets subscribed to conntrack events."""
    return sorted(s['inode'] for s in parse_netlink(text)
                  if s['protocol'] == NETLINK_NETFILTER and s['groups'] & CT_GROUPS)


def parse_ipvs(text):
    """/proc/net/ip_vs -> ['TCP 0A000001:0050 rr', ...] (virtual services)."""
    out = []
    for line in (text or '').splitlines():
        f = line.split()
        if f and f[0] in ('TCP', 'UDP', 'SCTP', 'FWM'):
            out.append(' '.join(f[:3]))
    return out


def parse_systemctl_show(text):
    """`systemctl show -p Id,LoadState,ActiveState,UnitFileState U...` -> {unit: {...}}."""
    units, cur = {}, {}
    for line in (text or '').splitlines() + ['']:
        if not line.strip():
            if cur.get('Id'):
                units[cur['Id']] = {'load': cur.get('LoadState'), 'active': cur.get('ActiveState'),
                                    'enabled': cur.get('UnitFileState') in ('enabled', 'enabled-runtime', 'static',
                                                                            'alias', 'indirect', 'generated')}
            cur = {}
            continue
        k, _sep, v = line.partition('=')
        cur[k.strip()] = v.strip()
    return units


def module_closure(modules, root=ROOT_MODULE):
    """Every module that holds `root`, directly or through another holder, in an order that
    can be unloaded (holders before what they hold), ending with root."""
    seen, order = set(), []

    def visit(name, depth):
        if name in seen or depth > 32:
            return
        seen.add(name)
        for h in sorted((modules.get(name) or {}).get('holders') or []):
            visit(h, depth + 1)
        order.append(name)
    visit(root, 0)
    return order


def shell_config_enabled(text, key):
    """ufw.conf's ENABLED=yes style."""
    for line in (text or '').splitlines():
        line = line.split('#', 1)[0].strip()
        if line.startswith(key + '='):
            return line.split('=', 1)[1].strip().strip('"\'').lower() == 'yes'
    return False


# --------------------------------------------------------------------------- analysis

def rule_findings(obs):
    findings, native = [], set()
    if obs.get('nft'):
        findings += _users_rules.nft_findings(obs['nft'])
        native = _users_rules.native_xt_named(obs['nft'])
    for (fw, fam), text in sorted((obs.get('ipt') or {}).items()):
        findings += [f for f in _users_rules.ipt_findings(text, fw, fam)
                     if not (fw == 'iptables-nft' and (fam, f['table']) in native)]
    return findings


def rule_users(findings):
    groups = {}
    for f in findings:
        if f['ours']:
            continue
        key = (f['framework'], f['family'], f['table'])
        groups.setdefault(key, []).append(f)
    users = []
    for (fw, fam, table), file_findings in sorted(groups.items()):
        where = '%s %s' % (fam, table) if fw == 'nftables' else '%s %s %s' % (fw, fam, table)
        owners = sorted(set(f['owner'] for f in file_findings if f['owner']))
        uses = sorted(set(u for f in file_findings for u in f['uses']))
        needs = any(f['needs'] for f in file_findings)
        why = ('%d rule(s) use %s' % (len(file_findings), ', '.join(uses)) if needs else
               'only exempts traffic (notrack), but keeps the conntrack modules in use')
        users.append(_user('rules:%s:%s:%s' % (fw, fam, table), 'rules', where, needs, why,
                           ['%s: %s' % (f['chain'], f['text']) if f['chain'] else f['text'] for f in file_findings],
                           blocking=True, owners=owners, uses=uses))
    return users


def untrack_all(findings):
    """Do our NOTRACK objects exempt every packet (notrack rules without a match in both hooks) in
    nftables, or in every iptables backend and family they are in?"""
    whole = {}
    for f in findings:
        if not f['ours']:
            continue
        key = (f['framework'], f['family'])
        hooks = whole.setdefault(key, set())
        if f['framework'] == 'nftables' and f['text'] == 'notrack':
            hooks.add(f['chain'])
        elif f['text'] in ('-A %s -j CT --notrack' % c for c in UNTRACK_CHAINS):
            hooks.add(f['chain'])
    full = dict((k, v >= set(['prerouting', 'output']) or v >= set(UNTRACK_CHAINS)) for k, v in whole.items())
    if full.get(('nftables', 'inet')):
        return True
    ipt = [v for k, v in full.items() if k[0] != 'nftables']
    return bool(ipt) and all(ipt)


def our_objects(findings):
    return ['%s %s %s%s: %s' % (f['framework'], f['family'], f['table'], (' ' + f['chain']) if f['chain'] else '',
                                f['text']) for f in findings if f['ours']]


def _procs_named(obs, names):
    return [p for p in obs.get('processes') or [] if p['comm'] in names or
            (p.get('args') and p['args'][0].rsplit('/', 1)[-1] in names)]


def _unit_lines(obs, units):
    out = []
    for u in units:
        st = (obs.get('units') or {}).get(u)
        if st and st.get('load') == 'loaded' and (st.get('active') == 'active' or st.get('enabled')):
            out.append('%s %s (%s)' % (u, st.get('active'), 'enabled' if st.get('enabled') else 'not enabled'))
    return out


def service_users(obs, findings, modules_loaded):
    users = []
    owners = {}
    for f in findings:
        if f['owner'] and not f['ours']:
            owners.setdefault(f['owner'], set()).add('%s %s %s%s' % (
                f['framework'], f['family'], f['table'], (' chain ' + f['chain']) if f['chain'] else ''))
    files = obs.get('files') or {}
    for name, comms, units, what in SERVICES:
        procs = _procs_named(obs, comms)
        evidence = ['process %s (pid %d)' % (p['comm'], p['pid']) for p in procs[:3]]
        evidence += _unit_lines(obs, units)
        rules = sorted(owners.get(name, ()))
        evidence += ['rules in %s' % r for r in rules]
        needs = bool(procs or rules)
        why = what
        if name == 'ufw':
            enabled = shell_config_enabled(files.get('/etc/ufw/ufw.conf'), 'ENABLED')
            needs = enabled or bool(rules)
            if enabled:
                evidence.insert(0, '/etc/ufw/ufw.conf: ENABLED=yes')
        elif name == 'keepalived':
            conf = files.get('/etc/keepalived/keepalived.conf') or ''
            needs = bool(procs) and 'conntrackd' in conf
            if procs and not needs:
                why = 'runs without conntrackd in its configuration: it does not need conntrack'
        elif name == 'ulogd':
            conf = files.get('/etc/ulogd.conf') or ''
            needs = bool(procs) and bool(re.search(r'(?m)^\s*plugin\s*=.*NFCT', conf))
        elif name in ('libvirt', 'podman', 'openvswitch') and not rules:
            held = name == 'openvswitch' and 'openvswitch' in modules_loaded
            needs = held
            if procs and not held:
                why = 'runs, but no NAT rules of it were found: it does not need conntrack now'
        elif name in INHERENT:
            needs = needs or bool(_unit_lines(obs, units))
        if name == 'kube-proxy' and (procs or rules):
            evidence.insert(0, 'mode: %s' % kube_proxy_mode(procs, rules, obs))
        if not evidence:
            continue
        if not needs and why == what:
            why = 'present, but nothing of it that uses conntrack was found (when active, it %s)' % what
        users.append(_user('service:%s' % name, 'service', name, needs, why, evidence))
    for name in sorted(set(owners) - set(s[0] for s in SERVICES) - set(['nfct.tuning'])):
        users.append(_user('service:%s' % name, 'service', name, True, 'its rules use conntrack',
                           ['rules in %s' % r for r in sorted(owners[name])]))
    return users


def kube_proxy_mode(procs, rules, obs):
    """kube-proxy's mode from its command line, else from what it left: nft tables, IPVS
    services, iptables chains."""
    for p in procs:
        for i, arg in enumerate(p.get('args') or []):
            if arg.startswith('--proxy-mode='):
                return arg.split('=', 1)[1] + ' (--proxy-mode)'
            if arg == '--proxy-mode' and i + 1 < len(p['args']):
                return p['args'][i + 1] + ' (--proxy-mode)'
    if any(r.startswith('nftables ') for r in rules):
        return 'nftables (its nft tables)'
    if parse_ipvs(obs.get('ipvs')):
        return 'ipvs (IPVS virtual services)'
    return 'iptables (its KUBE-* chains)' if rules else 'unknown (its configuration file decides)'


def boot_users(obs):
    """Rule files that a boot service loads: they bring conntrack back at the next boot."""
    users = []
    files = obs.get('files') or {}
    for unit, paths in BOOT_LOADERS:
        st = (obs.get('units') or {}).get(unit) or {}
        if not st.get('enabled'):
            continue
        evidence, needs = [], False
        for path, kind in paths:
            text = files.get(path)
            if not text:
                continue
            if kind == 'nft':
                file_findings = _users_rules.nft_conf_findings(text, path)
                evidence += ['%s:%d: %s' % (path, f['line'], f['text']) for f in file_findings]
            else:
                file_findings = [f for f in _users_rules.save_file_findings(text, path, kind) if not f['ours']]
                evidence += ['%s: %s' % (path, f['text']) for f in file_findings]
            needs = needs or any(f['needs'] for f in file_findings)
        if evidence:
            users.append(_user('boot:%s' % unit, 'boot', unit, needs,
                               'loads rules that use conntrack at every boot (enabled)' if needs else
                               'loads notrack rules at every boot (enabled): they keep the conntrack modules in use',
                               evidence, blocking=True))
    return users


def listener_users(obs):
    users = []
    inodes = ct_listener_inodes(obs.get('netlink'))
    procs = dict((p['pid'], p) for p in obs.get('processes') or [])
    by_comm = {}
    for ino in inodes:
        for pid in (obs.get('socket_pids') or {}).get(ino, []) or [None]:
            p = procs.get(pid) or {'comm': 'unknown', 'args': []}
            by_comm.setdefault(p['comm'], []).append('pid %s (%s): netlink socket %d subscribed to conntrack events' % (
                pid if pid is not None else '?', ' '.join(p.get('args') or [p['comm']])[:120], ino))
    for comm, evidence in sorted(by_comm.items()):
        users.append(_user('listener:%s' % comm, 'listener', comm, True,
                           'reads conntrack events over ctnetlink: it stops working without conntrack', evidence))
    return users


def namespace_users(obs):
    users = []
    for ns in obs.get('namespaces') or []:
        label = ', '.join(ns.get('names') or []) or ('pid %s' % ', '.join(str(p) for p in (ns.get('pids') or [])[:3]))
        comms = ns.get('comms') or []
        evidence = ['netns %s (%s)%s: %s' % (ns['inode'], label, (' ' + ', '.join(comms[:3])) if comms else '',
                                             '%d entries' % ns['count'] if ns.get('count') is not None else 'count unreadable')]
        count = ns.get('count')
        if count:
            users.append(_user('namespace:%s' % ns['inode'], 'namespace', label, True,
                               '%d connections tracked there now' % count, evidence))
        elif count is None:
            users.append(_user('namespace:%s' % ns['inode'], 'namespace', label, None,
                               'its count could not be read: assume it may need conntrack', evidence, blocking=True))
        else:
            users.append(_user('namespace:%s' % ns['inode'], 'namespace', label, False,
                               'no entries there now', evidence))
    return users


def ipvs_users(obs):
    services = parse_ipvs(obs.get('ipvs'))
    if not services:
        return []
    needs = obs.get('ipvs_conntrack') != 0
    return [_user('service:ipvs', 'service', 'ipvs', needs,
                  'IPVS virtual services (kube-proxy ipvs mode or keepalived LVS) use conntrack for NAT' if needs else
                  'IPVS virtual services with net.ipv4.vs.conntrack = 0: IPVS keeps its own table',
                  ['/proc/net/ip_vs: %s' % s for s in services] +
                  (['net.ipv4.vs.conntrack = %s' % obs['ipvs_conntrack']] if obs.get('ipvs_conntrack') is not None else []))]


def module_users(obs, others, findings):
    """One user per loaded module that holds nf_conntrack (module kernels). A module none of
    whose references are explained by a holder module, a listed user or our own objects is in
    use by something we could not identify: it blocks."""
    k = obs.get('kernel') or {}
    mods = k.get('modules') or {}
    if k.get('type') != 'module' or not k.get('loaded'):
        return [], []
    order = module_closure(mods)
    explained = any(u['blocking'] for u in others)
    ours = any(f['ours'] for f in findings)
    users = []
    for name in order:
        module_info = mods.get(name) or {}
        holders = sorted(module_info.get('holders') or [])
        refcnt = module_info.get('refcnt')
        extra = (refcnt - len(holders)) if refcnt is not None else None
        what = MODULES.get(name) or ('conntrack helper' if HELPER_RE.match(name) else
                                     ('conntrack core' if name == ROOT_MODULE else 'holds nf_conntrack'))
        evidence = ['refcnt %s%s' % (refcnt, (', held by ' + ', '.join(holders)) if holders else '')]
        if extra and extra > 0:
            evidence.append('%d reference(s) from rules, sockets or other namespaces' % extra)
        blocking = bool(extra and extra > 0 and name != ROOT_MODULE and not explained and not ours)
        why = (what + ('; in use by something not identified here (rules in another network namespace, '
                       'a tc filter, an open socket?)' if blocking else ''))
        users.append(_user('module:%s' % name, 'module', name, False, why, evidence, blocking=blocking,
                           refcnt=refcnt, holders=holders))
    return users, order


def analyze(obs, ignore=()):
    """-> the report: users, ours, kernel, verdict (can_disable, blockers), unload order."""
    findings = rule_findings(obs)
    k = obs.get('kernel') or {}
    mods = k.get('modules') or {}
    others = (rule_users(findings) + service_users(obs, findings, set(mods)) + boot_users(obs) +
              listener_users(obs) + ipvs_users(obs) + namespace_users(obs))
    mod_users, order = module_users(obs, others, findings)
    users = mod_users + others
    ignored = []
    for u in users:
        if u['blocking'] and any(fnmatch.fnmatchcase(u['id'], pat) for pat in ignore or ()):
            u['blocking'] = False
            u['ignored'] = True
            ignored.append(u['id'])
    blockers = [u['id'] for u in users if u['blocking']]
    scope = 'host' if obs.get('initial_netns') else (
        'this network namespace only (other namespaces and the kernel modules are the host\'s business)'
        if obs.get('initial_netns') is False else 'unknown')
    report = {
        'kernel': k.get('type'), 'loaded': bool(k.get('loaded')), 'scope': scope,
        'users': users, 'ours': our_objects(findings), 'untrack_all': untrack_all(findings),
        'blockers': blockers, 'ignored': ignored,
        'can_disable': not blockers,
        'unload_order': list(order) if k.get('type') == 'module' else [],
        'loaded_by': loaded_by(mods, order) if k.get('type') == 'module' and k.get('loaded') else [],
        'reload_triggers': list(RELOAD_TRIGGERS) if k.get('type') == 'module' else [],
    }
    report['summary'] = summary_lines(report)
    return report


def loaded_by(mods, order):
    """Modules with references of their own (rules, sockets): what keeps nf_conntrack loaded."""
    out = []
    for name in order:
        module_info = mods.get(name) or {}
        holders = module_info.get('holders') or []
        if module_info.get('refcnt') is not None and module_info['refcnt'] - len(holders) > 0 and name != ROOT_MODULE:
            refs = module_info['refcnt'] - len(holders)
            out.append('%s (%s): %d reference(s)' % (name, MODULES.get(name, 'holds nf_conntrack'), refs))
    return out


def summary_lines(r):
    lines = []
    kernel = {'builtin': 'built into the kernel (cannot be unloaded)', 'module': 'a loadable module',
              'absent': 'not available in this kernel'}.get(r['kernel'], 'unknown')
    lines.append('nf_conntrack: %s, %s' % (kernel, 'loaded' if r['loaded'] else 'not loaded'))
    if r['scope'] != 'host':
        lines.append('scope: %s' % r['scope'])
    if r['can_disable']:
        lines.append('verdict: can_disable (nothing found that needs connection tracking)')
    else:
        lines.append('verdict: blocked by %d user(s): %s' % (len(r['blockers']), ', '.join(r['blockers'])))
    for u in r['users']:
        if u['kind'] == 'module' and not u['blocking']:
            continue
        mark = 'BLOCKS' if u['blocking'] else ('ignored' if u.get('ignored') else 'ok')
        lines.append('  [%s] %s: %s' % (mark, u['id'], u['why']))
        lines.extend('      %s' % e for e in u['evidence'][:3])
    if r['ours']:
        lines.append('  ours (this collection\'s NOTRACK objects, never blocking): %d rule(s)%s' % (
            len(r['ours']), ', exempting all traffic (untrack_all)' if r['untrack_all'] else ''))
    if r['loaded_by']:
        lines.append('  kept loaded by: %s' % '; '.join(r['loaded_by']))
    return lines
