# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole change conntrack_notrack makes, computed from what the module read: live rulesets
of every framework, persisted files, services, the control connection. Pure functions; the
module does the I/O behind one check-mode gate. (_audit.notrack_lines() turns the drift report
into readable lines for the audit, on the controller.)"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as _notrack_ipt, nft as _notrack_nft, safety as _notrack_safety, spec as _notrack

FRAMEWORKS = ('nftables', 'iptables-legacy', 'iptables-nft')
IPT_FLAVOURS = _kernel.IPT_FLAVOURS
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
            field, value = line.split('=', 1)
            if field in ('ID', 'ID_LIKE'):
                ids += value.strip().strip('"\'').lower().split()
    for os_id in ids:
        if os_id in ('debian', 'ubuntu', 'raspbian', 'linuxmint'):
            return 'debian'
        if os_id in ('rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol', 'amzn'):
            return 'redhat'
    return None


def persist_paths(params, platform):
    base = PATHS.get(platform or 'debian')
    return dict((k, params.get(k) or v) for k, v in base.items())


def _chain_id(chain):
    if chain['framework'] == 'nftables':
        return 'nftables %s %s %s' % (chain.get('nft_family') or chain['family'], chain['table'], chain['chain'])
    return '%s %s %s %s' % (chain['framework'], chain['family'], chain['table'], chain['chain'])


def _problem(chain, exemptions):
    """Why a chain needs the companion, in words."""
    by_index = dict((exemption['index'], exemption) for exemption in exemptions)
    who = '; '.join(_notrack.describe(by_index[i]) for i in chain['affected_by'] if i in by_index)
    why = '; '.join(chain['reason'][:2]) if chain['reason'] else 'policy drop'
    return ('%s chain %s %s %s (hook %s, policy %s) decides by conntrack state and would drop the untracked packets '
            'of %s (%s)' % (chain['framework'], chain.get('nft_family') or chain['family'], chain['table'],
                            chain['chain'], chain['hook'], chain['policy'], who, why))


def _refusal(chain, exemptions, mode):
    if chain['framework'] == 'nftables':
        fix = ('an accept in a table of ours cannot help: every base chain at a hook sees the packet and only a drop '
               'is final, so the accept must be in that chain. Add `ct state untracked accept` as its first rule '
               'yourself, or set companion: insert to let this module insert it (it then owns that one rule, '
               'commented "%s"), or companion: ignore if you have checked it' % _notrack.COMPANION_COMMENT)
    else:
        fix = ('set companion: auto or insert to let this module insert a jump to its chain %s '
               '(-m conntrack --ctstate UNTRACKED -j ACCEPT) first in that chain, or companion: ignore if you have '
               'checked it' % _notrack.IPT_COMPANION)
    return 'companion: %s; %s (companion is %s)' % (_problem(chain, exemptions), fix, mode)


def plan(params, exemptions, facts):
    """Compute everything, as a pipeline of stages: read state, choose backend, control guard,
    rules per family, companion, runtime steps, persistence, report. params: module params
    (+ resolved paths). exemptions: validated. facts: see the module (tools, rulesets, files,
    units, control connection).
    Returns {'errors', 'warnings', 'backend', 'rules', 'steps', 'files', 'services', 'analysis',
    'drift_report', 'diff', 'paths', 'control_conflicts'}."""
    ctx = read_state(params, exemptions, facts)
    if not choose_backend(ctx):
        return _early(ctx['errors'], ctx['warnings'])
    control_guard(ctx)
    rules_per_family(ctx)
    companion(ctx)
    nat_warning(ctx)
    nft_steps(ctx)
    ipt_steps(ctx)
    if ctx['comp_missing']:
        ctx['warnings'].append('companion: untracked packets are accepted before the stateful rules of %s; an exemption '
                               'wider than the services you allow also widens what the firewall accepts'
                               % ', '.join(sorted(ctx['needed'])))
    # companions first when adding, NOTRACK first when removing
    ctx['steps'].sort(key=lambda step: (step['notrack'] if ctx['present'] else not step['notrack']))
    persistence(ctx)
    return report(ctx)


