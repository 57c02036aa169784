#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_metrics
short_description: Install (or remove) the conntrack metrics writer for node_exporter's textfile collector
version_added: 0.1.0
description:
  - Installs a small standard-library Python program, run by a systemd timer, that writes the conntrack metrics
    (prefix C(nfct_conntrack_)) atomically into node_exporter's textfile directory - the table and its limits, the
    kernel's drop counters, a breakdown per protocol, TCP state and top sources, the tuned value and the drift of
    each key (runtime and at the next boot), the recommended max for the host's profile, the timeouts, whether
    conntrack could be turned off, and the health of the collection. docs/monitoring.md lists every family.
  - The program is this collection's own code - the module writes the module_utils it runs from (the facts,
    breakdown, audit and sizing code, read from its own payload) under C(/usr/local/lib/nfct-tuning), with a
    launcher, C(/etc/nfct-tuning/metrics.json), and C(nfct-conntrack-metrics.service) / C(.timer) in
    C(/etc/systemd/system); then C(systemctl daemon-reload) and C(enable --now) of the timer when needed.
  - The breakdown walks the whole table, so it has a guard - skipped above O(breakdown_max_entries) entries, killed
    after O(breakdown_timeout) seconds; the cheap metrics are written either way with
    C(nfct_conntrack_breakdown_skipped). The unit runs at idle CPU and I/O priority, with O(memory_max_mb).
  - O(state=absent) stops and removes everything it installed, the metrics file included.
author:
  - nfct.tuning contributors (@nfct-tuning)
