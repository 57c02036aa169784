# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec and the call into the sizing engine, shared by the
conntrack_recommend module (runs on the host) and its action plugin (runs on
the controller from already gathered facts)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import re
import time

from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing, inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import kubeproxy as _kubeproxy, observed as _observed

# the files conntrack_settings owns: their paths are checked here too, before anything changes
# (_paths, not the settings planner: this module also runs on the controller)
OWNED_FILES = _paths.SETTINGS_FILES

# the options of the sizing engine (also conntrack_audit's)
ENGINE_SPEC = dict(
    profile=dict(type='str', default='default'),
    profiles=dict(type='dict', default={}),
    overrides=dict(type='dict', default={}),
    memory_budget_percent=dict(type='raw'),
    expected_peak=dict(type='raw'),
    only_raise=dict(type='bool', default=True),
    force=dict(type='bool', default=False),
    kube_proxy=dict(type='raw'),
)
# where the history comes from (docs/history.md): host - the facts' (conntrack_facts reads the host's
# file), prometheus - the server, read on the controller; none - no history (static sizing)
HISTORY_SOURCES = ('host', 'prometheus', 'none')
# sizing from history and its source; the prometheus_* options are history/prometheus.py's
# (OPTIONS, whose choices these repeat: tests/unit/.../test_sizing_history_args.py holds them equal)
HISTORY_SPEC = dict(
    sizing=dict(type='str', default='static', choices=list(_observed.MODES)),
    history_source=dict(type='str', default='host', choices=list(HISTORY_SOURCES)),
    history=dict(type='dict'),
    prometheus_url=dict(type='str'),
    prometheus_instance=dict(type='str'),
    prometheus_label=dict(type='str', default='instance'),
    prometheus_match=dict(type='str', default='port', choices=['port', 'exact', 'regex']),
    prometheus_matchers=dict(type='str'),
    prometheus_metrics=dict(type='str', default='node_exporter', choices=['node_exporter', 'nfct']),
    prometheus_days=dict(type='int', default=30),
    prometheus_step=dict(type='int'),
    prometheus_timeout=dict(type='int', default=30),
    prometheus_max_bytes=dict(type='int', default=8388608),
    prometheus_username=dict(type='str'),
    prometheus_password=dict(type='str', no_log=True),
    prometheus_bearer_token=dict(type='str', no_log=True),
    prometheus_headers=dict(type='dict'),
    prometheus_validate_certs=dict(type='bool', default=True),
    prometheus_ca_path=dict(type='path'),
    prometheus_client_cert=dict(type='path'),
    prometheus_client_key=dict(type='path', no_log=False),
)
ARGUMENT_SPEC = dict(
    ENGINE_SPEC,
    facts=dict(type='dict'),
    previous_stats=dict(type='dict'),
    notrack_exemptions=dict(type='raw'),
    files=dict(type='dict'),
    role_variables=dict(type='bool', default=False),
)
ARGUMENT_SPEC.update(HISTORY_SPEC)


# what the result keeps of the Prometheus read's metadata (history/prometheus.py request(), never a credential)
PROMETHEUS_SUMMARY = ('url', 'query', 'start', 'end', 'step', 'days', 'points', 'samples', 'requests', 'bytes',
                      'warnings')


def _when(t):
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t))


def _shape_error(history):
    """Why a history given as data is not one (the document of ansible_facts.conntrack.history), or None."""
    if not isinstance(history, dict):
        return 'expected a dict, the document conntrack_facts returns (ansible_facts.conntrack.history)'
    for key in ('days', 'recent'):
        if not isinstance(history.get(key, []), list):
            return '"%s" is not a list: give the document conntrack_facts returns (ansible_facts.conntrack.history)' % key
    if not isinstance(history.get('last') or {}, dict):
        return '"last" is not a dict: give the document conntrack_facts returns (ansible_facts.conntrack.history)'
    return None


def _described(history):
    days = [d for d in history.get('days') or [] if isinstance(d, dict)]
    last = history.get('last') or {}
    span = ' (%s to %s)' % (days[0].get('day'), days[-1].get('day')) if days else ''
    when = ', last sample %s' % _when(last['time']) if isinstance(last.get('time'), (int, float)) else ''
    return '%d days%s%s' % (len(days), span, when)


