# -*- coding: utf-8 -*-
"""The catalogue of bad input (issue 11): the four modules, run the way Ansible runs them on a
fixture host, and the role's argument specs. Each row must end in a clear error that names the
option and what is allowed, never a traceback, and leave the host exactly as it was (every
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

from ansible_collections.nfct.tuning.plugins.modules import conntrack_facts, conntrack_notrack
from ansible_collections.nfct.tuning.plugins.modules import conntrack_recommend, conntrack_settings

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
    else:
        mod = {'conntrack_facts': conntrack_facts, 'conntrack_settings': conntrack_settings,
               'conntrack_recommend': conntrack_recommend}[name]
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
    ('conntrack_facts', {'colour': 'red'}, 'Unsupported parameters for (basic.py) module: colour'),
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
     'Unsupported parameters for (basic.py) module: bogus'),
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
    role_rows = len(ROLE_ROWS)
    assert len(ROWS) + role_rows >= 80, len(ROWS) + role_rows


# ---------------------------------------------------------------- the role's argument specs

def role_spec():
    with open(os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as f:
        return yaml.safe_load(f)['argument_specs']['main']['options']


ROLE_ROWS = [
    ({'conntrack_force': 'perhaps'}, 'conntrack_force'),
    ({'conntrack_profiles': 'web'}, 'conntrack_profiles'),
    ({'conntrack_overrides': ['max']}, 'conntrack_overrides'),
    ({'conntrack_only_raise': 'perhaps'}, 'conntrack_only_raise'),
    ({'conntrack_state': 'gone'}, 'conntrack_state'),
    ({'conntrack_readonly': 'ignore'}, 'conntrack_readonly'),
    ({'conntrack_boot_fix': 'grub'}, 'conntrack_boot_fix'),
    ({'conntrack_module_layers': 'some'}, 'conntrack_module_layers'),
    ({'conntrack_lock_timeout': 'soon'}, 'conntrack_lock_timeout'),
    ({'conntrack_notrack_backend': 'pf'}, 'conntrack_notrack_backend'),
    ({'conntrack_notrack_companion': 'maybe'}, 'conntrack_notrack_companion'),
    ({'conntrack_verify': 'yes please'}, 'conntrack_verify'),
]


@pytest.mark.parametrize('variables, option', ROLE_ROWS)
def test_role_argument_specs_refuse_bad_variables(variables, option):
    # what the role's first task (argument spec validation) does, before any module runs
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    spec = role_spec()
    for o in spec.values():
        o.pop('description', None)
        o.pop('short_description', None)
    res = ArgumentSpecValidator(spec).validate(dict(variables))
    assert res.error_messages, variables
    assert any(option in m for m in res.error_messages), res.error_messages


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
                          'previous_stats', 'force', 'kube_proxy', 'notrack_exemptions', 'files'],
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
