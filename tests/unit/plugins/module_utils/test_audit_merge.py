# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merging the reports of job slices (_audit_report.merge, docs/fleet.md): a fleet split the way
AWX slices a job (hosts sorted by name, slice k of n gets every n-th from the k-th), each slice's
report built as its run builds it, merged back - equal to the one run's report but for the run's own
fields (comparable()), in JSON, JUnit and HTML; the refusals, each with its message; the action's
merge option as Ansible runs it on the controller (files written, bad input refused)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import datetime
import json
import os

import jsonschema
import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, html as _audit_html, \
    report as _audit_report

import audit_synth
import modrun

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
SCHEMA_FILE = os.path.join(ROOT, 'schemas', 'conntrack-audit-report-v2.schema.json')
META = {'collection_version': '0.3.0', 'ansible_core_version': '2.19.14'}
CONTEXT = {'inventory': ['/runner/inventory/hosts']}
T0 = datetime.datetime(2026, 12, 6, 10, 0, 0, tzinfo=datetime.timezone.utc)


def awx_slice(hosts, number, count):
    """The hosts of slice `number` (1-based) of `count`, as AWX's Inventory.get_sliced_hosts
    gives them: the hosts ordered by name, every count-th from offset number - 1."""
    return sorted(hosts)[number - 1::count]


@pytest.fixture(scope='module')
def fleet():
    return audit_synth.fleet(24)


def one_run(fleet, hosts=None, fail_on=_audit.DEFAULT_FAIL_ON, options=None, at=T0):
    hosts = sorted(fleet) if hosts is None else hosts
    return _audit_report.build(fleet, hosts, fail_on, options if options is not None else {'only_raise': True},
                               META, now=at, context=CONTEXT)


def slices(fleet, count, **kw):
    return [one_run(fleet, awx_slice(fleet, k, count), at=T0 + datetime.timedelta(minutes=k), **kw)
            for k in range(1, count + 1)]


def html_without_run_fields(report):
    return _audit_html.to_html(report).replace(report['generated_at'], '<generated_at>')


# ---------------------------------------------------------------- the merge equals one run

@pytest.mark.parametrize('count, fail_on', [
    (1, _audit.DEFAULT_FAIL_ON),
    (2, _audit.DEFAULT_FAIL_ON),
    (3, _audit.DEFAULT_FAIL_ON),
    (5, ('runtime', 'unreachable')),
    (24, ()),                           # a slice per host
    (3, _audit.ALL_KINDS),
])
def test_merged_slices_equal_the_one_run(fleet, count, fail_on):
    whole = one_run(fleet, fail_on=fail_on)
    parts = slices(fleet, count, fail_on=fail_on)
    assert sorted(h for p in parts for h in p['hosts']) == sorted(fleet)   # a partition of the fleet
    merged = _audit_report.merge(parts)
    with open(SCHEMA_FILE) as f:
        schema = json.load(f)
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(json.dumps(merged)))
    # everything but generated_at: the newest slice's
    assert merged['generated_at'] == (T0 + datetime.timedelta(minutes=count)).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert dict(merged, generated_at=None) == dict(whole, generated_at=None)
    assert _audit_report.comparable(merged) == _audit_report.comparable(whole)
    assert _audit_report.to_junit(merged) == _audit_report.to_junit(whole)
    assert _audit_report.summary_lines(merged) == _audit_report.summary_lines(whole)
    assert html_without_run_fields(merged) == html_without_run_fields(whole)


def test_merge_is_independent_of_the_order_and_leaves_its_inputs_alone(fleet):
    parts = slices(fleet, 4)
    before = copy.deepcopy(parts)
    assert _audit_report.merge(parts) == _audit_report.merge(list(reversed(parts)))
    assert parts == before


def test_merging_merged_reports_gives_the_same(fleet):
    parts = slices(fleet, 4)
    assert _audit_report.merge([_audit_report.merge(parts[:2]), _audit_report.merge(parts[2:])]) == \
        _audit_report.merge(parts)


# ---------------------------------------------------------------- what is compared

def with_window(report, host, seconds, since):
    """report with host's health window as another run measured it: another length and start, also in its
    texts (the lines, the evidence)."""
    out = copy.deepcopy(report)
    health = out['hosts'][host]['health']
    old_texts = [_audit_report._health._window_text(health['window']), health['window']['why']]
    window = dict(health['window'], seconds=seconds, since=since, why='a sample of %.1f s inside this run' % seconds)
    new_texts = [_audit_report._health._window_text(window), window['why']]
    health['window'] = window
    text = json.dumps(out['hosts'][host])
    for old, new in zip(old_texts, new_texts):
        text = text.replace(old, new)
    out['hosts'][host] = json.loads(text)
    return out


