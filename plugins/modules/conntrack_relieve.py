#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_relieve
short_description: Relieve a conntrack table that is full now - raise max at runtime only, within the budget
version_added: 0.3.0
description:
  - The incident path (docs/incident.md) - for a table that is full, or dropping, now. One module run - the facts and
    the breakdown of what fills the table, the recommendation for the host's profile, the change, its read-back.
  - Raises C(nf_conntrack_max) at runtime only, to the recommendation for the profile (never less than the fullest
    table's count plus the profile's headroom; it never lowers), within the memory budget
    at the measured bytes per entry. Beyond the budget it refuses, naming the budget that would hold it and the option
    (role - variable) that allows it.
  - Never resizes the hash table (a resize rehashes every live entry with bottom halves off) - it says what the
    chains become and how to resize later. Never writes, truncates or creates a file - C(/etc/sysctl.d),
    C(/etc/modprobe.d) and the rest are untouched; the persist step is separate and RV(commands) gives it.
  - Shows what fills the table - entries per protocol and TCP state, the top talkers (bounded, as the breakdown is),
    and the NOTRACK exemptions that would remove the largest share (RV(notrack_suggestions)) with a ready-to-run
    command; relieve never applies them.
  - With O(shorten_timeouts), and only then, shortens the timeouts that hold the most entries to their floors (the
    floors of docs/keys.md, each with its source), for the incident; the persist step puts the profile's values back.
  - C(nf_conntrack_max) is global - in a container (a network namespace other than the initial one) it is read-only,
    while each namespace's count is checked against it. Run there, relieve says so and names where to run (the
    node); run on the node, it sizes for the fullest namespace and so relieves every container at once.
  - Records the change in the host's history (O(history_path)), which the audit reads to say that max was raised
    by relieve and is not persisted yet.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  profile:
    description: Workload profile (see M(nfct.tuning.conntrack_recommend)).
    type: str
    default: default
  profiles:
    description: Your own profiles as data.
    type: dict
    default: {}
  overrides:
    description: Key -> value that wins over the profile (only C(max) matters here).
    type: dict
    default: {}
  memory_budget_percent:
    description: Share of RAM the table may use, 0.1-50; null uses the profile's.
    type: raw
  expected_peak:
    description: Peak concurrent connections, if known.
    type: raw
  force:
    description: Go beyond the memory budget (with a warning).
    type: bool
    default: false
  kube_proxy:
    description: What kube-proxy runs here (see M(nfct.tuning.conntrack_recommend)).
    type: raw
  shorten_timeouts:
    description:
      - Also shorten, at runtime, the timeouts of the states that hold the most entries (at least 10% of the table each,
        at most three) to their floors. Existing entries keep their expiry until their next packet.
    type: bool
    default: false
  breakdown:
    description: Walk the table to show what fills it (O(nfct.tuning.conntrack_facts#module:breakdown)); needed for
      O(shorten_timeouts) and the NOTRACK suggestions.
    type: bool
    default: true
  top:
    description: Length of the breakdown's top lists, an integer 1-100.
    type: raw
    default: 10
  history_path:
    description: The host's history, where the relieve is recorded (not in check mode).
    type: path
    default: /var/lib/nfct-tuning/history.json
  lock_timeout:
    description: Seconds to wait for another nfct.tuning run on the same host, 0-86400.
    type: raw
    default: 300
  vocabulary:
    description:
      - The words of messages - V(module) names this module's options (O(memory_budget_percent)), V(role) the role's
        variables (C(conntrack_memory_budget_percent)); the role's relieve entry point sets V(role).
    type: str
    choices: [module, role]
    default: module
  command_context:
    description:
      - What the printed commands need from the play - C(host) (its inventory name), C(inventory) (the inventory
        sources), C(profile). The role's relieve entry point fills it.
    type: dict
    default: {}
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Says exactly what it would do; writes nothing (no runtime value, no history, no lock file).
  diff_mode:
    support: full
    details:
      - Shows the runtime values before and after.
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root (writing C(/proc/sys/net/netfilter) needs CAP_NET_ADMIN; the breakdown reads the whole table)
notes:
  - "Guides: R(docs/incident.md,ansible_collections.nfct.tuning.docsite.incident) - My table is full right now."
seealso:
  - module: nfct.tuning.conntrack_audit
  - module: nfct.tuning.conntrack_settings
'''

EXAMPLES = r'''
- name: Relieve a full table (what it would do)
  nfct.tuning.conntrack_relieve:
    profile: web
  check_mode: true
  diff: true

- name: Relieve it, and shorten the timeouts holding the most entries for the incident
  nfct.tuning.conntrack_relieve:
    profile: web
    shorten_timeouts: true
  register: relieved

- name: Show what was done and what to run next
  ansible.builtin.debug:
    msg: "{{ relieved.lines }}"
'''

RETURN = r'''
state:
  description: V(ok) (max can be raised here), V(readonly) (a container - raise it on the node), V(absent) (no conntrack).
  type: str
  returned: always
max:
  description: C(before), C(after), C(change), C(why), C(fullest) (the fullest table's count) and C(fullest_where).
  type: dict
  returned: when RV(state) is ok
timeouts:
  description: The timeouts shortened (or that would be) - C(key), C(before), C(after), C(holds), C(share), C(why).
  type: list
  elements: dict
  returned: always
runtime_changes:
  description: The runtime writes, in order - C(key), C(path), C(before), C(value).
  type: list
  elements: dict
  returned: always
chain:
  description: The hash table left as it is - C(buckets), C(now) and C(at_max) (entries per bucket).
  type: dict
  returned: when RV(state) is ok
resize:
  description: When and how to resize the hash table later, and the stall it costs.
  type: str
  returned: when the profile wants more buckets
namespaces:
  description: Other network namespaces seen from here, with their counts (the node's containers).
  type: list
  elements: dict
  returned: always
breakdown:
  description: What fills the table (as M(nfct.tuning.conntrack_facts) returns it).
  type: dict
  returned: with O(breakdown)
notrack_suggestions:
  description: Exemptions that would remove the largest share - C(exemption), C(holds), C(share), C(why). Never applied.
  type: list
  elements: dict
  returned: always
commands:
  description: C(persist) - keep the new max and resize later; C(notrack) - apply the suggestions. Relieve runs neither.
  type: dict
  returned: always
lines:
  description: What was done (or would be, in check mode) and what to run next, readable.
  type: list
  elements: str
  returned: always
left_applied:
  description: On a failure, what is still changed because putting it back failed too.
  type: list
  elements: str
  returned: on failure after a change
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.history import file as _history_file, store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio, lock as _lock, proc as _proc
from ansible_collections.nfct.tuning.plugins.module_utils.host import runtime as _runtime
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.settings import relieve as _relieve
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host

ENGINE = ('profile', 'profiles', 'overrides', 'memory_budget_percent', 'expected_peak', 'force', 'kube_proxy')


def build_module():
    spec = dict((k, v) for k, v in _recommend_args.ENGINE_SPEC.items() if k in ENGINE)
    spec.update(
        shorten_timeouts=dict(type='bool', default=False),
        breakdown=dict(type='bool', default=True),
        top=dict(type='raw', default=10),
        history_path=dict(type='path', default=_history.PATH),
        lock_timeout=dict(type='raw', default=300),
        command_context=dict(type='dict', default={}),
        vocabulary=dict(type='str', default='module', choices=['module', 'role']),
    )
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_relieve')
    return module_class(argument_spec=spec, supports_check_mode=True)


def validate(p):
    errors = []
    for name, low, high, unit in (('top', 1, 100, None), ('lock_timeout', 0, 86400, 'seconds')):
        try:
            p[name] = _inputs.number(p[name], name, low, high, True, unit)
        except _inputs.ProfileError as e:
            errors.append(str(e))
    return errors


def target(module, p, facts, fullest):
    """The sizing engine's max for the profile, for the fullest table (only_raise: never lower)."""
    params = dict((k, p[k]) for k in ENGINE)
    params['only_raise'] = True
    rec, err = _recommend_args.compute(params, dict(facts, count=max(fullest, facts.get('count') or 0)),
                                       p['command_context'].get('host') or 'host')
    if err:
        return {'error': 'relieve: %s' % words(p, err)}, None
    for warning in rec.get('warnings') or []:
        # relieve never lowers (advice about only_raise is not for it) and says itself where max
        # cannot be raised
        if 'only_raise' not in warning and 'cannot be changed from here' not in warning:
            module.warn(words(p, warning))
    return {'max': rec['recommended'].get('max', facts.get('max')), 'why': (rec['values'].get('max') or {}).get('reason')
            or 'the recommendation for profile %s' % rec.get('profile')}, rec


# relieve's own options as the role names them (the engine's: sizing/args.py role_terms)
ROLE_NAMES = (('top', 'conntrack_relieve_top'), ('lock_timeout', 'conntrack_lock_timeout'),
              ('history_path', 'conntrack_history_path'), ('shorten_timeouts', 'conntrack_relieve_shorten_timeouts'),
              ('breakdown', 'conntrack_relieve_breakdown'))


def words(p, message):
    """A message in the caller's words: the role's variables when run through the role."""
    return _recommend_args.in_words(message, p.get('vocabulary'), ROLE_NAMES)


def local_ports(net):
    """(protocol, port) of the sockets that listen in a namespace: TCP LISTEN, bound UDP. net: its
    /proc/net (ROOT/proc/net here, ROOT/proc/PID/net for the namespace of PID)."""
    out = set()
    for proto, files, states in (('tcp', ('tcp', 'tcp6'), ('0A',)), ('udp', ('udp', 'udp6'), ('07',))):
        for name in files:
            try:
                with open(net + '/' + name) as f:
                    text = f.read()
            except (IOError, OSError):
                continue
            out.update((proto, port) for port in _proc.parse_local_ports(text, states))
    return out


def run(module, root='', probes=None):
    p = module.params
    result = dict(changed=False, timeouts=[], runtime_changes=[], namespaces=[], notrack_suggestions=[], commands={},
                  lines=[])
    errors = validate(p)
    if errors:
        module.fail_json(msg=words(p, '; '.join(errors)), **result)
    # read and decide under a shared lock (it creates nothing); the writes take the exclusive one
    try:
        with _lock.HostLock(p['lock_timeout'], shared=True, root=root, what='conntrack_relieve'):
            facts, plan = decide(module, p, root, probes, result)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), **result)
    # ------------------------------------------------------------ the one gate
    if module.check_mode or not plan['writes']:
        module.exit_json(**result)
    try:
        with _lock.HostLock(p['lock_timeout'], shared=False, root=root, what='conntrack_relieve'):
            act(module, p, root, facts, plan, result)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), **result)
    module.exit_json(**result)


