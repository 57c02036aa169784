#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_settings
short_description: Apply nf_conntrack settings to the running kernel and every persistent layer
version_added: 0.1.0
description:
  - Applies a set of desired values (C(max), C(buckets), any C(net.netfilter.nf_conntrack_*) key) in one call.
  - Runtime - writes each key and reads it back (procps C(sysctl -w) can print an error and still exit 0, so
    this module writes C(/proc/sys) itself). The hash size goes through C(net.netfilter.nf_conntrack_buckets)
    where writable, else C(/sys/module/nf_conntrack/parameters/hashsize).
  - Persisted - owns C(/etc/sysctl.d/90-conntrack.conf) whole (managed header, stable key order, atomic write,
    optional backup). When nf_conntrack is a loadable module also C(options nf_conntrack hashsize=N) in
    modprobe.d and the boot-order fix (a modules-load.d entry, or a udev rule that re-runs systemd-sysctl for
    net/netfilter) so the sysctl file really applies at boot. When built in, reports the kernel command line
    parameter that would persist the hash size and keeps the buckets sysctl in the file.
  - Per key - desired, runtime before/after, persisted before/after, effective at next boot after sysctl.d
    precedence and C(shadowed_by) when another file overrides ours.
  - Keys that cannot be written from here (non-initial network namespace, read-only /proc/sys) are reported and
    skipped with a warning, or fail the task with O(readonly=fail).
  - Refuses to set C(max) below the live count or above the memory budget unless O(force=true). A failure part-way
    restores the runtime values already changed.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  settings:
    description:
      - Key -> integer value. Short keys (V(max), V(tcp_timeout_established)) or full sysctl names.
      - A timeout below its floor (docs/keys.md, "Timeout floors") is refused, naming the key, the floor and its
        source, unless O(force).
    type: dict
    default: {}
  state:
    description:
      - V(present) applies O(settings). V(absent) removes the files this module owns (runtime values are left as
        they are and reported).
      - V(disabled) turns connection tracking off (docs/disable.md) - it first finds the users of conntrack as
        M(nfct.tuning.conntrack_users) does and refuses, naming every blocker, unless nothing needs it (see
        O(users_ignore)). On a module kernel it then unloads nf_conntrack and every module that holds it, in
        dependency order, writes O(disable_file) so that nothing loads it again (at boot or at run time) and removes
        our other files; when unloading fails, what was unloaded is loaded again with its runtime values. On a
        built-in kernel it needs O(builtin_mode=notrack_all) and our untrack-all NOTRACK objects in place
        (M(nfct.tuning.conntrack_notrack) with O(nfct.tuning.conntrack_notrack#module:untrack_all=true)).
        O(settings) is not used.
      - V(present) after V(disabled) removes O(disable_file) and loads nf_conntrack again before applying.
    type: str
    choices: [present, absent, disabled]
    default: present
  runtime:
    description: Apply to the running kernel.
    type: bool
    default: true
  persist:
    description: Write the persistent layers.
    type: bool
    default: true
  readonly:
    description: What to do with keys that cannot be written from here.
    type: str
    choices: [report, fail]
    default: report
  force:
    description:
      - Allow C(max) below the live count, or a C(max) above the memory budget that is larger than what the host
        already runs and persists.
      - Allow a timeout in O(settings) below its floor (docs/keys.md, "Timeout floors" - the table
        M(nfct.tuning.conntrack_recommend) uses); it is then reported as a warning.
    type: bool
    default: false
  memory_budget_percent:
    description:
      - Share of RAM the table may use at C(max) (entries and bucket heads), 0.1 to 50 (the same range as
        M(nfct.tuning.conntrack_recommend)).
      - Only a C(max) larger than the live value and the value persisted for the next boot is checked against it -
        keeping what the host already has is never refused.
    type: float
    default: 5
  boot_fix:
    description:
      - How to make sure sysctl.d applies C(net.netfilter.*) when nf_conntrack is a module loading after
        systemd-sysctl. V(auto) and V(modules-load) write a modules-load.d entry; V(udev) writes a udev rule that
        re-runs systemd-sysctl when the module appears; V(none) writes neither (and removes ours).
      - Ignored when nf_conntrack is built in.
    type: str
    choices: [auto, modules-load, udev, none]
    default: auto
  module_layers:
    description:
      - Whether to write the layers that only matter when nf_conntrack is a loadable module (modprobe.d hash size
        and the boot-order fix). V(auto) writes them when the facts say it is a module; V(always) also when it is
        built in or cannot be seen (an image prepared in a container or chroot for another kernel); V(never)
        removes ours.
    type: str
    choices: [auto, always, never]
    default: auto
  load_module:
    description:
      - When nf_conntrack is a module that is not loaded, load it (C(modprobe nf_conntrack)) before applying the
        runtime values. When false, only the persistent layers are written and the runtime keys are reported.
    type: bool
    default: false
  backup:
    description: Keep a timestamped copy of a file this module replaces or removes.
    type: bool
    default: false
  sysctl_file:
    description:
      - The sysctl.d file this module owns; an absolute C(NAME.conf) in a directory systemd-sysctl reads
        (C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d), C(/lib/sysctl.d)).
      - A file already there that this module did not write is taken over (and backed up) only when it holds
        nothing but C(net.netfilter.nf_conntrack_*) keys; otherwise the run fails. Symlinks and directories are
        refused. The same rules hold for the other owned files.
    type: path
    default: /etc/sysctl.d/90-conntrack.conf
  modprobe_file:
    description: The modprobe.d file this module owns (loadable module only); a C(NAME.conf) in a modprobe.d directory.
    type: path
    default: /etc/modprobe.d/nfct-tuning.conf
  modules_load_file:
    description: The modules-load.d file this module owns (loadable module only); a C(NAME.conf) in a modules-load.d directory.
    type: path
    default: /etc/modules-load.d/nfct-tuning.conf
  udev_rule_file:
    description: The udev rule this module owns when O(boot_fix=udev); a C(NAME.rules) in C(/etc/udev/rules.d) or C(/run/udev/rules.d).
    type: path
    default: /etc/udev/rules.d/90-nfct-tuning.rules
  disable_file:
    description:
      - The modprobe.d file of O(state=disabled) (C(blacklist nf_conntrack) and C(install nf_conntrack /bin/false)); a
        C(NAME.conf) in a modprobe.d directory. Removed by the other states.
    type: path
    default: /etc/modprobe.d/nfct-tuning-disable.conf
  users_ignore:
    description:
      - With O(state=disabled), users of conntrack not to count as blockers, as ids or shell patterns
        (O(nfct.tuning.conntrack_users#module:ignore)).
    type: list
    elements: str
    default: []
  builtin_mode:
    description:
      - With O(state=disabled) on a kernel with nf_conntrack built in (it cannot be unloaded) - V(refuse), or
        V(notrack_all) (consent to exempt all traffic with our NOTRACK objects; the table stays allocated).
    type: str
    choices: [refuse, notrack_all]
    default: refuse
  lock_timeout:
    description:
      - Seconds to wait for another nfct.tuning run on the same host (an flock on C(/run/lock/nfct-tuning.lock),
        held by every module that writes from the moment it reads the host to its last write), an integer 0-86400.
        Then the run fails and changes nothing. Check mode takes the lock shared, and only when the file exists.
    type: raw
    default: 300
  verify:
    description:
      - After applying, read the host again (still holding the lock) and compute the plan again; fail if anything
        still differs from the desired state (a value the kernel did not keep, a file changed under us).
    type: bool
    default: true
notes:
  - "All or nothing: runtime values are written first and read back, then the files; when any step fails,
    everything already changed is put back and RV(left_applied) lists what could not be. Files are written to a
    temporary file, fsync'ed, renamed and the directory fsync'ed; a temporary file left by a killed run is removed
    by the next one, even when nothing else differs, and counts as a change (RV(stale_removed))."
  - Never touches sysctl.d files other than its own; when another file overrides a key at boot (a C(99-*.conf),
    C(90-dev-sec.conf), C(/etc/sysctl.conf)) it says so in RV(keys) (C(shadowed_by)) and in a warning that names
    the value the boot will really give.
  - "The layers - runtime, each key written to C(/proc/sys/net/netfilter/nf_conntrack_*) in the order buckets, max,
    expect_max, then alphabetical, and read back expecting the kernel's rounding (a page of bucket heads);
    O(sysctl_file) always (global keys left out in a non-initial netns, where they can never apply);
    O(modprobe_file) (C(options nf_conntrack hashsize=N)) for a loadable module with buckets set;
    O(modules_load_file) (C(nf_conntrack), so the module loads before systemd-sysctl and the sysctl.d keys apply at
    boot) for a loadable module with O(boot_fix=auto) or V(modules-load); O(udev_rule_file) (re-runs
    C(systemd-sysctl --prefix=/net/netfilter) when the module appears, see sysctl.d(5)) with O(boot_fix=udev);
    the kernel command line only as RV(cmdline_hint), never edited."
  - Input is validated first - an unknown key or a value outside its range (docs/keys.md has every range) fails before anything is read or written.
  - A file already at one of the owned paths that this module did not write (no C(# Managed by nfct.tuning) header)
    is taken over, with a backup, only when it holds nothing but what it would write there; the paths must be where
    the boot reads them (C(/etc/passwd) or C(/opt/x.conf) is refused by name).
  - A O(settings) C(max) larger than the live and the persisted one is checked against O(memory_budget_percent);
    keeping what the host already has is never refused.
  - docs/safety.md lists the guarantees and the tests behind them.
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/keys.md,ansible_collections.nfct.tuning.docsite.keys) - The keys, their ranges and what the kernel does
    with them; R(docs/safety.md,ansible_collections.nfct.tuning.docsite.safety) - Every safety guarantee and the
    test behind it; R(docs/disable.md,ansible_collections.nfct.tuning.docsite.disable) - Turning connection tracking
    off - the kinds of users and how to remove them."
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Computes the whole plan and reports it; writes nothing (not even the lock file).
  diff_mode:
    support: full
    details:
      - Shows each owned file's before and after, and the runtime values before and after.
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root (writing C(/proc/sys/net/netfilter) needs CAP_NET_ADMIN, and the files are under C(/etc))
  - C(modprobe) (kmod) when it loads or unloads nf_conntrack - O(load_module=true), O(state=present) after
    O(state=disabled), and O(state=disabled) on a module kernel
  - With O(state=disabled), the tools M(nfct.tuning.conntrack_users) reads the users with (C(nft), C(iptables-save),
    C(systemctl), C(nsenter); what is missing is not read)
  - For O(boot_fix=udev) at boot - systemd-udevd and systemd-sysctl
seealso:
  - module: nfct.tuning.conntrack_facts
  - module: nfct.tuning.conntrack_recommend
'''

EXAMPLES = r'''
- name: Apply a recommendation
  nfct.tuning.conntrack_settings:
    settings: "{{ rec.recommended }}"
    memory_budget_percent: "{{ rec.memory.budget_percent }}"

- name: Pin two values, fail if any cannot be written here
  nfct.tuning.conntrack_settings:
    settings:
      max: 524288
      net.netfilter.nf_conntrack_tcp_timeout_established: 86400
    readonly: fail
    backup: true

- name: Drift check (changes nothing)
  nfct.tuning.conntrack_settings:
    settings: {max: 524288}
  check_mode: true
  diff: true
'''

RETURN = r'''
keys:
  description:
    - Per short key - C(key), C(desired), C(expected) (after kernel rounding), C(runtime_before), C(runtime_after),
      C(persisted_before), C(persisted_after), C(at_boot_before), C(at_boot_after), C(at_boot_file),
      C(shadowed_by) (files that override ours at boot), C(writable), C(not_applied) (why, when not applied).
  type: dict
  returned: always
runtime_changes:
  description: The runtime writes (key, before, value, path).
  type: list
  elements: dict
  returned: always
files_changed:
  description: Paths written or removed (or that would be, in check mode).
  type: list
  elements: str
  returned: always
not_applied:
  description:
    - Key -> reason for keys not applied at runtime or not persisted (named so because Ansible reserves C(skipped)).
  type: dict
  returned: always
cmdline_hint:
  description: Kernel command line parameter that would persist the hash size when nf_conntrack is built in.
  type: str
  returned: when nf_conntrack is built in and buckets is set
  sample: nf_conntrack.hashsize=524288
backup_files:
  description: Backups made, path -> backup path.
  type: dict
  returned: always
messages:
  description: The warnings of this run (also emitted as Ansible warnings) - skipped keys, shadowing files.
  type: list
  elements: str
  returned: always
drift_report:
  description:
    - C(drifted), C(files) (owned files other than the sysctl file that differ), and per key C(kinds) (runtime,
      persisted, at_boot, shadowed), C(desired), C(runtime), C(persisted), C(at_boot), C(at_boot_file),
      C(shadowed_by), C(readonly) (why it cannot be changed here; not counted as drift).
  type: dict
  returned: always
drift:
  description:
    - True when a runtime value or an owned file differs from the desired state, also in check mode - what the
      audit and the drift checks read.
    - The same as C(changed) except that a temporary file left by a killed run (RV(stale_removed)) makes the run
      C(changed) but is not drift.
  type: bool
  returned: always
adopted:
  description: Owned paths where a file this module did not write, holding only conntrack settings, was taken over.
  type: list
  elements: str
  returned: always
summary:
  description: What changes (or would, in check mode), readable - one line per runtime value and per file.
  type: list
  elements: str
  returned: success
stale_removed:
  description: Temporary files (C(.nfct-*)) a killed earlier run left in the owned directories, removed by this
    run (in check mode, those it would remove). They make the run C(changed), not RV(drift).
  type: list
  elements: str
  returned: always
users:
  description:
    - With O(state=disabled), the users check - C(can_disable), C(blockers), C(ignored), C(kernel), C(loaded),
      C(untrack_all) (our NOTRACK objects exempt every packet), C(unload_order) - as M(nfct.tuning.conntrack_users)
      returns them.
  type: dict
  returned: when O(state=disabled)
unloaded:
  description: With O(state=disabled), the modules unloaded, in order.
  type: list
  elements: str
  returned: when O(state=disabled)
  sample: [nft_chain_nat, nf_nat, nft_ct, nf_conntrack]
reenabled:
  description: O(state=present) found O(disable_file) and removed it before loading nf_conntrack.
  type: bool
  returned: when that happened
verified:
  description: True when the read-back after applying found nothing left to change (O(verify)).
  type: bool
  returned: when something was applied and O(verify) is true
left_applied:
  description: On failure, what is still changed because putting it back failed too (empty - the host is as before).
  type: list
  elements: str
  returned: on failure after a change
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, io as _hostio, lock as _lock
from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths, runtime as _runtime, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys

from ansible_collections.nfct.tuning.plugins.module_utils.settings import disable as _disable, plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host, verdict as _users


def build_module():
    return _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_settings')(
        argument_spec=dict(
            _settings.LAYER_SPEC,
            settings=dict(type='dict', default={}),
            readonly=dict(type='str', default='report', choices=['report', 'fail']),
            force=dict(type='bool', default=False),
            memory_budget_percent=dict(type='float', default=5),
            load_module=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            lock_timeout=dict(type='raw', default=300),
            verify=dict(type='bool', default=True),
            users_ignore=dict(type='list', elements='str', default=[]),
            builtin_mode=dict(type='str', default='refuse', choices=list(_disable.BUILTIN_MODES)),
        ),
        supports_check_mode=True,
    )


_read = _state.read_text
C_ENV = {'LANG': 'C', 'LC_ALL': 'C'}


write_value = _runtime.write_value
read_value = _runtime.read_value


OWNED = _settings.OWNED


def validate(p):
    """Everything wrong with the parameters, before any I/O: (desired settings, [errors], [warnings]).
    A timeout below its floor (kernel/rules.py TIMEOUT_FLOORS, the table conntrack_recommend uses)
    is refused unless force, and then reported."""
    errors, desired, warnings = [], {}, []
    try:
        # state disabled has no settings to apply: whatever the role passes is not used
        desired = _keys.validate_settings(p['settings'] if p['state'] != 'disabled' else {}, 'settings')
        errors, warnings = _keys.check_floors(desired, 'settings', p['force'])
    except _keys.InvalidSetting as e:
        errors.append(str(e))
    try:
        _inputs.budget(p['memory_budget_percent'])
    except _inputs.ProfileError as e:
        errors.append(str(e))
    try:
        p['lock_timeout'] = _inputs.number(p['lock_timeout'], 'lock_timeout', 0, 86400, True, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    errors += _paths.check_paths(p, OWNED)
    return desired, errors, warnings


def run(module, root='', probes=None):
    p = module.params
    result = dict(changed=False, messages=[], backup_files={}, runtime_changes=[], files_changed=[], adopted=[],
                  stale_removed=[])
    desired, errors, warnings = validate(p)
    if errors:
        module.fail_json(msg='; '.join(errors), **result)
    for warning in warnings:
        module.warn(warning)
    try:
        with _lock.HostLock(p['lock_timeout'], shared=module.check_mode, root=root, what='conntrack_settings'):
            apply(module, desired, root, probes, result)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), **result)


def apply(module, desired, root, probes, result):
    """Read the host, plan, and (not in check mode) write: runtime first, then the files, all
    undone when a later step fails. Runs under the host lock."""
    p = module.params
    facts = _gather.gather(root=root, probes=probes)
    if p['state'] == 'disabled':
        return disable(module, facts, root, probes, result)
    facts = load_if_needed(module, facts, root, probes, result)
    plan = _settings.plan(facts, desired, p, _state.read(p, root))
    adopt = report_plan(module, plan, root, result)

    # ------------------------------------------------------------ the one gate
    if module.check_mode or not result['changed']:
        module.exit_json(**result)

    result['stale_removed'] = _files.clean_stale(result['stale_removed'], root)
    done = write_runtime(module, plan['runtime'], root, result)
    _files.fault_point('before-files')
    try:
        # an adopted file is always backed up: its content was not ours
        _files.apply_changes(module, plan['files'], True if p['backup'] else set(adopt), result['backup_files'], root)
    except _files.ApplyError as e:
        left = restore_runtime(root, done)
        result['changed'] = bool(e.left or left)
        module.fail_json(msg='writing the files failed (%s); %s' % (e, undo_summary(len(done), left, e.left)),
                         left_applied=e.left + left, **result)
    # read the files back: what we meant is what is there
    for path in sorted(plan['files']):
        if _read(root + path) != plan['files'][path]['after']:
            module.fail_json(msg='%s: content read back differs from what was written' % path, **result)
    if p['verify']:
        verify(module, desired, p, root, probes, result)
    module.exit_json(**result)


def load_if_needed(module, facts, root, probes, result):
    """State present on a module kernel where nf_conntrack is not loaded: load it (load_module, or
    after state disabled, whose file goes first) and read the facts again. Not in check mode."""
    p = module.params
    was_disabled = _settings.is_disable_text(_read(root + p['disable_file']))
    if not (p['state'] == 'present' and p['runtime'] and not facts['available'] and (p['load_module'] or was_disabled)
            and facts['module'].get('type') == 'module'):
        return facts
    if not module.check_mode:
        if was_disabled:
            reenable(module, root, result)
        rc, out, err = module.run_command(['modprobe', 'nf_conntrack'], environ_update=C_ENV)
        if rc != 0:
            module.fail_json(msg='modprobe nf_conntrack failed: %s' % (err or out).strip(), **result)
        facts = _gather.gather(root=root, probes=probes)
    result['module_loaded'] = True
    return facts


def report_plan(module, plan, root, result):
    """Put the plan in the result (refusing when it or the host checks of our files have errors),
    with its warnings, summary and diff; `changed` and `drift` say whether the gate lets writes
    through. Returns the paths of unmarked files taken over."""
    p = module.params
    host_errors, adopt = check_owned(p, plan['files'], root)
    result.update(keys=plan['keys'], not_applied=plan['skipped'], drift_report=plan['drift'], adopted=adopt)
    if plan['cmdline_hint']:
        result['cmdline_hint'] = plan['cmdline_hint']
    if plan['errors'] or host_errors:
        module.fail_json(msg='; '.join(plan['errors'] + host_errors), **result)
    warnings = list(plan['warnings'])
    warnings += ['%s holds only conntrack settings but was not written by nfct.tuning: it is taken over (its content '
                 'is backed up)' % path for path in adopt]
    for w in warnings:
        module.warn(w)
    result['messages'] = warnings
    stale = _files.find_stale([os.path.dirname(p[o]) for o in OWNED], root)
    result['drift'] = bool(plan['runtime'] or plan['files'])
    result['changed'] = result['drift'] or bool(stale)
    result['stale_removed'] = stale
    result['runtime_changes'] = [dict((k, w[k]) for k in ('key', 'before', 'value', 'path')) for w in plan['runtime']]
    result['files_changed'] = sorted(plan['files'])
    result['summary'] = summary(plan, module.check_mode, stale)
    if module._diff:
        result['diff'] = diff_of(plan)
    return adopt


def verify(module, desired, params, root, probes, result):
    """Read the host again, still under the lock, and plan again: nothing may remain to change."""
    facts = _gather.gather(root=root, probes=probes)
    plan = _settings.plan(facts, desired, params, _state.read(params, root))
    left = ['%s (runtime %s, wanted %s)' % (_keys.sysctl_name(w['key']), w['before'], w['expect']) for w in plan['runtime']]
    left += ['%s differs' % path for path in sorted(plan['files'])]
    result['verified'] = not left
    if left:
        module.fail_json(msg='verify: after applying, the host still differs from the desired state: %s'
                         % '; '.join(left), **result)


def check_owned(p, changes, root):
    """Host-side checks of the owned files about to change -> (errors, paths adopted)."""
    errors, adopt = [], []
    for o in OWNED:
        if p[o] in changes:
            adopted, err = _paths.check_file(o, p[o], root, _paths.ADOPTABLE.get(o))
            if err:
                errors.append(err)
            elif adopted:
                adopt.append(p[o])
    return errors, adopt


def reenable(module, root, result):
    """State present after disabled: our disable file goes before nf_conntrack can load (its
    install line makes every load fail). Put back if the load then fails."""
    path = module.params['disable_file']
    changes = {path: {'before': _read(root + path), 'after': None}}
    try:
        _files.apply_changes(module, changes, bool(module.params['backup']), result['backup_files'], root)
    except _files.ApplyError as e:
        module.fail_json(msg='removing %s (conntrack_state: disabled) failed: %s' % (path, e), **result)
    rc, out, err = module.run_command(['modprobe', 'nf_conntrack'], environ_update=C_ENV)
    if rc != 0:
        left = _files.restore(module, changes, [path], root)
        module.fail_json(msg='modprobe nf_conntrack failed: %s; %s' % (
            (err or out).strip(), 'could not put back %s' % path if left else '%s was put back' % path), **result)
    result['changed'] = True
    result['reenabled'] = True


def module_loaded(root, name):
    return os.path.isdir('%s/sys/module/%s' % (root, name))


def disable(module, facts, root, probes, result):
    """state: disabled. Refuse while anything needs conntrack; then unload the modules (module
    kernel), write our disable file and remove our other files; read back. Under the host lock."""
    p = module.params
    release = (facts.get('kernel') or {}).get('release')
    users = _users.analyze(_users_host.gather(module, _hostio.HostIO(module, root), release),
                           ignore=p['users_ignore'])
    keep = ('can_disable', 'blockers', 'ignored', 'kernel', 'loaded', 'untrack_all', 'unload_order')
    result['users'] = dict((k, users[k]) for k in keep)
    plan = _settings.plan(facts, {}, p, _state.read(p, root))
    disable_plan = _disable.plan(facts, users, plan['files'], p['builtin_mode'], check=module.check_mode)
    host_errors, adopt = check_owned(p, disable_plan['files'], root)
    errors = disable_plan['errors'] + host_errors
    if errors:
        module.fail_json(msg='; '.join(errors), **result)
    for w in disable_plan['warnings']:
        module.warn(w)
    changed = bool(disable_plan['unload'] or disable_plan['files'])
    result.update(changed=changed, drift=changed, messages=disable_plan['warnings'], unloaded=[], files_changed=sorted(disable_plan['files']),
                  adopted=adopt, summary=(['would change:' if module.check_mode else 'changes:'] +
                                          ['  ' + line for line in disable_plan['summary']]) if changed else
                  ['in sync: conntrack is disabled'])
    if module._diff:
        result['diff'] = diff_of({'files': disable_plan['files'], 'runtime': []})
        if disable_plan['unload']:
            result['diff'].append({'before_header': 'loaded kernel modules', 'after_header': 'loaded kernel modules',
                                   'before': ''.join(m + '\n' for m in disable_plan['unload']), 'after': ''})
    if module.check_mode or not changed:
        module.exit_json(**result)

    # ------------------------------------------------------------ past the one gate
    saved = dict((k, v) for k, v in (facts.get('sysctls') or {}).items() if k in set(facts.get('writable') or []))
    unloaded = unload(module, root, disable_plan['unload'], saved, result)
    try:
        _files.apply_changes(module, disable_plan['files'], True if p['backup'] else set(adopt), result['backup_files'], root)
    except _files.ApplyError as e:
        module.fail_json(msg='writing the files failed (%s); %s' % (e, reload_modules(module, root, unloaded, saved)),
                         left_applied=e.left, **result)
    # read back: the files as planned, nf_conntrack not loaded (a module kernel)
    again = dict((p[o], _read(root + p[o])) for o in OWNED)
    wrong = [path for path, ch in sorted(disable_plan['files'].items()) if again.get(path) != ch['after']]
    if wrong:
        module.fail_json(msg='%s: content read back differs from what was written' % ', '.join(wrong), **result)
    if disable_plan['kernel'] == 'module' and module_loaded(root, _users.ROOT_MODULE):
        module.fail_json(msg='nf_conntrack was loaded again right after it was unloaded (something requested it); '
                             'run nfct.tuning.conntrack_users to see what', **result)
    result['verified'] = True
    module.exit_json(**result)


def unload(module, root, planned, saved, result):
    """modprobe -r each planned module that is still loaded, in order; on a failure load back what
    was unloaded (with the runtime values saved) and fail. Returns the modules unloaded."""
    loaded = [name for name in planned if module_loaded(root, name)]

    def gone():
        # modprobe -r also removes a dependency nothing uses any more (nf_conntrack itself after
        # its last holder): every planned module that is no longer loaded counts as unloaded
        return [name for name in loaded if not module_loaded(root, name)]
    for name in loaded:
        if not module_loaded(root, name):
            continue  # already gone with a module it was a dependency of
        rc, out, err = module.run_command(['modprobe', '-r', name], environ_update=C_ENV)
        if rc != 0 or module_loaded(root, name):
            why = 'unloading %s failed: %s' % (name, (err or out).strip() or 'still loaded')
            module.fail_json(msg='%s; %s' % (why, reload_modules(module, root, gone(), saved)), **result)
        result['unloaded'] = gone()
        _files.fault_point('after-unload')
    return gone()


def reload_modules(module, root, unloaded, saved):
    """Undo an unload: load the modules again (last unloaded first) and put the runtime values
    back. Returns the words for the failure message."""
    if not unloaded:
        return 'nothing had been unloaded: the host is as before'
    left = []
    for name in reversed(unloaded):
        if module_loaded(root, name):
            continue
        rc, out, err = module.run_command(['modprobe', name], environ_update=C_ENV)
        if rc != 0:
            left.append('%s (modprobe: %s)' % (name, (err or out).strip()))
    for short, value in sorted(saved.items()):
        if not isinstance(value, int):
            continue
        path = root + _keys.proc_path(short)
        try:
            if read_value(path) != value:
                write_value(path, value)
        except (IOError, OSError) as e:
            left.append('%s = %s (%s)' % (_keys.sysctl_name(short), value, e))
    if left:
        return 'the unloaded modules could NOT all be put back: %s' % '; '.join(left)
    return 'the %d unloaded module(s) were loaded again and the runtime values put back' % len(unloaded)


def summary(plan, check, stale=()):
    """What changes (or would, in check mode), readable."""
    if not (plan['runtime'] or plan['files'] or stale):
        return ['in sync: nothing to change']
    out = ['would change:' if check else 'changes:']
    out += ['  %s: %s -> %s (runtime)' % (_keys.sysctl_name(w['key']), w['before'], w['expect']) for w in plan['runtime']]
    out += ['  %s: %s' % (path, 'remove' if ch['after'] is None else 'create' if ch['before'] is None else 'update')
            for path, ch in sorted(plan['files'].items())]
    out += ['  %s: remove (a temporary file a killed run left)' % path for path in stale]
    return out


def write_runtime(module, writes, root, result):
    """Write and read back each runtime value (host/runtime.py); on a failure the ones already
    written are put back and the run fails saying what is left."""
    try:
        return _runtime.apply(writes, root)
    except _runtime.RuntimeWriteError as e:
        result['changed'] = bool(e.left)
        module.fail_json(msg='runtime write failed (%s); %s' % (e, undo_summary(len(e.done), e.left)),
                         left_applied=e.left, **result)


restore_runtime = _runtime.restore
undo_summary = _runtime.undo_summary


diff_of = _settings.diff_of


def main():
    run(build_module())


if __name__ == '__main__':
    main()
