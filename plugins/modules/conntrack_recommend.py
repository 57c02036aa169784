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
  - Bad input (an option, a profile field, an override) fails with a message that names it and its allowed range.
    The recommendation never goes below the live value of max or buckets with O(only_raise), never below the live
    count divided by the profile's C(target_usage), and never beyond the memory budget (counting the 128-byte
    extension area when the host or profile uses NAT, accounting, timestamps or events) unless O(force).
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
      - Additional profiles as data, name -> profile dict (C(description), C(extends), C(replace), C(sizing),
        C(settings), C(notrack), C(nat), C(kube_proxy), C(sources), C(notes)); validated like the options.
      - A profile named like a built-in one must say C(extends) with its own name (start from the built-in) or
        C(replace=true) (discard it).
    type: dict
    default: {}
  overrides:
    description:
      - Key -> integer value that wins over the profile. Keys in short form (V(max),
        V(tcp_timeout_established)) or full sysctl form (V(net.netfilter.nf_conntrack_max)).
      - A key this host's kernel does not have (V(helper) from 6.0, the V(dccp_*) keys from 6.17, a protocol tracker
        that is not built) is refused, naming why.
      - A timeout below its floor (docs/keys.md, "Timeout floors", each with its source) is refused unless O(force).
      - With O(only_raise), an V(max) or V(buckets) below the live value is refused (it would not be applied);
        set O(only_raise=false) to lower it.
    type: dict
    default: {}
  memory_budget_percent:
    description:
      - Share of RAM the table (entries and bucket heads) may use, 0.1 to 50 (percent). Defaults to the profile's
        value (5 for most profiles).
      - Entries are unswappable kernel memory, hence the ceiling. A budget too small for the kernel's own default
        table keeps that default (with a warning) unless O(force).
    type: raw
  expected_peak:
    description:
      - Peak number of concurrent connections if known; max is raised to peak x the profile's headroom (2).
      - When the memory budget cannot hold that, the task fails and names the budget that would (or, with
        O(force), goes over the budget with a warning).
    type: raw
  only_raise:
    description:
      - Never recommend a max or buckets below the live value (overrides included). When a boot lost the persisted
        max (the module loaded after systemd-sysctl), the live value is kept and a warning says how to restore it.
    type: bool
    default: true
  force:
    description:
      - Accept what is otherwise refused - a peak, live count or O(overrides) max beyond the memory budget, a
        bucket override with average chains longer than 8, a budget below the kernel's own default table, a timeout
        below its floor (from O(overrides), a profile or kube-proxy's configuration), facts without C(ram_bytes)
        (sized without a memory budget).
      - Every forced value is reported in RV(warnings).
    type: bool
    default: false
  kube_proxy:
    description:
      - What kube-proxy runs on the host, so that the recommendation agrees with it or says exactly where kube-proxy
        would undo it on its next start (per release line - it raises max only in 1.23-1.28 and 1.38+, writes any
        differing value otherwise, caps the per-CPU product at 1048576 from 1.36).
      - V(absent) (no kube-proxy), a version such as V(1.31) or V(v1.31.2) (quote it - unquoted, YAML reads 1.40
        as the number 1.4, which is refused), or a dict with C(version) and kube-proxy's configuration as kube-proxy
        writes it - its C(conntrack) section verbatim (C(maxPerCore), C(min), C(tcpEstablishedTimeout),
        C(tcpCloseWaitTimeout), C(tcpBeLiberal), C(udpTimeout), C(udpStreamTimeout), Go durations such as
        V(24h0m0s)), the same fields at the top level, or the names C(max_per_core), C(min),
        C(tcp_established_timeout), C(tcp_close_wait_timeout) (seconds). kube-proxy's defaults fill the rest.
      - The facts carry kube-proxy's configuration read on the host (C(ansible_facts.conntrack.kube_proxy)); what
        is stated here wins field by field. Without a version, every release line is checked with that
        configuration.
      - Not set and nothing found on the host - the V(kubernetes_node) profile uses the newest line and warns for
        the lines that would differ; other profiles assume no kube-proxy.
      - Where kube-proxy would undo a value, the warning names the C(maxPerCore) and C(min) (or the duration) that
        make kube-proxy write ours.
    type: raw
  previous_stats:
    description:
      - The C(stats) of an earlier facts run; lets the warning about C(insert_failed) say whether it grew.
    type: dict
  notrack_exemptions:
    description:
      - NOTRACK exemptions that will be applied after this step (the O(nfct.tuning.conntrack_notrack#module:exemptions)
        of M(nfct.tuning.conntrack_notrack)). They are validated here, on the controller, with the same rules and
        against the host's interfaces from the facts, so that a bad one fails the run before anything on the host
        changes. The role passes C(conntrack_notrack).
    type: raw
  files:
    description:
      - Paths of the files M(nfct.tuning.conntrack_settings) will own (C(sysctl_file), C(modprobe_file),
        C(modules_load_file), C(udev_rule_file)), checked here with the same rules, before anything changes.
    type: dict
  sizing:
    description:
      - Where max comes from (docs/history.md). V(static) - the profile's rules. V(observed) or V(auto) - the host's
        history (O(history_source)) - a high percentile of its daily peaks x headroom 1.15 x a confidence multiplier
        1 + 1/days, never below the live count or the profile's minimum, never above the memory budget, kube-proxy
        respected, buckets following - when it holds 7 complete days, else statically; RV(sizing) says which and why.
      - The role passes C(conntrack_sizing).
    type: str
    choices: [static, observed, auto]
    default: static
    version_added: 0.3.0
  history_source:
    description:
      - Where the history comes from. V(host) - O(history), else C(ansible_facts.conntrack.history) (the file the
        metrics writer keeps on the host, read by M(nfct.tuning.conntrack_facts)). V(prometheus) - a Prometheus
        server, read from the controller with one C(query_range) request per host (O(prometheus_url) and the
        C(prometheus_*) options); when that fails the sizing falls back to static, and RV(history), RV(sizing),
        RV(warnings) and RV(report) say so and why. V(none) - no history (static sizing, no forecast).
      - The history also gives RV(forecast), whatever O(sizing).
    type: str
    choices: [host, prometheus, none]
    default: host
    version_added: 0.3.0
  history:
    description:
      - The history to size from with O(history_source=host), as M(nfct.tuning.conntrack_facts) returns it
        (C(ansible_facts.conntrack.history)); defaults to the facts'.
    type: dict
    version_added: 0.3.0
  role_variables:
    description:
      - Check the variables of the role nfct.tuning.conntrack instead of recommending - every C(conntrack_*)
        variable the host sees, on the controller, before anything runs. The first task of that role (through its
        dependency nfct.tuning.conntrack_preflight) sets it; see docs/role-conntrack.md.
      - Only the action plugin sees the play's variables; the module on a host refuses it.
    type: bool
    default: false
    version_added: 0.3.0
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
      - It changes nothing; the result is the same in check mode.
  diff_mode:
    support: N/A
    details:
      - It changes nothing.
  facts:
    support: partial
    details:
      - Returns C(ansible_facts.conntrack) only when it had to gather them itself (no facts gathered earlier).
  action:
    support: full
    details:
      - The action plugin computes the recommendation on the controller (RV(computed_on=controller)); the module
        file behind it also works on its own and then computes on the host (RV(computed_on=host)).
  async:
    support: none
requirements:
  - Nothing on the host when C(ansible_facts.conntrack) was gathered earlier in the play (or O(facts) is given)
  - Otherwise what M(nfct.tuning.conntrack_facts) needs - it runs once on the host first
notes:
  - "Bad input fails the task before anything is computed, with a message naming the option or profile field and its
    allowed range - an unknown profile (the message lists the valid ones), an unknown override key (lists the known
    keys), zero, negative, non-integer, NaN, infinite or too large values, a budget outside 0.1-50, a malformed user
    profile (every field is checked; C(nat: \"false\") is false; a cap below the minimum is refused), a user profile
    named like a built-in one without C(extends) or C(replace), a bad O(kube_proxy). docs/keys.md has every range."
  - "Facts are checked before they are used - a missing C(kernel), C(module) or C(netns), a value of another type
    (C(facts.kernel.version) that is not a list of integers, ...) fails naming the field; facts without C(ram_bytes)
    are refused unless O(force), which sizes without a memory budget."
  - "Every timeout it recommends keeps its floor (docs/keys.md, each with its source - RFC 5382 REQ-5 for
    C(tcp_timeout_established), TCP_TIMEWAIT_LEN for C(tcp_timeout_time_wait), ...); below it, the value is refused
    unless O(force), naming the key, the floor and the source."
  - "It also refuses, naming the budget that would work, what it cannot recommend within the memory budget - a
    stated O(expected_peak), the live count's headroom (C(count / target_usage)), an C(overrides.max), or
    kube-proxy's own value on a V(kubernetes_node) host; and a bucket override that gives chains longer than 8 at a
    full table. O(force=true) turns each of these into a warning."
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/profiles.md,ansible_collections.nfct.tuning.docsite.profiles) - The built-in workload profiles and how to
    write your own; R(docs/keys.md,ansible_collections.nfct.tuning.docsite.keys) - The keys, their ranges and what
    the kernel does with them."
seealso:
  - module: nfct.tuning.conntrack_facts
  - module: nfct.tuning.conntrack_settings
'''

EXAMPLES = r'''
- name: Gather facts
  nfct.tuning.conntrack_facts:

- name: Recommend for a reverse proxy, at most 3% of RAM
  nfct.tuning.conntrack_recommend:
    profile: web
    memory_budget_percent: 3
  register: rec

- name: Kubernetes node running kube-proxy 1.31, pin one timeout
  nfct.tuning.conntrack_recommend:
    profile: kubernetes_node
    kube_proxy: "1.31"
    overrides:
      tcp_timeout_time_wait: 60

- name: Kubernetes node, kube-proxy's conntrack section as its config.conf has it
  nfct.tuning.conntrack_recommend:
    profile: kubernetes_node
    kube_proxy:
      version: "1.31"
      conntrack:
        maxPerCore: 0
        min: 131072
        tcpEstablishedTimeout: 24h0m0s
        tcpCloseWaitTimeout: 1h0m0s

- name: Size from the host's own history when it holds a week (the metrics writer keeps it)
  nfct.tuning.conntrack_recommend:
    profile: web
    sizing: auto

- name: Size from the history Prometheus holds (node_exporter's metrics), read from the controller
  nfct.tuning.conntrack_recommend:
    profile: web
    sizing: auto
    history_source: prometheus
    prometheus_url: https://prometheus.example:9090
    prometheus_bearer_token: "{{ vault_prometheus_token }}"
  register: rec

- name: Say which sizing was used and when the table fills
  ansible.builtin.debug:
    msg: "{{ rec.sizing.statement }}; {{ rec.forecast.reason | default('no forecast') }}"

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
            value: 14400
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
      C(scope) (global or netns) and C(writable) (from here, per the facts).
    - C(values.max.steps) lists every rule of the engine that moved max.
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
  description:
    - C(object_size) (slab bytes per object) and its source, C(extension) (why entries carry the 128-byte extension
      area; empty when they do not), C(entry_bytes), bytes now, at the current and at the recommended max, the
      budget and whether the recommendation is within it (C(within_budget)).
  type: dict
  returned: always
kube_proxy:
  description:
    - What kube-proxy writes on this host per release line considered (C(version), C(line), C(max), C(max_mode)
      V(any) or V(raise), C(cap), C(hashsize_floor), C(timeouts), C(formula), C(source)), or C(stated=absent);
      null when kube-proxy is not considered.
  type: dict
  returned: always
kernel_default:
  description: What the kernel would pick at this RAM, with reason and source.
  type: dict
  returned: when available
nat:
  description:
    - The host's NAT rules as the facts found them (C(detected), C(owners) such as docker, podman, kube-proxy,
      C(evidence)); when detected, entries are counted with the 128-byte extension area even on a profile without
      C(nat).
  type: dict
  returned: when available and the facts carry it
  version_added: 0.3.0
notrack:
  description: Suggested NOTRACK exemptions of the profile (data only).
  type: list
  elements: dict
  returned: always
warnings:
  description:
    - The memory budget (limited, or a budget below the kernel's own default kept), values kept by O(only_raise)
      after a boot that lost them, every value O(force) let through, where kube-proxy would undo a recommended
      value on its next start (and how to stop it), the cost of a live resize of a big table, a full table, usage
      above the alert level, chains longer than the profile's load factor, drops since boot, C(insert_failed) on a
      NAT profile (or growing since O(previous_stats)) with the C(--random-fully) hint, global keys that cannot be
      changed from here.
    - Ansible shows each one as a C([WARNING]) line and leaves the key out of the registered result when the list
      is empty; RV(warning_messages) holds the same list and is always there.
  type: list
  elements: str
  returned: when not empty
warning_messages:
  description: The same list as RV(warnings), always present (empty when there is nothing to warn about).
  type: list
  elements: str
  returned: always
report:
  description: A readable summary, one line per item.
  type: list
  elements: str
  returned: always
notrack_exemptions:
  description: O(notrack_exemptions) as validated and normalized.
  type: list
  elements: dict
  returned: when O(notrack_exemptions) is given
sizing:
  description:
    - "Which sizing was used and why - C(mode) (O(sizing)), C(used) (V(static) or V(observed)), C(statement) (e.g.
      C(auto: 14 days of history: observed), or the fallback to static and its reason), C(fallback) (V(static) when
      the history from Prometheus could not be read), C(observed) (the observed need with every number - C(value),
      C(days), C(percentile_peak), C(headroom), C(multiplier), C(peak), C(peak_time), C(reason), C(why_not))."
  type: dict
  returned: when available
  version_added: 0.3.0
forecast:
  description:
    - When the table fills at the trend of the history (docs/history.md) - C(seconds_to_full), C(full_at),
      C(slope_per_hour), C(method), C(basis), C(reason); null without a history.
  type: dict
  returned: when available
  version_added: 0.3.0
history:
  description:
    - Where the history came from - C(source) (O(history_source)), C(statement), C(fallback) (V(static) when
      Prometheus could not be read), C(error) and C(error_kind) (C(unreachable), C(timeout), C(tls), C(http),
      C(not_json), C(status), C(oversized), C(empty), C(metric)), C(instance) and C(prometheus) (C(url) without
      credentials, C(query), C(step), C(days), C(points), C(samples), C(requests), C(bytes), C(warnings)) for
      Prometheus, and C(document) - the history used, compacted as in C(ansible_facts.conntrack.history) (the role
      passes it to M(nfct.tuning.conntrack_audit)).
  type: dict
  returned: always
  version_added: 0.3.0
computed_on:
  description: V(controller) when the action plugin computed it, V(host) when the module did.
  type: str
  returned: always
ansible_facts:
  description: The conntrack facts the action gathered itself, as M(nfct.tuning.conntrack_facts) returns them.
  type: dict
  returned: when no facts were gathered earlier in the play and O(facts) was not given
  contains:
    conntrack:
      description: See M(nfct.tuning.conntrack_facts).
      type: dict
      returned: always
'''

import platform
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as _prometheus, store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host


def build_module():
    return _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_recommend')(
        argument_spec=_recommend_args.ARGUMENT_SPEC, supports_check_mode=True)


def run(module, root='', probes=None):
    if module.params['role_variables']:
        module.fail_json(msg='role_variables: only the action plugin, on the controller, sees the role\'s variables; '
                             'run this module as nfct.tuning.conntrack_recommend (the action), not on the host')
    facts = module.params['facts']
    if facts is None:
        facts = _gather.gather(root=root, probes=probes, history_path=_history.PATH)
        facts['nat'] = _users_host.nat(module, _hostio.HostIO(module, root),
                                       (facts.get('kernel') or {}).get('release'))
    host = platform.node() or 'localhost'
    options = _prometheus.options_of(module.params)
    history, info, err = _recommend_args.history_for(
        module.params, facts, host, lambda url, instance: _prometheus.reader(url, instance, **options))
    if err:
        module.fail_json(msg=err)
    rec, err = _recommend_args.compute(dict(module.params, history=history, now=time.time()), facts, host, info)
    if err:
        module.fail_json(msg=err)
    rec['computed_on'] = 'host'
    module.exit_json(changed=False, **rec)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
