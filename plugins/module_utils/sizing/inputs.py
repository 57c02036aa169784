# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of everything the sizing engine is given: options, profile data, facts.

Every input is either accepted with a meaning or refused with a ProfileError that names the
option or profile field and its allowed range. Pure functions, no I/O.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math
import re

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel
from ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles import BUILTIN_PROFILES, SIZING_DEFAULTS


class ProfileError(ValueError):
    """Bad option, profile name or profile data; the message says what is allowed."""


# memory_budget_percent: the share of RAM the table may use.
#  - at least 0.1: below that the budget cannot even hold the kernel's own default table
#    (RAM/16384 buckets x 264 B is ~0.2% of RAM on small hosts); such a budget is a typo for
#    "use less", and the kernel default is kept anyway unless force.
#  - at most 50: conntrack entries are unswappable kernel memory; a table allowed more than
#    half of RAM can push the host into the OOM killer before it ever fills.
BUDGET_RANGE = (0.1, 50)
# The average chain length at a full table: at most 8, the kernel's own factor when a hash size
# is given; longer chains make every packet's lookup walk them.
MAX_LOAD_FACTOR = _kernel.EXPLICIT_FACTOR
# A cap below this is smaller than the kernel's minimum table (1024 buckets, max = buckets).
MIN_CAP = _kernel.MIN_TABLE

# sizing field -> (low, high, integer, why)
SIZING_RANGES = {
    'use_kernel_default': (0, 1, True, '0 or 1'),
    'per_gib_ram': (0, 16777216, True, 'entries per GiB of RAM'),
    'per_cpu': (0, 16777216, True, 'entries per CPU'),
    'min': (0, _keys.MAX_MAX, True, 'entries'),
    'cap': (MIN_CAP, _keys.MAX_MAX, True, 'entries, or null for no cap; at least the kernel minimum table 1024'),
    'load_factor': (1, MAX_LOAD_FACTOR, True, 'average chain length at a full table; 8 is the kernel\'s own '
                                              'factor with an explicit hash size'),
    'memory_budget_percent': (BUDGET_RANGE[0], BUDGET_RANGE[1], False, 'percent of RAM'),
    'peak_headroom': (1, 10, False, 'x expected_peak'),
    'target_usage': (0.1, 0.9, False, 'share of max the live count may use; 1 would be a full table'),
    'alert_usage': (0.1, 0.99, False, 'share of max'),
}
PROFILE_FIELDS = ('description', 'extends', 'replace', 'sizing', 'settings', 'notrack', 'sources', 'nat',
                  'kube_proxy', 'notes')
_BOOL_WORDS = {'true': True, 'yes': True, 'on': True, '1': True, 'false': False, 'no': False, 'off': False, '0': False}


def number(value, where, lo, hi, integer=True, unit=''):
    """value as an int (or float when integer is False) within lo-hi, or ProfileError naming `where`."""
    rng = 'the allowed range %s-%s%s' % (_fmt(lo), _fmt(hi), (' ' + unit) if unit else '')
    kind = 'an integer' if integer else 'a number'
    if isinstance(value, bool) or value is None or not isinstance(value, (int, float, str)):
        raise ProfileError('%s: expected %s in %s, got %r' % (where, kind, rng, value))
    if isinstance(value, str):
        v = value.strip()
        if not re.match(r'^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$', v):
            raise ProfileError('%s: expected %s in %s, got %r' % (where, kind, rng, value))
        value = float(v) if re.search(r'[.eE]', v) else int(v)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ProfileError('%s: expected %s in %s, got %r' % (where, kind, rng, value))
        if integer:
            if value != int(value):
                raise ProfileError('%s: expected %s in %s, got %r' % (where, kind, rng, value))
            value = int(value)
    if value < lo or value > hi:
        raise ProfileError('%s: %s is outside %s' % (where, _fmt(value), rng))
    return value