@pytest.mark.parametrize('change, same', [
    (lambda r, h: dict(r, generated_at='2030-01-01T00:00:00Z'), True),
    (lambda r, h: with_window(r, h, 1.3, 12345.6), True),
    (lambda r, h: with_window(r, h, 3661.0, 1.0), True),
    (lambda r, h: dict(r, collection_version='9.9.9'), False),
    (lambda r, h: dict(r, options=dict(r['options'], only_raise=False)), False),
    (lambda r, h: dict(r, hosts=dict(r['hosts'], **{h: dict(r['hosts'][h], fails_run=not r['hosts'][h]['fails_run'])})),
     False),
    (lambda r, h: dict(r, hosts=dict((k, v) for k, v in r['hosts'].items() if k != h)), False),
])
def test_comparable_leaves_out_only_the_run_fields(fleet, change, same):
    report = one_run(fleet)
    host = next(h for h in sorted(report['hosts']) if report['hosts'][h].get('health')
                and report['hosts'][h]['health']['kinds'])          # a full table: its evidence quotes the window
    assert any(report['hosts'][host]['health']['window']['why'] in line for line in report['hosts'][host]['lines'])
    assert (_audit_report.comparable(change(report, host)) == _audit_report.comparable(report)) is same


def test_comparable_masks_every_quote_of_the_window(fleet):
    masked = _audit_report.comparable(one_run(fleet))
    text = json.dumps(masked)
    assert 'a sample of' not in text and 'in the last' not in text
    assert masked['generated_at'] == _audit_report.RUN_SPECIFIC
    for entry in masked['hosts'].values():
        if entry.get('health'):
            assert entry['health']['window']['source'] == 'sample'   # what kind of window stays compared
            assert entry['health']['window']['seconds'] == _audit_report.RUN_SPECIFIC


# ---------------------------------------------------------------- refusals

def _renamed(report, old, new):
    out = copy.deepcopy(report)
    out['hosts'][new] = out['hosts'].pop(old)
    return out


REFUSALS = [
    ('no reports', lambda a, b: [], 'no reports to merge'),
    ('fail_on differs', lambda a, b: [a, dict(b, options=dict(b['options'], fail_on=['runtime']))],
     'slice-1 and slice-2 differ in options'),
    ('an option differs', lambda a, b: [a, dict(b, options=dict(b['options'], only_raise=False))],
     'differ in options ({"fail_on": '),
    ('collection version', lambda a, b: [a, dict(b, collection_version='0.2.0')],
     'differ in collection_version ("0.3.0", "0.2.0"): only the reports of one audit merge'),
    ('ansible-core version', lambda a, b: [a, dict(b, ansible_core_version='2.17.0')],
     'differ in ansible_core_version'),
    ('schema version', lambda a, b: [a, dict(b, schema_version=1)],
     'slice-2 is a report of schema v1; this collection merges v2: run every slice with the same collection version'),
    ('not a report', lambda a, b: [a, {'hosts': {}}], 'slice-2 is not a conntrack audit report'),
    ('not a dict', lambda a, b: [a, ['x']], 'slice-2 is not a conntrack audit report'),
    ('hosts not a mapping', lambda a, b: [a, dict(b, hosts=['h'])],
     'slice-2 has no hosts mapping: not a report to merge'),
    ('a host twice', lambda a, b: [a, _renamed(b, sorted(b['hosts'])[0], sorted(a['hosts'])[1])],
     'is in two reports, slice-1 and slice-2: each host must be in one report only'),
    ('the same report twice', lambda a, b: [a, a], 'is in two reports, slice-1 and slice-2'),
    ('an entry without status', lambda a, b: [a, dict(b, hosts={'zz': {'error': None}})],
     'host zz: not an audit entry (status one of in_sync, drifted, unreachable, failed, fails_run)'),
]


