# -*- coding: utf-8 -*-
"""The action of conntrack_audit on the controller: with history_source prometheus it reads the
history before the one module run and sends none of the prometheus_* options (credentials among
them) to the host; a read that fails becomes the documented fallback, a bad option fails the task
before the host is reached; any other source is passed through untouched. The module run is
recorded, not made; the real Prometheus server and the real module run are in
tests/prometheus/test_prometheus_history.py (test_the_audit_reads_prometheus_...)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from unittest import mock

import pytest

from ansible_collections.nfct.tuning.plugins.action import conntrack_audit as action
from ansible_collections.nfct.tuning.plugins.module_utils.history import prometheus as _prometheus

from modrun import run_action

DOC = {'source': 'prometheus', 'days': 15}


class Recorded(action.ActionModule):
    sent = []

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kw):
        Recorded.sent.append((module_name, dict(module_args)))
        return {'changed': False, 'audit': {'status': 'ok'}}


@pytest.fixture
def sent():
    Recorded.sent = []
    return Recorded.sent


def reader(history, meta, sentence):
    return mock.patch.object(_prometheus, 'reader', lambda url, instance, **options: (history, meta, sentence))


def test_prometheus_is_read_here_and_its_options_stay_here(tmp_path, sent):
    asked = []

    def read(url, instance, **options):
        asked.append((url, instance, options))
        return DOC, {'end': 1}, 'history from Prometheus at %s' % url
    with mock.patch.object(_prometheus, 'reader', read):
        args = {'profile': 'web', 'history_source': 'prometheus', 'prometheus_url': 'http://prom:9090',
                'prometheus_password': 'pw', 'prometheus_username': 'me', 'prometheus_days': '15'}
        res = run_action(Recorded, tmp_path, args, {'inventory_hostname': 'web1'})
    assert res['audit'] == {'status': 'ok'} and not res.get('failed')
    assert asked == [('http://prom:9090', 'web1', {'days': 15, 'username': 'me', 'password': 'pw', 'label': 'instance',
                                                   'match': 'port', 'metrics': 'node_exporter', 'timeout': 30,
                                                   'max_bytes': 8388608, 'validate_certs': True})]
    (name, args), = sent
    assert name == 'nfct.tuning.conntrack_audit'
    assert args == {'profile': 'web', 'history_source': 'prometheus', 'history': DOC}


def test_a_failed_read_is_the_fallback_with_its_reason(tmp_path, sent):
    with reader(None, {'fallback': 'static', 'error': 'refused', 'error_kind': 'unreachable'},
                'no history from Prometheus (refused): static sizing'):
        res = run_action(Recorded, tmp_path, {'history_source': 'prometheus', 'prometheus_url': 'http://prom:9090'})
    assert not res.get('failed')
    assert sent[0][1]['history'] == {'fallback': 'no history from Prometheus (refused): static sizing'}


@pytest.mark.parametrize('args, words', [
    ({'history_source': 'prometheus'}, 'prometheus_url: required with history_source: prometheus'),
    ({'history_source': 'prometheus', 'prometheus_url': 'http://p', 'prometheus_days': 'many'},
     'prometheus_days'),
])
def test_a_bad_option_fails_before_the_host(tmp_path, sent, args, words):
    res = run_action(Recorded, tmp_path, args)
    assert res['failed'] is True and words in res['msg'] and res['msg'].startswith('nfct.tuning.conntrack_audit: ')
    assert sent == []


@pytest.mark.parametrize('args', [
    {'history_source': 'host'}, {'history_source': 'none'}, {},
    {'history_source': 'prometheus', 'history': {'fallback': 'given'}},
])
def test_other_sources_and_a_given_history_pass_through(tmp_path, sent, args):
    with reader(None, {}, 'never read'):
        run_action(Recorded, tmp_path, args)
    assert sent == [('nfct.tuning.conntrack_audit', args)]
