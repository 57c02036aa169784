# -*- coding: utf-8 -*-
"""conntrack_facts on the real kernel: a throwaway network namespace filled with a few
thousand UDP, TCP (ESTABLISHED, TIME_WAIT, SYN_SENT), ICMP and IPv6 entries. The module,
run by Ansible inside the namespace, must report exactly what an independent reader
(conntrack-tools' `conntrack -L`, over netlink) counts in the same table."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VENV_BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not nsfill.is_root(), reason='needs root for network namespaces')


def run_module(ns, module, args=''):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    cmd = ['ip', 'netns', 'exec', ns.name, os.path.join(VENV_BIN, 'ansible'), 'localhost', '-c', 'local',
           '-i', 'localhost,', '-e', 'ansible_python_interpreter=%s' % sys.executable, '--check',
           '-m', module, '-a', args, '-o']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, check=False)
    text = out.stdout.decode()
    assert out.returncode == 0, text + out.stderr.decode()
    # one-line output: "localhost | SUCCESS => {json}"
    return json.loads(text.split('=>', 1)[1])


def independent_view(ns):
    """Parse `conntrack -L` (IPv4 and IPv6) by key: per (l3, l4, state) and top keys."""
    groups = Counter()
    srcs, dsts, ports = Counter(), Counter(), Counter()
    flags = Counter()
    for fam in ('ipv4', 'ipv6'):
        out = nsfill.ns_exec(ns.name, ['conntrack', '-L', '-f', fam], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode()
        for line in out.splitlines():
            tok = line.split()
            if not tok or '=' in tok[0]:
                continue
            l4 = tok[0]
            state = tok[3] if l4 == 'tcp' else None
            kv = {}
            for t in tok:
                if '=' in t:
                    k, v = t.split('=', 1)
                    kv.setdefault(k, v)
            groups[(fam, l4, state)] += 1
            srcs[kv['src']] += 1
            dsts[kv['dst']] += 1
            if 'dport' in kv:
                ports['%s/%s' % (l4, kv['dport'])] += 1
            flags['assured'] += '[ASSURED]' in tok
            flags['unreplied'] += '[UNREPLIED]' in tok
    return groups, srcs, dsts, ports, flags


@pytest.fixture(scope='module')
def filled():
    ns = nsfill.Netns()
    try:
        ns.fill(udp=3000, tcp_est=300, tcp_tw=300, syn=150, icmp=20, udp6=60)
        yield ns
    finally:
        ns.remove()


@pytest.mark.parametrize('source', ['procfs', 'ctnetlink'])
def test_breakdown_equals_independent_count(filled, source):
    groups, srcs, dsts, ports, flags = independent_view(filled)
    total = sum(groups.values())
    assert total >= 3000 + 600 + 150, 'the filler did not create the entries'
    ct = run_module(filled, 'nfct.tuning.conntrack_facts', 'breakdown=true top=5 breakdown_source=%s' % source)
    facts = ct['ansible_facts']['conntrack']
    b = facts['breakdown']
    assert b['source'] == source
    assert facts['count'] == total
    assert b['total'] == total
    l3, l4, states = Counter(), Counter(), Counter()
    for (fam, proto, state), n in groups.items():
        l3[fam] += n
        l4[proto] += n
        if state:
            states[state] += n
    assert b['l3'] == dict(l3)
    assert b['l4'] == dict(l4)
    assert b['tcp_states'] == dict(states)
    assert states['ESTABLISHED'] >= 300 and states['TIME_WAIT'] >= 300 and states['SYN_SENT'] == 150
    assert b['assured'] == flags['assured'] and b['unreplied'] == flags['unreplied']
    assert b['top_exact'] is True
    for got, want in ((b['top_sources'], srcs), (b['top_destinations'], dsts), (b['top_destination_ports'], ports)):
        assert [t['count'] for t in got] == [c for _k, c in want.most_common(len(got))]
        for t in got:
            assert want[t['key']] == t['count'], t
    assert facts['netns']['initial'] is False
    assert 'max' in facts['readonly'] and 'tcp_timeout_established' in facts['writable']


def test_stats_and_values_match_the_kernel(filled):
    ct = run_module(filled, 'nfct.tuning.conntrack_facts')['ansible_facts']['conntrack']
    assert 'breakdown' not in ct
    assert ct['stats']['source'] == 'procfs'
    stat = filled.read('/proc/net/stat/nf_conntrack').splitlines()
    header = stat[0].split()
    rows = [[int(x, 16) for x in r.split()] for r in stat[1:]]
    col = dict((h, i) for i, h in enumerate(header))
    for ours, theirs in (('drop', 'drop'), ('early_drop', 'early_drop'), ('insert_failed', 'insert_failed'),
                         ('invalid', 'invalid'), ('chaintoolong', 'chainlength')):
        assert ct['stats'][ours] == sum(r[col[theirs]] for r in rows), ours
    assert ct['sysctls']['udp_timeout'] == 3600
    assert ct['max'] == int(open('/proc/sys/net/netfilter/nf_conntrack_max').read())
    assert ct['usage_ratio'] == round(float(ct['count']) / ct['max'], 6)
    # ctnetlink gives the same counters where nothing moves
    nl = run_module(filled, 'nfct.tuning.conntrack_facts', 'stats_source=ctnetlink')['ansible_facts']['conntrack']
    assert nl['stats']['source'] == 'ctnetlink'
    for k in ('drop', 'early_drop', 'insert_failed', 'invalid', 'chaintoolong'):
        assert nl['stats'][k] == ct['stats'][k], k


def test_recommend_in_netns_reports_global_keys_readonly(filled):
    rec = run_module(filled, 'nfct.tuning.conntrack_recommend', 'profile=web')
    assert rec['computed_on'] == 'controller'
    assert rec['values']['max']['writable'] is False
    assert rec['values']['tcp_timeout_time_wait']['current'] == 3600
    assert rec['values']['tcp_timeout_time_wait']['recommended'] == 60


def test_nat_rules_in_the_namespace_are_found_and_counted():
    # issue 22, finding 9: a host that masquerades without a NAT profile (Docker, Podman, kube-proxy)
    # has every entry counted with the NAT extension area. A Docker-like nft table in a fresh
    # namespace: conntrack_facts finds it (read-only), the recommendation counts 128 B more per entry.
    ns = nsfill.Netns()
    try:
        facts = run_module(ns, 'nfct.tuning.conntrack_facts')['ansible_facts']['conntrack']
        assert facts['nat']['detected'] is False and facts['nat']['rules'] == 0
        rules = ('table ip docker {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n'
                 '  ip saddr 172.17.0.0/16 oifname != "docker0" masquerade\n }\n}\n')
        nsfill.ns_exec(ns.name, ['nft', '-f', '-'], input=rules.encode())
        facts = run_module(ns, 'nfct.tuning.conntrack_facts')['ansible_facts']['conntrack']
        assert facts['nat']['detected'] is True and facts['nat']['owners'] == ['docker'], facts['nat']
        assert any('masquerade' in line for line in facts['nat']['evidence'])
        rec = run_module(ns, 'nfct.tuning.conntrack_recommend', 'profile=web')
        assert rec['memory']['entry_bytes'] == rec['memory']['object_size'] + 128
        assert rec['memory']['extension'][0].startswith('NAT rules on this host (docker')
        # nothing was written: the ruleset is exactly what the test loaded
        listed = nsfill.ns_exec(ns.name, ['nft', 'list', 'tables'], stdout=subprocess.PIPE).stdout.decode().split()
        assert 'docker' in listed and 'nfct_notrack' not in listed
    finally:
        ns.remove()
