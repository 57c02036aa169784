# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole change conntrack_notrack makes, computed from what the module read: live rulesets
of every framework, persisted files, services, the control connection. Pure functions; the
module does the I/O behind one check-mode gate. (_audit.notrack_lines() turns the drift report
into readable lines for the audit, on the controller.)"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils import _notrack, _notrack_ipt, _notrack_nft, _notrack_safety

FRAMEWORKS = ('nftables', 'iptables-legacy', 'iptables-nft')
IPT_FLAVOURS = ('iptables-legacy', 'iptables-nft')
PATHS = {
    'debian': {'nftables_conf': '/etc/nftables.conf', 'nftables_file': '/etc/nftables.d/nfct-notrack.nft',
               'iptables_rules_v4': '/etc/iptables/rules.v4', 'iptables_rules_v6': '/etc/iptables/rules.v6'},
    'redhat': {'nftables_conf': '/etc/sysconfig/nftables.conf', 'nftables_file': '/etc/nftables/nfct-notrack.nft',
               'iptables_rules_v4': '/etc/sysconfig/iptables', 'iptables_rules_v6': '/etc/sysconfig/ip6tables'},
}
UNITS = {
    'debian': {'nftables': ['nftables.service'], 'ipv4': ['netfilter-persistent.service'],
               'ipv6': ['netfilter-persistent.service']},
    'redhat': {'nftables': ['nftables.service'], 'ipv4': ['iptables.service'], 'ipv6': ['ip6tables.service']},
}
LOADER_PACKAGES = {'nftables.service': 'nftables', 'netfilter-persistent.service': 'iptables-persistent',
                   'iptables.service': 'iptables-services', 'ip6tables.service': 'iptables-services'}


def platform_of(os_release):
    """/etc/os-release text -> 'debian', 'redhat' or None."""
    ids = []
    for line in (os_release or '').splitlines():
        if '=' in line:
            k, v = line.split('=', 1)
            if k in ('ID', 'ID_LIKE'):
                ids += v.strip().strip('"\'').lower().split()
    for i in ids:
        if i in ('debian', 'ubuntu', 'raspbian', 'linuxmint'):
            return 'debian'
        if i in ('rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol', 'amzn'):
            return 'redhat'
    return None


def persist_paths(params, platform):
    base = PATHS.get(platform or 'debian')
    return dict((k, params.get(k) or v) for k, v in base.items())


def _chain_id(a):
    if a['framework'] == 'nftables':
        return 'nftables %s %s %s' % (a.get('nft_family') or a['family'], a['table'], a['chain'])
    return '%s %s %s %s' % (a['framework'], a['family'], a['table'], a['chain'])


def _problem(a, exemptions):
    """Why a chain needs the companion, in words."""
    by = dict((e['index'], e) for e in exemptions)
    who = '; '.join(_notrack.describe(by[i]) for i in a['affected_by'] if i in by)
    why = '; '.join(a['reason'][:2]) if a['reason'] else 'policy drop'
    return ('%s chain %s %s %s (hook %s, policy %s) decides by conntrack state and would drop the untracked packets '
            'of %s (%s)' % (a['framework'], a.get('nft_family') or a['family'], a['table'], a['chain'], a['hook'],
                            a['policy'], who, why))


def _refusal(a, exemptions, mode):
    if a['framework'] == 'nftables':
        fix = ('an accept in a table of ours cannot help: every base chain at a hook sees the packet and only a drop '
               'is final, so the accept must be in that chain. Add `ct state untracked accept` as its first rule '
               'yourself, or set companion: insert to let this module insert it (it then owns that one rule, '
               'commented "%s"), or companion: ignore if you have checked it' % _notrack.COMPANION_COMMENT)
    else:
        fix = ('set companion: auto or insert to let this module insert a jump to its chain %s '
               '(-m conntrack --ctstate UNTRACKED -j ACCEPT) first in that chain, or companion: ignore if you have '
               'checked it' % _notrack.IPT_COMPANION)
    return 'companion: %s; %s (companion is %s)' % (_problem(a, exemptions), fix, mode)