def history_for(params, facts, host, read_prometheus=None):
    """The history to size from, and what the result says of it: (history or None, summary or None,
    error or None). history_source host: the history option, else the facts' (conntrack_facts
    reads the host's file); prometheus: read_prometheus(url, instance) -> (history or None,
    metadata, sentence) (history/prometheus.py reader(): one request; a failure is the documented
    fallback to static sizing, in the summary; a bad prometheus_* option is an error); none: no
    history. host: the inventory hostname, the default instance."""
    source = params.get('history_source') or 'host'
    summary = {'source': source, 'fallback': None, 'error': None, 'error_kind': None, 'document': None}
    if source == 'none':
        summary['statement'] = 'history_source none: no history read (static sizing, no forecast)'
        return None, summary, None
    if source == 'host':
        given = params.get('history')
        history = given if given is not None else (facts or {}).get('history')
        where = 'the history option' if given is not None else 'the facts'
        if history is None:
            summary['statement'] = ('no history of this host in %s (conntrack_facts reads the file the metrics writer '
                                    'keeps, history_path)' % where)
            return None, summary, None
        error = _shape_error(history)
        if error:
            return None, None, 'history (from %s): %s' % (where, error)
        summary.update(document=history, statement='history from the host (%s): %s' % (where, _described(history)))
        return history, summary, None
    if not params.get('prometheus_url'):
        return None, None, ('prometheus_url: required with history_source: prometheus (the server\'s base URL, '
                            'http(s)://host:9090)')
    instance = params.get('prometheus_instance') or host
    history, meta, sentence = read_prometheus(params['prometheus_url'], instance)
    if meta.get('error_kind') == 'options':
        return None, None, meta['error']
    summary.update(fallback=meta.get('fallback'), error=meta.get('error'), error_kind=meta.get('error_kind'),
                   document=history, statement=sentence, instance=instance,
                   prometheus=dict((k, meta.get(k)) for k in PROMETHEUS_SUMMARY if k in meta))
    return history, summary, None


def _with_history(rec, info):
    """The recommendation with where its history came from: the fallback to static stated in the
    sizing, a warning and the report's lines."""
    rec['history'] = info
    sizing = rec.get('sizing') or {}
    if info.get('fallback') and sizing.get('mode') not in (None, 'static'):
        sizing.update(used='static', fallback='static',
                      statement='%s: %s' % (sizing['mode'], info['statement']))
    if info.get('fallback'):
        rec.setdefault('warnings', []).append('history_source prometheus: %s' % info['statement'])
    forecast = rec.get('forecast')
    rec['report'] += ['sizing: %s' % sizing.get('statement'), 'history: %s' % info['statement']]
    if forecast:
        rec['report'].append('forecast: %s' % forecast.get('reason'))
    return rec


def compute(params, facts, host='localhost', history_info=None):
    """Return (result dict, error message or None). history_info: history_for()'s summary, when
    the caller resolved the history (conntrack_recommend): it goes into the result."""
    profile = params.get('profile')
    try:
        rec = _sizing.recommend(
            facts, profile='default' if profile is None else profile, overrides=params.get('overrides'),
            memory_budget_percent=params.get('memory_budget_percent'),
            expected_peak=params.get('expected_peak'), only_raise=params.get('only_raise', True),
            profiles=params.get('profiles'), previous_stats=params.get('previous_stats'),
            force=params.get('force', False), kube_proxy=params.get('kube_proxy'),
            sizing=params.get('sizing') or 'static', history=params.get('history'), now=params.get('now'))
    except (_sizing.ProfileError, _keys.InvalidSetting) as e:
        return None, str(e)
    errors = check_role_inputs(params, facts)
    if errors:
        return None, '; '.join(errors)
    if params.get('notrack_exemptions') is not None:
        rec['notrack_exemptions'] = _notrack.validate_exemptions(params['notrack_exemptions'],
                                                                 (facts or {}).get('interfaces'))
    shown = _sizing.assume_loaded(facts) if rec.get('assumed_not_loaded') else facts
    rec['report'] = _sizing.report_lines(host, shown, rec)
    if history_info is not None and rec.get('available'):
        _with_history(rec, history_info)
    elif history_info is not None:
        rec['history'] = history_info
    # Ansible shows a result's 'warnings' as [WARNING] lines and drops the key when it is empty:
    # the same list under a key that is always there
    rec['warning_messages'] = list(rec.get('warnings') or [])
    return rec, None