def _fmt(x):
    if isinstance(x, float) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def boolean(value, where):
    """True/False, or the usual YAML words as strings ('false' is False); anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    raise ProfileError('%s: expected a boolean (true or false), got %r' % (where, value))


def budget(value, where='memory_budget_percent'):
    return number(value, where, BUDGET_RANGE[0], BUDGET_RANGE[1], integer=False, unit='percent of RAM')


def _text(value, where):
    if value is None:
        return ''
    if not isinstance(value, str):
        raise ProfileError('%s: expected a string, got %s' % (where, type(value).__name__))
    return value


# ---------------------------------------------------------------- profiles

def _value_entry(name, key, item, where):
    """A profile setting is an int, 'kernel_default', or {value, reason, source}; return the dict form."""
    if isinstance(item, dict):
        unknown = set(item) - {'value', 'reason', 'source'}
        if unknown or 'value' not in item:
            raise ProfileError("%s.settings.%s: expected an integer or a dict with 'value' (and optional "
                               "'reason', 'source'); got keys %s" % (where, key, sorted(str(k) for k in item)))
        value = item['value']
        reason = _text(item.get('reason'), '%s.settings.%s.reason' % (where, key)) or 'set by profile %s' % name
        source = _text(item.get('source'), '%s.settings.%s.source' % (where, key)) or 'profile %s' % name
    else:
        value, reason, source = item, 'set by profile %s' % name, 'profile %s (user-defined)' % name
    short = _keys.canonical_key(key, '%s.settings' % where)
    if short in ('max', 'buckets'):
        raise ProfileError("%s.settings.%s: sizes are computed from 'sizing'; use overrides to pin %s"
                           % (where, key, short))
    if value == 'kernel_default':
        if short not in _kernel.DEFAULT_TIMEOUTS:
            raise ProfileError("%s.settings.%s: 'kernel_default' is known only for %s"
                               % (where, key, ', '.join(sorted(_kernel.DEFAULT_TIMEOUTS))))
    else:
        value = _keys.validate_value(short, value, '%s.settings' % where)
    return short, {'value': value, 'reason': reason, 'source': source}


def validate_profile(name, data, where=None):
    """Check one profile's data; return a normalised copy (without resolving extends)."""
    where = where or 'profiles.%s' % name
    if not isinstance(data, dict):
        raise ProfileError('%s: expected a dict (description, extends, sizing, settings, ...), got %s'
                           % (where, type(data).__name__))
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ProfileError('%s: unknown field(s) %s; allowed: %s%s' % (where, ', '.join(sorted(str(u) for u in unknown)),
                                                                       ', '.join(PROFILE_FIELDS),
                                                                       _hint(sorted(str(u) for u in unknown)[0],
                                                                             PROFILE_FIELDS)))
    extends = data.get('extends')
    if extends is not None and not isinstance(extends, str):
        raise ProfileError('%s.extends: expected the name of a profile, got %r' % (where, extends))
    out = {'description': _text(data.get('description'), where + '.description'), 'extends': extends,
           'replace': boolean(data.get('replace', False), where + '.replace'),
           'sizing': {}, 'settings': {}, 'notrack': [], 'sources': {}, 'notes': [],
           'nat': None if data.get('nat') is None else boolean(data['nat'], where + '.nat'),
           'kube_proxy': None if data.get('kube_proxy') is None else boolean(data['kube_proxy'], where + '.kube_proxy')}
    sizing = data.get('sizing') or {}
    if not isinstance(sizing, dict):
        raise ProfileError('%s.sizing: expected a dict of %s' % (where, ', '.join(sorted(SIZING_RANGES))))
    for k, v in sizing.items():
        if k not in SIZING_RANGES:
            raise ProfileError('%s.sizing: unknown field %s; allowed: %s%s' % (where, k, ', '.join(sorted(SIZING_RANGES)),
                                                                               _hint(k, sorted(SIZING_RANGES))))
        lo, hi, integer, unit = SIZING_RANGES[k]
        if v is None and k == 'cap':
            out['sizing'][k] = None
            continue
        out['sizing'][k] = number(v, '%s.sizing.%s' % (where, k), lo, hi, integer, unit)
    settings = data.get('settings') or {}
    if not isinstance(settings, dict):
        raise ProfileError('%s.settings: expected a dict of conntrack key -> value' % where)
    for k, item in settings.items():
        short, entry = _value_entry(name, k, item, where)
        if short in out['settings']:
            raise ProfileError("%s.settings: key '%s' is given twice (as '%s')" % (where, short, k))
        out['settings'][short] = entry
    notrack = data.get('notrack') or []
    if not isinstance(notrack, list):
        raise ProfileError('%s.notrack: expected a list of exemptions (dicts)' % where)
    for i, ex in enumerate(notrack):
        if not isinstance(ex, dict):
            raise ProfileError('%s.notrack[%d]: expected a dict' % (where, i))
    out['notrack'] = [dict(ex) for ex in notrack]
    sources = data.get('sources') or {}
    if not isinstance(sources, dict):
        raise ProfileError('%s.sources: expected a dict of sizing field -> text' % where)
    for k, v in sources.items():
        if k not in SIZING_RANGES:
            raise ProfileError('%s.sources: unknown field %s; allowed: %s' % (where, k, ', '.join(sorted(SIZING_RANGES))))
        out['sources'][k] = _text(v, '%s.sources.%s' % (where, k))
    notes = data.get('notes') or []
    if not isinstance(notes, list):
        raise ProfileError('%s.notes: expected a list of strings' % where)
    out['notes'] = [_text(n, '%s.notes[%d]' % (where, i)) for i, n in enumerate(notes)]
    return out