def read_state(params, exemptions, facts):
    """Parse what the module read into the models every later stage uses (the pipeline's context)."""
    tools = facts.get('tools') or {}
    installed = set()
    if tools.get('nftables'):
        installed.add('nftables')
    for flavour in IPT_FLAVOURS:
        if (tools.get(flavour) or {}).get('ipv4'):
            installed.add(flavour)
    nft_model = _notrack_nft.parse_ruleset(facts['nft']) if facts.get('nft') is not None else None
    ipt = {}
    for (flavour, family), text in (facts.get('ipt') or {}).items():
        if text is not None:
            ipt[(flavour, family)] = _notrack_ipt.parse_save(text)
    ours_in = set()
    nft_ours = _notrack_nft.our_state(nft_model) if nft_model else {'exists': False, 'rules': [], 'chains_ok': False, 'text': ''}
    if nft_ours['exists']:
        ours_in.add('nftables')
    for (flavour, family), ruleset in ipt.items():
        raw_state = _notrack_ipt.raw_state(ruleset, None)
        if raw_state['chains'] or raw_state['jumps']:
            ours_in.add(flavour)
    return {'params': params, 'exemptions': exemptions, 'facts': facts, 'tools': tools, 'installed': installed,
            'present': params.get('state', 'present') == 'present', 'nft_model': nft_model, 'ipt': ipt,
            'nft_ours': nft_ours, 'ours_in': ours_in, 'errors': [], 'warnings': [], 'backend': None,
            'reason': 'state: absent (our objects are removed wherever they are)', 'rules': [], 'conflicts': [],
            'desired_raw': {}, 'steps': [], 'diff': [], 'rs_missing': [], 'rs_extra': [], 'other_backends': [],
            'comp_missing': [], 'comp_extra': [], 'nft_add': [], 'nft_keep': [], 'ipt_wanted': {}, 'ipt_ok': {},
            'refused': [], 'ignored': [], 'needed': [], 'analysis': [], 'tables': []}


def choose_backend(ctx):
    """The backend for present (decide_backend); False when there is none (an error is recorded)."""
    if ctx['present']:
        native = _notrack_nft.native_tables(ctx['nft_model']) if ctx['nft_model'] else []
        legacy_in_use = any(_notrack_ipt.in_use(ruleset) for (flavour, _f), ruleset in ctx['ipt'].items()
                            if flavour == 'iptables-legacy')
        xtnft_in_use = any(_notrack_ipt.in_use(ruleset) for (flavour, _f), ruleset in ctx['ipt'].items()
                           if flavour == 'iptables-nft')
        try:
            ctx['backend'], ctx['reason'] = _notrack.decide_backend(
                ctx['params'].get('backend', 'auto'), ctx['installed'], native, legacy_in_use, xtnft_in_use, ctx['ours_in'],
                ctx['facts'].get('iptables_default'))
        except _notrack.NotrackError as e:
            ctx['errors'].append(str(e))
            return False
        ctx['rules'] = _notrack.spec_rules(ctx['exemptions'])
    return True


def control_guard(ctx):
    """Refuse (or, when allowed, warn about) exemptions that match the control connection."""
    if not (ctx['present'] and ctx['rules']) or ctx['params'].get('untrack_all'):
        # untrack_all: the firewall check (companion refuse) protects the control connection
        return
    control = ctx['facts'].get('control') or {}
    ifaces = control.get('interfaces') or {}
    ctx['conflicts'] = _notrack.control_conflicts(ctx['rules'], ctx['exemptions'], control.get('sessions') or [],
                                                  control.get('ssh_ports') or [], iface_of=ifaces.get)
    for _i, why in ctx['conflicts']:
        if ctx['params'].get('allow_control_connection'):
            ctx['warnings'].append('control connection: %s (allowed by allow_control_connection)' % why)
        else:
            ctx['errors'].append('control connection: %s; this could cut off the connection that manages this host '
                                 '(set allow_control_connection: true if that is really meant)' % why)


def rules_per_family(ctx):
    """With an iptables backend: the rules of each family, or an error when a family's tool is missing."""
    backend, rules = ctx['backend'], ctx['rules']
    if backend not in IPT_FLAVOURS:
        return
    for family in _notrack.FAMILIES:
        if (ctx['tools'].get(backend) or {}).get(family):
            ctx['desired_raw'][family] = _notrack.ipt_rules(rules, family)
        elif any(rule.get('family') == family for rule in rules):
            ctx['errors'].append('exemptions: %s rules need %s, which is not installed here (backend %s)'
                                 % (family, 'ip6tables' if family == 'ipv6' else 'iptables', backend))
        elif family == 'ipv6' and rules:
            ctx['warnings'].append('ip6tables is not installed: exemptions apply to IPv4 only')


