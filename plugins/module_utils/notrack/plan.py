# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole change conntrack_notrack makes, computed from what the module read: live rulesets
of every framework, persisted files, services, the control connection. Pure functions; the
module does the I/O behind one check-mode gate. (_audit.notrack_lines() turns the drift report
into readable lines for the audit, on the controller.)"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections

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


# --------------------------------------------------------------------------- the stages
# Each stage takes what it needs as arguments and returns a named tuple; plan() strings them
# together. Errors and warnings are returned by each stage and gathered in plan(), in the order
# of the stages.

Host = collections.namedtuple('Host', 'present tools installed nft_model ipt nft_ours ours_in')
Host.__doc__ = """What the module read, parsed (read_state): present (state is present), tools (what is
installed, per framework and family), installed (frameworks usable here), nft_model (the parsed
nft ruleset, or None without nft), ipt ({(flavour, family): parsed iptables-save}), nft_ours (our
nft table's state), ours_in (the frameworks holding objects of ours)."""

Backend = collections.namedtuple('Backend', 'name reason rules errors')
Backend.__doc__ = """The backend for state present (choose_backend): name (None when absent or refused),
reason, rules (the canonical rules of the exemptions), errors."""

Guard = collections.namedtuple('Guard', 'conflicts errors warnings')
Guard.__doc__ = """Exemptions that match the control connection (control_guard): conflicts [(index, why)]."""

Families = collections.namedtuple('Families', 'desired_raw errors warnings')
Families.__doc__ = """With an iptables backend, the raw-table rules per family (rules_per_family)."""

Companion = collections.namedtuple(
    'Companion', 'tables analysis needed ignored refused nft_add nft_keep ipt_wanted ipt_ok errors warnings')
Companion.__doc__ = """The stateful chains the untracked packets reach, and what to do there (companion):
tables and analysis (notrack/safety.py), needed/ignored/refused (chain ids), nft_add/nft_keep (nft
chains that get / keep our accept), ipt_wanted/ipt_ok ({(flavour, family): chains} that need / have
an effective companion jump)."""

Change = collections.namedtuple('Change', 'steps diff rs_missing rs_extra other_backends comp_missing comp_extra')
Change.__doc__ = """The live transactions of one framework (nft_steps, ipt_steps) with their drift:
steps, diff, rs_missing/rs_extra (our rules), other_backends (ours in a backend not chosen),
comp_missing/comp_extra (companions)."""

Persistence = collections.namedtuple('Persistence', 'files services loaders_missing paths warnings')
Persistence.__doc__ = """What the persisted files should hold and the loaders to enable (persistence):
files {path: {'before', 'after'}} that change, services to enable, loaders_missing (not installed),
paths (the resolved persistence paths)."""


def plan(params, exemptions, facts):
    """Compute everything, as a pipeline of stages: read state, choose backend, control guard,
    rules per family, companion, runtime steps, persistence, report. params: module params
    (+ resolved paths; spec.plan_params() gives the defaults). exemptions: validated. facts: see
    the module (tools, rulesets, files, units, control connection).
    Returns {'errors', 'warnings', 'backend', 'rules', 'steps', 'files', 'services', 'analysis',
    'drift_report', 'diff', 'paths', 'control_conflicts'}."""
    host = read_state(params, exemptions, facts)
    backend = choose_backend(params.get('backend', 'auto'), exemptions, host, facts.get('iptables_default'))
    if backend.errors:
        return _early(backend.errors, [])
    rules = backend.rules
    guard = control_guard(params, exemptions, rules, facts.get('control') or {}, host.present)
    families = rules_per_family(backend.name, rules, host.tools)
    comp = companion(params.get('companion', 'auto'), exemptions, rules, host)
    nat = nat_warnings(host, rules, comp.tables)
    nft = nft_steps(host, backend.name, rules, comp)
    ipt = ipt_steps(host, backend.name, families.desired_raw, comp)
    comp_missing = nft.comp_missing + ipt.comp_missing
    late = []
    if comp_missing:
        late.append('companion: untracked packets are accepted before the stateful rules of %s; an exemption wider than '
                    'the services you allow also widens what the firewall accepts' % ', '.join(sorted(comp.needed)))
    # companions first when adding, NOTRACK first when removing
    steps = sorted(nft.steps + ipt.steps, key=lambda step: (step['notrack'] if host.present else not step['notrack']))
    persisted = persistence(params, facts, host, backend.name, rules, families.desired_raw, comp)
    change = Change(steps, nft.diff + ipt.diff, nft.rs_missing + ipt.rs_missing, nft.rs_extra + ipt.rs_extra,
                    nft.other_backends + ipt.other_backends, comp_missing, nft.comp_extra + ipt.comp_extra)
    errors = guard.errors + families.errors + comp.errors
    warnings = guard.warnings + families.warnings + comp.warnings + nat + late + persisted.warnings
    return report(params, host, backend, guard, comp, change, persisted, errors, warnings)