options:
  state:
    description: V(present) installs (or updates) and starts the timer; V(absent) removes all of it.
    type: str
    choices: [present, absent]
    default: present
  dir:
    description:
      - node_exporter's textfile directory (its C(--collector.textfile.directory)); the file is C(nfct_conntrack.prom).
      - Debian's default. RHEL-family packages of node_exporter differ; see docs/monitoring.md.
    type: path
    default: /var/lib/prometheus/node-exporter
  interval:
    description: Seconds between two runs, an integer 10-86400.
    type: raw
    default: 60
  breakdown:
    description: Count the entries per protocol, TCP state and top sources (a walk of the table, behind the guard).
    type: bool
    default: true
  top:
    description: How many top sources to export, an integer 1-100 (the only label set that follows the traffic).
    type: raw
    default: 10
  breakdown_timeout:
    description: Seconds after which a breakdown is abandoned (the cheap metrics are still written), 1-3600.
    type: raw
    default: 20
  breakdown_max_entries:
    description: Above this many entries the breakdown is skipped without trying, an integer 1000-100000000.
    type: raw
    default: 2000000
  memory_max_mb:
    description: The unit's C(MemoryMax) in MiB, an integer 64-4096.
    type: raw
    default: 256
  desired:
    description:
      - The tuned values (short key names, as M(nfct.tuning.conntrack_settings) O(nfct.tuning.conntrack_settings#module:settings)),
        exported as C(nfct_conntrack_desired) with a drift gauge per key and layer. The role passes what it applied.
    type: dict
    default: {}
  recommend:
    description:
      - Options of the sizing engine for the C(nfct_conntrack_recommended_max) gauge (C(profile), C(profiles),
        C(overrides), C(memory_budget_percent), C(expected_peak), C(only_raise), C(kube_proxy)), as
        M(nfct.tuning.conntrack_recommend).
    type: dict
    default: {profile: default}
  users:
    description: Export C(nfct_conntrack_can_disable) (M(nfct.tuning.conntrack_users)'s verdict) on each run.
    type: bool
    default: true
  files:
    description:
      - The paths of the settings files the drift is computed against, when not the defaults (C(sysctl_file),
        C(modprobe_file), C(modules_load_file), C(udev_rule_file), C(disable_file)).
    type: dict
    default: {}
  usage_threshold:
    description:
      - The share of max at which usage is high, 0.05-1, exported as C(nfct_conntrack_usage_threshold) (the alert rules
        compare C(nfct_conntrack_usage_ratio) with it) and used for C(nfct_conntrack_health{kind="high_usage"}); the
        same value as M(nfct.tuning.conntrack_audit) O(nfct.tuning.conntrack_audit#module:usage_threshold).
    type: raw
    default: 0.75
    version_added: 0.3.0
  history_path:
    description:
      - The host's history of its table (an absolute path), where the writer adds a sample each run - the audit's health
        window and relieve's record. The same path as M(nfct.tuning.conntrack_audit) O(nfct.tuning.conntrack_audit#module:history_path).
    type: path
    default: /var/lib/nfct-tuning/history.json
    version_added: 0.3.0
  lock_timeout:
    description: Seconds to wait for another nfct.tuning run on the same host, 0-86400.
    type: raw
    default: 300
extends_documentation_fragment:
  - nfct.tuning.attributes
  - nfct.tuning.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be installed, changed or removed, and changes nothing.
  diff_mode:
    support: full
    details:
      - The configuration, the units and the launcher before and after (the module_utils are listed by name).
  platform:
    details:
      - Linux hosts with systemd.
requirements:
  - Python 3.7 or later on the host (standard library only), for the module and for the writer it installs
  - Root - the files go to C(/usr/local/lib), C(/etc) and C(/etc/systemd/system)
  - systemd - C(systemctl) (C(daemon-reload), C(enable --now), C(disable --now)) and its timers
  - node_exporter with the textfile collector, reading O(dir) (not installed by this module)
  - At each run of the writer, as for M(nfct.tuning.conntrack_users) with O(users) - C(nft), C(iptables-save),
    C(systemctl), C(nsenter) (what is missing is not read)
notes:
  - The writer needs root (it reads C(/proc/net/nf_conntrack) and the rulesets); the unit runs as root.
  - "Guides (in the collection's C(docs/) folder and in the docsite):
    R(docs/monitoring.md,ansible_collections.nfct.tuning.docsite.monitoring) - The metrics, the alert rules and
    node_exporter."
seealso:
  - module: nfct.tuning.conntrack_facts
'''

EXAMPLES = r'''
- name: Export conntrack metrics every 30 s, top 5 sources
  nfct.tuning.conntrack_metrics:
    interval: 30
    top: 5
    desired: {max: 524288, tcp_timeout_established: 86400}
    recommend: {profile: web}

- name: Remove the metrics writer
  nfct.tuning.conntrack_metrics:
    state: absent
'''

RETURN = r'''
files_changed:
  description: Paths written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
systemd:
  description: The systemctl actions taken (or that would be) - C(daemon-reload), C(enable --now ...), C(disable --now ...).
  returned: always
  type: list
  elements: str
output:
  description: The metrics file.
  returned: always
  type: str
  sample: /var/lib/prometheus/node-exporter/nfct_conntrack.prom
summary:
  description: What changed (or would), readable.
  returned: always
  type: list
  elements: str
'''

import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfct.tuning.plugins.module_utils.audit import health as _health
from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, lock as _lock, paths as _paths
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import install as _metrics_install
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import inputs as _inputs
# the writer's whole closure, imported here so that Ansible ships it with this module and
# _metrics_install.sources() finds it loaded
from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as _breakdown, netlink as _netlink
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import writer as _metrics_writer
from ansible_collections.nfct.tuning.plugins.module_utils.users import host as _users_host

SHIPPED = (_metrics_writer, _users_host, _breakdown, _netlink)

NUMBERS = (('interval', 10, 86400, 'seconds'), ('top', 1, 100, None), ('breakdown_timeout', 1, 3600, 'seconds'),
           ('breakdown_max_entries', 1000, 100000000, None), ('memory_max_mb', 64, 4096, 'MiB'),
           ('lock_timeout', 0, 86400, 'seconds'))


def build_module():
    return _inputs.with_option_hints(AnsibleModule, 'nfct.tuning.conntrack_metrics')(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            dir=dict(type='path', default='/var/lib/prometheus/node-exporter'),
            interval=dict(type='raw', default=60),
            breakdown=dict(type='bool', default=True),
            top=dict(type='raw', default=10),
            breakdown_timeout=dict(type='raw', default=20),
            breakdown_max_entries=dict(type='raw', default=2000000),
            memory_max_mb=dict(type='raw', default=256),
            desired=dict(type='dict', default={}),
            recommend=dict(type='dict', default={'profile': 'default'}),
            users=dict(type='bool', default=True),
            files=dict(type='dict', default={}),
            usage_threshold=dict(type='raw', default=0.75),
            history_path=dict(type='path', default='/var/lib/nfct-tuning/history.json'),
            lock_timeout=dict(type='raw', default=300),
        ),
        supports_check_mode=True,
    )


def validate(p):
    errors = []
    for name, lo, hi, unit in NUMBERS:
        try:
            p[name] = _inputs.number(p[name], name, lo, hi, True, unit)
        except _inputs.ProfileError as e:
            errors.append(str(e))
    try:
        p['desired'] = _keys.validate_settings(p['desired'], 'desired')
    except _keys.InvalidSetting as e:
        errors.append(str(e))
    if not str(p['history_path']).startswith('/'):
        errors.append('history_path: %r must be an absolute path' % p['history_path'])
    if not p['dir'].startswith('/') or p['dir'] in ('/', '/etc', '/usr', '/proc', '/sys'):
        errors.append('dir: %r must be an absolute directory of its own (node_exporter\'s textfile directory)'
                      % p['dir'])
    unknown = sorted(set(p['files']) - set(_settings.OWNED))
    if unknown:
        errors.append('files: unknown key(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(_settings.OWNED)))
    errors += _paths.check_paths(p['files'], [o for o in _settings.OWNED if o in p['files']])
    try:
        p['usage_threshold'] = _health.check_threshold(p['usage_threshold'])
    except ValueError as e:
        errors.append(str(e))
    return errors


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def installed_lib_files():
    """Our files under LIB, without Python's __pycache__ (made by the writer's runs)."""
    out = []
    for d, dirs, names in os.walk(_metrics_install.LIB):
        dirs[:] = [x for x in dirs if x != '__pycache__']
        out += [os.path.join(d, n) for n in names]
    return sorted(out)


def temp_files(output_dir=None):
    """Temp files a killed run left next to the unit files and the config (under LIB,
    installed_lib_files() finds them), to remove; with output_dir (state absent, once the writer
    is stopped) also those a writer stopped midway left beside its output. state present leaves
    that folder alone: there a '.nfct-*' file may be the timer's writer at work."""
    folders = [_metrics_install.UNIT_DIR, os.path.dirname(_metrics_install.CONFIG)] + (
        [output_dir] if output_dir else [])
    return dict((path, {'before': read(path), 'after': None}) for path in _files.find_stale(folders))


def unit_state(module):
    systemctl = module.get_bin_path('systemctl')
    if not systemctl or not os.path.isdir('/run/systemd/system'):
        return None, {}
    rc, out, _err = module.run_command([systemctl, 'show', '--property=UnitFileState,ActiveState',
                                        _metrics_install.TIMER], environ_update={'LANG': 'C', 'LC_ALL': 'C'})
    unit = dict(line.split('=', 1) for line in (out or '').splitlines() if '=' in line)
    return systemctl, unit


def run(module):
    p = module.params
    result = dict(changed=False, files_changed=[], systemd=[], summary=[])
    errors = validate(p)
    if errors:
        module.fail_json(msg='; '.join(errors), **result)
    output = os.path.join(p['dir'], 'nfct_conntrack.prom')
    result['output'] = output
    try:
        with _lock.HostLock(p['lock_timeout'], shared=module.check_mode, what='conntrack_metrics'):
            apply(module, p, output, result)
    except _lock.LockTimeout as e:
        module.fail_json(msg=str(e), **result)


def apply(module, p, output, result):
    """Plan the files and the systemd actions, report them, and (not in check mode) carry them out."""
    systemctl, unit = unit_state(module)
    if p['state'] == 'present' and systemctl is None:
        module.fail_json(msg='systemd is not running here: the metrics writer is run by a systemd timer. Run %s '
                             'from cron instead (docs/monitoring.md)' % _metrics_install.LAUNCHER, **result)
    changes, actions = (plan_present if p['state'] == 'present' else plan_absent)(p, output, systemctl, unit)
    code = '%s/%s' % (_metrics_install.LIB, _metrics_install.PACKAGE.replace('.', '/'))
    result['files_changed'] = sorted(changes)
    result['systemd'] = actions
    result['changed'] = bool(changes or actions)
    result['summary'] = summary(p['state'], changes, actions, code, module.check_mode)
    if module._diff:
        result['diff'] = [{'before_header': path, 'after_header': path, 'before': ch['before'] or '',
                           'after': ch['after'] or ''} for path, ch in sorted(changes.items())
                          if not path.startswith(code)]
    if module.check_mode or not result['changed']:
        module.exit_json(**result)

    # ------------------------------------------------------------ past the one gate
    if p['state'] == 'absent':
        remove(module, p, systemctl, changes, actions)
        module.exit_json(**result)
    install(module, p, systemctl, changes, actions, result)
    module.exit_json(**result)


def plan_present(p, output, systemctl, unit):
    """The files to write or remove and the systemd actions for state present."""
    want = _metrics_install.files(p, sys.executable, _metrics_install.sources())
    stale = [f for f in installed_lib_files() if f not in want]
    changes = dict((path, {'before': read(path), 'after': text}) for path, text in want.items() if read(path) != text)
    changes.update((path, {'before': read(path), 'after': None}) for path in stale)
    units_changed = any(path.startswith(_metrics_install.UNIT_DIR) for path in changes)
    changes.update(temp_files())
    actions = (['daemon-reload'] if units_changed else []) + (
        ['enable --now %s' % _metrics_install.TIMER]
        if unit.get('UnitFileState') != 'enabled' or unit.get('ActiveState') != 'active' else [])
    return changes, actions


def plan_absent(p, output, systemctl, unit):
    """Everything of ours to remove, and the systemd actions for state absent."""
    ours = installed_lib_files() + [_metrics_install.CONFIG, output] + [
        '%s/%s' % (_metrics_install.UNIT_DIR, u) for u in (_metrics_install.SERVICE, _metrics_install.TIMER)]
    changes = dict((path, {'before': read(path), 'after': None}) for path in ours if os.path.lexists(path))
    actions = []
    if systemctl and unit.get('UnitFileState') not in (None, '', 'not-found') and unit.get('LoadState') != 'not-found':
        if unit.get('UnitFileState') == 'enabled' or unit.get('ActiveState') == 'active':
            actions.append('disable --now %s' % _metrics_install.TIMER)
    if systemctl and any(path.startswith(_metrics_install.UNIT_DIR) for path in changes):
        actions.append('daemon-reload')
    changes.update(temp_files(os.path.dirname(output)))
    return changes, actions


def summary(state, changes, actions, code, check):
    """One line per file (the module_utils copy counted in one line) and per systemd action."""
    verb = 'would ' if check else ''
    lines = ['%s%s: %s' % (verb, 'remove' if ch['after'] is None else 'write', path)
             for path, ch in sorted(changes.items()) if not path.startswith(code)]
    ours = sum(1 for path in changes if path.startswith(code))
    if ours:
        lines.append('%s%s %d module_utils file(s) under %s'
                     % (verb, 'update' if state == 'present' else 'remove', ours, code))
    lines += ['%ssystemctl %s' % (verb, action) for action in actions]
    return lines or ['in sync: nothing to change']


ENV = {'LANG': 'C', 'LC_ALL': 'C'}


def remove(module, p, systemctl, changes, actions):
    """state absent: stop the timer and the writer it may have started (`systemctl stop` returns
    when the run has ended: a writer still running, at idle priority on a busy host, wrote its
    output again after it was removed), then remove our files and folders, with the temp file such
    a stopped run left."""
    for action in actions[:1] if actions and actions[0].startswith('disable') else []:
        module.run_command([systemctl] + action.split(), environ_update=ENV)
        module.run_command([systemctl, 'stop', _metrics_install.SERVICE], environ_update=ENV)
    for path in sorted(set(changes) | set(temp_files(p['dir']))):
        _files.remove(path)
    shutil.rmtree(_metrics_install.LIB, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(_metrics_install.CONFIG))  # ours, when nothing else is in it
    except OSError:
        pass
    if 'daemon-reload' in actions:
        module.run_command([systemctl, 'daemon-reload'], environ_update=ENV)


def install(module, p, systemctl, changes, actions, result):
    """state present: write the files (each atomically), then the systemd actions."""
    try:
        for path in sorted(changes):
            ch = changes[path]
            if ch['after'] is None:
                _files.remove(path)
                continue
            _files.atomic_write(module, path, ch['after'])
            if path == _metrics_install.LAUNCHER:
                os.chmod(path, 0o755)
        if not os.path.isdir(p['dir']):
            os.makedirs(p['dir'], 0o755)
    except (IOError, OSError) as e:
        module.fail_json(msg='writing the metrics writer failed: %s (files written so far are complete; run again)'
                         % e, **result)
    for action in actions:
        rc, out, err = module.run_command([systemctl] + action.split(), environ_update=ENV)
        if rc != 0:
            module.fail_json(msg='systemctl %s failed: %s' % (action, (err or out).strip()), **result)


def main():
    run(build_module())


if __name__ == '__main__':
    main()