def companion(ctx):
    """Which stateful chains the untracked packets reach, and per companion mode what to do there."""
    tables = []
    if ctx['nft_model']:
        tables += _notrack_nft.safety_tables(ctx['nft_model'])
    for (flavour, family), ruleset in sorted(ctx['ipt'].items()):
        tables += _notrack_ipt.safety_tables(ruleset, flavour, family)
    ctx['tables'] = tables
    ctx['analysis'] = analysis = _notrack_safety.analyze(tables, ctx['rules'] if ctx['rules'] else [])
    mode = ctx['params'].get('companion', 'auto')
    exemptions = ctx['exemptions']
    for chain in analysis:
        if chain['framework'] == 'iptables' or chain['framework'] in IPT_FLAVOURS:
            if chain['companion'] == 'effective':
                ctx['ipt_ok'].setdefault((chain['framework'], chain['family']), set()).add(chain['chain'])
        if not chain['affected_by']:
            continue
        ctx['needed'].append(_chain_id(chain))
        if mode == 'ignore':
            ctx['ignored'].append(_chain_id(chain))
            ctx['warnings'].append('companion: ignored (companion: ignore): %s' % _problem(chain, exemptions))
            continue
        if chain['framework'] == 'nftables':
            if mode == 'insert' and chain['table'] == 'firewalld':
                ctx['errors'].append('companion: nftables table %s %s belongs to firewalld, which rebuilds it; allow '
                                     'untracked packets through firewalld instead (or companion: ignore)'
                                     % (chain['nft_family'], chain['table']))
                ctx['refused'].append(_chain_id(chain))
            elif mode == 'insert':
                nft_chain = (chain['nft_family'], chain['table'], chain['chain'])
                (ctx['nft_keep'] if chain['companion'] == 'effective' else ctx['nft_add']).append(nft_chain)
            else:
                ctx['errors'].append(_refusal(chain, exemptions, mode))
                ctx['refused'].append(_chain_id(chain))
        elif mode in ('auto', 'insert'):
            ctx['ipt_wanted'].setdefault((chain['framework'], chain['family']), set()).add(chain['chain'])
        else:
            ctx['errors'].append(_refusal(chain, exemptions, mode))
            ctx['refused'].append(_chain_id(chain))


def nat_warning(ctx):
    """Untracked packets are not NATed: say so when NAT rules exist."""
    if not (ctx['present'] and ctx['rules']):
        return
    nat = sorted(set('%s %s' % (table.get('nft_family') or table['family'], table['table']) for table in ctx['tables']
                     for chain in table['chains'].values() if chain.get('type') == 'nat'))
    for (flavour, family), ruleset in sorted(ctx['ipt'].items()):
        nat_chains = ((ruleset['tables'].get('nat') or {}).get('chains') or {}).values()
        if any(not _notrack_ipt.is_our_line(rule) for chain in nat_chains for rule in chain['rules']):
            nat.append('%s %s nat' % (flavour, family))
    if nat:
        ctx['warnings'].append('NAT rules present (%s): exempted packets are not NATed (NAT needs conntrack); make sure '
                               'no exemption covers NATed traffic' % ', '.join(nat))


