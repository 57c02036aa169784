# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What conntrack_notrack (and conntrack_audit) read on the host for NOTRACK: every live ruleset
(host/rulesets.py), the persisted files and services, the control connection. All of it goes
through HostIO (host/io.py), which unit tests replace."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

from ansible_collections.nfct.tuning.plugins.module_utils.host import rulesets as _rulesets
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import plan as _notrack_plan, spec as _notrack

UNIT_DIRS = ('/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system')


# --------------------------------------------------------------------------- gathering

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
    nft, ipt = _rulesets.read_rulesets(module, io, tools)
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
