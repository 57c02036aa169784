#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_audit_report
short_description: Write the fleet conntrack audit report (JSON, JUnit XML, HTML) on the controller
version_added: 0.1.0
description:
  - Collects the registered M(nfct.tuning.conntrack_audit) result of every host of the play from C(hostvars) - also
    of the hosts that were unreachable, whose audit failed or that never ran it, with their error - into one
    report (schema v2, C(schemas/conntrack-audit-report-v2.schema.json)
    in the collection), and writes it as JSON, JUnit XML (one testsuite per host, one testcase per key, plus
    reachability and NOTRACK) and a self-contained HTML page (no external resources).
  - An action that runs on the controller only; it never connects to the hosts. The files are written also in check
    mode (they describe the run; no host changes). Relative paths are relative to the folder C(ansible-playbook) runs
    in; a path inside the installed collection is refused (the reports describe a run and never belong in the
    collection). Each file is written atomically (a temporary file in the same folder, fsync, rename).
  - Returns the readable summary and whether the run should fail for O(fail_on); the C(audit) entry point of the
    role prints the summary and fails the play when it should.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  result_var:
    description: The name of the registered M(nfct.tuning.conntrack_audit) result on each host.
    type: str
    default: conntrack_audit_result
  hosts:
    description: The hosts to report on. Default - every host of the play (C(ansible_play_hosts_all)), reachable or not.
    type: list
    elements: str
  json_path:
    description: Where to write the JSON report; an empty string writes none.
    type: str
    default: conntrack-audit.json
  junit_path:
    description: Where to write the JUnit XML report; an empty string writes none.
    type: str
    default: conntrack-audit.junit.xml
  html_path:
    description: Where to write the HTML report; an empty string writes none.
    type: str
    default: conntrack-audit.html
  fail_on:
    description:
      - The kinds that fail the run - any of V(runtime), V(at_boot), V(unpersisted), V(shadowed) (per key), V(notrack),
        V(reenabled), V(unreachable), V(failed) (per host), and the table's health V(full), V(high_usage), V(dropping),
        V(invalid), V(search_restart) (M(nfct.tuning.conntrack_audit) O(nfct.tuning.conntrack_audit#module:fail_on)).
    type: list
    elements: str
    default: [runtime, at_boot, unpersisted, shadowed, notrack, reenabled, unreachable, failed, full, dropping]
  options:
    description: Extra settings of the run to record in the report's C(options).
    type: dict
    default: {}
  merge:
    description:
      - Merge these JSON reports into one fleet report instead of reporting on the play's hosts - the reports of the
        slices of one audit (AWX / Automation Platform job slicing, or any split of the inventory run as separate
        jobs). Paths or glob patterns, relative to the current folder.
      - The reports must be of one audit - the same O(fail_on), options, collection version and ansible-core version
        - and each host must be in one report only; otherwise nothing is written and the task fails with the reason.
        A pattern that matches no file, a file listed twice, a file that is not a report, or an output path that is
        one of the inputs is refused too.
      - The merged report is the one a single run over all the hosts writes, up to what describes the run rather
        than the fleet - C(generated_at) (the newest of the inputs') and each host's health window (when its sample
        started and how long it took). The JSON, JUnit XML and HTML are written as one run writes them.
      - Mutually exclusive with O(result_var), O(hosts), O(fail_on) and O(options) (the merged report takes those
        of its inputs). The playbook C(nfct.tuning.merge_reports) runs it.
    type: list
    elements: str
    version_added: 0.3.0
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_controller
  - nfct.tuning.attributes.action
attributes:
  check_mode:
    support: full
    details:
      - Writes the report files on the controller in check mode too (they describe the run); no host is touched.
  diff_mode:
    support: none
    details:
      - Returns no diff; the report files are new each run.
  action:
    support: full
    details:
      - An action plugin only - nothing runs on the hosts. Use it once per play (C(run_once=true)).
  async:
    support: none
requirements:
  - Nothing on the hosts; on the controller only what ansible-core needs (Python standard library)
notes:
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/audit.md,ansible_collections.nfct.tuning.docsite.audit) - The drift audit - kinds of drift, the report,
    failing a run; R(docs/fleet.md,ansible_collections.nfct.tuning.docsite.fleet) - The audit of a fleet and its
    cost."
seealso:
  - module: nfct.tuning.conntrack_audit
'''

EXAMPLES = r'''
- name: Audit every host
  nfct.tuning.conntrack_audit:
    profile: web
  register: conntrack_audit_result
  ignore_unreachable: true
  failed_when: false

- name: Write the reports
  nfct.tuning.conntrack_audit_report:
    html_path: reports/conntrack.html
    fail_on: [runtime, at_boot, unreachable, failed]
  run_once: true
  register: report

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ report.lines }}"
  run_once: true

- name: Merge the reports of the slices of one audit into one fleet report (playbook nfct.tuning.merge_reports)
  nfct.tuning.conntrack_audit_report:
    merge:
      - /srv/conntrack-reports/conntrack-audit-*.json
    json_path: conntrack-audit.json
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
counts:
  description: Hosts - C(hosts), C(checked), C(in_sync), C(drifted), C(unreachable), C(failed), C(failing) (fail the run).
  type: dict
  returned: success
failed_run:
  description: True when at least one host fails the run for O(fail_on).
  type: bool
  returned: success
failing_hosts:
  description: The hosts that fail the run.
  type: list
  elements: str
  returned: success
failing:
  description: Host -> the kinds it fails the run for (only the hosts that fail it).
  type: dict
  returned: success
written:
  description: Option -> absolute path of each report written.
  type: dict
  returned: success
merged:
  description: With O(merge) - the absolute paths of the reports merged, in the order read; else empty.
  type: list
  elements: str
  returned: success
lines:
  description: The readable summary - the counts, then every host worst first with what differs.
  type: list
  elements: str
  returned: success
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        result_var=dict(type='str', default='conntrack_audit_result'), hosts=dict(type='list', elements='str'),
        json_path=dict(type='str', default='conntrack-audit.json'),
        junit_path=dict(type='str', default='conntrack-audit.junit.xml'),
        html_path=dict(type='str', default='conntrack-audit.html'),
        fail_on=dict(type='list', elements='str',
                     default=['runtime', 'at_boot', 'unpersisted', 'shadowed', 'notrack', 'reenabled', 'unreachable',
                              'failed', 'full', 'dropping']),
        options=dict(type='dict', default={}), merge=dict(type='list', elements='str')),
        mutually_exclusive=[('merge', other) for other in ('result_var', 'hosts', 'fail_on', 'options')],
        supports_check_mode=True)
    module.fail_json(msg='nfct.tuning.conntrack_audit_report is an action that runs on the controller; it has no '
                         'module part to run on a host')


if __name__ == '__main__':
    main()
