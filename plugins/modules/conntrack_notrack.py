#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_notrack
short_description: Exempt traffic from connection tracking (NOTRACK) without breaking a stateful firewall
version_added: 0.1.0
description:
  - Declarative NOTRACK exemptions - interfaces, TCP/UDP ports with a direction, addresses and CIDR networks,
    IPv4 and IPv6 - applied atomically to nftables or iptables (legacy or nft flavour), idempotent by comparing
    the live ruleset, with check and diff mode.
  - "Owns one object: with nftables the table C(inet nfct_notrack) (chains C(prerouting) and C(output), type filter,
    priority raw); with iptables the raw-table chains C(NFCT-NOTRACK-PRE) (jumped to from PREROUTING) and
    C(NFCT-NOTRACK-OUT) (from OUTPUT), IPv4 and IPv6. Two chains because one chain reached from both hooks
    cannot tell a request to a local port from a reply of a remote one."
  - "Firewall safety: every filter chain the untracked packets reach is analyzed (nftables, iptables-nft,
    iptables-legacy). A chain that decides by conntrack state (C(ct state established,related accept),
    C(-m state), C(-m conntrack)) and may then drop the untracked packets needs a companion accept for them
    first. With iptables the module inserts a jump to its own chain C(NFCT-UNTRACKED)
    (C(-m conntrack --ctstate UNTRACKED -j ACCEPT)) first in that built-in chain. With nftables an accept in a table
    of ours cannot help (every base chain at a hook sees the packet; only a drop is final), so the module refuses
    with an explanation, unless O(companion=insert) lets it insert C(ct state untracked accept) as the first rule
    of that chain."
  - Never exempts the control connection - the SSH port(s) (from C(SSH_CONNECTION), C(sshd -T) or
    C(/etc/ssh/sshd_config), else 22), and the live SSH sessions' addresses and interface - unless
    O(allow_control_connection=true).
  - "Persistence: nftables - our table in its own file included from the system ruleset (one C(include) line
    appended when missing) and C(nftables.service) enabled; iptables - our chains merged into the rules files of
    netfilter-persistent (Debian/Ubuntu, C(/etc/iptables/rules.v4) and C(rules.v6)) or iptables-services (RHEL
    family, C(/etc/sysconfig/iptables) and C(ip6tables)), every other line kept byte for byte, and the loading
    service enabled (never started: the runtime is applied directly)."
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  exemptions:
    description:
      - The traffic not to track. Each item exempts the packets that match all of its fields.
      - An item with only O(exemptions[].interface) exempts all traffic in and out of that interface.
      - An item with only O(exemptions[].address) exempts every packet whose source or destination is in it.
      - With a port, an address is the peer's (the client for V(inbound), the server for V(outbound)).
    type: list
    elements: dict
    default: []
    suboptions:
      interface:
        description: Interface name (matched by name, C(iifname) on prerouting and C(oifname) on output).
        type: str
      protocol:
        description: Transport protocol; alone it exempts all traffic of that protocol.
        type: str
        choices: [tcp, udp]
      port:
        description: Port, an integer 1-65535; needs O(exemptions[].protocol).
        type: raw
      direction:
        description:
          - V(inbound) (default with a port) - a local service on that port - destination port before routing,
            and its replies' source port on output.
          - V(outbound) - a remote service on that port - destination port on output, its replies' source port
            before routing.
        type: str
        choices: [inbound, outbound]
      address:
        description: IPv4/IPv6 address or CIDR network (no host bits set).
        type: str
      family:
        description: Restrict the item to one family (must match O(exemptions[].address) when both are given).
        type: str
        choices: [ipv4, ipv6]
  state:
    description: V(present) makes our objects match O(exemptions); V(absent) removes every object of ours, everywhere.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - V(auto) picks what the host already uses - legacy xtables rules -> V(iptables-legacy); native nft tables
        -> V(nftables); iptables-nft rules -> V(iptables-nft); else where our object already is; else V(nftables)
        when C(nft) is installed; else the flavour of the C(iptables) command.
      - V(iptables) picks the flavour the same way among the iptables ones.
      - Our objects found in another backend are removed.
    type: str
    choices: [auto, nftables, iptables, iptables-nft, iptables-legacy]
    default: auto
  companion:
    description:
      - What to do when a filter chain would drop the untracked packets.
      - V(auto) - iptables - insert the jump to C(NFCT-UNTRACKED) first in that built-in chain; nftables - refuse
        with an explanation.
      - V(insert) - also in nftables - insert C(ct state untracked accept) (commented
        C(nfct.tuning notrack companion)) as the first rule of the user's chain. That touches another tool's table.
      - V(refuse) - refuse in both.
      - V(ignore) - install nothing and only warn.
    type: str
    choices: [auto, insert, refuse, ignore]
    default: auto
  allow_control_connection:
    description: Allow exemptions that match the SSH port or a live SSH session.
    type: bool
    default: false
  untrack_all:
    description:
      - Exempt B(all) traffic from connection tracking - our table (or raw chains) holds one C(notrack) rule without
        any match in each hook - instead of O(exemptions) (which must then be empty). Used by the role's
        C(conntrack_state=disabled) on a kernel with nf_conntrack built in (C(conntrack_disable_builtin=notrack_all)),
        after M(nfct.tuning.conntrack_users) found nothing that needs tracking; see docs/disable.md.
      - Needs O(state=present). O(companion) is then always V(refuse) (a filter that would drop untracked packets is a
        refusal, never opened) and the control connection is protected by that firewall check instead of the
        exemption guard.
    type: bool
    default: false
  control_ports:
    description:
      - More TCP ports to protect like the SSH port (for example a bastion's management port); integers 1-65535.
    type: list
    elements: raw
    default: []
  interfaces_must_exist:
    description: Refuse interface names that do not exist on the host now.
    type: bool
    default: true
  persist:
    description: Write the persistent layers (files, service enabled).
    type: bool
    default: true
  enable_service:
    description: Enable the service that loads the persisted rules at boot (C(nftables), C(netfilter-persistent), C(iptables)).
    type: bool
    default: true
  persist_platform:
    description: Which family's persistence layout to use; V(auto) reads C(/etc/os-release).
    type: str
    choices: [auto, debian, redhat]
    default: auto
  nftables_file:
    description: Our persisted nft file (default C(/etc/nftables.d/nfct-notrack.nft), RHEL C(/etc/nftables/nfct-notrack.nft)).
    type: path
  nftables_conf:
    description: The system ruleset that must include our file (default C(/etc/nftables.conf), RHEL C(/etc/sysconfig/nftables.conf)).
    type: path
  iptables_rules_v4:
    description: IPv4 rules file (default C(/etc/iptables/rules.v4), RHEL C(/etc/sysconfig/iptables)).
    type: path
  iptables_rules_v6:
    description: IPv6 rules file (default C(/etc/iptables/rules.v6), RHEL C(/etc/sysconfig/ip6tables)).
    type: path
  backup:
    description: Keep a timestamped copy of a file this module changes or removes.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another nfct.tuning run on the same host (an flock on C(/run/lock/nfct-tuning.lock),
        shared with M(nfct.tuning.conntrack_settings)); then the run fails and changes nothing.
    type: raw
    default: 300
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Reads the live rulesets, files and services, computes the whole change and reports it (and the drift);
        changes nothing.
  diff_mode:
    support: full
    details:
      - Shows our objects in each live ruleset before and after (nft syntax, or iptables-save lines), and each
        persisted file before and after.
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root, or CAP_NET_ADMIN (rulesets) and write access to the persisted files under C(/etc)
  - "nftables - C(nft) (C(nft -j list ruleset), C(nft -c -f) and C(nft -f))"
  - "iptables - C(iptables-legacy-save)/C(-restore) and C(ip6tables-legacy-save)/C(-restore) or their C(-nft)
    variants, or plain C(iptables-save)/C(iptables-restore) (and ip6tables) of the flavour C(iptables -V) reports;
    C(iptables-restore --noflush) and C(--test)"
  - All installed frameworks are read (the firewall safety analysis covers nftables, iptables-nft and
    iptables-legacy), even when only one is written
  - Optional - C(ip) (iproute2) for the interface of the SSH client, C(sshd -T) for the SSH ports, C(systemctl) to
    enable the loading service (C(nftables.service), C(netfilter-persistent.service) or C(iptables.service) and
    C(ip6tables.service), from the packages nftables, iptables-persistent or iptables-services)
notes:
  - Untracked packets are not NATed; a warning says so when NAT rules exist.
  - The companion accepts every untracked packet before the chain's stateful rules, so an exemption wider than the
    services the firewall allows also widens what it accepts.
  - "All or nothing: every transaction is validated before the first is applied; when a later step, the read-back or
    the persistence fails, the steps already applied are undone and the files restored; RV(left_applied) lists
    anything that could not be put back (the task then fails saying so)."
  - The file paths must be where the boot reads them - O(nftables_file) a C(NAME.nft) in C(/etc/nftables.d) or
    C(/etc/nftables), O(nftables_conf) in C(/etc), C(/etc/sysconfig) or C(/etc/nftables), the iptables rules files in
    C(/etc/iptables) or C(/etc/sysconfig); symlinks and directories are refused.
  - The rule forms per exemption, the objects it owns, the decision table of O(backend=auto), the firewall safety
    analysis and the persistence are explained in docs/notrack.md.
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/notrack.md,ansible_collections.nfct.tuning.docsite.notrack) - How NOTRACK exemptions are applied, kept
    safe for a stateful firewall, and persisted; R(docs/safety.md,ansible_collections.nfct.tuning.docsite.safety) -
    Every safety guarantee and the test behind it."