def plan(params, exemptions, facts):
    """Compute everything, as a pipeline of stages: read state, choose backend, control guard,
    rules per family, companion, runtime steps, persistence, report. params: module params
    (+ resolved paths). exemptions: validated. facts: see the module (tools, rulesets, files,
    units, control connection).
    Returns {'errors', 'warnings', 'backend', 'rules', 'steps', 'files', 'services', 'analysis',
    'drift_report', 'diff', 'paths', 'control_conflicts'}."""
    c = read_state(params, exemptions, facts)
    if not choose_backend(c):
        return _early(c['errors'], c['warnings'])
    control_guard(c)
    rules_per_family(c)
    companion(c)
    nat_warning(c)
    nft_steps(c)
    ipt_steps(c)
    if c['comp_missing']:
        c['warnings'].append('companion: untracked packets are accepted before the stateful rules of %s; an exemption '
                             'wider than the services you allow also widens what the firewall accepts'
                             % ', '.join(sorted(c['needed'])))
    # companions first when adding, NOTRACK first when removing
    c['steps'].sort(key=lambda s: (s['notrack'] if c['present'] else not s['notrack']))
    persistence(c)
    return report(c)


def read_state(params, exemptions, facts):
    """Parse what the module read into the models every later stage uses (the pipeline's context)."""
    tools = facts.get('tools') or {}
    installed = set()
    if tools.get('nftables'):
        installed.add('nftables')
    for fl in IPT_FLAVOURS:
        if (tools.get(fl) or {}).get('ipv4'):
            installed.add(fl)
    nft_model = _notrack_nft.parse_ruleset(facts['nft']) if facts.get('nft') is not None else None
    ipt = {}
    for (fl, fam), text in (facts.get('ipt') or {}).items():
        if text is not None:
            ipt[(fl, fam)] = _notrack_ipt.parse_save(text)
    ours_in = set()
    nft_ours = _notrack_nft.our_state(nft_model) if nft_model else {'exists': False, 'rules': [], 'chains_ok': False, 'text': ''}
    if nft_ours['exists']:
        ours_in.add('nftables')
    for (fl, fam), m in ipt.items():
        rs = _notrack_ipt.raw_state(m, None)
        if rs['chains'] or rs['jumps']:
            ours_in.add(fl)
    return {'params': params, 'exemptions': exemptions, 'facts': facts, 'tools': tools, 'installed': installed,
            'present': params.get('state', 'present') == 'present', 'nft_model': nft_model, 'ipt': ipt,
            'nft_ours': nft_ours, 'ours_in': ours_in, 'errors': [], 'warnings': [], 'backend': None,
            'reason': 'state: absent (our objects are removed wherever they are)', 'rules': [], 'conflicts': [],
            'desired_raw': {}, 'steps': [], 'diff': [], 'rs_missing': [], 'rs_extra': [], 'other_backends': [],
            'comp_missing': [], 'comp_extra': [], 'nft_add': [], 'nft_keep': [], 'ipt_wanted': {}, 'ipt_ok': {},
            'refused': [], 'ignored': [], 'needed': [], 'analysis': [], 'tables': []}


def choose_backend(c):
    """The backend for present (decide_backend); False when there is none (an error is recorded)."""
    if c['present']:
        native = _notrack_nft.native_tables(c['nft_model']) if c['nft_model'] else []
        legacy_in_use = any(_notrack_ipt.in_use(m) for (fl, _f), m in c['ipt'].items() if fl == 'iptables-legacy')
        xtnft_in_use = any(_notrack_ipt.in_use(m) for (fl, _f), m in c['ipt'].items() if fl == 'iptables-nft')
        try:
            c['backend'], c['reason'] = _notrack.decide_backend(
                c['params'].get('backend', 'auto'), c['installed'], native, legacy_in_use, xtnft_in_use, c['ours_in'],
                c['facts'].get('iptables_default'))
        except _notrack.NotrackError as e:
            c['errors'].append(str(e))
            return False
        c['rules'] = _notrack.spec_rules(c['exemptions'])
    return True


