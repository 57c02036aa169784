# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What conntrack_users (and conntrack_audit) read on the host to find the users of
connection tracking: the kernel modules that hold nf_conntrack, every ruleset, processes,
units, rule files loaded at boot, ctnetlink listeners, other network namespaces and IPVS.
Read-only: nothing here loads a module (the legacy iptables tables are read only when they
exist) or writes anything. _users.analyze() turns the result into users and a verdict.
Also the whole of conntrack_facts' document (facts()): the facts with the forecast and NAT, for
that module and for conntrack_snapshot's gather_facts."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import platform
import re
import time

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.host import rulesets as _rulesets
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import observed as _observed
from ansible_collections.nfct.tuning.plugins.module_utils.users import rules as _users_rules, verdict as _users

LEGACY_NAMES = {'ipv4': '/proc/net/ip_tables_names', 'ipv6': '/proc/net/ip6_tables_names'}
CONTAINER_MARKERS = ('/run/.containerenv', '/.dockerenv')


def _listdir(io, path):
    try:
        return sorted(os.listdir(io.root + path))
    except (IOError, OSError):
        return None


def _readlink(io, path):
    try:
        return os.readlink(io.root + path)
    except (IOError, OSError):
        return None


def _int(text):
    try:
        return int((text or '').strip())
    except ValueError:
        return None


def _ns_inode(link):
    m = re.match(r'net:\[(\d+)\]$', link or '')
    return int(m.group(1)) if m else None


def kernel(io, release):
    st = _gather.module_state(io.root, release)
    mods = {}
    if st['type'] == 'module' and st['loaded']:
        todo = [_users.ROOT_MODULE]
        while todo and len(mods) < 256:
            name = todo.pop()
            if name in mods:
                continue
            holders = _listdir(io, '/sys/module/%s/holders' % name) or []
            mods[name] = {'refcnt': _int(io.read('/sys/module/%s/refcnt' % name)), 'holders': holders}
            todo.extend(holders)
    return {'type': st['type'], 'loaded': st['loaded'], 'evidence': st['evidence'], 'modules': mods}


def initial_netns(io):
    """True in the host's initial network namespace, False in another one (a container)."""
    try:
        mode = os.stat(_keys.proc_path('max', io.root)).st_mode
        return bool(mode & 0o222)
    except (IOError, OSError):
        pass
    mine, init = _readlink(io, '/proc/self/ns/net'), _readlink(io, '/proc/1/ns/net')
    if mine is None or init is None:
        return None
    if mine != init:
        return False
    env = io.read('/proc/1/environ') or ''
    return not (any(io.exists(p) for p in CONTAINER_MARKERS) or 'container=' in env)


def processes(io):
    """Every process: (pid, comm, args, netns inode); args only for the names we look for."""
    out = []
    for d in _listdir(io, '/proc') or []:
        if not d.isdigit():
            continue
        pid = int(d)
        comm = (io.read('/proc/%d/comm' % pid) or '').strip()
        if not comm:
            continue
        args = []
        if comm in _users.PROCESS_NAMES or comm.startswith(('kube', 'calico', 'cilium', 'ovs', 'ulogd')):
            args = [arg for arg in (io.read('/proc/%d/cmdline' % pid) or '').split('\0') if arg]
        out.append({'pid': pid, 'comm': comm, 'args': args,
                    'netns': _ns_inode(_readlink(io, '/proc/%d/ns/net' % pid))})
    return out


def socket_pids(io, inodes):
    """{inode: [pid]} for the sockets asked for, from /proc/*/fd."""
    want = set('socket:[%d]' % i for i in inodes)
    out = {}
    if not want:
        return out
    for d in _listdir(io, '/proc') or []:
        if not d.isdigit():
            continue
        for fd in _listdir(io, '/proc/%s/fd' % d) or []:
            link = _readlink(io, '/proc/%s/fd/%s' % (d, fd))
            if link in want:
                out.setdefault(int(link[8:-1]), []).append(int(d))
    return out


def units(io):
    systemctl = io.which('systemctl')
    if not systemctl or not io.exists('/run/systemd/system'):
        return {}
    rc, out, _err = io.cmd([systemctl, 'show', '--property=Id,LoadState,ActiveState,UnitFileState'] +
                           list(_users.UNITS))
    return _users.parse_systemctl_show(out) if rc == 0 else {}


def stat_count(text):
    """Entries from /proc/net/stat/nf_conntrack (first column of a data line, hex; the same
    per-namespace count in every line)."""
    for line in (text or '').splitlines()[1:]:
        f = line.split()
        if f:
            try:
                return int(f[0], 16)
            except ValueError:
                return None
    return None


