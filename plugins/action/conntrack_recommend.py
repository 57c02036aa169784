# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compute the recommendation on the controller from facts gathered earlier in
the play: no round trip to the host. Gathers the facts (one module run) only
when none are available."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        validation, params = self.validate_argument_spec(argument_spec=_recommend_args.ARGUMENT_SPEC)
        facts = params.get('facts')
        gathered = False
        if facts is None:
            facts = (task_vars.get('ansible_facts') or {}).get('conntrack')
        if facts is None:
            res = self._execute_module(module_name='nfct.tuning.conntrack_facts', module_args={},
                                       task_vars=task_vars)
            if res.get('failed'):
                return res
            facts = res['ansible_facts']['conntrack']
            gathered = True
        host = task_vars.get('inventory_hostname', 'localhost')
        rec, err = _recommend_args.compute(params, facts, host)
        if err:
            result.update(failed=True, msg=err)
            return result
        result.update(rec)
        result['changed'] = False
        result['computed_on'] = 'controller'
        if gathered:
            result['ansible_facts'] = {'conntrack': facts}
        return result
