# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's plan and decisions, as pure functions (docs/rollout.md).

- the stages: conntrack_rollout_stages takes what a play's `serial` takes (batch sizes or
  percentages, the last one repeated by Ansible), and `batches` cuts the fleet exactly as
  ansible-core's PlaybookExecutor does - the plan shown before the run is the run;
- the inputs, refused before any host is touched: stages that do not cover the fleet,
  percentages over 100, sizes under 1, a soak that is not a number; a soak of 0 with the
  health gates on is a warning (the gate then compares two instants: only a full table fails it);
- the rollout's id (what the change is: the hosts, the stages, the role variables of every host)
  and the resume: a rerun of the same rollout skips the stages the last report says passed;
- the stage's verdict: a stage passes when every host of it applied the change and passed its
  gate; otherwise every host of it that answers is restored.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.nfct.tuning.plugins.module_utils.rollout import gate as _gate

DEFAULT_STAGES = (1, '10%', '50%', '100%')
STAGES_VAR = 'conntrack_rollout_stages'
REPORT_SCHEMA = 'nfct.tuning/rollout/v1'
_PERCENT = re.compile(r'^\s*(-?\d+)\s*%\s*$')


class PlanError(ValueError):
    """Inputs the rollout refuses before touching a host; the message names the variable."""