def namespaces(io, procs, loaded):
    """Other network namespaces (seen from the initial one): their processes, names and live
    conntrack count."""
    mine = _ns_inode(_readlink(io, '/proc/self/ns/net'))
    spaces = {}
    for p in procs:
        if p['netns'] is not None and p['netns'] != mine:
            ns = spaces.setdefault(p['netns'], {'inode': p['netns'], 'names': [], 'pids': [], 'comms': []})
            ns['pids'].append(p['pid'])
            if p['comm'] not in ns['comms']:
                ns['comms'].append(p['comm'])
    for name in _listdir(io, '/run/netns') or []:
        try:
            ino = os.stat(io.root + '/run/netns/' + name).st_ino
        except (IOError, OSError):
            continue
        if ino != mine:
            spaces.setdefault(ino, {'inode': ino, 'names': [], 'pids': [], 'comms': []})['names'].append(name)
    nsenter = io.which('nsenter')
    for ns in spaces.values():
        if not loaded:
            ns['count'] = 0
            continue
        count = None
        for pid in ns['pids'][:3]:
            count = stat_count(io.read('/proc/%d/net/stat/nf_conntrack' % pid))
            if count is not None:
                break
        if count is None and ns['names'] and nsenter:
            rc, out, _err = io.cmd([nsenter, '--net=/run/netns/%s' % ns['names'][0], 'cat', '/proc/net/stat/nf_conntrack'])
            count = stat_count(out) if rc == 0 else None
        ns['count'] = count
    return sorted(spaces.values(), key=lambda n: n['inode'])


def rulesets_once(module, io, cache=None):
    """rulesets(); with a dict as `cache`, read once for every caller that shares it (the audit asks
    for NAT and for the users of conntrack in one run)."""
    if cache is None:
        return rulesets(module, io)
    if 'rulesets' not in cache:
        cache['rulesets'] = rulesets(module, io)
    return cache['rulesets']


def rulesets(module, io):
    tools = _rulesets.find_tools(io)
    for fam, path in LEGACY_NAMES.items():
        # iptables-legacy-save would load ip_tables to list nothing: read only tables that exist
        if tools['iptables-legacy'].get(fam) and not (io.read(path) or '').strip():
            tools['iptables-legacy'][fam] = None
    try:
        return _rulesets.read_rulesets(module, io, tools)
    except _rulesets.HostError as e:
        module.warn('%s; nftables rules are not considered' % e)
        tools['nftables'] = None
        return _rulesets.read_rulesets(module, io, tools)


def gather(module, io, release=None, cache=None):
    release = release or platform.release()
    k = kernel(io, release)
    nft, ipt = rulesets_once(module, io, cache)
    procs = processes(io)
    initial = initial_netns(io)
    spaces = namespaces(io, procs, k['loaded']) if initial else []
    # ctnetlink sockets of this namespace and of every other one (a listener anywhere keeps
    # nf_conntrack_netlink in use)
    netlink = '\n'.join([io.read('/proc/net/netlink') or ''] + [
        '\n'.join((io.read('/proc/%d/net/netlink' % ns['pids'][0]) or '').splitlines()[1:])
        for ns in spaces if ns['pids']])
    listeners = _users.ct_listener_inodes(netlink)
    sockets = socket_pids(io, listeners)
    wanted = set(pid for pids in sockets.values() for pid in pids)
    return {
        'kernel': k, 'initial_netns': initial, 'nft': nft, 'ipt': ipt,
        'processes': [p for p in procs if p['args'] or p['comm'] in _users.PROCESS_NAMES or p['pid'] in wanted],
        'units': units(io), 'files': dict((p, io.read(p)) for p in _users.FILES),
        'netlink': netlink, 'socket_pids': sockets,
        'namespaces': spaces,
        'ipvs': io.read('/proc/net/ip_vs'), 'ipvs_conntrack': _int(io.read('/proc/sys/net/ipv4/vs/conntrack')),
    }


def nat_possible(io, release):
    """False when no NAT rule can exist here: nf_nat is a loadable module that is not loaded. True
    otherwise (loaded, built in, or unknown), and then the rulesets are read."""
    if io.exists('/sys/module/nf_nat'):
        return True
    builtin = io.read('/lib/modules/%s/modules.builtin' % release) or ''
    if any(line.strip().endswith('/nf_nat.ko') for line in builtin.splitlines()):
        return True
    dep = io.read('/lib/modules/%s/modules.dep' % release) or ''
    return not any(os.path.basename(line.split(':', 1)[0]).split('.ko')[0] == 'nf_nat' for line in dep.splitlines())


def nat(module, io, release=None, cache=None):
    """The host's NAT rules (facts['nat']): who translates addresses here, read from the live
    rulesets like conntrack_users reads them; read-only. Docker's and Podman's masquerade and
    kube-proxy's service NAT count without a NAT profile."""
    release = release or platform.release()
    if not nat_possible(io, release):
        return {'detected': False, 'owners': [], 'evidence': [], 'rules': 0,
                'source': 'nf_nat is a module that is not loaded: no NAT rule can exist'}
    nft, ipt = rulesets_once(module, io, cache)
    out = _users_rules.nat_summary(nft, ipt)
    read = (['nft'] if nft is not None else []) + ['%s %s' % key for key in sorted(ipt)]
    out['source'] = ', '.join(read) if read else 'no nft or iptables-save here'
    return out


def facts(module, io, probes=None, **options):
    """ansible_facts.conntrack as conntrack_facts returns it: facts/gather.py gather(root=io.root,
    probes, **options) with the history's warning (warned), the forecast when there is a history
    and a max (sizing/observed.py), and the host's NAT (nat()). IOError/OSError propagate."""
    out = _gather.gather(root=io.root, probes=probes, **options)
    out.setdefault('history', None)
    out.setdefault('history_warning', None)
    if out['history_warning']:
        module.warn(out['history_warning'])
    out['forecast'] = _observed.forecast(out['history'], time.time(), out['max']) \
        if out['history'] and out.get('max') else None
    out['nat'] = nat(module, io, (out.get('kernel') or {}).get('release'))
    return out