def read_state(params, exemptions, facts):
    """Host: parse what the module read into the models every later stage uses."""
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
    present = params.get('state', 'present') == 'present'
    return Host(present, tools, installed, nft_model, ipt, nft_ours, ours_in)


def choose_backend(wanted, exemptions, host, iptables_default):
    """Backend: for state present, the backend (spec.decide_backend from the wanted one, what is
    installed and in use, and the flavour the plain iptables command is) and the rules; an error
    when there is none."""
    if not host.present:
        return Backend(None, 'state: absent (our objects are removed wherever they are)', [], [])
    native = _notrack_nft.native_tables(host.nft_model) if host.nft_model else []
    legacy_in_use = any(_notrack_ipt.in_use(ruleset) for (flavour, _f), ruleset in host.ipt.items()
                        if flavour == 'iptables-legacy')
    xtnft_in_use = any(_notrack_ipt.in_use(ruleset) for (flavour, _f), ruleset in host.ipt.items()
                       if flavour == 'iptables-nft')
    try:
        name, reason = _notrack.decide_backend(wanted, host.installed, native, legacy_in_use, xtnft_in_use,
                                               host.ours_in, iptables_default)
    except _notrack.NotrackError as e:
        return Backend(None, None, [], [str(e)])
    return Backend(name, reason, _notrack.spec_rules(exemptions), [])


def control_guard(params, exemptions, rules, control, present):
    """Guard: refuse (or, when allowed, warn about) exemptions that match the control connection."""
    if not (present and rules) or params.get('untrack_all'):
        # untrack_all: the firewall check (companion refuse) protects the control connection
        return Guard([], [], [])
    ifaces = control.get('interfaces') or {}
    conflicts = _notrack.control_conflicts(rules, exemptions, control.get('sessions') or [],
                                           control.get('ssh_ports') or [], iface_of=ifaces.get)
    errors, warnings = [], []
    for _i, why in conflicts:
        if params.get('allow_control_connection'):
            warnings.append('control connection: %s (allowed by allow_control_connection)' % why)
        else:
            errors.append('control connection: %s; this could cut off the connection that manages this host '
                          '(set allow_control_connection: true if that is really meant)' % why)
    return Guard(conflicts, errors, warnings)


def rules_per_family(backend, rules, tools):
    """Families: with an iptables backend, the rules of each family, or an error when a family's
    tool is missing."""
    desired_raw, errors, warnings = {}, [], []
    if backend not in IPT_FLAVOURS:
        return Families(desired_raw, errors, warnings)
    for family in _notrack.FAMILIES:
        if (tools.get(backend) or {}).get(family):
            desired_raw[family] = _notrack.ipt_rules(rules, family)
        elif any(rule.get('family') == family for rule in rules):
            errors.append('exemptions: %s rules need %s, which is not installed here (backend %s)'
                          % (family, 'ip6tables' if family == 'ipv6' else 'iptables', backend))
        elif family == 'ipv6' and rules:
            warnings.append('ip6tables is not installed: exemptions apply to IPv4 only')
    return Families(desired_raw, errors, warnings)