def _catalog(extra):
    """Built-in and user profiles: name -> (validated data, where). A user profile named like a
    built-in one must say how it relates to it: extends the built-in, or replace: true."""
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise ProfileError('profiles: expected a dict of profile name -> profile, got %s' % type(extra).__name__)
    cat = {}
    for name, data in BUILTIN_PROFILES.items():
        cat[name] = (validate_profile(name, data, 'built-in profile %s' % name), 'built-in profile %s' % name)
    for name, data in extra.items():
        if not isinstance(name, str) or not re.match(r'^[A-Za-z0-9_.-]+$', name):
            raise ProfileError('profiles: %r is not a valid profile name (letters, digits, _ . -)' % (name,))
        p = validate_profile(name, data)
        if name in BUILTIN_PROFILES:
            if p['extends'] == name:
                cat['builtin:' + name] = cat[name]
                p['extends'] = 'builtin:' + name
            elif not p['replace']:
                raise ProfileError("profiles.%s: '%s' is a built-in profile; say extends: %s to start from it, or "
                                   "replace: true to discard it" % (name, name, name))
        elif p['replace']:
            raise ProfileError("profiles.%s.replace: there is no built-in profile '%s' to replace; valid built-in "
                               "profiles: %s" % (name, name, ', '.join(sorted(BUILTIN_PROFILES))))
        cat[name] = (p, 'profiles.%s' % name)
    return cat


def resolve_profile(name, extra=None):
    """The named profile with 'extends' applied, from builtin plus user-supplied profiles."""
    cat = _catalog(extra)
    visible = sorted(k for k in cat if not k.startswith('builtin:'))
    if isinstance(name, str) and not name.strip():
        raise ProfileError("profile: empty; give one of the valid profiles: %s" % ', '.join(visible))
    if not isinstance(name, str) or name not in cat or name.startswith('builtin:'):
        raise ProfileError("profile: unknown profile '%s'; valid profiles: %s%s"
                           % (name, ', '.join(visible), _hint(name, visible)))
    chain = []
    cur = name
    while cur is not None:
        if cur in chain:
            raise ProfileError('profile %s: extends loop %s' % (name, ' -> '.join(chain + [cur])))
        if cur not in cat:
            raise ProfileError("profiles.%s.extends: unknown profile '%s'; valid profiles: %s"
                               % (chain[-1], cur, ', '.join(visible)))
        chain.append(cur)
        cur = cat[cur][0]['extends']
    merged = {'name': name, 'chain': [c.replace('builtin:', '') + (' (built-in)' if c.startswith('builtin:') else '')
                                      for c in chain],
              'description': '', 'sizing': dict(SIZING_DEFAULTS), 'settings': {}, 'notrack': [],
              'sources': {}, 'nat': False, 'kube_proxy': False, 'notes': [], 'origin': {}, 'setting_origin': {}}
    for pname in reversed(chain):
        p, where = cat[pname]
        merged['sizing'].update(p['sizing'])
        for k in p['sizing']:
            merged['origin'][k] = where
        merged['settings'].update(p['settings'])
        for k in p['settings']:
            merged['setting_origin'][k] = where if where.startswith('built-in') else where + '.settings'
        merged['sources'].update(p['sources'])
        if p['notrack'] or pname == name:
            merged['notrack'] = p['notrack'] if pname == name or p['notrack'] else merged['notrack']
        for flag in ('nat', 'kube_proxy'):
            if p[flag] is not None:
                merged[flag] = p[flag]
        merged['notes'].extend(p['notes'])
        if p['description']:
            merged['description'] = p['description']
    sizing = merged['sizing']
    if sizing['cap'] is not None and sizing['min'] > sizing['cap']:
        raise ProfileError('profile %s: sizing.min %d is above sizing.cap %d (%s); the cap must be at least the minimum'
                           % (name, sizing['min'], sizing['cap'], _origins(merged['origin'], ('min', 'cap'))))
    return merged


def _origins(origin, fields):
    """Where profile fields come from, each place named once: 'both from profiles.p', or
    'min from profiles.p, cap from the defaults'."""
    places = [origin.get(f, 'the defaults') for f in fields]
    if len(set(places)) == 1:
        return '%s from %s' % ('both' if len(fields) == 2 else 'all', places[0])
    return ', '.join('%s from %s' % (f, w) for f, w in zip(fields, places))


