# -*- coding: utf-8 -*-
"""Who uses conntrack, and turning it off, on real containers of our image (issue 13,
docs/disable.md). nf_conntrack is built into this machine's kernel, so these are the built-in
side; the module kernel (unload, reboot) is the VM scenario (molecule/vm/disable.yml).

- each kind of user installed and active in a container's own network namespace, detected by
  conntrack_users with the right evidence: an nft NAT table, iptables-legacy and iptables-nft
  rules with -m conntrack (IPv4 and IPv6), Docker's and netavark's NAT layouts, ufw's and
  firewalld's rulesets as those tools wrote them (captured in tests/unit/fixtures/users), a
  ctnetlink listener (`conntrack -E`); a clean container can_disable;
- conntrack_state: disabled through the role (ansible-playbook, podman connection): refused
  with a stateful rule loaded, then with that rule named in conntrack_users_ignore and
  conntrack_disable_builtin: notrack_all, nothing is tracked (count 0) under loopback traffic and
  traffic from another namespace, also after a container restart; present brings tracking back.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import podhost  # noqa: E402
from podhost import Container  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='needs root and podman (make test installs it)')

VENV_BIN = os.path.dirname(sys.executable)
FIXTURES = os.path.join(podhost.REPO, 'tests', 'unit', 'fixtures', 'users')
COUNT = '/proc/sys/net/netfilter/nf_conntrack_count'
STATEFUL = ("nft add table inet t; nft add chain inet t c '{ type filter hook output priority 0; }'; "
            "nft add rule inet t c ct state new counter")
# UDP from this namespace to 40 loopback ports: 40 entries when tracked
LOOPBACK = ("python3 -c \"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "[s.sendto(b'x', ('127.0.0.1', 4000 + i)) for i in range(40)]\"")


@pytest.fixture(scope='module')
def tree():
    d = podhost.module_tree()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope='module')
def box(tree):
    """One container for the detection cases; reset() empties every ruleset between them."""
    c = Container(tree=tree)
    yield c
    c.remove()


def fixture(case, name):
    with open(os.path.join(FIXTURES, case, name)) as f:
        return f.read()


def reset(c):
    c.sh('nft flush ruleset; pkill -x conntrack || true; '
         'for t in $(cat /proc/net/ip_tables_names 2>/dev/null); do iptables-legacy -t $t -F; iptables-legacy -t $t -X; done; '
         'for t in $(cat /proc/net/ip6_tables_names 2>/dev/null); do ip6tables-legacy -t $t -F; ip6tables-legacy -t $t -X; done; '
         'rm -f /etc/ufw/ufw.conf', check=False)


def users(c, **args):
    rc, res = c.module('conntrack_users', args)
    assert rc == 0 and res and not res.get('failed'), res
    return res


def by_id(res, uid):
    found = [u for u in res['users'] if u['id'] == uid]
    assert found, (uid, res['summary'])
    return found[0]


def test_clean_container_can_disable(box):
    reset(box)
    res = users(box)
    assert res['can_disable'] is True and res['blockers'] == [], res['summary']
    assert res['kernel'] == 'builtin' and res['scope'].startswith('this network namespace only')
    assert res['summary'][1].startswith('scope: ')


# case -> (how to load it in the container, blockers expected, {user id: evidence fragment})
LOADS = {
    'nft NAT table': ("nft add table ip nat; nft add chain ip nat post '{ type nat hook postrouting priority 100; }'; "
                      "nft add rule ip nat post oifname eth9 masquerade",
                      ['rules:nftables:ip:nat'], {'rules:nftables:ip:nat': 'masquerade'}),
    'iptables-legacy and -nft, IPv4 and IPv6': (
        'iptables-legacy -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT; '
        'ip6tables-legacy -A INPUT -m state --state RELATED -j ACCEPT; '
        'iptables-nft -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT; '
        'ip6tables-nft -t nat -A POSTROUTING -o eth9 -j MASQUERADE',
        ['rules:iptables-legacy:ipv4:filter', 'rules:iptables-legacy:ipv6:filter', 'rules:iptables-nft:ipv4:filter',
         'rules:iptables-nft:ipv6:nat'],
        {'rules:iptables-legacy:ipv4:filter': '-m conntrack --ctstate ESTABLISHED',
         'rules:iptables-legacy:ipv6:filter': '-m state --state RELATED',
         'rules:iptables-nft:ipv6:nat': 'MASQUERADE'}),
    'docker layout': ('iptables-nft-restore < /tmp/in.v4',
                      ['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv4:nat', 'service:docker'],
                      {'rules:iptables-nft:ipv4:nat': 'DNAT --to-destination 172.17.0.2:8080'}),
    'netavark nftables layout': ('nft -f /tmp/in.nft', ['rules:nftables:inet:netavark', 'service:podman'],
                                 {'rules:nftables:inet:netavark': 'ct state invalid drop'}),
    'ufw as ufw wrote it': (
        'iptables-nft-restore < /tmp/in.v4; ip6tables-nft-restore < /tmp/in.v6; mkdir -p /etc/ufw; '
        'printf "ENABLED=yes\\nLOGLEVEL=low\\n" > /etc/ufw/ufw.conf',
        ['rules:iptables-nft:ipv4:filter', 'rules:iptables-nft:ipv6:filter', 'service:ufw'],
        {'service:ufw': '/etc/ufw/ufw.conf: ENABLED=yes', 'rules:iptables-nft:ipv4:filter': 'ufw-before-input'}),
    'firewalld as firewalld wrote it': ('nft -f /tmp/in.nft', ['rules:nftables:inet:firewalld', 'service:firewalld'],
                                        {'rules:nftables:inet:firewalld': 'ct state { established, related } accept'}),
}
INPUTS = {
    'docker layout': {'/tmp/in.v4': ('docker-layout', 'input-docker-layout.rules.v4')},
    'netavark nftables layout': {'/tmp/in.nft': ('podman-netavark-nftables', 'nft.txt')},
    'ufw as ufw wrote it': {'/tmp/in.v4': ('ufw', 'iptables-nft-ipv4.save'), '/tmp/in.v6': ('ufw', 'iptables-nft-ipv6.save')},
    'firewalld as firewalld wrote it': {'/tmp/in.nft': ('firewalld', 'nft.txt')},
}


@pytest.mark.parametrize('case', sorted(LOADS))
def test_each_kind_of_user_is_found_with_its_evidence(box, case):
    load, blockers, evidence = LOADS[case]
    reset(box)
    for path, (fx, name) in INPUTS.get(case, {}).items():
        box.write(path, fixture(fx, name))
    box.sh(load)
    res = users(box)
    assert sorted(res['blockers']) == sorted(blockers), res['summary']
    for uid, fragment in evidence.items():
        assert fragment in ' | '.join(by_id(res, uid)['evidence']), (uid, by_id(res, uid))
    # ignoring every blocker by pattern gives the verdict back, with the users still listed
    res = users(box, ignore=['*'])
    assert res['can_disable'] and sorted(res['ignored']) == sorted(blockers)


def test_a_ctnetlink_listener(box):
    reset(box)
    podhost.podman(['exec', '-d', box.name, 'conntrack', '-E'])
    try:
        for _i in range(50):
            res = users(box)
            if res['blockers']:
                break
            time.sleep(0.1)
        assert res['blockers'] == ['listener:conntrack'], res['summary']
        assert 'conntrack -E' in by_id(res, 'listener:conntrack')['evidence'][0]
    finally:
        reset(box)


# ---------------------------------------------------------------- notrack_all through the role

def playbook(tmp_path, c, extra, ok=(0,)):
    inv = podhost.inventory(tmp_path, [c.name])
    out = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inv, '-e', json.dumps(extra),
                          os.path.join(podhost.REPO, 'playbooks', 'tune.yml')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=podhost.ansible_env(),
                         cwd=str(tmp_path), check=False, timeout=900)
    assert out.returncode in ok, out.stdout.decode()[-4000:] + out.stderr.decode()[-2000:]
    return json.loads(out.stdout.decode())


def task_result(data, suffix):
    for play in data['plays']:
        for t in play['tasks']:
            if t['task']['name'].endswith(suffix):
                return list(t['hosts'].values())[0]
    return None


def count_after_traffic(c):
    """Flush the table, send loopback traffic and traffic from another namespace (a veth pair to
    a namespace of its own inside the container), return the live count."""
    c.sh('conntrack -F >/dev/null 2>&1 || true')
    c.sh(LOOPBACK)
    c.sh('ip netns exec peer python3 -c "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
         '[s.sendto(b\'x\', (\'10.99.0.1\', 5000 + i)) for i in range(20)]"')
    return int(c.sh('cat %s' % COUNT).strip())


def peer(c):
    """A second network namespace inside the container, linked by a veth pair: its packets reach
    the container's own namespace through prerouting, not loopback."""
    c.sh('ip netns add peer 2>/dev/null || true; ip link add v0 type veth peer name v1 && '
         'ip link set v1 netns peer && ip addr add 10.99.0.1/24 dev v0 && ip link set v0 up && '
         'ip -n peer addr add 10.99.0.2/24 dev v1 && ip -n peer link set v1 up && ip -n peer link set lo up')


