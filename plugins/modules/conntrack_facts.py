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
  history_path:
    description:
      - The host's history of its table (the file the metrics writer keeps, docs/history.md), returned compacted
        as C(history) with the C(forecast) of when the table fills. The role passes C(conntrack_history_path).
      - Read only - a file that is not a history of this collection is a warning (C(history_warning)), never moved or
        changed here. V("") reads none.
    type: path
    default: /var/lib/nfct-tuning/history.json
    version_added: 0.3.0
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
  - nfct.tuning.attributes.read_only
  - nfct.tuning.attributes.facts
attributes:
  facts:
    support: full
requirements:
  - Python 3.7 or later on the host (standard library only; ctnetlink is spoken over a raw netlink socket)
  - Linux with C(/proc) and C(/sys) mounted
  - Optional - C(conntrack) (conntrack-tools) for O(stats_source=conntrack-cli), and as the last resort of V(auto)
    when neither C(/proc/net/stat/nf_conntrack) nor ctnetlink answers
notes:
  - Run as root for the object size (C(/proc/slabinfo) is root-only) and to see which keys are writable.
  - In a container with its own network namespace, C(max), C(buckets) and C(expect_max) are reported read-only.
  - "How the module tells built-in from loadable - C(/sys/module/nf_conntrack/initstate) exists only for a loaded
    loadable module; built-in code has C(/sys/module/nf_conntrack) without it; C(modules.builtin) and C(modules.dep)
    otherwise. Outside the initial network namespace - our netns differs from PID 1's, or C(nf_conntrack_max) has
    mode 0444 (the kernel's own tell)."
  - "What I(at boot) means - files from C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d),
    C(/usr/lib/sysctl.d) and C(/lib/sysctl.d) are merged by file name (the first directory in that order wins; a
    symlink to C(/dev/null) or an empty file masks), applied in lexical order of the names, later wins;
    C(/etc/sysctl.conf) last unless it was already reached through a symlink such as Debian's
    C(/etc/sysctl.d/99-sysctl.conf). So a C(99-*.conf), C(90-dev-sec.conf) or C(/etc/sysctl.conf) that sets a key
    overrides C(90-conntrack.conf); C(persisted.at_boot.KEY.set_by) shows it."
  - "Breakdown - entries are parsed by key, not by column position (UDP and ICMP lines have no state column).
    IPv6 addresses are reported in compressed form from both sources. The counts per protocol and state are
    exact. Memory is bounded whatever the table holds - the counters of sources, destinations and destination
    ports keep at most 16384 keys each (about 35 MiB peak for the module at 1,000,000 entries, the same at
    100,000); past that they are pruned (Misra-Gries), C(top_exact) becomes false and C(top_errors) gives, per
    list, how far below the truth a reported count can be (at most entries / 8193, 122 at 1,000,000 entries);
    a key left out of a list counts at most its last count plus that bound. Addresses whose counts tie are listed
    IPv4 before IPv6, by number. The /proc and ctnetlink readings of one table give the same result, pruned or
    not. Without C(/proc/net/nf_conntrack) (kernels without
    CONFIG_NF_CONNTRACK_PROCFS) the table is read through a ctnetlink dump."
  - "Counters - the columns of C(/proc/net/stat/nf_conntrack) are read by header name (older kernels had
    C(searched) and C(delete_list), newer ones C(clashres) and C(chainlength)); C(entries) repeats on every CPU
    row and is not summed. Without the file the module asks ctnetlink (C(IPCTNL_MSG_CT_GET_STATS_CPU)), then runs
    C(conntrack -S) (C(LANG=C))."
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/keys.md,ansible_collections.nfct.tuning.docsite.keys) - The keys, their ranges and what the kernel does
    with them."
