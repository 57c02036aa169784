# -*- coding: utf-8 -*-
"""conntrack_facts (_gather.gather) on file trees captured from the qemu VM of molecule/vm:
Debian 12's own kernel, nf_conntrack a loadable module (tests/unit/vm_capture.py)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.host import persist as _persist, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings

import vm_capture

RELEASE = '6.1.0-50-amd64'
# What the role applied in the scenario: profile web, overrides buckets 131072 and max 300000.
ROLE = {'buckets': 131072, 'max': 300000, 'tcp_timeout_established': 86400, 'tcp_timeout_fin_wait': 30,
        'tcp_timeout_syn_recv': 30, 'tcp_timeout_time_wait': 30}
OURS = {'sysctl_file': '/etc/sysctl.d/90-conntrack.conf', 'modprobe_file': '/etc/modprobe.d/nfct-tuning.conf',
        'modules_load_file': '/etc/modules-load.d/nfct-tuning.conf',
        'udev_rule_file': '/etc/udev/rules.d/90-nfct-tuning.rules'}


def gather(tmp_path, name, **kw):
    root, probes = vm_capture.build(str(tmp_path), name)
    return _gather.gather(root=root, probes=probes, **kw)


def dig(facts, dotted):
    cur = facts
    for part in dotted.split('.'):
        cur = cur[part]
    return cur


LOADED = {'available': True, 'module.type': 'module', 'module.loaded': True,
          'module.evidence': '/sys/module/nf_conntrack/initstate exists', 'netns.initial': True,
          'kernel.release': RELEASE, 'kernel.version': [6, 1, 0], 'ram_bytes': 2014152 * 1024, 'cpus': 2,
          'buckets': 131072, 'hashsize.value': 131072, 'hashsize.writable': True,
          'stats.source': 'procfs', 'stats.cpus': 2, 'memory.object_size': 256, 'memory.object_size_source': 'slabinfo',
          'persisted.modprobe.hashsize': 131072, 'persisted.cmdline.hashsize': None,
          # an explicit hash size at load time (modprobe.d): the kernel's own max is 8 x hashsize
          'kernel_default.buckets': 131072, 'kernel_default.factor': 8, 'kernel_default.max': 1048576,
          'readonly': {'count': 'maintained by the kernel'}}


@pytest.mark.parametrize('name, expect', [
    ('vm_not_loaded', {
        'available': False, 'module.type': 'module', 'module.loaded': False,
        'module.evidence': 'in modules.dep, not loaded', 'netns.initial': None, 'sysctls': {}, 'timeouts': {},
        'max': None, 'buckets': None, 'count': None, 'writable': [], 'readonly': {},
        'hashsize': {'value': None, 'writable': False, 'reason': 'nf_conntrack is not loaded'},
        'stats': {'source': 'none'}, 'memory.object_size': 384,
        'memory.object_size_source': 'fallback (384 B: /proc/slabinfo has no nf_conntrack cache)',
        'persisted.at_boot': {}, 'persisted.sysctl_files': [], 'persisted.modprobe.lines': [],
        'persisted.modprobe.hashsize': None, 'persisted.modules_load': {'entries': [], 'loads_at_boot': False},
        # Debian 12's kernel with 2 GiB and no explicit hash size: 65536 buckets, max = buckets
        'kernel_default.buckets': 65536, 'kernel_default.max': 65536, 'kernel_default.factor': 1}),
    ('vm_converged', dict(LOADED, **{'max': 300000, 'count': 0, 'sysctls.tcp_timeout_established': 86400,
                                     'persisted.modules_load.loads_at_boot': True})),
    ('vm_reboot_fix', dict(LOADED, **{'max': 300000, 'count': 1, 'sysctls.tcp_timeout_established': 86400,
                                      'persisted.modules_load.loads_at_boot': True})),
    ('vm_no_fix_reboot', dict(LOADED, **{'max': 1048576, 'count': 1, 'sysctls.tcp_timeout_established': 432000,
                                         'persisted.modules_load.loads_at_boot': False})),
])
def test_gather_vm(tmp_path, name, expect):
    facts = gather(tmp_path, name)
    for dotted, value in expect.items():
        assert dig(facts, dotted) == value, dotted


def test_not_loaded_is_not_builtin(tmp_path):
    """No /sys/module/nf_conntrack at all, not in modules.builtin, in modules.dep: a module to load."""
    assert 'nf_conntrack' not in vm_capture.CAPTURES['vm_not_loaded']['files']['/lib/modules/%s/modules.builtin' % RELEASE]
    root, _probes = vm_capture.build(str(tmp_path), 'vm_not_loaded')
    assert _gather.module_state(root, RELEASE) == {'type': 'module', 'loaded': False,
                                                   'evidence': 'in modules.dep, not loaded'}


def test_debian_symlinks_are_applied_once(tmp_path):
    """Debian links /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf and /etc/modules-load.d/modules.conf
    -> ../modules: each file counts once, at the linked name's position."""
    facts = gather(tmp_path, 'vm_reboot_fix')
    assert facts['persisted']['sysctl_applied_files'] == [
        '/usr/lib/sysctl.d/50-pid-max.conf', '/etc/sysctl.d/90-conntrack.conf',
        '/usr/lib/sysctl.d/99-protect-links.conf', '/etc/sysctl.d/99-sysctl.conf']
    assert facts['persisted']['modules_load']['entries'] == [
        {'file': '/etc/modules-load.d/nfct-tuning.conf', 'line': 4, 'module': 'nf_conntrack'}]
    listing = _persist.read_listing(_persist.MODULES_LOAD_DIRS, str(tmp_path))
    assert listing[0][1]['modules.conf']['real'] == '/etc/modules'


