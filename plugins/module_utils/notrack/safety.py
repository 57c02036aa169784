# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firewall safety for NOTRACK: would a filter chain drop the packets we stop tracking?

Works on a framework-neutral model that _notrack_nft (nft JSON) and _notrack_ipt
(iptables-save) produce:

    chain = {'framework', 'family' ('inet'|'ipv4'|'ipv6'), 'table', 'name', 'hook' (None for a
             user chain), 'priority', 'policy' ('accept'|'drop'), 'rules': [rule]}
    rule  = {'matches': [match], 'verdict': 'accept'|'drop'|'continue'|'return'|'jump'|'goto'|'vmap',
             'target': chain name (jump/goto), 'vmap': {'key': match-like, 'entries': [(values, verdict, target)]},
             'ours': bool (our companion), 'text': readable form}
    match = {'field': 'iif'|'oif'|'l4proto'|'sport'|'dport'|'anyport'|'saddr'|'daddr'|'nfproto'|
                      'ct_state'|'ct_other'|'unknown', 'neg': bool, 'values': ..., 'proto': set or None,
             'family': 'ipv4'|'ipv6' (addresses)}

Each of our NOTRACK rules defines a packet class (what we know of the packets it untracks:
interface, protocol, ports, addresses). The class is walked through every filter chain it
reaches (prerouting -> input / forward -> postrouting; output -> postrouting), evaluating
every match to True, False or unknown (None), following jumps. A chain is AFFECTED by a class
when an untracked packet of that class may end in a drop (a drop/reject rule or the policy)
AND some rule on the way depends on conntrack (a `ct` / `-m state` / `-m conntrack` match whose
result differs between a tracked and an untracked packet). A chain that never looks at
conntrack treats untracked packets exactly like tracked ones, so NOTRACK changes nothing there.
`ct state invalid` does not match untracked packets (the kernel gives them their own state),
so `ct state invalid drop` alone is harmless.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress

TRACKED = frozenset(['new', 'established', 'related'])
HOOK_PATHS = {'prerouting': ('prerouting', 'input', 'forward', 'postrouting'),
              'output': ('output', 'postrouting')}
# Base chains at prerouting/output with a priority below our raw chains (-300) run before
# NOTRACK and see no conntrack at all: they are not affected.
OUR_PRIORITY = -300
MAX_DEPTH = 16


def _and(results):
    out = True
    for r in results:
        if r is False:
            return False
        if r is None:
            out = None
    return out


def _name_match(pattern, name):
    if pattern.endswith('*') or pattern.endswith('+'):
        return name.startswith(pattern[:-1])
    return pattern == name


def _iface(cls, hook, which):
    """What the class knows of the packet's input/output interface at a hook:
    a name, '' (no such interface at this hook) or None (unknown)."""
    origin = cls['chain']
    if which == 'iif':
        if origin == 'output':
            return ''
        return cls.get('iif')
    # oif
    if hook in ('prerouting', 'input'):
        return ''
    if origin == 'output':
        return cls.get('oif')
    return None


def _net_relation(cls_net, values):
    """True if the class network lies inside one of values, False if disjoint from all."""
    if cls_net is None:
        return None
    n = ipaddress.ip_network(cls_net)
    inside = False
    maybe = False
    for v in values:
        try:
            rn = ipaddress.ip_network(v)
        except ValueError:
            maybe = True
            continue
        if rn.version != n.version:
            continue
        if n.subnet_of(rn):
            inside = True
        elif n.overlaps(rn):
            maybe = True
    if inside:
        return True
    return None if maybe else False