def decide(module, p, root, probes, result):
    """Read, decide, report (result filled): (facts, plan)."""
    facts = _gather.gather(root=root, probes=probes, breakdown=p['breakdown'] and _breakdown_possible(root),
                           top=p['top'])
    io = _hostio.HostIO(module, root)
    release = (facts.get('kernel') or {}).get('release')
    facts['nat'] = _users_host.nat(module, io, release) if facts.get('available') else None
    namespaces = []
    if facts.get('available') and (facts.get('netns') or {}).get('initial'):
        namespaces = [{'name': (ns['names'] or [None])[0], 'pid': (ns['pids'] or [None])[0], 'inode': ns['inode'],
                       'count': ns.get('count'), 'comms': ns['comms'][:5]}
                      for ns in _users_host.namespaces(io, _users_host.processes(io), True)]
    result['namespaces'] = namespaces
    fullest, where, other = _relieve.fullest(facts, namespaces)
    goal, rec = target(module, p, facts, fullest) if facts.get('available') else ({'error': None}, None)
    profile_buckets = ((rec or {}).get('recommended') or {}).get('buckets')
    plan = _relieve.plan(facts, goal, {'shorten_timeouts': p['shorten_timeouts'], 'profile_buckets': profile_buckets},
                         namespaces)
    if plan['errors']:
        module.fail_json(msg='; '.join(plan['errors']), **result)
    shown = facts.get('breakdown')
    ports_net = root + '/proc/net'
    if other is not None and p['breakdown'] and other.get('pid'):
        # what fills the fullest table, not this (emptier) one: read through a process in it
        shown = _gather.namespace_breakdown(root, other['pid'], p['top'])
        ports_net = '%s/proc/%d/net' % (root, other['pid'])
        plan['breakdown_of'] = where
    suggestions = _relieve.notrack_suggestions(shown, local_ports(ports_net))
    context = dict({'profile': p['profile']}, **p['command_context'])
    plan['notrack_suggestions'] = suggestions
    plan['commands'] = _relieve.commands(context, suggestions, own=other is None)
    result.update(state=plan['state'], max=plan['max'], timeouts=plan['timeouts'], chain=plan['chain'],
                  notrack_suggestions=suggestions, commands=plan['commands'],
                  runtime_changes=[dict((k, w[k]) for k in ('key', 'path', 'before', 'value')) for w in plan['writes']])
    if plan['resize']:
        result['resize'] = plan['resize']
    if shown is not None:
        result['breakdown'] = dict(shown, of=plan.get('breakdown_of') or 'this network namespace')
    result['lines'] = _relieve.report_lines(plan, module.check_mode) + breakdown_lines(shown, plan.get('breakdown_of'))
    result['changed'] = bool(plan['writes'])
    if module._diff and plan['writes']:
        result['diff'] = [{'before_header': 'runtime', 'after_header': 'runtime',
                           'before': ''.join('%s = %s\n' % (_keys.sysctl_name(w['key']), w['before']) for w in plan['writes']),
                           'after': ''.join('%s = %s\n' % (_keys.sysctl_name(w['key']), w['value']) for w in plan['writes'])}]

    return facts, plan


