# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bounds of the closed loop (docs/closed-loop.md): what to do with one alert for one host,
given the record of everything the loop did before. Pure functions over plain data; the record's
file and its lock are loop/record.py, the callers are the Alertmanager source of
extensions/eda (one decision per alert it receives) and conntrack_remediation_guard (the
playbook's confirmation, the result, a person's pause and re-arm).

The record is a list of entries (one JSON line each in the file), oldest first. Each has `event`:
  started   a remediation allowed here (its `id`, the host, the alert, the budget it used);
  finished  its result (`ok`, `result`, max before and after, the times), by the same `id`;
  stopped   the loop refused to act for this alert and says why (`reason`): a person is needed;
  skipped   an alert of a host already being relieved, or relieved since the alert began;
  paused    a person switched the loop off for a host (or every host, host '*');
  armed     a person switched it back on, and accepted what went before (failures, the budget).

decide() applies the bounds in this order, the first that holds wins:
  1. a resolved alert, or one the loop does not handle: nothing (no entry);
  2. no host in the alert's label: stopped (no_host);
  3. the same alert (fingerprint and startsAt) already decided: nothing (a duplicate: Alertmanager
     repeats and regroups its notifications);
  4. the host paused by a person: stopped (paused);
  5. a remediation of the host in flight: skipped (in_flight) - unless it started longer than
     in_flight_timeout ago without a result, which counts as a failure (6);
  6. the host's last remediation failed (or never reported): stopped (last_failed) until a person
     re-arms it - never again on a host whose last remediation failed;
  7. the host was relieved after the alert began, or less than `settle` seconds before: skipped
     (already_relieved) - grouped and twin alerts (the writer's and node_exporter's) do not stack
     remediations. Prometheus sends an alert's startsAt when it fires, after its `for:`, and the
     dropping alerts look back 5 minutes: a twin that began pending before the fix may fire after
     it, about the drops the fix already ended;
  8. budget remediations of the host started in the last `window` seconds: stopped
     (budget_spent) - at most `budget` per host per window (0: the loop only records and escalates);
  9. otherwise: remediate, and a started entry.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import hashlib
import json
import re
import time

FORMAT_VERSION = 1
# the alerts of prometheus/nfct-conntrack.rules.yml that relieve fixes: the table full or nearly
# (>= 95 %) and the kernel dropping, on the writer's metrics and on node_exporter's own
ALERTS = ('ConntrackTableCritical', 'ConntrackDropping', 'ConntrackNodeTableCritical', 'ConntrackNodeDropping')
# settle: the dropping alerts' 5-minute window, their 1-minute for: and Alertmanager's group
# interval, with a margin
DEFAULTS = {'alerts': ALERTS, 'budget': 3, 'window': 3600, 'in_flight_timeout': 900, 'settle': 600}
# the results of a finished remediation, and which of them are a success
RESULTS_OK = ('raised', 'unchanged')
RESULTS = RESULTS_OK + ('refused', 'failed', 'unreachable', 'readonly', 'absent', 'unsafe', 'not_run')
REASONS = {
    'resolved': 'the alert is resolved: nothing to do',
    'not_handled': 'the loop does not handle %(name)s',
    'no_host': 'the alert has no %(label)s label to name a host: a person must look',
    'duplicate': 'already decided for this alert (fingerprint %(fingerprint)s, started %(starts_at)s)',
    'paused': 'the loop is paused for %(host)s since %(since)s%(by)s: a person must look',
    'in_flight': 'a remediation of %(host)s is in flight (%(other)s)',
    'last_failed': 'the last remediation of %(host)s failed (%(other)s: %(result)s): the loop stops for this host '
                   'until a person re-arms it',
    'already_relieved': '%(host)s was relieved at %(since)s, %(when)s (%(other)s)',
    'budget_spent': 'the budget of %(budget)d remediation(s) of %(host)s per %(window)d s is spent (%(used)d since '
                    '%(since)s): the loop stops for this host, the alert stays for a person',
    'remediate': 'relieve %(host)s (remediation %(used_next)d of %(budget)d in %(window)d s)',
}


