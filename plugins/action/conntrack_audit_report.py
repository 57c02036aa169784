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
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, report as _audit_report

ARGUMENT_SPEC = dict(
    result_var=dict(type='str', default='conntrack_audit_result'),
    hosts=dict(type='list', elements='str'),
    json_path=dict(type='str', default='conntrack-audit.json'),
    junit_path=dict(type='str', default='conntrack-audit.junit.xml'),
    html_path=dict(type='str', default='conntrack-audit.html'),
    fail_on=dict(type='list', elements='str', default=list(_audit.DEFAULT_FAIL_ON)),
    options=dict(type='dict', default={}),
)
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


def installed():
    """True for an installed collection (ansible-galaxy writes MANIFEST.json), false in a checkout."""
    return os.path.exists(os.path.join(COLLECTION_ROOT, 'MANIFEST.json'))


def write(path, text):
    """Write a report file atomically (temp file in the same folder, fsync, rename)."""
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        os.makedirs(directory)
    fd, tmp = tempfile.mkstemp(prefix='.conntrack-audit-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        bad = [kind for kind in params['fail_on'] if kind not in _audit.ALL_KINDS]
        if bad:
            result.update(failed=True, msg='fail_on: unknown kind(s) %s; allowed: %s'
                          % (', '.join(bad), ', '.join(_audit.ALL_KINDS)))
            return result
        hosts = params['hosts'] if params['hosts'] is not None else task_vars.get('ansible_play_hosts_all') or []
        hostvars = task_vars.get('hostvars') or {}
        results = dict((host, (hostvars.get(host) or {}).get(params['result_var'])) for host in hosts)
        from ansible.release import __version__ as core_version
        report = _audit_report.build(results, hosts, params['fail_on'], params['options'],
                                     {'collection_version': collection_version(), 'ansible_core_version': core_version},
                                     context={'inventory': inventory_sources(task_vars)})
        written = {}
        renderers = (('json_path', lambda built: json.dumps(built, indent=1, sort_keys=True) + '\n'),
                     ('junit_path', _audit_report.to_junit), ('html_path', _html))
        for option, render in renderers:
            path = params[option]
            if not path:
                continue
            full = os.path.realpath(os.path.join(os.getcwd(), os.path.expanduser(path)))
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
        if written:
            order = [option_name for option_name in ('json_path', 'junit_path', 'html_path') if option_name in written]
            lines.append('reports: %s' % ', '.join(written[option_name] for option_name in order))
        failing = dict((host, report['hosts'][host]['failing_kinds']) for host in report['failing_hosts'])
        result.update(changed=False, counts=report['counts'], failed_run=report['failed'],
                      failing_hosts=report['failing_hosts'], failing=failing, written=written, lines=lines)
        return result


def _html(report):
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html
    return _audit_html.to_html(report)
