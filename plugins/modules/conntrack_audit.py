#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_audit
short_description: Audit a host's conntrack tuning in one module run - facts, recommendation, drift
version_added: 0.1.0
description:
  - Gathers the conntrack facts, computes the recommendation for the profile on the host, and compares it with the
    live values, the files of M(nfct.tuning.conntrack_settings) and what the next boot will give (sysctl.d
    precedence, the modprobe.d or command line hash size, the kernel's own default for this RAM and kernel era, the
    boot order of a loadable nf_conntrack); with O(notrack) it also compares the NOTRACK exemptions. One module
    execution per host, which is what the audit playbook runs.
  - Never changes anything, in check mode or not - it writes no file and takes no lock. C(changed) is true when
    applying the desired state (M(nfct.tuning.conntrack_settings), M(nfct.tuning.conntrack_notrack), the role)
    would change something - a runtime value, one of the role's files, the NOTRACK rules - so that
    C(--check --diff) shows it. A host whose values are the kernel's defaults is in sync and still C(changed) (the
    role would write its file).
  - Bad input fails before anything is read, naming the option and what is allowed.
  - Kinds of drift per key - C(runtime), C(at_boot), C(shadowed), C(unpersisted) (the desired value is the kernel
    default and no file sets it; informational); per host - C(notrack). RV(audit) C(fails_run) says whether the host
    fails the run for O(fail_on). See docs/audit.md.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  profile:
    description: Workload profile (see M(nfct.tuning.conntrack_recommend)).
    type: str
    default: default
  profiles:
    description: Your own profiles as data (see M(nfct.tuning.conntrack_recommend)).
    type: dict
    default: {}
  overrides:
    description: Key -> value that wins over the profile.
    type: dict
    default: {}
  memory_budget_percent:
    description: Share of RAM for the table, 0.1-50; null uses the profile's.
    type: raw
  expected_peak:
    description: Peak concurrent connections, if known.
    type: raw
  only_raise:
    description: Never recommend below the live max and buckets.
    type: bool
    default: true
  force:
    description: Accept, with a warning, what the recommendation otherwise refuses.
    type: bool
    default: false
  kube_proxy:
    description: What kube-proxy runs here (see M(nfct.tuning.conntrack_recommend)).
    type: raw
  state:
    description:
      - The desired state of the settings - V(present), V(absent) (none of our files), or V(disabled) (conntrack
        off, M(nfct.tuning.conntrack_settings) O(nfct.tuning.conntrack_settings#module:state=disabled)); a host meant
        to be disabled where conntrack is back drifts with kind V(reenabled).
    type: str
    choices: [present, absent, disabled]
    default: present
  runtime:
    description: Compare the live values.
    type: bool
    default: true
  persist:
    description: Compare the persisted layers and what the next boot gives.
    type: bool
    default: true
  boot_fix:
    description: As in M(nfct.tuning.conntrack_settings).
    type: str
    choices: [auto, modules-load, udev, none]
    default: auto
  module_layers:
    description: As in M(nfct.tuning.conntrack_settings).
    type: str
    choices: [auto, always, never]
    default: auto
  sysctl_file:
    description: The sysctl.d file of M(nfct.tuning.conntrack_settings).
    type: path
    default: /etc/sysctl.d/90-conntrack.conf
  modprobe_file:
    description: Its modprobe.d file.
    type: path
    default: /etc/modprobe.d/nfct-tuning.conf
  modules_load_file:
    description: Its modules-load.d file.
    type: path
    default: /etc/modules-load.d/nfct-tuning.conf
  udev_rule_file:
    description: Its udev rule.
    type: path
    default: /etc/udev/rules.d/90-nfct-tuning.rules
  disable_file:
    description: Its modprobe.d file of O(state=disabled).
    type: path
    default: /etc/modprobe.d/nfct-tuning-disable.conf
  notrack:
    description:
      - The NOTRACK exemptions the host should have (M(nfct.tuning.conntrack_notrack)'s O(nfct.tuning.conntrack_notrack#module:exemptions));
        V([]) means none of ours; null does not compare NOTRACK.
    type: raw
  notrack_backend:
    description: As O(nfct.tuning.conntrack_notrack#module:backend).
    type: str
    default: auto
  notrack_companion:
    description: As O(nfct.tuning.conntrack_notrack#module:companion).
    type: str
    default: auto
  notrack_allow_control_connection:
    description: As O(nfct.tuning.conntrack_notrack#module:allow_control_connection).
    type: bool
    default: false
  breakdown:
    description: Also count the entries per protocol, state and top talkers (O(nfct.tuning.conntrack_facts#module:breakdown)); costs a walk of the table.
    type: bool
    default: false
  top:
    description: Length of the breakdown's top lists, an integer 1-10000.
    type: raw
    default: 10
  users:
    description:
      - Also find the users of connection tracking and whether it could be turned off, as
        M(nfct.tuning.conntrack_users) does (RV(audit) C(users)); read-only, costs a scan of C(/proc).
    type: bool
    default: true
  users_ignore:
    description: As O(nfct.tuning.conntrack_users#module:ignore).
    type: list
    elements: str
    default: []
  fail_on:
    description:
      - Kinds that make the host fail the run (RV(audit) C(fails_run)) - any of V(runtime), V(at_boot), V(shadowed),
        V(unpersisted), V(notrack), V(reenabled) (O(state=disabled) and conntrack is back). (V(unreachable) and
        V(failed) are judged by the report.)
    type: list
    elements: str
    default: [runtime, at_boot, shadowed, notrack, reenabled, unreachable, failed]
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
  - nfct.tuning.attributes.facts
attributes:
  check_mode:
    support: full
    details:
      - Read-only in any mode; meant to run with C(--check).
  diff_mode:
    support: full
    details:
      - Shows each owned file's and the live values' before and after, as applying would change them.
  facts:
    support: full
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root for a complete audit (C(/proc/slabinfo), the rulesets, other processes for O(users)); without it the
    unreadable parts are reported as such
  - With O(notrack) - C(nft), or C(iptables-save)/C(ip6tables-save) of either flavour, and C(systemctl) for the
    loading services
  - With O(users) - what M(nfct.tuning.conntrack_users) reads with (C(nft), C(iptables-save), C(systemctl),
    C(nsenter); what is missing is not read)
  - Optional - C(conntrack) (conntrack-tools), as for M(nfct.tuning.conntrack_facts)
notes:
  - The report over all hosts (JSON, JUnit, HTML) is written by M(nfct.tuning.conntrack_audit_report) on the
    controller; the C(audit) entry point of the role and the C(nfct.tuning.audit) playbook run both.
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/audit.md,ansible_collections.nfct.tuning.docsite.audit) - The drift audit - kinds of drift, the report,
    failing a run."
seealso:
  - module: nfct.tuning.conntrack_audit_report
  - module: nfct.tuning.conntrack_settings
'''

EXAMPLES = r'''
- name: Audit one host against the web profile
  nfct.tuning.conntrack_audit:
    profile: web
  check_mode: true
  register: audit

- name: Show what differs
  ansible.builtin.debug:
    msg: "{{ audit.audit.lines }}"
'''

RETURN = r'''
audit:
  description:
    - The host's entry of the audit report (schema v1, docs/audit.md) - C(status) (in_sync, drifted), C(fails_run),
      C(failing_kinds), C(profile), C(kernel), C(netns), C(conntrack), C(usage), C(drops), C(memory), C(keys) (per key
      C(desired), C(runtime), C(persisted), C(at_boot), C(at_boot_source), C(kinds), C(shadowed_by), C(readonly),
      C(reason), C(source)), C(files), C(notrack), C(warnings), C(boot), C(lines) (readable), and with O(users) C(users)
      (C(can_disable), C(blockers), C(ignored), C(kernel), C(loaded), C(scope), C(users), C(ours), C(loaded_by) as
      returned by M(nfct.tuning.conntrack_users)).
  type: dict
  returned: always
report:
  description: The recommendation's readable summary (as M(nfct.tuning.conntrack_recommend) gives it).
  type: list
  elements: str
  returned: always
ansible_facts:
  description: The conntrack facts (as M(nfct.tuning.conntrack_facts) returns them).
  type: dict
  returned: always
  contains:
    conntrack:
      description: See M(nfct.tuning.conntrack_facts).
      type: dict
      returned: always
'''

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio, paths as _paths, rulesets as _rulesets, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import host as _notrack_host, plan as _notrack_plan, spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.settings import disable as _disable, plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host, verdict as _users

OWNED = _settings.OWNED
RECOMMEND = ('profile', 'profiles', 'overrides', 'memory_budget_percent', 'expected_peak', 'only_raise', 'force',
             'kube_proxy')


AUDIT_SPEC = dict(
    notrack=dict(type='raw'),
    notrack_backend=dict(type='str', default='auto'),
    notrack_companion=dict(type='str', default='auto'),
    notrack_allow_control_connection=dict(type='bool', default=False),
    breakdown=dict(type='bool', default=False),
    top=dict(type='raw', default=10),
    users=dict(type='bool', default=True),
    users_ignore=dict(type='list', elements='str', default=[]),
    fail_on=dict(type='list', elements='str', default=list(_audit.DEFAULT_FAIL_ON)),
)


def build_module():
    spec = dict(_recommend_args.ENGINE_SPEC)
    spec.update(_settings.LAYER_SPEC)
    spec.update(AUDIT_SPEC)
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_audit')
    return module_class(argument_spec=spec, supports_check_mode=True)


def validate(p):
    errors = _paths.check_paths(p, OWNED)
    try:
        p['top'] = _inputs.number(p['top'], 'top', 1, 10000, True)
    except _inputs.ProfileError as e:
        errors.append(str(e))
    allowed = set(_audit.KINDS) | set(_audit.HOST_KINDS)
    bad = [k for k in p['fail_on'] if k not in allowed]
    if bad:
        errors.append('fail_on: unknown kind(s) %s; allowed: %s' % (', '.join(bad), ', '.join(sorted(allowed))))
    if p['notrack_backend'] not in _notrack.BACKENDS:
        errors.append('notrack_backend: %r; allowed: %s' % (p['notrack_backend'], ', '.join(_notrack.BACKENDS)))
    if p['notrack_companion'] not in _notrack.COMPANION_MODES:
        errors.append('notrack_companion: %r; allowed: %s' % (p['notrack_companion'], ', '.join(_notrack.COMPANION_MODES)))
    return errors


def notrack_audit(module, p, interfaces):
    """The NOTRACK comparison, as conntrack_notrack in check mode: {'drifted', 'report', 'lines', 'error'}."""
    try:
        exemptions = _notrack.validate_exemptions(p['notrack'], interfaces)
    except _notrack.NotrackError as e:
        module.fail_json(msg='notrack: %s' % e)
    io = _hostio.HostIO(module)
    params = _notrack.plan_params(state='present' if exemptions else 'absent', backend=p['notrack_backend'],
                                  companion=p['notrack_companion'], persist=p['persist'],
                                  allow_control_connection=p['notrack_allow_control_connection'])
    try:
        tools = _rulesets.find_tools(io)
        facts, paths = _notrack_host.gather(module, io, params, tools)
    except _rulesets.HostError as e:
        return {'drifted': True, 'report': None, 'lines': [], 'error': str(e)}
    notrack_plan = _notrack_plan.plan(dict(params, paths=paths), exemptions, facts)
    drift_report = notrack_plan['drift_report']
    error = '; '.join(notrack_plan['errors']) or None
    return {'drifted': bool(drift_report and drift_report.get('drifted')) or bool(error), 'report': drift_report,
            'lines': _audit.notrack_lines(drift_report) if drift_report else [], 'error': error}


def run(module, root='', probes=None):
    p = module.params
    errors = validate(p)
    if errors:
        module.fail_json(msg='; '.join(errors))
    facts = _gather.gather(root=root, probes=probes, breakdown=p['breakdown'], top=p['top'])
    facts['nat'] = _users_host.nat(module, _hostio.HostIO(module, root), (facts.get('kernel') or {}).get('release'))
    rec, err = _recommend_args.compute(dict((k, p[k]) for k in RECOMMEND), facts, platform.node() or 'host')
    if err:
        module.fail_json(msg=err)
    result = {'changed': False, 'report': rec.get('report') or [], 'ansible_facts': {'conntrack': facts}}
    users = None
    if p['users'] or p['state'] == 'disabled':
        users = _users.analyze(_users_host.gather(module, _hostio.HostIO(module, root),
                                                  (facts.get('kernel') or {}).get('release')), ignore=p['users_ignore'])
    if p['state'] == 'disabled':
        return audit_disabled(module, p, facts, rec, users, root, result)
    if not rec.get('available'):
        result['audit'] = _audit.unavailable_entry(facts, rec, users)
        module.exit_json(**result)
    desired = rec['recommended']
    state = _state.read(p, root)
    current = state.files
    settings_plan = _settings.plan(facts, desired, dict(p, readonly='report'), state)
    notrack_result = notrack_audit(module, p, facts.get('interfaces')) if p['notrack'] is not None else None
    entry = _audit.host_entry(facts, rec, settings_plan, current, p['udev_rule_file'], notrack_result, p['fail_on'], p['sysctl_file'], users)
    result['audit'] = entry
    result['changed'] = bool(settings_plan['runtime'] or settings_plan['files']) or bool(notrack_result and notrack_result['drifted'])
    if module._diff:
        result['diff'] = _settings.diff_of(settings_plan)
    module.exit_json(**result)


def audit_disabled(module, p, facts, rec, users, root, result):
    """A host meant to have conntrack off (state disabled): is it still off, and are our files as
    disabling leaves them?"""
    state = _state.read(p, root)
    current = state.files
    settings_plan = _settings.plan(facts, {}, dict(p, readonly='report'), state)
    off, why = _disable.disabled_state(facts, users, current[p['disable_file']])
    entry = _audit.host_entry(facts, dict(rec, values={}), settings_plan, current, p['udev_rule_file'], None, p['fail_on'],
                              p['sysctl_file'], users, disabled={'off': off, 'why': why})
    result['audit'] = entry
    result['changed'] = bool(settings_plan['files']) or not off
    if module._diff:
        result['diff'] = _settings.diff_of(settings_plan)
    module.exit_json(**result)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
