# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewall rules use connection tracking (conntrack_users): every rule of `nft -j list
ruleset` and of iptables-save (legacy and nft backends, IPv4 and IPv6) that matches on or sets
conntrack state, NATs, offloads to a flowtable or exempts traffic, and the tool that owns it
(from well-known table and chain names). Pure functions on captured text.

A finding is {'framework', 'family', 'table', 'chain', 'text', 'uses': [feature], 'needs': bool,
'owner': tool or None, 'ours': bool}. `needs` is False only for rules that exempt traffic
(notrack): they keep the conntrack modules loaded but lose nothing when tracking is off."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as _notrack_ipt, nft as _notrack_nft, spec as _notrack

# Well-known owners of firewall objects: (owner, nft table names, iptables chain-name pattern).
OWNERS = (
    ('docker', ('docker', 'docker-bridges'), r'^DOCKER(-|$)'),
    ('podman', ('netavark',), r'^(NETAVARK|PODMAN)[-_]'),
    ('cni', ('cni',), r'^CNI-'),
    ('libvirt', ('libvirt_network', 'libvirt'), r'^LIBVIRT_'),
    ('kube-proxy', ('kube-proxy',), r'^KUBE-'),
    ('calico', ('calico',), r'^cali-'),
    ('cilium', ('cilium',), r'^(CILIUM_|OLD_CILIUM_)'),
    ('flannel', (), r'^FLANNEL-'),
    ('weave', (), r'^WEAVE'),
    ('ufw', (), r'^ufw6?-'),
    ('firewalld', ('firewalld',), r'^((IN|FWD|FWDI|FWDO|OUT|PRE|POST)_\w+|\w+_direct)$'),
    ('fail2ban', (), r'^f2b-'),
)
_OWNER_RE = [(o, names, re.compile(pat)) for o, names, pat in OWNERS]

# iptables matches and targets that use conntrack, and what each is
IPT_MATCHES = {'state': 'ct_state', 'conntrack': 'ct_state', 'connmark': 'ct_mark', 'connlimit': 'ct_count',
               'connbytes': 'ct_bytes', 'connlabel': 'ct_label', 'helper': 'ct_helper', 'cluster': 'ct_other',
               'ipvs': 'ct_other'}
IPT_TARGETS = {'MASQUERADE': 'nat', 'SNAT': 'nat', 'DNAT': 'nat', 'REDIRECT': 'nat', 'NETMAP': 'nat',
               'CONNMARK': 'ct_mark', 'CONNSECMARK': 'ct_mark', 'SYNPROXY': 'synproxy', 'NOTRACK': 'notrack'}
NFT_NAT = ('masquerade', 'snat', 'dnat', 'redirect')
# the only use that does not need tracking: exempting traffic from it
EXEMPT = frozenset(['notrack'])


def owner_of_chain(name):
    for owner, _names, pat in _OWNER_RE:
        if pat.search(name or ''):
            return owner
    return None


def owner_of_table(name):
    for owner, names, _pat in _OWNER_RE:
        if name in names:
            return owner
    return None


def _finding(framework, family, table, chain, text, uses, owner, ours):
    uses = sorted(set(uses))
    return {'framework': framework, 'family': family, 'table': table, 'chain': chain, 'text': text,
            'uses': uses, 'needs': any(u not in EXEMPT for u in uses), 'owner': owner, 'ours': ours}


# --------------------------------------------------------------------------- nftables

def _walk(x):
    """Every dict inside a JSON value."""
    todo, out = [x], []
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            out.append(v)
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return out


def nft_rule_uses(expr):
    """What one nft rule (its JSON expression list) uses of conntrack."""
    uses = set()
    for stmt in expr or []:
        for k in stmt:
            if k in NFT_NAT:
                uses.add('nat')
            elif k == 'notrack':
                uses.add('notrack')
            elif k == 'flow':
                uses.add('flowtable')
            elif k == 'synproxy':
                uses.add('synproxy')
            elif k.startswith('ct '):  # ct helper / ct timeout / ct expectation / ct count
                uses.add('ct_' + k[3:].replace(' ', '_'))
            elif k == 'xt':
                name = (stmt[k] or {}).get('name')
                if name in IPT_MATCHES:
                    uses.add(IPT_MATCHES[name])
                elif name in IPT_TARGETS:
                    uses.add(IPT_TARGETS[name])
                elif name == 'CT':
                    uses.add('ct_template')
        for d in _walk(stmt):
            if 'ct' in d and isinstance(d['ct'], dict):
                uses.add('ct_' + str(d['ct'].get('key')))
    return uses


def nft_findings(text):
    """`nft -j list ruleset` -> findings. Tables made by iptables-nft are left to the
    iptables-nft-save side (their rules are xtables expressions); a chain of type nat is a
    finding even when empty (it keeps nf_nat, hence conntrack, in use), so is a flowtable."""
    model = _notrack_nft.parse_ruleset(text)
    out = []
    for (family, tname), t in sorted(model['tables'].items()):
        if _notrack_nft.is_xtables(t):
            continue
        ours = _notrack_nft.is_ours(t)
        towner = 'nfct.tuning' if ours else owner_of_table(tname)
        for cname, c in sorted(t['chains'].items()):
            owner = towner or owner_of_chain(cname)
            for r in c['rules']:
                uses = nft_rule_uses(r['expr'])
                if uses:
                    out.append(_finding('nftables', family, tname, cname, _notrack_nft.rule_text(r['expr']), uses,
                                        owner, ours))
            if c.get('type') == 'nat':
                out.append(_finding('nftables', family, tname, cname,
                                    'type nat hook %s (a NAT chain, even empty, keeps tracking on)' % c.get('hook'),
                                    ['nat_chain'], owner, ours))
    for ft in _flowtables(text):
        out.append(_finding('nftables', ft['family'], ft['table'], None, 'flowtable %s' % ft['name'], ['flowtable'],
                            owner_of_table(ft['table']), False))
    return out


def native_xt_named(text):
    """(family, table) of native nft tables that carry an iptables table name (a hand-written
    `table ip nat`): iptables-nft-save lists them too, so that side must not count them twice."""
    model = _notrack_nft.parse_ruleset(text)
    fam = {'ip': 'ipv4', 'ip6': 'ipv6'}
    return set((fam[f], n) for (f, n), t in model['tables'].items()
               if f in fam and n in _notrack_nft.XT_TABLES and not _notrack_nft.is_xtables(t))


def _flowtables(text):
    try:
        data = json.loads(text or '{}')
    except ValueError:
        return []
    return [o['flowtable'] for o in data.get('nftables', []) if isinstance(o, dict) and 'flowtable' in o]


# --------------------------------------------------------------------------- iptables

def ipt_rule_uses(line):
    tok = _notrack_ipt.tokens(line)
    uses = set()
    for i, t in enumerate(tok[:-1]):
        nxt = tok[i + 1]
        if t in ('-m', '--match') and nxt in IPT_MATCHES:
            uses.add(IPT_MATCHES[nxt])
        elif t in ('-j', '--jump'):
            if nxt in IPT_TARGETS:
                uses.add(IPT_TARGETS[nxt])
            elif nxt == 'CT':
                uses.add('notrack' if '--notrack' in tok else 'ct_template')
    return uses


def ipt_findings(text, framework, family):
    """iptables-save of one backend and family -> findings. A nat table is a finding even
    without rules: loading it registers NAT hooks, which switch tracking on."""
    model = _notrack_ipt.parse_save(text)
    out = []
    for tname, t in sorted(model['tables'].items()):
        for cname, c in sorted(t['chains'].items()):
            for line in c['rules']:
                uses = ipt_rule_uses(line)
                if uses:
                    ours = _notrack_ipt.is_our_line(line)
                    owner = 'nfct.tuning' if ours else (owner_of_chain(cname) or owner_of_chain(_notrack_ipt.jump_target(line)))
                    out.append(_finding(framework, family, tname, cname, line, uses, owner, ours))
        if tname == 'nat':
            out.append(_finding(framework, family, tname, None, 'table nat (%d chains, %d rules; a NAT table, even '
                                'empty, keeps tracking on)' % (len(t['chains']),
                                                               sum(len(c['rules']) for c in t['chains'].values())),
                                ['nat_chain'], _table_owner(t), False))
    return out


def _table_owner(t):
    owners = sorted(set(o for o in (owner_of_chain(n) for n in t['chains']) if o))
    return owners[0] if len(owners) == 1 else (', '.join(owners) or None)


# --------------------------------------------------------------------------- persisted files

NFT_TEXT_USES = (
    (re.compile(r'\bct\s+(state|status|mark|zone|label|helper|direction|expiration|original|reply|count|timeout|'
                r'expectation|l3proto|protocol|id|event)\b'), 'ct'),
    (re.compile(r'\b(masquerade|snat|dnat|redirect)\b'), 'nat'),
    (re.compile(r'\btype\s+nat\b'), 'nat_chain'),
    (re.compile(r'\bflowtable\b|\bflow\s+(add|offload)\b'), 'flowtable'),
    (re.compile(r'\bnotrack\b'), 'notrack'),
)


def nft_conf_findings(text, path):
    """Lines of an nft script (e.g. /etc/nftables.conf, loaded at boot) that use conntrack:
    [{'line': n, 'text', 'uses'}]. Comments are skipped; includes are not followed."""
    out = []
    for n, raw in enumerate((text or '').splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line or line.startswith('include '):
            continue  # an include uses nothing itself (and ours names nfct-notrack.nft)
        uses = sorted(set(u for rx, u in NFT_TEXT_USES if rx.search(line)))
        if uses:
            out.append({'path': path, 'line': n, 'text': line, 'uses': uses,
                        'needs': any(u not in EXEMPT for u in uses)})
    return out


def save_file_findings(text, path, family):
    """A rules file in iptables-save format (netfilter-persistent's rules.v4/v6,
    iptables-services' /etc/sysconfig/iptables): the same findings as a live ruleset."""
    out = []
    for f in ipt_findings(text, 'file', family):
        f = dict(f, path=path)
        out.append(f)
    return out


def is_our_nft_table(family, name):
    return family == _notrack.NFT_FAMILY and name == _notrack.NFT_TABLE


# --------------------------------------------------------------------------- NAT on this host

NAT_EVIDENCE = 5


def _nat_section(text):
    """Only the *nat table of an iptables-save text (the only one that can NAT): a big filter
    table is not parsed for nothing."""
    m = re.search(r'(?ms)^\*nat\s*$.*?^COMMIT\s*$', text or '')
    return m.group(0) if m else ''


def nat_summary(nft_text, ipt):
    """Does this host translate addresses (masquerade, snat, dnat, redirect rules), and whose
    rules are they: {'detected', 'owners', 'evidence': [first rules], 'rules': count}. From the
    same findings as conntrack_users (nft_findings, ipt_findings); an empty NAT chain does not
    count (no entry gets the NAT extension from it)."""
    found = [f for f in nft_findings(nft_text) if 'nat' in f['uses']] if nft_text else []
    for (framework, family), text in sorted((ipt or {}).items()):
        found += [f for f in ipt_findings(_nat_section(text), framework, family) if 'nat' in f['uses']]
    owners = sorted(set(f['owner'] or 'unknown' for f in found))
    evidence = ['%s %s %s%s: %s' % (f['framework'], f['family'], f['table'], ('/' + f['chain']) if f['chain'] else '',
                                    f['text']) for f in found[:NAT_EVIDENCE]]
    return {'detected': bool(found), 'owners': owners, 'evidence': evidence, 'rules': len(found)}