seealso:
  - module: nfct.tuning.conntrack_settings
  - module: nfct.tuning.conntrack_users
'''

EXAMPLES = r'''
- name: Do not track loopback and the reverse proxy's HTTPS
  nfct.tuning.conntrack_notrack:
    exemptions:
      - interface: lo
      - protocol: tcp
        port: 443
        direction: inbound

- name: DNS resolver - its clients' queries and the queries it sends upstream
  nfct.tuning.conntrack_notrack:
    exemptions:
      - {protocol: udp, port: 53, direction: inbound}
      - {protocol: udp, port: 53, direction: outbound, address: 192.0.2.53}
    backend: nftables
    companion: insert

- name: Drift check (changes nothing)
  nfct.tuning.conntrack_notrack:
    exemptions: [{interface: lo}]
  check_mode: true
  diff: true
  register: notrack

- name: Remove everything this module created
  nfct.tuning.conntrack_notrack:
    state: absent
'''

RETURN = r'''
drift:
  description:
    - True when the live ruleset, the companion or the persisted layers differ from the desired state, also in
      check mode - what the audit and the drift checks read (RV(drift_report) says what differs).
    - The same as C(changed) except that a temporary file left by a killed run (RV(stale_removed)) makes the run
      C(changed) but is not drift.
  type: bool
  returned: always
