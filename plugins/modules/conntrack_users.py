#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_users
short_description: Find what uses Linux connection tracking on a host, and whether it can be turned off
version_added: 0.1.0
description:
  - Lists every user of connection tracking (nf_conntrack) that can be seen from where it runs, each with its
    kind, the evidence and whether it needs conntrack, and gives a verdict - C(can_disable) when nothing needs
    it, or the list of blockers.
  - B(Kernel modules) that hold nf_conntrack, directly or through nf_nat (C(/sys/module/*/holders) and C(refcnt)),
    and the order they unload in; whether nf_conntrack is built in (nothing can be unloaded) or a module.
  - B(Rules) - every nftables rule with C(ct) expressions or statements, NAT (masquerade, snat, dnat, redirect),
    chains of type nat (even empty), flowtables and notrack; every iptables rule of the legacy and nft backends,
    IPv4 and IPv6, with C(-m state), C(-m conntrack), C(-m connmark), connlimit, helpers, NAT targets, C(CT),
    C(NOTRACK), and every nat table. Rules are grouped per table, with the tool that owns them when its table or
    chain names say so (Docker, podman/netavark, CNI, libvirt, kube-proxy, Calico, Cilium, ufw, firewalld...).
    This collection's own NOTRACK objects are listed apart (C(ours)) and never block.
  - B(Services and tools) - firewalld, ufw, Docker, podman networks, libvirt NAT networks, kube-proxy and kubelet,
    Cilium, Calico, conntrackd, keepalived with conntrackd, ulogd with NFCT, Open vSwitch, IPVS; from processes,
    systemd units, configuration files and rule owners.
  - B(Boot loaders) - C(nftables.service), C(netfilter-persistent), C(iptables.service) enabled with rule files
    that use conntrack (they bring it back at the next boot).
  - B(ctnetlink listeners) - processes with a netlink socket subscribed to conntrack events (C(conntrack -E),
    conntrackd, ulogd), from C(/proc/net/netlink) and C(/proc/*/fd).
  - B(Other network namespaces) (from the initial one) - their processes or names and their live entry count;
    a namespace with entries blocks.
  - Read-only. It never loads nf_conntrack or a module that needs it (legacy iptables tables are read only when
    they exist; listing nftables rules may load nf_tables itself, as C(nft list ruleset) does) and changes
    nothing; it is safe in check mode and on a host where conntrack is off.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  ignore:
    description:
      - Blockers to leave out of the verdict, as user ids or shell-style patterns of them (C(service:docker),
        C(rules:iptables-nft:ipv4:*)). Ignored users stay in the report with C(ignored=true).
      - Only for users the operator knows do not matter (a stopped tool's leftover rules, for example).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
  - nfct.tuning.attributes.read_only
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root - the rulesets, other processes' sockets and other namespaces' counts need it
  - C(nft) to read nftables rules, C(iptables-save) / C(ip6tables-save) (legacy and nft variants) for iptables
    rules, C(systemctl) for units, C(nsenter) for the count of named namespaces without processes; what is
    missing is not read (the report says what it saw)
notes:
  - In a container (a network namespace other than the initial one) it sees only that namespace - its rules,
    processes and count; C(scope) says so. The kernel modules and the other namespaces are the host's.
  - The verdict is about what it can see. A kernel module with references that no listed user explains blocks
    as "in use by something not identified".
  - See docs/disable.md for what each kind of user means and how to remove it.
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/disable.md,ansible_collections.nfct.tuning.docsite.disable) - Turning connection tracking off - the kinds
    of users and how to remove them."
seealso:
  - module: nfct.tuning.conntrack_facts
  - module: nfct.tuning.conntrack_audit
'''

EXAMPLES = r'''
- name: Who uses conntrack here?
  nfct.tuning.conntrack_users:
  register: users

- name: Show the verdict and the evidence
  ansible.builtin.debug:
    msg: "{{ users.summary }}"

- name: Verdict without a tool's leftover rules that are known to be unused
  nfct.tuning.conntrack_users:
    ignore:
      - "rules:iptables-legacy:ipv4:nat"
'''

RETURN = r'''
can_disable:
  description: True when nothing found needs connection tracking (and, on a module kernel, nothing keeps it loaded
    that this collection would not remove).
  returned: always
  type: bool
  sample: false
blockers:
  description: Ids of the users that must go before conntrack can be turned off.
  returned: always
  type: list
  elements: str
  sample: ["rules:nftables:inet:filter", "service:docker"]
ignored:
  description: Ids of blockers left out of the verdict by O(ignore).
  returned: always
  type: list
  elements: str
users:
  description:
    - Every user found. C(id) (stable, usable in O(ignore) - C(module:nf_nat), C(rules:nftables:inet:filter),
      C(rules:iptables-nft:ipv4:nat), C(service:docker), C(boot:nftables.service), C(listener:conntrack),
      C(namespace:4026532177)), C(kind) (V(module), V(rules), V(service), V(boot),
      V(listener), V(namespace)), C(name), C(needs) (losing conntrack breaks it; null when unknown), C(blocking),
      C(why), C(evidence) (at most 8 lines, then a count).
    - V(rules) users add C(owners) and C(uses); V(module) users add C(refcnt) and C(holders).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "service:docker", "kind": "service", "name": "docker", "needs": true, "blocking": true,
            "why": "publishes ports with DNAT and masquerades container traffic",
            "evidence": ["process dockerd (pid 812)", "docker.service active (enabled)"]}]