class Decision(object):
    """What decide() says: action (remediate, stop, skip, ignore), reason (a key of REASONS),
    message, the entry to append to the record (or None) and the budget seen."""

    __slots__ = ('action', 'reason', 'message', 'entry', 'budget')

    def __init__(self, action, reason, message, entry=None, budget=None):
        self.action, self.reason, self.message, self.entry, self.budget = action, reason, message, entry, budget

    def as_dict(self):
        return dict((k, getattr(self, k)) for k in self.__slots__)


# ------------------------------------------------------------------------- times and alerts

_RFC3339 = re.compile(r'^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)?$')


def parse_time(text):
    """Seconds since the epoch of an RFC 3339 time as Alertmanager writes it
    (2026-12-05T10:00:00.123456789Z, or with an offset), or None when it is not one."""
    m = _RFC3339.match(str(text or '').strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    ts = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    ts += float(m.group(7) or 0)
    zone = m.group(8)
    if zone and zone not in ('Z', 'z'):
        sign = 1 if zone[0] == '+' else -1
        digits = zone[1:].replace(':', '')
        ts -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return ts


def format_time(ts):
    """RFC 3339 UTC with milliseconds."""
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ts)) + '.%03dZ' % int(round((ts % 1) * 1000) % 1000)


def host_of(value):
    """The host of a label value: an instance without its port (web1:9100 -> web1,
    [2001:db8::1]:9100 -> 2001:db8::1, 10.0.0.1:9100 -> 10.0.0.1); a bare IPv6 address stays whole."""
    value = str(value or '').strip()
    if value.startswith('['):
        end = value.find(']')
        return value[1:end] if end > 0 else value
    if value.count(':') == 1:
        host, _sep, port = value.partition(':')
        if port.isdigit() or port == '':
            return host
    return value


def fingerprint_of(alert):
    """Alertmanager's fingerprint of the alert, or (payloads without one) a hash of its labels."""
    given = alert.get('fingerprint')
    if given:
        return str(given)
    labels = json.dumps(alert.get('labels') or {}, sort_keys=True)
    return hashlib.sha256(labels.encode('utf-8')).hexdigest()[:16]


def alert_summary(alert, host_label='instance'):
    """What the record keeps of an alert (webhook payload version 4): its name, fingerprint,
    start, status, severity, the label that named the host and the host."""
    labels = alert.get('labels') or {}
    starts_at = alert.get('startsAt') or ''
    return {
        'name': labels.get('alertname') or '',
        'fingerprint': fingerprint_of(alert),
        'starts_at': starts_at,
        'starts_ts': parse_time(starts_at),
        'status': alert.get('status') or '',
        'severity': labels.get('severity') or '',
        'label': host_label,
        'instance': labels.get(host_label),
        'host': host_of(labels.get(host_label)),
    }


def alert_key(summary):
    return (summary.get('fingerprint'), summary.get('starts_at'))


# ------------------------------------------------------------------------- the policy

def policy(budget=None, window=None, in_flight_timeout=None, alerts=None, settle=None):
    """The bounds, checked: budget 0-1000 remediations, window 60-604800 s, in_flight_timeout
    60-86400 s, settle 0-86400 s, alerts a list of alert names. Raises ValueError naming what is
    wrong."""
    out = dict(DEFAULTS)
    for name, value, low, high in (('budget', budget, 0, 1000), ('window', window, 60, 604800),
                                   ('in_flight_timeout', in_flight_timeout, 60, 86400), ('settle', settle, 0, 86400)):
        if value is None or value == '':
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError('%s: expected an integer, got %r' % (name, value))
        if not low <= number <= high:
            raise ValueError('%s: %d is outside the allowed range %d-%d' % (name, number, low, high))
        out[name] = number
    if alerts is not None and alerts != '':
        if isinstance(alerts, str):
            alerts = [a.strip() for a in alerts.split(',')]
        if not isinstance(alerts, (list, tuple)) or not all(isinstance(a, str) and a for a in alerts):
            raise ValueError('alerts: expected a list of alert names, got %r' % (alerts,))
        out['alerts'] = tuple(alerts)
    return out


# ------------------------------------------------------------------------- the host's past

def host_entries(record, host):
    return [e for e in record if isinstance(e, dict) and e.get('host') in (host, '*')]