drift_report:
  description:
    - C(drifted), C(state), C(backend);
      C(ruleset) - C(in_sync), C(present) (an object of ours exists somewhere), C(missing), C(extra) (rules as text,
      prefixed with the framework), C(other_backends) (ours found in another backend);
      C(companion) - C(in_sync), C(needed) (chains that need it), C(missing), C(extra), C(refused), C(ignored);
      C(persistence) - C(in_sync), C(files) (paths that differ), C(services) (to enable), C(loaders_missing)
      (null when O(persist=false)).
  type: dict
  returned: always (also on failure once the ruleset was read)
backend:
  description: The backend used and why (C(name), C(reason)).
  type: dict
  returned: always
  sample: {name: nftables, reason: 'native nft tables present: inet filter'}
exemptions:
  description: The exemptions as validated and normalized.
  type: list
  elements: dict
  returned: always
rules:
  description: Our NOTRACK rules in nft syntax (C(chain), C(rule), C(items) - the exemption indices).
  type: list
  elements: dict
  returned: always
firewall:
  description:
    - One entry per filter base chain the untracked packets reach - C(framework), C(family), C(table), C(chain), C(hook),
      C(policy), C(affected_by) (exemption indices whose packets it may drop), C(reason), C(companion)
      (none, effective, ineffective).
  type: list
  elements: dict
  returned: always
control_connection:
  description: C(ssh_ports), C(sessions) (client, client_port, server, server_port, source), C(conflicts).
  type: dict
  returned: always
