# -*- coding: utf-8 -*-
"""conntrack_relieve on fixture hosts (files under a temporary root): it raises max at runtime only,
never touches a file (persisted ones byte-identical, none created), never resizes the hash table,
writes nothing at all in check mode, says what fills the table and what to run next, refuses beyond
the memory budget naming the budget and the option, and has nothing to do on a host without
conntrack or inside a container. The real kernel is in tests/netns/test_relieve_netns.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.modules import conntrack_relieve

import hosts
from modrun import ansible_flags, invoke

MAX = '/proc/sys/net/netfilter/nf_conntrack_max'
HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize'
HISTORY = '/var/lib/nfct-tuning/history.json'
LOCK = '/run/lock/nfct-tuning.lock'  # on tmpfs: gone at the next boot


def snapshot(root, skip=()):
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if p[len(root):] in skip:
                continue
            with open(p, 'rb') as fh:
                out[p] = (fh.read(), os.stat(p).st_mode)
    return out


def relieve(tmp_path, capsys, name, args=None, check=False, diff=False):
    root, probes = hosts.build(str(tmp_path / 'root'), name)
    invoke(conntrack_relieve, ansible_flags(tmp_path, args or {}, check, diff), root=root, probes=probes)
    return root, json.loads(capsys.readouterr().out)


def read(root, path):
    with open(root + path) as f:
        return f.read()


def test_full_table_raised_at_runtime_only(tmp_path, capsys):
    root = str(tmp_path / 'root')
    hosts.build(root, 'full_node')
    before = snapshot(root, skip=(MAX,))
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default'})
    assert res['changed'] is True and res['state'] == 'ok'
    m = res['max']
    assert m['before'] == 65536 and m['after'] > 65536 and m['change'] is True
    # never less than the live count plus the profile's headroom (target_usage): count/after <= 0.8
    assert 65536.0 / m['after'] <= 0.8
    assert int(read(root, MAX)) == m['after']
    # the hash table and every file untouched; only the history is new
    after = snapshot(root, skip=(MAX, HISTORY, LOCK))
    assert after == before
    assert read(root, HASHSIZE) == '16384\n'
    assert res['runtime_changes'] == [{'key': 'max', 'path': MAX, 'before': 65536, 'value': m['after']}]
    assert res['chain']['buckets'] == 16384 and res['chain']['at_max'] == round(m['after'] / 16384.0, 2)
    text = '\n'.join(res['lines'])
    assert 'at runtime only' in text and 'no file was written' in text
    assert 'nfct.tuning.tune' in res['commands']['persist']
    # the relieve is in the host's history, which the audit reads
    history = json.loads(read(root, HISTORY))
    assert history['events'][-1]['what'] == 'relieve' and history['events'][-1]['max_after'] == m['after']


def test_check_mode_writes_nothing_and_diff_shows_it(tmp_path, capsys):
    root = str(tmp_path / 'root')
    hosts.build(root, 'full_node')
    before = snapshot(root)
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default'}, check=True, diff=True)
    assert snapshot(root) == before
    assert not os.path.exists(root + '/run/lock/nfct-tuning.lock')
    assert res['changed'] is True
    assert res['diff'][0]['before'] == 'net.netfilter.nf_conntrack_max = 65536\n'
    assert res['diff'][0]['after'] == 'net.netfilter.nf_conntrack_max = %d\n' % res['max']['after']
    assert res['lines'][0] == 'table: 65536 of max 65536 entries (100%) in this network namespace'
    assert res['lines'][1].startswith('max: raise 65536 -> ')
    assert any('no file was to be written' in line for line in res['lines'])


def test_what_fills_the_table_and_notrack_suggestions(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default'}, check=True)
    b = res['breakdown']
    assert b['total'] == 100 and b['tcp_states']['TIME_WAIT'] == 60
    by_port = dict((s['exemption']['port'], s) for s in res['notrack_suggestions'])
    # port 80: nobody listens here, the host calls it (outbound); 443 is a local service (inbound);
    # 53 (8%) is below the 10% share; 22, the control connection, is never suggested
    assert by_port[80]['exemption'] == {'protocol': 'tcp', 'port': 80, 'direction': 'outbound'}
    assert by_port[443]['exemption']['direction'] == 'inbound'
    assert set(by_port) == {80, 443}
    assert '"conntrack_notrack"' in res['commands']['notrack']
    assert any('never applied by relieve' in line for line in res['lines'])


def test_shorten_timeouts_only_when_asked(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default'}, check=True)
    assert res['timeouts'] == []
    root, res = relieve(tmp_path / 'b', capsys, 'full_node', {'profile': 'default', 'shorten_timeouts': True})
    keys = dict((t['key'], t) for t in res['timeouts'])
    # TIME_WAIT holds 60%, ESTABLISHED 32%: both shortened to their floors; UDP (8%) is not
    assert set(keys) == {'tcp_timeout_time_wait', 'tcp_timeout_established'}
    assert keys['tcp_timeout_established']['after'] == 7440
    assert int(read(root, '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait')) == \
        keys['tcp_timeout_time_wait']['after']
    assert [w['key'] for w in res['runtime_changes']][0] == 'max'
    assert read(root, '/etc/sysctl.d/90-conntrack.conf') == hosts.HOSTS['full_node']['files'][
        '/etc/sysctl.d/90-conntrack.conf']


def test_beyond_the_budget_refused_naming_budget_and_option(tmp_path, capsys):
    root = str(tmp_path / 'root')
    hosts.build(root, 'full_node')
    before = snapshot(root)
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default', 'memory_budget_percent': 0.1})
    assert res.get('failed') is True
    assert 'memory_budget_percent' in res['msg'] and 'would hold it' in res['msg'] and 'force' in res['msg']
    assert snapshot(root, skip=(LOCK,)) == before


def test_role_vocabulary(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default', 'memory_budget_percent': 0.1,
                                                         'vocabulary': 'role'})
    assert 'conntrack_memory_budget_percent' in res['msg'] and 'conntrack_force' in res['msg']


def test_no_conntrack_nothing_to_relieve(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'module_not_loaded')
    assert res.get('failed') is not True and res['changed'] is False and res['state'] == 'absent'
    assert 'nothing to relieve' in res['lines'][0]


def test_container_says_where_to_run(tmp_path, capsys):
    root = str(tmp_path / 'root')
    hosts.build(root, 'container_netns')
    before = snapshot(root)
    _root, res = relieve(tmp_path, capsys, 'container_netns')
    assert res['state'] == 'readonly' and res['changed'] is False
    assert snapshot(root, skip=(LOCK,)) == before
    assert res['lines'][0] == 'table: 0 of max 262144 entries (0%) in this network namespace'
    assert any('Run relieve on the node' in line for line in res['lines'])
    # the engine's "cannot be changed from here" is not repeated as a warning: the lines say it
    assert not any('cannot be changed from here' in str(w) for w in res.get('warnings') or [])


def test_already_large_enough_is_kept(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'post515_builtin', {'profile': 'default'})
    assert res['changed'] is False and res['max']['change'] is False
    assert res['runtime_changes'] == []
    assert res['lines'][1].startswith('max: 262144 kept')


def test_failed_read_back_puts_everything_back(tmp_path, capsys, monkeypatch):
    from ansible_collections.nfct.tuning.plugins.module_utils.host import runtime
    root = str(tmp_path / 'root')
    hosts.build(root, 'full_node')
    real = runtime.write_value
    calls = []

    def flaky(path, value):
        calls.append(path)
        if path.endswith('time_wait'):
            raise OSError(5, 'Input/output error')
        real(path, value)
    monkeypatch.setattr(runtime, 'write_value', flaky)
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default', 'shorten_timeouts': True})
    assert res['failed'] is True and 'put back' in res['msg']
    assert read(root, MAX) == '65536\n'
    assert not os.path.exists(root + HISTORY)


@pytest.mark.parametrize('bad, words', [
    ({'top': 0}, ['top', '1', '100']),
    ({'lock_timeout': -1}, ['lock_timeout', '86400']),
    ({'vocabulary': 'other'}, ['vocabulary', 'module', 'role']),
])
def test_bad_input_names_the_option_and_range(tmp_path, capsys, bad, words):
    _root, res = relieve(tmp_path, capsys, 'full_node', bad)
    assert res['failed'] is True
    for w in words:
        assert w in res['msg']


def test_the_next_audit_names_the_relieve_and_how_to_persist(tmp_path, capsys):
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit
    from ansible_collections.nfct.tuning.plugins.module_utils.audit import report as _report
    root, probes = hosts.build(str(tmp_path / 'root'), 'full_node')
    invoke(conntrack_relieve, ansible_flags(tmp_path, {'profile': 'default'}), root=root, probes=probes)
    raised = json.loads(capsys.readouterr().out)['max']['after']
    invoke(conntrack_audit, ansible_flags(tmp_path, {'profile': 'default', 'health_sample': 0}, True), root=root,
           probes=probes)
    a = json.loads(capsys.readouterr().out)['audit']
    assert a['keys']['max']['kinds'] == ['unpersisted'] and a['keys']['max']['runtime'] == raised
    assert a['relieved']['max_after'] == raised and a['relieved']['max_before'] == 65536
    text = '\n'.join(a['lines'])
    assert 'max raised by relieve at ' in text and 'the next boot gives 65536 back' in text
    report = _report.build({'node1': {'audit': a}}, ['node1'], context={'inventory': ['/srv/hosts.ini']})
    fixes = report['hosts']['node1']['fix']
    assert {'why': 'persist what relieve raised at runtime and resize the hash table, in a quiet window',
            'command': 'ansible-playbook -i /srv/hosts.ini nfct.tuning.tune --limit node1'} in fixes


def test_role_vocabulary_names_relieves_own_variables(tmp_path, capsys):
    _root, res = relieve(tmp_path, capsys, 'full_node', {'top': 0, 'vocabulary': 'role'})
    assert res['msg'] == 'conntrack_relieve_top: 0 is outside the allowed range 1-100'


def test_a_value_changed_while_deciding_is_not_overwritten(tmp_path, capsys, monkeypatch):
    root = str(tmp_path / 'root')
    real = conntrack_relieve.decide

    def meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        with open(root + MAX, 'w') as f:   # another run (or a person) raised it meanwhile
            f.write('200000\n')
        return out
    monkeypatch.setattr(conntrack_relieve, 'decide', meanwhile)
    _root, res = relieve(tmp_path, capsys, 'full_node', {'profile': 'default'})
    assert res['failed'] is True and 'changed while relieve was deciding (now 200000)' in res['msg']
    assert read(root, MAX) == '200000\n' and not os.path.exists(root + HISTORY)


def test_nothing_to_write_takes_no_lock(tmp_path, capsys):
    root, _res = relieve(tmp_path, capsys, 'post515_builtin', {'profile': 'default'})
    assert not os.path.exists(root + LOCK)