def test_disabled_with_notrack_all_on_the_builtin_kernel(tree, tmp_path):
    c = Container(tree=tree, extra=['--cap-add', 'SYS_ADMIN'])
    try:
        peer(c)
        c.sh(STATEFUL)
        assert count_after_traffic(c) >= 60  # tracked: 40 loopback + 20 from the peer namespace
        # refused: the stateful rule needs conntrack; nothing changed
        before = c.snapshot()
        data = playbook(tmp_path, c, {'conntrack_state': 'disabled', 'conntrack_disable_builtin': 'notrack_all'},
                        ok=(2,))
        refusal = task_result(data, 'Refuse while anything needs conntrack (nothing was changed)')
        assert refusal and refusal.get('failed'), data
        assert 'rules:nftables:inet:t' in refusal['msg'] and 'ct state new' in refusal['msg']
        assert podhost.diff(before, c.snapshot()) == []
        # refused without consent on a built-in kernel, even with the rule ignored
        data = playbook(tmp_path, c, {'conntrack_state': 'disabled', 'conntrack_users_ignore': ['rules:nftables:inet:t']},
                        ok=(2,))
        refusal = task_result(data, 'without consent to exempt all traffic (nothing was changed)')
        assert refusal and refusal.get('failed') and 'conntrack_disable_builtin' in refusal['msg']
        after = c.snapshot()
        assert podhost.diff(before, after) == [], sorted(set(after['sysctl'].splitlines()) ^ set(before['sysctl'].splitlines()))
        # with the rule named as not mattering and consent: nothing is tracked any more
        extra = {'conntrack_state': 'disabled', 'conntrack_disable_builtin': 'notrack_all',
                 'conntrack_users_ignore': ['rules:nftables:inet:t']}
        data = playbook(tmp_path, c, extra)
        res = task_result(data, 'or record the state (built in); then verify')
        assert res['changed'] and res['users']['untrack_all'] is True, res
        assert count_after_traffic(c) == 0
        assert 'install nf_conntrack /bin/false' in c.read('/etc/modprobe.d/nfct-tuning-disable.conf')
        data = playbook(tmp_path, c, extra)
        assert not any(h.get('changed') for p in data['plays'] for t in p['tasks'] for h in t['hosts'].values())
        # a restart (systemd boots, nftables.service loads our persisted objects); the stateful
        # rule is loaded again by hand: still nothing tracked
        podhost.podman(['restart', '-t', '5', c.name])
        c.wait_booted()
        peer(c)
        c.sh(STATEFUL)
        assert count_after_traffic(c) == 0
        # present: tracking is back, our untrack-all objects and the disable file are gone
        data = playbook(tmp_path, c, {'conntrack_state': 'present'})
        assert c.read('/etc/modprobe.d/nfct-tuning-disable.conf') is None
        assert 'nfct_notrack' not in c.sh('nft list tables')
        assert count_after_traffic(c) >= 60
    finally:
        c.remove()
