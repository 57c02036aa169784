# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's live firewall rulesets: which tools are installed (nft; iptables-legacy and
iptables-nft per family, with their -save / -restore) and what each one lists. Read by the
NOTRACK planner and by the users check; through HostIO, so unit tests give fixture rulesets."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel


class HostError(Exception):
    """A ruleset could not be read; the message says which and why."""


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
    for fw in _kernel.IPT_FLAVOURS:
        for fam in _kernel.FAMILIES:
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
