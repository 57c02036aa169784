# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's controller side (playbooks/rollout.yml, docs/rollout.md): the plan before any host
is touched, the start of each stage (its batch must be the planned one), the stage's verdict from
every host's gate, and the record of the restores. The report (JSON and HTML) is rewritten at each
step; a rerun of the same rollout resumes from it. Nothing runs on the hosts."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import time

from ansible.plugins.action import ActionBase

from ansible_collections.nfct.tuning.plugins.module_utils.audit import report as _audit_report
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import (gate as _gate, plan as _plan,
                                                                          report as _report)

ARGUMENT_SPEC = dict(
    step=dict(type='str', required=True, choices=['plan', 'start', 'verdict', 'finish', 'end', 'merge']),
    stages=dict(type='raw', default=list(_plan.DEFAULT_STAGES)),
    soak=dict(type='raw', default=300),
    checks=dict(type='raw', default=[]),
    thresholds=dict(type='raw', default={}),
    restore_all=dict(type='bool', default=False),
    record=dict(type='bool', default=False),
    rollout_id=dict(type='str'),
    hosts=dict(type='list', elements='str'),
    planned=dict(type='dict'),
    report_path=dict(type='str', default='conntrack-rollout.json'),
    html_path=dict(type='str', default='conntrack-rollout.html'),
    applied_var=dict(type='str', default='conntrack__rollout_applied'),
    gate_var=dict(type='str', default='conntrack__rollout_gate'),
    restore_var=dict(type='str', default='conntrack__rollout_restore'),
    merge=dict(type='list', elements='str'),
)