def nft_steps(ctx):
    """The nftables transaction (our table and the companions), with its drift and diff."""
    nft_model, nft_ours, rules = ctx['nft_model'], ctx['nft_ours'], ctx['rules']
    if nft_model is None:
        return
    present, backend = ctx['present'], ctx['backend']
    want_table = present and backend == 'nftables'
    existing = _notrack_nft.companions(nft_model)
    by_chain = {}
    for rule in existing:
        by_chain.setdefault((rule['family'], rule['table'], rule['chain']), []).append(rule)
    nft_keep = ctx['nft_keep']
    wanted = sorted(set(ctx['nft_add']) | set(nft_keep))
    delete = [rule for chain_id, chain_rules in sorted(by_chain.items())
              if not (chain_id in nft_keep and len(chain_rules) == 1) for rule in chain_rules]
    add = [chain_id for chain_id in wanted if not (chain_id in nft_keep and len(by_chain.get(chain_id, [])) == 1)]
    script = _notrack_nft.render_script(nft_ours, rules if want_table else [], want_table, add, delete)
    if want_table:
        want_keys = [_notrack.rule_key(r) for r in rules]
        if not nft_ours['exists']:
            ctx['rs_missing'].append('nftables: table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        elif not nft_ours['chains_ok']:
            ctx['rs_extra'].append('nftables: chains of table %s %s differ from prerouting/output at priority raw'
                                   % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
        ctx['rs_missing'] += ['nftables: ' + _notrack.render_nft_rule(r) for r in rules
                              if _notrack.rule_key(r) not in nft_ours['rules']]
        for rule_key in nft_ours['rules']:
            if rule_key not in want_keys:
                ctx['rs_extra'].append('nftables: ' + (rule_key[1] if rule_key[0] == 'unknown'
                                                       else _notrack.render_nft_rule(dict(zip(_notrack.RULE_KEYS, rule_key)))))
        if not ctx['rs_missing'] and not ctx['rs_extra'] and nft_ours['rules'] != want_keys:
            ctx['rs_extra'].append('nftables: rules of table %s %s out of order or duplicated'
                                   % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    elif nft_ours['exists']:
        (ctx['other_backends'] if present else ctx['rs_extra']).append(
            'nftables: table %s %s (%d rules)' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE, len(nft_ours['rules'])))
    ctx['comp_missing'] += ['nftables %s %s %s: %s' % (chain_id + (_notrack.companion_nft_rule(),)) for chain_id in add]
    ctx['comp_extra'] += ['nftables %s %s %s: rule handle %s'
                          % (rule['family'], rule['table'], rule['chain'], rule['handle'])
                          for rule in delete]
    if script:
        ctx['steps'].append({'framework': 'nftables', 'family': 'inet', 'script': script, 'notrack': _table_changes(script),
                             'before': {'exists': nft_ours['exists'], 'companions': sorted(by_chain),
                                        'rules': [rule_key for rule_key in nft_ours['rules'] if rule_key[0] != 'unknown']}})
        after = _notrack.render_nft_table(rules, wanted) if want_table else \
            ''.join(_notrack.companion_nft_statement(rule) + '\n' for rule in wanted)
        before = nft_ours['text'] + ''.join('%s (handle %s)\n' % (_notrack.companion_nft_statement(
            (rule['family'], rule['table'], rule['chain'])), rule['handle']) for rule in existing)
        ctx['diff'].append({'before_header': 'nftables (live)', 'after_header': 'nftables (live)', 'before': before,
                            'after': after})


def ipt_steps(ctx):
    """One iptables-restore transaction per flavour and family (our chains and the companion)."""
    present, backend = ctx['present'], ctx['backend']
    for (flavour, family), ruleset in sorted(ctx['ipt'].items()):
        desired_raw = ctx['desired_raw'].get(family) if backend == flavour else None
        wanted = ctx['ipt_wanted'].get((flavour, family), set())
        # iptables-nft creates a table on first use: one that would be left with nothing but empty
        # built-in chains was ours alone, and goes as a whole (nft delete table)
        drop_tables = []
        if flavour == 'iptables-nft' and ctx['installed'] >= set(['nftables']):
            if desired_raw is None and _notrack_ipt.only_ours(ruleset, 'raw') and _notrack_ipt.has_ours(
                    {'tables': {'raw': ruleset['tables']['raw']}}):
                drop_tables.append('raw')
            if not wanted and _notrack_ipt.only_ours(ruleset, 'filter') and _notrack_ipt.has_ours(
                    {'tables': {'filter': ruleset['tables']['filter']}}):
                drop_tables.append('filter')
        accepted = ctx['ipt_ok'].get((flavour, family), set())
        script = _notrack_ipt.render_restore(ruleset, desired_raw, wanted, accepted, skip=drop_tables)
        raw_state = _notrack_ipt.raw_state(ruleset, desired_raw)
        label = '%s %s' % (flavour, family)
        if backend == flavour or not present:
            ctx['rs_missing'] += ['%s: %s' % (label, line) for line in raw_state['missing']]
            ctx['rs_extra'] += ['%s: %s' % (label, line) for line in raw_state['extra']]
        else:
            ctx['other_backends'] += ['%s: %s' % (label, line) for line in raw_state['extra']]
        companion_state = _notrack_ipt.companion_state(ruleset)
        for chain in sorted(wanted):
            if not (chain in accepted and len(companion_state['jumps'].get(chain, [])) == 1):
                ctx['comp_missing'].append('%s filter %s: %s'
                                           % (label, chain, _notrack_ipt.plain_jump(chain, _notrack.IPT_COMPANION)))
        for chain, jumps in sorted(companion_state['jumps'].items()):
            if chain not in wanted:
                ctx['comp_extra'] += ['%s filter %s: %s' % (label, chain, line) for _i, line in jumps]
            elif len(jumps) > 1:
                ctx['comp_extra'] += ['%s filter %s: %s (duplicate)' % (label, chain, line) for _i, line in jumps[1:]]
        if companion_state['chain'] is not None and not wanted:
            ctx['comp_extra'].append('%s filter: chain %s' % (label, _notrack.IPT_COMPANION))
        if drop_tables:
            nft_fam = 'ip' if family == 'ipv4' else 'ip6'
            ctx['steps'].append({'framework': 'nftables', 'family': family, 'notrack': 'raw' in drop_tables,
                                 'script': ''.join('delete table %s %s\n' % (nft_fam, table) for table in drop_tables),
                                 'before': None})
        if script or drop_tables:
            before_raw = None
            if raw_state['chains']:
                before_raw = dict((chain_name, raw_state['chains'].get(chain_name, []))
                                  for chain_name in _notrack.IPT_CHAINS.values())
            if script:
                ctx['steps'].append({'framework': flavour, 'family': family, 'script': script, 'notrack': '*raw' in script,
                                     'before': {'raw': before_raw, 'companion': sorted(companion_state['jumps'])}})
            ctx['diff'].append({'before_header': '%s (live)' % label, 'after_header': '%s (live)' % label,
                                'before': _notrack_ipt.our_lines(ruleset),
                                'after': _notrack_ipt.desired_lines(desired_raw, wanted)})


def persistence(ctx):
    """What the persisted files should hold and which loading services to enable."""
    params, facts, backend, present = ctx['params'], ctx['facts'], ctx['backend'], ctx['present']
    files, services, loaders_missing = {}, [], []
    current_files = facts.get('files') or {}
    units = facts.get('units') or {}
    platform = facts.get('platform') or 'debian'
    paths = params.get('paths') or persist_paths(params, platform)
    if params.get('persist', True):
        nft_companions = sorted(set(ctx['nft_add']) | set(ctx['nft_keep']))
        want_file = present and (backend == 'nftables' or nft_companions) and 'nftables' in ctx['installed']
        nft_file, conf = paths['nftables_file'], paths['nftables_conf']
        if want_file:
            body = _notrack_nft.render_file(ctx['rules'] if backend == 'nftables' else [], nft_companions)
            if backend != 'nftables':
                body = _notrack_nft.FILE_HEADER + ''.join(_notrack.companion_nft_statement(x) + '\n'
                                                          for x in nft_companions)
            files[nft_file] = body
            files[conf] = _notrack_nft.conf_with_include(current_files.get(conf), conf, nft_file)
            _want_units(services, loaders_missing, units, UNITS[platform]['nftables'], params)
        else:
            if current_files.get(nft_file) is not None:
                files[nft_file] = None
            if current_files.get(conf) is not None:
                files[conf] = _notrack_nft.conf_without_include(current_files.get(conf), nft_file)
        for family, key in (('ipv4', 'iptables_rules_v4'), ('ipv6', 'iptables_rules_v6')):
            path = paths[key]
            desired_raw = ctx['desired_raw'].get(family) if backend in IPT_FLAVOURS else None
            wanted = set()
            for flavour in IPT_FLAVOURS:
                wanted |= ctx['ipt_wanted'].get((flavour, family), set())
            sections = _notrack_ipt.file_sections(desired_raw, wanted)
            merged = _notrack_ipt.merge_rules_file(current_files.get(path), sections)
            if merged is not None or current_files.get(path) is not None:
                files[path] = merged
            if sections:
                _want_units(services, loaders_missing, units, UNITS[platform][family], params)
                ipt_default = facts.get('iptables_default')
                used = [flavour for flavour in IPT_FLAVOURS
                        if flavour == backend or ctx['ipt_wanted'].get((flavour, family))]
                if ipt_default and any(flavour != 'iptables-%s' % ipt_default for flavour in used):
                    ctx['warnings'].append('%s: loaded at boot by iptables-restore, which is the %s flavour here, while '
                                           'our objects are in %s' % (path, ipt_default, ', '.join(used)))
    ctx['files'] = dict((path, {'before': current_files.get(path), 'after': text}) for path, text in files.items()
                        if current_files.get(path) != text)
    for unit in loaders_missing:
        ctx['warnings'].append('persistence: %s is not installed (package %s): the rules will not come back at boot'
                               % (unit, LOADER_PACKAGES.get(unit, unit)))
    ctx.update(services=services, loaders_missing=loaders_missing, paths=paths)


def report(ctx):
    """The drift report and the plan's result."""
    params = ctx['params']
    ruleset_sync = not ctx['rs_missing'] and not ctx['rs_extra'] and not ctx['other_backends']
    companion_sync = not ctx['comp_missing'] and not ctx['comp_extra']
    persist_sync = not ctx['files'] and not ctx['services']
    drift = {
        'drifted': not (ruleset_sync and companion_sync and persist_sync) or bool(ctx['refused']),
        'state': 'present' if ctx['present'] else 'absent',
        'backend': ctx['backend'],
        'ruleset': {'in_sync': ruleset_sync, 'present': bool(ctx['ours_in']), 'missing': ctx['rs_missing'],
                    'extra': ctx['rs_extra'], 'other_backends': ctx['other_backends']},
        'companion': {'in_sync': companion_sync and not ctx['refused'], 'needed': sorted(set(ctx['needed'])),
                      'missing': ctx['comp_missing'], 'extra': ctx['comp_extra'], 'refused': ctx['refused'],
                      'ignored': ctx['ignored']},
        'persistence': {'in_sync': persist_sync, 'files': sorted(ctx['files']), 'services': ctx['services'],
                        'loaders_missing': ctx['loaders_missing']} if params.get('persist', True) else None,
    }
    return {'errors': ctx['errors'], 'warnings': ctx['warnings'],
            'backend': {'name': ctx['backend'], 'reason': ctx['reason']},
            'rules': ctx['rules'], 'steps': ctx['steps'], 'files': ctx['files'], 'services': ctx['services'],
            'analysis': ctx['analysis'], 'drift_report': drift, 'diff': ctx['diff'], 'paths': ctx['paths'],
            'control_conflicts': ctx['conflicts']}


def undo_script(step, live_text):
    """The transaction that puts a step's framework back as it was before the step, computed
    from the live ruleset read again (nft JSON or iptables-save text)."""
    before = step['before']
    if before is None:
        return ''  # a table deleted whole: nothing of anyone else's was in it
    if step['framework'] == 'nftables':
        model = _notrack_nft.parse_ruleset(live_text)
        rules = [dict(zip(_notrack.RULE_KEYS, rule_key), items=[]) for rule_key in before['rules']]
        now = _notrack_nft.companions(model)
        live_ids = [(rule['family'], rule['table'], rule['chain']) for rule in now]
        wanted_ids = [tuple(chain_id) for chain_id in before['companions']]
        add = [chain_id for chain_id in wanted_ids if chain_id not in live_ids]
        delete = [rule for rule in now if (rule['family'], rule['table'], rule['chain']) not in wanted_ids]
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
    for unit in names:
        info = units.get(unit)
        if info is None:
            continue  # not checked (enable_service: false)
        if not info.get('exists'):
            if unit not in missing:
                missing.append(unit)
        elif not info.get('enabled') and params.get('enable_service', True) and unit not in services:
            services.append(unit)


def _early(errors, warnings):
    return {'errors': errors, 'warnings': warnings, 'backend': {'name': None, 'reason': None}, 'rules': [], 'steps': [],
            'files': {}, 'services': [], 'analysis': [], 'drift_report': None, 'diff': [], 'paths': {},
            'control_conflicts': []}
