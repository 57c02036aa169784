# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of nfct.tuning.conntrack_audit: with history_source: prometheus, the host's history is
read from Prometheus here on the controller (one query_range request per host) and given to the
module as its history option, so the audit stays one module run per host; the prometheus_*
options (credentials among them) never leave the controller. A failed read is the documented
fallback to static sizing, said in the audit's warnings; an option the reader refuses fails the
task with its message."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.plugins.action import ActionBase

NAME = 'nfct.tuning.conntrack_audit'
# the options of history/prometheus.py (sizing/args.py HISTORY_SPEC holds their types), imported
# only to read it: without Prometheus this action imports nothing of the collection (its worker,
# one per host, would spend ~0.1 s of CPU on them)
PROMETHEUS_PREFIX = 'prometheus_'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get('history_source') == 'prometheus' and args.get('history') is None:
            history, error = self.read_prometheus(args, task_vars.get('inventory_hostname', 'localhost'))
            if error:
                result.update(failed=True, changed=False, msg='%s: %s' % (NAME, error))
                return result
            args['history'] = history
        for name in [k for k in args if k.startswith(PROMETHEUS_PREFIX)]:
            del args[name]
        result.update(self._execute_module(module_name=NAME, module_args=args, task_vars=task_vars))
        return result

    @staticmethod
    def read_prometheus(args, host):
        """(the module's history option, error): the document read, or {'fallback': why} when the
        server could not give it; error for an option the reader refuses."""
        from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
        from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as _prometheus
        from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
        spec = dict((k, v) for k, v in _recommend_args.HISTORY_SPEC.items() if k.startswith(PROMETHEUS_PREFIX))
        given = dict((k, v) for k, v in args.items() if k in spec)
        validated = ArgumentSpecValidator(spec).validate(given)
        if validated.error_messages:
            return None, '; '.join(validated.error_messages)
        params = dict(validated.validated_parameters, history_source='prometheus')
        options = _prometheus.options_of(params)
        _none, summary, error = _recommend_args.history_for(
            params, None, host, lambda url, instance: _prometheus.reader(url, instance, **options))
        if error:
            return None, error
        return summary['document'] or {'fallback': summary.get('statement') or 'the history from Prometheus was not read'}, None
