# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report (_audit_report): every host accounted for, counts, worst first, the
JSON Schema shipped in schemas/ (checked with jsonschema), and the JUnit XML read by a real
consumer (junitparser) in the testsuites/testsuite/testcase/failure layout GitLab and Jenkins
read. Hypothesis checks the invariants on fleets of any shape and any fail_on."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import random
import xml.etree.ElementTree as ET

import jsonschema
import junitparser
import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, report as _audit_report

import audit_synth

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
SCHEMA_FILE = os.path.join(ROOT, 'schemas', 'conntrack-audit-report-v2.schema.json')
META = {'collection_version': '0.1.0', 'ansible_core_version': '2.19.14'}
EXAMPLES = int(os.environ.get('NFCT_HYPOTHESIS_EXAMPLES', '60'))
ALL_KINDS = list(_audit.KINDS) + list(_audit.HOST_KINDS)


@pytest.fixture(scope='module')
def schema():
    with open(SCHEMA_FILE) as f:
        s = json.load(f)
    jsonschema.validators.validator_for(s).check_schema(s)
    return s


@pytest.fixture(scope='module')
def fleet():
    return audit_synth.fleet(36)


def validate(schema, report):
    # through JSON, as a consumer reads the file
    data = json.loads(json.dumps(report))
    jsonschema.validators.validator_for(schema)(schema).validate(data)
    return data


def test_schema_file_is_the_one_the_report_names(schema):
    assert schema['$id'] == _audit_report.SCHEMA + ':v%d' % _audit_report.SCHEMA_VERSION
    assert schema['properties']['schema']['const'] == _audit_report.SCHEMA
    assert schema['properties']['schema_version']['const'] == _audit_report.SCHEMA_VERSION


def test_report_validates_and_counts_every_host(schema, fleet):
    hosts = sorted(fleet) + ['never-ran']   # in the play, but no result at all
    report = _audit_report.build(fleet, hosts, meta=META)
    validate(schema, report)
    assert sorted(report['hosts']) == sorted(hosts)
    c = report['counts']
    assert c['hosts'] == len(hosts) == c['in_sync'] + c['drifted'] + c['unreachable'] + c['failed']
    assert c['checked'] == c['in_sync'] + c['drifted']
    assert c['unreachable'] >= 2 and c['failed'] >= 1   # the synthetic ones and never-ran
    assert report['hosts']['never-ran']['status'] == 'unreachable'
    assert 'no result' in report['hosts']['never-ran']['error']
    assert report['failed'] is True and 'never-ran' in report['failing_hosts']
    assert report['generated_at'].endswith('Z') and report['collection_version'] == '0.1.0'


def test_top_level_fields(fleet):
    report = _audit_report.build(fleet, sorted(fleet), options={'only_raise': True}, meta=META)
    for key in ('schema', 'schema_version', 'generated_at', 'collection_version', 'ansible_core_version', 'profile', 'profiles',
                'options', 'counts', 'failed', 'failing_hosts', 'hosts'):
        assert key in report
    assert report['options'] == {'only_raise': True, 'fail_on': list(_audit.DEFAULT_FAIL_ON)}
    h = next(e for e in report['hosts'].values() if e['status'] == 'drifted')
    for key in ('status', 'kernel', 'netns', 'conntrack', 'usage', 'drops', 'memory', 'keys', 'warnings', 'notrack'):
        assert key in h
    for k in h['keys'].values():
        for key in ('desired', 'runtime', 'persisted', 'at_boot', 'kinds', 'shadowed_by', 'reason', 'source'):
            assert key in k
    assert set(h['usage']) >= {'count', 'max', 'ratio', 'chain_length'}
    assert set(h['drops']) >= {'drop', 'early_drop', 'insert_failed', 'invalid'}


def test_unreachable_and_failed_pass_only_when_fail_on_says_so(fleet):
    report = _audit_report.build(fleet, sorted(fleet), fail_on=['runtime', 'at_boot', 'shadowed', 'notrack'])
    bad = [h for h, e in report['hosts'].items() if e['status'] in ('unreachable', 'failed')]
    assert bad and not set(bad) & set(report['failing_hosts'])
    assert all(report['hosts'][h]['error'] for h in bad)   # still in the report, with the error
    report = _audit_report.build(fleet, sorted(fleet), fail_on=[])
    assert report['failed'] is False and report['failing_hosts'] == []
    assert report['counts']['unreachable'] >= 1
    lines = _audit_report.summary_lines(report)
    assert lines[0].endswith('the run passes (fail_on: nothing)')