def control_guard(c):
    """Refuse (or, when allowed, warn about) exemptions that match the control connection."""
    if not (c['present'] and c['rules']) or c['params'].get('untrack_all'):
        # untrack_all: the firewall check (companion refuse) protects the control connection
        return
    ctl = c['facts'].get('control') or {}
    ifaces = ctl.get('interfaces') or {}
    c['conflicts'] = _notrack.control_conflicts(c['rules'], c['exemptions'], ctl.get('sessions') or [],
                                                ctl.get('ssh_ports') or [], iface_of=ifaces.get)
    for _i, why in c['conflicts']:
        if c['params'].get('allow_control_connection'):
            c['warnings'].append('control connection: %s (allowed by allow_control_connection)' % why)
        else:
            c['errors'].append('control connection: %s; this could cut off the connection that manages this host '
                               '(set allow_control_connection: true if that is really meant)' % why)


def rules_per_family(c):
    """With an iptables backend: the rules of each family, or an error when a family's tool is missing."""
    backend, rules = c['backend'], c['rules']
    if backend not in IPT_FLAVOURS:
        return
    for fam in _notrack.FAMILIES:
        if (c['tools'].get(backend) or {}).get(fam):
            c['desired_raw'][fam] = _notrack.ipt_rules(rules, fam)
        elif any(r.get('family') == fam for r in rules):
            c['errors'].append('exemptions: %s rules need %s, which is not installed here (backend %s)'
                               % (fam, 'ip6tables' if fam == 'ipv6' else 'iptables', backend))
        elif fam == 'ipv6' and rules:
            c['warnings'].append('ip6tables is not installed: exemptions apply to IPv4 only')


def companion(c):
    """Which stateful chains the untracked packets reach, and per companion mode what to do there."""
    tables = []
    if c['nft_model']:
        tables += _notrack_nft.safety_tables(c['nft_model'])
    for (fl, fam), m in sorted(c['ipt'].items()):
        tables += _notrack_ipt.safety_tables(m, fl, fam)
    c['tables'] = tables
    c['analysis'] = analysis = _notrack_safety.analyze(tables, c['rules'] if c['rules'] else [])
    mode = c['params'].get('companion', 'auto')
    exemptions = c['exemptions']
    for a in analysis:
        if a['framework'] == 'iptables' or a['framework'] in IPT_FLAVOURS:
            if a['companion'] == 'effective':
                c['ipt_ok'].setdefault((a['framework'], a['family']), set()).add(a['chain'])
        if not a['affected_by']:
            continue
        c['needed'].append(_chain_id(a))
        if mode == 'ignore':
            c['ignored'].append(_chain_id(a))
            c['warnings'].append('companion: ignored (companion: ignore): %s' % _problem(a, exemptions))
            continue
        if a['framework'] == 'nftables':
            if mode == 'insert' and a['table'] == 'firewalld':
                c['errors'].append('companion: nftables table %s %s belongs to firewalld, which rebuilds it; allow '
                                   'untracked packets through firewalld instead (or companion: ignore)'
                                   % (a['nft_family'], a['table']))
                c['refused'].append(_chain_id(a))
            elif mode == 'insert':
                chain = (a['nft_family'], a['table'], a['chain'])
                (c['nft_keep'] if a['companion'] == 'effective' else c['nft_add']).append(chain)
            else:
                c['errors'].append(_refusal(a, exemptions, mode))
                c['refused'].append(_chain_id(a))
        elif mode in ('auto', 'insert'):
            c['ipt_wanted'].setdefault((a['framework'], a['family']), set()).add(a['chain'])
        else:
            c['errors'].append(_refusal(a, exemptions, mode))
            c['refused'].append(_chain_id(a))


def nat_warning(c):
    """Untracked packets are not NATed: say so when NAT rules exist."""
    if not (c['present'] and c['rules']):
        return
    nat = sorted(set('%s %s' % (t.get('nft_family') or t['family'], t['table']) for t in c['tables']
                     for ch in t['chains'].values() if ch.get('type') == 'nat'))
    for (fl, fam), m in sorted(c['ipt'].items()):
        if any(not _notrack_ipt.is_our_line(r) for ch in ((m['tables'].get('nat') or {}).get('chains') or {}).values()
               for r in ch['rules']):
            nat.append('%s %s nat' % (fl, fam))
    if nat:
        c['warnings'].append('NAT rules present (%s): exempted packets are not NATed (NAT needs conntrack); make sure '
                             'no exemption covers NATed traffic' % ', '.join(nat))