def stage_size(value, fleet):
    """One entry of `serial` as ansible-core reads it (ansible.utils.helpers.pct_to_int):
    '10%' of 12 hosts is int(1.2) = 1 (at least 1), 3 is 3."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match:
        return int((int(match.group(1)) / 100.0) * fleet) or 1
    return int(value)


def _stage_error(index, value):
    """The message for one bad entry of the stages, or None."""
    where = '%s[%d]' % (STAGES_VAR, index)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return '%s: %r is not a batch size (a whole number of hosts, 1 or more) or a whole percentage (1%%-100%%)' % (
            where, value)
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            pct = int(match.group(1))
            if pct <= 0 or pct > 100:
                return '%s: %s is outside 1%%-100%% (a percentage of the fleet)' % (where, value.strip())
            return None
        if not value.strip().isdigit():
            return '%s: %r is not a batch size (a whole number of hosts, 1 or more) or a whole percentage (1%%-100%%)' % (
                where, value)
        value = int(value)
    if value < 1:
        return '%s: %d hosts: a stage has at least 1 host (or a percentage, 1%%-100%%)' % (where, value)
    return None


def validate_stages(stages, fleet):
    """The stages' errors (a list of messages naming the variable and the allowed range); [] when
    they are valid and cover the fleet of `fleet` hosts without Ansible repeating the last one."""
    if not isinstance(stages, (list, tuple)) or not stages:
        return ['%s: give a non-empty list of batch sizes or percentages, as serial takes them (for example '
                "[1, '10%%', '50%%', '100%%']); got %r" % (STAGES_VAR, stages)]
    errors = [e for e in (_stage_error(i, v) for i, v in enumerate(stages)) if e]
    if errors or not fleet:
        return errors
    covered = sum(stage_size(v, fleet) for v in stages)
    if covered < fleet:
        errors.append("%s: %s covers %d of the %d hosts; Ansible would repeat the last stage %d more time(s) that "
                      "you did not plan. End with '100%%', or add stages"
                      % (STAGES_VAR, json.dumps(list(stages)), covered, fleet,
                         -(-(fleet - covered) // stage_size(stages[-1], fleet))))
    return errors


def batches(hosts, stages):
    """The fleet cut into stages exactly as ansible-core's PlaybookExecutor._get_serialized_batches
    does for `serial: stages` (the last size repeats until every host is in a batch)."""
    left, fleet, out, i = list(hosts), len(hosts), [], 0
    sizes = list(stages) or [-1]
    while left:
        size = stage_size(sizes[i], fleet)
        if size <= 0:
            out.append(left)
            break
        out.append(left[:size])
        left = left[size:]
        i = min(i + 1, len(sizes) - 1)
    return out


def validate_soak(soak, gates_on=True):
    """(seconds, errors, warnings) for conntrack_rollout_soak (the gate's window)."""
    seconds, error = _gate.validate_seconds(soak, 'window', 'role')
    if error:
        return None, [error], []
    warning = _gate.soak_warning(seconds, 'role', gates_on)
    return seconds, [], [warning] if warning else []


def rollout_id(hosts, stages, variables):
    """What this rollout is, as 16 hex digits: the hosts in order, the stages, and the conntrack_*
    variables of every host (not the rollout's own). A rerun of the same rollout has the same id
    and resumes; any other change is a new rollout."""
    change = dict((host, dict((k, v) for k, v in sorted((variables.get(host) or {}).items())
                              if not k.startswith('conntrack_rollout_')))
                  for host in hosts)
    doc = json.dumps({'hosts': list(hosts), 'stages': [str(s) for s in stages], 'change': change},
                     sort_keys=True, default=str)
    return hashlib.sha256(doc.encode('utf-8')).hexdigest()[:16]


def resume(previous, rid, stages):
    """The stages a rerun skips: those the previous report of the same rollout says passed, in
    order from the first (a stage after a failed one is never skipped). [] for a new rollout."""
    if not isinstance(previous, dict) or previous.get('rollout_id') != rid:
        return []
    done = []
    for index, stage in enumerate(previous.get('stages') or []):
        if index >= len(stages) or stage.get('status') != 'passed' or stage.get('hosts') != stages[index]:
            break
        done.append(index)
    return done


def plan(hosts, stages, rid, previous=None):
    """The stages with their hosts and what a rerun skips."""
    cut = batches(hosts, stages)
    skipped = resume(previous, rid, cut)
    return {
        'rollout_id': rid,
        'stages': [{'index': i + 1, 'hosts': batch, 'status': 'passed earlier' if i in skipped else 'pending'}
                   for i, batch in enumerate(cut)],
        'skip': [host for i in skipped for host in cut[i]],
        'resumed_after': len(skipped) or None,
    }


def plan_lines(planned, check_mode, soak, checks):
    """The plan in words, one line per stage."""
    lines = ['rollout %s: %d stage(s), %d host(s); soak %ss per stage, then the health gate%s%s'
             % (planned['rollout_id'], len(planned['stages']), sum(len(s['hosts']) for s in planned['stages']),
                _num(soak), ' and %d check(s): %s' % (len(checks), ', '.join(c['name'] for c in checks)) if checks
                else '', ' (check mode: nothing is changed, no gate runs)' if check_mode else '')]
    if planned['resumed_after'] and planned['resumed_after'] == len(planned['stages']):
        lines.append('complete: every stage passed in an earlier run of this rollout; no stage runs again '
                     '(a changed conntrack_* variable, host list or conntrack_rollout_stages makes a new rollout)')
    elif planned['resumed_after']:
        lines.append('resuming: stage(s) 1-%d passed in an earlier run of this rollout; they are skipped'
                     % planned['resumed_after'])
    for stage in planned['stages']:
        lines.append('stage %d (%d host(s)%s): %s' % (stage['index'], len(stage['hosts']),
                                                      ', passed earlier' if stage['status'] == 'passed earlier'
                                                      else '', ', '.join(stage['hosts'])))
    return lines


def _num(value):
    return ('%d' % value) if float(value).is_integer() else ('%s' % value)


def stage_of(planned, host):
    """The planned stage (a dict of plan()) that holds host, or None."""
    for stage in planned['stages']:
        if host in stage['hosts']:
            return stage
    return None


def host_outcome(applied, gate, reachable):
    """One host of a stage: (passed, failures). applied: None (not run) or the role's result as
    the playbook keeps it ({failed, msg}); gate: the gate module's result or None."""
    if not reachable:
        return False, [{'gate': 'control_connection', 'evidence': 'the host stopped answering during its stage '
                                                                  '(unreachable): no gate result'}]
    if not applied or applied.get('failed'):
        return False, [{'gate': 'apply', 'evidence': (applied or {}).get('msg') or 'the change did not complete'}]
    if not gate:
        return False, [{'gate': 'control_connection', 'evidence': 'no gate result from the host'}]
    failures = (gate.get('gate') or {}).get('failures')
    if failures is None and gate.get('failed'):
        # the module's own answer carries its sample; without it the module did not finish on the host
        answered = 'sample' in gate or 'gate' in gate
        failures = [{'gate': 'gate' if answered else 'control_connection',
                     'evidence': gate.get('msg') if answered else 'the gate did not finish on the host (it stopped '
                     'answering?): %s' % (gate.get('msg') or 'no result')}]
    return not failures, list(failures or [])


def verdict(stage_hosts, outcomes):
    """The stage's decision from each host's (passed, failures, reachable): passed when all passed;
    otherwise every reachable host of the stage is restored (the change goes back everywhere it
    went in this stage) and the rollout stops before the next stage."""
    failed = [h for h in stage_hosts if not outcomes[h][0]]
    restore = [h for h in stage_hosts if failed and outcomes[h][2]]
    return {'passed': not failed, 'failed_hosts': failed, 'restore': restore,
            'unreachable': [h for h in stage_hosts if not outcomes[h][2]]}