@pytest.mark.parametrize('result, status, error', [
    (None, 'unreachable', 'no result: the host was unreachable or skipped before the audit ran'),
    ({'unreachable': True, 'msg': 'Failed to connect to the host via ssh: timeout\n'}, 'unreachable',
     'Failed to connect to the host via ssh: timeout'),
    ({'failed': True, 'msg': 'MODULE FAILURE', 'module_stderr': 'Traceback...'}, 'failed', 'MODULE FAILURE'),
    ({'failed': True, 'module_stderr': '/bin/sh: python3: not found'}, 'failed', '/bin/sh: python3: not found'),
    ({'changed': False}, 'failed', 'the audit module failed'),   # no audit in the result
    ({'skipped': True, 'skip_reason': 'Conditional result was False'}, 'failed', 'the audit module failed'),
])
def test_host_without_an_audit(result, status, error):
    e = _audit_report.host_entry('h', result, list(_audit.DEFAULT_FAIL_ON))
    assert e['status'] == status and e['error'] == error
    assert e['fails_run'] is True and e['failing_kinds'] == [status]
    assert e['lines'] == ['%s: %s' % (status.upper(), error)]


def test_order_is_worst_first(fleet):
    report = _audit_report.build(fleet, sorted(fleet))
    names = _audit_report.order(report)

    def severity(e):
        unhealthy = _audit_report.unhealthy(e) and e['status'] in ('in_sync', 'drifted')
        return _audit_report.SEVERITY['unhealthy' if unhealthy else e['status']]
    sev = [severity(report['hosts'][n]) for n in names]
    assert sev == sorted(sev)
    # the tables that drop now come right after the hosts that did not answer
    unhealthy = [n for n in names if _audit_report.unhealthy(report['hosts'][n])]
    assert unhealthy and names.index(unhealthy[0]) == report['counts']['unreachable'] + report['counts']['failed']
    drifted = [n for n in names if report['hosts'][n]['status'] == 'drifted' and not _audit_report.unhealthy(report['hosts'][n])]
    counts = [report['hosts'][n]['drift_count'] for n in drifted]
    assert counts == sorted(counts, reverse=True)


def test_summary_lines_are_readable(fleet):
    report = _audit_report.build(fleet, sorted(fleet))
    lines = _audit_report.summary_lines(report)
    c = report['counts']
    assert lines[0] == ('conntrack audit: %d hosts - %d in sync, %d drifted, %d unhealthy (full or dropping now), '
                        '%d unreachable, %d failed; %d fail the run (fail_on: runtime, at_boot, unpersisted, shadowed, '
                        'notrack, reenabled, unreachable, failed, full, dropping)'
                        % (c['hosts'], c['in_sync'], c['drifted'], c['unhealthy'], c['unreachable'], c['failed'],
                           c['failing']))
    assert c['unhealthy'] > 0
    text = '\n'.join(lines)
    assert 'None' not in text and '\\n' not in text
    for name in fleet:
        assert sum(1 for line in lines if line.startswith(name + ': ')) == 1
    one = _audit_report.build({'a': fleet['host-0001']}, ['a'])
    assert _audit_report.summary_lines(one)[0].startswith('conntrack audit: 1 host - ')


