# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compute the recommendation on the controller from facts gathered earlier in
the play: no round trip to the host. Gathers the facts (one module run) only
when none are available.

With role_variables: true (the first task of the role nfct.tuning.conntrack, through its
dependency nfct.tuning.conntrack_preflight) it checks the role's variables instead, before
Ansible's own argument check of the role, so that the first message is ours and says what to
write. Inside the role its messages name the role's variables (conntrack_force), elsewhere the
module's options (force)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args, inputs as _inputs

NAME = 'nfct.tuning.conntrack_recommend'
ROLE = ('nfct.tuning', 'conntrack')
ROLE_SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          'roles', 'conntrack', 'meta', 'argument_specs.yml')


def role_spec(path=ROLE_SPECS):
    """The role's variables: the options of its entry points (main, audit), from its argument specs."""
    import yaml
    with open(path) as f:
        # libyaml's loader when PyYAML has it: ~3 ms against ~40 ms, in every host's preflight
        specs = yaml.load(f, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))['argument_specs']
    spec = {}
    for entry in specs.values():
        spec.update(entry.get('options') or {})
    return spec


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _in_role(self):
        role = getattr(self._task, '_role', None)
        return role is not None and (getattr(role, '_role_collection', None), getattr(role, '_role_name', None)) == ROLE

    def _fail(self, result, msg):
        result.update(failed=True, changed=False, msg=_recommend_args.role_terms(msg) if self._in_role() else msg)
        return result

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        unknown = sorted(str(k) for k in self._task.args if k not in _recommend_args.ARGUMENT_SPEC)
        if unknown:
            return self._fail(result, _inputs.unknown_options_message(NAME, unknown, _recommend_args.ARGUMENT_SPEC))
        wrong = _inputs.option_type_errors(self._task.args, _recommend_args.ARGUMENT_SPEC)
        if wrong:
            return self._fail(result, '%s: %s' % (NAME, '; '.join(wrong)))
        try:
            _validation, params = self.validate_argument_spec(argument_spec=_recommend_args.ARGUMENT_SPEC)
        except AnsibleActionFail as e:
            return self._fail(result, '%s: %s' % (NAME, getattr(e, 'message', None) or str(e)))
        if params.get('role_variables'):
            return self.check_role(task_vars, result)
        facts, gathered = params.get('facts'), False
        if facts is None:
            facts = (task_vars.get('ansible_facts') or {}).get('conntrack')
        if facts is None:
            res = self._execute_module(module_name='nfct.tuning.conntrack_facts', module_args={}, task_vars=task_vars)
            if res.get('failed'):
                return res
            facts = res['ansible_facts']['conntrack']
            gathered = True
        host = task_vars.get('inventory_hostname', 'localhost')
        history, info, err = _recommend_args.history_for(params, facts, host, self._prometheus_reader(params))
        if err:
            return self._fail(result, err)
        rec, err = _recommend_args.compute(dict(params, history=history, now=time.time()), facts, host, info)
        if err:
            return self._fail(result, err)
        if self._in_role():
            for key in ('warnings', 'warning_messages', 'report'):
                rec[key] = [_recommend_args.role_terms(line) for line in rec.get(key) or []]
        result.update(rec)
        result['changed'] = False
        result['computed_on'] = 'controller'
        if gathered:
            result['ansible_facts'] = {'conntrack': facts}
        return result

    @staticmethod
    def _prometheus_reader(params):
        """history/prometheus.py reader() with this task's prometheus_* options: one request."""
        from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as _prometheus
        options = _prometheus.options_of(params)
        return lambda url, instance: _prometheus.reader(url, instance, **options)

    def check_role(self, task_vars, result):
        """The role's variables as this host sees them (inventory, play, -e, role parameters):
        names it does not know, types, and what the modules would refuse without the host."""
        try:
            spec = role_spec()
        except (IOError, OSError, ValueError, KeyError, TypeError) as e:
            return self._fail(result, 'cannot read the role\'s argument specs %s: %s' % (ROLE_SPECS, e))
        names = sorted(k for k in task_vars if isinstance(k, str) and k.startswith('conntrack_'))
        variables, errors = {}, []
        for name in names:
            if name in spec:
                try:
                    variables[name] = self._templar.template(task_vars[name])
                except Exception as e:  # an undefined variable, a broken template: named, not a traceback
                    errors.append('%s: cannot be evaluated: %s' % (name, e))
        errors += _recommend_args.check_role_variables(spec, variables, names)
        if not errors and variables.get('conntrack_history_source') == 'prometheus':
            # the Prometheus options as the reader checks them (no request)
            from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as _prometheus
            params = dict((name[len('conntrack_'):], value) for name, value in variables.items())
            error = _prometheus.check(params.get('prometheus_url'), params.get('prometheus_instance')
                                      or task_vars.get('inventory_hostname', 'localhost'), **_prometheus.options_of(params))
            errors += [_recommend_args.role_terms(error)] if error else []
        if errors:
            result.update(failed=True, changed=False, msg='; '.join(errors))
            return result
        result.update(changed=False, msg='the role\'s variables are valid (%d checked)' % len(variables))
        return result
