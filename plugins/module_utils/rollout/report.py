# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout report, on the controller: one JSON document kept up to date at every step of the
rollout (it is also what a rerun resumes from) and its HTML page. Stages, each host's gate with its
evidence, the decisions (stop, restore), and timings."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import html

from ansible_collections.nfct.tuning.plugins.module_utils.audit import report as _audit_report
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import plan as _plan

# what the slices of one rollout job share (AWX job slicing: one job template, its extra vars)
SAME_ROLLOUT = ('schema', 'options')


def new(planned, options, meta, now):
    """The report of a rollout that starts (or resumes) now."""
    stages = []
    for stage in planned['stages']:
        stages.append({'index': stage['index'], 'hosts': list(stage['hosts']),
                       'status': 'passed' if stage['status'] == 'passed earlier' else 'pending',
                       'resumed': stage['status'] == 'passed earlier', 'started': None, 'ended': None,
                       'seconds': None, 'results': {}})
    return {'schema': _plan.REPORT_SCHEMA, 'rollout_id': planned['rollout_id'], 'started': now, 'updated': now,
            'ended': None, 'status': 'running', 'resumed_after': planned['resumed_after'], 'options': options,
            'meta': meta, 'stages': stages, 'decisions': []}


def _stage(report, index):
    return report['stages'][index - 1]


def start_stage(report, index, now):
    out = copy.deepcopy(report)
    stage = _stage(out, index)
    stage.update(status='running', started=now)
    out['updated'] = now
    return out


def record_verdict(report, index, outcomes, decided, now):
    """The gate of every host of the stage and the stage's decision."""
    out = copy.deepcopy(report)
    stage = _stage(out, index)
    for host in stage['hosts']:
        passed, failures, reachable = outcomes[host]
        stage['results'][host] = {'passed': passed, 'reachable': reachable, 'failures': failures,
                                  'restore': 'pending' if host in decided['restore'] else
                                  ('not possible: unreachable' if not reachable and not decided['passed']
                                   else 'not needed')}
    stage['status'] = 'passed' if decided['passed'] else 'failed'
    if not decided['passed']:
        out['decisions'].append({'at': now, 'stage': index, 'decision': 'stop',
                                 'why': '; '.join('%s: %s' % (h, ', '.join(f['gate'] for f in outcomes[h][1]))
                                                  for h in decided['failed_hosts']),
                                 'restore': list(decided['restore'])})
    out['updated'] = now
    return out


def _apply_restores(stage, restores, why=''):
    for host, res in restores.items():
        entry = stage['results'].setdefault(host, {})
        if res is None:
            entry['restore'] = 'failed: the host did not answer the restore'
        elif res.get('failed'):
            entry['restore'] = 'failed: %s' % (res.get('msg') or 'the restore did not complete')
            entry['restore_mismatches'] = res.get('mismatches') or []
        else:
            entry['restore'] = 'restored' + why


def record_restores(report, index, restores, now):
    """Each restored host's outcome: restored (read back identical) or failed, with the evidence;
    the stage is closed. restores: {host: None (unreachable) | the snapshot module's result}."""
    out = copy.deepcopy(report)
    stage = _stage(out, index)
    _apply_restores(stage, restores)
    stage['ended'] = now
    if stage['started'] is not None:
        stage['seconds'] = round(now - stage['started'], 1)
    out['updated'] = now
    if stage['status'] == 'failed':
        out['status'], out['ended'] = 'stopped', now
    elif all(s['status'] == 'passed' for s in out['stages']):
        out['status'], out['ended'] = 'completed', now
    return out


def restore_all_hosts(report, restore_all):
    """The hosts conntrack_rollout_restore_all puts back: those of the stages that passed, when the
    rollout stopped and it is true."""
    if not restore_all or report.get('status') != 'stopped':
        return []
    return [h for s in report['stages'] if s['status'] == 'passed' for h in s['hosts']]


def record_restore_all(report, restores, now):
    """The restores of the earlier stages (conntrack_rollout_restore_all), in their stages."""
    out = copy.deepcopy(report)
    for stage in out['stages']:
        mine = dict((h, r) for h, r in restores.items() if h in stage['hosts'])
        if mine:
            _apply_restores(stage, mine, ' (conntrack_rollout_restore_all)')
            stage['status'] = 'restored'
    out['decisions'].append({'at': now, 'stage': None, 'decision': 'restore_all',
                             'why': 'the rollout stopped and conntrack_rollout_restore_all is true',
                             'restore': sorted(restores)})
    out['updated'] = now
    return out


def restore_failures(report, index=None):
    """The hosts of a stage (or of every stage) whose restore failed: [(host, why)]."""
    stages = [_stage(report, index)] if index else report['stages']
    return [(h, r['restore']) for stage in stages for h, r in sorted(stage['results'].items())
            if str(r.get('restore')).startswith('failed')]


