#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_facts
short_description: Gather Linux connection-tracking (nf_conntrack) facts
version_added: 0.1.0
description:
  - Reads everything an operator needs to size and audit the conntrack table in one call and returns it
    as C(ansible_facts.conntrack).
  - Presence (built-in, loadable module loaded or not, absent), kernel release, architecture, pointer and
    page size, RAM, CPU count, whether this is the initial network namespace, and which keys are writable
    from here (with the reason for each read-only key).
  - Live values (count, max, buckets, expect_max, every timeout and every other C(nf_conntrack_*) sysctl),
    usage ratio and bucket load factor.
  - Counters summed over CPUs from C(/proc/net/stat/nf_conntrack), or from ctnetlink (Python standard
    library only) when that file does not exist, or C(conntrack -S) as the last resort.
  - Memory from the real object size in C(/proc/slabinfo) when readable.
  - Persisted layers - sysctl.d files in boot order with the value effective at next boot per key,
    modprobe.d options, modules-load.d entries, C(nf_conntrack.hashsize=) on the kernel command line.
  - Optionally a per-protocol, per-state breakdown of the table with top sources, destinations and ports.
  - Never fails because nf_conntrack is absent; returns C(available=false) instead.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  breakdown:
    description:
      - Walk the whole table and count entries per L3 and L4 protocol, per TCP state, ASSURED and UNREPLIED,
        and the top sources, destinations and destination ports.
      - Off by default because its cost grows with the table size. Memory stays bounded; see the C(top_exact) field of the breakdown.
    type: bool
    default: false
  top:
    description:
      - Length of the top lists of the breakdown, an integer 1-10000. (Declared V(raw) so that any value, even an
        infinite number, gets this module's own error message rather than a traceback from the argument
        conversion.)
    type: raw
    default: 10
  stats_source:
    description:
      - Where to read the counters from. V(auto) tries procfs, then ctnetlink, then C(conntrack -S).
    type: str
    choices: [auto, procfs, ctnetlink, conntrack-cli]
    default: auto
  breakdown_source:
    description:
      - Where to read the entries from for O(breakdown). V(auto) uses C(/proc/net/nf_conntrack) when it
        exists, else a ctnetlink dump.
    type: str
    choices: [auto, procfs, ctnetlink]
    default: auto
extends_documentation_fragment: []
attributes: {}
notes:
  - Supports check mode; it only reads.
  - Run as root for the object size (C(/proc/slabinfo) is root-only) and to see which keys are writable.
  - In a container with its own network namespace, C(max), C(buckets) and C(expect_max) are reported read-only.
seealso:
  - module: nfct.tuning.conntrack_recommend
'''

EXAMPLES = r'''
- name: Gather conntrack facts
  nfct.tuning.conntrack_facts:

- name: Gather facts with a breakdown of the table (O(table size))
  nfct.tuning.conntrack_facts:
    breakdown: true
    top: 5

- name: Show usage
  ansible.builtin.debug:
    msg: "{{ ansible_facts.conntrack.count }} / {{ ansible_facts.conntrack.max }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    conntrack:
      description: Connection-tracking facts. See docs/modules/conntrack_facts.md for every field.
      returned: always
      type: dict
      contains:
        available:
          description: Whether the conntrack sysctls exist in this network namespace.
          type: bool
          returned: always
          sample: true
        module:
          description: C(type) is V(builtin), V(module) or V(absent); C(loaded); C(evidence).
          type: dict
          returned: always
          sample: {"type": "builtin", "loaded": true, "evidence": "/sys/module/nf_conntrack exists without initstate"}
        kernel:
          description: Release, version triple, architecture, pointer size and page size.
          type: dict
          returned: always
        ram_bytes:
          description: MemTotal in bytes.
          type: int
          returned: always
        cpus:
          description: Number of CPUs.
          type: int
          returned: always
        metrics_installed:
          description: Whether M(nfct.tuning.conntrack_metrics) installed its timer here (the role removes it when
            C(conntrack_metrics) is false).
          type: bool
          returned: always
        netns:
          description: C(initial) (true, false or null when unknown) and the evidence used.
          type: dict
          returned: always
        count:
          description: Live number of entries in this network namespace.
          type: int
          returned: when available
        max:
          description: nf_conntrack_max.
          type: int
          returned: when available
        buckets:
          description: nf_conntrack_buckets (the hash size).
          type: int
          returned: when available
        expect_max:
          description: nf_conntrack_expect_max.
          type: int
          returned: when available
        usage_ratio:
          description: count / max.
          type: float
          returned: when available
        load_factor:
          description: count / buckets, the average chain length.
          type: float
          returned: when available
        sysctls:
          description: Every C(net.netfilter.nf_conntrack_*) value, keyed by the short name (without the prefix).
          type: dict
          returned: always
        timeouts:
          description: The timeout sysctls, keyed by short name.
          type: dict
          returned: always
        writable:
          description: Short names of the known keys that can be written from here.
          type: list
          elements: str
          returned: always
        readonly:
          description: Short name -> reason for every known key that cannot be written from here.
          type: dict
          returned: always
        hashsize:
          description: The C(hashsize) module parameter, whether it is writable here and why not.
          type: dict
          returned: always
        stats:
          description:
            - Counters summed over CPUs - found, invalid, insert, insert_failed, drop, early_drop, icmp_error,
              search_restart, clash_resolve, chaintoolong - and C(source) (procfs, ctnetlink, conntrack-cli, none).
          type: dict
          returned: always
        memory:
          description:
            - C(object_size) (slab bytes per object, with its share of the slab's pages; 384 when /proc/slabinfo cannot
              be read) and its source, C(extension) (why this host's entries carry the 128-byte extension area -
              accounting, timestamps, events=1; empty when they do not), C(entry_bytes), bucket head size, bytes used
              now and at max.
          type: dict
          returned: always
        interfaces:
          description: Network interface names of this network namespace (from /sys/class/net), or null.
          type: list
          elements: str
        kernel_default:
          description: The buckets and max the kernel picks for this RAM, with the reason and source of the rule.
          type: dict
          returned: always
        persisted:
          description:
            - C(sysctl_files) (files setting conntrack keys, in boot order), C(at_boot) (per key the value effective at
              next boot, its file and every file that sets it), C(modprobe), C(modules_load) and C(cmdline).
          type: dict
          returned: always
        breakdown:
          description:
            - Per L3/L4 protocol and TCP state counts, assured, unreplied, top lists, C(top_exact) and C(source).
          type: dict
          returned: when O(breakdown=true)
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils import _gather, _inputs


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            breakdown=dict(type='bool', default=False),
            top=dict(type='raw', default=10),
            stats_source=dict(type='str', default='auto', choices=['auto', 'procfs', 'ctnetlink', 'conntrack-cli']),
            breakdown_source=dict(type='str', default='auto', choices=['auto', 'procfs', 'ctnetlink']),
        ),
        supports_check_mode=True,
    )


def run(module, root='', probes=None):
    try:
        top = _inputs.number(module.params['top'], 'top', 1, 10000, True)
    except _inputs.ProfileError as e:
        module.fail_json(msg=str(e))
    try:
        facts = _gather.gather(root=root, probes=probes, breakdown=module.params['breakdown'], top=top,
                               stats_source=module.params['stats_source'],
                               breakdown_source=module.params['breakdown_source'])
    except (IOError, OSError) as e:
        module.fail_json(msg='reading conntrack state failed: %s' % e)
    module.exit_json(changed=False, ansible_facts={'conntrack': facts})


def main():
    run(build_module())


if __name__ == '__main__':
    main()
