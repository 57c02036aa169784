# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables side of conntrack_notrack: parse `nft -j list ruleset`, find our table and our
companion rules, turn the other tables into the safety model, render the `nft -f`
transaction and the persisted file, and merge one include line into the system ruleset.
Pure functions."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import ipaddress
import json
import os

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack

XT_TABLES = ('filter', 'nat', 'mangle', 'raw', 'security')
XT_BUILTINS = ('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING')
FAMILY_MAP = {'inet': 'inet', 'ip': 'ipv4', 'ip6': 'ipv6'}
PROTO_NUMBERS = {6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'ipv6-icmp', 132: 'sctp', 33: 'dccp', 136: 'udplite'}
TH_PROTOS = frozenset(['tcp', 'udp', 'sctp', 'dccp', 'udplite'])
VERDICTS = ('accept', 'drop', 'reject', 'continue', 'return', 'jump', 'goto', 'queue')
FILE_HEADER = ('#!/usr/sbin/nft -f\n'
               '# Managed by nfct.tuning (conntrack_notrack). Do not edit: changes are overwritten.\n'
               '# Loaded at boot through an include line in the system ruleset. Safe to load twice:\n'
               '# the table is created, deleted and defined again in one transaction.\n')
INCLUDE_MARK = '# Added by nfct.tuning (conntrack_notrack): NOTRACK exemptions'


class NftParseError(Exception):
    pass


# --------------------------------------------------------------------------- parsing

def parse_ruleset(text):
    """`nft -j list ruleset` -> {'version', 'tables': {(family, name): table}}.
    table = {'family', 'name', 'chains': {name: chain}}; chain = {'name', 'type', 'hook',
    'priority', 'policy', 'rules': [{'handle', 'expr', 'comment'}]} (hook None for user chains)."""
    try:
        data = json.loads(text or '{"nftables": []}')
    except ValueError as e:
        raise NftParseError('nft -j list ruleset: not JSON (%s)' % e)
    tables = {}
    version = None
    for obj in data.get('nftables', []):
        if 'metainfo' in obj:
            version = obj['metainfo'].get('version')
        elif 'table' in obj:
            table = obj['table']
            tables[(table['family'], table['name'])] = {'family': table['family'], 'name': table['name'], 'chains': {}}
        elif 'chain' in obj:
            chain = obj['chain']
            table = tables.setdefault((chain['family'], chain['table']), {'family': chain['family'], 'name': chain['table'], 'chains': {}})
            table['chains'][chain['name']] = {
                'name': chain['name'], 'type': chain.get('type'), 'hook': chain.get('hook'), 'priority': chain.get('prio'),
                'policy': chain.get('policy', 'accept') if chain.get('hook') else None, 'handle': chain.get('handle'),
                'rules': []}
        elif 'rule' in obj:
            rule = obj['rule']
            table = tables.setdefault((rule['family'], rule['table']), {'family': rule['family'], 'name': rule['table'], 'chains': {}})
            chain = table['chains'].setdefault(rule['chain'], {'name': rule['chain'], 'type': None, 'hook': None,
                                                               'priority': None, 'policy': None, 'rules': []})
            chain['rules'].append({'handle': rule.get('handle'), 'expr': rule.get('expr') or [], 'comment': rule.get('comment')})
    return {'version': version, 'tables': tables}


def is_ours(table):
    return table['family'] == _notrack.NFT_FAMILY and table['name'] == _notrack.NFT_TABLE


def is_xtables(table):
    """A table made by iptables-nft: family ip/ip6, an iptables table name, and base chains
    named like iptables' built-in chains (or rules using xtables compat expressions).
    Those are analyzed through iptables-nft-save instead."""
    if table['family'] not in ('ip', 'ip6', 'arp', 'bridge') or table['name'] not in XT_TABLES:
        return False
    bases = [chain for chain in table['chains'].values() if chain.get('hook')]
    if bases and all(chain['name'] in XT_BUILTINS for chain in bases):
        return True
    return any('xt' in e for chain in table['chains'].values() for rule in chain['rules'] for e in rule['expr'])