def act(module, p, root, facts, plan, result):
    """Under the exclusive lock: the values are still those the plan was made from (another run may
    have changed them meanwhile), then the writes (read back, all put back on a failure), then the
    record in the history."""
    moved = [w for w in plan['writes'] if _runtime.read_value(root + w['path']) != w['before']]
    if moved:
        result['changed'] = False
        module.fail_json(msg='relieve: %s changed while relieve was deciding (now %s): nothing was written; run it '
                             'again' % (', '.join(_keys.sysctl_name(w['key']) for w in moved),
                                        ', '.join(str(_runtime.read_value(root + w['path'])) for w in moved)), **result)
    try:
        _runtime.apply(plan['writes'], root)
    except _runtime.RuntimeWriteError as e:
        result['changed'] = bool(e.left)
        module.fail_json(msg='relieve: writing failed (%s); %s' % (e, _runtime.undo_summary(len(e.done), e.left)),
                         left_applied=e.left, **result)
    record(module, p, facts, plan, root, result)


def record(module, p, facts, plan, root, result):
    """The relieve in the host's history: a sample, and the event the audit names."""
    boot = facts.get('boot') or {}
    event = {'time': round(time.time(), 3), 'what': 'relieve', 'boot_id': boot.get('id'),
             'max_before': (plan['max'] or {}).get('before'), 'max_after': (plan['max'] or {}).get('after'),
             'timeouts': dict((t['key'], [t['before'], t['after']]) for t in plan['timeouts'])}
    sample = _health.sample(facts, event['time'], boot.get('id'))
    try:
        _unused, warning = _history_file.record(module, p['history_path'], sample, root, event=event)
    except (IOError, OSError) as e:
        warning = 'the relieve could not be recorded in %s: %s' % (p['history_path'], e)
    if warning:
        module.warn(warning)


def breakdown_lines(breakdown, where):
    """What fills the table shown (the fullest one), or nothing for an empty one."""
    if not breakdown or not breakdown.get('total'):
        return []
    head = 'what fills %s:' % (where or 'this network namespace')
    return [head] + ['  ' + line.strip() for line in _audit.breakdown_lines(breakdown)]


def _breakdown_possible(root):
    return os.path.exists(root + '/proc/net/nf_conntrack') or os.geteuid() == 0


def main():
    run(build_module())


if __name__ == '__main__':
    main()
