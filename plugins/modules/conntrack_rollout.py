#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_rollout
short_description: The controller side of a staged conntrack rollout - plan, stage start, verdict, restores, report
version_added: 0.3.0
description:
  - The steps of the nfct.tuning.rollout playbook that run on the controller (the role's rollout_plan, rollout_stage and
    rollout_end entry points call it; docs/rollout.md). An action that never connects to the hosts.
  - C(plan) - before any host is touched, cuts the play's hosts into stages exactly as the next play's C(serial) does
    (ansible-core's own rule - sizes or percentages, the last one repeated), refuses stages that do not cover the fleet,
    percentages over 100 or sizes under 1, a soak that is not 0-86400 seconds, checks and thresholds that are not right
    (each message names the variable and the allowed values), warns about a soak of 0, and finds the stages an earlier
    run of the same rollout passed (the rerun skips them). Writes the report (not in check mode).
  - C(start) - at the start of each stage, checks that the batch is the planned stage (a C(serial) that did not get the
    planned stages is refused before the stage changes anything) and records the start.
  - C(verdict) - from every host's registered results (the change, the health gate of M(nfct.tuning.conntrack_rollout_gate))
    decides the stage - it passes when every host of it applied the change and passed its gate; a host that stopped
    answering fails the control-connection gate - and returns the hosts to put back (every host of a failed stage that
    answers).
  - C(finish) - records each restore of M(nfct.tuning.conntrack_snapshot) (restored, or failed with the evidence; a failed
    restore is never reported as restored) and closes the stage.
  - C(end) - after the stages, the hosts of the stages that passed to put back when the rollout stopped and O(restore_all)
    is true, and the hosts of the stage it stopped at with the message they fail with; with O(record), records the
    restores.
  - C(merge) - one fleet report from the rollout reports of the slices of one job (AWX or Automation Platform job
    slicing, or any split of the inventory run as separate jobs with their own report paths) - each slice's stages as
    it ran them, every host once (a host in two reports, reports of different options or a report that is not a
    slice's rollout report is refused with the reason, writing nothing), the status over all of them and the restores
    that failed; written to O(report_path) and O(html_path). The nfct.tuning.merge_rollout_reports playbook runs it.
  - The report (JSON and HTML, written atomically on the controller) is rewritten at each step - stages, each host's
    gate with its evidence, the decisions, the restores, timings - and is the state a rerun resumes from.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  step:
    description: The step of the rollout.
    type: str
    required: true
    choices: [plan, start, verdict, finish, end, merge]
  stages:
    description:
      - The stages, as C(serial) takes them - batch sizes (whole numbers, 1 or more) or whole percentages of the fleet
        (1%-100%); they must cover the fleet. C(plan) only.
    type: raw
    default: [1, '10%', '50%', '100%']
  soak:
    description: Seconds each stage waits after its change before its gate, 0-86400. C(plan) only.
    type: raw
    default: 300
  checks:
    description:
      - The user checks (a list of dicts with C(name) and C(command) or C(url)), validated here before any host is
        touched; they run in M(nfct.tuning.conntrack_rollout_gate). C(plan) only.
    type: raw
    default: []
  thresholds:
    description: The gate's thresholds (see M(nfct.tuning.conntrack_rollout_gate)), validated here. C(plan) only.
    type: raw
    default: {}
  restore_all:
    description: Put back the hosts of the stages that passed when a later stage fails (C(plan), C(end)).
    type: bool
    default: false
  record:
    description: With C(end), record the restores of the earlier stages instead of listing the hosts to put back.
    type: bool
    default: false
  rollout_id:
    description:
      - The rollout's id. Default - 16 hex digits of the SHA-256 of the hosts, the stages and every host's conntrack_*
        variables (except the rollout's own); a rerun of the same rollout resumes, any other change is a new rollout.
    type: str
  hosts:
    description: The fleet (default the play's hosts, C(ansible_play_hosts_all), in the order serial takes them).
    type: list
    elements: str
  planned:
    description: The C(planned) result of the C(plan) step (every step but C(plan)).
    type: dict
  report_path:
    description: The JSON report on the controller, relative to the folder C(ansible-playbook) runs in.
    type: str
    default: conntrack-rollout.json
  html_path:
    description: The HTML page of the report; empty writes none.
    type: str
    default: conntrack-rollout.html
  applied_var:
    description: The host variable that says whether the change applied (C({failed, msg})).
    type: str
    default: conntrack__rollout_applied
  gate_var:
    description: The registered M(nfct.tuning.conntrack_rollout_gate) result on each host.
    type: str
    default: conntrack__rollout_gate
  restore_var:
    description: The registered M(nfct.tuning.conntrack_snapshot) restore result on each host.
    type: str
    default: conntrack__rollout_restore
  merge:
    description:
      - C(merge) only - the JSON rollout reports of the slices to merge, paths or glob patterns (relative to the current
        folder). A pattern that matches nothing, a file listed twice or one that is not JSON is refused.
    type: list
    elements: str
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_controller
  - nfct.tuning.attributes.action
attributes:
  check_mode:
    support: full
    details:
      - C(plan) shows the plan and writes no report in check mode; the other steps are not run in check mode.
  diff_mode:
    support: none
    details:
      - Returns no diff; the report describes the rollout.
  action:
    support: full
    details:
      - An action plugin only - nothing runs on the hosts. Use it once per play (C(run_once=true)).
  async:
    support: none
notes:
  - Runs on the controller only (an action); it has no module part to run on a host.
  - "Guide: R(docs/rollout.md,ansible_collections.nfct.tuning.docsite.rollout) - the staged rollout gated on health."
seealso:
  - module: nfct.tuning.conntrack_rollout_gate
  - module: nfct.tuning.conntrack_snapshot
'''

EXAMPLES = r'''
# The steps are normally run by the nfct.tuning.rollout playbook; the plan alone:
- name: Plan a rollout in four stages
  nfct.tuning.conntrack_rollout:
    step: plan
    stages: [1, '10%', '50%', '100%']
    soak: 300
    checks:
      - name: web
        url: http://127.0.0.1/health
  run_once: true
  register: plan

# Merge the reports of three slice jobs into one fleet report
- name: Merge the slices' rollout reports
  nfct.tuning.conntrack_rollout:
    step: merge
    merge: ['/srv/reports/conntrack-rollout-*.json']
    report_path: conntrack-rollout.json
    html_path: conntrack-rollout.html
  run_once: true
  register: merged
'''

RETURN = r'''
planned:
  description: The plan (C(plan)) - the rollout id, the stages with their hosts and status, the hosts a rerun skips.
  returned: step is plan
  type: dict
  sample: {"rollout_id": "3f0c2a9e1b7d4c55", "stages": [{"index": 1, "hosts": ["web1"], "status": "pending"}],
           "skip": [], "resumed_after": null}
rollout_id:
  description: The rollout's id.
  returned: step is plan
  type: str
skip:
  description: The hosts of the stages an earlier run of this rollout passed.
  returned: step is plan
  type: list
  elements: str
options:
  description: The validated options (stages, soak in seconds, checks, thresholds, restore_all).
  returned: step is plan
  type: dict
stage:
  description: The stage's number (from 1).
  returned: step is start, verdict or finish
  type: int
passed:
  description: Whether the stage passed.
  returned: step is verdict or finish
  type: bool
restore:
  description: The hosts to put back from their snapshots.
  returned: step is verdict or end
  type: list
  elements: str
failed_hosts:
  description: The hosts of the stage that failed their gate (or the change, or stopped answering).
  returned: step is verdict
  type: list
  elements: str
restore_failed:
  description: The hosts whose restore failed.
  returned: step is finish, end (with record) or merge
  type: list
  elements: str
status:
  description: The rollout's status - running, stopped or completed (merge - stopped when a slice stopped, running while
    one has not ended, completed when every slice completed).
  returned: step is finish, end or merge
  type: str
stopped_hosts:
  description: The hosts of the stage the rollout stopped at (the last play fails them), or none.
  returned: step is end
  type: list
  elements: str
stop_message:
  description: What those hosts fail with - the stage, the hosts that failed it, the restores, the report.
  returned: step is end
  type: str
hosts:
  description: The hosts of the merged reports.
  returned: step is merge
  type: list
  elements: str
failed_run:
  description: Whether the merged rollout fails the run - a slice stopped or has not ended, or a restore failed.
  returned: step is merge
  type: bool
merged:
  description: The reports merged (absolute paths).
  returned: step is merge
  type: list
  elements: str
written:
  description: The files written (report_path, html_path).
  returned: step is merge
  type: dict
lines:
  description: What the step decided, in words.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        step=dict(type='str', required=True, choices=['plan', 'start', 'verdict', 'finish', 'end', 'merge']),
        stages=dict(type='raw', default=[1, '10%', '50%', '100%']), soak=dict(type='raw', default=300),
        checks=dict(type='raw', default=[]), thresholds=dict(type='raw', default={}),
        restore_all=dict(type='bool', default=False), record=dict(type='bool', default=False),
        rollout_id=dict(type='str'), hosts=dict(type='list', elements='str'), planned=dict(type='dict'),
        report_path=dict(type='str', default='conntrack-rollout.json'),
        html_path=dict(type='str', default='conntrack-rollout.html'),
        applied_var=dict(type='str', default='conntrack__rollout_applied'),
        gate_var=dict(type='str', default='conntrack__rollout_gate'),
        restore_var=dict(type='str', default='conntrack__rollout_restore'),
        merge=dict(type='list', elements='str')), supports_check_mode=True)
    module.fail_json(msg='nfct.tuning.conntrack_rollout is an action that runs on the controller; it has no module part '
                         'to run on a host')


if __name__ == '__main__':
    main()
