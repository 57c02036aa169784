# -*- coding: utf-8 -*-
"""rollout/snapshot.py: the snapshot document and its checks, the comparison, the restore plan and
the transactions that put our NOTRACK objects back (iptables through the iptables-restore emulation
of notrack_rulesets, nft on parsed JSON models), table-driven; reading a fake root's files."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as ni
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import nft as nn
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import snapshot as snap

from notrack_rulesets import LEGACY_FW, apply_restore


def state(**over):
    s = {'files': {}, 'dirs': {}, 'runtime': {'max': {'value': 262144, 'writable': True},
                                              'buckets': {'value': 65536, 'writable': True},
                                              'udp_timeout': {'value': 30, 'writable': True}},
         'hashsize': 65536, 'module_loaded': True, 'ruleset': {'nft': None, 'ipt': {}}, 'services': None}
    s.update(over)
    return s


def doc(**over):
    return snap.document(state(**over), 'r1', '2026-12-01T00:00:00Z')


# ------------------------------------------------------------------ the document

def tampered(text):
    d = json.loads(text)
    d['runtime']['max']['value'] = 1
    return json.dumps(d)


def bad_content(text):
    d = json.loads(text)
    d['files']['/etc/x.conf']['content'] = 'eHl6'  # 'xyz': not what its sha256 says
    d['sha256'] = snap.digest(d)
    return json.dumps(d)


def other_schema(text):
    d = json.loads(text)
    d['schema'] = 99
    return json.dumps(d)


@pytest.mark.parametrize('mangle, ident, why', [
    (lambda t: t[:len(t) // 2], 'r1', 'not JSON'),
    (lambda t: '[1, 2]', 'r1', 'not a JSON object'),
    (other_schema, 'r1', 'schema 99, expected 1'),
    (lambda t: t, 'r2', "its id is 'r1', not 'r2'"),
    (tampered, 'r1', 'its sha256 does not match its content'),
    (bad_content, 'r1', '/etc/x.conf: its content does not match its sha256'),
    (lambda t: json.dumps(dict((k, v) for k, v in json.loads(t).items() if k != 'ruleset')), 'r1', 'missing ruleset'),
])
def test_a_corrupt_snapshot_is_refused_naming_the_file_and_the_fault(mangle, ident, why):
    text = json.dumps(doc(files={'/etc/x.conf': snap.file_entry(b'abc\n', 0o644)}))
    with pytest.raises(snap.SnapshotError) as e:
        snap.parse(mangle(text), ident, '/var/lib/nfct-tuning/snapshots/r1.json')
    assert 'snapshot /var/lib/nfct-tuning/snapshots/r1.json is corrupt' in str(e.value)
    assert why in str(e.value)


def test_a_sound_snapshot_parses_and_sums_up():
    d = doc(files={'/etc/x.conf': snap.file_entry(b'\xff\x00bytes\n', 0o600), '/etc/y.conf': None})
    back = snap.parse(json.dumps(d), 'r1', 'p')
    assert snap.entry_bytes(back['files']['/etc/x.conf']) == b'\xff\x00bytes\n'
    s = snap.summary(back, 'p')
    assert s['files'] == {'/etc/x.conf': back['files']['/etc/x.conf']['sha256'], '/etc/y.conf': None}
    assert s['runtime'] == {'buckets': 65536, 'max': 262144, 'udp_timeout': 30} and s['hashsize'] == 65536
    assert len(s['ruleset_sha256']) == 64


def test_a_missing_snapshot_says_so(tmp_path):
    with pytest.raises(snap.SnapshotError) as e:
        snap.load(str(tmp_path / 'none.json'))
    assert 'is missing: nothing to restore from' in str(e.value)


# ------------------------------------------------------------------ comparing and planning

@pytest.mark.parametrize('now, what', [
    (state(), []),
    (state(hashsize=131072), ['hashsize']),
    (state(module_loaded=False), ['nf_conntrack loaded']),
    (state(runtime={'max': {'value': 1, 'writable': True}, 'buckets': {'value': 65536, 'writable': True},
                    'udp_timeout': {'value': 30, 'writable': True}}), ['runtime net.netfilter.nf_conntrack_max']),
    (state(files={'/etc/a.conf': snap.file_entry(b'x', 0o644)}), ['file /etc/a.conf']),
    (state(dirs={'/etc/nfct-tuning': 0o755}), ['directory /etc/nfct-tuning']),
    (state(ruleset={'nft': {'table': 'table inet nfct_notrack {}\n', 'companions': []}, 'ipt': {}}), []),
    (state(services={'nftables.service': {'enabled': 'enabled'}}), []),
])
def test_compare_names_each_difference(now, what):
    assert [m['what'] for m in snap.compare(state(), now)] == what


def test_compare_rulesets_and_services_when_they_were_recorded():
    saved = state(ruleset={'nft': {'table': None, 'companions': []}, 'ipt': {}},
                  services={'nftables.service': {'enabled': 'disabled'}})
    now = state(ruleset={'nft': {'table': 'table inet nfct_notrack {}\n', 'companions': []}, 'ipt': {}},
                services={'nftables.service': {'enabled': 'enabled'}})
    assert [m['what'] for m in snap.compare(saved, now)] == [
        'ruleset nftables (our table inet nfct_notrack and the companions)', 'service nftables.service']


def rt(**values):
    return dict((k, {'value': v[0], 'writable': v[1]}) for k, v in values.items())


@pytest.mark.parametrize('saved, now, expected', [
    # nothing differs
    (state(), state(), []),
    # the hash size first, through nf_conntrack_buckets where writable; buckets is not written again
    (state(), state(hashsize=131072, runtime=rt(max=(262144, True), buckets=(131072, True), udp_timeout=(30, True))),
     [('buckets', '/proc/sys/net/netfilter/nf_conntrack_buckets', 65536)]),
    # else the module parameter
    (state(), state(hashsize=131072, runtime=rt(max=(262144, True), buckets=(131072, False), udp_timeout=(30, True))),
     [('buckets', '/sys/module/nf_conntrack/parameters/hashsize', 65536)]),
    # then max before the rest; a read-only key is left to the comparison
    (state(), state(runtime=rt(max=(1, True), buckets=(65536, True), udp_timeout=(5, True))),
     [('max', '/proc/sys/net/netfilter/nf_conntrack_max', 262144),
      ('udp_timeout', '/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 30)]),
    (state(), state(runtime=rt(max=(1, False), buckets=(65536, False), udp_timeout=(30, True))), []),
])
def test_runtime_writes_hash_size_first_and_only_what_differs(saved, now, expected):
    assert [(w['key'], w['path'], w['value']) for w in snap.runtime_writes(saved, now)] == expected


@pytest.mark.parametrize('saved, now, before, after', [
    ({'t.timer': {'enabled': 'not-found', 'active': 'inactive'}}, {'t.timer': {'enabled': 'enabled', 'active': 'active'}},
     [['stop', 't.timer'], ['disable', 't.timer']], []),
    ({'t.timer': {'enabled': 'enabled', 'active': 'active'}}, {'t.timer': {'enabled': 'not-found', 'active': 'inactive'}},
     [], [['enable', 't.timer'], ['start', 't.timer']]),
    ({'n.service': {'enabled': 'disabled'}}, {'n.service': {'enabled': 'enabled'}}, [['disable', 'n.service']], []),
    ({'n.service': {'enabled': 'enabled'}}, {'n.service': {'enabled': 'enabled'}}, [], []),
    (None, None, [], []),
])
def test_unit_actions(saved, now, before, after):
    assert snap.unit_actions(saved, now) == (before, after)


def test_plan_restore_files_and_folders():
    saved = state(files={'/etc/a.conf': snap.file_entry(b'a', 0o644), '/etc/n/x.conf': None},
                  dirs={'/etc': 0o755, '/etc/n': None})
    now = state(files={'/etc/a.conf': snap.file_entry(b'a', 0o600), '/etc/n/x.conf': snap.file_entry(b'x', 0o644),
                       '/usr/l/t/m.py': snap.file_entry(b'm', 0o644)},
                dirs={'/etc': 0o755, '/etc/n': 0o755, '/usr/l': 0o755, '/usr/l/t': 0o755})
    plan = snap.plan_restore(saved, now)
    assert plan['files'] == {'/etc/a.conf': saved['files']['/etc/a.conf'], '/etc/n/x.conf': None, '/usr/l/t/m.py': None}
    assert plan['rmdirs'] == ['/usr/l/t', '/etc/n', '/usr/l'] and plan['mkdirs'] == {}
    diff = snap.diff_of(saved, now, plan)
    assert [d['before_header'] for d in diff] == ['/etc/a.conf', '/etc/n/x.conf', '/usr/l/t/m.py']


# ------------------------------------------------------------------ iptables: our objects back, others untouched

OURS_V4 = '''*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NFCT-NOTRACK-OUT - [0:0]
:NFCT-NOTRACK-PRE - [0:0]
-A PREROUTING -j NFCT-NOTRACK-PRE
-A OUTPUT -j NFCT-NOTRACK-OUT
-A PREROUTING -s 10.9.0.0/16 -j CT --notrack
-A NFCT-NOTRACK-OUT -o lo -j CT --notrack
-A NFCT-NOTRACK-PRE -i lo -j CT --notrack
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NFCT-UNTRACKED - [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -j NFCT-UNTRACKED
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A NFCT-UNTRACKED -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
'''
OTHER_RAW = '''*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -s 10.9.0.0/16 -j CT --notrack
COMMIT
'''
CHANGED_V4 = OURS_V4.replace('-A NFCT-NOTRACK-PRE -i lo -j CT --notrack',
                             '-A NFCT-NOTRACK-PRE -i lo -j CT --notrack\n-A NFCT-NOTRACK-PRE -p udp -m udp --dport 53 -j CT --notrack')


def others(text):
    """Every line that is not ours (the other tools' objects), in order."""
    return [line for line in text.splitlines() if not ni.is_our_line(line) and 'NFCT-' not in line]


@pytest.mark.parametrize('before, after', [
    (OTHER_RAW + LEGACY_FW, OURS_V4),       # the role added our chains, jumps and companion: all go
    (OURS_V4, OTHER_RAW + LEGACY_FW),       # the role removed them: all come back, at their positions
    (OURS_V4, CHANGED_V4),                  # the role changed a chain
    (OURS_V4, OURS_V4),                     # nothing to do
])
def test_ipt_script_puts_our_objects_back_exactly(before, after):
    saved = snap.ipt_ours(ni.parse_save(before), 'iptables-legacy')
    script, drop = snap.ipt_script(saved, ni.parse_save(after), 'iptables-legacy')
    assert drop == []
    restored = apply_restore(after, script)
    assert snap.ipt_ours(ni.parse_save(restored), 'iptables-legacy') == saved
    assert others(restored) == others(apply_restore(after, ''))  # the same rendering: tables sorted
    assert (script == '') is (before == after)


def test_ipt_script_deletes_a_table_iptables_nft_created_for_our_objects():
    before = LEGACY_FW
    saved = snap.ipt_ours(ni.parse_save(before), 'iptables-nft')
    assert saved['tables'] == ['filter']
    script, drop = snap.ipt_script(saved, ni.parse_save(OTHER_RAW.replace(
        '-A PREROUTING -s 10.9.0.0/16 -j CT --notrack', '-A PREROUTING -j NFCT-NOTRACK-PRE').replace(
        ':OUTPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]\n:NFCT-NOTRACK-PRE - [0:0]') + LEGACY_FW), 'iptables-nft')
    assert drop == ['raw'] and script == ''


# ------------------------------------------------------------------ nftables

def nft_json(with_table, companion_index=None):
    objs = [{'metainfo': {'version': '1.0.6'}},
            {'table': {'family': 'inet', 'name': 'filter', 'handle': 1}},
            {'chain': {'family': 'inet', 'table': 'filter', 'name': 'input', 'handle': 1, 'type': 'filter',
                       'hook': 'input', 'prio': 0, 'policy': 'drop'}}]
    rules = [{'family': 'inet', 'table': 'filter', 'chain': 'input', 'handle': 10 + i,
              'expr': [{'accept': None}]} for i in range(2)]
    if companion_index is not None:
        rules.insert(companion_index, {'family': 'inet', 'table': 'filter', 'chain': 'input', 'handle': 99,
                                       'comment': 'nfct.tuning notrack companion', 'expr': [{'accept': None}]})
    objs += [{'rule': r} for r in rules]
    if with_table:
        objs += [{'table': {'family': 'inet', 'name': 'nfct_notrack', 'handle': 2}}]
    return nn.parse_ruleset(json.dumps({'nftables': objs}))


TABLE = 'table inet nfct_notrack {\n\tchain output {\n\t\ttype filter hook output priority raw; policy accept;\n\t}\n}\n'


@pytest.mark.parametrize('saved_model, saved_text, live_model, live_text, expected', [
    (nft_json(False), None, nft_json(False), None, ''),
    (nft_json(False), None, nft_json(True, 0), TABLE,
     'delete table inet nfct_notrack\ndelete rule inet filter input handle 99\n'),
    (nft_json(True, 0), TABLE, nft_json(False), None,
     TABLE + 'insert rule inet filter input ct state untracked accept comment "nfct.tuning notrack companion"\n'),
    (nft_json(True, 1), TABLE, nft_json(True, 0), TABLE.replace('output', 'prerouting'),
     'delete table inet nfct_notrack\n' + TABLE + 'delete rule inet filter input handle 99\n'
     'add rule inet filter input position 10 ct state untracked accept comment "nfct.tuning notrack companion"\n'),
])
def test_nft_script(saved_model, saved_text, live_model, live_text, expected):
    saved = snap.nft_ours(saved_model, saved_text)
    assert snap.nft_script(saved, live_model, live_text) == expected


# ------------------------------------------------------------------ reading a fake root

def test_read_files_and_runtime_of_a_fake_root(tmp_path):
    root = str(tmp_path)
    os.makedirs(root + '/proc/sys/net/netfilter')
    for name, value, mode in (('nf_conntrack_max', 1000, 0o444), ('nf_conntrack_udp_timeout', 30, 0o644),
                              ('nf_conntrack_count', 7, 0o444)):
        with open(root + '/proc/sys/net/netfilter/' + name, 'w') as f:
            f.write('%d\n' % value)
        os.chmod(root + '/proc/sys/net/netfilter/' + name, mode)
    os.makedirs(root + '/etc/sysctl.d')
    with open(root + '/etc/sysctl.d/90-conntrack.conf', 'wb') as f:
        f.write(b'net.netfilter.nf_conntrack_max = 1000\n')
    os.makedirs(root + snap.METRICS_TREE + '/a/b')
    with open(root + snap.METRICS_TREE + '/a/b/c.py', 'w') as f:
        f.write('x = 1\n')
    tracked = snap.tracked_paths(dict(sysctl_file='/etc/sysctl.d/90-conntrack.conf'), 'ID=debian\n')
    assert '/etc/nftables.conf' in tracked['files'] and tracked['platform'] == 'debian'
    files, dirs = snap.read_files(tracked, root)
    assert files['/etc/sysctl.d/90-conntrack.conf']['sha256'] and files['/etc/nftables.conf'] is None
    assert files[snap.METRICS_TREE + '/a/b/c.py']['mode'] == 0o644
    assert dirs['/etc/sysctl.d'] == 0o755 and dirs['/etc/nftables.d'] is None and dirs[snap.METRICS_TREE + '/a/b']
    runtime, hashsize, loaded = snap.read_runtime(root)
    assert runtime['udp_timeout'] == {'value': 30, 'writable': True} and 'count' not in runtime
    assert runtime['max']['writable'] is False
    assert hashsize is None and loaded is True