def eval_match(match, cls, hook, tracked, family):
    """One match against a class at a hook -> True, False or None (unknown).
    family: the class's effective family in this chain ('ipv4', 'ipv6' or None)."""
    f = match['field']
    res = None
    if f in ('iif', 'oif'):
        known = _iface(cls, hook, f)
        if known is None or match.get('values') is None:
            return None
        res = any(_name_match(p, known) for p in match['values'])
    elif f == 'l4proto':
        if cls.get('proto') is None or match.get('values') is None:
            return None
        res = cls['proto'] in match['values']
    elif f in ('sport', 'dport', 'anyport'):
        req = match.get('proto')
        if req is not None and cls.get('proto') is not None and cls['proto'] not in req:
            return False  # the port match implies its protocol, negated or not
        if match.get('values') is None:
            return None
        ports = [cls.get('sport'), cls.get('dport')] if f == 'anyport' else [cls.get(f)]
        known = [p for p in ports if p is not None]
        hit = any(lo <= p <= hi for p in known for lo, hi in match['values'])
        if hit:
            res = True
        elif len(known) == len(ports):
            res = False
        else:
            return None
        if req is not None and cls.get('proto') is None:
            return None
    elif f in ('saddr', 'daddr'):
        if match.get('family') and family and match['family'] != family:
            return False  # the address match implies its family, negated or not
        if match.get('values') is None:
            return None
        res = _net_relation(cls.get(f), match['values'])
        if res is None:
            return None
    elif f == 'nfproto':
        if family is None or match.get('values') is None:
            return None
        res = family in match['values']
    elif f == 'ct_state':
        if match.get('values') is None:
            return None
        states = set(match['values'])
        if not tracked:
            res = 'untracked' in states
        elif TRACKED <= states:
            res = True
        elif not (TRACKED & states):
            res = False
        else:
            return None
    elif f == 'ct_other':
        # a packet without a conntrack entry never matches ct mark/status/helper/... (not even negated)
        return None if tracked else False
    else:
        return None
    return (not res) if match.get('neg') else res


def _is_ct(match):
    return match['field'] in ('ct_state', 'ct_other')


def _ct_dependent(rule, cls, hook, family):
    """Does this rule's outcome depend on conntrack for this class (tracked vs untracked)?"""
    ct_matches = [match for match in rule['matches'] if _is_ct(match)]
    key = (rule.get('vmap') or {}).get('key')
    if key is not None and _is_ct(key):
        ct_matches.append(key)
    if not ct_matches:
        return False
    if _and(eval_match(match, cls, hook, True, family) for match in rule['matches'] if not _is_ct(match)) is False:
        return False
    for match in ct_matches:
        if_untracked = eval_match(match, cls, hook, False, family)
        if_tracked = eval_match(match, cls, hook, True, family)
        if if_tracked is None or if_tracked != if_untracked:
            return True
        if key is match:
            return True
    return False


def _vmap_outcomes(rule, cls, hook, family, tracked):
    """[(certain, verdict, target)] for a verdict map; certain=None when it may apply."""
    vmap = rule['vmap']
    key = vmap.get('key')
    out = []
    any_certain = False
    for values, verdict, target in vmap.get('entries') or []:
        if key is not None and key['field'] == 'ct_state' and values is not None:
            m = dict(key, values=values, neg=False)
            r = eval_match(m, cls, hook, tracked, family)
        else:
            r = None
        if r is False:
            continue
        out.append((r, verdict, target))
        if r is True:
            any_certain = True
            break
    return out, any_certain


class Result(object):
    def __init__(self):
        self.outcomes = set()
        self.drop_reason = None
        self.ct_dependent = False

    def drop(self, why):
        self.outcomes.add('drop')
        if self.drop_reason is None:
            self.drop_reason = why


def eval_chain(chains, chain, cls, hook, family, skip_ours=True, stop_at=None, depth=0, res=None):
    """Walk one chain for an untracked packet of class cls. Returns a Result whose outcomes
    hold 'accept', 'drop' and 'continue' (fell through / returned). chains: name -> chain of
    the same table (for jumps). stop_at: evaluate only the rules before this index."""
    if res is None:
        res = Result()
    local = set()
    rules = chain['rules'] if stop_at is None else chain['rules'][:stop_at]
    if depth > MAX_DEPTH:
        res.drop('%s: jumps nested deeper than %d' % (chain['name'], MAX_DEPTH))
        return {'drop'}
    walk = (chains, cls, hook, family, skip_ours, depth, res)
    for rule in rules:
        if skip_ours and rule.get('ours'):
            continue
        if _ct_dependent(rule, cls, hook, family):
            res.ct_dependent = True
        mres = _and(eval_match(m, cls, hook, False, family) for m in rule['matches'])
        if mres is False or rule['verdict'] == 'continue':
            continue
        outcomes, final = _rule_outcomes(rule, '%s: %s' % (chain['name'], rule.get('text') or rule['verdict']), walk)
        local.update(outcomes)
        if final and mres:
            return local
    local.add('continue')
    return local