def companion(mode, exemptions, rules, host):
    """Companion: which stateful chains the untracked packets reach, and per companion mode what
    to do there."""
    tables = []
    if host.nft_model:
        tables += _notrack_nft.safety_tables(host.nft_model)
    for (flavour, family), ruleset in sorted(host.ipt.items()):
        tables += _notrack_ipt.safety_tables(ruleset, flavour, family)
    analysis = _notrack_safety.analyze(tables, rules if rules else [])
    out = Companion(tables, analysis, [], [], [], [], [], {}, {}, [], [])
    for chain in analysis:
        if chain['framework'] == 'iptables' or chain['framework'] in IPT_FLAVOURS:
            if chain['companion'] == 'effective':
                out.ipt_ok.setdefault((chain['framework'], chain['family']), set()).add(chain['chain'])
        if not chain['affected_by']:
            continue
        out.needed.append(_chain_id(chain))
        if mode == 'ignore':
            out.ignored.append(_chain_id(chain))
            out.warnings.append('companion: ignored (companion: ignore): %s' % _problem(chain, exemptions))
            continue
        if chain['framework'] == 'nftables':
            if mode == 'insert' and chain['table'] == 'firewalld':
                out.errors.append('companion: nftables table %s %s belongs to firewalld, which rebuilds it; allow '
                                  'untracked packets through firewalld instead (or companion: ignore)'
                                  % (chain['nft_family'], chain['table']))
                out.refused.append(_chain_id(chain))
            elif mode == 'insert':
                nft_chain = (chain['nft_family'], chain['table'], chain['chain'])
                (out.nft_keep if chain['companion'] == 'effective' else out.nft_add).append(nft_chain)
            else:
                out.errors.append(_refusal(chain, exemptions, mode))
                out.refused.append(_chain_id(chain))
        elif mode in ('auto', 'insert'):
            out.ipt_wanted.setdefault((chain['framework'], chain['family']), set()).add(chain['chain'])
        else:
            out.errors.append(_refusal(chain, exemptions, mode))
            out.refused.append(_chain_id(chain))
    return out


def nat_warnings(host, rules, tables):
    """Untracked packets are not NATed: a warning when NAT rules exist."""
    if not (host.present and rules):
        return []
    nat = sorted(set('%s %s' % (table.get('nft_family') or table['family'], table['table']) for table in tables
                     for chain in table['chains'].values() if chain.get('type') == 'nat'))
    for (flavour, family), ruleset in sorted(host.ipt.items()):
        nat_chains = ((ruleset['tables'].get('nat') or {}).get('chains') or {}).values()
        if any(not _notrack_ipt.is_our_line(rule) for chain in nat_chains for rule in chain['rules']):
            nat.append('%s %s nat' % (flavour, family))
    if not nat:
        return []
    return ['NAT rules present (%s): exempted packets are not NATed (NAT needs conntrack); make sure no exemption '
            'covers NATed traffic' % ', '.join(nat)]


def nft_steps(host, backend, rules, comp):
    """Change: the nftables transaction (our table and the companions), with its drift and diff."""
    out = Change([], [], [], [], [], [], [])
    nft_model, nft_ours = host.nft_model, host.nft_ours
    if nft_model is None:
        return out
    want_table = host.present and backend == 'nftables'
    existing = _notrack_nft.companions(nft_model)
    by_chain = {}
    for rule in existing:
        by_chain.setdefault((rule['family'], rule['table'], rule['chain']), []).append(rule)
    wanted = sorted(set(comp.nft_add) | set(comp.nft_keep))
    delete = [rule for chain_id, chain_rules in sorted(by_chain.items())
              if not (chain_id in comp.nft_keep and len(chain_rules) == 1) for rule in chain_rules]
    add = [chain_id for chain_id in wanted if not (chain_id in comp.nft_keep and len(by_chain.get(chain_id, [])) == 1)]
    script = _notrack_nft.render_script(nft_ours, rules if want_table else [], want_table, add, delete)
    if want_table:
        out.rs_missing.extend(_nft_missing(nft_ours, rules))
        out.rs_extra.extend(_nft_extra(nft_ours, rules, not out.rs_missing))
    elif nft_ours['exists']:
        (out.other_backends if host.present else out.rs_extra).append(
            'nftables: table %s %s (%d rules)' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE, len(nft_ours['rules'])))
    out.comp_missing.extend('nftables %s %s %s: %s' % (chain_id + (_notrack.companion_nft_rule(),)) for chain_id in add)
    out.comp_extra.extend('nftables %s %s %s: rule handle %s' % (rule['family'], rule['table'], rule['chain'],
                                                                 rule['handle']) for rule in delete)
    if script:
        out.steps.append({'framework': 'nftables', 'family': 'inet', 'script': script, 'notrack': _table_changes(script),
                          'before': {'exists': nft_ours['exists'], 'companions': sorted(by_chain),
                                     'rules': [rule_key for rule_key in nft_ours['rules'] if rule_key[0] != 'unknown']}})
        after = _notrack.render_nft_table(rules, wanted) if want_table else \
            ''.join(_notrack.companion_nft_statement(rule) + '\n' for rule in wanted)
        before = nft_ours['text'] + ''.join('%s (handle %s)\n' % (_notrack.companion_nft_statement(
            (rule['family'], rule['table'], rule['chain'])), rule['handle']) for rule in existing)
        out.diff.append({'before_header': 'nftables (live)', 'after_header': 'nftables (live)', 'before': before,
                         'after': after})
    return out