@pytest.mark.parametrize('name', ['vm_converged', 'vm_reboot_fix'])
def test_role_layers_and_runtime_agree(tmp_path, name):
    facts = gather(tmp_path, name)
    p = facts['persisted']
    assert dict((k, int(v['value'])) for k, v in p['at_boot'].items()) == ROLE
    assert set(v['file'] for v in p['at_boot'].values()) == {OURS['sysctl_file']}
    assert [line['text'] for line in p['modprobe']['lines']] == ['options nf_conntrack hashsize=131072']
    assert p['modprobe']['lines'][0]['file'] == OURS['modprobe_file']
    assert dict((k, facts['sysctls'][k]) for k in ROLE) == ROLE
    assert set(ROLE) <= set(facts['writable'])


def test_no_fix_reboot_lost_the_sysctls(tmp_path):
    """Without the modules-load.d entry: the persisted values are intact, the runtime is not."""
    facts = gather(tmp_path, 'vm_no_fix_reboot')
    at_boot = dict((k, int(v['value'])) for k, v in facts['persisted']['at_boot'].items())
    assert at_boot == ROLE
    runtime = dict((k, facts['sysctls'][k]) for k in ROLE)
    # modprobe.d applied the hash size whoever loaded the module ...
    assert runtime['buckets'] == ROLE['buckets']
    # ... so the kernel's max is 8 x hashsize, and the timeouts are the kernel's defaults
    assert runtime['max'] == 8 * ROLE['buckets'] == facts['kernel_default']['max']
    assert runtime == dict(ROLE, max=1048576, tcp_timeout_established=432000, tcp_timeout_fin_wait=120,
                           tcp_timeout_syn_recv=60, tcp_timeout_time_wait=120)
    assert facts['persisted']['modules_load']['entries'] == []


def test_breakdown_of_the_ssh_connection(tmp_path):
    facts = gather(tmp_path, 'vm_reboot_fix', breakdown=True)
    b = facts['breakdown']
    assert b['source'] == 'procfs' and b['total'] == 1
    assert b['l4'] == {'tcp': 1} and b['tcp_states'] == {'ESTABLISHED': 1} and b['assured'] == 1


def plan(tmp_path, name, desired):
    root, probes = vm_capture.build(str(tmp_path), name)
    facts = _gather.gather(root=root, probes=probes)
    params = dict(OURS, state='present', runtime=True, persist=True, readonly='report', force=False,
                  memory_budget_percent=5, boot_fix='auto')
    return _settings.plan(facts, desired, params, _state.read(params, root))


def test_plan_after_reboot_with_fix_has_nothing_to_do(tmp_path):
    pl = plan(tmp_path, 'vm_reboot_fix', ROLE)
    assert pl['runtime'] == [] and pl['files'] == {} and pl['errors'] == []
    assert not pl['drift']['drifted']


def test_plan_after_reboot_without_fix_reports_the_drift(tmp_path):
    """What the audit reports on the failed boot: runtime drift, and the missing boot-order fix."""
    pl = plan(tmp_path, 'vm_no_fix_reboot', ROLE)
    drift = pl['drift']
    assert drift['drifted'] and drift['files'] == [OURS['modules_load_file']]
    assert drift['keys']['buckets']['kinds'] == []
    for key in ('max', 'tcp_timeout_established', 'tcp_timeout_fin_wait', 'tcp_timeout_syn_recv',
                'tcp_timeout_time_wait'):
        assert drift['keys'][key]['kinds'] == ['runtime'], key
        assert drift['keys'][key]['persisted'] == ROLE[key]
    assert drift['keys']['max']['runtime'] == 1048576
    assert [w['key'] for w in pl['runtime']] == ['max', 'tcp_timeout_established', 'tcp_timeout_fin_wait',
                                                 'tcp_timeout_syn_recv', 'tcp_timeout_time_wait']
    assert pl['files'][OURS['modules_load_file']]['before'] is None
    assert pl['files'][OURS['modules_load_file']]['after'].endswith('\nnf_conntrack\n')


