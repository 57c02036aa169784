#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_rollout_gate
short_description: The health gate of a rollout - the table's counters before and after a change, and user checks
version_added: 0.3.0
description:
  - The gate the rollout playbook (docs/rollout.md, "The health gate") runs on each host of a stage. Run it twice.
    O(phase=baseline) before the change samples the table's counters over O(window) seconds and returns RV(sample).
    O(phase=gate) after the change samples a window of the same length, runs the user O(checks), and gives the
    verdict, comparing with that O(baseline).
  - The counters are the kernel's own (C(/proc/net/stat/nf_conntrack) summed over the CPUs, else ctnetlink or
    C(conntrack -S)), read as the audit reads them; the gates are the audit's health kinds
    (M(nfct.tuning.conntrack_audit)) measured against the window before the change.
  - C(drops) - fails when the table dropped more during the window than during the baseline's (scaled to the same
    length) plus C(drop_allowance); counted as the audit's C(full) kind counts them - C(early_drop), and C(drop)
    beyond C(insert_failed) (an unresolvable clash counts one of each and belongs to the next gate).
  - C(insert_failed) - fails when its growth is over C(insert_failed_factor) x the baseline's +
    C(insert_failed_allowance).
  - C(usage) - fails when count / max is at or above C(usage_percent) at the end of the window.
    C(full) - fails when the count has reached max at the end of the window.
  - C(check:NAME) - each user check. A C({name, command}) check runs C(/bin/sh -c COMMAND) on the host and passes on
    exit 0; a C({name, url}) check requests the URL from the host and passes on a 2xx answer (redirects are
    followed, certificates verified). Each has a timeout. The evidence keeps the exit code or HTTP status and a
    short tail of the output.
  - A counter that went down during a window (a reboot, a reset) has no known growth - its gate fails, never passes.
  - Never changes anything (C(changed) is always false). When a gate fails, the module fails, its message names the
    gates and their evidence, and RV(gate) holds the whole verdict.
  - That the module answered at all is the proof that the control connection still works; an unreachable host is
    recorded by the rollout.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  phase:
    description:
      - V(baseline) - sample the window before the change (and run the checks, for the record).
      - V(gate) - sample the window after the change, run the checks, give the verdict.
    type: str
    required: true
    choices: [baseline, gate]
  window:
    description:
      - Seconds to watch the counters, 0-86400 (the rollout's soak). The same length in both phases.
      - V(0) compares two samples taken at the same moment - only a table full or over the usage threshold then
        fails the gate (a warning says so).
    type: raw
    default: 60
  baseline:
    description:
      - The RV(sample) that O(phase=baseline) returned on this host. Required with O(phase=gate).
    type: raw
  checks:
    description:
      - User checks, each a dict - C(name) (unique; the gate is C(check:NAME)) and exactly one of C(command) (a shell
        command line, run on the host, passes on exit 0) or C(url) (an http or https URL requested from the host,
        passes on 2xx); optional C(timeout) in seconds (0.1-3600, default O(check_timeout)).
      - Entries are numbered from 0 in messages (C(checks[2]) is the third).
    type: raw
    default: []
  thresholds:
    description:
      - Any of C(drop_allowance) (packets, default 0 - any growth of the drops over the baseline's fails),
        C(insert_failed_allowance) (packets, default 10), C(insert_failed_factor) (default 2.0), C(usage_percent)
        (5-100, default 90). Missing keys take their defaults.
    type: raw
    default: {}
  check_timeout:
    description: Seconds a check may take when it gives no C(timeout), 0.1-3600.
    type: raw
    default: 10
  vocabulary:
    description:
      - The words of messages - V(module) names this module's options (O(checks)), V(role) the rollout's variables
        (C(conntrack_rollout_checks), C(conntrack_rollout_thresholds), C(conntrack_rollout_soak)); the rollout playbook
        sets V(role).
    type: str
    choices: [module, role]
    default: module
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Samples the counters as it does outside check mode; the user checks are not run (each says so) - a command
        or a request may have effects of its own.
  diff_mode:
    support: N/A
    details:
      - It changes nothing.
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Reading the counters of C(/proc/net/stat/nf_conntrack) needs no privilege; ctnetlink (the fallback) needs root
seealso:
  - module: nfct.tuning.conntrack_audit
'''

EXAMPLES = r'''
- name: The window before the change
  nfct.tuning.conntrack_rollout_gate:
    phase: baseline
    window: 300
  register: before

- name: The change
  ansible.builtin.include_role:
    name: nfct.tuning.conntrack

- name: The gate - the same window after the change, and the service still answers
  nfct.tuning.conntrack_rollout_gate:
    phase: gate
    window: 300
    baseline: "{{ before.sample }}"
    checks:
      - name: api
        url: http://127.0.0.1:8080/healthz
      - name: dns
        command: getent hosts example.internal
        timeout: 5
    thresholds:
      insert_failed_allowance: 50
'''

RETURN = r'''
sample:
  description:
    - The window - C(t0), C(t1) (seconds since the epoch), C(window) (asked), C(seconds) (measured), C(start) and C(end)
      (C(count), C(max), C(drop), C(early_drop), C(insert_failed), C(source) - where the counters were read, C(time)),
      C(delta) (the growth of each counter; null when unknown - unreadable, or it went down) and C(reset) (the
      counters that went down). With O(phase=baseline) also C(checks), the checks' results before the change.
  type: dict
  returned: always
gate:
  description:
    - "The verdict - C(passed), C(failures) (each C(gate) - drops, insert_failed, usage, full or check:NAME - and its
      C(evidence), for example C(drop +1668, early_drop +332 in 5 s (before the change: +0 in 5 s))), C(skipped) (gates
      not evaluated here and why - no counters, check mode), C(sample), C(checks) (each C(name), C(kind), C(passed),
      C(rc) or C(status), C(seconds), C(output) - a short tail, C(evidence)) and C(lines), readable."
  type: dict
  returned: with O(phase=gate)
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url

from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import gate as _gate, sample as _sample
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs

BODY_LIMIT = 65536


def build_module():
    spec = dict(
        phase=dict(type='str', required=True, choices=['baseline', 'gate']),
        window=dict(type='raw', default=60),
        baseline=dict(type='raw'),
        checks=dict(type='raw', default=[]),
        thresholds=dict(type='raw', default={}),
        check_timeout=dict(type='raw', default=_gate.DEFAULT_CHECK_TIMEOUT),
        vocabulary=dict(type='str', default='module', choices=['module', 'role']),
    )
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_rollout_gate')
    return module_class(argument_spec=spec, supports_check_mode=True)


def validate(p):
    """Errors (in the caller's words); p holds the normalized values after it."""
    vocabulary, errors = p['vocabulary'], []
    for option in ('window', 'check_timeout'):
        p[option], error = _gate.validate_seconds(p[option], option, vocabulary)
        errors += [error] if error else []
    p['checks'], problems = _gate.validate_checks(p['checks'], vocabulary, p['check_timeout'] or 0)
    errors += problems
    p['thresholds'], problems = _gate.validate_thresholds(p['thresholds'], vocabulary)
    errors += problems
    if p['phase'] == 'gate':
        errors += _gate.validate_baseline(p['baseline'])
    return errors


def command_check(check):
    """/bin/sh -c COMMAND on the host, killed at its timeout."""
    began = time.time()
    rc, out, err, timed_out, error = _hostio.run_timed(['/bin/sh', '-c', check['command']], check['timeout'])
    return _gate.command_result(check, rc, out, err, time.time() - began, timed_out=timed_out, error=error)


def url_check(check):
    """A request to the URL, made from the host."""
    began = time.time()
    try:
        response = open_url(check['url'], timeout=check['timeout'])
        try:
            return _gate.url_result(check, response.getcode(), getattr(response, 'reason', None),
                                    response.read(BODY_LIMIT), time.time() - began)
        finally:
            response.close()
    except Exception as e:  # HTTPError is an answer (4xx, 5xx); anything else is none
        status = getattr(e, 'code', None)
        if isinstance(status, int):
            body = b''
            try:
                body = e.read(BODY_LIMIT)
            except Exception:  # the error page itself could not be read
                pass
            return _gate.url_result(check, status, getattr(e, 'reason', None), body, time.time() - began)
        return _gate.url_result(check, None, None, '', time.time() - began, error=to_native(e))


def run_checks(module, checks):
    if module.check_mode:
        return [_gate.not_run(c, 'not run in check mode') for c in checks]
    return [command_check(c) if 'command' in c else url_check(c) for c in checks]


def run(module, root='', probes=None, sleep=time.sleep):
    p = module.params
    errors = validate(p)
    if errors:
        module.fail_json(msg='; '.join(errors), changed=False)
    if p['phase'] == 'gate':
        warning = _gate.soak_warning(p['window'], p['vocabulary'])
        if warning:
            module.warn(warning)
    sample = _sample.take(root, probes, p['window'], sleep)
    checks = run_checks(module, p['checks'])
    if p['phase'] == 'baseline':
        sample['checks'] = checks
        module.exit_json(changed=False, sample=sample)
    result = _gate.verdict(sample, p['baseline'], p['thresholds'], checks)
    if not result['passed']:
        module.fail_json(msg=_gate.failure_message(result), changed=False, sample=sample, gate=result)
    module.exit_json(changed=False, sample=sample, gate=result)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