def _nft_missing(nft_ours, rules):
    """What our nft table lacks: the table itself, or rules."""
    missing = []
    if not nft_ours['exists']:
        missing.append('nftables: table %s %s' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    missing += ['nftables: ' + _notrack.render_nft_rule(r) for r in rules if _notrack.rule_key(r) not in nft_ours['rules']]
    return missing


def _nft_extra(nft_ours, rules, nothing_missing):
    """What our nft table has beyond the rules: other chains, other rules, or the right rules out of order."""
    extra = []
    if nft_ours['exists'] and not nft_ours['chains_ok']:
        extra.append('nftables: chains of table %s %s differ from prerouting/output at priority raw'
                     % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    want_keys = [_notrack.rule_key(r) for r in rules]
    for rule_key in nft_ours['rules']:
        if rule_key not in want_keys:
            extra.append('nftables: ' + (rule_key[1] if rule_key[0] == 'unknown'
                                         else _notrack.render_nft_rule(dict(zip(_notrack.RULE_KEYS, rule_key)))))
    if nothing_missing and not extra and nft_ours['rules'] != want_keys:
        extra.append('nftables: rules of table %s %s out of order or duplicated' % (_notrack.NFT_FAMILY, _notrack.NFT_TABLE))
    return extra


def ipt_steps(host, backend, desired_raw, comp):
    """Change: one iptables-restore transaction per flavour and family (our chains and the
    companion)."""
    out = Change([], [], [], [], [], [], [])
    for (flavour, family), ruleset in sorted(host.ipt.items()):
        raw = desired_raw.get(family) if backend == flavour else None
        wanted = comp.ipt_wanted.get((flavour, family), set())
        drop_tables = _ipt_tables_to_drop(host, flavour, ruleset, raw, wanted)
        accepted = comp.ipt_ok.get((flavour, family), set())
        script = _notrack_ipt.render_restore(ruleset, raw, wanted, accepted, skip=drop_tables)
        raw_state = _notrack_ipt.raw_state(ruleset, raw)
        label = '%s %s' % (flavour, family)
        if backend == flavour or not host.present:
            out.rs_missing.extend('%s: %s' % (label, line) for line in raw_state['missing'])
            out.rs_extra.extend('%s: %s' % (label, line) for line in raw_state['extra'])
        else:
            out.other_backends.extend('%s: %s' % (label, line) for line in raw_state['extra'])
        companion_state = _notrack_ipt.companion_state(ruleset)
        _ipt_companion_drift(out, label, wanted, accepted, companion_state)
        if drop_tables:
            nft_fam = 'ip' if family == 'ipv4' else 'ip6'
            out.steps.append({'framework': 'nftables', 'family': family, 'notrack': 'raw' in drop_tables,
                              'script': ''.join('delete table %s %s\n' % (nft_fam, table) for table in drop_tables),
                              'before': None})
        if script or drop_tables:
            before_raw = None
            if raw_state['chains']:
                before_raw = dict((chain_name, raw_state['chains'].get(chain_name, []))
                                  for chain_name in _notrack.IPT_CHAINS.values())
            if script:
                out.steps.append({'framework': flavour, 'family': family, 'script': script, 'notrack': '*raw' in script,
                                  'before': {'raw': before_raw, 'companion': sorted(companion_state['jumps'])}})
            out.diff.append({'before_header': '%s (live)' % label, 'after_header': '%s (live)' % label,
                             'before': _notrack_ipt.our_lines(ruleset), 'after': _notrack_ipt.desired_lines(raw, wanted)})
    return out


def _ipt_tables_to_drop(host, flavour, ruleset, raw, wanted):
    """iptables-nft creates a table on first use: one that would be left with nothing but empty
    built-in chains was ours alone, and goes as a whole (nft delete table)."""
    drop = []
    if flavour == 'iptables-nft' and host.installed >= set(['nftables']):
        if raw is None and _notrack_ipt.only_ours(ruleset, 'raw') and _notrack_ipt.has_ours(
                {'tables': {'raw': ruleset['tables']['raw']}}):
            drop.append('raw')
        if not wanted and _notrack_ipt.only_ours(ruleset, 'filter') and _notrack_ipt.has_ours(
                {'tables': {'filter': ruleset['tables']['filter']}}):
            drop.append('filter')
    return drop


def _ipt_companion_drift(out, label, wanted, accepted, companion_state):
    for chain in sorted(wanted):
        if not (chain in accepted and len(companion_state['jumps'].get(chain, [])) == 1):
            out.comp_missing.append('%s filter %s: %s' % (label, chain, _notrack_ipt.plain_jump(chain, _notrack.IPT_COMPANION)))
    for chain, jumps in sorted(companion_state['jumps'].items()):
        if chain not in wanted:
            out.comp_extra.extend('%s filter %s: %s' % (label, chain, line) for _i, line in jumps)
        elif len(jumps) > 1:
            out.comp_extra.extend('%s filter %s: %s (duplicate)' % (label, chain, line) for _i, line in jumps[1:])
    if companion_state['chain'] is not None and not wanted:
        out.comp_extra.append('%s filter: chain %s' % (label, _notrack.IPT_COMPANION))


def persistence(params, facts, host, backend, rules, desired_raw, comp):
    """Persistence: what the persisted files should hold and which loading services to enable."""
    files, services, loaders_missing, warnings = {}, [], [], []
    current_files = facts.get('files') or {}
    units = facts.get('units') or {}
    platform = facts.get('platform') or 'debian'
    paths = params.get('paths') or persist_paths(params, platform)
    if params.get('persist', True):
        nft_companions = sorted(set(comp.nft_add) | set(comp.nft_keep))
        want_file = host.present and (backend == 'nftables' or nft_companions) and 'nftables' in host.installed
        nft_file, conf = paths['nftables_file'], paths['nftables_conf']
        if want_file:
            body = _notrack_nft.render_file(rules if backend == 'nftables' else [], nft_companions)
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
            raw = desired_raw.get(family) if backend in IPT_FLAVOURS else None
            wanted = set()
            for flavour in IPT_FLAVOURS:
                wanted |= comp.ipt_wanted.get((flavour, family), set())
            sections = _notrack_ipt.file_sections(raw, wanted)
            merged = _notrack_ipt.merge_rules_file(current_files.get(path), sections)
            if merged is not None or current_files.get(path) is not None:
                files[path] = merged
            if sections:
                _want_units(services, loaders_missing, units, UNITS[platform][family], params)
                ipt_default = facts.get('iptables_default')
                used = [flavour for flavour in IPT_FLAVOURS if flavour == backend or comp.ipt_wanted.get((flavour, family))]
                if ipt_default and any(flavour != 'iptables-%s' % ipt_default for flavour in used):
                    warnings.append('%s: loaded at boot by iptables-restore, which is the %s flavour here, while our '
                                    'objects are in %s' % (path, ipt_default, ', '.join(used)))
    changes = dict((path, {'before': current_files.get(path), 'after': text}) for path, text in files.items()
                   if current_files.get(path) != text)
    warnings += ['persistence: %s is not installed (package %s): the rules will not come back at boot'
                 % (unit, LOADER_PACKAGES.get(unit, unit)) for unit in loaders_missing]
    return Persistence(changes, services, loaders_missing, paths, warnings)


def report(params, host, backend, guard, comp, change, persisted, errors, warnings):
    """The drift report and the plan's result."""
    ruleset_sync = not change.rs_missing and not change.rs_extra and not change.other_backends
    companion_sync = not change.comp_missing and not change.comp_extra
    persist_sync = not persisted.files and not persisted.services
    drift = {
        'drifted': not (ruleset_sync and companion_sync and persist_sync) or bool(comp.refused),
        'state': 'present' if host.present else 'absent',
        'backend': backend.name,
        'ruleset': {'in_sync': ruleset_sync, 'present': bool(host.ours_in), 'missing': change.rs_missing,
                    'extra': change.rs_extra, 'other_backends': change.other_backends},
        'companion': {'in_sync': companion_sync and not comp.refused, 'needed': sorted(set(comp.needed)),
                      'missing': change.comp_missing, 'extra': change.comp_extra, 'refused': comp.refused,
                      'ignored': comp.ignored},
        'persistence': {'in_sync': persist_sync, 'files': sorted(persisted.files), 'services': persisted.services,
                        'loaders_missing': persisted.loaders_missing} if params.get('persist', True) else None,
    }
    return {'errors': errors, 'warnings': warnings,
            'backend': {'name': backend.name, 'reason': backend.reason},
            'rules': backend.rules, 'steps': change.steps, 'files': persisted.files, 'services': persisted.services,
            'analysis': comp.analysis, 'drift_report': drift, 'diff': change.diff, 'paths': persisted.paths,
            'control_conflicts': guard.conflicts}


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