@pytest.mark.parametrize('mutate, message', [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_merge_refuses_reports_not_of_one_audit(fleet, mutate, message):
    a, b = slices(fleet, 2)
    reports = mutate(a, b)
    with pytest.raises(_audit_report.MergeError) as e:
        _audit_report.merge(reports, ['slice-%d' % (i + 1) for i in range(len(reports))])
    assert message in str(e.value)


def test_merge_hosts_is_generic_over_the_hosts_mapping():
    docs = [{'hosts': {'a': {'stage': 1}}, 'other': 1}, {'hosts': {'b': {'stage': 2}, 'c': {}}}]
    assert _audit_report.merge_hosts(docs, ['x', 'y']) == {'a': {'stage': 1}, 'b': {'stage': 2}, 'c': {}}
    assert _audit_report.merge_hosts([{'nodes': {'a': 1}}], ['x'], key='nodes') == {'a': 1}
    with pytest.raises(_audit_report.MergeError, match='host a is in two reports, x and y'):
        _audit_report.merge_hosts([{'hosts': {'a': 1}}, {'hosts': {'a': 2}}], ['x', 'y'])
    _audit_report.same_audit([{'v': 1, 'w': 1}, {'v': 1, 'w': 2}], ['x', 'y'], fields=('v',))
    with pytest.raises(_audit_report.MergeError, match=r'x and y differ in w \(1, 2\)'):
        _audit_report.same_audit([{'v': 1, 'w': 1}, {'v': 1, 'w': 2}], ['x', 'y'], fields=('v', 'w'))


# ---------------------------------------------------------------- the action's merge option

def run_action(tmp_path, args, task_vars=None):
    """conntrack_audit_report as Ansible runs it on the controller, in tmp_path as the current folder."""
    from ansible_collections.nfct.tuning.plugins.action.conntrack_audit_report import ActionModule
    return modrun.run_action(ActionModule, tmp_path, args, task_vars)


def write_slices(tmp_path, fleet, count):
    (tmp_path / 'slices').mkdir()
    parts = slices(fleet, count)
    for i, part in enumerate(parts):
        (tmp_path / 'slices' / ('conntrack-audit-%d.json' % (i + 1))).write_text(json.dumps(part))
    return parts


def test_action_merges_and_writes_what_one_run_writes(tmp_path, fleet):
    parts = write_slices(tmp_path, fleet, 3)
    res = run_action(tmp_path, {'merge': ['slices/conntrack-audit-*.json'], 'json_path': 'out/merged.json',
                                'junit_path': 'out/merged.xml', 'html_path': 'out/merged.html'})
    assert not res.get('failed'), res
    merged = json.loads((tmp_path / 'out' / 'merged.json').read_text())
    assert merged == _audit_report.merge(parts)
    assert (tmp_path / 'out' / 'merged.xml').read_text() == _audit_report.to_junit(merged)
    # the HTML lists each host's keys in the module's order, not the JSON file's (alphabetical)
    assert (tmp_path / 'out' / 'merged.html').read_text() == _audit_html.to_html(_audit_report.merge(parts))
    assert html_without_run_fields(_audit_report.merge(json.loads(json.dumps(p, sort_keys=True)) for p in parts)) == \
        html_without_run_fields(one_run(fleet))
    assert res['merged'] == [str((tmp_path / 'slices' / ('conntrack-audit-%d.json' % i)).resolve()) for i in (1, 2, 3)]
    assert res['lines'][0].startswith('merged 3 reports: ')
    assert res['lines'][1:-1] == _audit_report.summary_lines(merged)
    assert res['failed_run'] is merged['failed'] is True and res['failing_hosts'] == merged['failing_hosts']


ACTION_REFUSALS = [
    ({'merge': ['slices/none-*.json']}, 'merge: slices/none-*.json: no such report file'),
    ({'merge': ['slices/missing.json']}, 'merge: slices/missing.json: no such report file'),
    ({'merge': ['slices/conntrack-audit-1.json', 'slices/*-1.json']}, 'conntrack-audit-1.json is listed twice'),
    ({'merge': ['slices/broken.json']}, 'broken.json is not JSON'),
    ({'merge': []}, 'merge: no reports listed'),
    ({'merge': ['slices/conntrack-audit-*.json'], 'junit_path': 'slices/conntrack-audit-2.json'},
     'junit_path: %s is one of the reports to merge; write the merged report to another path'),
    ({'merge': ['slices/conntrack-audit-*.json'], 'fail_on': ['runtime']}, 'mutually exclusive: merge|fail_on'),
    ({'merge': ['slices/conntrack-audit-*.json'], 'hosts': ['a']}, 'mutually exclusive: merge|hosts'),
    ({'merge': ['slices/conntrack-audit-*.json'], 'options': {}}, 'mutually exclusive: merge|options'),
]


@pytest.mark.parametrize('args, message', ACTION_REFUSALS, ids=['action-%02d' % i for i in range(len(ACTION_REFUSALS))])
def test_action_refuses_bad_merges_and_writes_nothing(tmp_path, fleet, args, message):
    write_slices(tmp_path, fleet, 2)
    (tmp_path / 'slices' / 'broken.json').write_text('{"schema": ')
    before = sorted(os.listdir(str(tmp_path / 'slices')))
    try:
        res = run_action(tmp_path, dict({'json_path': 'm.json', 'junit_path': 'm.xml', 'html_path': 'm.html'}, **args))
    except Exception as e:   # the argument spec's refusals are raised as AnsibleActionFail, shown as the task's msg
        res = {'failed': True, 'msg': str(e)}
    assert res.get('failed') is True, res
    if '%s' in message:
        message = message % (tmp_path / 'slices' / 'conntrack-audit-2.json').resolve()
    assert message in res['msg'], res['msg']
    assert 'Traceback' not in res['msg']
    assert sorted(os.listdir(str(tmp_path / 'slices'))) == before
    assert not any(os.path.exists(str(tmp_path / n)) for n in ('m.json', 'm.xml', 'm.html'))


def test_comparable_masks_ansibles_temporary_folder_in_errors(fleet):
    report = one_run(fleet)
    host = next(h for h in sorted(report['hosts']) if report['hosts'][h]['status'] == 'unreachable')
    runs = []
    for stamp in ('1796460132.650136-8485-198060074478251', '1796460199.1-91-7'):
        r = copy.deepcopy(report)
        r['hosts'][host]['error'] = ('Failed to create temporary directory: ( umask 77 && mkdir -p "` echo '
                                     '~/.ansible/tmp/ansible-tmp-%s `" ), exited with result 125' % stamp)
        runs.append(_audit_report.comparable(r))
    assert runs[0] == runs[1]
    assert runs[0]['hosts'][host]['error'].count(_audit_report.RUN_SPECIFIC) == 1