def test_not_loaded_module_is_sized_and_persisted(tmp_path):
    # the role on a fresh VM (nf_conntrack a module, not loaded): the recommendation must not be
    # empty, and settings must persist everything (runtime waits for the module)
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
    facts = gather(tmp_path, 'vm_not_loaded')
    # the slab object size is unknown until the module loads: the 384 B fallback (an upper bound)
    # needs 112 MiB for 300000 entries, more than the profile's 5% of this 2 GiB VM
    with pytest.raises(_sizing.ProfileError, match='A budget of at least 5.8% would hold it'):
        _sizing.recommend(facts, profile='web', overrides={'buckets': 131072, 'max': 300000})
    rec = _sizing.recommend(facts, profile='web', overrides={'buckets': 131072, 'max': 300000},
                            memory_budget_percent=10)
    assert rec['assumed_not_loaded'] is True
    assert rec['recommended']['max'] == 300000 and rec['recommended']['buckets'] == 131072
    assert rec['recommended']['tcp_timeout_time_wait'] == 60
    assert rec['values']['tcp_timeout_time_wait']['current'] == 120  # the kernel default it will load with
    assert 'not loaded' in rec['warnings'][0]
    listing = _persist.read_listing(_persist.SYSCTL_DIRS, str(tmp_path))
    pl = _settings.plan(facts, rec['recommended'], dict(OURS, persist=True, runtime=True, memory_budget_percent=10),
                        _state.of({}, listing))
    assert pl['runtime'] == []
    assert set(pl['files']) == {OURS['sysctl_file'], OURS['modprobe_file'], OURS['modules_load_file']}
    assert 'net.netfilter.nf_conntrack_max = 300000' in pl['files'][OURS['sysctl_file']]['after']
    assert pl['files'][OURS['modprobe_file']]['after'].endswith('options nf_conntrack hashsize=131072\n')


def test_lost_boot_value_only_raise_keeps_live_and_says_how_to_restore(tmp_path):
    # after a reboot without the boot-order fix, max is 8 x hashsize (the kernel's default for an
    # explicit hash size) while sysctl.d says 300000. only_raise never lowers a live value
    # (issue 10, finding 2): it keeps 1048576 and says how to restore 300000; only_raise: false
    # restores it, and the plan reports runtime drift. An overrides.max of 300000 with only_raise
    # is refused rather than dropped (issue 22, finding 6).
    from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing
    facts = gather(tmp_path, 'vm_no_fix_reboot')
    assert facts['max'] == 1048576 and facts['persisted']['at_boot']['max']['value'] == '300000'
    kept = _sizing.recommend(facts, profile='web', overrides={'buckets': 131072}, memory_budget_percent=10)
    assert kept['recommended']['max'] == 1048576
    assert any('boot lost the persisted max 300000' in s for s in kept['values']['max']['steps'])
    assert any('Set only_raise: false to go back to 300000' in w for w in kept['warnings'])
    with pytest.raises(_sizing.ProfileError, match='overrides.max: 300000 is below the live value 1048576 .*lost the '
                                                   'persisted 300000.*Set only_raise: false'):
        _sizing.recommend(facts, profile='web', overrides={'buckets': 131072, 'max': 300000}, memory_budget_percent=10)
    rec = _sizing.recommend(facts, profile='web', overrides={'buckets': 131072, 'max': 300000}, only_raise=False,
                            memory_budget_percent=10)
    assert rec['recommended']['max'] == 300000
    listing = _persist.read_listing(_persist.SYSCTL_DIRS, str(tmp_path))
    current = {OURS['sysctl_file']: _persist.read_single(OURS['sysctl_file'], str(tmp_path))['content']}
    pl = _settings.plan(facts, rec['recommended'], dict(OURS, persist=True, runtime=True, memory_budget_percent=10,
                                                        force=True), _state.of(current, listing))
    assert pl['drift']['keys']['max']['kinds'] == ['runtime']
    assert pl['drift']['keys']['max']['runtime'] == 1048576 and pl['drift']['keys']['max']['persisted'] == 300000
