# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report (schema v2): built on the controller from every host's conntrack_audit
result, including the hosts that were unreachable or failed, and written as JSON, JUnit XML and a
self-contained HTML page. Pure functions (docs/audit.md).

Schema v2 (0.3.0) adds, per host, `health` (the table's health kinds with their evidence and window)
and `fix` (the commands that would fix the host); `counts.unhealthy`; the health kinds among the
fail_on kinds; and changes `unpersisted` (now: right at runtime, lost at the next boot; a value
at the kernel's default is in sync, `kernel_default` on its key)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import datetime
import glob
import json
import os
import re
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys

SCHEMA = 'urn:nfct-tuning:conntrack-audit-report'
SCHEMA_VERSION = 2
STATUSES = ('in_sync', 'drifted', 'unreachable', 'failed')
# worst first (a host whose table fails the run on its health comes right after the unreachable)
SEVERITY = {'failed': 0, 'unreachable': 1, 'unhealthy': 2, 'drifted': 3, 'in_sync': 4}
RELIEVE_KINDS = ('full', 'dropping', 'high_usage')


def host_entry(name, result, fail_on):
    """One host's report entry from its registered conntrack_audit result (None: no result)."""
    if not result:
        entry = _audit.error_entry('unreachable', 'no result: the host was unreachable or skipped before the audit ran')
    elif result.get('unreachable'):
        entry = _audit.error_entry('unreachable', (result.get('msg') or 'unreachable').strip())
    elif result.get('failed') or not isinstance(result.get('audit'), dict):
        msg = result.get('msg') or result.get('module_stderr') or 'the audit module failed'
        entry = _audit.error_entry('failed', str(msg).strip())
    else:
        entry = dict(result['audit'])
    entry.setdefault('health', None)
    if entry['status'] in ('unreachable', 'failed'):
        entry['failing_kinds'] = [entry['status']] if entry['status'] in fail_on else []
    else:
        kinds = set(k for v in (entry.get('keys') or {}).values() for k in v.get('kinds') or [])
        if (entry.get('notrack') or {}).get('drifted'):
            kinds.add('notrack')
        if entry.get('files'):
            kinds.add('at_boot')
        if entry.get('disabled') and not entry['disabled']['off']:
            kinds.add('reenabled')
        kinds.update((entry.get('health') or {}).get('kinds') or [])
        entry['failing_kinds'] = sorted(k for k in kinds if k in fail_on)
    entry['fails_run'] = bool(entry['failing_kinds'])
    entry['drift_count'] = sum(1 for v in (entry.get('keys') or {}).values() if v.get('kinds')) + \
        (1 if (entry.get('notrack') or {}).get('drifted') else 0) + len(entry.get('files') or []) + \
        (1 if entry.get('disabled') and not entry['disabled']['off'] else 0)
    return entry


def unhealthy(entry):
    """Does the host fail the run on its table's health (full, dropping, ...)?"""
    return bool(set(entry.get('failing_kinds') or []) & set(_audit.HEALTH_KINDS))


def _quote(word):
    return word if word and all(c.isalnum() or c in '-_./,=:@' for c in word) else "'%s'" % word.replace("'", "'\\''")


def fix_commands(name, entry, context):
    """What would fix this host, as commands to run from the folder the audit ran in: [{'why',
    'command'}]. context: {'inventory': [sources], 'profile_default': name} from the play."""
    inventory = ' '.join('-i %s' % _quote(i) for i in (context or {}).get('inventory') or []) or '-i INVENTORY'
    profile = entry.get('profile')
    extra = ' -e conntrack_profile=%s' % _quote(profile) if profile and profile != 'default' else ''
    limit = '--limit %s' % _quote(name)
    kinds = set(entry.get('failing_kinds') or [])
    health = set((entry.get('health') or {}).get('kinds') or [])
    out = []
    if entry['status'] == 'unreachable':
        out.append({'why': 'the host did not answer', 'command': 'ansible %s %s -m ansible.builtin.ping' % (inventory, _quote(name))})
    if entry['status'] == 'failed':
        out.append({'why': 'the audit failed on the host: see its error, then run it again with -vvv',
                    'command': 'ansible-playbook %s nfct.tuning.audit --check %s%s -vvv' % (inventory, limit, extra)})
    if health & set(RELIEVE_KINDS):
        found = [k for k in RELIEVE_KINDS if k in health]
        state = ' and '.join(found) if len(found) < 3 else '%s and %s' % (', '.join(found[:-1]), found[-1])
        if entry.get('netns') == 'non-initial':
            # max is global and read-only in a container: the node raises it for all its containers
            out.append({'why': 'the table is %s now; max is global, read-only in this network namespace: run '
                               'relieve on the node that runs it (NODE), which relieves its containers too' % state,
                        'command': 'ansible-playbook %s nfct.tuning.relieve --limit NODE%s' % (inventory, extra)})
        else:
            out.append({'why': 'the table is %s now: raise max at runtime (no resize, no file written)' % state,
                        'command': 'ansible-playbook %s nfct.tuning.relieve %s%s' % (inventory, limit, extra)})
    if entry['status'] == 'drifted':
        what = 'conntrack is back on a host meant to have it off' if 'reenabled' in kinds else \
            'persist what relieve raised at runtime and resize the hash table, in a quiet window' \
            if entry.get('relieved') else 'apply the profile to the running kernel and every file the next boot reads'
        state = ' -e conntrack_state=disabled' if entry.get('disabled') is not None else ''
        out.append({'why': what,
                    'command': 'ansible-playbook %s nfct.tuning.tune %s%s%s' % (inventory, limit, extra, state)})
    shadowing = sorted(set(f for v in (entry.get('keys') or {}).values() for f in v.get('shadowed_by') or []))
    if shadowing:
        out.append({'why': 'another file sets these keys after ours at boot: move its conntrack lines into ours, or '
                           'remove them', 'command': 'grep -n nf_conntrack %s' % ' '.join(shadowing)})
    return out


def build(results, hosts, fail_on=_audit.DEFAULT_FAIL_ON, options=None, meta=None, now=None, context=None):
    """The report. results: host -> registered result; hosts: every host of the play (reachable or
    not); context: what the fix commands need from the play ({'inventory': [sources]})."""
    fail_on = list(fail_on)
    entries = dict((h, host_entry(h, results.get(h), fail_on)) for h in hosts)
    for name, e in entries.items():
        e['fix'] = fix_commands(name, e, context)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return assemble(entries, dict(options or {}, fail_on=fail_on), meta, now.strftime('%Y-%m-%dT%H:%M:%SZ'))


def assemble(entries, options, meta, generated_at):
    """The report around its host entries (host -> entry, as host_entry() and fix_commands() made
    them): the counts, the verdict, the profiles. options: the run's options, fail_on among them."""
    counts = dict((s, 0) for s in STATUSES)
    for e in entries.values():
        counts[e['status']] += 1
    counts['hosts'] = len(entries)
    counts['checked'] = counts['in_sync'] + counts['drifted']
    counts['failing'] = sum(1 for e in entries.values() if e['fails_run'])
    counts['unhealthy'] = sum(1 for e in entries.values() if unhealthy(e))
    profiles = sorted(set(e['profile'] for e in entries.values() if e.get('profile')))
    meta = meta or {}
    return {
        'schema': SCHEMA, 'schema_version': SCHEMA_VERSION,
        'generated_at': generated_at,
        'collection_version': meta.get('collection_version'),
        'ansible_core_version': meta.get('ansible_core_version'),
        'profile': profiles[0] if len(profiles) == 1 else None,
        'profiles': profiles,
        'options': options,
        'counts': counts,
        'failed': counts['failing'] > 0,
        'failing_hosts': sorted(h for h, e in entries.items() if e['fails_run']),
        'hosts': entries,
    }


def order(report):
    """Host names worst first: failed, unreachable, drifted, in sync; then more drift, then fuller tables."""
    def key(name):
        e = report['hosts'][name]
        status = 'unhealthy' if unhealthy(e) and e['status'] in ('in_sync', 'drifted') else e['status']
        return (SEVERITY.get(status, 9), -e.get('drift_count', 0), -((e.get('usage') or {}).get('ratio') or 0),
                name)
    return sorted(report['hosts'], key=key)


def summary_lines(report):
    """Readable lines for the console: the counts, then every host worst first."""
    c = report['counts']
    fail_on = ', '.join(report['options']['fail_on']) or 'nothing'
    out = ['conntrack audit: %d host%s - %d in sync, %d drifted, %d unhealthy (full or dropping now), %d unreachable, '
           '%d failed; %s' % (
               c['hosts'], '' if c['hosts'] == 1 else 's', c['in_sync'], c['drifted'], c.get('unhealthy', 0),
               c['unreachable'], c['failed'],
               ('%d fail%s the run (fail_on: %s)' % (c['failing'], 's' if c['failing'] == 1 else '', fail_on))
               if report['failed'] else 'the run passes (fail_on: %s)' % fail_on)]
    for name in order(report):
        e = report['hosts'][name]
        lines = e.get('lines') or []
        out.append('%s: %s' % (name, lines[0] if lines else e['status']))
        out.extend('  ' + line.lstrip() if not line.startswith('  ') else line for line in lines[1:])
        out.extend('  fix (%s): %s' % (f['why'], f['command']) for f in e.get('fix') or [] if e['fails_run'])
    return out


# ---------------------------------------------------------------- JUnit

def _case(classname, name, failure=None, skipped=None, out=None):
    x = '    <testcase classname=%s name=%s time="0">' % (quoteattr(classname), quoteattr(name))
    if failure:
        x += '\n      <failure message=%s type="drift">%s</failure>' % (quoteattr(failure[0]), escape(failure[1]))
    elif skipped:
        x += '\n      <skipped message=%s/>' % quoteattr(skipped)
    if out:
        x += '\n      <system-out>%s</system-out>' % escape(out)
    return x + '\n    </testcase>'


def to_junit(report):
    """JUnit XML: one testsuite per host; one testcase per key, plus reachability and NOTRACK.
    A case fails when its drift is one the run fails on; other drift goes to system-out."""
    fail_on = set(report['options']['fail_on'])
    suites = []
    total = failures = 0
    for name in sorted(report['hosts']):
        e = report['hosts'][name]
        cases = []
        reach = e['status'] in ('unreachable', 'failed')
        cases.append(_case(name, 'reachability', failure=(e['status'], e['error'] or e['status'])
                           if reach and e['status'] in fail_on else None,
                           out=(e['error'] if reach and e['status'] not in fail_on else None)))
        for short, k in sorted((e.get('keys') or {}).items()):
            kinds = k.get('kinds') or []
            failing = [x for x in kinds if x in fail_on]
            text = 'desired %s, runtime %s, ours %s, at boot %s (%s)%s' % (
                k['desired'], _audit.show(k['runtime']), _audit.show(k['persisted']),
                _audit.show(k['at_boot'], k.get('at_boot_source')), k.get('at_boot_source') or '',
                ('; shadowed by %s' % ', '.join(k['shadowed_by'])) if k.get('shadowed_by') else '')
            cases.append(_case(name, short, failure=('+'.join(failing), text) if failing else None,
                               skipped=('read-only here: %s' % k['readonly']) if k.get('readonly') else None,
                               out=('%s: %s' % ('+'.join(kinds), text)) if kinds and not failing else None))
        notrack = e.get('notrack')
        if notrack is not None:
            text = '\n'.join(notrack.get('lines') or []) + (('\n' + notrack['error']) if notrack.get('error') else '')
            cases.append(_case(name, 'notrack', failure=('notrack', text) if notrack.get('drifted') and 'notrack' in fail_on
                               else None, out=text if notrack.get('drifted') and 'notrack' not in fail_on else None))
        health = e.get('health')
        if health is not None:
            failing = [k for k in health.get('kinds') or [] if k in fail_on]
            text = '; '.join('%s: %s' % (k, health['evidence'][k]) for k in health.get('kinds') or []) or \
                'healthy (%s)' % (health.get('window') or {}).get('why')
            cases.append(_case(name, 'health', failure=('+'.join(failing), text) if failing else None, out=text))
        disabled = e.get('disabled')
        if disabled is not None:
            text = 'conntrack is off, as meant' if disabled['off'] else disabled['why']
            cases.append(_case(name, 'disabled', failure=('reenabled', text) if not disabled['off'] and 'reenabled' in fail_on
                               else None, out=text if not disabled['off'] and 'reenabled' not in fail_on else None))
        n_fail = sum(1 for c in cases if '<failure' in c)
        n_skip = sum(1 for c in cases if '<skipped' in c)
        total += len(cases)
        failures += n_fail
        suites.append('  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d" time="0">\n%s\n  </testsuite>'
                      % (quoteattr(name), len(cases), n_fail, n_skip, '\n'.join(cases)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="conntrack audit" tests="%d" failures="%d" '
            'errors="0" time="0">\n%s\n</testsuites>\n' % (total, failures, '\n'.join(suites)))


def write_atomically(path, text):
    """Write a report file on the controller atomically: a temporary file in the same folder, fsync,
    rename (mode 0644); the folder is created when missing."""
    import tempfile
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        os.makedirs(directory)
    fd, tmp = tempfile.mkstemp(prefix='.nfct-report-', dir=directory)
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


# ---------------------------------------------------------------- merging the reports of job slices
# (docs/fleet.md, "Under AWX / ansible-runner, with job slicing")

# The fields that describe one run rather than the fleet. A merged report takes generated_at from its
# newest input; comparable() blanks them, and per host the health window's start and length
# (health.window since, seconds and why) wherever the host's texts quote them, and the texts of
# RUN_PATTERNS in its strings: the name of Ansible's temporary folder on the host (time, PID, random;
# quoted by an unreachable host's error).
RUN_FIELDS = ('generated_at',)
RUN_PATTERNS = (re.compile(r'ansible-tmp-[0-9.]+-[0-9]+-[0-9]+'),)
RUN_SPECIFIC = '<run-specific>'
# What the reports to merge must share: one audit (the same schema, collection and ansible-core
# versions, options and fail_on), each host in one report only.
SAME_AUDIT = ('schema', 'schema_version', 'collection_version', 'ansible_core_version', 'options')


class MergeError(ValueError):
    """Reports that cannot be merged; the message says which and why."""


def merge_hosts(documents, names, key='hosts'):
    """The union of the documents' host mappings (document[key]: host -> entry); names[i] names
    documents[i] in messages. A host in two documents is refused. Generic: any report whose hosts
    are a mapping (the audit's, the rollout's)."""
    merged, seen = {}, {}
    for name, document in zip(names, documents):
        hosts = document.get(key) if isinstance(document, dict) else None
        if not isinstance(hosts, dict):
            raise MergeError('%s has no %s mapping: not a report to merge' % (name, key))
        for host in sorted(hosts):
            if host in seen:
                raise MergeError('host %s is in two reports, %s and %s: each host must be in one report only '
                                 '(merge the slices of one job, each once)' % (host, seen[host], name))
            seen[host] = name
            merged[host] = hosts[host]
    return merged


def read_reports(patterns, cwd):
    """The JSON reports to merge: (absolute paths, reports). Each pattern is a path or a glob
    (relative to cwd); a pattern that matches nothing, a file listed twice, an
    unreadable file or one that is not JSON is refused (MergeError)."""
    if not patterns:
        raise MergeError('no reports listed')
    paths = []
    for pattern in patterns:
        full = os.path.join(cwd, os.path.expanduser(pattern))
        found = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not found or not all(os.path.isfile(p) for p in found):
            raise MergeError('%s: no such report file' % pattern)
        for path in (os.path.realpath(p) for p in found):
            if path in paths:
                raise MergeError('%s is listed twice' % path)
            paths.append(path)
    reports = []
    for path in paths:
        try:
            with open(path) as f:
                reports.append(json.load(f))
        except (IOError, OSError) as e:
            raise MergeError('cannot read %s: %s' % (path, e))
        except ValueError as e:
            raise MergeError('%s is not JSON: %s' % (path, e))
    return paths, reports


def same_audit(documents, names, fields=SAME_AUDIT):
    """Refuses documents that differ in any of fields, naming the first difference."""
    for name, document in zip(names[1:], documents[1:]):
        for field in fields:
            if document.get(field) != documents[0].get(field):
                raise MergeError('%s and %s differ in %s (%s, %s): only the reports of one audit merge - the same '
                                 'collection and ansible-core versions, options and fail_on' % (
                                     names[0], name, field, _shown(documents[0].get(field)),
                                     _shown(document.get(field))))


def _shown(value):
    return json.dumps(value, sort_keys=True)


def merge(reports, names=None):
    """One fleet report from the reports of the slices of one audit (AWX job slicing, or any split
    of the inventory): the hosts' entries as the slices wrote them, the counts, verdict and
    profiles over all of them, generated_at of the newest. Raises MergeError with the reason for
    reports that are not of one audit or share a host."""
    reports = list(reports)
    names = list(names or ['report %d' % (i + 1) for i in range(len(reports))])
    if not reports:
        raise MergeError('no reports to merge')
    for name, report in zip(names, reports):
        if not isinstance(report, dict) or report.get('schema') != SCHEMA:
            raise MergeError('%s is not a conntrack audit report (its schema is not %s)' % (name, SCHEMA))
        if report.get('schema_version') != SCHEMA_VERSION:
            raise MergeError('%s is a report of schema v%s; this collection merges v%d: run every slice with the '
                             'same collection version' % (name, report.get('schema_version'), SCHEMA_VERSION))
    same_audit(reports, names)
    entries = merge_hosts(reports, names)
    for host, e in sorted(entries.items()):
        if not isinstance(e, dict) or e.get('status') not in STATUSES or 'fails_run' not in e:
            raise MergeError('host %s: not an audit entry (status one of %s, fails_run)' % (host, ', '.join(STATUSES)))
        if isinstance(e.get('keys'), dict):
            # the module's order (the JSON file's is alphabetical): the HTML lists the keys in it
            entries[host] = dict(e, keys=dict((k, e['keys'][k]) for k in _keys.sort_keys(list(e['keys']))))
    newest = max(str(r.get('generated_at') or '') for r in reports) or None
    return assemble(entries, copy.deepcopy(reports[0]['options']), reports[0], newest)


def comparable(report):
    """A copy of the report without what describes the run rather than the fleet (RUN_FIELDS; per
    host the health window's since, seconds and why, also where the host's texts quote them): what
    a merged report and one run over the same hosts in the same state have in common."""
    out = copy.deepcopy(report)
    for field in RUN_FIELDS:
        out[field] = RUN_SPECIFIC
    for entry in (out.get('hosts') or {}).values():
        window = (entry.get('health') or {}).get('window')
        texts = []
        if window:
            texts = sorted(set(t for t in (_health._window_text(window), window.get('why')) if t),
                           key=len, reverse=True)
            window.update(since=RUN_SPECIFIC, seconds=RUN_SPECIFIC, why=RUN_SPECIFIC)
        entry.update(_masked(dict(entry), texts))
    return out


def _masked(value, texts):
    """value with every text of texts, and of RUN_PATTERNS, replaced by RUN_SPECIFIC in its strings
    (dicts and lists walked)."""
    if isinstance(value, dict):
        return dict((k, _masked(v, texts)) for k, v in value.items())
    if isinstance(value, list):
        return [_masked(v, texts) for v in value]
    if isinstance(value, str):
        for text in texts:
            value = value.replace(text, RUN_SPECIFIC)
        for pattern in RUN_PATTERNS:
            value = pattern.sub(RUN_SPECIFIC, value)
    return value
