# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables side of conntrack_notrack (legacy and nft flavours, IPv4 and IPv6): parse
`iptables-save`, find our chains and jumps, turn the filter table into the safety model,
render the `iptables-restore --noflush` input that changes only our objects, and merge our
chains into a rules file (netfilter-persistent's rules.v4/v6, iptables-services'
/etc/sysconfig/iptables) keeping every other line byte for byte. Pure functions."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import shlex

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack

BUILTIN_HOOKS = {'INPUT': 'input', 'FORWARD': 'forward', 'OUTPUT': 'output'}
COMPANION_BUILTINS = ('INPUT', 'FORWARD', 'OUTPUT')
NON_TERMINATING = frozenset(['LOG', 'NFLOG', 'ULOG', 'MARK', 'CONNMARK', 'CT', 'NOTRACK', 'TRACE', 'AUDIT', 'CLASSIFY',
                             'DSCP', 'TOS', 'TCPMSS', 'SET', 'CHECKSUM', 'TEE', 'LED', 'IDLETIMER', 'SECMARK',
                             'CONNSECMARK', 'TTL', 'HL', 'RATEEST', 'NETMAP', 'TCPOPTSTRIP', 'HMARK'])
CT_MODULES = frozenset(['connmark', 'connlimit', 'connbytes', 'connlabel', 'helper', 'conntrack', 'state'])
STATE_NAMES = {'NEW': 'new', 'ESTABLISHED': 'established', 'RELATED': 'related', 'INVALID': 'invalid',
               'UNTRACKED': 'untracked', 'SNAT': 'snat', 'DNAT': 'dnat'}


# --------------------------------------------------------------------------- parsing

def parse_save(text):
    """iptables-save output -> {'tables': {name: {'chains': {chain: {'policy', 'rules': [line]}}}}}.
    Built-in chains have a policy (ACCEPT/DROP), user chains None. Rules keep their save line."""
    tables = {}
    cur = None
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            cur = tables.setdefault(line[1:].strip(), {'chains': {}})
        elif cur is None:
            continue
        elif line == 'COMMIT':
            cur = None
        elif line.startswith(':'):
            parts = line[1:].split()
            if parts:
                cur['chains'].setdefault(parts[0], {'policy': None, 'rules': []})
                cur['chains'][parts[0]]['policy'] = parts[1] if len(parts) > 1 and parts[1] != '-' else None
        elif line.startswith('-A '):
            chain = line.split()[1]
            cur['chains'].setdefault(chain, {'policy': None, 'rules': []})['rules'].append(line)
    return {'tables': tables}


def tokens(line):
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def jump_target(line):
    """The chain a rule jumps/goes to (-j X / -g X), or None."""
    tok = tokens(line)
    for i, t in enumerate(tok[:-1]):
        if t in ('-j', '--jump', '-g', '--goto'):
            return tok[i + 1]
    return None


def is_our_line(line):
    """A rule of our chains, or a jump to one of them."""
    tok = tokens(line)
    if len(tok) >= 2 and tok[0] in ('-A', '-I') and tok[1] in _notrack.OUR_IPT_CHAINS:
        return True
    return jump_target(line) in _notrack.OUR_IPT_CHAINS


def in_use(model):
    """True when the tables hold anything other than our objects: a rule, a user chain, or a
    built-in policy other than ACCEPT."""
    for t in model['tables'].values():
        for name, chain in t['chains'].items():
            if name in _notrack.OUR_IPT_CHAINS:
                continue
            if chain['policy'] is None or chain['policy'] != 'ACCEPT':
                return True
            if any(not is_our_line(r) for r in chain['rules']):
                return True
    return False


def has_ours(model):
    for t in model['tables'].values():
        for name, chain in t['chains'].items():
            if name in _notrack.OUR_IPT_CHAINS or any(is_our_line(r) for r in chain['rules']):
                return True
    return False


def _chain(model, table, name):
    return ((model['tables'].get(table) or {}).get('chains') or {}).get(name)


def _jumps(model, table, target):
    """Every rule of the table that jumps to target: [(chain, index, line)]."""
    out = []
    for cname, chain in sorted(((model['tables'].get(table) or {}).get('chains') or {}).items()):
        for i, line in enumerate(chain['rules']):
            if jump_target(line) == target:
                out.append((cname, i, line))
    return out


