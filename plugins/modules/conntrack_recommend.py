#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_recommend
short_description: Recommend nf_conntrack max, hash size and timeouts for a workload profile
version_added: 0.1.0
description:
  - Computes the recommended C(nf_conntrack_max), C(nf_conntrack_buckets) (rounded the way the kernel rounds
    it) and every timeout the chosen profile sets, from the host's conntrack facts, a workload profile, a memory
    budget and optional overrides.
  - Every value carries the reason and the source of its rule; warnings say when the budget is exceeded, the
    table is full or near full, chains are longer than the profile's target, or C(insert_failed) suggests the
    SNAT port race on a NAT host.
  - Runs on the controller (an action plugin) from C(ansible_facts.conntrack) gathered earlier in the play, so
    it costs no round trip. Without gathered facts it runs M(nfct.tuning.conntrack_facts) once first.
  - Suggested NOTRACK exemptions are returned as data only.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  facts:
    description:
      - Conntrack facts as returned by M(nfct.tuning.conntrack_facts). Defaults to C(ansible_facts.conntrack).
    type: dict
  profile:
    description:
      - Workload profile. Built in - V(default), V(web), V(nat_gateway), V(kubernetes_node), V(dns),
        V(database), V(edge); or the name of a profile given in O(profiles). See docs/profiles.md.
    type: str
    default: default
  profiles:
    description:
      - Additional profiles as data, name -> profile dict (C(description), C(extends), C(sizing), C(settings),
        C(notrack), C(nat), C(sources), C(notes)). A user profile may replace a built-in one of the same name.
    type: dict
    default: {}
  overrides:
    description:
      - Key -> integer value that wins over the profile. Keys in short form (V(max),
        V(tcp_timeout_established)) or full sysctl form (V(net.netfilter.nf_conntrack_max)).
    type: dict
    default: {}
  memory_budget_percent:
    description:
      - Share of RAM the table (entries and bucket heads) may use, above 0 and at most 100.
        Defaults to the profile's value (5 for most profiles).
    type: raw
  expected_peak:
    description:
      - Peak number of concurrent connections if known; max is raised to peak x the profile's headroom (2).
    type: raw
  only_raise:
    description:
      - Never recommend a max or buckets below the current value.
    type: bool
    default: true
  previous_stats:
    description:
      - The C(stats) of an earlier facts run; lets the warning about C(insert_failed) say whether it grew.
    type: dict
attributes: {}
notes:
  - Supports check mode; it changes nothing.
seealso:
  - module: nfct.tuning.conntrack_facts
'''

EXAMPLES = r'''
- name: Gather facts
  nfct.tuning.conntrack_facts:

- name: Recommend for a reverse proxy, at most 3% of RAM
  nfct.tuning.conntrack_recommend:
    profile: web
    memory_budget_percent: 3
  register: rec

- name: Kubernetes node, pin one timeout
  nfct.tuning.conntrack_recommend:
    profile: kubernetes_node
    overrides:
      tcp_timeout_time_wait: 60

- name: A profile of your own, as data
  nfct.tuning.conntrack_recommend:
    profile: my_proxy
    profiles:
      my_proxy:
        extends: web
        sizing:
          min: 524288
        settings:
          tcp_timeout_established:
            value: 7200
            reason: upstream keep-alive is 1h
'''

RETURN = r'''
profile:
  description: The profile used.
  type: str
  returned: always
  sample: web
values:
  description:
    - Per short key - C(key) (full sysctl name), C(current), C(recommended), C(change), C(reason), C(source),
      C(scope) (global or netns) and C(writable) (from here).
  type: dict
  returned: always
recommended:
  description: Short key -> recommended value.
  type: dict
  returned: always
  sample: {"max": 1572864, "buckets": 1572864, "tcp_timeout_time_wait": 30}
sysctl:
  description: Full sysctl name -> recommended value.
  type: dict
  returned: always
order:
  description: The order keys should be written in (buckets, max, expect_max, then alphabetical).
  type: list
  elements: str
  returned: always
memory:
  description: Object size and source, bytes now, at the current and at the recommended max, budget.
  type: dict
  returned: always
kernel_default:
  description: What the kernel would pick at this RAM, with reason and source.
  type: dict
  returned: when available
notrack:
  description: Suggested NOTRACK exemptions of the profile (data only).
  type: list
  elements: dict
  returned: always
warnings:
  description: Budget exceeded, table full, long chains, insert_failed on NAT hosts, read-only keys.
  type: list
  elements: str
  returned: always
report:
  description: A readable summary, one line per item.
  type: list
  elements: str
  returned: always
computed_on:
  description: V(controller) when the action plugin computed it, V(host) when the module did.
  type: str
  returned: always
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils import _gather, _recommend_args


def build_module():
    return AnsibleModule(argument_spec=_recommend_args.ARGUMENT_SPEC, supports_check_mode=True)


def run(module, root='', probes=None):
    facts = module.params['facts']
    if facts is None:
        facts = _gather.gather(root=root, probes=probes)
    rec, err = _recommend_args.compute(module.params, facts)
    if err:
        module.fail_json(msg=err)
    rec['computed_on'] = 'host'
    module.exit_json(changed=False, **rec)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
