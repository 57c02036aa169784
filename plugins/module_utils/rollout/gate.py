# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's health gate (docs/rollout.md, "The health gate"), as pure functions.

A host passes its gate when, over a window after the change (the soak), its table

  drops          did not drop more than over a window of the same length before the change, plus
                 drop_allowance (what only a full table makes the kernel count, as the audit's
                 `full` kind counts it - audit/health.py table_full_drops: early_drop, and drop
                 beyond insert_failed, since an unresolvable clash counts one drop and one
                 insert_failed and belongs to the next gate);
  insert_failed  did not fail more inserts than insert_failed_factor x before + allowance (a DNS
                 race makes short blips on busy nodes that must not stop a rollout);
  usage          is under usage_percent of max at the end of the window (the audit's high_usage);
  full           has not reached max at the end of the window (the audit's full);

and every user check passed (check:NAME: a command run on the host that exits 0, or a URL that
answers 2xx to a request made from the host).

The module conntrack_rollout_gate samples the counters and runs the checks; this file validates
the inputs (also on the controller, before any host is touched: validate_checks,
validate_thresholds, soak_warning), measures the growth between two samples and gives the verdict
with its evidence. A counter that went down between two samples (a reboot, a reset) has no known
growth: its gate fails, it never passes.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nfct.tuning.plugins.module_utils.audit import health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs

COUNTERS = _health.DROP_COUNTERS          # drop, early_drop, insert_failed
HEALTH_GATES = ('drops', 'insert_failed', 'usage', 'full')
DEFAULT_THRESHOLDS = {'drop_allowance': 0, 'insert_failed_allowance': 10, 'insert_failed_factor': 2.0,
                      'usage_percent': 90}
# threshold -> (low, high, integer, unit); usage_percent spans the audit's usage threshold range
THRESHOLD_RANGES = {
    'drop_allowance': (0, 10 ** 9, True, 'packets'),
    'insert_failed_allowance': (0, 10 ** 9, True, 'packets'),
    'insert_failed_factor': (0, 1000, False, None),
    'usage_percent': (int(_health.USAGE_THRESHOLD_RANGE[0] * 100), int(_health.USAGE_THRESHOLD_RANGE[1] * 100), False,
                      'percent of max'),
}
CHECK_KEYS = ('name', 'command', 'url', 'timeout')
DEFAULT_CHECK_TIMEOUT = 10
CHECK_TIMEOUT_RANGE = (0.1, 3600)
WINDOW_RANGE = (0, 86400)
TAIL_LINES, TAIL_CHARS = 5, 300
# the options' names in each vocabulary: the module's, and the role's variables (the rollout playbook)
WORDS = {
    'module': {},
    'role': {'checks': 'conntrack_rollout_checks', 'thresholds': 'conntrack_rollout_thresholds',
             'window': 'conntrack_rollout_soak'},
}
_URL = re.compile(r'^https?://[^/\s?#]+[^\s]*$', re.I)


def word(option, vocabulary='module'):
    """The name of an option in the caller's words (vocabulary 'role': the role's variable)."""
    return WORDS.get(vocabulary, {}).get(option, option)


# ------------------------------------------------------------------ inputs

def validate_checks(checks, vocabulary='module', default_timeout=DEFAULT_CHECK_TIMEOUT):
    """(normalized checks, errors). Each check is {name, command} or {name, url}, with an optional
    timeout in seconds; normalized: the same dicts with the timeout filled in. None is no checks."""
    where = word('checks', vocabulary)
    if checks is None:
        return [], []
    if not isinstance(checks, (list, tuple)):
        return [], ['%s: expected a list of checks, each {name, command} or {name, url}; got %s'
                    % (where, _inputs.describe(checks))]
    out, errors, first = [], [], {}
    for index, check in enumerate(checks):
        item = '%s[%d]' % (where, index)
        normalized, problems = _one_check(item, check, default_timeout)
        errors += problems
        name = normalized and normalized['name']
        if name in first:
            errors.append('%s: name %r is also the name of %s; each check needs its own name (its gate is check:NAME)'
                          % (item, name, first[name]))
        elif name:
            first[name] = item
        if normalized and not problems:
            out.append(normalized)
    return (out if not errors else []), errors


def _one_check(item, check, default_timeout):
    """(normalized check or None, errors) for one entry of the checks."""
    if not isinstance(check, dict):
        return None, ['%s: expected a dict {name, command} or {name, url}, got %s' % (item, _inputs.describe(check))]
    errors = ['%s: unknown key %r%s; allowed: %s' % (item, key, _keys.did_you_mean(key, CHECK_KEYS),
                                                     ', '.join(CHECK_KEYS))
              for key in sorted(check, key=str) if key not in CHECK_KEYS]
    name = check.get('name')
    if not isinstance(name, str) or not name.strip():
        errors.append('%s: name: give each check a name (its gate is check:NAME), got %r' % (item, name))
        name = None
    given = [key for key in ('command', 'url') if check.get(key) is not None]
    out = {'name': name}
    if len(given) == 2:
        errors.append('%s: give command or url, not both' % item)
    elif not given:
        errors.append('%s: give command (run on the host by /bin/sh -c, passes on exit 0) or url (requested from the '
                      'host, passes on a 2xx answer)' % item)
    elif given == ['command']:
        if not isinstance(check['command'], str) or not check['command'].strip():
            errors.append('%s: command: expected a shell command line (a non-empty string), got %r'
                          % (item, check['command']))
        out['command'] = check['command']
    else:
        if not isinstance(check['url'], str) or not _URL.match(check['url'].strip()):
            errors.append('%s: url: expected an http:// or https:// URL, got %r' % (item, check['url']))
        else:
            out['url'] = check['url'].strip()
    try:
        out['timeout'] = default_timeout if check.get('timeout') is None else _inputs.number(
            check['timeout'], '%s.timeout' % item, CHECK_TIMEOUT_RANGE[0], CHECK_TIMEOUT_RANGE[1], False, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    return out, errors


def validate_thresholds(thresholds, vocabulary='module'):
    """(thresholds with the defaults filled in, errors); None is every default."""
    where = word('thresholds', vocabulary)
    if thresholds is None:
        thresholds = {}
    if not isinstance(thresholds, dict):
        return dict(DEFAULT_THRESHOLDS), ['%s: expected a dict with any of %s, got %s' % (
            where, ', '.join(sorted(DEFAULT_THRESHOLDS)), _inputs.describe(thresholds))]
    allowed = ', '.join(sorted(DEFAULT_THRESHOLDS))
    errors = ['%s: unknown threshold %r%s; allowed: %s'
              % (where, key, _keys.did_you_mean(key, DEFAULT_THRESHOLDS), allowed)
              for key in sorted(thresholds, key=str) if key not in DEFAULT_THRESHOLDS]
    out = {}
    for key in sorted(DEFAULT_THRESHOLDS):
        low, high, integer, unit = THRESHOLD_RANGES[key]
        value = thresholds.get(key)
        try:
            out[key] = DEFAULT_THRESHOLDS[key] if value is None else _inputs.number(
                value, '%s.%s' % (where, key), low, high, integer, unit)
        except _inputs.ProfileError as e:
            errors.append(str(e))
            out[key] = DEFAULT_THRESHOLDS[key]
    return out, errors


def validate_seconds(value, option, vocabulary='module'):
    """(seconds, error or None) for window (0-86400) or check_timeout (0.1-3600)."""
    low, high = WINDOW_RANGE if option == 'window' else CHECK_TIMEOUT_RANGE
    try:
        return _inputs.number(value, word(option, vocabulary), low, high, False, 'seconds'), None
    except _inputs.ProfileError as e:
        return None, str(e)


def validate_baseline(baseline):
    """The errors of a baseline that is not the `sample` phase=baseline returned ([] when it is)."""
    def number(value, low=0):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low

    good = isinstance(baseline, dict) and isinstance(baseline.get('delta'), dict) and number(baseline.get('seconds'))
    if good:
        end, checks = baseline.get('end'), baseline.get('checks')
        end, checks = {} if end is None else end, [] if checks is None else checks
        good = all(v is None or number(v) for v in [baseline['delta'].get(c) for c in COUNTERS]) \
            and isinstance(end, dict) and all(end.get(k) is None or number(end[k], low) for k, low in
                                              (('count', 0), ('max', 1))) \
            and isinstance(checks, list) and all(isinstance(c, dict) for c in checks)
    if not good:
        return ['baseline: expected the sample that phase=baseline returned (with seconds and delta), got %s'
                % _inputs.describe(baseline)]
    return []


def soak_warning(seconds, vocabulary='role', health=True):
    """The warning for a soak (window) of 0 with the health gates on, or None."""
    if not health or seconds is None or seconds > 0:
        return None
    return ('%s is 0: the health gate then compares two samples taken at the same moment, so drops and failed '
            'inserts that start after the change go unseen and only a table full or over the usage threshold at that '
            'moment fails it. Give it the time your traffic needs to show a problem (300 s or more)'
            % word('window', vocabulary))


# ------------------------------------------------------------------ samples

def point(reading):
    """One sample of the table from facts/gather.py counters(): time, count, max, the drop counters
    summed over the CPUs (None where this host has none) and where they were read."""
    stats = reading.get('stats') or {}
    out = {'time': reading.get('time'), 'count': reading.get('count'), 'max': reading.get('max'),
           'source': stats.get('source')}
    for name in COUNTERS:
        value = stats.get(name)
        out[name] = value if isinstance(value, int) and not isinstance(value, bool) else None
    return out


def measure(start, end, window):
    """The sample of a window: {t0, t1, window (asked), seconds (measured), start, end, delta,
    reset}. delta[c] is None when c is unreadable at either end or went down (listed in reset)."""
    delta, reset = {}, []
    for name in COUNTERS:
        a, b = start.get(name), end.get(name)
        if a is not None and b is not None and b < a:
            reset.append(name)
        delta[name] = b - a if a is not None and b is not None and b >= a else None
    return {'t0': start.get('time'), 't1': end.get('time'), 'window': window,
            'seconds': round(max(0.0, (end.get('time') or 0) - (start.get('time') or 0)), 3),
            'start': start, 'end': end, 'delta': delta, 'reset': reset}


def table_drops(delta):
    """What only a full table makes the kernel count, from a delta (audit/health.py): early_drop,
    and drop beyond insert_failed (all of drop when insert_failed is unknown: never less)."""
    known = dict((k, v) for k, v in delta.items() if v is not None)
    return sum(_health.table_full_drops(known).values())


# ------------------------------------------------------------------ the verdict

def verdict(sample, baseline, thresholds, checks=None):
    """The gate: {passed, failures: [{gate, evidence}], skipped: [{gate, why}], sample, checks,
    lines}. baseline: the sample of the window before the change (None: compared with +0)."""
    failures, skipped = [], []
    for gate, judge in (('drops', _drops), ('insert_failed', _insert_failed), ('usage', _usage), ('full', _full)):
        outcome, text = judge(sample, baseline, thresholds)
        if outcome == 'fail':
            failures.append({'gate': gate, 'evidence': text})
        elif outcome == 'skip':
            skipped.append({'gate': gate, 'why': text})
    before = dict((c.get('name'), c) for c in (baseline or {}).get('checks') or [])
    for check in checks or []:
        if check.get('passed') is False:
            earlier = before.get(check['name'])
            note = ''
            if earlier is not None and earlier.get('passed') is not None:
                note = ' (before the change: %s)' % ('passed' if earlier['passed'] else 'failed too')
            failures.append({'gate': 'check:%s' % check['name'], 'evidence': check['evidence'] + note})
        elif check.get('passed') is None:
            skipped.append({'gate': 'check:%s' % check['name'], 'why': check['evidence']})
    out = {'passed': not failures, 'failures': failures, 'skipped': skipped, 'sample': sample, 'checks': checks or []}
    out['lines'] = lines(out)
    return out


def lines(gate):
    """Readable lines: the verdict, then each failure and each gate not evaluated."""
    names = [g for g in HEALTH_GATES if g not in [s['gate'] for s in gate['skipped']]]
    names += ['check:%s' % c['name'] for c in gate['checks'] if c.get('passed') is not None]
    head = 'gate %s over %s: %s' % ('passed' if gate['passed'] else 'FAILED', _secs(gate['sample'].get('seconds')),
                                    ', '.join(names) or 'nothing evaluated')
    return [head] + ['  %s: %s' % (f['gate'], f['evidence']) for f in gate['failures']] \
        + ['  %s not evaluated: %s' % (s['gate'], s['why']) for s in gate['skipped']]


def failure_message(gate):
    """The module's msg for a failed gate: the gates and their evidence."""
    return 'the rollout gate failed: %s' % '; '.join('%s (%s)' % (f['gate'], f['evidence']) for f in gate['failures'])


def _no_counters(sample):
    start, end = sample.get('start') or {}, sample.get('end') or {}
    return all(start.get(c) is None and end.get(c) is None for c in COUNTERS)


def _unknown(sample, names):
    """Evidence for counters of `names` whose growth in the window is unknown, or None."""
    start, end = sample.get('start') or {}, sample.get('end') or {}
    gone = [n for n in names if sample['delta'].get(n) is None]
    if not gone:
        return None
    parts = []
    for n in gone:
        if start.get(n) is not None and end.get(n) is not None:
            parts.append('%s went down from %d to %d' % (n, start[n], end[n]))
        else:
            parts.append('%s was unreadable at the %s' % (n, 'start' if start.get(n) is None else 'end'))
    return ('%s during the %s window (a reboot or a counter reset): the growth is unknown, so this gate cannot pass'
            % (', '.join(parts), _secs(sample.get('seconds'))))


def _before(baseline, measure_of, seconds):
    """(growth before the change scaled to `seconds`, its text) from the baseline sample."""
    if not baseline:
        return 0, 'no baseline: compared with +0'
    value = measure_of(baseline['delta'])
    if value is None:
        return 0, 'unknown, a counter went down in that window: compared with +0'
    base = float(baseline.get('seconds') or 0)
    scaled = value * seconds / base if base > 0 else float(value)
    text = '+%d in %s' % (value, _secs(base))
    if base > 0 and abs(base - seconds) > max(1.0, 0.1 * seconds):
        text += ', %.1f per %s' % (scaled, _secs(seconds))
    return scaled, text


def _drops_of(delta):
    if delta.get('drop') is None or delta.get('early_drop') is None:
        return None
    return table_drops(delta)


def _drops(sample, baseline, thresholds):
    if _no_counters(sample):
        return 'skip', 'no drop counters readable here (no /proc/net/stat/nf_conntrack, ctnetlink or conntrack -S)'
    unknown = _unknown(sample, ('drop', 'early_drop'))
    if unknown:
        return 'fail', unknown
    delta, seconds = sample['delta'], sample['seconds']
    now = table_drops(delta)
    before, before_text = _before(baseline, _drops_of, seconds)
    allowance = thresholds['drop_allowance']
    if now <= before + allowance:
        return None, None
    grown = '%s in %s' % (', '.join('%s +%d' % (n, delta[n]) for n in ('drop', 'early_drop') if delta[n]),
                          _secs(seconds))
    if delta.get('insert_failed'):
        grown += ', %d beyond the failed inserts' % now
    return 'fail', '%s (before the change: %s%s)' % (grown, before_text,
                                                     '; allowance %d' % allowance if allowance else '')


def _insert_failed_of(delta):
    return delta.get('insert_failed')


def _insert_failed(sample, baseline, thresholds):
    if _no_counters(sample):
        return 'skip', 'no drop counters readable here (no /proc/net/stat/nf_conntrack, ctnetlink or conntrack -S)'
    unknown = _unknown(sample, ('insert_failed',))
    if unknown:
        return 'fail', unknown
    now, seconds = sample['delta']['insert_failed'], sample['seconds']
    before, before_text = _before(baseline, _insert_failed_of, seconds)
    factor, allowance = thresholds['insert_failed_factor'], thresholds['insert_failed_allowance']
    limit = factor * before + allowance
    if now <= limit:
        return None, None
    return 'fail', 'insert_failed +%d in %s (before the change: %s; allowed: %g x %g + %d = %g)' % (
        now, _secs(seconds), before_text, factor, round(before, 1), allowance, round(limit, 1))


def _usage_text(point_):
    if not point_ or not isinstance(point_.get('count'), int) or not point_.get('max'):
        return None
    return '%.1f%% (count %d of max %d)' % (100.0 * point_['count'] / point_['max'], point_['count'], point_['max'])


def _usage(sample, baseline, thresholds):
    end = sample.get('end') or {}
    if not isinstance(end.get('count'), int) or not end.get('max'):
        return 'skip', 'no conntrack table here (nf_conntrack_count or nf_conntrack_max unreadable)'
    percent = 100.0 * end['count'] / end['max']
    if percent < thresholds['usage_percent']:
        return None, None
    earlier = _usage_text((baseline or {}).get('end'))
    return 'fail', 'count %d is %.1f%% of max %d at the end of the window (threshold %g%%%s)' % (
        end['count'], percent, end['max'], thresholds['usage_percent'],
        '; before the change: %s' % earlier if earlier else '')


def _full(sample, baseline, _thresholds):
    end = sample.get('end') or {}
    if not isinstance(end.get('count'), int) or not end.get('max'):
        return 'skip', 'no conntrack table here (nf_conntrack_count or nf_conntrack_max unreadable)'
    if end['count'] < end['max']:
        return None, None
    earlier = _usage_text((baseline or {}).get('end'))
    return 'fail', 'count %d has reached max %d: new connections are dropped or evict entries%s' % (
        end['count'], end['max'], ' (before the change: %s)' % earlier if earlier else '')


# ------------------------------------------------------------------ user checks

def tail(text, lines_=TAIL_LINES, chars=TAIL_CHARS):
    """The last lines of a command's or a page's output, on one line, at most `chars` long."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    kept = [line.strip() for line in (text or '').strip().splitlines() if line.strip()][-lines_:]
    joined = ' | '.join(kept)
    return joined if len(joined) <= chars else '...' + joined[-(chars - 3):]


def not_run(check, why):
    """The result of a check that did not run (check mode)."""
    return {'name': check['name'], 'kind': 'command' if 'command' in check else 'url', 'passed': None,
            'evidence': why}


def command_result(check, rc, stdout, stderr, seconds, timed_out=False, error=None):
    """A command check's result: passes on exit 0; the evidence keeps the exit code and the tail of
    stderr (of stdout when stderr is empty)."""
    output = tail(stderr) or tail(stdout)
    if error:
        evidence = 'could not run /bin/sh: %s' % error
    elif timed_out:
        evidence = 'still running after %s: killed' % _secs(check['timeout'])
    else:
        evidence = 'exit %d' % rc
    if output:
        evidence += ': %s' % output
    return {'name': check['name'], 'kind': 'command', 'command': check['command'], 'rc': rc,
            'passed': rc == 0 and not timed_out and not error, 'seconds': round(seconds, 3), 'output': output,
            'evidence': evidence}


def url_result(check, status, reason, body, seconds, error=None):
    """A URL check's result: passes on a 2xx answer; the evidence keeps the status and the tail of
    the body (of a failing answer), or why there was no answer."""
    output = tail(body)
    if status is None:
        evidence = 'no answer from %s: %s' % (check['url'], error or 'unknown error')
    else:
        evidence = 'HTTP %d%s' % (status, ' %s' % reason if reason else '')
        if output and not 200 <= status < 300:
            evidence += ': %s' % output
    return {'name': check['name'], 'kind': 'url', 'url': check['url'], 'status': status,
            'passed': status is not None and 200 <= status < 300, 'seconds': round(seconds, 3), 'output': output,
            'evidence': evidence}


def _secs(seconds):
    if seconds is None:
        return 'an unknown time'
    return '%g s' % round(float(seconds), 1)