def plain_jump(builtin, target):
    return '-A %s -j %s' % (builtin, target)


def raw_state(model, desired):
    """Our raw chains against desired ({chain: [lines]} or None for absent) ->
    {'in_sync', 'missing', 'extra' (save lines, declarations as ':CHAIN'), 'chains': {chain: [lines]}
    as found, 'jumps': [(builtin, index, line)]}. In sync: both chains hold exactly the desired
    rules in order, and each built-in chain has exactly one plain jump to ours (anywhere)."""
    names = (_notrack.IPT_CHAINS['prerouting'], _notrack.IPT_CHAINS['output'])
    found = {}
    for name in names:
        chain = _chain(model, 'raw', name)
        if chain is not None:
            found[name] = list(chain['rules'])
    jumps = []
    for name in names:
        jumps.extend(_jumps(model, 'raw', name))
    have = [':%s' % n for n in sorted(found)] + [l for n in sorted(found) for l in found[n]] + [j[2] for j in jumps]
    want = []
    if desired is not None:
        want = [':%s' % n for n in sorted(desired)] + [l for n in sorted(desired) for l in desired[n]]
        want += [plain_jump(_notrack.IPT_BUILTIN[h], _notrack.IPT_CHAINS[h]) for h in _notrack.NFT_CHAINS]
    missing = [l for l in want if l not in have]
    extra = [l for l in have if l not in want]
    extra += [l for n, l in enumerate(have) if l in have[:n] and l not in extra]  # duplicates
    in_sync = not missing and not extra and len(have) == len(want)
    if desired is not None and any(found.get(n) != desired[n] for n in desired):
        in_sync = False  # same rules, other order
    return {'in_sync': in_sync, 'missing': missing, 'extra': extra, 'chains': found, 'jumps': jumps}


def companion_state(model):
    """Our filter objects: {'chain': lines or None, 'jumps': {builtin: [(index, line)]}}."""
    chain = _chain(model, 'filter', _notrack.IPT_COMPANION)
    jumps = {}
    for cname, i, line in _jumps(model, 'filter', _notrack.IPT_COMPANION):
        jumps.setdefault(cname, []).append((i, line))
    return {'chain': list(chain['rules']) if chain is not None else None, 'jumps': jumps}


# --------------------------------------------------------------------------- safety model

def _ports(spec):
    out = []
    for part in spec.split(','):
        if ':' in part:
            lo, hi = part.split(':', 1)
            out.append((int(lo or 0), int(hi or 65535)))
        else:
            out.append((int(part), int(part)))
    return out


def to_rule(line, user_chains):
    """One save line -> the safety model's rule: its matches (_match, option by option) and its
    verdict (_verdict, at the first -j or -g)."""
    tok = tokens(line)
    matches = []
    verdict, target = 'continue', None
    seen = {'neg': False, 'proto': None, 'module': None}
    i = 2
    try:
        while i < len(tok):
            option = tok[i]
            if option == '!':
                seen['neg'] = True
                i += 1
                continue
            arg = tok[i + 1] if i + 1 < len(tok) else None
            if option in ('-j', '--jump', '-g', '--goto'):
                verdict, target = _verdict(option, arg, user_chains)
                break
            match, taken = _match(option, arg, seen)
            if match is not None:
                matches.append(match)
            i += taken
            seen['neg'] = False
    except (ValueError, IndexError):
        matches.append({'field': 'unknown', 'neg': False})
    return {'matches': matches, 'verdict': verdict, 'target': target, 'vmap': None,
            'ours': jump_target(line) == _notrack.IPT_COMPANION, 'text': line}


CT_MATCH_MODULES = ('connmark', 'connlimit', 'connbytes', 'connlabel', 'helper')
MODELLED_MODULES = ('tcp', 'udp', 'multiport', 'state', 'conntrack', 'comment')
MULTIPORT_FIELDS = {'--dports': 'dport', '--destination-ports': 'dport', '--sports': 'sport', '--source-ports': 'sport',
                    '--ports': 'anyport'}
