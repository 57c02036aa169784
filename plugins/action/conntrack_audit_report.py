# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report, on the controller: every host of the play (reachable or not) from
its registered conntrack_audit result, written as JSON, JUnit XML and HTML. Nothing runs on
the hosts; the files are written on the controller also in check mode (they describe the run,
they change no host)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, report as _audit_report
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import plan as _plan

ARGUMENT_SPEC = dict(
    result_var=dict(type='str', default='conntrack_audit_result'),
    hosts=dict(type='list', elements='str'),
    json_path=dict(type='str', default='conntrack-audit.json'),
    junit_path=dict(type='str', default='conntrack-audit.junit.xml'),
    html_path=dict(type='str', default='conntrack-audit.html'),
    fail_on=dict(type='list', elements='str', default=list(_audit.DEFAULT_FAIL_ON)),
    options=dict(type='dict', default={}),
    merge=dict(type='list', elements='str'),
)
# merge takes the fail_on and options of the reports it merges, and their hosts
OUTPUTS = ('json_path', 'junit_path', 'html_path')
MUTUALLY_EXCLUSIVE = [('merge', other) for other in ('result_var', 'hosts', 'fail_on', 'options')]
COLLECTION_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def collection_version():
    """The version of this collection: MANIFEST.json when installed, galaxy.yml in a checkout."""
    manifest = os.path.join(COLLECTION_ROOT, 'MANIFEST.json')
    try:
        with open(manifest) as f:
            return json.load(f)['collection_info']['version']
    except (IOError, OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(COLLECTION_ROOT, 'galaxy.yml')) as f:
            for line in f:
                if line.startswith('version:'):
                    return line.split(':', 1)[1].strip().strip('"\'')
    except (IOError, OSError):
        pass
    return None


def full_path(path):
    """A report path as written: relative to the current folder, ~ expanded, symlinks resolved."""
    return os.path.realpath(os.path.join(os.getcwd(), os.path.expanduser(path)))


def installed():
    """True for an installed collection (ansible-galaxy writes MANIFEST.json), false in a checkout."""
    return os.path.exists(os.path.join(COLLECTION_ROOT, 'MANIFEST.json'))


def write(path, text):
    """Write a report file atomically (audit/report.py write_atomically: temp file, fsync, rename)."""
    _audit_report.write_atomically(path, text)


def inventory_sources(task_vars):
    """The play's inventory sources, as the fix commands print them (relative to the folder the
    playbook runs in when they are in it)."""
    cwd = os.getcwd()
    out = []
    for source in task_vars.get('ansible_inventory_sources') or []:
        source = str(source)
        if os.path.isabs(source) and (source + os.sep).startswith(cwd + os.sep):
            source = os.path.relpath(source, cwd)
        out.append(source)
    return out


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                          mutually_exclusive=MUTUALLY_EXCLUSIVE)
        bad = [kind for kind in params['fail_on'] if kind not in _audit.ALL_KINDS]
        if bad:
            result.update(failed=True, msg='fail_on: unknown kind(s) %s; allowed: %s'
                          % (', '.join(bad), ', '.join(_audit.ALL_KINDS)))
            return result
        merged = []
        if params['merge'] is not None:
            try:
                merged, reports = _audit_report.read_reports(params['merge'], os.getcwd())
                for option in OUTPUTS:
                    if params[option] and full_path(params[option]) in merged:
                        raise _audit_report.MergeError('%s: %s is one of the reports to merge; write the merged report '
                                                       'to another path' % (option, full_path(params[option])))
                for name, report in zip(merged, reports):
                    if isinstance(report, dict) and report.get('schema') == _plan.REPORT_SCHEMA:
                        raise _audit_report.MergeError('%s is a rollout report: rollout reports merge with '
                                                       'nfct.tuning.merge_rollout_reports' % name)
                report = _audit_report.merge(reports, merged)
            except _audit_report.MergeError as e:
                result.update(failed=True, msg='merge: %s' % e)
                return result
        else:
            report = self._report(params, task_vars)
        written = {}
        renderers = (('json_path', lambda built: json.dumps(built, indent=1, sort_keys=True) + '\n'),
                     ('junit_path', _audit_report.to_junit), ('html_path', _html))
        for option, render in renderers:
            path = params[option]
            if not path:
                continue
            full = full_path(path)
            if installed() and (full == COLLECTION_ROOT or full.startswith(COLLECTION_ROOT + os.sep)):
                result.update(failed=True, msg='%s: %s is inside the installed collection (%s); reports go to the '
                                               'current folder or a path of yours' % (option, full, COLLECTION_ROOT))
                return result
            try:
                write(full, render(report))
            except (IOError, OSError) as e:
                result.update(failed=True, msg='%s: cannot write %s: %s' % (option, full, e))
                return result
            written[option] = full
        lines = _audit_report.summary_lines(report)
        if merged:
            plural = '' if len(merged) == 1 else 's'
            lines.insert(0, 'merged %d report%s: %s' % (len(merged), plural, ', '.join(merged)))
        if written:
            order = [option_name for option_name in OUTPUTS if option_name in written]
            lines.append('reports: %s' % ', '.join(written[option_name] for option_name in order))
        failing = dict((host, report['hosts'][host]['failing_kinds']) for host in report['failing_hosts'])
        result.update(changed=False, counts=report['counts'], failed_run=report['failed'],
                      failing_hosts=report['failing_hosts'], failing=failing, written=written, lines=lines,
                      merged=merged)
        return result

    def _report(self, params, task_vars):
        """The report of this play's hosts from their registered results."""
        hosts = params['hosts'] if params['hosts'] is not None else task_vars.get('ansible_play_hosts_all') or []
        hostvars = task_vars.get('hostvars') or {}
        results = dict((host, (hostvars.get(host) or {}).get(params['result_var'])) for host in hosts)
        from ansible.release import __version__ as core_version
        return _audit_report.build(results, hosts, params['fail_on'], params['options'],
                                   {'collection_version': collection_version(), 'ansible_core_version': core_version},
                                   context={'inventory': inventory_sources(task_vars)})


def _html(report):
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html
    return _audit_html.to_html(report)