def _rule_outcomes(rule, where, walk):
    """What a rule that may match does to the packet: (outcomes, final), final when nothing after
    it runs once it matches for sure. walk: eval_chain's (chains, cls, hook, family, skip_ours,
    depth, res), for the chains it jumps to."""
    chains, cls, hook, family, skip_ours, depth, res = walk
    verdict = rule['verdict']
    if verdict in ('accept', 'drop'):
        if verdict == 'drop':
            res.drop(where)
        return {verdict}, True
    if verdict == 'return':
        return {'continue'}, True
    if verdict in ('jump', 'goto'):
        target = chains.get(rule.get('target'))
        if target is None:
            res.drop('%s (target chain not found)' % where)
            return {'drop'}, True
        sub = eval_chain(chains, target, cls, hook, family, skip_ours, None, depth + 1, res)
        outcomes = set(o for o in sub if o != 'continue')
        if verdict == 'goto':
            if 'continue' in sub:
                outcomes.add('continue')
            return outcomes, True
        return outcomes, 'continue' not in sub
    if verdict == 'vmap':
        outcomes = set()
        entries, certain = _vmap_outcomes(rule, cls, hook, family, False)
        for _r, v, target in entries:
            if v in ('accept', 'drop'):
                if v == 'drop':
                    res.drop(where)
                outcomes.add(v)
            elif v in ('jump', 'goto') and chains.get(target) is not None:
                sub = eval_chain(chains, chains[target], cls, hook, family, skip_ours, None, depth + 1, res)
                outcomes.update(o for o in sub if o != 'continue' or v == 'goto')
            elif v == 'return':
                outcomes.add('continue')
        return outcomes, certain
    # unknown verdict: may drop
    res.drop(where)
    return {'drop'}, True


def chain_family(chain_fam, cls):
    """The class's family inside a chain of family chain_fam, or 'skip' when it cannot enter."""
    if chain_fam in ('ipv4', 'ipv6'):
        if cls.get('family') and cls['family'] != chain_fam:
            return 'skip'
        return chain_fam
    if chain_fam == 'inet':
        return cls.get('family')
    return 'skip'


def relevant(chain, hook_path):
    if chain.get('hook') not in hook_path:
        return False
    if chain.get('type', 'filter') not in ('filter', 'route'):
        return False  # nat chains never see untracked packets
    if chain['hook'] in ('prerouting', 'output') and (chain.get('priority') or 0) < OUR_PRIORITY:
        return False
    return True


def analyze(tables, classes):
    """tables: [{'framework', 'family', 'table', 'chains': {name: chain}}] (every framework).
    classes: our NOTRACK rules (dicts with chain, family, iif, oif, proto, sport, dport, saddr,
    daddr, items). Returns one entry per base chain that some class reaches:
    {'framework', 'family', 'table', 'chain', 'hook', 'policy', 'affected_by' (exemption indices),
     'reason', 'companion' ('none'|'effective'|'ineffective'), 'companion_rules' (indices of ours)}."""
    out = []
    for t in tables:
        chains = t['chains']
        for name in sorted(chains):
            chain = chains[name]
            if not chain.get('hook'):
                continue
            affected, reasons, reached = set(), [], False
            for cls in classes:
                if not relevant(chain, HOOK_PATHS[cls['chain']]):
                    continue
                fam = chain_family(t['family'], cls)
                if fam == 'skip':
                    continue
                reached = True
                res = Result()
                outcomes = eval_chain(chains, chain, cls, chain['hook'], fam, skip_ours=True, res=res)
                final = set(outcomes)
                if 'continue' in final:
                    final.discard('continue')
                    if chain.get('policy') == 'drop':
                        res.drop('%s: policy drop' % name)
                    final.add(chain.get('policy') or 'accept')
                if 'drop' in final and res.ct_dependent:
                    affected.update(cls['items'])
                    reasons.append(res.drop_reason)
            if not reached:
                continue
            ours = [i for i, r in enumerate(chain['rules']) if r.get('ours')]
            state = 'none'
            if ours:
                state = 'effective'
                for cls in classes:
                    if not (set(cls['items']) & affected):
                        continue
                    fam = chain_family(t['family'], cls)
                    res = Result()
                    prefix = eval_chain(chains, chain, cls, chain['hook'], fam, skip_ours=True, stop_at=ours[0], res=res)
                    if 'drop' in prefix:
                        state = 'ineffective'
                        break
                if len(ours) > 1:
                    state = 'ineffective'
            out.append({'framework': t['framework'], 'family': t['family'], 'nft_family': t.get('nft_family'),
                        'table': t['table'], 'chain': name,
                        'hook': chain['hook'], 'policy': chain.get('policy') or 'accept',
                        'affected_by': sorted(affected), 'reason': _dedupe(reasons),
                        'companion': state, 'companion_rules': ours})
    return out


def _dedupe(items):
    seen = []
    for i in items:
        if i and i not in seen:
            seen.append(i)
    return seen