DROP_TARGETS = ('DROP', 'REJECT', 'QUEUE', 'NFQUEUE', 'SYNPROXY', 'TARPIT')
UNKNOWN = {'field': 'unknown', 'neg': False}
CT_OTHER = {'field': 'ct_other', 'neg': False}


def _match(option, arg, seen):
    """(the match of one option or None, how many tokens it takes). seen holds the negation, the
    protocol and the match module read so far (-p and -m update it)."""
    neg, proto = seen['neg'], seen['proto']
    protos = frozenset([proto]) if proto else None
    if option in ('-s', '--source', '-d', '--destination'):
        return {'field': 'saddr' if option in ('-s', '--source') else 'daddr', 'neg': neg,
                'family': 'ipv6' if ':' in arg else 'ipv4', 'values': arg.split(',')}, 2
    if option in ('-i', '--in-interface', '-o', '--out-interface'):
        return {'field': 'iif' if option in ('-i', '--in-interface') else 'oif', 'neg': neg, 'values': [arg]}, 2
    if option in ('-p', '--protocol'):
        if arg.lower() == 'all':
            return None, 2
        seen['proto'] = arg.lower()
        return {'field': 'l4proto', 'neg': neg, 'values': set([{'6': 'tcp', '17': 'udp'}.get(seen['proto'], seen['proto'])])}, 2
    if option in ('-m', '--match'):
        seen['module'] = arg
        if arg in CT_MATCH_MODULES:
            return dict(CT_OTHER), 2
        return (dict(UNKNOWN) if arg not in MODELLED_MODULES else None), 2
    if option in ('--dport', '--destination-port', '--sport', '--source-port'):
        return {'field': 'dport' if option.startswith('--d') else 'sport', 'neg': neg, 'proto': protos,
                'values': _ports(arg)}, 2
    if option in MULTIPORT_FIELDS and seen['module'] == 'multiport':
        return {'field': MULTIPORT_FIELDS[option], 'neg': neg, 'proto': protos, 'values': _ports(arg)}, 2
    if option in ('--state', '--ctstate'):
        states = set(STATE_NAMES.get(name.upper(), name.lower()) for name in arg.split(','))
        return {'field': 'ct_state', 'neg': neg, 'values': states}, 2
    if option.startswith('--ct') and seen['module'] == 'conntrack':
        return dict(CT_OTHER), 2
    if option == '--comment':
        return None, 2
    if option.startswith('-'):
        # an option of a match module we do not model (its value, if any, follows)
        taken = 2 if arg is not None and not arg.startswith('-') and arg != '!' else 1
        return (dict(UNKNOWN) if seen['module'] != 'comment' else None), taken
    return None, 1


def _verdict(option, target, user_chains):
    """(verdict, the user chain jumped to or None) of -j / -g TARGET."""
    if target == 'ACCEPT':
        return 'accept', None
    if target in DROP_TARGETS:
        return 'drop', None
    if target == 'RETURN':
        return 'return', None
    if target in user_chains:
        return ('jump' if option in ('-j', '--jump') else 'goto'), target
    if target in NON_TERMINATING:
        return 'continue', None
    return 'drop', None  # a target we do not know: it may drop


def safety_tables(model, framework, family):
    """The filter table in the safety model."""
    t = model['tables'].get('filter')
    if not t:
        return []
    user = set(n for n, chain in t['chains'].items() if chain['policy'] is None)
    chains = {}
    for name, chain in t['chains'].items():
        chains[name] = {'name': name, 'hook': BUILTIN_HOOKS.get(name) if chain['policy'] is not None else None,
                        'type': 'filter', 'priority': 0, 'policy': (chain['policy'] or 'ACCEPT').lower(),
                        'rules': [to_rule(l, user) for l in chain['rules']]}
    return [{'framework': framework, 'family': family, 'table': 'filter', 'chains': chains}]


# --------------------------------------------------------------------------- rendering

def _delete(line):
    tok = line.split(' ', 2)
    return '-D %s %s' % (tok[1], tok[2]) if len(tok) == 3 else None


