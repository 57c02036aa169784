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
  - Never changes anything, in check mode or not - it writes no file and takes no lock. One story - C(changed) is
    true exactly when the audit finds drift (RV(audit) C(status) C(drifted) - what the tune playbook would change); a
    host whose live values are the desired ones and come back the same at the next boot (the kernel's defaults
    included) is in sync and C(changed) is false. Whether the host fails the run (RV(audit) C(fails_run)) follows
    O(fail_on), over the drift and the table's health.
  - Bad input fails before anything is read, naming the option and what is allowed.
  - Kinds of drift per key - C(runtime) (the live value differs), C(at_boot) (so does what the next boot gives),
    C(unpersisted) (the live value is right but the next boot gives another - a value raised at runtime only),
    C(shadowed); per host - C(notrack), C(reenabled).
  - The table's health, beside the drift - C(full) (the count reached max), C(high_usage) (count / max at or above
    O(usage_threshold)), C(dropping) (drop, early_drop or insert_failed grew), C(invalid), C(search_restart) - over a
    window that ends now - since the host's own last sample (the metrics writer's, O(history_path), when recent and of
    this boot), else a sample of O(health_sample) seconds inside this run, else (O(health_sample=0)) the counters
    since boot, labelled as such. A host that dropped weeks ago and is quiet now is healthy. See docs/audit.md.
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
      - Kinds that make the host fail the run (RV(audit) C(fails_run)) - any of V(runtime), V(at_boot),
        V(unpersisted), V(shadowed), V(notrack), V(reenabled) (O(state=disabled) and conntrack is back), the health
        kinds V(full), V(high_usage), V(dropping), V(invalid), V(search_restart). (V(unreachable) and V(failed) are
        judged by the report.)
    type: list
    elements: str
    default: [runtime, at_boot, unpersisted, shadowed, notrack, reenabled, unreachable, failed, full, dropping]
  usage_threshold:
    description:
      - The share of max at which the table's usage is C(high_usage), 0.05-1 (0.75 - node_exporter's mixin alerts
        there; the same default as the alert rules in C(prometheus/) and the metrics writer).
    type: raw
    default: 0.75
  health_sample:
    description:
      - Seconds of the in-run sample when the host has no recent sample of its own, 0-60; the rest of the audit runs
        meanwhile, so only what is left of it is waited. V(0) - the counters since boot (labelled with the uptime).
        0.3 s by default - a table full now drops every new flow, hundreds a second on a busy host, and C(full) is
        read from the count itself, without a window (docs/audit.md).
    type: raw
    default: 0.3
  sizing:
    description:
      - Where max comes from. V(static) - the profile's rules. V(observed) or V(auto) - from the host's history
        (O(history_path)) - a high percentile of its daily peaks x headroom x a confidence multiplier, never below the
        live count or the profile's minimum, within the memory budget - when the history holds enough complete days
        (7), else statically, saying so in the reason of max (docs/history.md).
    type: str
    choices: [static, observed, auto]
    default: static
  forecast_horizon:
    description:
      - Seconds, 0-7776000 (90 days). When the table fills within it at the trend of the host's history, the health
        kind C(filling) is reported (not failing unless in O(fail_on)); V(0) - no forecast.
    type: raw
    default: 86400
  vocabulary:
    description:
      - The words of messages - V(module) names this module's options (O(fail_on)), V(role) the role's variables
        (C(conntrack_audit_fail_on)); the role's audit entry point sets V(role).
    type: str
    choices: [module, role]
    default: module
    version_added: 0.3.0
  history:
    description:
      - A history to size from and forecast with instead of the file at O(history_path) (which still gives the health
        window and relieve's record) - the document M(nfct.tuning.conntrack_recommend) returns as C(history.document);
        V({}) - none (static sizing, no forecast); a dict with the one key C(fallback) - none, and the reason it holds
        in the warnings (Prometheus could not be read). Not set - as O(history_source) says.
    type: dict
    version_added: 0.3.0
  history_source:
    description:
      - Where the history comes from when O(history) is not set. V(host) - the file at O(history_path). V(prometheus)
        - a Prometheus server, read by this module's action on the controller with one C(query_range) request per
        host (O(prometheus_url) and the C(prometheus_*) options, which never leave the controller), before the one
        module run on the host; when that fails the audit sizes statically, and its warnings say why. V(none) - no
        history (static sizing, no forecast). The role passes C(conntrack_history_source).
    type: str
    choices: [host, prometheus, none]
    default: host
    version_added: 0.3.0
  history_path:
    description:
      - The host's history of its table, written by the metrics writer (a sample each run) and by
        M(nfct.tuning.conntrack_relieve) (its change); its last sample starts the health window when it is recent and of
        this boot, and a relieve whose raise still holds is named (C(relieved) in RV(audit)). Read only.
    type: path
    default: /var/lib/nfct-tuning/history.json
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
  - nfct.tuning.attributes.facts
  - nfct.tuning.attributes.action
  - nfct.tuning.prometheus
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
  action:
    support: full
    details:
      - The action plugin reads the history from Prometheus on the controller when O(history_source=prometheus), then
        runs the module on the host once; otherwise it only runs the module.
  async:
    support: none
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
    - The host's entry of the audit report (schema v2, docs/audit.md) - C(status) (in_sync, drifted), C(fails_run),
      C(failing_kinds), C(profile), C(kernel), C(netns), C(conntrack), C(usage), C(drops), C(memory), C(keys) (per key
      C(desired), C(runtime), C(persisted), C(at_boot), C(at_boot_source), C(kinds), C(kernel_default), C(shadowed_by),
      C(readonly), C(reason), C(source)), C(files), C(notrack), C(warnings), C(boot), C(health) (C(kinds), C(evidence)
      per kind, C(window) - C(source) recorded, sample or boot, C(seconds), C(why) -, C(usage), C(growth) of each
      counter), C(relieved) (the last M(nfct.tuning.conntrack_relieve) when max is still what it raised in this boot -
      C(time), C(max_before), C(max_after), C(timeouts); else null), C(lines) (readable), and with O(users) C(users)
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
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio, paths as _paths, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs, \
    observed as _observed
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
    usage_threshold=dict(type='raw', default=_health.DEFAULT_USAGE_THRESHOLD),
    health_sample=dict(type='raw', default=0.3),
    history_path=dict(type='path', default=_history.PATH),
    history=dict(type='dict'),
    history_source=dict(type='str', default='host', choices=list(_recommend_args.HISTORY_SOURCES)),
    sizing=dict(type='str', default='static', choices=['static', 'observed', 'auto']),
    forecast_horizon=dict(type='raw', default=_health.DEFAULT_FORECAST_HORIZON),
    vocabulary=dict(type='str', default='module', choices=['module', 'role']),
)
# the audit's own options as the role names them (the engine's: sizing/args.py role_terms)
ROLE_NAMES = (('fail_on', 'conntrack_audit_fail_on'), ('usage_threshold', 'conntrack_audit_usage_threshold'),
              ('health_sample', 'conntrack_audit_health_sample'), ('top', 'conntrack_audit_top'),
              ('history_path', 'conntrack_history_path'), ('users_ignore', 'conntrack_users_ignore'),
              ('forecast_horizon', 'conntrack_audit_forecast_horizon'), ('sizing', 'conntrack_sizing'))