def _variables(task_vars, hosts):
    """The conntrack_* variables of every host, as the controller sees them (the change)."""
    hostvars = task_vars.get('hostvars') or {}
    out = {}
    for host in hosts:
        seen = hostvars.get(host) or {}
        out[host] = dict((k, seen[k]) for k in list(seen.keys())
                         if k.startswith('conntrack_') and not k.startswith('conntrack__'))
    return out


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        self._paths = dict((k, os.path.realpath(os.path.join(os.getcwd(), os.path.expanduser(params[k]))))
                           for k in ('report_path', 'html_path') if params[k])
        step = getattr(self, '_' + params['step'])
        try:
            result.update(step(params, task_vars))
        except _audit_report.MergeError as e:
            result.update(failed=True, changed=False, msg='merge: %s' % e)
        except _plan.PlanError as e:
            result.update(failed=True, changed=False, msg=str(e))
        except (IOError, OSError) as e:
            result.update(failed=True, changed=False, msg='cannot write the rollout report: %s' % e)
        return result

    def _save(self, report):
        if 'report_path' in self._paths:
            _audit_report.write_atomically(self._paths['report_path'],
                                           json.dumps(report, indent=1, sort_keys=True) + '\n')
        if 'html_path' in self._paths:
            _audit_report.write_atomically(self._paths['html_path'], _report.to_html(report))

    def _plan(self, params, task_vars):
        hosts = params['hosts'] if params['hosts'] is not None else task_vars.get('ansible_play_hosts_all') or []
        errors = _plan.validate_stages(params['stages'], len(hosts))
        soak, soak_errors, warnings = _plan.validate_soak(params['soak'])
        checks, check_errors = _gate.validate_checks(params['checks'], 'role')
        thresholds, threshold_errors = _gate.validate_thresholds(params['thresholds'], 'role')
        errors += soak_errors + check_errors + threshold_errors
        if errors:
            raise _plan.PlanError('the rollout changes nothing until its inputs are right:\n- ' + '\n- '.join(errors))
        rid = params['rollout_id'] or _plan.rollout_id(hosts, params['stages'], _variables(task_vars, hosts))
        previous = _load(self._paths['report_path']) if 'report_path' in self._paths else None
        planned = _plan.plan(hosts, params['stages'], rid, previous)
        check_mode = bool(self._task.check_mode) or bool(task_vars.get('ansible_check_mode'))
        lines = _plan.plan_lines(planned, check_mode, soak, checks)
        options = {'stages': [str(s) for s in params['stages']], 'soak': soak, 'checks': checks,
                   'thresholds': thresholds, 'restore_all': params['restore_all']}
        if not check_mode:
            from ansible.release import __version__ as core_version
            self._save(_report.new(planned, options, {'ansible_core_version': core_version}, time.time()))
            lines.append('report: %s' % ', '.join(self._paths.values()))
        return dict(changed=False, planned=planned, options=options, lines=lines, warnings=warnings,
                    rollout_id=rid, skip=planned['skip'])

    def _stage(self, params, task_vars):
        planned = params['planned'] or {}
        stage = _plan.stage_of(planned, task_vars.get('inventory_hostname'))
        if stage is None:
            raise _plan.PlanError('%s is in no stage of the plan: run the rollout from its first play '
                                  '(nfct.tuning.rollout)' % task_vars.get('inventory_hostname'))
        return stage

    def _start(self, params, task_vars):
        stage = self._stage(params, task_vars)
        batch = list(task_vars.get('ansible_play_batch') or [])
        if batch != [h for h in stage['hosts'] if h in batch] or not set(batch) <= set(stage['hosts']):
            raise _plan.PlanError(
                'this batch (%s) is not stage %d of the plan (%s): the play\'s serial did not get the stages the plan '
                'was made with. Set %s with -e (serial reads extra vars and play vars only, not the inventory); '
                'nothing was changed' % (', '.join(batch), stage['index'], ', '.join(stage['hosts']), _plan.STAGES_VAR))
        report = _load(self._paths['report_path'])
        if report is None or report.get('rollout_id') != params['planned']['rollout_id']:
            raise _plan.PlanError('the rollout report %s is missing or belongs to another rollout: it is written by '
                                  'the plan step; run the whole playbook' % self._paths['report_path'])
        if stage['status'] == 'passed earlier':
            return dict(changed=False, stage=stage['index'], hosts=stage['hosts'], skipped=True,
                        lines=['stage %d passed in an earlier run of this rollout: skipped' % stage['index']])
        self._save(_report.start_stage(report, stage['index'], time.time()))
        return dict(changed=False, stage=stage['index'], hosts=stage['hosts'],
                    lines=['stage %d of %d: %s' % (stage['index'], len(params['planned']['stages']),
                                                   ', '.join(stage['hosts']))])

    def _verdict(self, params, task_vars):
        stage = self._stage(params, task_vars)
        hostvars = task_vars.get('hostvars') or {}
        batch = set(task_vars.get('ansible_play_batch') or [])
        outcomes = {}
        for host in stage['hosts']:
            seen = hostvars.get(host) or {}
            reachable = host in batch
            passed, failures = _plan.host_outcome(seen.get(params['applied_var']), seen.get(params['gate_var']),
                                                  reachable)
            outcomes[host] = (passed, failures, reachable)
        decided = _plan.verdict(stage['hosts'], outcomes)
        report = _report.record_verdict(_load(self._paths['report_path']), stage['index'], outcomes, decided,
                                        time.time())
        self._save(report)
        return dict(changed=False, stage=stage['index'], passed=decided['passed'], restore=decided['restore'],
                    failed_hosts=decided['failed_hosts'], lines=_report.stage_lines(report, stage['index']))

    def _restores(self, params, task_vars, hosts):
        """{host: the registered snapshot result, or None when the host did not answer}."""
        hostvars = task_vars.get('hostvars') or {}
        batch = set(task_vars.get('ansible_play_batch') or [])
        out = {}
        for host in hosts:
            got = (hostvars.get(host) or {}).get(params['restore_var'])
            out[host] = got if host in batch and isinstance(got, dict) and not got.get('unreachable') else None
        return out

    def _finish(self, params, task_vars):
        stage = self._stage(params, task_vars)
        report = _load(self._paths['report_path'])
        pending = [h for h, r in sorted(report['stages'][stage['index'] - 1]['results'].items())
                   if r.get('restore') == 'pending']
        report = _report.record_restores(report, stage['index'], self._restores(params, task_vars, pending),
                                         time.time())
        self._save(report)
        bad = _report.restore_failures(report, stage['index'])
        return dict(changed=False, stage=stage['index'], passed=report['stages'][stage['index'] - 1]['status'] == 'passed',
                    restore_failed=[h for h, _why in bad], status=report['status'],
                    lines=_report.stage_lines(report, stage['index']))

    def _end(self, params, task_vars):
        report = _load(self._paths['report_path'])
        if report is None or report.get('rollout_id') != (params['planned'] or {}).get('rollout_id'):
            raise _plan.PlanError('the rollout report %s is missing or belongs to another rollout'
                                  % self._paths.get('report_path'))
        hosts = _report.restore_all_hosts(report, params['restore_all'])
        if not params['record']:
            stopped, message = _report.stop_message(report, params['report_path'])
            return dict(changed=False, restore=hosts, status=report['status'], stopped_hosts=stopped,
                        stop_message=message)
        report = _report.record_restore_all(report, self._restores(params, task_vars, hosts), time.time())
        self._save(report)
        bad = _report.restore_failures(report)
        return dict(changed=False, restore=hosts, status=report['status'], restore_failed=[h for h, _why in bad],
                    lines=['conntrack_rollout_restore_all: put back %s' % ', '.join(hosts)]
                    + ['  %s: restore %s' % (h, why) for h, why in bad])

    def _merge(self, params, task_vars):
        """One fleet report from the rollout reports of the slices of one job (merge: paths or globs),
        written to report_path and html_path; failed_run when a slice stopped or has not ended, or a
        restore failed."""
        if not params['merge']:
            raise _audit_report.MergeError('list the rollout reports of the slices to merge (paths or glob patterns)')
        names, reports = _audit_report.read_reports(params['merge'], os.getcwd())
        for path in self._paths.values():
            if path in names:
                raise _audit_report.MergeError('%s is one of the reports to merge; write the merged report to another '
                                               'path' % path)
        merged = _report.merge(reports, names)
        self._save(merged)
        lines = ['merged %d report(s): %s' % (len(names), ', '.join(names))] + _report.merged_lines(merged)
        lines.append('report: %s' % ', '.join(self._paths.values()))
        bad = _report.merged_restore_failures(merged)
        return dict(changed=False, status=merged['status'], hosts=sorted(merged['hosts']), lines=lines,
                    failed_run=merged['status'] != 'completed' or bool(bad), restore_failed=[h for h, _w in bad],
                    written=dict((k, v) for k, v in self._paths.items()), merged=names)