seealso:
  - module: nfct.tuning.conntrack_recommend
  - module: nfct.tuning.conntrack_audit
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
      description: Connection-tracking facts.
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
          description: C(release), C(version) (V([major, minor, patch])), C(arch), C(pointer_size) and C(page_size).
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
        euid:
          description: The effective user id the module ran as.
          type: int
          returned: always
        metrics_installed:
          description: Whether M(nfct.tuning.conntrack_metrics) installed its timer here (the role removes it when
            C(conntrack_metrics) is false).
          type: bool
          returned: always
        netns:
          description:
            - C(initial) (true, false or null when unknown) and C(evidence) - our netns differs from PID 1's, or
              C(nf_conntrack_max) has mode 0444.
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
          description:
            - Short name -> reason for every known key that cannot be written from here (a global key outside the
              initial netns, the file mode, not root, C(/proc/sys) mounted read-only).
          type: dict
          returned: always
        hashsize:
          description: The C(hashsize) module parameter, C(writable) here and C(reason) when not.
          type: dict
          returned: always
        stats:
          description:
            - Counters summed over CPUs - found, invalid, insert, insert_failed, drop, early_drop, icmp_error,
              search_restart, clash_resolve, chaintoolong - C(entries), and C(source) (procfs, ctnetlink,
              conntrack-cli, none) with C(fallback_reasons) and C(errors) saying why an earlier source was not used.
          type: dict
          returned: always
        memory:
          description:
            - C(object_size) (slab bytes per object, with its share of the slab's pages; 384 when /proc/slabinfo cannot
              be read) and its source, C(extension) (why this host's entries carry the 128-byte extension area -
              C(acct), C(timestamp), C(events=1); empty when they do not), C(entry_bytes), C(bucket_size),
              C(bytes_now) and C(bytes_at_max) (see docs/keys.md).
          type: dict
          returned: always
        interfaces:
          description: Network interface names of this network namespace (from /sys/class/net), or null.
          type: list
          elements: str
        nat:
          description:
            - Whether this host translates addresses - C(detected), C(owners) (docker, podman, kube-proxy, libvirt, ...,
              C(other) for rules of no known tool), C(evidence) (the first rules), C(rules) (their number), C(source)
              (the rulesets read) - from the live nft and iptables rulesets, read-only, as M(nfct.tuning.conntrack_users)
              reads them. Not read when nf_nat is a module that is not loaded. The recommendation then counts every
              entry with the NAT extension area, whatever the profile.
          type: dict
          returned: always
          version_added: 0.3.0
        kube_proxy:
          description:
            - kube-proxy's conntrack settings as kube-proxy reads them here, or null - from the file the C(--config) of a
              running kube-proxy names (read through C(/proc/PID/root), so inside its pod), from its command-line
              flags when it has no C(--config), or with no kube-proxy running from the first of
              C(/var/lib/kube-proxy/config.conf), C(/var/lib/kube-proxy/kube-proxy-config.yaml),
              C(/etc/kubernetes/kube-proxy-config.yaml).
            - C(running), C(pid), C(source), C(conntrack) (its fields as written, camelCase), C(error) when unreadable.
          type: dict
          returned: always
          version_added: 0.3.0
        kernel_default:
          description:
            - The buckets and max the kernel picks for this RAM, with the factor, the reason and the source of the rule
              (an explicit hash size at load time means factor 8).
          type: dict
          returned: always
        persisted:
          description:
            - C(sysctl_files) - every sysctl.d or sysctl.conf file that sets a conntrack key, in the order the boot
              applies them; C(sysctl_applied_files) - every file the boot applies, in order.
            - C(at_boot) - per key the value effective at next boot, its C(file) and C(line), and C(set_by) (every
              file that sets it, in order; the last one wins).
            - C(modprobe) - C(options nf_conntrack ...) and other directives in modprobe.d, the effective C(params),
              C(hashsize), C(blacklisted).
            - C(modules_load) - modules-load.d (and Debian's C(/etc/modules)) entries that load nf_conntrack at boot.
            - C(cmdline) - C(nf_conntrack.hashsize=) on the running kernel's command line and in
              C(/etc/default/grub).
          type: dict
          returned: always
        history:
          description:
            - The host's history from O(history_path), compacted to what sizing from history and the forecast read -
              C(format), C(version), C(compact=true), C(last) (C(time), C(boot_id), C(count), C(max) of the last sample),
              C(days) (per UTC day - C(day), C(peak), C(peak_time), C(max), C(samples), C(first), C(last), and the
              growth of C(drop), C(early_drop), C(insert_failed)), C(recent) (C([time, peak]) per 5 minutes, the
              last 26 hours); no histogram and no events. M(nfct.tuning.conntrack_recommend) sizes from it
              (O(nfct.tuning.conntrack_recommend#module:history_source=host)).
            - Null without a file, without a sample, or when the file is not a history of this collection.
          type: dict
          returned: always
          version_added: 0.3.0
        history_warning:
          description: Why the file at O(history_path) was not read as a history, or null.
          type: str
          returned: always
          version_added: 0.3.0
        forecast:
          description:
            - When the table fills at the trend of its history (docs/history.md, "When the table fills") -
              C(seconds_to_full) and C(full_at) (null when not filling), C(slope_per_hour), C(method) (V(full),
              V(daily), V(short) or null), C(count), C(max), C(basis) and C(reason).
            - Null without a history or without C(max).
          type: dict
          returned: always
          version_added: 0.3.0
        breakdown:
          description:
            - C(total), C(l3), C(l4), C(tcp_states), C(assured), C(unreplied), C(top_sources),
              C(top_destinations), C(top_destination_ports), C(top_exact), C(top_max_error), C(top_errors) and
              C(source).
            - C(top_errors) (added in 0.2.0) - per list (C(sources), C(destinations), C(destination_ports)), the
              most a reported count can be below the true one; 0 when that list is exact. C(top_max_error) is the
              largest of the three.
          type: dict
          returned: when O(breakdown=true)
'''

import gc

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host


def build_module():
    return _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_facts')(
        argument_spec=dict(
            breakdown=dict(type='bool', default=False),
            top=dict(type='raw', default=10),
            stats_source=dict(type='str', default='auto', choices=['auto', 'procfs', 'ctnetlink', 'conntrack-cli']),
            breakdown_source=dict(type='str', default='auto', choices=['auto', 'procfs', 'ctnetlink']),
            history_path=dict(type='path', default=_history.PATH),
        ),
        supports_check_mode=True,
    )


def run(module, root='', probes=None, last_in_process=False):
    try:
        top = _inputs.number(module.params['top'], 'top', 1, 10000, True)
    except _inputs.ProfileError as e:
        module.fail_json(msg=str(e))
    try:
        facts = _users_host.facts(module, _hostio.HostIO(module, root), probes, breakdown=module.params['breakdown'],
                                  top=top, stats_source=module.params['stats_source'],
                                  breakdown_source=module.params['breakdown_source'],
                                  history_path=module.params['history_path'] or None)
    except (IOError, OSError) as e:
        module.fail_json(msg='reading conntrack state failed: %s' % e)
    if last_in_process:
        # the process ends with exit_json: its last garbage collection would walk every
        # object of Ansible's imports for nothing (measured: 10 ms of a 0.1 s run)
        gc.freeze()
    module.exit_json(changed=False, ansible_facts={'conntrack': facts})


def main():
    run(build_module(), last_in_process=True)


if __name__ == '__main__':
    main()