def results_by_id(entries):
    return dict((e.get('id'), e) for e in entries if e.get('event') == 'finished' and e.get('id'))


def last_armed(entries):
    """The time of the last `armed` entry for the host (or every host), or None."""
    times = [e.get('ts') or 0 for e in entries if e.get('event') == 'armed']
    return max(times) if times else None


def paused_since(entries):
    """The last paused entry when the host is paused now (no armed entry after it), else None."""
    state = None
    for e in entries:
        if e.get('event') == 'paused':
            state = e
        elif e.get('event') == 'armed':
            state = None
    return state


def remediations(entries, since=None):
    """[(started entry, finished entry or None)] of the host, oldest first; since: only those
    started after that time (a re-arm starts afresh)."""
    done = results_by_id(entries)
    return [(e, done.get(e.get('id'))) for e in entries
            if e.get('event') == 'started' and e.get('host') != '*' and (since is None or (e.get('ts') or 0) > since)]


# ------------------------------------------------------------------------- the decision

def decide(record, alert, host_label='instance', now=None, bounds=None):
    """The Decision for one alert (a payload's alert, as Alertmanager posts it) given the record.
    The entry to append, if any, is in Decision.entry; nothing is written here."""
    now = time.time() if now is None else now
    bounds = bounds or policy()
    a = alert_summary(alert, host_label)
    host = a['host']
    info = {'name': a['name'], 'label': host_label, 'fingerprint': a['fingerprint'], 'starts_at': a['starts_at'],
            'host': host, 'budget': bounds['budget'], 'window': bounds['window']}
    if a['status'] != 'firing':
        return Decision('ignore', 'resolved', REASONS['resolved'] % info)
    if a['name'] not in bounds['alerts']:
        return Decision('ignore', 'not_handled', REASONS['not_handled'] % info)
    if any(alert_key(e.get('alert') or {}) == alert_key(a) for e in record if isinstance(e, dict)
           and e.get('event') in ('started', 'stopped', 'skipped')):
        return Decision('ignore', 'duplicate', REASONS['duplicate'] % info)
    if not host:
        return _entry('stop', 'no_host', info, a, now)
    entries = host_entries(record, host)
    paused = paused_since(entries)
    if paused is not None:
        by = ' by %s' % paused['by'] if paused.get('by') else ''
        return _entry('stop', 'paused', dict(info, since=paused.get('time'), by=by), a, now)
    armed = last_armed(entries)
    past = remediations(entries, armed)
    for started, finished in reversed(past):
        if finished is None and now - (started.get('ts') or 0) < bounds['in_flight_timeout']:
            return _entry('skip', 'in_flight', dict(info, other=started.get('id')), a, now)
    last = past[-1] if past else None
    if last is not None and (last[1] is None or not last[1].get('ok')):
        result = last[1]['result'] if last[1] is not None else 'no result within %d s' % bounds['in_flight_timeout']
        return _entry('stop', 'last_failed', dict(info, other=last[0].get('id'), result=result), a, now)
    fixed = (last[1].get('ts') or 0) if last is not None else None
    if fixed is not None and a['starts_ts'] is not None and a['starts_ts'] < fixed + bounds['settle']:
        when = ('after this alert began' if fixed >= a['starts_ts'] else
                '%d s before this alert began, within the settle time of %d s' % (a['starts_ts'] - fixed,
                                                                                  bounds['settle']))
        return _entry('skip', 'already_relieved', dict(info, other=last[0].get('id'), since=last[1].get('time'),
                                                       when=when), a, now)
    used = [s for s, _f in past if (s.get('ts') or 0) > now - bounds['window']]
    budget = {'used': len(used), 'limit': bounds['budget'], 'window': bounds['window']}
    if len(used) >= bounds['budget']:
        since = used[0].get('time') if used else format_time(now)
        return _entry('stop', 'budget_spent', dict(info, used=len(used), since=since), a, now, budget)
    budget['used'] += 1
    return _entry('remediate', 'remediate', dict(info, used_next=budget['used']), a, now, budget)