def stop_message(report, path):
    """([the hosts of the stage the rollout stopped at], the message they fail with); ([], '')
    when it did not stop."""
    failed = [s for s in report['stages'] if s['status'] == 'failed']
    if report.get('status') != 'stopped' or not failed:
        return [], ''
    stage = failed[0]
    culprits = [h for h in stage['hosts'] if not (stage['results'].get(h) or {}).get('passed')]
    return list(stage['hosts']), (
        'conntrack rollout: stage %d failed (%s); %s; the next stages are not touched. Report: %s' % (
            stage['index'], ', '.join(culprits), put_back(report, stage['index']), path))


def stage_lines(report, index):
    """A stage's outcome in words."""
    stage = _stage(report, index)
    lines = ['stage %d: %s (%s)' % (index, stage['status'].upper(), ', '.join(stage['hosts']))]
    for host in stage['hosts']:
        res = stage['results'].get(host) or {}
        if res.get('passed'):
            lines.append('  %s: gate passed%s' % (host, '' if res.get('restore') == 'not needed'
                                                  else '; restore: %s' % res.get('restore')))
            continue
        for failure in res.get('failures') or []:
            lines.append('  %s: %s failed: %s' % (host, failure['gate'], failure['evidence']))
        lines.append('  %s: restore: %s' % (host, res.get('restore')))
    if stage['status'] == 'failed':
        where = ('stops before stage %d' % (index + 1) if index < len(report['stages'])
                 else 'stops at stage %d, its last' % index)
        lines.append('the rollout %s; %s; fix the cause and run the same command again: it resumes at stage %d'
                     % (where, put_back(report, index), index))
    return lines


def put_back(report, index):
    """What the restore of a failed stage did, in words: restored hosts, failed restores, hosts that
    could not be reached."""
    stage = _stage(report, index)
    bad = restore_failures(report, index)
    gone = [h for h in stage['hosts'] if str((stage['results'].get(h) or {}).get('restore')).startswith('not possible')]
    if bad:
        said = 'the restore FAILED on %s: check them by hand (docs/rollout.md, "When a restore fails")' % (
            ', '.join(h for h, _w in bad))
    elif len(gone) < len(stage['hosts']):
        said = 'the stage was put back as it was'
    else:
        said = 'no host of the stage answered'
    if gone:
        said += '; %s could not be reached: %s the change, with %s snapshot kept on %s; check %s when %s back' % (
            ', '.join(gone), 'it may have' if len(gone) == 1 else 'they may have', 'its' if len(gone) == 1 else 'their',
            'it' if len(gone) == 1 else 'them', 'it' if len(gone) == 1 else 'them',
            'it is' if len(gone) == 1 else 'they are')
    return said


def _table(report):
    """The stages of one rollout as an HTML table, its decisions and timings."""
    esc = html.escape
    rows = []
    for stage in report['stages']:
        for host in stage['hosts']:
            res = stage['results'].get(host) or {}
            gate = 'passed' if res.get('passed') else (
                '; '.join('%s: %s' % (f['gate'], f['evidence']) for f in res.get('failures') or []) or '-')
            rows.append('<tr class="%s"><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                esc(stage['status'].replace(' ', '-')), stage['index'], esc(host), esc(stage['status']), esc(gate),
                esc(str(res.get('restore', '-')))))
    decisions = ''.join('<li>%s: %s (%s); restored: %s</li>' % (
        'stage %d' % d['stage'] if d['stage'] else 'after the stages', esc(d['decision']), esc(d['why']),
        esc(', '.join(d['restore']) or 'none')) for d in report['decisions'])
    timings = ''.join('<li>stage %d: %s s</li>' % (s['index'], s['seconds']) for s in report['stages']
                      if s['seconds'] is not None)
    return ('<p>started %s, updated %s; soak %s s%s</p>'
            '<table><thead><tr><th>stage</th><th>host</th><th>stage status</th><th>gate (evidence)</th>'
            '<th>restore</th></tr></thead><tbody>%s</tbody></table>'
            '<h3>Decisions</h3><ul>%s</ul><h3>Timings</h3><ul>%s</ul>'
            % (_when(report['started']), _when(report['updated']), esc(str(report['options'].get('soak'))),
               '; resumed after stage %d' % report['resumed_after'] if report['resumed_after'] else '',
               ''.join(rows), decisions or '<li>none</li>', timings or '<li>none yet</li>'))


def _page(title, body):
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s</title>'
            '<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}'
            'td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}'
            'tr.failed td{background:#fde2e2}tr.passed td{background:#e6f4e6}</style></head><body>%s</body></html>\n'
            % (html.escape(title), body))


