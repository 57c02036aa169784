#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_remediation_guard
short_description: The bounds and the record of the closed loop - alert-driven relieve, within limits
version_added: 0.3.0
description:
  - The guard of the closed loop (docs/closed-loop.md) - an alert of Alertmanager for a full or dropping conntrack
    table runs the nfct.tuning.closed_loop playbook (through the rulebook of extensions/eda), which runs relieve
    (M(nfct.tuning.conntrack_relieve)) on that host. This module keeps the loop within its bounds and keeps its
    record - one JSON object per line in O(record), on the machine it runs on (the controller - the playbook delegates it to
    localhost), with the output of each remediation beside it (C(RECORD.d/ID.log)).
  - The bounds - at most O(budget) remediations per host per O(window) seconds; never again on a host whose last
    remediation failed (or never reported) until a person re-arms it; a remediation in flight, or one since the
    alert began, is not stacked by another alert (grouped, twin or repeated alerts); resolved alerts do nothing.
    When a bound stops the loop for a host it says so (RV(decision) V(stop)) and writes a C(stopped) entry; the
    alert keeps firing for a person.
  - Never beyond the memory budget, never lowering anything - O(step=begin) refuses to run relieve when
    O(relieve_options) asks for C(force) (beyond the memory budget) or C(shorten_timeouts); relieve itself never
    persists and never applies NOTRACK.
  - O(step=begin) confirms a remediation the Alertmanager source already allowed (O(remediation_id)), or decides
    for O(alert) when there is none. O(step=finish) records the result of relieve (its registered result in
    O(result)) and its output. O(step=pause) and O(step=arm) are a person's - switch the loop off for a host
    (C(*) - every host) and back on (which also clears a failure and restarts the budget). O(step=status) reads.
  - Every decision is made under an exclusive lock of C(RECORD.lock), from reading the record to appending to it.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  step:
    description: What to do - V(begin), V(finish), V(pause), V(arm) or V(status) (see the description).
    type: str
    choices: [begin, finish, pause, arm, status]
    default: status
  record:
    description:
      - The record, one JSON object per line (created when missing). A relative path is relative to the folder the
        module runs in; the rulebook passes the absolute path of C(nfct_eda_record).
    type: path
    required: true
  host:
    description:
      - The host - its inventory name (the alert's C(instance) label without its port, or the label the rulebook was
        told to use). Required by every step but V(status) without it; V(pause) and V(arm) accept C(*) for every host.
    type: str
  remediation_id:
    description:
      - The remediation the source allowed and recorded (the event's C(nfct_loop.id)); required by V(finish).
    type: str
  alert:
    description:
      - The alert as Alertmanager posts it (webhook payload version 4 - C(status), C(labels), C(fingerprint),
        C(startsAt)), for V(begin) without O(remediation_id).
    type: dict
  result:
    description: The registered result of the relieve task (the role's C(conntrack_relieve_result)), for V(finish).
    type: raw
  relieve_options:
    description:
      - What relieve would run with - C(force) and C(shorten_timeouts). Either true makes V(begin) refuse (and
        V(finish) record the refusal) - the loop never goes beyond the memory budget and never lowers a value.
    type: dict
    default: {}
  host_label:
    description: The alert label that names the host (its value without a port).
    type: str
    default: instance
  alerts:
    description: The alert names the loop handles; others do nothing.
    type: list
    elements: str
    default: [ConntrackTableCritical, ConntrackDropping, ConntrackNodeTableCritical, ConntrackNodeDropping]
  budget:
    description: At most this many remediations per host per O(window), an integer 0-1000 (0 - the loop only records
      and escalates).
    type: raw
    default: 3
  window:
    description: The window of O(budget), in seconds, 60-604800.
    type: raw
    default: 3600
  in_flight_timeout:
    description: A remediation without a result after this many seconds (60-86400) counts as failed.
    type: raw
    default: 900
  settle:
    description:
      - An alert that began less than this many seconds (0-86400) after the host's last successful remediation is
        taken as about the same incident (a twin alert whose C(for:) ended after the fix; the dropping alerts look
        back 5 minutes) and does not start another.
    type: raw
    default: 600
  by:
    description: Who pauses or re-arms the loop (V(pause), V(arm)), kept in the record.
    type: str
  reason:
    description: Why, kept in the record (V(pause), V(arm)).
    type: str
  lock_timeout:
    description: Seconds to wait for the record's lock, 1-3600.
    type: int
    default: 60
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Decides and says what it would record; writes nothing (no entry, no output file, not even the lock file's
        content).
  diff_mode:
    support: none
requirements:
  - Python 3.7 or later where it runs (standard library only) - the controller, the playbook delegates it to localhost.
notes:
  - "Guides: R(docs/closed-loop.md,ansible_collections.nfct.tuning.docsite.closed_loop) - the closed loop."
seealso:
  - module: nfct.tuning.conntrack_relieve
'''

EXAMPLES = r'''
- name: Confirm the remediation the source allowed, on the controller
  nfct.tuning.conntrack_remediation_guard:
    step: begin
    record: /srv/ops/conntrack-remediations.jsonl
    host: "{{ inventory_hostname }}"
    remediation_id: "{{ nfct_loop.id }}"
    relieve_options:
      force: "{{ conntrack_force }}"
      shorten_timeouts: "{{ conntrack_relieve_shorten_timeouts }}"
  delegate_to: localhost
  become: false
  register: nfct_loop_guard

- name: Switch the loop off for web1 while a person looks
  nfct.tuning.conntrack_remediation_guard:
    step: pause
    record: /srv/ops/conntrack-remediations.jsonl
    host: web1
    by: alice
    reason: investigating the flood
  delegate_to: localhost

- name: Switch it back on (clears the failure, restarts the budget)
  nfct.tuning.conntrack_remediation_guard:
    step: arm
    record: /srv/ops/conntrack-remediations.jsonl
    host: web1
    by: alice
  delegate_to: localhost
'''

RETURN = r'''
decision:
  description: V(remediate) (run relieve), V(stop) (a bound stopped the loop for this host - a person is needed),
    V(skip) (another remediation covers it), V(ignore) (nothing to do - resolved, not handled, a duplicate) or
    V(recorded) (V(finish), V(pause), V(arm)); V(status) returns V(status).
  type: str
  returned: always
reason:
  description: The bound or rule that decided - C(remediate), C(resolved), C(not_handled), C(duplicate), C(no_host),
    C(paused), C(in_flight), C(last_failed), C(already_relieved), C(budget_spent), C(unsafe), C(confirmed).
  type: str
  returned: with O(step=begin)
msg:
  description: The decision in words.
  type: str
  returned: always
remediation_id:
  description: The remediation this run belongs to.
  type: str
  returned: with O(step=begin) and O(step=finish)
entries:
  description: The entries written to the record (or that would be, in check mode).
  type: list
  elements: dict
  returned: always
ok:
  description: Whether the remediation succeeded (max raised, or already enough).
  type: bool
  returned: with O(step=finish)
result:
  description: The result in one word - C(raised), C(unchanged), C(refused) (the memory budget), C(failed),
    C(unreachable), C(readonly) (a container - relieve the node), C(absent) (no conntrack), C(unsafe), C(not_run).
  type: str
  returned: with O(step=finish)
output:
  description: The file beside the record with relieve's output.
  type: str
  returned: with O(step=finish), when relieve ran
status:
  description: The host's state - C(paused), C(stopped), C(budget) (C(used), C(limit), C(window)), C(last).
  type: dict
  returned: always
'''

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide as _decide, record as _record

UNSAFE = ('force', 'shorten_timeouts')


def build_module():
    return AnsibleModule(argument_spec=dict(
        step=dict(type='str', default='status', choices=['begin', 'finish', 'pause', 'arm', 'status']),
        record=dict(type='path', required=True),
        host=dict(type='str'),
        remediation_id=dict(type='str'),
        alert=dict(type='dict'),
        result=dict(type='raw'),
        relieve_options=dict(type='dict', default={}),
        host_label=dict(type='str', default='instance'),
        alerts=dict(type='list', elements='str', default=list(_decide.ALERTS)),
        budget=dict(type='raw', default=3),
        window=dict(type='raw', default=3600),
        in_flight_timeout=dict(type='raw', default=900),
        settle=dict(type='raw', default=600),
        by=dict(type='str'),
        reason=dict(type='str'),
        lock_timeout=dict(type='int', default=60),
    ), supports_check_mode=True)


def unsafe_options(options):
    out = []
    for name in UNSAFE:
        value = (options or {}).get(name)
        if value in (True, 'true', 'True', 'yes', 'on', '1', 1):
            out.append(name)
    return out


def find(entries, event, remediation_id):
    for entry in reversed(entries):
        if entry.get('event') == event and entry.get('id') == remediation_id:
            return entry
    return None


def begin(p, now, bounds):
    """The decision for the playbook's host: confirm the source's remediation, or decide."""
    unsafe = unsafe_options(p['relieve_options'])

    def step(entries):
        rid = p['remediation_id']
        started = find(entries, 'started', rid) if rid else None
        if rid and started is None and not p['alert']:
            return {'decision': 'stop', 'reason': 'unknown', 'remediation_id': rid,
                    'msg': 'remediation %s is not in the record %s, and no alert to decide for: relieve not run'
                           % (rid, p['record'])}, []
        if started is not None:
            if started.get('host') != p['host']:
                return {'decision': 'stop', 'reason': 'unknown', 'remediation_id': rid,
                        'msg': 'remediation %s is for %s, not %s: relieve not run'
                               % (rid, started.get('host'), p['host'])}, []
            if find(entries, 'finished', rid) is not None:
                return {'decision': 'ignore', 'reason': 'duplicate', 'remediation_id': rid,
                        'msg': 'remediation %s has its result already: relieve not run again' % rid}, []
            if unsafe:
                entry = _decide.finished_entry(started, None, now, unsafe=unsafe)
                return {'decision': 'stop', 'reason': 'unsafe', 'remediation_id': rid, 'msg': entry['msg']}, [entry]
            return {'decision': 'remediate', 'reason': 'confirmed', 'remediation_id': rid,
                    'msg': 'remediation %s confirmed: %s' % (rid, started.get('message') or 'relieve')}, []
        alert = dict(p['alert'])
        labels = dict(alert.get('labels') or {})
        if _decide.host_of(labels.get(p['host_label'])) != p['host']:
            labels[p['host_label']] = p['host']   # the play's host is the one to relieve
            alert['labels'] = labels
        d = _decide.decide(entries, alert, p['host_label'], now, bounds)
        new = [d.entry] if d.entry else []
        out = {'decision': d.action, 'reason': d.reason, 'msg': d.message, 'budget': d.budget,
               'remediation_id': (d.entry or {}).get('id')}
        if d.action == 'remediate' and unsafe:
            done = _decide.finished_entry(d.entry, None, now, unsafe=unsafe)
            new.append(done)
            out.update(decision='stop', reason='unsafe', msg=done['msg'])
        return out, new

    return step


def output_text(p, result, entry):
    """What relieve printed (its lines) and its whole registered result, for RECORD.d/ID.log."""
    res = result if isinstance(result, dict) else {}
    head = ['nfct.tuning closed loop: remediation %s of %s' % (entry['id'], entry['host']),
            'alert: %s' % json.dumps(entry.get('alert') or {}, sort_keys=True),
            'result: %s (%s)' % (entry['result'], 'ok' if entry['ok'] else 'failed'), '']
    lines = res.get('lines') or []
    if res.get('msg'):
        lines = list(lines) + ['msg: %s' % res['msg']]
    return '\n'.join(head + ['--- relieve printed:'] + [str(line) for line in lines]
                     + ['', '--- registered result:', json.dumps(res, indent=2, sort_keys=True, default=str), ''])


def finish(module, p, now):
    unsafe = unsafe_options(p['relieve_options'])

    def step(entries):
        rid = p['remediation_id']
        done = find(entries, 'finished', rid)
        if done is not None:
            return dict(done, decision='recorded', reason='duplicate',
                        msg='remediation %s has its result already (%s)' % (rid, done.get('result'))), []
        started = find(entries, 'started', rid) or {'id': rid, 'host': p['host'], 'alert': {}}
        entry = _decide.finished_entry(started, p['result'], now, unsafe=unsafe)
        if isinstance(p['result'], dict) and p['result'] and not module.check_mode:
            entry['output'] = _record.write_output(p['record'], rid, output_text(p, p['result'], entry))
        msg = 'remediation %s of %s: %s' % (rid, p['host'], entry['result'])
        if entry.get('max'):
            msg += ', max %s -> %s' % (entry['max'].get('before'), entry['max'].get('after'))
        if entry.get('msg'):
            msg += ': %s' % entry['msg']
        return dict(entry, decision='recorded', msg=msg), [entry]

    return step


def person(p, now, event):
    def step(entries):
        entry = _decide.person_entry(event, p['host'], now, p['by'], p['reason'])
        what = 'paused: no remediation' if event == 'paused' else 'armed: remediations allowed again'
        return {'decision': 'recorded', 'msg': 'the loop is %s for %s' % (
            what, 'every host' if p['host'] == '*' else p['host'])}, [entry]
    return step


def run(module, now=None):
    p = module.params
    now = time.time() if now is None else now
    try:
        bounds = _decide.policy(p['budget'], p['window'], p['in_flight_timeout'], p['alerts'], p['settle'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    if p['step'] != 'status' and not p['host']:
        module.fail_json(msg='host is required by step %s' % p['step'])
    if p['step'] == 'finish' and not p['remediation_id']:
        module.fail_json(msg='remediation_id is required by step finish')
    if p['step'] == 'begin' and not p['remediation_id'] and not p['alert']:
        module.fail_json(msg='step begin needs remediation_id (from the source) or alert')
    if not 1 <= p['lock_timeout'] <= 3600:
        module.fail_json(msg='lock_timeout: %d is outside the allowed range 1-3600' % p['lock_timeout'])
    p['record'] = os.path.abspath(p['record'])
    if p['step'] == 'status':
        entries, damaged = _record.read(p['record'])
        module.exit_json(changed=False, decision='status', entries=[], msg='%d entries, %d damaged lines'
                         % (len(entries), damaged), status=_decide.status(entries, p['host'] or '*', now, bounds))
    step = {'begin': lambda: begin(p, now, bounds), 'finish': lambda: finish(module, p, now),
            'pause': lambda: person(p, now, 'paused'), 'arm': lambda: person(p, now, 'armed')}[p['step']]()
    written = []

    def recorded(entries):
        out, new = step(entries)
        written.extend(new)
        out['status'] = _decide.status(entries + new, p['host'], now, bounds)
        return out, new

    try:
        out = _record.transact(p['record'], recorded, p['lock_timeout'], write=not module.check_mode)
    except _record.RecordError as e:
        module.fail_json(msg=str(e))
    for key in ('event', 'v', 'ts', 'time', 'host', 'id', 'alert'):
        out.pop(key, None)
    if p['step'] in ('begin', 'finish'):
        out.setdefault('remediation_id', p['remediation_id'])
    module.exit_json(changed=bool(written), entries=written, **out)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
