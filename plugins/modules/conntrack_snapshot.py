#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_snapshot
short_description: Snapshot everything the conntrack role may change on a host, and put it back exactly
version_added: 0.3.0
description:
  - O(state=saved) records, on the host, everything the role C(nfct.tuning.conntrack) may change - the runtime value of
    every C(net.netfilter.nf_conntrack_*) key readable here (and whether it is writable here), the hash size
    (C(/sys/module/nf_conntrack/parameters/hashsize)), the bytes, mode and owner (or the absence) of every file
    M(nfct.tuning.conntrack_settings), M(nfct.tuning.conntrack_notrack) and M(nfct.tuning.conntrack_metrics) write,
    our NOTRACK objects (the nft table C(inet nfct_notrack) and the companion rules, our iptables raw chains, the
    jumps to them and the companion chain C(NFCT-UNTRACKED), IPv4 and IPv6, each flavour) and whether the loading
    services and the metrics timer are enabled. It goes to O(directory)/O(id).json (mode 0600), written atomically.
  - A second O(state=saved) with the same O(id) keeps the first snapshot (C(changed=false)) unless O(overwrite=true),
    so a rerun after a partial apply never snapshots the half-changed host.
  - O(state=restored) puts the host back exactly - files byte-identical with their mode and owner (files that were
    absent removed, folders that did not exist removed when empty), runtime values where they differ (the hash size
    first), our NOTRACK objects as they were (other tools' objects are never touched), the services' enablement -
    then reads everything again and compares it with the snapshot. Any difference fails the task with RV(mismatches);
    a missing or corrupt snapshot fails with a message naming the file.
  - O(state=absent) removes the snapshot file.
  - Used by the rollout playbook (docs/rollout.md, "Snapshot and restore") before each host changes.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  state:
    description: V(saved) takes the snapshot, V(restored) puts the host back from it, V(absent) removes it.
    type: str
    choices: [saved, restored, absent]
    required: true
  id:
    description: The snapshot's name (the rollout's id) - 1 to 64 characters out of C(A-Z a-z 0-9 . _ -).
    type: str
    required: true
  directory:
    description: Where snapshots are kept (an absolute path; created with mode 0700).
    type: path
    default: /var/lib/nfct-tuning/snapshots
  overwrite:
    description: With O(state=saved), replace a snapshot that already exists with this O(id).
    type: bool
    default: false
  sysctl_file:
    description: The sysctl.d file of M(nfct.tuning.conntrack_settings) (the same option, the same default).
    type: path
    default: /etc/sysctl.d/90-conntrack.conf
  modprobe_file:
    description: The modprobe.d hash size file of M(nfct.tuning.conntrack_settings).
    type: path
    default: /etc/modprobe.d/nfct-tuning.conf
  modules_load_file:
    description: The modules-load.d file of M(nfct.tuning.conntrack_settings).
    type: path
    default: /etc/modules-load.d/nfct-tuning.conf
  udev_rule_file:
    description: The udev rule of M(nfct.tuning.conntrack_settings) (O(nfct.tuning.conntrack_settings#module:boot_fix=udev)).
    type: path
    default: /etc/udev/rules.d/90-nfct-tuning.rules
  disable_file:
    description: The disable file of M(nfct.tuning.conntrack_settings) (O(nfct.tuning.conntrack_settings#module:state=disabled)).
    type: path
    default: /etc/modprobe.d/nfct-tuning-disable.conf
  nftables_file:
    description: Our persisted nft file (M(nfct.tuning.conntrack_notrack)'s option; default per O(persist_platform)).
    type: path
  nftables_conf:
    description: The system ruleset that includes our nft file (default per O(persist_platform)).
    type: path
  iptables_rules_v4:
    description: The IPv4 rules file (default per O(persist_platform)).
    type: path
  iptables_rules_v6:
    description: The IPv6 rules file (default per O(persist_platform)).
    type: path
  persist_platform:
    description: Which family's NOTRACK persistence layout to use; V(auto) reads C(/etc/os-release), as M(nfct.tuning.conntrack_notrack) does.
    type: str
    choices: [auto, debian, redhat]
    default: auto
  metrics:
    description:
      - Include what M(nfct.tuning.conntrack_metrics) installs (the launcher and its copy of the collection's
        module_utils under C(/usr/local/lib/nfct-tuning), C(/etc/nfct-tuning/metrics.json), the service and timer in
        C(/etc/systemd/system), the timer enabled and active). The role installs or removes them with
        C(conntrack_metrics), so the rollout keeps it on. The metrics output file and the history are data, not
        included.
    type: bool
    default: true
  services:
    description:
      - Include whether the loading services (C(nftables), C(netfilter-persistent) or C(iptables) / C(ip6tables)) and
        the metrics timer are enabled (and the timer active), through C(systemctl). Without C(systemctl) on the host
        there is nothing to record.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for another nfct.tuning run on the same host (the flock every module that writes holds), an
        integer 0-86400.
    type: raw
    default: 300
  window:
    description:
      - With O(state=saved), first count the table's drops over a window of this many seconds (0-86400), before the
        snapshot is taken and before the lock is held, and return it as RV(baseline) - the sample
        M(nfct.tuning.conntrack_rollout_gate) O(nfct.tuning.conntrack_rollout_gate#module:phase=baseline) returns, for the gate after the change to compare
        with (O(nfct.tuning.conntrack_rollout_gate#module:baseline)). Unset - no baseline. The rollout gives its soak, and
        the baseline, the snapshot and the facts are one module run per host.
    type: raw
  gather_facts:
    description:
      - With O(state=saved), also return the host's facts, read after the snapshot, as C(ansible_facts.conntrack) -
        what M(nfct.tuning.conntrack_facts) returns with its default options and O(history_path) - so that the step
        that applies the change needs no second module run to read them.
    type: bool
    default: false
  history_path:
    description: With O(gather_facts=true), the host's history file (M(nfct.tuning.conntrack_facts)'s option).
    type: path
    default: /var/lib/nfct-tuning/history.json
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
  - nfct.tuning.attributes.facts
attributes:
  check_mode:
    support: full
    details:
      - V(saved) reads the host and reports what it would save; it writes nothing, not even the folder.
      - V(restored) reports what would change (and the diff); it writes nothing.
  diff_mode:
    support: full
    details:
      - With V(restored), each file before and after, the runtime values and our objects in each ruleset.
  facts:
    support: full
    details:
      - With O(gather_facts=true), C(ansible_facts.conntrack).
requirements:
  - Python 3.7 or later on the host (standard library only)
  - Root (the files are under C(/etc) and C(/usr/local/lib), the rulesets need CAP_NET_ADMIN)
  - C(nft), C(iptables-save) / C(iptables-restore) (each flavour and family installed), C(systemctl) - what is not
    installed is not recorded
notes:
  - The snapshot holds the content of the files; its folder is mode 0700 and the file 0600.
  - Not restored - nf_conntrack loaded or not (a difference is reported as a mismatch), values that are read-only
    here (a global key seen from a container is reported as a mismatch when it differs).
seealso:
  - module: nfct.tuning.conntrack_settings
  - module: nfct.tuning.conntrack_notrack
  - module: nfct.tuning.conntrack_metrics
'''

EXAMPLES = r'''
- name: Snapshot the host before the role changes it
  nfct.tuning.conntrack_snapshot:
    state: saved
    id: "{{ rollout_id }}"

- name: Count the drops over 5 minutes, snapshot the host and read its facts, in one module run
  nfct.tuning.conntrack_snapshot:
    state: saved
    id: "{{ rollout_id }}"
    window: 300
    gather_facts: true
  register: before

- name: Put the host back exactly as it was
  nfct.tuning.conntrack_snapshot:
    state: restored
    id: "{{ rollout_id }}"
  diff: true

- name: Forget the snapshot
  nfct.tuning.conntrack_snapshot:
    state: absent
    id: "{{ rollout_id }}"
'''

RETURN = r'''
snapshot:
  description:
    - The snapshot saved, kept or restored from - C(path), C(id), C(taken_at) (UTC), C(files) (path -> sha256, or
      null when absent), C(runtime) (short key -> value), C(hashsize), C(ruleset_sha256) (of our NOTRACK objects).
  type: dict
  returned: with state saved and restored, when the snapshot could be read
restored:
  description:
    - With O(state=restored) - C(files) (paths written or removed), C(runtime) (short key -> value written),
      C(ruleset) (frameworks whose objects of ours were put back), C(services) (systemctl calls).
  type: dict
  returned: with state restored
mismatches:
  description: After a restore, what still differs from the snapshot - C(what), C(expected), C(found).
  type: list
  elements: dict
  returned: when a restore failed
errors:
  description: The steps of a restore that failed (each with the tool's message).
  type: list
  elements: str
  returned: when a restore failed
path:
  description: The snapshot file.
  type: str
  returned: always
baseline:
  description:
    - The window before the change (O(window)) - the sample M(nfct.tuning.conntrack_rollout_gate) O(nfct.tuning.conntrack_rollout_gate#module:phase=baseline)
      returns (C(t0), C(t1), C(window), C(seconds), C(start), C(end), C(delta) per counter, C(reset)); null when the
      counters could not be read (RV(baseline_error) says why; the gate then reports a host without a baseline).
  type: dict
  returned: with state saved and O(window) set
baseline_error:
  description: Why the counters of the window could not be read.
  type: str
  returned: when the baseline could not be taken
ansible_facts:
  description: The conntrack facts, with O(gather_facts=true).
  type: dict
  returned: with state saved and O(gather_facts=true)
  contains:
    conntrack:
      description: What M(nfct.tuning.conntrack_facts) returns (its default options, O(history_path)).
      type: dict
      returned: with state saved and O(gather_facts=true)
'''

import os
import posixpath
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, lock as _lock, paths as _paths
from ansible_collections.nfct.tuning.plugins.module_utils.host import rulesets as _rulesets
from ansible_collections.nfct.tuning.plugins.module_utils.host.io import HostIO
from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import gate as _gate, sample as _sample, \
    snapshot as _snap
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs


def build_module():
    spec = dict(
        state=dict(type='str', required=True, choices=['saved', 'restored', 'absent']),
        id=dict(type='str', required=True),
        directory=dict(type='path', default=_snap.DEFAULT_DIR),
        overwrite=dict(type='bool', default=False),
        nftables_file=dict(type='path'),
        nftables_conf=dict(type='path'),
        iptables_rules_v4=dict(type='path'),
        iptables_rules_v6=dict(type='path'),
        persist_platform=dict(type='str', default='auto', choices=['auto', 'debian', 'redhat']),
        metrics=dict(type='bool', default=True),
        services=dict(type='bool', default=True),
        lock_timeout=dict(type='raw', default=300),
        window=dict(type='raw'),
        gather_facts=dict(type='bool', default=False),
        history_path=dict(type='path', default=_history.PATH),
    )
    spec.update((o, dict(_settings.LAYER_SPEC[o])) for o in _snap.SETTINGS_FILES)
    module_class = _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_snapshot')
    return module_class(argument_spec=spec, supports_check_mode=True)


def validate(p):
    """Everything wrong with the options, before any I/O -> [messages naming the option]."""
    errors = []
    if not _snap.ID_PATTERN.match(p['id'] or ''):
        errors.append('id: expected 1 to 64 characters out of A-Z a-z 0-9 . _ -, got %r' % p['id'])
    d = p['directory']
    if not d or not d.startswith('/') or posixpath.normpath(d) != d or '//' in d or d == '/':
        errors.append('directory: expected an absolute, normal path of a folder (no "..", no trailing "/"), got %r' % d)
    errors += _paths.check_paths(p, _snap.SETTINGS_FILES + _snap.NOTRACK_FILES)
    try:
        p['lock_timeout'] = _inputs.number(p['lock_timeout'], 'lock_timeout', 0, 86400, True, 'seconds')
    except _inputs.ProfileError as e:
        errors.append(str(e))
    if p['window'] is not None:
        p['window'], error = _gate.validate_seconds(p['window'], 'window')
        errors += [error] if error else []
    return errors


def run(module, io=None, probes=None, sleep=time.sleep):
    """io: HostIO (tests give one with a root folder for the files and fake commands); probes and
    sleep: facts/gather.py's probes and the wait of the window (tests give fakes)."""
    io = io or HostIO(module)
    p = module.params
    errors = validate(p)
    if errors:
        module.fail_json(msg='; '.join(errors), changed=False)
    path = '%s/%s.json' % (p['directory'], p['id'])
    before = baseline(io, p, probes, sleep) if p['state'] == 'saved' else {}
    try:
        with _lock.HostLock(p['lock_timeout'], shared=module.check_mode, root=io.root, what='conntrack_snapshot'):
            result = STATES[p['state']](module, io, p, path)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), changed=False, path=path, **before)
    result.update(before)
    if p['state'] == 'saved' and p['gather_facts']:
        result['ansible_facts'] = {'conntrack': facts(module, io, probes)}
    module.exit_json(**result)


def baseline(io, p, probes, sleep):
    """The window before the change (option window), read before the lock is held: {} without one,
    {'baseline': sample} or {'baseline': None, 'baseline_error': why}."""
    if p['window'] is None:
        return {}
    try:
        return {'baseline': _sample.take(io.root, probes, p['window'], sleep)}
    except (IOError, OSError, ValueError) as e:
        return {'baseline': None, 'baseline_error': 'the counters could not be read: %s' % e}


def facts(module, io, probes):
    """ansible_facts.conntrack as conntrack_facts returns it with its default options."""
    from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host
    try:
        return _users_host.facts(module, io, probes, history_path=module.params['history_path'] or None)
    except (IOError, OSError) as e:
        module.fail_json(msg='reading conntrack state failed: %s' % e)


def read_host(module, io, p, path):
    try:
        return _snap.read_host(module, io, p)
    except (_rulesets.HostError, ValueError) as e:
        module.fail_json(msg='reading the host failed: %s' % e, changed=False, path=path)


def saved(module, io, p, path):
    """Take the snapshot, or keep the one already there (unless overwrite)."""
    full = io.root + path
    if os.path.lexists(full) and not p['overwrite']:
        try:
            doc = _snap.parse(_snap.load(full, path), p['id'], path)
        except _snap.SnapshotError as e:
            module.fail_json(msg='%s (set overwrite: true to replace it)' % e, changed=False, path=path)
        return dict(changed=False, path=path, snapshot=_snap.summary(doc, path),
                    msg='kept the snapshot taken at %s (overwrite: false)' % doc['taken_at'])
    state, _live = read_host(module, io, p, path)
    doc = _snap.document(state, p['id'], _snap.now_utc())
    if not module.check_mode:
        try:
            _snap.save(module, full, doc)
        except (IOError, OSError) as e:
            module.fail_json(msg='writing the snapshot %s failed: %s' % (path, e), changed=False, path=path)
    return dict(changed=True, path=path, snapshot=_snap.summary(doc, path))


def restored(module, io, p, path):
    """Put the host back as the snapshot says, read it again and compare."""
    try:
        doc = _snap.parse(_snap.load(io.root + path, path), p['id'], path)
    except _snap.SnapshotError as e:
        module.fail_json(msg='restore failed: %s' % e, changed=False, path=path)
    now, live = read_host(module, io, p, path)
    plan = _snap.plan_restore(doc, now)
    rulesets = [m['what'] for m in _snap.compare_ruleset(doc['ruleset'], now['ruleset'])]
    result = dict(path=path, snapshot=_snap.summary(doc, path),
                  restored={'files': sorted(plan['files']), 'ruleset': rulesets,
                            'runtime': dict((w['key'], w['value']) for w in plan['runtime']),
                            'services': [' '.join(c) for c in plan['units_before'] + plan['units_after']]})
    result['changed'] = bool(plan['runtime'] or plan['files'] or plan['mkdirs'] or plan['rmdirs'] or rulesets
                             or plan['units_before'] or plan['units_after'])
    if module._diff:
        result['diff'] = _snap.diff_of(doc, now, plan)
    if module.check_mode:
        return result

    # ------------------------------------------------------------ past the one gate
    changed_rulesets, errors = _snap.apply_ruleset(io, doc['ruleset'], live)
    errors += _snap.apply_units(io, plan['units_before'])
    errors += _snap.apply_runtime(io.root, plan['runtime'])
    errors += _snap.apply_files(module, io.root, plan)
    errors += _snap.apply_units(io, [['daemon-reload']] if plan['reload'] else [])
    errors += _snap.apply_units(io, plan['units_after'])
    result['restored']['ruleset'] = changed_rulesets
    again, _live = read_host(module, io, p, path)
    mismatches = _snap.compare(doc, again)
    if errors or mismatches:
        module.fail_json(msg='restore from %s failed: %s' % (path, '; '.join(errors + [words(m) for m in mismatches])),
                         mismatches=mismatches, errors=errors, **result)
    return result


def words(m):
    """A mismatch in the failure message (structures, such as our objects in a ruleset, by name only)."""
    if all(isinstance(v, (str, int, bool, type(None))) for v in (m['expected'], m['found'])):
        return '%s: expected %s, found %s' % (m['what'], m['expected'], m['found'])
    return '%s differs (see mismatches)' % m['what']


def absent(module, io, p, path):
    full = io.root + path
    exists = os.path.lexists(full)
    if exists and not module.check_mode:
        try:
            _files.remove(full)
        except OSError as e:
            module.fail_json(msg='removing the snapshot %s failed: %s' % (path, e), changed=False, path=path)
    return dict(changed=exists, path=path)


STATES = {'saved': saved, 'restored': restored, 'absent': absent}


def main():
    run(build_module())


if __name__ == '__main__':
    main()
