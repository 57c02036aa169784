# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conntrack_settings with state: disabled (the articles' option A): refuse while anything
needs connection tracking, then, on a module kernel, unload nf_conntrack and every module
that holds it and keep it from loading again (our modprobe.d file); on a built-in kernel,
require the untrack-all NOTRACK objects (conntrack_notrack untrack_all) and record the state.
Pure functions; the module does the I/O behind the one check-mode gate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

BUILTIN_MODES = ('refuse', 'notrack_all')


def refusal(users, ignore_option='users_ignore (conntrack_users_ignore in the role)'):
    """The error when anything blocks, naming every blocker with its reason and first evidence."""
    if users['can_disable']:
        return None
    parts = []
    for u in users['users']:
        if u['blocking']:
            parts.append('%s (%s%s)' % (u['id'], u['why'], ('; ' + u['evidence'][0]) if u['evidence'] else ''))
    return ('conntrack is in use here; nothing was changed. %d blocker(s): %s. Remove them (docs/disable.md says '
            'how for each kind), or name those that do not matter in %s'
            % (len(parts), '; '.join(parts), ignore_option))


def plan(facts, users, files, builtin_mode, builtin_option='builtin_mode', check=False):
    """-> {'errors', 'warnings', 'unload': [module], 'files': {path: {'before', 'after'}}, 'kernel',
    'summary'} for state disabled. files: the file changes _settings.plan computed for state
    disabled (our disable file written, our other files removed)."""
    module = facts.get('module') or {}
    kernel = module.get('type')
    errors, warnings, unload = [], [], []
    why = refusal(users)
    if why:
        errors.append(why)
    if kernel == 'builtin':
        if builtin_mode != 'notrack_all':
            errors.append('nf_conntrack is built into this kernel (%s): it cannot be unloaded. %s: notrack_all '
                          'exempts all traffic from tracking with our NOTRACK objects instead (nothing is tracked, '
                          'the table stays allocated)' % (module.get('evidence'), builtin_option))
        elif not users.get('untrack_all') and check:
            warnings.append('check mode: our untrack-all NOTRACK objects are not in place yet; a real run applies '
                            'them first (conntrack_notrack untrack_all) and then records the state')
        elif not users.get('untrack_all'):
            errors.append('nf_conntrack is built in and our untrack-all NOTRACK objects are not in place: apply '
                          'them first (conntrack_notrack with untrack_all: true; the role does it before this step)')
        else:
            warnings.append('nf_conntrack is built in: all traffic is exempted from tracking by our NOTRACK objects; '
                            'the table stays allocated (%s entries max)' % facts.get('max'))
    elif kernel == 'module' and module.get('loaded'):
        unload = list(users.get('unload_order') or [])
    summary = []
    if unload:
        summary.append('unload: %s' % ', '.join(unload))
    summary += ['%s: %s' % (path, 'remove' if ch['after'] is None else 'create' if ch['before'] is None else 'update')
                for path, ch in sorted(files.items())]
    return {'errors': errors, 'warnings': warnings, 'unload': unload, 'files': files, 'kernel': kernel,
            'summary': summary}


def disabled_state(facts, users, disable_text):
    """Is conntrack off as state disabled means? -> (True, None) or (False, why)."""
    module = facts.get('module') or {}
    if disable_text is None:
        return False, 'our disable file is missing'
    if module.get('type') == 'module' and module.get('loaded'):
        return False, 'nf_conntrack is loaded again (%s)' % ('; '.join(users.get('loaded_by') or []) or 'by whom is unknown')
    if module.get('type') == 'builtin' and not users.get('untrack_all'):
        return False, 'nf_conntrack is built in and the untrack-all NOTRACK objects are gone: traffic is tracked'
    return True, None