commands:
  description: The transactions applied (or that would be) - C(framework), C(family), C(script).
  type: list
  elements: dict
  returned: always
files_changed:
  description: Paths written or removed (or that would be).
  type: list
  elements: str
  returned: always
services_enabled:
  description: Units enabled (or that would be).
  type: list
  elements: str
  returned: always
backup_files:
  description: Backups made, path -> backup path.
  type: dict
  returned: always
messages:
  description: The warnings of this run (also emitted as Ansible warnings).
  type: list
  elements: str
  returned: always
stale_removed:
  description: Temporary files (C(.nfct-*)) a killed earlier run left next to the persisted files, removed by this
    run (in check mode, those it would remove), even when nothing else differs. They make the run C(changed), not
    RV(drift).
  type: list
  elements: str
  returned: always
left_applied:
  description: On failure, what is still applied because undoing it failed too (empty - the host is as before).
  type: list
  elements: str
  returned: on failure after a change
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, lock as _lock, paths as _paths, rulesets as _rulesets
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import plan as _notrack_plan, spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.host.io import HostIO  # noqa: F401 (tests reach it here)
from ansible_collections.nfct.tuning.plugins.module_utils.host.rulesets import find_tools  # noqa: F401
from ansible_collections.nfct.tuning.plugins.module_utils.notrack.host import gather  # noqa: F401


def build_module():
    spec = dict(_notrack.PLAN_SPEC)
    spec.update(
        exemptions=dict(type='list', elements='dict', default=[], options=dict(_notrack.EXEMPTION_SPEC)),
        interfaces_must_exist=dict(type='bool', default=True),
        backup=dict(type='bool', default=False),
        lock_timeout=dict(type='raw', default=300),
    )
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_notrack')
    return module_class(argument_spec=spec, supports_check_mode=True)


# --------------------------------------------------------------------------- applying

def step_argv(tools, step, test=False):
    if step['framework'] == 'nftables':
        return [tools['nftables']] + (['-c'] if test else []) + ['-f', '-']
    t = tools[step['framework']][step['family']]
    return [t['restore'], '--noflush'] + (['--test'] if test else [])


def write_order(changes, paths):
    """The order to write the files in so that a crash between two never leaves a ruleset the boot
    cannot load: our nft file before the system ruleset that includes it, and after it when
    both go (the include line removed first)."""
    nft_file, conf = paths['nftables_file'], paths['nftables_conf']
    removing = nft_file in changes and changes[nft_file]['after'] is None
    first = [conf, nft_file] if removing else [nft_file, conf]
    return [p for p in first if p in changes] + sorted(p for p in changes if p not in (nft_file, conf))


def write_files(module, io, changes, backup, result, paths):
    _files.apply_changes(module, changes, backup, result['backup_files'], io.root, order=write_order(changes, paths))


def validate_persisted(io, tools, plan, paths):
    """Would the persisted rulesets load at boot? -> list of errors."""
    errors = []
    changed = plan['files']
    conf, nft_file = paths['nftables_conf'], paths['nftables_file']
    if tools['nftables'] and (conf in changed or nft_file in changed) and io.read(conf) is not None and io.read(nft_file) is not None:
        rc, out, err = io.cmd([tools['nftables'], '-c', '-f', io.root + conf])
        if rc != 0:
            errors.append('%s would not load at boot with our include (nft -c -f): %s' % (conf, (err or out).strip()))
    for fam, key in (('ipv4', 'iptables_rules_v4'), ('ipv6', 'iptables_rules_v6')):
        path = paths[key]
        if path not in changed or changed[path]['after'] is None:
            continue
        flavour = 'iptables-%s' % (tools['default'] or 'nft')
        t = (tools.get(flavour) or {}).get(fam)
        if not t:
            continue
        rc, out, err = io.cmd([t['restore'], '--test'], data=changed[path]['after'].encode())
        if rc != 0:
            errors.append('%s would not load at boot (%s --test): %s' % (path, t['restore'], (err or out).strip()))
    return errors


PATH_OPTIONS = ('nftables_file', 'nftables_conf', 'iptables_rules_v4', 'iptables_rules_v6')


