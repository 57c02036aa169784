# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
name: conntrack_drift_report
short_description: Collect the per-host drift of an audit run into one report
version_added: 0.1.0
author: nfct.tuning contributors (@nfct-tuning)
description:
  - Takes hostvars and the list of hosts and returns a report with, per host, the drift found by
    M(nfct.tuning.conntrack_settings) in check mode (RV(nfct.tuning.conntrack_settings#module:drift_report)),
    the profile used, the NOTRACK drift found by M(nfct.tuning.conntrack_notrack) in check mode when the audit
    manages exemptions, and a summary of which hosts drifted.
options:
  _input:
    description: hostvars.
    type: dict
    required: true
  hosts:
    description: Host names to include.
    type: list
    elements: str
    required: true
  result_var:
    description: Name of the registered conntrack_settings result on each host.
    type: str
    default: conntrack_audit_settings
'''

EXAMPLES = r'''
- name: Build the report
  ansible.builtin.set_fact:
    report: "{{ hostvars | nfct.tuning.conntrack_drift_report(ansible_play_hosts_all) }}"
'''

RETURN = r'''
_value:
  description: C(drifted) (bool), C(drifted_hosts), C(hosts) (name -> drift report, or the error), C(lines) (readable).
  type: dict
'''

from ansible_collections.nfct.tuning.plugins.module_utils import _drift


def conntrack_drift_report(hostvars, hosts, result_var='conntrack_audit_settings'):
    per_host = {}
    for h in hosts:
        hv = hostvars.get(h) or {}
        per_host[h] = {'settings': hv.get(result_var), 'recommendation': hv.get('conntrack_audit_recommendation'),
                       'notrack': hv.get('conntrack_audit_notrack')}
    report = _drift.collect(per_host)
    report['lines'] = _drift.lines(report)
    return report


class FilterModule(object):
    def filters(self):
        return {'conntrack_drift_report': conntrack_drift_report}