def nft_steps(c):
    """The nftables transaction (our table and the companions), with its drift and diff."""
    nft_model, nft_ours, rules = c['nft_model'], c['nft_ours'], c['rules']
    if nft_model is None:
        return
    present, backend = c['present'], c['backend']
    want_table = present and backend == 'nftables'
    existing = _notrack_nft.companions(nft_model)
    by_chain = {}
    for x in existing:
        by_chain.setdefault((x['family'], x['table'], x['chain']), []).append(x)
    nft_keep = c['nft_keep']
    wanted = sorted(set(c['nft_add']) | set(nft_keep))
    delete = [x for cid, xs in sorted(by_chain.items()) if not (cid in nft_keep and len(xs) == 1) for x in xs]
    add = [cid for cid in wanted if not (cid in nft_keep and len(by_chain.get(cid, [])) == 1)]
    script = _notrack_nft.render_script(nft_ours, rules if want_table else [], want_table, add, delete)
    if want_table:
        want_keys = [_notrack.rule_key(r) for r in rules]
        if not nft_ours['exists']:
            c['rs_missing'].append('nftables: table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        elif not nft_ours['chains_ok']:
            c['rs_extra'].append('nftables: chains of table %s %s differ from prerouting/output at priority raw'
                                 % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        c['rs_missing'] += ['nftables: ' + _notrack.render_nft_rule(r) for r in rules
                            if _notrack.rule_key(r) not in nft_ours['rules']]
        for k in nft_ours['rules']:
            if k not in want_keys:
                c['rs_extra'].append('nftables: ' + (k[1] if k[0] == 'unknown'
                                                     else _notrack.render_nft_rule(dict(zip(_notrack.RULE_KEYS, k)))))
        if not c['rs_missing'] and not c['rs_extra'] and nft_ours['rules'] != want_keys:
            c['rs_extra'].append('nftables: rules of table %s %s out of order or duplicated'
                                 % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    elif nft_ours['exists']:
        (c['other_backends'] if present else c['rs_extra']).append(
            'nftables: table %s %s (%d rules)' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE, len(nft_ours['rules'])))
    c['comp_missing'] += ['nftables %s %s %s: %s' % (cid + (_notrack.companion_nft_rule(),)) for cid in add]
    c['comp_extra'] += ['nftables %s %s %s: rule handle %s' % (x['family'], x['table'], x['chain'], x['handle'])
                        for x in delete]
    if script:
        c['steps'].append({'framework': 'nftables', 'family': 'inet', 'script': script, 'notrack': _table_changes(script),
                           'before': {'exists': nft_ours['exists'], 'companions': sorted(by_chain),
                                      'rules': [k for k in nft_ours['rules'] if k[0] != 'unknown']}})
        after = _notrack.render_nft_table(rules, wanted) if want_table else \
            ''.join(_notrack.companion_nft_statement(x) + '\n' for x in wanted)
        before = nft_ours['text'] + ''.join('%s (handle %s)\n' % (_notrack.companion_nft_statement(
            (x['family'], x['table'], x['chain'])), x['handle']) for x in existing)
        c['diff'].append({'before_header': 'nftables (live)', 'after_header': 'nftables (live)', 'before': before,
                          'after': after})


def ipt_steps(c):
    """One iptables-restore transaction per flavour and family (our chains and the companion)."""
    present, backend = c['present'], c['backend']
    for (fl, fam), m in sorted(c['ipt'].items()):
        draw = c['desired_raw'].get(fam) if backend == fl else None
        wanted = c['ipt_wanted'].get((fl, fam), set())
        # iptables-nft creates a table on first use: one that would be left with nothing but empty
        # built-in chains was ours alone, and goes as a whole (nft delete table)
        drop_tables = []
        if fl == 'iptables-nft' and c['installed'] >= set(['nftables']):
            if draw is None and _notrack_ipt.only_ours(m, 'raw') and _notrack_ipt.has_ours(
                    {'tables': {'raw': m['tables']['raw']}}):
                drop_tables.append('raw')
            if not wanted and _notrack_ipt.only_ours(m, 'filter') and _notrack_ipt.has_ours(
                    {'tables': {'filter': m['tables']['filter']}}):
                drop_tables.append('filter')
        script = _notrack_ipt.render_restore(m, draw, wanted, c['ipt_ok'].get((fl, fam), set()), skip=drop_tables)
        rs = _notrack_ipt.raw_state(m, draw)
        label = '%s %s' % (fl, fam)
        if backend == fl or not present:
            c['rs_missing'] += ['%s: %s' % (label, line) for line in rs['missing']]
            c['rs_extra'] += ['%s: %s' % (label, line) for line in rs['extra']]
        else:
            c['other_backends'] += ['%s: %s' % (label, line) for line in rs['extra']]
        cs = _notrack_ipt.companion_state(m)
        for b in sorted(wanted):
            if not (b in c['ipt_ok'].get((fl, fam), set()) and len(cs['jumps'].get(b, [])) == 1):
                c['comp_missing'].append('%s filter %s: %s' % (label, b, _notrack_ipt.plain_jump(b, _notrack.IPT_COMPANION)))
        for b, js in sorted(cs['jumps'].items()):
            if b not in wanted:
                c['comp_extra'] += ['%s filter %s: %s' % (label, b, line) for _i, line in js]
            elif len(js) > 1:
                c['comp_extra'] += ['%s filter %s: %s (duplicate)' % (label, b, line) for _i, line in js[1:]]
        if cs['chain'] is not None and not wanted:
            c['comp_extra'].append('%s filter: chain %s' % (label, _notrack.IPT_COMPANION))
        if drop_tables:
            nft_fam = 'ip' if fam == 'ipv4' else 'ip6'
            c['steps'].append({'framework': 'nftables', 'family': fam, 'notrack': 'raw' in drop_tables,
                               'script': ''.join('delete table %s %s\n' % (nft_fam, t) for t in drop_tables),
                               'before': None})
        if script or drop_tables:
            before_raw = None
            if rs['chains']:
                before_raw = dict((ch, rs['chains'].get(ch, [])) for ch in _notrack.IPT_CHAINS.values())
            if script:
                c['steps'].append({'framework': fl, 'family': fam, 'script': script, 'notrack': '*raw' in script,
                                   'before': {'raw': before_raw, 'companion': sorted(cs['jumps'])}})
            c['diff'].append({'before_header': '%s (live)' % label, 'after_header': '%s (live)' % label,
                              'before': _notrack_ipt.our_lines(m), 'after': _notrack_ipt.desired_lines(draw, wanted)})


def persistence(c):
    """What the persisted files should hold and which loading services to enable."""
    params, facts, backend, present = c['params'], c['facts'], c['backend'], c['present']
    files, services, loaders_missing = {}, [], []
    cur = facts.get('files') or {}
    units = facts.get('units') or {}
    platform = facts.get('platform') or 'debian'
    paths = params.get('paths') or persist_paths(params, platform)
    if params.get('persist', True):
        nft_companions = sorted(set(c['nft_add']) | set(c['nft_keep']))
        want_file = present and (backend == 'nftables' or nft_companions) and 'nftables' in c['installed']
        nf, conf = paths['nftables_file'], paths['nftables_conf']
        if want_file:
            body = _notrack_nft.render_file(c['rules'] if backend == 'nftables' else [], nft_companions)
            if backend != 'nftables':
                body = _notrack_nft.FILE_HEADER + ''.join(_notrack.companion_nft_statement(x) + '\n'
                                                          for x in nft_companions)
            files[nf] = body
            files[conf] = _notrack_nft.conf_with_include(cur.get(conf), conf, nf)
            _want_units(services, loaders_missing, units, UNITS[platform]['nftables'], params)
        else:
            if cur.get(nf) is not None:
                files[nf] = None
            if cur.get(conf) is not None:
                files[conf] = _notrack_nft.conf_without_include(cur.get(conf), nf)
        for fam, key in (('ipv4', 'iptables_rules_v4'), ('ipv6', 'iptables_rules_v6')):
            path = paths[key]
            draw = c['desired_raw'].get(fam) if backend in IPT_FLAVOURS else None
            wanted = set()
            for fl in IPT_FLAVOURS:
                wanted |= c['ipt_wanted'].get((fl, fam), set())
            sections = _notrack_ipt.file_sections(draw, wanted)
            merged = _notrack_ipt.merge_rules_file(cur.get(path), sections)
            if merged is not None or cur.get(path) is not None:
                files[path] = merged
            if sections:
                _want_units(services, loaders_missing, units, UNITS[platform][fam], params)
                dflt = facts.get('iptables_default')
                used = [fl for fl in IPT_FLAVOURS if fl == backend or c['ipt_wanted'].get((fl, fam))]
                if dflt and any(fl != 'iptables-%s' % dflt for fl in used):
                    c['warnings'].append('%s: loaded at boot by iptables-restore, which is the %s flavour here, while '
                                         'our objects are in %s' % (path, dflt, ', '.join(used)))
    c['files'] = dict((path, {'before': cur.get(path), 'after': text}) for path, text in files.items()
                      if cur.get(path) != text)
    for u in loaders_missing:
        c['warnings'].append('persistence: %s is not installed (package %s): the rules will not come back at boot'
                             % (u, LOADER_PACKAGES.get(u, u)))
    c.update(services=services, loaders_missing=loaders_missing, paths=paths)


def report(c):
    """The drift report and the plan's result."""
    params = c['params']
    ruleset_sync = not c['rs_missing'] and not c['rs_extra'] and not c['other_backends']
    companion_sync = not c['comp_missing'] and not c['comp_extra']
    persist_sync = not c['files'] and not c['services']
    drift = {
        'drifted': not (ruleset_sync and companion_sync and persist_sync) or bool(c['refused']),
        'state': 'present' if c['present'] else 'absent',
        'backend': c['backend'],
        'ruleset': {'in_sync': ruleset_sync, 'present': bool(c['ours_in']), 'missing': c['rs_missing'],
                    'extra': c['rs_extra'], 'other_backends': c['other_backends']},
        'companion': {'in_sync': companion_sync and not c['refused'], 'needed': sorted(set(c['needed'])),
                      'missing': c['comp_missing'], 'extra': c['comp_extra'], 'refused': c['refused'],
                      'ignored': c['ignored']},
        'persistence': {'in_sync': persist_sync, 'files': sorted(c['files']), 'services': c['services'],
                        'loaders_missing': c['loaders_missing']} if params.get('persist', True) else None,
    }
    return {'errors': c['errors'], 'warnings': c['warnings'], 'backend': {'name': c['backend'], 'reason': c['reason']},
            'rules': c['rules'], 'steps': c['steps'], 'files': c['files'], 'services': c['services'],
            'analysis': c['analysis'], 'drift_report': drift, 'diff': c['diff'], 'paths': c['paths'],
            'control_conflicts': c['conflicts']}


def undo_script(step, live_text):
    """The transaction that puts a step's framework back as it was before the step, computed
    from the live ruleset read again (nft JSON or iptables-save text)."""
    before = step['before']
    if before is None:
        return ''  # a table deleted whole: nothing of anyone else's was in it
    if step['framework'] == 'nftables':
        model = _notrack_nft.parse_ruleset(live_text)
        rules = [dict(zip(_notrack.RULE_KEYS, k), items=[]) for k in before['rules']]
        now = _notrack_nft.companions(model)
        add = [tuple(c) for c in before['companions']
               if tuple(c) not in [(x['family'], x['table'], x['chain']) for x in now]]
        delete = [x for x in now if (x['family'], x['table'], x['chain']) not in [tuple(c) for c in before['companions']]]
        state = _notrack_nft.our_state(model)
        if before['exists'] and state['exists']:
            state = dict(state, rules=None)  # force a rewrite
        return _notrack_nft.render_script(state, rules, before['exists'], add, delete)
    model = _notrack_ipt.parse_save(live_text)
    keep = set(before['companion'])
    return _notrack_ipt.render_restore(model, before['raw'], keep, keep)


def _table_changes(script):
    return ('table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE)) in script


def _want_units(services, missing, units, names, params):
    for u in names:
        info = units.get(u)
        if info is None:
            continue  # not checked (enable_service: false)
        if not info.get('exists'):
            if u not in missing:
                missing.append(u)
        elif not info.get('enabled') and params.get('enable_service', True) and u not in services:
            services.append(u)


def _early(errors, warnings):
    return {'errors': errors, 'warnings': warnings, 'backend': {'name': None, 'reason': None}, 'rules': [], 'steps': [],
            'files': {}, 'services': [], 'analysis': [], 'drift_report': None, 'diff': [], 'paths': {},
            'control_conflicts': []}