ours:
  description: This collection's own NOTRACK objects (never blocking; disabling removes them).
  returned: always
  type: list
  elements: str
untrack_all:
  description: True when our NOTRACK objects exempt every packet (M(nfct.tuning.conntrack_notrack) with
    O(nfct.tuning.conntrack_notrack#module:untrack_all=true)).
  returned: always
  type: bool
kernel:
  description: How nf_conntrack exists here - V(builtin), V(module) or V(absent).
  returned: always
  type: str
  sample: module
loaded:
  description: Whether nf_conntrack is loaded (always true when built in).
  returned: always
  type: bool
scope:
  description: V(host) in the initial network namespace; otherwise says that only this namespace was seen.
  returned: always
  type: str
unload_order:
  description: On a module kernel, nf_conntrack and every module that holds it, in the order they unload (holders
    first, nf_conntrack last).
  returned: always
  type: list
  elements: str
  sample: ["nft_chain_nat", "nf_nat", "nft_ct", "nf_conntrack"]
loaded_by:
  description: On a loaded module kernel, the holder modules with references of their own - what keeps
    nf_conntrack loaded.
  returned: always
  type: list
  elements: str
  sample: ["nft_ct (nftables ct expressions (ct state, ct mark, notrack, ct helper)): 2 reference(s)"]
reload_triggers:
  description: On a module kernel, what loads nf_conntrack again once it is unloaded.
  returned: always
  type: list
  elements: str
summary:
  description: The report as readable lines (verdict first).
  returned: always
  type: list
  elements: str
  sample:
    - "nf_conntrack: a loadable module, loaded"
    - "verdict: blocked by 2 user(s): rules:iptables-nft:ipv4:nat, service:docker"
    - "  [BLOCKS] rules:iptables-nft:ipv4:nat: 5 rule(s) use nat, nat_chain"
    - "      POSTROUTING: -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"
    - "  [BLOCKS] service:docker: publishes ports with DNAT and masquerades container traffic"
    - "      process dockerd (pid 812)"
    - "  kept loaded by: xt_conntrack (iptables -m conntrack): 1 reference(s)"
'''

from ansible.module_utils.basic import AnsibleModule


from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host, verdict as _users


def build_module():
    return _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_users')(
        argument_spec=dict(ignore=dict(type='list', elements='str', default=[])),
        supports_check_mode=True,
    )


def run(module, io=None):
    io = io or _hostio.HostIO(module)
    try:
        observed = _users_host.gather(module, io)
    except (IOError, OSError) as e:
        module.fail_json(msg='reading the users of conntrack failed: %s' % e)
    report = _users.analyze(observed, ignore=module.params['ignore'])
    module.exit_json(changed=False, **report)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
