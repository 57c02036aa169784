# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec and the call into the sizing engine, shared by the
conntrack_recommend module (runs on the host) and its action plugin (runs on
the controller from already gathered facts)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import spec as _notrack
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing

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
ARGUMENT_SPEC = dict(
    ENGINE_SPEC,
    facts=dict(type='dict'),
    previous_stats=dict(type='dict'),
    notrack_exemptions=dict(type='raw'),
    files=dict(type='dict'),
)


def compute(params, facts, host='localhost'):
    """Return (result dict, error message or None)."""
    try:
        rec = _sizing.recommend(
            facts, profile=params.get('profile') or 'default', overrides=params.get('overrides'),
            memory_budget_percent=params.get('memory_budget_percent'),
            expected_peak=params.get('expected_peak'), only_raise=params.get('only_raise', True),
            profiles=params.get('profiles'), previous_stats=params.get('previous_stats'),
            force=params.get('force', False), kube_proxy=params.get('kube_proxy'))
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