def _hint(word, choices):
    """'. Did you mean 'x'?' for a misspelt name, or ''."""
    close = _keys.did_you_mean(word, choices)
    return ". Did you mean '%s'?" % close.split("'")[1] if close else ''


def profile_names(extra=None):
    return sorted(k for k in _catalog(extra) if not k.startswith('builtin:'))


# ---------------------------------------------------------------- options

STAT_FIELDS = ('found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'icmp_error',
               'search_restart', 'clash_resolve', 'chaintoolong')


def previous_stats(value):
    """The counters of an earlier facts run ({counter: int}); other keys of a stats dict are ignored."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProfileError('previous_stats: expected the stats dict of an earlier conntrack_facts run, got %s'
                           % type(value).__name__)
    out = {}
    for k in STAT_FIELDS:
        if value.get(k) is not None:
            out[k] = number(value[k], 'previous_stats.%s' % k, 0, 2 ** 64, True, 'count')
    return out


def options(overrides=None, memory_budget_percent=None, expected_peak=None, only_raise=True, force=False,
            previous=None):
    """Validate the options of recommend(); return a dict."""
    return {
        'overrides': _keys.validate_settings(overrides, 'overrides'),
        'budget': None if memory_budget_percent is None else budget(memory_budget_percent),
        'expected_peak': None if expected_peak is None else number(expected_peak, 'expected_peak', 1, _keys.MAX_MAX,
                                                                   True, 'connections'),
        'only_raise': boolean(only_raise, 'only_raise'),
        'force': boolean(force, 'force'),
        'previous_stats': previous_stats(previous),
    }


# ---------------------------------------------------------------- facts

def fact_int(facts, key, lo=0, hi=2 ** 62, default=None):
    """An integer fact, or ProfileError naming facts.KEY (facts may come from the user)."""
    v = facts.get(key) if isinstance(facts, dict) else None
    if v is None:
        return default
    return number(v, 'facts.%s' % key, lo, hi, True)


# What the engine reads in a facts document (the dict conntrack_facts returns), and the shape of
# each part: a document from elsewhere (the facts option, a fixture) is checked against it first,
# so that a missing part or a value of another type is a clear error and never a traceback.
# field -> (kind, required when conntrack is available or a loadable module to be loaded)
FACT_FIELDS = (
    ('available', 'bool', False), ('kernel', 'dict', True), ('module', 'dict', True), ('netns', 'dict', True),
    ('ram_bytes', 'int', False), ('cpus', 'int', False), ('count', 'int', False), ('max', 'int', False),
    ('buckets', 'int', False), ('expect_max', 'int', False), ('usage_ratio', 'number', False),
    ('load_factor', 'number', False), ('sysctls', 'dict', False), ('timeouts', 'dict', False),
    ('writable', 'strlist', False), ('readonly', 'dict', False), ('hashsize', 'dict', False), ('stats', 'dict', False),
    ('memory', 'dict', False), ('persisted', 'dict', False), ('kernel_default', 'dict', False),
    ('interfaces', 'strlist', False), ('nat', 'dict', False), ('kube_proxy', 'dict', False),
)
FACT_PARTS = {
    'kernel': (('version', 'version'), ('release', 'str'), ('arch', 'str'), ('pointer_size', 'int'),
               ('page_size', 'int')),
    'module': (('type', 'module_type'), ('loaded', 'bool'), ('evidence', 'str')),
    'netns': (('initial', 'bool'), ('evidence', 'str')),
    'memory': (('object_size', 'int'), ('object_size_source', 'str')),
    'hashsize': (('value', 'int'), ('writable', 'bool'), ('reason', 'str')),
    'persisted': (('at_boot', 'dict'),),
    'kernel_default': (('max', 'int!'), ('buckets', 'int!'), ('reason', 'str'), ('source', 'str'), ('era', 'str')),
    'nat': (('detected', 'bool'), ('owners', 'strlist'), ('evidence', 'strlist'), ('source', 'str')),
    'kube_proxy': (('conntrack', 'dict'), ('source', 'str'), ('running', 'bool'), ('error', 'str')),
}
MODULE_TYPES = ('builtin', 'module', 'absent')
_KINDS = {'bool': 'true or false', 'dict': 'a dict', 'int': 'an integer', 'int!': 'an integer', 'number': 'a number',
          'str': 'a string', 'strlist': 'a list of strings', 'version': '[major, minor, ...] (integers)',
          'module_type': 'one of %s' % ', '.join(MODULE_TYPES)}


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (
        isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def _is(kind, value):
    """Is value of this kind (None is, unless the kind ends in '!')?"""
    if value is None:
        return not kind.endswith('!')
    kind = kind.rstrip('!')
    if kind == 'int':
        return _finite(value) and value == int(value)
    if kind == 'number':
        return _finite(value)
    if kind == 'strlist':
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    if kind == 'version':
        return isinstance(value, (list, tuple)) and 2 <= len(value) <= 4 and all(
            isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1000 for x in value)
    if kind == 'module_type':
        return value in MODULE_TYPES
    return isinstance(value, {'bool': bool, 'dict': dict, 'str': str}[kind])


def _fact_error(where, kind, value):
    got = 'nothing' if value is None else '%s %r' % (type(value).__name__, value)
    if len(got) > 80:
        got = got[:77] + '...'
    return ProfileError('%s: expected %s (as nfct.tuning.conntrack_facts returns it), got %s' % (where, _KINDS[kind], got))


def check_facts(facts):
    """A facts document -> itself, or ProfileError naming the first part that is missing or of the
    wrong type (facts.module, facts.kernel.version, ...). Ranges are checked where they are used."""
    if facts is None:
        return None
    if not isinstance(facts, dict):
        raise ProfileError('facts: expected the dict returned by nfct.tuning.conntrack_facts, got %s'
                           % type(facts).__name__)
    needed = bool(facts.get('available')) or (isinstance(facts.get('module'), dict)
                                              and facts['module'].get('type') == 'module')
    for key, kind, required in FACT_FIELDS:
        value = facts.get(key)
        if value is None and required and needed:
            raise ProfileError('facts.%s: missing; expected %s as nfct.tuning.conntrack_facts returns it (gather the '
                               'facts with it, or pass them whole)' % (key, _KINDS[kind]))
        if not _is(kind, value):
            raise _fact_error('facts.%s' % key, kind, value)
        for sub, sub_kind in FACT_PARTS.get(key, ()) if isinstance(value, dict) else ():
            if not _is(sub_kind, value.get(sub)):
                raise _fact_error('facts.%s.%s' % (key, sub), sub_kind, value.get(sub))
    return facts


# ---------------------------------------------------------------- module options

def unknown_options_message(module, names, known):
    """The refusal of options a module does not have, each with the closest known one."""
    known = sorted(known)
    parts = ["'%s'%s" % (name, _keys.did_you_mean(name, known)) for name in names]
    return '%s: unknown option%s %s; its options: %s' % (module, 's' if len(names) > 1 else '', ', '.join(parts),
                                                         ', '.join(known))


def with_option_hints(module_class, module):
    """A subclass of module_class (Ansible's AnsibleModule, handed over so that this file imports
    nothing of Ansible) whose refusal of an unknown option names the module and the closest known
    option ('setings' -> 'settings') instead of Ansible's "Unsupported parameters for (basic.py)"."""

    class HintedModule(module_class):
        def fail_json(self, msg=None, **kwargs):
            result = getattr(self, 'validation_result', None)
            unknown = getattr(result, 'unsupported_parameters', None) or ()
            if unknown and str(msg).startswith('Unsupported parameters') and all(isinstance(n, str) for n in unknown):
                msg = unknown_options_message(module, sorted(unknown), getattr(self, 'argument_spec', {}) or {})
            module_class.fail_json(self, msg=msg, **kwargs)

    return HintedModule


def describe(value):
    """A value as a message shows it: "the string 'lo'", 'a dict', "a list ['max']"."""
    if isinstance(value, str):
        return 'the string %r' % value
    if isinstance(value, dict):
        return 'a dict'
    text = '%s %r' % ('a list' if isinstance(value, list) else type(value).__name__, value)
    return text if len(text) < 70 else text[:67] + '...'


def option_type_errors(args, spec):
    """Options whose value Ansible's own conversion would refuse with its internal type names
    (a list where a dict goes...): our messages, before Ansible's check."""
    errors = []
    for name in sorted(args):
        value, kind = args[name], (spec.get(name) or {}).get('type', 'str')
        if value is None:
            continue
        if kind == 'dict' and not isinstance(value, (dict, str)):
            errors.append('%s: expected a dict (key: value), got %s' % (name, describe(value)))
        elif kind == 'list' and not isinstance(value, (list, str)):
            errors.append('%s: expected a list, got %s' % (name, describe(value)))
        elif kind == 'bool':
            try:
                boolean(value, name)
            except ProfileError as e:
                errors.append(str(e))
    return errors