def words(p, message):
    """A message in the caller's words: the role's variables when run through the role."""
    return _recommend_args.in_words(message, p.get('vocabulary'), ROLE_NAMES)


def build_module():
    spec = dict(_recommend_args.ENGINE_SPEC)
    spec.update(_settings.LAYER_SPEC)
    spec.update(AUDIT_SPEC)
    # read on the controller by the action (plugins/action/conntrack_audit.py), which sends none of them
    spec.update((k, v) for k, v in _recommend_args.HISTORY_SPEC.items() if k.startswith('prometheus_'))
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_audit')
    return module_class(argument_spec=spec, supports_check_mode=True)


def validate(p):
    errors = _paths.check_paths(p, OWNED)
    try:
        p['top'] = _inputs.number(p['top'], 'top', 1, 10000, True)
    except _inputs.ProfileError as e:
        errors.append(str(e))
    bad = [k for k in p['fail_on'] if k not in _audit.ALL_KINDS]
    if bad:
        errors.append('fail_on: unknown kind(s) %s; allowed: %s' % (', '.join(bad), ', '.join(_audit.ALL_KINDS)))
    try:
        p['usage_threshold'] = _health.check_threshold(p['usage_threshold'])
    except ValueError as e:
        errors.append(str(e))
    try:
        p['health_sample'] = _inputs.number(p['health_sample'], 'health_sample', 0, 60, False, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    try:
        p['forecast_horizon'] = _inputs.number(p['forecast_horizon'], 'forecast_horizon', _health.FORECAST_HORIZON_RANGE[0],
                                               _health.FORECAST_HORIZON_RANGE[1], True, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    if p['notrack_backend'] not in _notrack.BACKENDS:
        errors.append('notrack_backend: %r; allowed: %s' % (p['notrack_backend'], ', '.join(_notrack.BACKENDS)))
    if p['notrack_companion'] not in _notrack.COMPANION_MODES:
        errors.append('notrack_companion: %r; allowed: %s' % (p['notrack_companion'], ', '.join(_notrack.COMPANION_MODES)))
    return errors


def notrack_audit(module, p, interfaces):
    """The NOTRACK comparison, as conntrack_notrack in check mode: {'drifted', 'report', 'lines', 'error'}."""
    # imported here: every run pays the compiling of what it imports (AnsiballZ ships no bytecode),
    # and most audits compare no NOTRACK exemptions (docs/benchmarks.md, Fleet)
    from ansible_collections.nfct.tuning.plugins.module_utils.host import rulesets as _rulesets
    from ansible_collections.nfct.tuning.plugins.module_utils.notrack import host as _notrack_host, plan as _notrack_plan
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


def recorded_history(module, path, root):
    """The host's own history (the metrics writer's samples, relieve's events), or an empty one; a
    history that is not usable is a warning (the audit writes nothing: the writer keeps a damaged
    file aside)."""
    text = _state.read_text(root + path)
    try:
        return _history.parse(text)
    except _history.HistoryError as e:
        module.warn('%s is not a usable history (%s): the health window is a sample of this run' % (path, e))
        return _history.empty()


def given_history(module, given):
    """The history option (the role's read of Prometheus): (the document, None), or an empty history
    for {} and {fallback: why} (why goes into the warnings: sized statically); not a history: the
    task fails."""
    if not given or set(given) == {'fallback'}:
        return _history.empty(), given.get('fallback')
    try:
        return _history.parse(_history.dumps(given)), None
    except _history.HistoryError as e:
        module.fail_json(msg='history: %s; give the document conntrack_recommend returns (history.document)' % e)


def check_health(module, p, facts, started, root, probes, history):
    """The table's health over a window that ends now (audit/health.py): since the host's own
    recent sample, else a sample of health_sample seconds inside this run (the rest of the audit
    runs meanwhile; only what is left of it is waited), else the counters since boot."""
    boot = facts.get('boot') or {}
    first = _health.sample(facts, boot.get('time') or started, boot.get('id'))
    last = first
    recorded = history.get('last')
    start, window = _health.baseline(recorded, None, last, boot.get('uptime'))
    if window['source'] != 'recorded' and p['health_sample'] > 0 and facts.get('available'):
        left = p['health_sample'] - (time.time() - first['time'])
        if left > 0:
            time.sleep(left)
        again = _gather.counters(root, probes)
        last = _health.sample(again, again['time'], boot.get('id'))
        start, window = _health.baseline(None, first, last, boot.get('uptime'))
    return _health.evaluate(last, start, window, p['usage_threshold'])


def run(module, root='', probes=None):
    p = module.params
    errors = validate(p)
    if errors:
        module.fail_json(msg=words(p, '; '.join(errors)))
    started = time.time()
    facts = _gather.gather(root=root, probes=probes, breakdown=p['breakdown'], top=p['top'])
    read_once = {}   # the firewall rulesets: read for NAT, and again for the users check
    facts['nat'] = _users_host.nat(module, _hostio.HostIO(module, root), (facts.get('kernel') or {}).get('release'),
                                   read_once)
    recorded = recorded_history(module, p['history_path'], root)
    given = {} if p['history'] is None and p['history_source'] == 'none' else p['history']
    history, fallback = (recorded, None) if given is None else given_history(module, given)
    rec, err = _recommend_args.compute(dict(((k, p[k]) for k in RECOMMEND), sizing=p['sizing'], history=history,
                                            now=started), facts, platform.node() or 'host')
    if err:
        module.fail_json(msg=words(p, err))
    rec['warnings'] = [words(p, w) for w in rec.get('warnings') or []] + (['history: %s' % fallback] if fallback else [])
    rec['report'] = [words(p, line) for line in rec.get('report') or []]
    result = {'changed': False, 'report': rec.get('report') or [], 'ansible_facts': {'conntrack': facts}}
    users = None
    if p['users'] or p['state'] == 'disabled':
        users = _users.analyze(_users_host.gather(module, _hostio.HostIO(module, root),
                                                  (facts.get('kernel') or {}).get('release'), read_once),
                               ignore=p['users_ignore'])
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
    health = check_health(module, p, facts, started, root, probes, recorded)
    forecast = None
    if p['forecast_horizon'] and history.get('recent') and facts.get('max'):
        forecast = _observed.forecast(history, time.time(), facts['max'], p['forecast_horizon'])
        forecast['history'] = ('Prometheus (read on the controller)' if history.get('source') == 'prometheus'
                               else p['history_path'] if p['history'] is None else 'the history option')
    _health.with_forecast(health, forecast)
    entry = _audit.host_entry(facts, rec, settings_plan, current, p['udev_rule_file'], notrack_result, p['fail_on'],
                              p['sysctl_file'], users, health=health, relieved=_history.last_event(recorded, 'relieve'))
    result['audit'] = entry
    # one story: changed exactly when the audit finds drift (what the tune playbook would change)
    result['changed'] = entry['status'] == 'drifted'
    if module._diff:
        result['diff'] = _settings.diff_of(settings_plan)
    module.exit_json(**result)


def audit_disabled(module, p, facts, rec, users, root, result):
    """A host meant to have conntrack off (state disabled): is it still off, and are our files as
    disabling leaves them?"""
    from ansible_collections.nfct.tuning.plugins.module_utils.settings import disable as _disable
    state = _state.read(p, root)
    current = state.files
    settings_plan = _settings.plan(facts, {}, dict(p, readonly='report'), state)
    off, why = _disable.disabled_state(facts, users, current[p['disable_file']])
    entry = _audit.host_entry(facts, dict(rec, values={}), settings_plan, current, p['udev_rule_file'], None, p['fail_on'],
                              p['sysctl_file'], users, disabled={'off': off, 'why': why})
    result['audit'] = entry
    result['changed'] = entry['status'] == 'drifted'
    if module._diff:
        result['diff'] = _settings.diff_of(settings_plan)
    module.exit_json(**result)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