def check_role_inputs(params, facts):
    """What the role applies after this step, checked now, before anything on the host changes:
    the NOTRACK exemptions (against the host's interfaces from the facts) and the paths of the
    files conntrack_settings owns. Returns the error messages."""
    errors = []
    items = params.get('notrack_exemptions')
    if items is not None:
        try:
            _notrack.validate_exemptions(items, (facts or {}).get('interfaces'))
        except _notrack.NotrackError as e:
            errors.append('notrack_exemptions (conntrack_notrack in the role): %s' % e)
    files = params.get('files') or {}
    unknown = sorted(set(files) - set(OWNED_FILES))
    if unknown:
        errors.append('files: unknown key(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(OWNED_FILES)))
    for e in _paths.check_paths(files, [o for o in OWNED_FILES if o in files]):
        option, why = e.split(': ', 1)
        errors.append('files.%s (conntrack_%s in the role): %s' % (option, option, why))
    return errors


# ---------------------------------------------------------------- the role's variables

# What the role keeps under conntrack_* besides its variables (roles/conntrack/meta/argument_specs.yml):
# the results its tasks register, and the host patterns of the playbooks. conntrack__* are its
# internal variables (vars/main.yml).
ROLE_REGISTERED = ('conntrack_recommendation', 'conntrack_result', 'conntrack_notrack_result', 'conntrack_metrics_result',
                   'conntrack_metrics_removal', 'conntrack_users_result', 'conntrack_disable_notrack_result',
                   'conntrack_disable_result', 'conntrack_audit_result', 'conntrack_audit_report', 'conntrack_relieve_result')
ROLE_PLAYBOOK_VARS = ('conntrack_tune_hosts', 'conntrack_audit_hosts', 'conntrack_relieve_hosts', 'conntrack_rollout_hosts')
ROLE_IGNORE = 'conntrack_ignore_variables'
# what to write instead, for the variables whose shape is not obvious
ROLE_EXAMPLES = {
    'conntrack_notrack': '[{interface: lo}, {protocol: tcp, port: 443, direction: inbound}]',
    'conntrack_overrides': '{tcp_timeout_established: 86400}',
    'conntrack_profiles': '{mine: {extends: web, sizing: {min: 524288}}}',
    'conntrack_users_ignore': '[docker]',
    'conntrack_audit_fail_on': '[runtime, at_boot]',
    'conntrack_ignore_variables': '[conntrack_from_another_role]',
}
# numbers the modules check, with their range (conntrack_metrics NUMBERS, conntrack_audit top)
ROLE_NUMBERS = {
    'conntrack_lock_timeout': (0, 86400, 'seconds'), 'conntrack_metrics_interval': (10, 86400, 'seconds'),
    'conntrack_metrics_top': (1, 100, None), 'conntrack_metrics_breakdown_timeout': (1, 3600, 'seconds'),
    'conntrack_metrics_breakdown_max_entries': (1000, 100000000, None), 'conntrack_audit_top': (1, 10000, None),
}
# module option -> role variable, for the messages the modules' validators give (vars/main.yml
# maps them the other way)
_ROLE_TERMS = (
    (re.compile(r'^notrack_exemptions \(conntrack_notrack in the role\): exemptions'), 'conntrack_notrack'),
    (re.compile(r'files\.(\w+) \(conntrack_\1 in the role\)'), r'conntrack_\1'),
    (re.compile(r'(?<![\w.\'])(memory_budget_percent|expected_peak|only_raise|kube_proxy|boot_fix|load_module)\b'),
     r'conntrack_\1'),
    # conntrack_settings' runtime, as the engine advises it (persist only: runtime: false)
    (re.compile(r'(?<![\w.\'])runtime(?=: (?:true|false)\b)'), 'conntrack_runtime'),
    (re.compile(r'(?<![\w.\'])(?<!valid )(overrides|profiles|profile|force|sysctl_file|modprobe_file|modules_load_file|'
                r'udev_rule_file|disable_file|lock_timeout)(?=[.:\[])'), r'conntrack_\1'),
    (re.compile(r'(?<![\w.\'])exemptions(?=[.:\[])'), 'conntrack_notrack'),
    # the history's source and the Prometheus options (history/prometheus.py names them prometheus_*)
    (re.compile(r'(?<![\w.\'])(history_source|prometheus_[a-z_]+)\b'), r'conntrack_\1'),
)


def role_terms(message):
    """A module's message in the role's words: option names become the role's variables
    (overrides.max -> conntrack_overrides.max, force: true -> conntrack_force: true)."""
    for pattern, repl in _ROLE_TERMS:
        message = pattern.sub(repl, message)
    return message


def in_words(message, vocabulary, own=()):
    """A module's message in its caller's words: with vocabulary 'role', the module's own options
    (own: (option, role variable) pairs, for the labels 'option:' its checks start with) and the
    engine's become the role's variables; with 'module', the message as it is."""
    if vocabulary != 'role':
        return message
    for option, variable in own:
        message = re.sub(r'(?<![\w.])%s(?=:)' % re.escape(option), variable, message)
    return role_terms(message)


def unknown_role_variables(names, spec, ignore=()):
    """conntrack_* names the role does not know: (name, did-you-mean hint) for each, except
    its internal conntrack__* ones, what it registers, and names matching ignore (shell patterns)."""
    known = set(spec) | set(ROLE_REGISTERED) | set(ROLE_PLAYBOOK_VARS)
    out = []
    for name in sorted(names):
        if not name.startswith('conntrack_') or name.startswith('conntrack__') or name in known:
            continue
        if any(fnmatch.fnmatchcase(name, str(pattern)) for pattern in ignore or ()):
            continue
        out.append((name, _keys.did_you_mean(name, sorted(spec))))
    return out


def _role_type_error(name, option, value):
    """Our message for a value Ansible's argument spec would refuse (or convert into nonsense),
    saying what to write instead; None when the value has the variable's type."""
    kind, choices = option.get('type', 'str'), option.get('choices')
    example = ROLE_EXAMPLES.get(name)
    write = '; write for example %s: %s' % (name, example) if example else ''
    if kind == 'bool':
        try:
            _inputs.boolean(value, name)
        except _inputs.ProfileError:
            return '%s: expected true or false, got %s' % (name, _inputs.describe(value))
    elif kind == 'int' and not _is_integer(value):
        # as strict as the oldest ansible-core we support (2.17 refuses every float, 2.19 takes 1.0)
        return '%s: expected an integer, got %s' % (name, _inputs.describe(value))
    elif kind == 'float' and not _is_number(value):
        return '%s: expected a number, got %s%s' % (name, _inputs.describe(value), write)
    elif kind in ('str', 'path') and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        return '%s: expected a string, got %s%s' % (name, _inputs.describe(value), write)
    elif kind == 'dict' and not isinstance(value, dict):
        return '%s: expected a dict, got %s%s' % (name, _inputs.describe(value), write)
    elif kind == 'list' and isinstance(value, dict) and option.get('elements') == 'dict':
        return '%s: expected a list of dicts, got one dict: write it as a list, for example %s: %s' % (
            name, name, example or '[{...}]')
    elif kind == 'list':
        return _role_list_error(name, value, option.get('elements'), write)
    if choices and str(value) not in [str(c) for c in choices]:
        return '%s: %s is not one of %s%s' % (name, _inputs.describe(value), ', '.join(str(c) for c in choices),
                                              _keys.did_you_mean(str(value), [str(c) for c in choices]))
    return None


def _is_integer(value):
    """A whole number, or a string of one (as Ansible's int type converts it)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return False
    try:
        int(value)
    except ValueError:
        return False
    return True


def _is_number(value):
    """A number, or a string of one (as Ansible's float type converts it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _role_list_error(name, value, elements, write):
    if elements == 'str' and isinstance(value, str):
        return None   # Ansible turns 'a,b' into [a, b]
    if not isinstance(value, list):
        return '%s: expected a list%s, got %s%s' % (name, ' of dicts' if elements == 'dict' else '', _inputs.describe(value), write)
    for i, item in enumerate(value):
        if elements == 'dict' and not isinstance(item, dict):
            return '%s[%d]: expected a dict, got %s%s' % (name, i, _inputs.describe(item), write)
        if elements == 'str' and (isinstance(item, bool) or not isinstance(item, (str, int, float))):
            return '%s[%d]: expected a string, got %s%s' % (name, i, _inputs.describe(item), write)
    return None


def check_role_variables(spec, variables, names):
    """Every mistake in the role's variables, in the role's words, before anything runs: names
    the role does not know (with the closest known one), values of the wrong type or outside
    their choices (saying what to write), then what the modules would refuse without looking at
    the host (profile, overrides and their floors, budget, peak, kube_proxy, NOTRACK exemptions,
    file paths, ranges). spec: the role's argument specs (main and audit options); variables:
    {name: value} of the spec's names that are set; names: every conntrack_* variable name."""
    ignore = variables.get(ROLE_IGNORE)
    if isinstance(ignore, str):
        ignore = [part.strip() for part in ignore.split(',')]   # as Ansible turns 'a,b' into a list
    errors = []
    for name, hint in unknown_role_variables(names, spec, ignore if isinstance(ignore, list) else ()):
        errors.append('%s: not a variable of nfct.tuning.conntrack%s. Nothing ran on the host: a misspelt variable '
                      'would silently tune or audit against a default. If it is not meant for this role, list it in %s'
                      % (name, hint, ROLE_IGNORE))
    for name in sorted(n for n in variables if n in spec and variables[n] is not None):
        error = _role_type_error(name, spec[name], variables[name])
        if error:
            errors.append(error)
    return errors or [role_terms(e) for e in _role_values(variables)]


def _role_values(variables):
    """What the modules would refuse, checked without the host (messages in the modules' words)."""
    v = dict((name[len('conntrack_'):], value) for name, value in variables.items())
    errors = []
    for name, (lo, hi, unit) in sorted(ROLE_NUMBERS.items()):
        try:
            if variables.get(name) is not None:
                _inputs.number(variables[name], name, lo, hi, True, unit)
        except _inputs.ProfileError as e:
            errors.append(str(e))
    checks = (
        lambda: _role_engine(v),
        lambda: _kubeproxy.normalize(v.get('kube_proxy')),
        lambda: _notrack.validate_exemptions(v.get('notrack'), None),
    )
    for check in checks:
        try:
            check()
        except (_inputs.ProfileError, _keys.InvalidSetting, _kubeproxy.KubeProxyError, _notrack.NotrackError) as e:
            errors.append(str(e))
    if v.get('history_source') == 'prometheus' and not v.get('prometheus_url'):
        errors.append('prometheus_url: required with history_source: prometheus (the server\'s base URL, '
                      'http(s)://host:9090)')
    paths = dict((o, v[o]) for o in OWNED_FILES if v.get(o) is not None)
    return errors + _paths.check_paths(paths, sorted(paths))


def _role_engine(v):
    """The sizing engine's options and the profile, with the floors of every timeout they set."""
    opts = _inputs.options(v.get('overrides'), v.get('memory_budget_percent'), v.get('expected_peak'),
                           v.get('only_raise', True), v.get('force', False), None)
    profile = v.get('profile')
    prof = _inputs.resolve_profile('default' if profile is None else profile, v.get('profiles'))
    low = [_keys.floor_message(short, entry['value'], label='%s.%s' % (prof['setting_origin'].get(short), short))
           for short, entry in sorted(prof['settings'].items())]
    low += _keys.check_floors(opts['overrides'], 'overrides')[0]
    low = [m for m in low if m]
    if low and not opts['force']:
        raise _inputs.ProfileError('; '.join(low))