def test_junit_read_by_junitparser(fleet, tmp_path):
    report = _audit_report.build(fleet, sorted(fleet) + ['never-ran'])
    path = tmp_path / 'audit.junit.xml'
    path.write_text(_audit_report.to_junit(report))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = dict((s.name, s) for s in xml)
    assert sorted(suites) == sorted(report['hosts'])   # one testsuite per host
    failing_cases = 0
    for name, suite in suites.items():
        e = report['hosts'][name]
        cases = dict((c.name, c) for c in suite)
        assert 'reachability' in cases
        assert set(cases) - {'reachability', 'notrack', 'health'} == set(e['keys'])   # one testcase per key
        if e.get('health') is not None:
            health = cases['health'].result
            failing = [x for x in e['health']['kinds'] if x in report['options']['fail_on']]
            if failing:
                assert isinstance(health[0], junitparser.Failure) and health[0].message == '+'.join(failing)
                assert all(e['health']['evidence'][k] in health[0].text for k in failing)
                failing_cases += 1
            else:
                assert health == []
        for short, k in e['keys'].items():
            res = cases[short].result
            failing = [x for x in k['kinds'] if x in report['options']['fail_on']]
            if failing:
                assert len(res) == 1 and isinstance(res[0], junitparser.Failure)
                assert res[0].message == '+'.join(failing)
                assert ('desired %s' % k['desired']) in res[0].text   # the drift line travels with the failure
                failing_cases += 1
            elif k.get('readonly'):
                assert isinstance(res[0], junitparser.Skipped)
            else:
                assert res == []
        reach = cases['reachability'].result
        if e['status'] in ('unreachable', 'failed'):
            assert isinstance(reach[0], junitparser.Failure) and reach[0].text == e['error']
            failing_cases += 1
        else:
            assert reach == []
        assert suite.failures == sum(1 for c in suite if c.result and isinstance(c.result[0], junitparser.Failure))
    # the standard layout: testsuites > testsuite > testcase > failure, counts on the root
    root = ET.parse(str(path)).getroot()
    assert root.tag == 'testsuites'
    assert [c.tag for c in root] == ['testsuite'] * len(suites)
    assert all(c.tag == 'testcase' for s in root for c in s)
    assert int(root.get('failures')) == failing_cases == len(list(root.iter('failure')))
    assert int(root.get('tests')) == len(list(root.iter('testcase')))


def test_junit_escapes_everything():
    evil = '<b>&"\']]>'
    report = _audit_report.build({evil: {'unreachable': True, 'msg': evil}}, [evil])
    root = ET.fromstring(_audit_report.to_junit(report).encode('utf-8'))
    suite = root[0]
    assert suite.get('name') == evil and suite[0].find('failure').text == evil


SHAPES = list(audit_synth.SHAPES) + ['none']
RESULTS = {}


def result_of(shape, i):
    """A synthetic result per (shape, variant), built once."""
    key = (shape, i)
    if key not in RESULTS:
        RESULTS[key] = None if shape == 'none' else audit_synth.audit_result(random.Random(i), shape)
    return RESULTS[key]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SHAPES), st.integers(0, 3)), min_size=0, max_size=25),
       st.lists(st.sampled_from(ALL_KINDS), unique=True))
def test_report_invariants(schema_cached, hosts, fail_on):
    results = dict(('h%02d' % i, result_of(shape, v)) for i, (shape, v) in enumerate(hosts))
    names = sorted(results)
    report = _audit_report.build(dict((h, r) for h, r in results.items() if r is not None), names, fail_on=fail_on)
    validate(schema_cached, report)
    # nothing silently left out, the counts add up, failure means exactly "some host fails"
    assert sorted(report['hosts']) == names
    c = report['counts']
    assert c['hosts'] == len(names) == sum(c[s] for s in _audit_report.STATUSES)
    assert report['failed'] is bool(report['failing_hosts'])
    for h, e in report['hosts'].items():
        assert set(e['failing_kinds']) <= set(fail_on)
        assert e['fails_run'] is bool(e['failing_kinds'])
        assert (h in report['failing_hosts']) is e['fails_run']
        if e['status'] in ('unreachable', 'failed'):
            assert e['fails_run'] is (e['status'] in fail_on)
        if e['status'] == 'in_sync':
            assert not set(e['failing_kinds']) - {'unpersisted'}
    # JUnit: as many failed testcases as failing (host, key) and (host, host kind) pairs
    root = ET.fromstring(_audit_report.to_junit(report).encode('utf-8'))
    expected = 0
    for e in report['hosts'].values():
        expected += sum(1 for k in e['keys'].values() if set(k['kinds']) & set(fail_on))
        expected += 1 if e['status'] in ('unreachable', 'failed') and e['status'] in fail_on else 0
        expected += 1 if (e.get('notrack') or {}).get('drifted') and 'notrack' in fail_on else 0
    assert int(root.get('failures')) == expected == len(list(root.iter('failure')))
    lines = _audit_report.summary_lines(report)
    assert len([line for line in lines if not line.startswith(' ')]) == 1 + len(names)


@pytest.fixture(scope='module')
def schema_cached(schema):
    return schema