def native_tables(model):
    """Native nft tables other than ours and iptables-nft's, as 'family name'."""
    return sorted('%s %s' % k for k, table in model['tables'].items() if not is_ours(table) and not is_xtables(table))


# --------------------------------------------------------------------------- our table

def _addr(right):
    if isinstance(right, dict) and 'prefix' in right:
        return str(ipaddress.ip_network('%s/%s' % (right['prefix']['addr'], right['prefix']['len'])))
    if isinstance(right, str):
        return str(ipaddress.ip_network(right))
    raise ValueError(right)


def our_rule_key(chain, expr):
    """One rule of our table -> its rule key (see _notrack.RULE_KEYS), or None when it is not
    a rule this module writes."""
    rule = dict((k, None) for k in _notrack.RULE_KEYS)
    rule['chain'] = chain
    verdict = False
    try:
        for e in expr:
            if 'notrack' in e and not verdict:
                verdict = True
                continue
            if 'match' not in e or verdict:
                return None
            match = e['match']
            if match.get('op') != '==':
                return None
            left, right = match['left'], match['right']
            if 'meta' in left:
                key = left['meta'].get('key')
                if key == 'nfproto' and right in _notrack.FAMILIES:
                    rule['family'] = right
                elif key in ('iifname', 'oifname') and isinstance(right, str):
                    rule[key[:3]] = right
                elif key == 'l4proto' and right in _notrack.PROTOCOLS:
                    rule['proto'] = right
                else:
                    return None
            elif 'payload' in left:
                proto, field = left['payload'].get('protocol'), left['payload'].get('field')
                if proto in ('ip', 'ip6') and field in ('saddr', 'daddr'):
                    rule[field] = _addr(right)
                    rule['family'] = 'ipv4' if proto == 'ip' else 'ipv6'
                elif proto in _notrack.PROTOCOLS and field in ('sport', 'dport') and isinstance(right, int):
                    rule['proto'] = proto
                    rule[field] = right
                else:
                    return None
            else:
                return None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return _notrack.rule_key(rule) if verdict else None


