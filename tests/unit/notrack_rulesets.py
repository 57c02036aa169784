# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rulesets for the NOTRACK tests (tests/unit/plugins/module_utils/test_notrack_*.py and
tests/unit/plugins/modules/test_conntrack_notrack.py):

- apply_restore: a small emulator of `iptables-restore --noflush` on iptables-save text (the real
  tools run in tests/netns);
- builders of nft JSON (match, ct, port, meta, addr, nft_model) and the web server's firewall WEB
  (as a parsed model, and as `nft -j list ruleset` text: web_json);
- LEGACY_FW, a stateful iptables-legacy firewall as iptables-save prints it;
- CAPTURED, `nft -j list ruleset` captured from nft 1.0.6 (tests/unit/fixtures/nft/README.md).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as ni, nft as nn, spec as n

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'nft')

# --------------------------------------------------------------------------- iptables-restore --noflush

BUILTINS = {'raw': ('PREROUTING', 'OUTPUT'), 'filter': ('INPUT', 'FORWARD', 'OUTPUT'),
            'nat': ('PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'),
            'mangle': ('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING')}


class RestoreError(Exception):
    pass


def apply_restore(save_text, script, noflush=True):
    """Emulate `iptables-restore --noflush SCRIPT` on a ruleset given as iptables-save text."""
    model = ni.parse_save(save_text)
    tables = model['tables']
    cur = None
    for line in script.splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        if s.startswith('*'):
            name = s[1:]
            cur = tables.setdefault(name, {'chains': dict((b, {'policy': 'ACCEPT', 'rules': []}) for b in BUILTINS[name])})
            continue
        if s == 'COMMIT':
            cur = None
            continue
        chains = cur['chains']
        if s.startswith(':'):
            parts = s[1:].split()
            chains.setdefault(parts[0], {'policy': None if parts[1] == '-' else parts[1], 'rules': []})['rules'] = []
            continue
        tok = s.split(' ', 2)
        op, chain, rest = tok[0], tok[1], tok[2] if len(tok) > 2 else ''
        if chain not in chains:
            raise RestoreError('no chain %s: %s' % (chain, s))
        rules = chains[chain]['rules']
        if op == '-A':
            rules.append('-A %s %s' % (chain, rest))
        elif op == '-I':
            pos, spec = rest.split(' ', 1)
            rules.insert(int(pos) - 1, '-A %s %s' % (chain, spec))
        elif op == '-D':
            want = '-A %s %s' % (chain, rest)
            if want not in rules:
                raise RestoreError('no such rule: %s' % s)
            rules.remove(want)
        elif op == '-F':
            chains[chain]['rules'] = []
        elif op == '-X':
            if chains[chain]['rules'] or any(ni.jump_target(r) == chain for c in chains.values() for r in c['rules']):
                raise RestoreError('chain %s busy' % chain)
            del chains[chain]
        else:
            raise RestoreError('unknown: %s' % s)
    return render_save(model)


def render_save(model):
    out = []
    for name in sorted(model['tables']):
        chains = model['tables'][name]['chains']
        out.append('*%s' % name)
        builtin = [c for c in chains if chains[c]['policy'] is not None]
        user = sorted(c for c in chains if chains[c]['policy'] is None)
        for c in builtin:
            out.append(':%s %s [0:0]' % (c, chains[c]['policy']))
        for c in user:
            out.append(':%s - [0:0]' % c)
        for c in builtin + user:
            out.extend(chains[c]['rules'])
        out.append('COMMIT')
    return '\n'.join(out) + '\n'


LEGACY_FW = '''*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
'''

# --------------------------------------------------------------------------- nft JSON builders


def match(left, right, op='=='):
    return {'match': {'op': op, 'left': left, 'right': right}}


def ct(states, op='in'):
    return match({'ct': {'key': 'state'}}, states, op)


def port(proto, field, value, op='=='):
    return match({'payload': {'protocol': proto, 'field': field}}, value, op)


def meta(key, value, op='=='):
    return match({'meta': {'key': key}}, value, op)


def addr(fam, field, value):
    return match({'payload': {'protocol': fam, 'field': field}}, value)


ACCEPT, DROP = {'accept': None}, {'drop': None}


def nft_model(chains, family='inet', table='fw'):
    """chains: {name: (hook or None, prio, policy, [rule exprs][, type])} -> parsed model."""
    objs = [{'table': {'family': family, 'name': table}}]
    for name, spec in chains.items():
        hook, prio, policy, rules = spec[:4]
        c = {'family': family, 'table': table, 'name': name}
        if hook:
            c.update(type=spec[4] if len(spec) > 4 else 'filter', hook=hook, prio=prio, policy=policy)
        objs.append({'chain': c})
        for i, expr in enumerate(rules):
            r = {'family': family, 'table': table, 'chain': name, 'handle': 100 + i, 'expr': expr}
            if expr and expr[0] == 'OURS':
                r['expr'] = expr[1:]
                r['comment'] = n.COMPANION_COMMENT
            objs.append({'rule': r})
    return nn.parse_ruleset(json.dumps({'nftables': objs}))


WEB = {'input': ('input', 0, 'drop', [
    [ct('invalid'), DROP],
    [ct(['established', 'related']), ACCEPT],
    [meta('iif', 'lo'), ACCEPT],
    [port('tcp', 'dport', {'set': [22, 80, 443]}), ACCEPT],
]), 'output': ('output', 0, 'accept', [])}


def web_json():
    m = nft_model(WEB)
    objs = [{'table': {'family': 'inet', 'name': 'fw'}}]
    for name, c in m['tables'][('inet', 'fw')]['chains'].items():
        objs.append({'chain': {'family': 'inet', 'table': 'fw', 'name': name, 'type': 'filter', 'hook': c['hook'],
                               'prio': c['priority'], 'policy': c['policy']}})
        for r in c['rules']:
            objs.append({'rule': {'family': 'inet', 'table': 'fw', 'chain': name, 'handle': r['handle'], 'expr': r['expr']}})
    return json.dumps({'nftables': objs})


def captured_ruleset():
    """`nft -j list ruleset` of tests/unit/fixtures/nft/ruleset-fw-notrack-iptables-nft.json, as
    nft prints it (one line of JSON)."""
    with open(os.path.join(FIXTURES, 'ruleset-fw-notrack-iptables-nft.json')) as f:
        return json.dumps(json.load(f))


# table inet fw (our companion first, a ct state vmap, iif lo, tcp dport set), our table with one
# rule of each form plus a foreign one (counter), and an iptables-nft table ip filter
CAPTURED = captured_ruleset()