def _entry(action, reason, info, summary, now, budget=None):
    event = {'remediate': 'started', 'stop': 'stopped', 'skip': 'skipped'}[action]
    message = REASONS[reason] % info
    entry = {'v': FORMAT_VERSION, 'event': event, 'time': format_time(now), 'ts': round(now, 3),
             'host': info['host'], 'alert': summary, 'reason': reason, 'message': message}
    if budget is not None:
        entry['budget'] = budget
    if action == 'remediate':
        entry['id'] = remediation_id(info['host'], summary, now)
    return Decision(action, reason, message, entry, budget)


def remediation_id(host, summary, now):
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', host)[:64] or 'host'
    return '%s-%s-%s' % (time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now)), safe, (summary.get('fingerprint') or '')[:8])


# ------------------------------------------------------------------------- results

def classify(result):
    """(result word, ok) of the relieve task's registered result (the role's
    conntrack_relieve_result): unreachable, failed (refused when the memory budget stopped it),
    readonly (a container: max is the node's), absent (no conntrack), raised, unchanged; not_run
    when there is no result at all."""
    if not isinstance(result, dict) or not result:
        return 'not_run', False
    if result.get('unreachable'):
        return 'unreachable', False
    if result.get('failed'):
        msg = str(result.get('msg') or '')
        return ('refused', False) if 'budget' in msg else ('failed', False)
    if result.get('skipped'):
        return 'not_run', False
    state = result.get('state')
    if state in ('readonly', 'absent'):
        return state, False
    return ('raised', True) if result.get('changed') else ('unchanged', True)


def finished_entry(started, result, now, output=None, unsafe=None):
    """The finished entry of a remediation (started: its started entry, or a stand-in with id,
    host and alert) from relieve's registered result; unsafe: the options that made the loop
    refuse to run relieve at all (never beyond the budget, never lowering)."""
    if unsafe:
        word, ok = 'unsafe', False
    else:
        word, ok = classify(result)
    result = result if isinstance(result, dict) else {}
    alert = started.get('alert') or {}
    entry = {'v': FORMAT_VERSION, 'event': 'finished', 'time': format_time(now), 'ts': round(now, 3),
             'id': started.get('id'), 'host': started.get('host'), 'alert': alert, 'result': word, 'ok': ok}
    max_ = result.get('max') or {}
    if max_:
        entry['max'] = {'before': max_.get('before'), 'after': max_.get('after')}
    if ok and alert.get('starts_ts') is not None:
        entry['seconds_alert_to_fix'] = round(now - alert['starts_ts'], 3)
    if ok and started.get('ts') is not None:
        entry['seconds_event_to_fix'] = round(now - started['ts'], 3)
    if unsafe:
        entry['msg'] = ('the loop never goes beyond the memory budget nor lowers anything: %s set, relieve not run'
                        % ', '.join(sorted(unsafe)))
    elif not ok:
        entry['msg'] = str(result.get('msg') or 'no result from relieve')[:2000]
    if output:
        entry['output'] = output
    return entry


def person_entry(event, host, now, by=None, why=None):
    """A person's paused or armed entry for a host ('*': every host)."""
    entry = {'v': FORMAT_VERSION, 'event': event, 'time': format_time(now), 'ts': round(now, 3), 'host': host}
    if by:
        entry['by'] = by
    if why:
        entry['message'] = why
    return entry


def status(record, host, now=None, bounds=None):
    """The loop's state for a host: paused, the last remediation, the budget used in the window."""
    now = time.time() if now is None else now
    bounds = bounds or policy()
    entries = host_entries(record, host)
    armed = last_armed(entries)
    past = remediations(entries, armed)
    used = [s for s, _f in past if (s.get('ts') or 0) > now - bounds['window']]
    last = past[-1] if past else None
    stopped = last is not None and (not (last[1] or {}).get('ok', False)) and (
        last[1] is not None or now - (last[0].get('ts') or 0) >= bounds['in_flight_timeout'])
    return {'host': host, 'paused': paused_since(entries) is not None, 'stopped': bool(stopped),
            'budget': {'used': len(used), 'limit': bounds['budget'], 'window': bounds['window']},
            'last': None if last is None else {'id': last[0].get('id'), 'started': last[0].get('time'),
                                               'result': (last[1] or {}).get('result'),
                                               'ok': (last[1] or {}).get('ok')}}
