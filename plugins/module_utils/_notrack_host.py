# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What conntrack_notrack (and conntrack_audit) read on the host: the installed firewall tools,
every live ruleset, the persisted files and services, the control connection. All of it goes
through HostIO, which unit tests replace."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import socket

from ansible_collections.nfct.tuning.plugins.module_utils import _lock, _notrack, _notrack_plan

C_ENV = {'LANG': 'C', 'LC_ALL': 'C'}
UNIT_DIRS = ('/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system')


class HostError(Exception):
    """A ruleset could not be read; the message says which and why."""


class HostIO(object):
    """Everything the module reads, writes or runs on the host (unit tests replace it). Files are
    under `root` ('' on a real host; a folder in unit tests)."""

    def __init__(self, module, root=''):
        self.module = module
        self.root = root

    def which(self, name):
        return self.module.get_bin_path(name)

    def cmd(self, argv, data=None):
        return self.module.run_command(argv, data=data, binary_data=True, environ_update=C_ENV)

    def read(self, path):
        try:
            with open(self.root + path, 'r') as f:
                return f.read()
        except (IOError, OSError):
            return None

    def exists(self, path):
        return os.path.exists(self.root + path)

    def lock(self, timeout, shared):
        return _lock.HostLock(timeout, shared=shared, root=self.root, what='conntrack_notrack')

    def interfaces(self):
        return [name for _i, name in socket.if_nameindex()]

    def getenv(self, name):
        return os.environ.get(name)


# --------------------------------------------------------------------------- gathering

def find_tools(io):
    """Installed frameworks and the commands for each: {'nftables': nft path or None,
    'iptables-legacy' / 'iptables-nft': {'ipv4'/'ipv6': {'save', 'restore'} or None}, 'default': flavour}."""
    tools = {'nftables': io.which('nft'), 'default': None}
    plain = io.which('iptables')
    if plain:
        rc, out, err = io.cmd([plain, '-V'])
        text = (out or '') + (err or '')
        tools['default'] = 'nft' if '(nf_tables)' in text else ('legacy' if '(legacy)' in text or rc == 0 else None)
    for flavour in ('legacy', 'nft'):
        fw = 'iptables-%s' % flavour
        tools[fw] = {}
        for fam, prog in (('ipv4', 'iptables'), ('ipv6', 'ip6tables')):
            save, restore = io.which('%s-%s-save' % (prog, flavour)), io.which('%s-%s-restore' % (prog, flavour))
            if not (save and restore) and tools['default'] == flavour:
                save, restore = io.which('%s-save' % prog), io.which('%s-restore' % prog)
            tools[fw][fam] = {'save': save, 'restore': restore} if save and restore else None
    return tools


def read_rulesets(module, io, tools):
    nft = None
    if tools['nftables']:
        rc, out, err = io.cmd([tools['nftables'], '-j', 'list', 'ruleset'])
        if rc != 0:
            raise HostError('nft -j list ruleset failed (rc %d): %s' % (rc, (err or out).strip()))
        nft = out
    ipt = {}
    for fw in _notrack_plan.IPT_FLAVOURS:
        for fam in _notrack.FAMILIES:
            t = tools[fw].get(fam)
            if not t:
                continue
            rc, out, err = io.cmd([t['save']])
            if rc != 0:
                module.warn('%s failed (rc %d): %s; %s %s is not considered' % (t['save'], rc, (err or out).strip(), fw, fam))
                tools[fw][fam] = None
                continue
            ipt[(fw, fam)] = out
    return nft, ipt


def control_info(io, extra_ports):
    ports = []
    sshd = io.which('sshd')
    if sshd:
        rc, out, _err = io.cmd([sshd, '-T'])
        if rc == 0:
            ports = _notrack.parse_sshd_ports(out, sshd_t=True)
    if not ports:
        ports = _notrack.parse_sshd_ports(io.read('/etc/ssh/sshd_config'))
    if not ports:
        ports = [_notrack.DEFAULT_SSH_PORT]  # sshd's configuration is not readable here: its default
    env = io.getenv('SSH_CONNECTION')
    envs = _notrack.parse_ssh_connection(env)
    if envs:
        ports.append(envs['server_port'])
    ports = sorted(set(ports) | set(extra_ports or []))
    sockets = _notrack.parse_proc_tcp(io.read('/proc/net/tcp'), 'ipv4') + _notrack.parse_proc_tcp(io.read('/proc/net/tcp6'), 'ipv6')
    sessions = _notrack.control_sessions(env, sockets, ports)
    ifaces = {}
    ip = io.which('ip')
    for s in sessions:
        if ip and s['client'] not in ifaces:
            rc, out, _err = io.cmd([ip, '-o', 'route', 'get', s['client']])
            m = re.search(r'\bdev (\S+)', out or '') if rc == 0 else None
            ifaces[s['client']] = m.group(1) if m else None
    return {'ssh_ports': ports, 'sessions': sessions, 'interfaces': ifaces}


def unit_info(io, names):
    systemctl = io.which('systemctl')
    out = {}
    for u in names:
        exists = any(io.exists(os.path.join(d, u)) for d in UNIT_DIRS)
        enabled = None
        if exists and systemctl:
            rc, text, _err = io.cmd([systemctl, 'is-enabled', u])
            enabled = (text or '').strip() in ('enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated')
        out[u] = {'exists': exists, 'enabled': enabled if systemctl else True}
    return out


def gather(module, io, params, tools, control=None):
    nft, ipt = read_rulesets(module, io, tools)
    platform = params['persist_platform']
    if platform == 'auto':
        platform = _notrack_plan.platform_of(io.read('/etc/os-release')) or 'debian'
    paths = _notrack_plan.persist_paths(params, platform)
    files, units = {}, {}
    if params['persist']:
        files = dict((p, io.read(p)) for p in paths.values())
        if params['enable_service']:
            names = sorted(set(u for v in _notrack_plan.UNITS[platform].values() for u in v))
            units = unit_info(io, names)
    plan_tools = {'nftables': bool(tools['nftables'])}
    for fw in _notrack_plan.IPT_FLAVOURS:
        plan_tools[fw] = dict((fam, bool(tools[fw].get(fam))) for fam in _notrack.FAMILIES)
    return {'tools': plan_tools, 'iptables_default': tools['default'], 'nft': nft, 'ipt': ipt,
            'control': control if control is not None else (
                control_info(io, params['control_ports']) if params['state'] == 'present' else {}),
            'platform': platform, 'files': files, 'units': units}, paths