def only_ours(model, table):
    """True when the table exists and holds nothing but our objects (built-in chains with an
    ACCEPT policy whose rules are all ours, and our chains)."""
    t = model['tables'].get(table)
    if not t:
        return False
    for name, chain in t['chains'].items():
        if name in _notrack.OUR_IPT_CHAINS:
            continue
        if chain['policy'] != 'ACCEPT' or any(not is_our_line(r) for r in chain['rules']):
            return False
    return True


def render_restore(model, desired_raw, companion_wanted, companion_ok, skip=()):
    """`iptables-restore --noflush` input changing only our objects; '' when in sync.
    skip: tables left out (removed as a whole by the caller).
    desired_raw: {chain: [lines]} or None (no NOTRACK chains in this flavour/family).
    companion_wanted: built-in filter chains that need the jump to our companion chain.
    companion_ok: built-in chains whose current companion jump is effective (kept)."""
    out = []
    raw = raw_state(model, desired_raw)
    if not raw['in_sync'] and 'raw' not in skip:
        sec = ['*raw']
        for cname, i, line in raw['jumps']:
            d = _delete(line)
            if d:
                sec.append(d)
        if desired_raw is not None:
            for chain in (_notrack.IPT_CHAINS['prerouting'], _notrack.IPT_CHAINS['output']):
                sec.append(':%s - [0:0]' % chain)  # creates it, or flushes it when it exists
                sec.extend(desired_raw[chain])
            for hook in _notrack.NFT_CHAINS:
                sec.append('-I %s 1 -j %s' % (_notrack.IPT_BUILTIN[hook], _notrack.IPT_CHAINS[hook]))
        else:
            for chain in sorted(raw['chains']):
                sec += ['-F %s' % chain, '-X %s' % chain]
        out += sec + ['COMMIT']
    companions = companion_state(model)
    wanted = [b for b in COMPANION_BUILTINS if b in companion_wanted]
    fsec = []
    chain_ok = companions['chain'] == [_notrack.IPT_COMPANION_RULE]
    for b in sorted(companions['jumps']):
        keep = b in wanted and b in companion_ok and len(companions['jumps'][b]) == 1
        if not keep:
            for _i, line in companions['jumps'][b]:
                fsec.append(_delete(line))
    if wanted:
        if not chain_ok:
            fsec.append(':%s - [0:0]' % _notrack.IPT_COMPANION)
            fsec.append(_notrack.IPT_COMPANION_RULE)
        for b in wanted:
            if not (b in companion_ok and len(companions['jumps'].get(b, [])) == 1):
                fsec.append('-I %s 1 -j %s' % (b, _notrack.IPT_COMPANION))
    elif companions['chain'] is not None:
        fsec += ['-F %s' % _notrack.IPT_COMPANION, '-X %s' % _notrack.IPT_COMPANION]
    if fsec and 'filter' not in skip:
        out += ['*filter'] + fsec + ['COMMIT']
    return '\n'.join(out) + '\n' if out else ''


def our_lines(model):
    """Our objects as save lines, for diffs (raw chains, jumps, companion)."""
    lines = []
    for tname in ('raw', 'filter'):
        t = model['tables'].get(tname)
        if not t:
            continue
        sec = []
        for name in sorted(t['chains']):
            if name in _notrack.OUR_IPT_CHAINS:
                sec.append(':%s - [0:0]' % name)
        for name in sorted(t['chains']):
            if name not in _notrack.OUR_IPT_CHAINS:
                sec += [l for l in t['chains'][name]['rules'] if is_our_line(l)]
        for name in sorted(t['chains']):
            if name in _notrack.OUR_IPT_CHAINS:
                sec += t['chains'][name]['rules']
        if sec:
            lines += ['*%s' % tname] + sec
    return '\n'.join(lines) + '\n' if lines else ''


def desired_lines(desired_raw, companion_wanted):
    """Our objects as they should be, in the same form as our_lines()."""
    lines = []
    if desired_raw is not None:
        lines.append('*raw')
        lines += [':%s - [0:0]' % chain for chain in sorted(desired_raw)]
        for hook in ('output', 'prerouting'):
            lines.append(plain_jump(_notrack.IPT_BUILTIN[hook], _notrack.IPT_CHAINS[hook]))
        for chain in sorted(desired_raw):
            lines += desired_raw[chain]
    wanted = [b for b in COMPANION_BUILTINS if b in companion_wanted]
    if wanted:
        lines += ['*filter', ':%s - [0:0]' % _notrack.IPT_COMPANION]
        lines += [plain_jump(b, _notrack.IPT_COMPANION) for b in sorted(wanted)]
        lines.append(_notrack.IPT_COMPANION_RULE)
    return '\n'.join(lines) + '\n' if lines else ''


