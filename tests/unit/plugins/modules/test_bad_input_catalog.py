# -*- coding: utf-8 -*-
"""The catalogue of bad input (issues 11 and 22): every module, run the way Ansible runs them on a
fixture host, the conntrack_recommend action plugin, and the role's variables as its first task
checks them. Each row must end in a clear error that names the option and what is allowed (in
the role: the role's variable), never a traceback, and leave the host exactly as it was (every
file of the fixture tree compared; for conntrack_notrack also every command: only reads).

Hypothesis then throws arbitrary values at every option of every module: no input may end in
anything but a clean exit_json / fail_json.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.nfct.tuning.plugins.modules import conntrack_audit, conntrack_facts, conntrack_metrics
from ansible_collections.nfct.tuning.plugins.modules import conntrack_notrack, conntrack_recommend, conntrack_settings
from ansible_collections.nfct.tuning.plugins.modules import conntrack_users

import hosts
from modrun import ansible_flags, invoke
from notrack_fakeio import FakeIO

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
NAN, INF = float('nan'), float('inf')
LONG = ['lo'] * 3


def snapshot(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(d, name)
            if name == 'nfct-tuning.lock':
                continue
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, 'rb') as f:
                    out[os.path.relpath(full, root)] = f.read()
            else:
                out[os.path.relpath(full, root)] = os.readlink(full) if os.path.islink(full) else 'dir'
    return out


def run_module(tmp_path, capsys, name, args):
    """Run a module on the fixture host -> (result, snapshot before, snapshot after, commands run)."""
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    os.makedirs(root + '/run/lock')   # as on every systemd host
    before = snapshot(root)
    calls = []
    if name == 'conntrack_notrack':
        io = FakeIO(root=root)
        invoke(conntrack_notrack, ansible_flags(tmp_path, args), io)
        calls = [c for c in io.calls if not c[0][0].endswith('-save') and c[0][1:] != ['-V']
                 and c[0][1:3] != ['-j', 'list'] and c[0][1:2] not in (['is-enabled'], ['-o'])]
    elif name in ('conntrack_users', 'conntrack_metrics'):
        mod = {'conntrack_users': conntrack_users, 'conntrack_metrics': conntrack_metrics}[name]
        invoke(mod, ansible_flags(tmp_path, args))     # refused before they read or write anything
    else:
        mod = {'conntrack_facts': conntrack_facts, 'conntrack_settings': conntrack_settings,
               'conntrack_recommend': conntrack_recommend, 'conntrack_audit': conntrack_audit}[name]
        invoke(mod, ansible_flags(tmp_path, args), root=root, probes=probes)
    return json.loads(capsys.readouterr().out), before, snapshot(root), calls


ROWS = [
    # ---- conntrack_facts
    ('conntrack_facts', {'top': 0}, 'top: 0 is outside the allowed range 1-10000'),
    ('conntrack_facts', {'top': -3}, 'top: -3 is outside the allowed range 1-10000'),
    ('conntrack_facts', {'top': 10 ** 9}, 'top: 1000000000 is outside the allowed range 1-10000'),
    ('conntrack_facts', {'top': 'ten'}, "top: expected an integer in the allowed range 1-10000, got 'ten'"),
    ('conntrack_facts', {'top': 2.5}, 'top: expected an integer in the allowed range 1-10000, got 2.5'),
    ('conntrack_facts', {'top': INF}, 'top: expected an integer in the allowed range 1-10000, got inf'),
    ('conntrack_facts', {'breakdown': 'maybe'}, "argument 'breakdown' is of type"),
    ('conntrack_facts', {'stats_source': 'kernel'}, 'value of stats_source must be one of: auto, procfs, ctnetlink'),
    ('conntrack_facts', {'breakdown_source': 'cli'}, 'value of breakdown_source must be one of: auto, procfs'),
    ('conntrack_facts', {'colour': 'red'}, "nfct.tuning.conntrack_facts: unknown option 'colour'; its options: "),
    # ---- conntrack_recommend (the module form; the engine's 100+ rows are in test_sizing_bad_input.py)
    ('conntrack_recommend', {'profile': 'webb'}, "profile: unknown profile 'webb'"),
    ('conntrack_recommend', {'memory_budget_percent': NAN}, 'memory_budget_percent: expected a number'),
    ('conntrack_recommend', {'memory_budget_percent': 0}, 'memory_budget_percent: 0 is outside the allowed range'),
    ('conntrack_recommend', {'overrides': {'max': INF}}, 'overrides.max: expected an integer, got inf'),
    ('conntrack_recommend', {'overrides': ['max']}, "argument 'overrides' is of type"),
    ('conntrack_recommend', {'expected_peak': -1}, 'expected_peak: -1 is outside the allowed range'),
    ('conntrack_recommend', {'only_raise': 'sometimes'}, "argument 'only_raise' is of type"),
    ('conntrack_recommend', {'kube_proxy': '2.0'}, 'kube_proxy.version: expected a Kubernetes version 1.x'),
    ('conntrack_recommend', {'profiles': {'p': 'web'}, 'profile': 'p'}, 'profiles.p: expected a dict'),
    ('conntrack_recommend', {'notrack_exemptions': [{'interface': 'lo;id'}]},
     "notrack_exemptions (conntrack_notrack in the role): exemptions[0].interface: 'lo;id' is not a valid interface name"),
    ('conntrack_recommend', {'notrack_exemptions': 'lo'}, 'notrack_exemptions (conntrack_notrack in the role): exemptions: expected a list'),
    ('conntrack_recommend', {'files': {'sysctl_file': '/etc/passwd'}},
     'files.sysctl_file (conntrack_sysctl_file in the role): /etc/passwd is outside'),
    ('conntrack_recommend', {'files': {'sysctl_file': 'x.conf'}},
     "(conntrack_sysctl_file in the role): 'x.conf' is relative"),
    ('conntrack_recommend', {'files': {'hosts_file': '/etc/hosts'}}, 'files: unknown key(s) hosts_file'),
    # ---- conntrack_settings
    ('conntrack_settings', {'settings': {'max': NAN}}, 'settings.max: expected an integer, got nan'),
    ('conntrack_settings', {'settings': {'max': -INF}}, 'settings.max: expected an integer, got -inf'),
    ('conntrack_settings', {'settings': {'max': 0}}, 'settings.max: 0 is outside the allowed range 1-268435456'),
    ('conntrack_settings', {'settings': {'max': 2 ** 40}}, 'settings.max: 1099511627776 is outside the allowed range'),
    ('conntrack_settings', {'settings': {'max': True}}, 'settings.max: expected an integer, got a boolean'),
    ('conntrack_settings', {'settings': {'max': '1e6'}}, "settings.max: expected an integer, got '1e6'"),
    ('conntrack_settings', {'settings': {'udp_timeout': 0}}, 'settings.udp_timeout: 0 is outside the allowed range'),
    ('conntrack_settings', {'settings': {'udp_timeout': 2 ** 31}}, 'settings.udp_timeout: 2147483648 is outside'),
    ('conntrack_settings', {'settings': {'tcp_loose': 2}}, 'settings.tcp_loose: 2 is outside the allowed range 0-1'),
    ('conntrack_settings', {'settings': {'events': 3}}, 'settings.events: 3 is outside the allowed range 0-2'),
    ('conntrack_settings', {'settings': {'count': 1}}, "settings: 'count' is read-only"),
    ('conntrack_settings', {'settings': {'vm.swappiness': 1}}, "settings: unknown conntrack key 'vm.swappiness'"),
    ('conntrack_settings', {'settings': {'../../etc/passwd': 1}}, "settings: unknown conntrack key '../../etc/passwd'"),
    ('conntrack_settings', {'settings': {'max': 1, 'nf_conntrack_max': 2}}, "settings: key 'max' is given twice"),
    ('conntrack_settings', {'settings': ['max']}, "argument 'settings' is of type"),
    ('conntrack_settings', {'settings': {'max': 4}}, 'max: 4 is below the live count 5'),
    ('conntrack_settings', {'settings': {'max': 200000000}}, 'more than memory_budget_percent'),
    ('conntrack_settings', {'memory_budget_percent': 0}, 'memory_budget_percent: 0 is outside the allowed range 0.1-50'),
    ('conntrack_settings', {'memory_budget_percent': NAN}, 'memory_budget_percent: expected a number'),
    ('conntrack_settings', {'memory_budget_percent': 99}, 'memory_budget_percent: 99 is outside the allowed range'),
    ('conntrack_settings', {'lock_timeout': -1}, 'lock_timeout: -1 is outside the allowed range 0-86400 seconds'),
    ('conntrack_settings', {'lock_timeout': 10 ** 6}, 'lock_timeout: 1000000 is outside the allowed range'),
    ('conntrack_settings', {'lock_timeout': INF}, 'lock_timeout: expected an integer in the allowed range 0-86400'),
    ('conntrack_settings', {'state': 'gone'}, 'value of state must be one of: present, absent'),
    ('conntrack_settings', {'readonly': 'ignore'}, 'value of readonly must be one of: report, fail'),
    ('conntrack_settings', {'boot_fix': 'grub'}, 'value of boot_fix must be one of: auto, modules-load, udev, none'),
    ('conntrack_settings', {'module_layers': 'sometimes'}, 'value of module_layers must be one of'),
    ('conntrack_settings', {'sysctl_file': '/etc/passwd'}, 'sysctl_file: /etc/passwd is outside the directories'),
    ('conntrack_settings', {'sysctl_file': '/opt/tuning/ct.conf'}, 'sysctl_file: /opt/tuning/ct.conf is outside'),
    ('conntrack_settings', {'sysctl_file': 'relative.conf'}, "sysctl_file: 'relative.conf' is relative"),
    ('conntrack_settings', {'sysctl_file': '/etc/sysctl.d/../shadow'}, 'is not a normal path'),
    ('conntrack_settings', {'sysctl_file': '/etc/sysctl.d/no-suffix'}, 'is not a name systemd-sysctl reads'),
    ('conntrack_settings', {'modprobe_file': '/etc/modprobe.d/x'}, 'modprobe_file: \'x\' is not a name modprobe reads'),
    ('conntrack_settings', {'modules_load_file': '/etc/modules'}, 'modules_load_file: /etc/modules is outside'),
    ('conntrack_settings', {'udev_rule_file': '/etc/udev/x.rules'}, 'udev_rule_file: /etc/udev/x.rules is outside'),
    ('conntrack_settings', {'settings': {'udp_timeout': 20}, 'readonly': 'fail', 'runtime': True, 'bogus': 1},
     "nfct.tuning.conntrack_settings: unknown option 'bogus'; its options: backup"),
    # ---- conntrack_notrack
    ('conntrack_notrack', {'exemptions': [{'interface': 'eth9'}]}, "exemptions[0].interface: 'eth9' is not an interface"),
    ('conntrack_notrack', {'exemptions': [{'interface': 'eth0;reboot'}]}, 'is not a valid interface name (1-15 letters'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'e$(id)'}]}, 'is not a valid interface name'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'x' * 16}]}, 'is not a valid interface name'),
    ('conntrack_notrack', {'exemptions': [{'interface': ''}]}, 'is not a valid interface name'),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'tcp', 'port': 0}]},
     'exemptions[0].port: 0 is outside the allowed range 1-65535'),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'tcp', 'port': 65536}]}, 'port: 65536 is outside the allowed'),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'tcp', 'port': 'https'}]},
     "exemptions[0].port: expected an integer 1-65535, got 'https'"),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'tcp', 'port': INF}]}, 'exemptions[0].port: expected an integer'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'control_ports': [INF]},
     'control_ports[0]: expected an integer in the allowed range 1-65535, got inf'),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'sctp'}]}, 'value of protocol must be one of: tcp, udp'),
    ('conntrack_notrack', {'exemptions': [{'port': 80}]}, 'exemptions[0].protocol: a port needs a protocol'),
    ('conntrack_notrack', {'exemptions': [{'protocol': 'tcp', 'port': 80, 'direction': 'sideways'}]},
     'value of direction must be one of'),
    ('conntrack_notrack', {'exemptions': [{'address': '10.0.0.0/33'}]}, "exemptions[0].address: '10.0.0.0/33' is not"),
    ('conntrack_notrack', {'exemptions': [{'address': '10.0.0.1/8'}]}, 'exemptions[0].address: 10.0.0.1/8 has host bits'),
    ('conntrack_notrack', {'exemptions': [{'address': '999.1.1.1'}]}, "exemptions[0].address: '999.1.1.1' is not"),
    ('conntrack_notrack', {'exemptions': [{'address': 'fe80::/129'}]}, "exemptions[0].address: 'fe80::/129' is not"),
    ('conntrack_notrack', {'exemptions': [{'address': '0.0.0.0/0'}]}, 'exemptions[0].address: 0.0.0.0/0 covers every '
                                                                      'address'),
    ('conntrack_notrack', {'exemptions': [{'address': '::/0'}]}, 'exemptions[0].address: ::/0 covers every address'),
    ('conntrack_notrack', {'exemptions': [{'address': '10.0.0.0/8', 'family': 'ipv6'}]},
     'exemptions[0].family: ipv6 does not match address 10.0.0.0/8'),
    ('conntrack_notrack', {'exemptions': [{}]}, 'exemptions[0]: '),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo', 'colour': 'red'}]}, 'exemptions.colour'),
    # Ansible's own list-of-dicts conversion answers this one (before the module runs)
    ('conntrack_notrack', {'exemptions': 'lo'}, 'dictionary requested, could not parse JSON or key=value'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'control_ports': [70000]},
     'control_ports[0]: 70000 is outside the allowed range 1-65535'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'backend': 'ebtables'}, 'value of backend must be one of'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'companion': 'sometimes'}, 'value of companion must be'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'nftables_file': '/tmp/x.nft'},
     'nftables_file: /tmp/x.nft is outside the directories'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'nftables_conf': 'nftables.conf'},
     "nftables_conf: 'nftables.conf' is relative"),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'iptables_rules_v4': '/etc/shadow'},
     'iptables_rules_v4: /etc/shadow is outside the directories'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'iptables_rules_v6': '/etc/iptables/../shadow'},
     'is not a normal path'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'lock_timeout': -5}, 'lock_timeout: -5 is outside'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'lock_timeout': INF}, 'lock_timeout: expected an integer'),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'persist_platform': 'arch'},
     'value of persist_platform must be one of'),
    # ---- issue 22: the findings of the review of 0.2.0, module by module
    ('conntrack_facts', {'breakdwon': True}, "nfct.tuning.conntrack_facts: unknown option 'breakdwon' (did you mean "
                                             "'breakdown'?)"),
    ('conntrack_recommend', {'profile': ''}, 'profile: empty; give one of the valid profiles: database, default'),
    ('conntrack_recommend', {'profile': 'nat-gateway'}, "valid profiles: database, default, dns, edge, kubernetes_node, "
                                                        "nat_gateway, web. Did you mean 'nat_gateway'?"),
    ('conntrack_recommend', {'kube_proxy': 1.4}, "kube_proxy.version: 1.4 arrived as a number, and YAML reads an "
                                                 "unquoted 1.40 as 1.4 too: quote the version"),
    ('conntrack_recommend', {'kube_proxy': {'version': '1.31', 'conntrack': {'tcpEstablishedTimeout': 'a day'}}},
     "kube_proxy.conntrack.tcp_established_timeout (conntrack.tcpEstablishedTimeout): expected a duration such as"),
    ('conntrack_recommend', {'kube_proxy': {'version': '1.31', 'maxPercore': 0}},
     "kube_proxy: unknown field maxPercore (did you mean 'maxPerCore'?)"),
    ('conntrack_recommend', {'profile': 'kubernetes_node', 'kube_proxy': {'version': '1.31',
                                                                          'tcpEstablishedTimeout': '1h'}},
     "kube-proxy's conntrack.tcpEstablishedTimeout (kube_proxy.tcp_established_timeout): 3600 s is below the floor of "
     "7440 s"),
    ('conntrack_recommend', {'profile': 'web', 'overrides': {'tcp_timeout_established': 30}},
     'overrides.tcp_timeout_established: 30 s is below the floor of 7440 s for '
     'net.netfilter.nf_conntrack_tcp_timeout_established'),
    ('conntrack_recommend', {'profile': 'edge', 'overrides': {'tcp_timeout_established': 10}},
     'overrides.tcp_timeout_established: 10 s is below the floor of 7440 s'),
    ('conntrack_recommend', {'overrides': {'tcp_timeout_time_wait': 1}},
     'overrides.tcp_timeout_time_wait: 1 s is below the floor of 60 s'),
    ('conntrack_recommend', {'profile': 'nat_gateway', 'overrides': {'tcp_timeout_established': 7000}},
     'RFC 5382 REQ-5'),
    ('conntrack_recommend', {'overrides': {'udp_timeout_stream': 30}}, 'RFC 4787 REQ-5'),
    ('conntrack_recommend', {'overrides': {'helper': 0}},
     'overrides.helper: this kernel (6.18.44) has no net.netfilter.nf_conntrack_helper: the automatic helper'),
    ('conntrack_recommend', {'overrides': {'dccp_timeout_open': 50000}}, 'DCCP tracking was removed in 6.17'),
    ('conntrack_recommend', {'overrides': {'max': 131072}},
     'overrides.max: 131072 is below the live value 262144, and only_raise keeps that'),
    ('conntrack_recommend', {'overrides': {'maxx': 1}}, "overrides: unknown conntrack key 'maxx' (did you mean 'max'?)"),
    ('conntrack_recommend', {'facts': {'available': True}}, 'facts.kernel: missing'),
    ('conntrack_recommend', {'facts': {'available': True, 'kernel': {}, 'module': 'builtin', 'netns': {}}},
     "facts.module: expected a dict (as nfct.tuning.conntrack_facts returns it), got str 'builtin'"),
    ('conntrack_recommend', {'facts': {'available': True, 'kernel': {}, 'module': {'type': 'builtin'}, 'netns': {},
                                       'max': 262144}}, 'facts.ram_bytes: missing, so the memory budget cannot be '
                                                        'checked'),
    ('conntrack_recommend', {'role_variables': True}, 'role_variables: only the action plugin'),
    ('conntrack_recommend', {'profiles': {'p': {'sizing': {'per_gib': 1}}}, 'profile': 'p'},
     "profiles.p.sizing: unknown field per_gib; allowed: alert_usage"),
    ('conntrack_settings', {'settings': {'tcp_timeout_established': 5}},
     'settings.tcp_timeout_established: 5 s is below the floor of 7440 s for '
     'net.netfilter.nf_conntrack_tcp_timeout_established'),
    ('conntrack_settings', {'settings': {'tcp_timeout_time_wait': 1}}, 'TCP_TIMEWAIT_LEN'),
    ('conntrack_settings', {'settings': {'udp_timeout': 1}}, 'settings.udp_timeout: 1 s is below the floor of 10 s'),
    ('conntrack_settings', {'settings': {'maxx': 1}}, "settings: unknown conntrack key 'maxx' (did you mean 'max'?)"),
    ('conntrack_settings', {'setings': {'max': 1}}, "nfct.tuning.conntrack_settings: unknown option 'setings' (did "
                                                    "you mean 'settings'?)"),
    ('conntrack_notrack', {'exemptions': [{'interface': 'lo'}], 'backnd': 'auto'},
     "nfct.tuning.conntrack_notrack: unknown option 'backnd' (did you mean 'backend'?)"),
    ('conntrack_audit', {'profile': ''}, 'profile: empty'),
    ('conntrack_audit', {'profile': 'web', 'overrides': {'tcp_timeout_established': 30}},
     'overrides.tcp_timeout_established: 30 s is below the floor of 7440 s'),
    ('conntrack_audit', {'kube_proxy': 1.3}, 'kube_proxy.version: 1.3 arrived as a number'),
    ('conntrack_audit', {'fail_on': ['drift']}, 'fail_on: unknown kind(s) drift'),
    ('conntrack_audit', {'top': 0}, 'top: 0 is outside the allowed range 1-10000'),
    ('conntrack_audit', {'profil': 'web'}, "nfct.tuning.conntrack_audit: unknown option 'profil' (did you mean "
                                           "'profile'?)"),
    ('conntrack_users', {'ignroe': ['docker']}, "nfct.tuning.conntrack_users: unknown option 'ignroe' (did you mean "
                                                "'ignore'?)"),
    ('conntrack_users', {'ignore': 'docker', 'colour': 1}, "nfct.tuning.conntrack_users: unknown option 'colour'"),
    ('conntrack_metrics', {'interval': 5}, 'interval: 5 is outside the allowed range 10-86400 seconds'),
    ('conntrack_metrics', {'top': 1000}, 'top: 1000 is outside the allowed range 1-100'),
    ('conntrack_metrics', {'dir': 'relative'}, "dir: 'relative' must be an absolute directory of its own"),
    ('conntrack_metrics', {'desired': {'maxx': 1}}, "desired: unknown conntrack key 'maxx' (did you mean 'max'?)"),
    ('conntrack_metrics', {'intervall': 60}, "nfct.tuning.conntrack_metrics: unknown option 'intervall' (did you mean "
                                             "'interval'?)"),
]


@pytest.mark.parametrize('name, args, fragment', ROWS, ids=['%s-%02d' % (r[0][10:], i) for i, r in enumerate(ROWS)])
def test_bad_input_names_the_option_and_changes_nothing(tmp_path, capsys, name, args, fragment):
    res, before, after, calls = run_module(tmp_path, capsys, name, args)
    assert res.get('failed') is True, res
    assert fragment in res['msg'], res['msg']
    assert 'Traceback' not in res['msg'] and 'exception' not in res
    assert after == before
    assert calls == [], calls


def test_the_catalogue_is_big_enough():
    # issue 22: at least 150 rows across every module, the action plugin and the role's variables
    assert len(ROWS) + len(ACTION_ROWS) + len(ROLE_ROWS) >= 150, len(ROWS) + len(ACTION_ROWS) + len(ROLE_ROWS)
    modules = set(r[0] for r in ROWS)
    every = set(m.__name__.split('.')[-1] for m in OPTIONS) | {'conntrack_audit', 'conntrack_users', 'conntrack_metrics'}
    assert modules == every


# ---------------------------------------------------------------- the role's argument specs

def role_spec():
    with open(os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as f:
        return yaml.safe_load(f)['argument_specs']['main']['options']


# Issue 22: the role's first task (its dependency conntrack_preflight) checks every conntrack_*
# variable in the role's words before Ansible's own argument check (whose refusal prints the
# whole spec) and before any module runs. variables -> the start of our message.
ROLE_ROWS = [
    ({'conntrack_force': 'perhaps'}, "conntrack_force: expected true or false, got the string 'perhaps'"),
    ({'conntrack_profiles': 'web'}, "conntrack_profiles: expected a dict, got the string 'web'; write for example "
                                    "conntrack_profiles: {mine: {extends: web"),
    ({'conntrack_overrides': ['max']}, "conntrack_overrides: expected a dict, got a list ['max']; write for example "
                                       "conntrack_overrides: {tcp_timeout_established: 86400}"),
    ({'conntrack_only_raise': 'perhaps'}, "conntrack_only_raise: expected true or false, got the string 'perhaps'"),
    ({'conntrack_state': 'gone'}, "conntrack_state: the string 'gone' is not one of present, absent, disabled"),
    ({'conntrack_readonly': 'ignore'}, "conntrack_readonly: the string 'ignore' is not one of report, fail"),
    ({'conntrack_boot_fix': 'grub'}, "conntrack_boot_fix: the string 'grub' is not one of auto, modules-load, udev, "
                                     "none"),
    ({'conntrack_module_layers': 'some'}, "conntrack_module_layers: the string 'some' is not one of auto, always, never"),
    ({'conntrack_lock_timeout': 'soon'}, "conntrack_lock_timeout: expected an integer, got the string 'soon'"),
    ({'conntrack_notrack_backend': 'pf'}, "conntrack_notrack_backend: the string 'pf' is not one of auto, nftables"),
    ({'conntrack_notrack_companion': 'maybe'}, "conntrack_notrack_companion: the string 'maybe' is not one of auto"),
    ({'conntrack_verify': 'yes please'}, "conntrack_verify: expected true or false, got the string 'yes please'"),
    ({'conntrack_profil': 'web'}, "conntrack_profil: not a variable of nfct.tuning.conntrack (did you mean "
                                  "'conntrack_profile'?). Nothing ran on the host"),
    ({'conntrack_overides': {'max': 1}}, "conntrack_overides: not a variable of nfct.tuning.conntrack (did you mean "
                                         "'conntrack_overrides'?)"),
    ({'conntrack_kube_proxi': '1.31'}, "(did you mean 'conntrack_kube_proxy'?)"),
    ({'conntrack_notrack': 'lo'}, "conntrack_notrack: expected a list of dicts, got the string 'lo'; write for example "
                                  "conntrack_notrack: [{interface: lo}, {protocol: tcp, port: 443, direction: inbound}]"),
    ({'conntrack_notrack': {'interface': 'lo'}}, 'conntrack_notrack: expected a list of dicts, got one dict: write it '
                                                 'as a list, for example conntrack_notrack: [{interface: lo}'),
    ({'conntrack_notrack': ['lo']}, "conntrack_notrack[0]: expected a dict, got the string 'lo'"),
    ({'conntrack_notrack': [{'interface': 'eth0;reboot'}]}, "conntrack_notrack[0].interface: 'eth0;reboot' is not a "
                                                            "valid interface name"),
    ({'conntrack_notrack': [{'protocol': 'tcp', 'port': 70000}]}, 'conntrack_notrack[0].port: 70000 is outside the '
                                                                  'allowed range 1-65535'),
    ({'conntrack_users_ignore': {'docker': True}}, 'conntrack_users_ignore: expected a list, got a dict; write for '
                                                   'example conntrack_users_ignore: [docker]'),
    ({'conntrack_audit_fail_on': 5}, 'conntrack_audit_fail_on: expected a list, got int 5'),
    ({'conntrack_profile': ''}, 'conntrack_profile: empty; give one of the valid profiles: database, default'),
    ({'conntrack_profile': 'webb'}, "conntrack_profile: unknown profile 'webb'; valid profiles: database, default, dns, "
                                    "edge, kubernetes_node, nat_gateway, web. Did you mean 'web'?"),
    ({'conntrack_profile': 'p', 'conntrack_profiles': {'p': {'sizing': {'min': 65536, 'cap': 2048}}}},
     'profile p: sizing.min 65536 is above sizing.cap 2048 (both from conntrack_profiles.p)'),
    ({'conntrack_overrides': {'maxx': 1}}, "conntrack_overrides: unknown conntrack key 'maxx' (did you mean 'max'?)"),
    ({'conntrack_overrides': {'tcp_timeout_established': 30}},
     'conntrack_overrides.tcp_timeout_established: 30 s is below the floor of 7440 s'),
    ({'conntrack_overrides': {'tcp_timeout_established': 30}, 'conntrack_force': 'false'},
     'or set conntrack_force: true to go below it'),
    ({'conntrack_profile': 'mine', 'conntrack_profiles': {'mine': {'extends': 'web',
                                                                   'settings': {'tcp_timeout_time_wait': 1}}}},
     'conntrack_profiles.mine.settings.tcp_timeout_time_wait: 1 s is below the floor of 60 s'),
    ({'conntrack_memory_budget_percent': 99}, 'conntrack_memory_budget_percent: 99 is outside the allowed range 0.1-50'),
    ({'conntrack_expected_peak': 0}, 'conntrack_expected_peak: 0 is outside the allowed range 1-268435456'),
    ({'conntrack_kube_proxy': 1.4}, "conntrack_kube_proxy.version: 1.4 arrived as a number, and YAML reads an unquoted "
                                    "1.40 as 1.4 too: quote the version ('1.40' or '1.4')"),
    ({'conntrack_kube_proxy': {'version': '1.31', 'conntrack': {'maxPerCore': 'many'}}},
     'conntrack_kube_proxy.conntrack.max_per_core (conntrack.maxPerCore): expected an integer'),
    ({'conntrack_sysctl_file': '/etc/passwd'}, 'conntrack_sysctl_file: /etc/passwd is outside the directories '
                                               'systemd-sysctl reads'),
    ({'conntrack_udev_rule_file': 'x.rules'}, "conntrack_udev_rule_file: 'x.rules' is relative"),
    ({'conntrack_lock_timeout': -1}, 'conntrack_lock_timeout: -1 is outside the allowed range 0-86400 seconds'),
    ({'conntrack_metrics_interval': 1}, 'conntrack_metrics_interval: 1 is outside the allowed range 10-86400 seconds'),
    ({'conntrack_audit_top': 0}, 'conntrack_audit_top: 0 is outside the allowed range 1-10000'),
]


def role_check(variables):
    """What the role's first task answers for these variables (over the role's defaults)."""
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _recommend_args
    with open(os.path.join(REPO, 'roles', 'conntrack', 'defaults', 'main.yml')) as f:
        given = yaml.safe_load(f)
    given.update(variables)
    spec = role_spec()
    return _recommend_args.check_role_variables(spec, dict((k, v) for k, v in given.items() if k in spec), list(given))


def role_spec():
    with open(os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as f:
        specs = yaml.safe_load(f)['argument_specs']
    spec = {}
    for entry in specs.values():  # every entry point's variables, as the action reads them
        spec.update(entry['options'])
    return spec


@pytest.mark.parametrize('variables, fragment', ROLE_ROWS, ids=['role-%02d' % i for i in range(len(ROLE_ROWS))])
def test_the_role_refuses_bad_variables_first_in_its_own_words(variables, fragment):
    errors = role_check(variables)
    assert errors and fragment in errors[0], errors
    assert not any('Traceback' in e or 'ansible_collections' in e for e in errors)


def test_the_roles_defaults_pass_its_check():
    assert role_check({}) == []


ANSIBLE_ROLE_ROWS = [row[0] for row in ROLE_ROWS[:12]]


@pytest.mark.parametrize('variables', ANSIBLE_ROLE_ROWS)
def test_role_argument_specs_refuse_bad_variables(variables):
    # Ansible's own check of the argument specs (after ours) refuses the same values: ours is at
    # least as strict, so it always speaks first
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    spec = role_spec()
    for o in spec.values():
        o.pop('description', None)
        o.pop('short_description', None)
    res = ArgumentSpecValidator(spec).validate(dict(variables))
    assert res.error_messages, variables
    assert any(list(variables)[0] in m for m in res.error_messages), res.error_messages


# ---------------------------------------------------------------- the action plugin

ACTION_ROWS = [
    ({'maxx': 1}, "nfct.tuning.conntrack_recommend: unknown option 'maxx'; its options: expected_peak"),
    ({'profil': 'web'}, "nfct.tuning.conntrack_recommend: unknown option 'profil' (did you mean 'profile'?)"),
    ({'overrides': ['max']}, "nfct.tuning.conntrack_recommend: overrides: expected a dict (key: value), got a list"),
    ({'only_raise': 'perhaps'}, "nfct.tuning.conntrack_recommend: only_raise: expected a boolean (true or false)"),
    ({'profile': ''}, 'profile: empty'),
    ({'profile': 'webb'}, "Did you mean 'web'?"),
    ({'kube_proxy': 1.4}, 'kube_proxy.version: 1.4 arrived as a number'),
    ({'overrides': {'tcp_timeout_established': 30}}, 'overrides.tcp_timeout_established: 30 s is below the floor'),
    ({'overrides': {'max': 131072}}, 'overrides.max: 131072 is below the live value 262144'),
    ({'overrides': {'helper': 0}}, 'has no net.netfilter.nf_conntrack_helper'),
    ({'facts': {'available': True, 'kernel': {}, 'module': {}, 'netns': 'initial'}}, 'facts.netns: expected a dict'),
    ({'expected_peak': 100000000, 'facts': 'MISSING_RAM'}, 'facts.ram_bytes: missing'),
    # inside the role: the role's variables, not the module's options
    ({'overrides': {'tcp_timeout_time_wait': 1}, '_in_role': True},
     'conntrack_overrides.tcp_timeout_time_wait: 1 s is below the floor of 60 s'),
    ({'overrides': {'max': 131072}, '_in_role': True},
     'conntrack_overrides.max: 131072 is below the live value 262144, and conntrack_only_raise keeps that'),
    ({'notrack_exemptions': [{'interface': 'lo;x'}], '_in_role': True},
     "conntrack_notrack[0].interface: 'lo;x' is not a valid interface name"),
    ({'role_variables': True, '_vars': {'conntrack_profil': 'web'}},
     "conntrack_profil: not a variable of nfct.tuning.conntrack (did you mean 'conntrack_profile'?)"),
    ({'role_variables': True, '_vars': {'conntrack_notrack': 'lo'}}, "conntrack_notrack: expected a list of dicts"),
]


def run_action(tmp_path, args, controller):
    """The conntrack_recommend action as Ansible runs it on the controller, with the facts of the
    fixture host in the task's variables (never a module run): its result. controller: the
    controller-side classes, imported by the test itself (make host-python leaves the test out,
    not this file)."""
    from unittest import mock
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
    ActionModule, DataLoader, PlayContext, Templar = controller
    args = dict(args)
    root, probes = hosts.build(str(tmp_path / 'host'), 'post515_builtin')
    facts = _gather.gather(root=root, probes=probes)
    if args.get('facts') == 'MISSING_RAM':
        args['facts'] = dict(facts)
        del args['facts']['ram_bytes']
    task = mock.MagicMock()
    task.args, task.async_val, task.check_mode = args, 0, True
    task._role = None
    if args.pop('_in_role', False):
        task._role = mock.MagicMock(_role_collection='nfct.tuning', _role_name='conntrack')
    task_vars = dict(args.pop('_vars', {}), inventory_hostname='h1', ansible_facts={'conntrack': facts})
    connection = mock.MagicMock()
    connection._shell.tmpdir = str(tmp_path)
    loader = DataLoader()
    before = snapshot(root)
    result = ActionModule(task, connection, PlayContext(), loader, Templar(loader=loader), None).run(task_vars=task_vars)
    assert snapshot(root) == before and not connection.exec_command.called
    return result


@pytest.mark.parametrize('args, fragment', ACTION_ROWS, ids=['action-%02d' % i for i in range(len(ACTION_ROWS))])
def test_the_action_plugin_refuses_bad_input_clearly(tmp_path, args, fragment):
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.template import Templar
    from ansible_collections.nfct.tuning.plugins.action.conntrack_recommend import ActionModule
    res = run_action(tmp_path, args, (ActionModule, DataLoader, PlayContext, Templar))
    assert res.get('failed') is True, res
    assert fragment in res['msg'], res['msg']
    assert 'Traceback' not in res['msg'] and 'ansible_collections' not in res['msg'] and 'exception' not in res


# ---------------------------------------------------------------- fuzz

def _fuzz_values():
    from hypothesis import strategies as st
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
    return st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), kids, max_size=3)),
                        max_leaves=6)


OPTIONS = {
    conntrack_facts: ['breakdown', 'top', 'stats_source', 'breakdown_source'],
    conntrack_recommend: ['profile', 'profiles', 'overrides', 'memory_budget_percent', 'expected_peak', 'only_raise',
                          'previous_stats', 'force', 'kube_proxy', 'notrack_exemptions', 'files', 'role_variables'],
    conntrack_settings: ['settings', 'state', 'runtime', 'persist', 'readonly', 'force', 'memory_budget_percent',
                         'boot_fix', 'module_layers', 'load_module', 'backup', 'sysctl_file', 'modprobe_file',
                         'modules_load_file', 'udev_rule_file', 'lock_timeout', 'verify'],
    conntrack_notrack: ['exemptions', 'state', 'backend', 'companion', 'allow_control_connection', 'control_ports',
                        'interfaces_must_exist', 'persist', 'enable_service', 'persist_platform', 'nftables_file',
                        'nftables_conf', 'iptables_rules_v4', 'iptables_rules_v6', 'backup', 'lock_timeout'],
}


def test_fuzz_every_module_option_never_ends_in_a_traceback(tmp_path_factory):
    hypothesis = pytest.importorskip('hypothesis')
    from hypothesis import HealthCheck, given, settings, strategies as st
    import io
    import sys

    mods = sorted(OPTIONS, key=lambda m: m.__name__)

    @settings(max_examples=int(os.environ.get('NFCT_HYPOTHESIS_EXAMPLES', '150')), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(mods), st.data())
    def check(mod, data):
        opts = OPTIONS[mod]
        chosen = data.draw(st.lists(st.sampled_from(opts), max_size=3, unique=True))
        args = dict((o, data.draw(_fuzz_values())) for o in chosen)
        if mod is conntrack_notrack and 'exemptions' not in args:
            args['exemptions'] = data.draw(st.lists(st.dictionaries(
                st.sampled_from(['interface', 'protocol', 'port', 'direction', 'address', 'family']),
                _fuzz_values(), max_size=3), max_size=2))
        tmp = tmp_path_factory.mktemp('fuzz')
        root, probes = hosts.build(str(tmp / 'host'), 'post515_builtin')
        saved = sys.stdout
        sys.stdout = out = io.StringIO()
        try:
            flags = dict(ansible_flags(tmp, args, check=True))
            if mod is conntrack_notrack:
                invoke(mod, flags, FakeIO(root=root))
            else:
                invoke(mod, flags, root=root, probes=probes)
        finally:
            sys.stdout = saved
        res = json.loads(out.getvalue())
        assert 'exception' not in res, res
        if res.get('failed'):
            assert res['msg'] and 'Traceback' not in res['msg']
    check()
