# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole change conntrack_notrack makes, computed from what the module read: live rulesets
of every framework, persisted files, services, the control connection. Pure functions; the
module does the I/O behind one check-mode gate. drift_lines() turns the drift report into
readable lines for the audit."""

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
    """Compute everything. params: module params (+ resolved paths). exemptions: validated.
    facts: see the module (tools, rulesets, files, units, control connection).
    Returns {'errors', 'warnings', 'backend', 'rules', 'steps', 'files', 'services', 'analysis',
    'drift_report', 'diff', 'control_connection'}."""
    errors, warnings = [], []
    present = params.get('state', 'present') == 'present'
    tools = facts.get('tools') or {}
    installed = set()
    if tools.get('nftables'):
        installed.add('nftables')
    for fl in IPT_FLAVOURS:
        if (tools.get(fl) or {}).get('ipv4'):
            installed.add(fl)

    # ---------------------------------------------------------------- what is there
    nft_model = _notrack_nft.parse_ruleset(facts['nft']) if facts.get('nft') is not None else None
    ipt = {}
    for (fl, fam), text in (facts.get('ipt') or {}).items():
        if text is not None:
            ipt[(fl, fam)] = _notrack_ipt.parse_save(text)
    native = _notrack_nft.native_tables(nft_model) if nft_model else []
    legacy_in_use = any(_notrack_ipt.in_use(m) for (fl, _f), m in ipt.items() if fl == 'iptables-legacy')
    xtnft_in_use = any(_notrack_ipt.in_use(m) for (fl, _f), m in ipt.items() if fl == 'iptables-nft')
    ours_in = set()
    nft_ours = _notrack_nft.our_state(nft_model) if nft_model else {'exists': False, 'rules': [], 'chains_ok': False, 'text': ''}
    if nft_ours['exists']:
        ours_in.add('nftables')
    for (fl, fam), m in ipt.items():
        rs = _notrack_ipt.raw_state(m, None)
        if rs['chains'] or rs['jumps']:
            ours_in.add(fl)

    backend, reason = None, 'state: absent (our objects are removed wherever they are)'
    if present:
        try:
            backend, reason = _notrack.decide_backend(params.get('backend', 'auto'), installed, native, legacy_in_use,
                                                      xtnft_in_use, ours_in, facts.get('iptables_default'))
        except _notrack.NotrackError as e:
            errors.append(str(e))
            return _early(errors, warnings)
    rules = _notrack.spec_rules(exemptions) if present else []

    # ---------------------------------------------------------------- control connection
    ctl = facts.get('control') or {}
    conflicts = []
    if present and rules:
        ifaces = ctl.get('interfaces') or {}
        conflicts = _notrack.control_conflicts(rules, exemptions, ctl.get('sessions') or [], ctl.get('ssh_ports') or [],
                                               iface_of=ifaces.get)
        for _i, why in conflicts:
            if params.get('allow_control_connection'):
                warnings.append('control connection: %s (allowed by allow_control_connection)' % why)
            else:
                errors.append('control connection: %s; this could cut off the connection that manages this host '
                              '(set allow_control_connection: true if that is really meant)' % why)

    # ---------------------------------------------------------------- family support
    desired_raw = {}
    if backend in IPT_FLAVOURS:
        for fam in _notrack.FAMILIES:
            if (tools.get(backend) or {}).get(fam):
                desired_raw[fam] = _notrack.ipt_rules(rules, fam)
            elif any(r.get('family') == fam for r in rules):
                errors.append('exemptions: %s rules need %s, which is not installed here (backend %s)'
                              % (fam, 'ip6tables' if fam == 'ipv6' else 'iptables', backend))
            elif fam == 'ipv6' and rules:
                warnings.append('ip6tables is not installed: exemptions apply to IPv4 only')

    # ---------------------------------------------------------------- safety
    tables = []
    if nft_model:
        tables += _notrack_nft.safety_tables(nft_model)
    for (fl, fam), m in sorted(ipt.items()):
        tables += _notrack_ipt.safety_tables(m, fl, fam)
    analysis = _notrack_safety.analyze(tables, rules) if rules else _notrack_safety.analyze(tables, [])
    mode = params.get('companion', 'auto')
    nft_add, nft_keep = [], []
    ipt_wanted, ipt_ok = {}, {}
    refused, ignored, needed = [], [], []
    for a in analysis:
        if a['framework'] == 'iptables' or a['framework'] in IPT_FLAVOURS:
            key = (a['framework'], a['family'])
            if a['companion'] == 'effective':
                ipt_ok.setdefault(key, set()).add(a['chain'])
        if not a['affected_by']:
            continue
        needed.append(_chain_id(a))
        if mode == 'ignore':
            ignored.append(_chain_id(a))
            warnings.append('companion: ignored (companion: ignore): %s' % _problem(a, exemptions))
            continue
        if a['framework'] == 'nftables':
            if mode == 'insert' and a['table'] == 'firewalld':
                errors.append('companion: nftables table %s %s belongs to firewalld, which rebuilds it; allow untracked '
                              'packets through firewalld instead (or companion: ignore)' % (a['nft_family'], a['table']))
                refused.append(_chain_id(a))
            elif mode == 'insert':
                c = (a['nft_family'], a['table'], a['chain'])
                (nft_keep if a['companion'] == 'effective' else nft_add).append(c)
            else:
                errors.append(_refusal(a, exemptions, mode))
                refused.append(_chain_id(a))
        else:
            if mode in ('auto', 'insert'):
                ipt_wanted.setdefault((a['framework'], a['family']), set()).add(a['chain'])
            else:
                errors.append(_refusal(a, exemptions, mode))
                refused.append(_chain_id(a))
    if present and rules:
        nat = sorted(set('%s %s' % (t.get('nft_family') or t['family'], t['table']) for t in tables
                         for c in t['chains'].values() if c.get('type') == 'nat'))
        for (fl, fam), m in sorted(ipt.items()):
            if any(not _notrack_ipt.is_our_line(r) for c in ((m['tables'].get('nat') or {}).get('chains') or {}).values()
                   for r in c['rules']):
                nat.append('%s %s nat' % (fl, fam))
        if nat:
            warnings.append('NAT rules present (%s): exempted packets are not NATed (NAT needs conntrack); make sure '
                            'no exemption covers NATed traffic' % ', '.join(nat))

    # ---------------------------------------------------------------- runtime steps
    steps = []
    diff = []
    rs_missing, rs_extra, other_backends = [], [], []
    comp_missing, comp_extra = [], []
    if nft_model is not None:
        want_table = present and backend == 'nftables'
        existing = _notrack_nft.companions(nft_model)
        by_chain = {}
        for c in existing:
            by_chain.setdefault((c['family'], c['table'], c['chain']), []).append(c)
        wanted = sorted(set(nft_add) | set(nft_keep))
        delete = [c for cid, cs in sorted(by_chain.items()) if not (cid in nft_keep and len(cs) == 1) for c in cs]
        add = [cid for cid in wanted if not (cid in nft_keep and len(by_chain.get(cid, [])) == 1)]
        script = _notrack_nft.render_script(nft_ours, rules if want_table else [], want_table, add, delete)
        if want_table:
            want_keys = [_notrack.rule_key(r) for r in rules]
            if not nft_ours['exists']:
                rs_missing.append('nftables: table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
            elif not nft_ours['chains_ok']:
                rs_extra.append('nftables: chains of table %s %s differ from prerouting/output at priority raw'
                                % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
            rs_missing += ['nftables: ' + _notrack.render_nft_rule(r) for r in rules
                           if _notrack.rule_key(r) not in nft_ours['rules']]
            for k in nft_ours['rules']:
                if k not in want_keys:
                    rs_extra.append('nftables: ' + (k[1] if k[0] == 'unknown'
                                                    else _notrack.render_nft_rule(dict(zip(_notrack.RULE_KEYS, k)))))
            if not rs_missing and not rs_extra and nft_ours['rules'] != want_keys:
                rs_extra.append('nftables: rules of table %s %s out of order or duplicated'
                                % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        elif nft_ours['exists']:
            (other_backends if present else rs_extra).append(
                'nftables: table %s %s (%d rules)' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE, len(nft_ours['rules'])))
        comp_missing += ['nftables %s %s %s: %s' % (cid + (_notrack.companion_nft_rule(),)) for cid in add]
        comp_extra += ['nftables %s %s %s: rule handle %s' % (c['family'], c['table'], c['chain'], c['handle'])
                       for c in delete]
        if script:
            steps.append({'framework': 'nftables', 'family': 'inet', 'script': script, 'notrack': _table_changes(script),
                          'before': {'exists': nft_ours['exists'], 'companions': sorted(by_chain),
                                     'rules': [k for k in nft_ours['rules'] if k[0] != 'unknown']}})
            after = _notrack.render_nft_table(rules, wanted) if want_table else \
                ''.join(_notrack.companion_nft_statement(c) + '\n' for c in wanted)
            before = nft_ours['text'] + ''.join('%s (handle %s)\n' % (_notrack.companion_nft_statement(
                (c['family'], c['table'], c['chain'])), c['handle']) for c in existing)
            diff.append({'before_header': 'nftables (live)', 'after_header': 'nftables (live)', 'before': before,
                         'after': after})
    for (fl, fam), m in sorted(ipt.items()):
        draw = desired_raw.get(fam) if backend == fl else None
        wanted = ipt_wanted.get((fl, fam), set())
        # iptables-nft creates a table on first use: one that would be left with nothing but empty
        # built-in chains was ours alone, and goes as a whole (nft delete table)
        drop_tables = []
        if fl == 'iptables-nft' and installed >= set(['nftables']):
            if draw is None and _notrack_ipt.only_ours(m, 'raw') and _notrack_ipt.has_ours(
                    {'tables': {'raw': m['tables']['raw']}}):
                drop_tables.append('raw')
            if not wanted and _notrack_ipt.only_ours(m, 'filter') and _notrack_ipt.has_ours(
                    {'tables': {'filter': m['tables']['filter']}}):
                drop_tables.append('filter')
        script = _notrack_ipt.render_restore(m, draw, wanted, ipt_ok.get((fl, fam), set()), skip=drop_tables)
        rs = _notrack_ipt.raw_state(m, draw)
        label = '%s %s' % (fl, fam)
        if backend == fl or not present:
            rs_missing += ['%s: %s' % (label, l) for l in rs['missing']]
            rs_extra += ['%s: %s' % (label, l) for l in rs['extra']]
        else:
            other_backends += ['%s: %s' % (label, l) for l in rs['extra']]
        cs = _notrack_ipt.companion_state(m)
        for b in sorted(wanted):
            if not (b in ipt_ok.get((fl, fam), set()) and len(cs['jumps'].get(b, [])) == 1):
                comp_missing.append('%s filter %s: %s' % (label, b, _notrack_ipt.plain_jump(b, _notrack.IPT_COMPANION)))
        for b, js in sorted(cs['jumps'].items()):
            if b not in wanted:
                comp_extra += ['%s filter %s: %s' % (label, b, l) for _i, l in js]
            elif len(js) > 1:
                comp_extra += ['%s filter %s: %s (duplicate)' % (label, b, l) for _i, l in js[1:]]
        if cs['chain'] is not None and not wanted:
            comp_extra.append('%s filter: chain %s' % (label, _notrack.IPT_COMPANION))
        if drop_tables:
            nft_fam = 'ip' if fam == 'ipv4' else 'ip6'
            steps.append({'framework': 'nftables', 'family': fam, 'notrack': 'raw' in drop_tables,
                          'script': ''.join('delete table %s %s\n' % (nft_fam, t) for t in drop_tables),
                          'before': None})
        if script or drop_tables:
            before_raw = None
            if rs['chains']:
                before_raw = dict((c, rs['chains'].get(c, [])) for c in _notrack.IPT_CHAINS.values())
            if script:
                steps.append({'framework': fl, 'family': fam, 'script': script, 'notrack': '*raw' in script,
                              'before': {'raw': before_raw, 'companion': sorted(cs['jumps'])}})
            diff.append({'before_header': '%s (live)' % label, 'after_header': '%s (live)' % label,
                         'before': _notrack_ipt.our_lines(m), 'after': _notrack_ipt.desired_lines(draw, wanted)})
    if comp_missing:
        warnings.append('companion: untracked packets are accepted before the stateful rules of %s; an exemption '
                        'wider than the services you allow also widens what the firewall accepts'
                        % ', '.join(sorted(needed)))
    # companions first when adding, NOTRACK first when removing
    steps.sort(key=lambda s: (s['notrack'] if present else not s['notrack']))

    # ---------------------------------------------------------------- persistence
    files, services, loaders_missing = {}, [], []
    cur = facts.get('files') or {}
    units = facts.get('units') or {}
    platform = facts.get('platform') or 'debian'
    paths = params.get('paths') or persist_paths(params, platform)
    persist_drift = []
    if params.get('persist', True):
        nft_companions = sorted(set(nft_add) | set(nft_keep))
        want_file = present and (backend == 'nftables' or nft_companions) and 'nftables' in installed
        nf, conf = paths['nftables_file'], paths['nftables_conf']
        if want_file:
            body = _notrack_nft.render_file(rules if backend == 'nftables' else [], nft_companions)
            if backend != 'nftables':
                body = _notrack_nft.FILE_HEADER + ''.join(_notrack.companion_nft_statement(c) + '\n' for c in nft_companions)
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
            draw = desired_raw.get(fam) if backend in IPT_FLAVOURS else None
            wanted = set()
            for fl in IPT_FLAVOURS:
                wanted |= ipt_wanted.get((fl, fam), set())
            sections = _notrack_ipt.file_sections(draw, wanted)
            merged = _notrack_ipt.merge_rules_file(cur.get(path), sections)
            if merged is not None or cur.get(path) is not None:
                files[path] = merged
            if sections:
                _want_units(services, loaders_missing, units, UNITS[platform][fam], params)
                dflt = facts.get('iptables_default')
                used = [fl for fl in IPT_FLAVOURS if fl == backend or ipt_wanted.get((fl, fam))]
                if dflt and any(fl != 'iptables-%s' % dflt for fl in used):
                    warnings.append('%s: loaded at boot by iptables-restore, which is the %s flavour here, while our '
                                    'objects are in %s' % (path, dflt, ', '.join(used)))
    changes = {}
    for path, text in files.items():
        if cur.get(path) != text:
            changes[path] = {'before': cur.get(path), 'after': text}
            persist_drift.append(path)
    for u in loaders_missing:
        warnings.append('persistence: %s is not installed (package %s): the rules will not come back at boot'
                        % (u, LOADER_PACKAGES.get(u, u)))

    # ---------------------------------------------------------------- report
    ruleset_sync = not rs_missing and not rs_extra and not other_backends
    companion_sync = not comp_missing and not comp_extra
    persist_sync = not persist_drift and not services
    report = {
        'drifted': not (ruleset_sync and companion_sync and persist_sync) or bool(refused),
        'state': 'present' if present else 'absent',
        'backend': backend,
        'ruleset': {'in_sync': ruleset_sync, 'present': bool(ours_in), 'missing': rs_missing, 'extra': rs_extra,
                    'other_backends': other_backends},
        'companion': {'in_sync': companion_sync and not refused, 'needed': sorted(set(needed)), 'missing': comp_missing,
                      'extra': comp_extra, 'refused': refused, 'ignored': ignored},
        'persistence': {'in_sync': persist_sync, 'files': sorted(persist_drift), 'services': services,
                        'loaders_missing': loaders_missing} if params.get('persist', True) else None,
    }
    return {'errors': errors, 'warnings': warnings, 'backend': {'name': backend, 'reason': reason}, 'rules': rules,
            'steps': steps, 'files': changes, 'services': services, 'analysis': analysis, 'drift_report': report,
            'diff': diff, 'paths': paths, 'control_conflicts': conflicts}


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


def drift_lines(report, host=None):
    """Readable lines of a drift report (the module's drift_report), for the audit."""
    prefix = '%s: ' % host if host else ''
    if not report:
        return [prefix + 'NOTRACK: no report']
    if not report['drifted']:
        return [prefix + 'NOTRACK: in sync (%s)' % (report.get('backend') or 'absent')]
    out = [prefix + 'NOTRACK: DRIFT (backend %s, state %s)' % (report.get('backend') or '-', report.get('state'))]
    rs, cp = report['ruleset'], report['companion']
    ps = report.get('persistence') or {}
    for label, items in (('missing rule', rs['missing']),
                         ('extra rule', rs['extra']),
                         ('ours in another backend (removed on apply)', rs['other_backends']),
                         ('companion missing', cp['missing']),
                         ('companion extra', cp['extra']),
                         ('companion needed but refused', cp['refused']),
                         ('persisted file differs', ps.get('files') or []),
                         ('service not enabled', ps.get('services') or [])):
        out.extend('  %s: %s' % (label, item) for item in items)
    return out