def run(module, io=None):
    io = io or HostIO(module)
    p = module.params
    result = dict(changed=False, drift=False, messages=[], backup_files={}, files_changed=[], services_enabled=[],
                  commands=[], exemptions=[], rules=[], firewall=[], control_connection={}, backend={},
                  stale_removed=[])
    errors = _paths.check_paths(p, PATH_OPTIONS)
    try:
        p['lock_timeout'] = _inputs.number(p['lock_timeout'], 'lock_timeout', 0, 86400, True, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    try:
        interfaces = io.interfaces() if p['interfaces_must_exist'] else None
        exemptions = _notrack.validate_exemptions(p['exemptions'], interfaces) if p['state'] == 'present' else []
        if p['untrack_all']:
            if p['state'] != 'present':
                raise _notrack.NotrackError('untrack_all: needs state: present (state: absent removes our objects)')
            if exemptions:
                raise _notrack.NotrackError('untrack_all: exempts all traffic; exemptions must then be empty '
                                            '(got %d)' % len(exemptions))
            exemptions = [_notrack.untrack_all_exemption()]
            p['companion'] = 'refuse'
            p['allow_control_connection'] = True
        ports = []
        for i, port in enumerate(p['control_ports']):
            try:
                ports.append(_inputs.number(port, 'control_ports[%d]' % i, 1, 65535, True))
            except _inputs.ProfileError as e:
                raise _notrack.NotrackError(str(e))
        p['control_ports'] = ports
    except _notrack.NotrackError as e:
        errors.insert(0, str(e))
    if errors:
        module.fail_json(msg='; '.join(errors), **result)
    result['exemptions'] = exemptions
    try:
        with io.lock(p['lock_timeout'], module.check_mode):
            apply(module, io, p, exemptions, result)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), **result)


def apply(module, io, p, exemptions, result):
    """Read every framework, plan, and (not in check mode) apply: validate every transaction,
    apply them, read back, persist; undo the applied steps when a later one fails. Runs under the
    host lock."""
    tools = find_tools(io)
    try:
        facts, paths = gather(module, io, p, tools)
    except _rulesets.HostError as e:
        module.fail_json(msg=str(e), **result)
    params = dict(p, paths=paths)
    plan = _notrack_plan.plan(params, exemptions, facts)
    result.update(backend=plan['backend'], drift_report=plan['drift_report'], firewall=plan['analysis'],
                  rules=[{'chain': r['chain'], 'rule': _notrack.render_nft_rule(r), 'items': r['items']} for r in plan['rules']],
                  control_connection=dict(facts['control'], conflicts=[w for _i, w in plan['control_conflicts']]),
                  commands=[{'framework': s['framework'], 'family': s['family'], 'script': s['script']} for s in plan['steps']],
                  files_changed=sorted(plan['files']), services_enabled=list(plan['services']))
    result['control_connection'].pop('interfaces', None)
    errors = list(plan['errors'])
    for option, path in sorted(paths.items()):
        if path in plan['files']:
            _adopt, err = _paths.check_file(option, path, io.root, _paths.ADOPTABLE.get(option))
            if err:
                errors.append(err)
    if errors:
        module.fail_json(msg='; '.join(errors), **result)
    for w in plan['warnings']:
        module.warn(w)
    result['messages'] = plan['warnings']
    stale = _files.find_stale([os.path.dirname(f) for f in paths.values() if f], io.root)
    result['drift'] = bool(plan['steps'] or plan['files'] or plan['services'])
    changed = result['drift'] or bool(stale)
    result['changed'] = changed
    result['stale_removed'] = stale
    if module._diff:
        diff = list(plan['diff'])
        for path in sorted(plan['files']):
            ch = plan['files'][path]
            diff.append({'before_header': path if ch['before'] is not None else '/dev/null',
                         'after_header': path if ch['after'] is not None else '/dev/null',
                         'before': ch['before'] or '', 'after': ch['after'] or ''})
        result['diff'] = diff

    # ------------------------------------------------------------ the one gate
    if module.check_mode or not changed:
        module.exit_json(**result)

    result['stale_removed'] = _files.clean_stale(stale, io.root)
    done = apply_steps(module, io, tools, plan['steps'], result)
    read_back(module, io, tools, done, result, dict(params, persist=False), exemptions, facts['control'])
    _files.fault_point('before-files')
    if plan['files']:
        persist_files(module, io, tools, done, result, plan, paths)
    systemctl = io.which('systemctl')
    for u in plan['services']:
        rc, out, err = io.cmd([systemctl, 'enable', u])
        if rc != 0:
            module.fail_json(msg='systemctl enable %s failed: %s (the rules are applied and persisted; enable it to '
                                 'load them at boot)' % (u, (err or out).strip()), **result)
    module.exit_json(**result)


