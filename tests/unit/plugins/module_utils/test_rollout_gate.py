# -*- coding: utf-8 -*-
"""The rollout's health gate (plugins/module_utils/rollout/gate.py), table-driven: the verdict from
two windows (before and after the change) and the thresholds, with its evidence; counters that go
down (a reboot) never pass; the checks' and thresholds' validation with the exact messages, in the
module's words and in the role's. The module is in tests/unit/plugins/modules and on the real
kernel in tests/netns/test_rollout_gate_netns.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.rollout import gate

DEFAULTS = dict(gate.DEFAULT_THRESHOLDS)


def window(seconds=5, count=(10, 12), cmax=3000, drop=(0, 0), early_drop=(0, 0), insert_failed=(0, 0)):
    """A measured window: each counter as (start, end); None for unreadable."""
    def at(i):
        return {'time': 1000.0 + i * seconds, 'count': count[i], 'max': cmax, 'source': 'procfs',
                'drop': drop[i] if drop else None, 'early_drop': early_drop[i] if early_drop else None,
                'insert_failed': insert_failed[i] if insert_failed else None}
    return gate.measure(at(0), at(1), seconds)


QUIET = window()
VERDICTS = [
    # (id, window after the change, baseline, thresholds, failing gates, evidence of the first failure)
    ('no growth passes', window(), QUIET, {}, [], None),
    ('growth no larger than before passes', window(drop=(100, 140)), window(drop=(0, 40)), {}, [], None),
    ('drop growth over the baseline fails', window(drop=(7, 1675), early_drop=(1, 333)), QUIET, {}, ['drops'],
     'drop +1668, early_drop +332 in 5 s (before the change: +0 in 5 s)'),
    ('drop growth within the allowance passes', window(drop=(0, 3)), QUIET, {'drop_allowance': 3}, [], None),
    ('drop growth over the allowance names it', window(drop=(0, 4)), QUIET, {'drop_allowance': 3}, ['drops'],
     'drop +4 in 5 s (before the change: +0 in 5 s; allowance 3)'),
    ('a longer baseline is scaled to the window', window(drop=(0, 30)), window(seconds=60, drop=(0, 120)), {},
     ['drops'], 'drop +30 in 5 s (before the change: +120 in 60 s, 10.0 per 5 s)'),
    ('clash drops belong to insert_failed, within factor x before + allowance',
     window(drop=(0, 16), insert_failed=(0, 16)), window(insert_failed=(0, 3)), {}, [], None),
    ('insert_failed over factor x before + allowance fails', window(drop=(0, 17), insert_failed=(0, 17)),
     window(insert_failed=(0, 3)), {}, ['insert_failed'],
     'insert_failed +17 in 5 s (before the change: +3 in 5 s; allowed: 2 x 3 + 10 = 16)'),
    ('drops beyond the failed inserts are drops', window(drop=(0, 20), insert_failed=(0, 5)), QUIET, {}, ['drops'],
     'drop +20 in 5 s, 15 beyond the failed inserts (before the change: +0 in 5 s)'),
    ('usage under the threshold passes', window(count=(2600, 2690)), QUIET, {}, [], None),
    ('usage over the threshold fails', window(count=(2600, 2750)), QUIET, {}, ['usage'],
     'count 2750 is 91.7% of max 3000 at the end of the window (threshold 90%; before the change: 0.4% '
     '(count 12 of max 3000))'),
    ('a lower usage threshold', window(count=(2600, 2690)), QUIET, {'usage_percent': 75}, ['usage'], None),
    ('a full table fails usage and full', window(count=(3000, 3000)), None, {}, ['usage', 'full'], None),
    ('no baseline: compared with +0', window(early_drop=(0, 2)), None, {}, ['drops'],
     'early_drop +2 in 5 s (before the change: no baseline: compared with +0)'),
    ('counters reset in the window (a reboot: end < start) fail, never pass',
     window(drop=(5000, 12), early_drop=(40, 0)), QUIET, {}, ['drops'],
     'drop went down from 5000 to 12, early_drop went down from 40 to 0 during the 5 s window (a reboot or a counter '
     'reset): the growth is unknown, so this gate cannot pass'),
    ('insert_failed reset fails its gate', window(insert_failed=(90, 1)), QUIET, {}, ['insert_failed'], None),
    ('a reset in the baseline compares with +0', window(drop=(0, 1)), window(drop=(50, 3)), {}, ['drops'],
     'drop +1 in 5 s (before the change: unknown, a counter went down in that window: compared with +0)'),
    ('a reset baseline does not hide a quiet window', window(), window(drop=(50, 3)), {}, [], None),
    ('a counter unreadable at one end fails', window(drop=None), QUIET, {}, ['drops'], None),
    ('a zero window compares two instants', window(seconds=0, count=(5, 5)), window(seconds=0), {}, [], None),
]


@pytest.mark.parametrize('after, before, thresholds, failing, evidence', [v[1:] for v in VERDICTS],
                         ids=[v[0] for v in VERDICTS])
def test_verdict(after, before, thresholds, failing, evidence):
    result = gate.verdict(after, before, dict(DEFAULTS, **thresholds))
    assert [f['gate'] for f in result['failures']] == failing
    assert result['passed'] is (not failing)
    if evidence:
        assert result['failures'][0]['evidence'] == evidence
    assert result['lines'][0].startswith('gate %s over' % ('passed' if not failing else 'FAILED'))


def test_no_counters_skips_the_counter_gates_and_still_checks_usage():
    after = window(drop=None, early_drop=None, insert_failed=None, count=(2990, 3000))
    result = gate.verdict(after, QUIET, DEFAULTS)
    assert [s['gate'] for s in result['skipped']] == ['drops', 'insert_failed']
    assert [f['gate'] for f in result['failures']] == ['usage', 'full']
    assert 'no drop counters readable here' in result['skipped'][0]['why']


def test_no_table_skips_usage_and_full():
    after = window(count=(None, None), cmax=None)
    result = gate.verdict(after, QUIET, DEFAULTS)
    assert result['passed'] and [s['gate'] for s in result['skipped']] == ['usage', 'full']


def test_checks_join_the_verdict_with_what_they_did_before():
    api = {'name': 'api', 'url': 'http://127.0.0.1/', 'timeout': 10}
    dns = {'name': 'dns', 'command': 'false', 'timeout': 10}
    failed = gate.url_result(api, 503, 'Service Unavailable', b'<h1>\nupstream down\n</h1>\n', 0.01)
    assert failed['evidence'] == 'HTTP 503 Service Unavailable: <h1> | upstream down | </h1>' and not failed['passed']
    ok = gate.command_result(dns, 0, b'10.0.0.1 example\n', b'', 0.2)
    assert ok['passed'] and ok['evidence'] == 'exit 0: 10.0.0.1 example'
    before = dict(QUIET, checks=[gate.url_result(api, 200, 'OK', b'', 0.01)])
    result = gate.verdict(QUIET, before, DEFAULTS, [failed, ok])
    evidence = 'HTTP 503 Service Unavailable: <h1> | upstream down | </h1> (before the change: passed)'
    assert result['failures'] == [{'gate': 'check:api', 'evidence': evidence}]
    assert result['lines'][0] == 'gate FAILED over 5 s: drops, insert_failed, usage, full, check:api, check:dns'
    assert gate.failure_message(result).startswith('the rollout gate failed: check:api (HTTP 503')


@pytest.mark.parametrize('args, evidence, passed', [
    ((1, b'', b'curl: (7) Failed to connect\n', 0.1), 'exit 1: curl: (7) Failed to connect', False),
    ((None, b'partial\n', b'', 5.0, True), 'still running after 5 s: killed: partial', False),
    ((None, b'', b'', 0.0, False, 'No such file'), 'could not run /bin/sh: No such file', False),
    ((2, b'out only\n', b'', 0.1), 'exit 2: out only', False),
])
def test_command_evidence(args, evidence, passed):
    result = gate.command_result({'name': 'c', 'command': 'x', 'timeout': 5}, *args)
    assert result['evidence'] == evidence and result['passed'] is passed


def test_url_without_answer_and_long_output_tail():
    check = {'name': 'u', 'url': 'http://127.0.0.1:9/', 'timeout': 1}
    result = gate.url_result(check, None, None, '', 0.0, error='[Errno 111] Connection refused')
    assert result['evidence'] == 'no answer from http://127.0.0.1:9/: [Errno 111] Connection refused'
    assert result['passed'] is False and result['status'] is None
    text = '\n'.join('line %d %s' % (i, 'x' * 100) for i in range(50))
    out = gate.tail(text)
    assert len(out) == gate.TAIL_CHARS and out.startswith('...') and out.endswith('line 49 ' + 'x' * 100)


CHECK_ERRORS = [
    # (checks, vocabulary, exact errors)
    ({'name': 'a', 'command': 'true'}, 'role',
     ['conntrack_rollout_checks: expected a list of checks, each {name, command} or {name, url}; got a dict']),
    ('true', 'module',
     ["checks: expected a list of checks, each {name, command} or {name, url}; got the string 'true'"]),
    ([{'name': 'a', 'command': 'true'}, 'x', {'name': 'b', 'command': 'true', 'url': 'http://h/'}], 'role',
     ["conntrack_rollout_checks[1]: expected a dict {name, command} or {name, url}, got the string 'x'",
      'conntrack_rollout_checks[2]: give command or url, not both']),
    ([{'name': 'a'}], 'module',
     ['checks[0]: give command (run on the host by /bin/sh -c, passes on exit 0) or url (requested from the host, '
      'passes on a 2xx answer)']),
    ([{'command': 'true'}, {'name': ' ', 'url': 'http://h/'}], 'role',
     ['conntrack_rollout_checks[0]: name: give each check a name (its gate is check:NAME), got None',
      "conntrack_rollout_checks[1]: name: give each check a name (its gate is check:NAME), got ' '"]),
    ([{'name': 'a', 'command': 'true'}, {'name': 'a', 'url': 'https://h/x'}], 'role',
     ["conntrack_rollout_checks[1]: name 'a' is also the name of conntrack_rollout_checks[0]; each check needs its own "
      'name (its gate is check:NAME)']),
    ([{'name': 'a', 'url': 'ftp://h/'}, {'name': 'b', 'command': ''}], 'module',
     ["checks[0]: url: expected an http:// or https:// URL, got 'ftp://h/'",
      "checks[1]: command: expected a shell command line (a non-empty string), got ''"]),
    ([{'name': 'a', 'command': 'true', 'timout': 5}], 'role',
     ["conntrack_rollout_checks[0]: unknown key 'timout' (did you mean 'timeout'?); allowed: name, command, url, "
      'timeout']),
    ([{'name': 'a', 'command': 'true', 'timeout': 0}, {'name': 'b', 'command': 'true', 'timeout': 'soon'}], 'role',
     ['conntrack_rollout_checks[0].timeout: 0 is outside the allowed range 0.1-3600 seconds',
      "conntrack_rollout_checks[1].timeout: expected a number in the allowed range 0.1-3600 seconds, got 'soon'"]),
]


@pytest.mark.parametrize('checks, vocabulary, errors', CHECK_ERRORS)
def test_check_validation_messages(checks, vocabulary, errors):
    normalized, found = gate.validate_checks(checks, vocabulary)
    assert found == errors and normalized == []


def test_valid_checks_are_normalized():
    checks = [{'name': 'api', 'url': ' http://127.0.0.1:8080/healthz '},
              {'name': 'dns', 'command': 'true', 'timeout': '5'}]
    assert gate.validate_checks(checks, 'role', 7) == (
        [{'name': 'api', 'url': 'http://127.0.0.1:8080/healthz', 'timeout': 7},
         {'name': 'dns', 'command': 'true', 'timeout': 5}], [])
    assert gate.validate_checks(None) == ([], [])
    assert gate.validate_checks([]) == ([], [])


THRESHOLD_ERRORS = [
    ([1], 'role', ['conntrack_rollout_thresholds: expected a dict with any of drop_allowance, insert_failed_allowance, '
                   'insert_failed_factor, usage_percent, got a list [1]']),
    ({'drop_alowance': 1}, 'role',
     ["conntrack_rollout_thresholds: unknown threshold 'drop_alowance' (did you mean 'drop_allowance'?); allowed: "
      'drop_allowance, insert_failed_allowance, insert_failed_factor, usage_percent']),
    ({'drop_allowance': -1, 'insert_failed_allowance': 1.5}, 'module',
     ['thresholds.drop_allowance: -1 is outside the allowed range 0-1000000000 packets',
      'thresholds.insert_failed_allowance: expected an integer in the allowed range 0-1000000000 packets, got 1.5']),
    ({'usage_percent': 150, 'insert_failed_factor': True}, 'role',
     ['conntrack_rollout_thresholds.insert_failed_factor: expected a number in the allowed range 0-1000, got True',
      'conntrack_rollout_thresholds.usage_percent: 150 is outside the allowed range 5-100 percent of max']),
]


@pytest.mark.parametrize('thresholds, vocabulary, errors', THRESHOLD_ERRORS)
def test_threshold_validation_messages(thresholds, vocabulary, errors):
    assert gate.validate_thresholds(thresholds, vocabulary)[1] == errors


def test_thresholds_take_their_defaults():
    assert gate.validate_thresholds(None) == (DEFAULTS, [])
    assert gate.validate_thresholds({'usage_percent': '75', 'drop_allowance': None}) == (
        dict(DEFAULTS, usage_percent=75), [])


def test_window_and_soak_warning():
    assert gate.validate_seconds(-1, 'window', 'role') == (
        None, 'conntrack_rollout_soak: -1 is outside the allowed range 0-86400 seconds')
    assert gate.validate_seconds('300', 'window') == (300, None)
    warning = gate.soak_warning(0, 'role')
    assert warning.startswith('conntrack_rollout_soak is 0: the health gate then compares two samples taken at the '
                              'same moment')
    assert gate.soak_warning(0, 'module').startswith('window is 0')
    assert gate.soak_warning(300) is None and gate.soak_warning(0, health=False) is None


def test_baseline_must_be_a_sample():
    assert gate.validate_baseline(QUIET) == []
    assert gate.validate_baseline({'drop': 1}) == [
        'baseline: expected the sample that phase=baseline returned (with seconds and delta), got a dict']
    assert gate.validate_baseline(None) == [
        'baseline: expected the sample that phase=baseline returned (with seconds and delta), got NoneType None']


def test_point_reads_the_gathered_counters():
    stats = {'source': 'procfs', 'drop': 3, 'early_drop': 0, 'insert_failed': 1, 'found': 9}
    reading = {'time': 5.0, 'count': 7, 'max': 100, 'stats': stats}
    assert gate.point(reading) == {'time': 5.0, 'count': 7, 'max': 100, 'source': 'procfs', 'drop': 3,
                                   'early_drop': 0, 'insert_failed': 1}
    assert gate.point({'time': 5.0, 'count': None, 'max': None, 'stats': {'source': 'none'}})['drop'] is None


@pytest.mark.parametrize('baseline', [
    dict(QUIET, delta={'drop': 'x'}), dict(QUIET, seconds=-1), dict(QUIET, seconds=True), dict(QUIET, end=[]),
    dict(QUIET, end={'count': 5, 'max': 0}), dict(QUIET, checks=['x']), dict(QUIET, checks={}),
])
def test_a_baseline_that_is_not_a_sample_is_refused(baseline):
    assert gate.validate_baseline(baseline) == [
        'baseline: expected the sample that phase=baseline returned (with seconds and delta), got a dict']