def to_html(report):
    """The report as one HTML page, no script, no external resource (a merged report: a section per
    slice)."""
    esc = html.escape
    if report.get('merged'):
        sections = ''.join('<h2>slice %d: rollout %s: %s</h2>%s' % (
            i, esc(part['rollout_id']), esc(part['status']), _table(part)) for i, part in enumerate(report['slices'], 1))
        return _page('conntrack rollout (merged)', '<h1>conntrack rollout (merged from %d slices): %s</h1>%s' % (
            len(report['slices']), esc(report['status']), sections))
    return _page('conntrack rollout %s' % report['rollout_id'], '<h1>conntrack rollout %s: %s</h1>%s' % (
        esc(report['rollout_id']), esc(report['status']), _table(report)))


def _hosts(report):
    """host -> where it is in the rollout and how it ended (one slice's report)."""
    out = {}
    for stage in report.get('stages') or []:
        for host in stage.get('hosts') or []:
            res = (stage.get('results') or {}).get(host) or {}
            out[host] = {'rollout_id': report.get('rollout_id'), 'stage': stage.get('index'),
                         'stage_status': stage.get('status'), 'passed': res.get('passed'),
                         'gates_failed': [f.get('gate') for f in res.get('failures') or []],
                         'restore': res.get('restore')}
    return out


def merge(reports, names):
    """One fleet rollout report from the reports of the slices of one rollout job (AWX job slicing,
    or any split of the inventory run as separate jobs, each with its own report path): every
    slice's stages as it ran them, the hosts of all of them (a host in two slices is refused), the
    status over all of them (stopped when one stopped, running while one has not ended, completed
    when every slice completed) and the restore failures. Raises MergeError with the reason."""
    reports, names = list(reports), list(names)
    if not reports:
        raise _audit_report.MergeError('no reports to merge')
    for name, report in zip(names, reports):
        if not isinstance(report, dict) or report.get('schema') != _plan.REPORT_SCHEMA or report.get('merged'):
            raise _audit_report.MergeError(
                '%s is not the rollout report of one slice (its schema is not %s)%s' % (
                    name, _plan.REPORT_SCHEMA, '; audit reports merge with nfct.tuning.merge_reports'
                    if isinstance(report, dict) and report.get('schema') == _audit_report.SCHEMA else ''))
    _audit_report.same_audit(reports, names, SAME_ROLLOUT)
    hosts = _audit_report.merge_hosts([{'hosts': _hosts(r)} for r in reports], names)
    statuses = [r.get('status') for r in reports]
    status = 'stopped' if 'stopped' in statuses else 'running' if 'running' in statuses else 'completed'
    ended = [r.get('ended') for r in reports]
    return {'schema': _plan.REPORT_SCHEMA, 'merged': True, 'sources': names, 'status': status,
            'started': min(r.get('started') or 0 for r in reports) or None,
            'updated': max(r.get('updated') or 0 for r in reports) or None,
            'ended': max(ended) if status != 'running' and all(ended) else None,
            'options': copy.deepcopy(reports[0]['options']), 'hosts': hosts,
            'slices': [dict(copy.deepcopy(r), source=name) for name, r in zip(names, reports)]}


def merged_lines(merged):
    """The merged rollout in words: a line per slice, the hosts that failed their gate and why, the
    restores that failed."""
    lines = ['conntrack rollout (merged): %d slice(s), %d host(s): %s' % (
        len(merged['slices']), len(merged['hosts']), merged['status'].upper())]
    for i, part in enumerate(merged['slices'], 1):
        done = sum(1 for s in part['stages'] if s['status'] == 'passed')
        lines.append('  slice %d (%s, rollout %s): %s, %d of %d stage(s) passed%s' % (
            i, part['source'], part['rollout_id'], part['status'], done, len(part['stages']),
            ''.join('; %s' % d['why'] for d in part['decisions'] if d['decision'] == 'restore_all')))
    for host, entry in sorted(merged['hosts'].items()):
        if entry['gates_failed'] or entry['passed'] is False:
            lines.append('  %s: stage %s: %s failed; restore: %s' % (
                host, entry['stage'], ', '.join(entry['gates_failed']) or 'the change', entry['restore']))
    for host, why in merged_restore_failures(merged):
        lines.append('  %s: the restore FAILED (%s): check it by hand (docs/rollout.md, "When a restore fails")'
                     % (host, why))
    return lines


def merged_restore_failures(merged):
    return [(h, e['restore']) for h, e in sorted(merged['hosts'].items()) if str(e['restore']).startswith('failed')]


def _when(epoch):
    import time
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(epoch)) if epoch else '-'