def apply_steps(module, io, tools, steps, result):
    """Validate every transaction (nothing is changed when one does not), then apply them in
    order; a failure undoes the ones applied. Returns the steps applied."""
    for s in steps:
        rc, out, err = io.cmd(step_argv(tools, s, test=True), data=s['script'].encode())
        if rc != 0:
            result['changed'] = False
            module.fail_json(msg='%s %s: the transaction does not validate, nothing was changed: %s\n%s'
                             % (s['framework'], s['family'], (err or out).strip(), s['script']), **result)
    done = []
    for s in steps:
        rc, out, err = io.cmd(step_argv(tools, s), data=s['script'].encode())
        if rc != 0:
            rollback_and_fail(module, io, tools, done, result, '%s %s: applying failed: %s'
                              % (s['framework'], s['family'], (err or out).strip()))
        done.append(s)
        _files.fault_point('after-step')
    return done


def read_back(module, io, tools, done, result, params, exemptions, control):
    """The live rulesets, read again, must now be in sync (else the steps are undone)."""
    try:
        facts2, _paths2 = gather(module, io, params, tools, control=control)
    except _rulesets.HostError as e:
        rollback_and_fail(module, io, tools, done, result, 'reading the rulesets back: %s' % e)
    again = _notrack_plan.plan(params, exemptions, facts2)
    if again['steps'] or again['errors']:
        rollback_and_fail(module, io, tools, done, result, 'after applying, the live ruleset still differs: %s'
                          % (again['errors'] or [s['script'] for s in again['steps']]))


def persist_files(module, io, tools, done, result, plan, paths):
    """Write the persisted files and check that the boot would load them; a failure restores them
    and undoes the live steps."""
    try:
        write_files(module, io, plan['files'], module.params['backup'], result, paths)
    except _files.ApplyError as e:
        rollback_and_fail(module, io, tools, done, result, 'persistence: %s' % e, e.left)
    errors = validate_persisted(io, tools, plan, paths)
    if errors:
        left = _files.restore(module, plan['files'], write_order(plan['files'], paths), io.root)
        rollback_and_fail(module, io, tools, done, result, 'persistence: %s; the files were restored%s'
                          % ('; '.join(errors), (' except %s' % ', '.join(left)) if left else ''), left)


def rollback_and_fail(module, io, tools, done, result, why, left_files=()):
    """Undo the applied steps, then fail saying exactly what is left applied."""
    left = undo(io, tools, done) + list(left_files)
    result['changed'] = bool(left)
    result['left_applied'] = left
    if not done and not left:
        tail = 'nothing had been applied'
    elif not left:
        tail = 'the %d step(s) already applied were rolled back: the host is as before' % len(done)
    else:
        tail = 'rollback FAILED, still applied: %s' % '; '.join(left)
    module.fail_json(msg='%s; %s' % (why, tail), **result)


def undo(io, tools, done):
    """Put back what the applied steps changed, last first: read each framework again and apply
    the transaction toward its state before. Returns what is still applied (empty: all undone)."""
    left = []
    for s in reversed(done):
        label = '%s %s step' % (s['framework'], s['family'])
        if s['framework'] == 'nftables':
            rc, live, err = io.cmd([tools['nftables'], '-j', 'list', 'ruleset'])
        else:
            rc, live, err = io.cmd([tools[s['framework']][s['family']]['save']])
        if rc != 0:
            left.append('%s (reading the ruleset to undo it failed: %s)' % (label, (err or live).strip()))
            continue
        script = _notrack_plan.undo_script(s, live)
        if script:
            rc, out, err = io.cmd(step_argv(tools, s), data=script.encode())
            if rc != 0:
                left.append('%s (undoing it failed: %s)' % (label, (err or out).strip()))
    return left


def main():
    run(build_module())


if __name__ == '__main__':
    main()