def our_state(model):
    """Our table as found: {'exists', 'chains_ok', 'rules': [rule key or ('unknown', text)],
    'text': rendering for diffs}."""
    table = model['tables'].get((_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    if table is None:
        return {'exists': False, 'chains_ok': False, 'rules': [], 'text': ''}
    ok = set(table['chains']) == set(_notrack.NFT_CHAINS)
    keys = []
    lines = ['table %s %s {' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE)]
    for n, name in enumerate(_notrack.NFT_CHAINS + tuple(sorted(set(table['chains']) - set(_notrack.NFT_CHAINS)))):
        chain = table['chains'].get(name)
        if chain is None:
            continue
        if n:
            lines.append('')
        lines.append('\tchain %s {' % name)
        if chain.get('hook'):
            prio = 'raw' if chain.get('priority') == _notrack.NFT_PRIORITY else chain.get('priority')
            lines.append('\t\ttype %s hook %s priority %s; policy %s;' % (chain.get('type'), chain['hook'], prio, chain.get('policy')))
        if name in _notrack.NFT_CHAINS and (chain.get('type') != 'filter' or chain.get('hook') != name
                                            or chain.get('priority') != _notrack.NFT_PRIORITY or chain.get('policy') != 'accept'):
            ok = False
        for rule in chain['rules']:
            key = our_rule_key(name, rule['expr']) if name in _notrack.NFT_CHAINS else None
            text = _notrack.render_nft_rule(dict(zip(_notrack.RULE_KEYS, key))) if key else rule_text(rule['expr'])
            keys.append(key if key else ('unknown', '%s: %s' % (name, text)))
            lines.append('\t\t' + text)
        lines.append('\t}')
    lines.append('}')
    return {'exists': True, 'chains_ok': ok, 'rules': keys, 'text': '\n'.join(lines) + '\n'}


def companions(model):
    """Our companion rules in other tables: [{'family', 'table', 'chain', 'handle', 'index'}]."""
    out = []
    for (fam, name), table in sorted(model['tables'].items()):
        if is_ours(table):
            continue
        for cname, chain in sorted(table['chains'].items()):
            for i, rule in enumerate(chain['rules']):
                if rule.get('comment') == _notrack.COMPANION_COMMENT:
                    out.append({'family': fam, 'table': name, 'chain': cname, 'handle': rule.get('handle'), 'index': i})
    return out


# --------------------------------------------------------------------------- safety model

def _scalar_list(right):
    """Right-hand side -> list of scalars/ranges/prefixes, or None for a named set (@x) or other."""
    if isinstance(right, dict) and 'set' in right:
        right = right['set']
    if isinstance(right, list):
        out = []
        for v in right:
            sub = _scalar_list(v)
            if sub is None:
                return None
            out.extend(sub)
        return out
    if isinstance(right, str) and right.startswith('@'):
        return None
    if isinstance(right, (str, int)) or (isinstance(right, dict) and ('prefix' in right or 'range' in right)):
        return [right]
    return None


def _ports(vals):
    out = []
    for v in vals:
        if isinstance(v, int):
            out.append((v, v))
        elif isinstance(v, dict) and 'range' in v and all(isinstance(x, int) for x in v['range']):
            out.append((v['range'][0], v['range'][1]))
        else:
            return None
    return out


def _nets(vals):
    out = []
    for v in vals:
        if isinstance(v, dict) and 'prefix' in v:
            out.append('%s/%s' % (v['prefix']['addr'], v['prefix']['len']))
        elif isinstance(v, str):
            out.append(v)
        else:
            return None
    return out


def _protos(vals):
    out = set()
    for v in vals:
        if isinstance(v, int):
            out.add(PROTO_NUMBERS.get(v, str(v)))
        elif isinstance(v, str):
            out.add(v)
        else:
            return None
    return out


def to_match(match):
    """An nft JSON match -> the safety model's match."""
    op = match.get('op')
    left, right = match.get('left') or {}, match.get('right')
    if op not in ('==', '!=', 'in'):
        return {'field': 'unknown', 'neg': False}
    neg = op == '!='
    vals = _scalar_list(right)
    if 'ct' in left:
        if left['ct'].get('key') == 'state' and 'dir' not in left['ct']:
            return {'field': 'ct_state', 'neg': neg, 'values': set(vals) if vals is not None else None}
        return {'field': 'ct_other', 'neg': neg}
    if 'meta' in left:
        key = left['meta'].get('key')
        if key in ('iifname', 'oifname', 'iif', 'oif'):
            names = [v for v in vals if isinstance(v, str)] if vals is not None else None
            return {'field': key[:3], 'neg': neg, 'values': names if names and len(names) == len(vals) else None}
        if key == 'l4proto':
            return {'field': 'l4proto', 'neg': neg, 'values': _protos(vals) if vals is not None else None}
        if key == 'nfproto':
            return {'field': 'nfproto', 'neg': neg, 'values': set(vals) if vals is not None else None}
        return {'field': 'unknown', 'neg': neg}
    if 'payload' in left:
        proto, field = left['payload'].get('protocol'), left['payload'].get('field')
        if proto in ('ip', 'ip6') and field in ('saddr', 'daddr'):
            return {'field': field, 'neg': neg, 'family': FAMILY_MAP[proto],
                    'values': _nets(vals) if vals is not None else None}
        if (proto, field) in (('ip', 'protocol'), ('ip6', 'nexthdr')):
            return {'field': 'l4proto', 'neg': neg, 'values': _protos(vals) if vals is not None else None,
                    'family': FAMILY_MAP[proto]}
        if field in ('sport', 'dport') and (proto in TH_PROTOS or proto == 'th'):
            return {'field': field, 'neg': neg, 'proto': TH_PROTOS if proto == 'th' else frozenset([proto]),
                    'values': _ports(vals) if vals is not None else None}
        return {'field': 'unknown', 'neg': neg}
    return {'field': 'unknown', 'neg': neg}


def _verdict_of(stmt):
    for v in VERDICTS:
        if v in stmt:
            if v in ('jump', 'goto'):
                return v, (stmt[v] or {}).get('target')
            return ('drop' if v in ('reject', 'queue') else v), None
    return None, None


def to_rule(rule):
    """An nft rule (parsed JSON) -> the safety model's rule."""
    matches = []
    verdict, target, vmap = 'continue', None, None
    for e in rule['expr']:
        if 'match' in e:
            match = to_match(e['match'])
            matches.append(match)
            if match['field'] == 'l4proto' and match.get('family'):
                matches.append({'field': 'nfproto', 'neg': False, 'values': set([match['family']])})
            continue
        if any(k in e for k in ('limit', 'quota', 'meter', 'xt', 'synproxy')):
            matches.append({'field': 'unknown', 'neg': False})
            if 'xt' in e and (e['xt'] or {}).get('type') == 'target':
                verdict = 'drop'  # an xtables target we cannot see into: may drop
                break
            continue
        if 'vmap' in e:
            vm = e['vmap']
            key = vm.get('key') or {}
            keym = to_match({'op': '==', 'left': key, 'right': []})
            keym['values'] = None
            entries = []
            data = (vm.get('data') or {}).get('set') if isinstance(vm.get('data'), dict) else None
            if data is None:
                entries.append((None, 'drop', None))  # named map: anything may happen
            else:
                for pair in data:
                    kv, stmt = pair[0], pair[1]
                    v, table = _verdict_of(stmt)
                    vals = _scalar_list(kv)
                    entries.append((set(vals) if vals is not None and keym['field'] == 'ct_state' else None, v or 'continue', table))
            verdict, vmap = 'vmap', {'key': keym, 'entries': entries}
            break
        v, table = _verdict_of(e)
        if v:
            verdict, target = v, table
            break
    return {'matches': matches, 'verdict': verdict, 'target': target, 'vmap': vmap,
            'ours': rule.get('comment') == _notrack.COMPANION_COMMENT, 'text': rule_text(rule['expr'])}


def safety_tables(model):
    """Native tables (not ours, not iptables-nft's) in the safety model."""
    out = []
    for (fam, name), table in sorted(model['tables'].items()):
        if is_ours(table) or is_xtables(table) or fam not in FAMILY_MAP:
            continue
        chains = {}
        for cname, chain in table['chains'].items():
            chains[cname] = {'name': cname, 'hook': chain.get('hook'), 'type': chain.get('type'), 'priority': chain.get('priority'),
                             'policy': chain.get('policy'), 'rules': [to_rule(rule) for rule in chain['rules']]}
        out.append({'framework': 'nftables', 'family': FAMILY_MAP[fam], 'nft_family': fam, 'table': name, 'chains': chains})
    return out


# --------------------------------------------------------------------------- readable rules

def _expr_text(x):
    if isinstance(x, dict):
        if 'meta' in x:
            return 'meta %s' % x['meta'].get('key')
        if 'payload' in x:
            return '%s %s' % (x['payload'].get('protocol'), x['payload'].get('field'))
        if 'ct' in x:
            return 'ct %s' % x['ct'].get('key')
        if 'prefix' in x:
            return '%s/%s' % (x['prefix'].get('addr'), x['prefix'].get('len'))
        if 'range' in x:
            return '%s-%s' % tuple(_expr_text(v) for v in x['range'])
        if 'set' in x:
            return '{ %s }' % ', '.join(_expr_text(v) for v in x['set'])
        return json.dumps(x, sort_keys=True)
    if isinstance(x, list):
        return ','.join(_expr_text(v) for v in x)
    if isinstance(x, str) and not x.startswith('@') and x not in ('established', 'related', 'new', 'invalid', 'untracked') \
            and not x.replace('.', '').replace(':', '').isalnum():
        return '"%s"' % x
    return str(x)


def rule_text(expr):
    """Approximate nft syntax of a rule's JSON, for messages and diffs."""
    parts = []
    for e in expr:
        if 'match' in e:
            match = e['match']
            op = '' if match.get('op') in ('==', 'in') else '%s ' % match.get('op')
            parts.append('%s %s%s' % (_expr_text(match.get('left')), op, _expr_text(match.get('right'))))
        elif 'counter' in e:
            parts.append('counter')
        elif 'vmap' in e:
            parts.append('%s vmap %s' % (_expr_text(e['vmap'].get('key')), json.dumps(e['vmap'].get('data'), sort_keys=True)))
        else:
            for k in e:
                v = e[k]
                if v is None:
                    parts.append(k)
                elif k in ('jump', 'goto'):
                    parts.append('%s %s' % (k, v.get('target')))
                else:
                    parts.append('%s %s' % (k, json.dumps(v, sort_keys=True)))
    return ' '.join(parts)


# --------------------------------------------------------------------------- rendering

def render_script(state, rules, present, companion_add, companion_delete):
    """The `nft -f` transaction: our table (when it drifted) and companion changes.
    state: our_state(); rules: our desired rules; companion_add: [(family, table, chain)];
    companion_delete: [{'family', 'table', 'chain', 'handle'}]. Returns '' when nothing to do."""
    lines = []
    table_ok = present and state['exists'] and state['chains_ok'] and state['rules'] == [_notrack.rule_key(rule) for rule in rules]
    if present and not table_ok:
        if state['exists']:
            lines.append('delete table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        lines.append(_notrack.render_nft_table(rules).rstrip('\n'))
    elif not present and state['exists']:
        lines.append('delete table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    for chain in companion_delete:
        lines.append('delete rule %s %s %s handle %s' % (chain['family'], chain['table'], chain['chain'], chain['handle']))
    for chain in companion_add:
        lines.append(_notrack.companion_nft_statement(chain))
    return '\n'.join(lines) + '\n' if lines else ''


def render_file(rules, companions_wanted):
    """Our persisted file: loadable at boot and again at any reload."""
    return (FILE_HEADER + 'table %s %s\ndelete table %s %s\n' % ((_notrack.NFT_FAMILY, _notrack.NFT_TABLE) * 2)
            + _notrack.render_nft_table(rules, companions_wanted))


# --------------------------------------------------------------------------- system ruleset include

def include_line(path):
    return 'include "%s"' % path


def _includes(text):
    out = []
    for n, line in enumerate((text or '').splitlines()):
        s = line.strip()
        if s.startswith('include ') or s.startswith('include\t'):
            arg = s[len('include'):].strip()
            if arg.startswith('"') and '"' in arg[1:]:
                out.append((n, arg[1:arg.index('"', 1)]))
    return out


def conf_includes(text, conf_path, path):
    """True when the system ruleset already includes path (exactly or through a glob)."""
    base = os.path.dirname(conf_path)
    for _n, inc in _includes(text):
        full = inc if inc.startswith('/') else os.path.join(base, inc)
        if full == path or fnmatch.fnmatch(path, full):
            return True
    return False


def conf_with_include(text, conf_path, path):
    """The system ruleset with our include appended (unchanged when already covered).
    A missing file becomes a minimal ruleset that only includes ours."""
    if text is None:
        return '#!/usr/sbin/nft -f\n%s\n%s\n' % (INCLUDE_MARK, include_line(path))
    if conf_includes(text, conf_path, path):
        return text
    sep = '' if text.endswith('\n') or text == '' else '\n'
    return '%s%s\n%s\n%s\n' % (text, sep, INCLUDE_MARK, include_line(path))


def conf_without_include(text, path):
    """The system ruleset without the include line we added (and our comment above it)."""
    if text is None:
        return None
    lines = text.splitlines(True)
    ours = include_line(path)
    out = []
    for line in lines:
        if line.rstrip('\n') == ours:
            if out and out[-1].rstrip('\n') == INCLUDE_MARK:
                out.pop()
                if out and out[-1] == '\n':
                    out.pop()
            continue
        out.append(line)
    return ''.join(out)