# --------------------------------------------------------------------------- rules files

def file_sections(desired_raw, companion_wanted):
    """What our objects look like in a rules file: {table: {'chains': {name: [rules]},
    'jumps': {builtin: [line]}}}; tables without our objects are left out."""
    out = {}
    if desired_raw is not None:
        out['raw'] = {'chains': dict((chain, list(desired_raw[chain])) for chain in sorted(desired_raw)),
                      'jumps': dict((_notrack.IPT_BUILTIN[h], [plain_jump(_notrack.IPT_BUILTIN[h], _notrack.IPT_CHAINS[h])])
                                    for h in _notrack.NFT_CHAINS)}
    wanted = [b for b in COMPANION_BUILTINS if b in companion_wanted]
    if wanted:
        out['filter'] = {'chains': {_notrack.IPT_COMPANION: [_notrack.IPT_COMPANION_RULE]},
                         'jumps': dict((b, [plain_jump(b, _notrack.IPT_COMPANION)]) for b in wanted)}
    return out


def _is_our_decl(line):
    s = line.strip()
    return s.startswith(':') and s[1:].split(' ')[0] in _notrack.OUR_IPT_CHAINS


def merge_rules_file(text, sections):
    """A rules file (iptables-save format) with our objects replaced by sections (see
    file_sections); every line that is not ours is kept byte for byte, in place.
    Our jumps go before the first rule of their built-in chain, our declarations after the
    table's last declaration, our rules before COMMIT. Returns the new text, or None when
    the file did not exist and nothing of ours goes in it."""
    if text is None and not sections:
        return None
    lines = (text or '').splitlines(True)
    if lines and not lines[-1].endswith('\n'):
        lines[-1] += '\n'
    out = []
    done = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s.startswith('*'):
            out.append(line)
            i += 1
            continue
        table = s[1:].strip()
        # collect the section up to COMMIT
        j = i + 1
        body = []
        while j < len(lines) and lines[j].strip() != 'COMMIT':
            body.append(lines[j])
            j += 1
        commit = lines[j] if j < len(lines) else None
        ours = [l for l in body if _is_our_decl(l) or (l.strip().startswith(('-A ', '-I ')) and is_our_line(l.strip()))]
        want = sections.get(table)
        if want:
            done.add(table)
        if not want and not ours:
            kept = body
        else:
            kept = [l for l in body if l not in ours]
            if want:
                kept = _insert_ours(kept, want)
        # a section that held only our objects goes away with them
        if kept or not ours:
            out.append(line)
            out.extend(kept)
            if commit is not None:
                out.append(commit)
        i = j + 1
    for table in ('raw', 'filter'):
        if table in sections and table not in done:
            out.append('*%s\n' % table)
            out.extend(_insert_ours([], sections[table]))
            out.append('COMMIT\n')
    return ''.join(out)


def _insert_ours(body, want):
    body = list(body)
    # declarations after the last declaration line
    last_decl = -1
    for n, l in enumerate(body):
        if l.strip().startswith(':'):
            last_decl = n
    decls = [':%s - [0:0]\n' % chain for chain in sorted(want['chains'])]
    body[last_decl + 1:last_decl + 1] = decls
    # jumps before the first rule of their built-in chain (or at the end)
    for builtin in sorted(want['jumps']):
        pos = None
        for n, l in enumerate(body):
            tok = l.split()
            if len(tok) >= 2 and tok[0] == '-A' and tok[1] == builtin:
                pos = n
                break
        jump_lines = [x + '\n' for x in want['jumps'][builtin]]
        if pos is None:
            body.extend(jump_lines)
        else:
            body[pos:pos] = jump_lines
    for chain in sorted(want['chains']):
        body.extend(x + '\n' for x in want['chains'][chain])
    return body
