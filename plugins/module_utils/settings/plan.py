# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan for conntrack_settings: what to write to the running kernel and to every
persisted layer, computed from facts and the current file contents. Pure functions;
the module does the I/O behind one check-mode gate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.host import paths as _paths, persist as _persist
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel

SYSCTL_FILE = '/etc/sysctl.d/90-conntrack.conf'
MODPROBE_FILE = '/etc/modprobe.d/nfct-tuning.conf'
MODULES_LOAD_FILE = '/etc/modules-load.d/nfct-tuning.conf'
UDEV_RULE_FILE = '/etc/udev/rules.d/90-nfct-tuning.rules'
DISABLE_FILE = '/etc/modprobe.d/nfct-tuning-disable.conf'
OWNED = _paths.SETTINGS_FILES
STATES = ('present', 'absent', 'disabled')

# the options that say where and how the desired state lives (conntrack_settings and conntrack_audit)
LAYER_SPEC = dict(
    state=dict(type='str', default='present', choices=list(STATES)),
    runtime=dict(type='bool', default=True),
    persist=dict(type='bool', default=True),
    boot_fix=dict(type='str', default='auto', choices=['auto', 'modules-load', 'udev', 'none']),
    module_layers=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
    sysctl_file=dict(type='path', default=SYSCTL_FILE),
    modprobe_file=dict(type='path', default=MODPROBE_FILE),
    modules_load_file=dict(type='path', default=MODULES_LOAD_FILE),
    udev_rule_file=dict(type='path', default=UDEV_RULE_FILE),
    disable_file=dict(type='path', default=DISABLE_FILE),
)

LAYER_DEFAULTS = dict((k, v.get('default')) for k, v in LAYER_SPEC.items())


HEADER = ('# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
          '# Keys that cannot be written from this host or container are left out.\n')


def render_sysctl(values):
    """The whole 90-conntrack.conf: header, then keys in the stable write order."""
    lines = [HEADER]
    for short in _keys.sort_keys(list(values)):
        lines.append('%s = %d\n' % (_keys.sysctl_name(short), values[short]))
    return ''.join(lines)


def render_modprobe(hashsize):
    return HEADER + 'options nf_conntrack hashsize=%d\n' % hashsize


def render_modules_load():
    return HEADER + '# Load nf_conntrack before systemd-sysctl so net.netfilter.* keys apply at boot.\nnf_conntrack\n'


def render_udev(sysctl_bin):
    return (HEADER + '# Re-apply net.netfilter.* sysctls when nf_conntrack loads after systemd-sysctl (sysctl.d(5)).\n'
            'ACTION=="add", SUBSYSTEM=="module", KERNEL=="nf_conntrack", RUN+="%s --prefix=/net/netfilter"\n'
            % sysctl_bin)


def render_disable():
    """The modprobe.d file of conntrack_state: disabled. `install ... /bin/false` makes every load
    fail, also as a dependency (nf_nat, nft_ct, xt_conntrack) and on the kernel's own requests
    (a ct rule, `conntrack -L`); the blacklist line stops alias-based autoloading. On a built-in
    nf_conntrack modprobe has nothing to load: the file then only records the state."""
    return (HEADER + '# conntrack_state: disabled - nf_conntrack must not load (docs/disable.md). Remove this file, or\n'
            '# run the role with conntrack_state: present, to allow it again.\n'
            'blacklist nf_conntrack\ninstall nf_conntrack /bin/false\n')


def is_disable_text(text):
    """Does a file hold our disable directives?"""
    return bool(text) and 'install nf_conntrack /bin/false' in text


def parse_managed_sysctl(text):
    """Our own file back into {short: int} (non-integer values are kept as strings)."""
    out = {}
    for key, value, _n, _i in _persist.parse_sysctl_text(text):
        short = _keys.short_name(key)
        if short is not None:
            out[short] = int(value) if value.isdigit() else value
    return out


def at_boot(listing, conf, path, new_text):
    """sysctl.d precedence with our file's content replaced by new_text (None = removed)."""
    directory, name = path.rsplit('/', 1)
    replaced = []
    found = False
    for dir_path, files in listing:
        files = dict(files)
        if dir_path.rstrip('/') == directory:
            found = True
            if new_text is None:
                files.pop(name, None)
            else:
                files[name] = {'content': new_text, 'real': path, 'masked': False}
        replaced.append((dir_path, files))
    if not found and new_text is not None:
        replaced.insert(0, (directory, {name: {'content': new_text, 'real': path, 'masked': False}}))
    return _persist.sysctl_layers(replaced, conf)['effective']


def plan(facts, desired, params, state):
    """Compute the whole change, as a pipeline of stages: safety, runtime writes, owned files,
    key report. Each stage can be tested alone.

    facts: conntrack facts of this host (live). desired: {short: int}, validated.
    params: module params (persist, runtime, readonly, force, memory_budget_percent, boot_fix,
    state, paths). state: host/state.py's HostState (our files, the sysctl.d layers, the programs).
    Returns dict with 'errors' (refusals), 'warnings', 'runtime' (ordered list of writes),
    'files' ({path: {'before', 'after'}}), 'keys' (per-key report), 'skipped', 'cmdline_hint',
    'drift'.
    """
    current_files = state.files
    ctx = context(facts, desired, params)
    errors = safety(ctx)
    runtime, skipped, errors2, warnings = runtime_writes(ctx)
    files, new_sysctl, cmdline_hint = owned_files(ctx, skipped, state.tools.systemd_sysctl)
    changes = dict((path, {'before': current_files.get(path), 'after': text})
                   for path, text in files.items() if current_files.get(path) != text)
    keys, warnings2 = key_report(ctx, runtime, skipped, files, new_sysctl, current_files, state.listing, state.conf)
    sysctl_path = params['sysctl_file']
    return {'errors': errors + errors2, 'warnings': warnings + warnings2, 'runtime': runtime, 'files': changes,
            'keys': keys, 'skipped': skipped, 'cmdline_hint': cmdline_hint,
            'drift': drift_report(keys, changes, sysctl_path, ctx['present'] and params.get('persist', True))}


def context(facts, desired, params):
    """What every stage reads: the facts, the desired values and what the kernel will report."""
    kernel = facts.get('kernel') or {}
    page, pointer = kernel.get('page_size') or 4096, kernel.get('pointer_size') or 8
    # kernel rounding: what the kernel will report after writing buckets
    expect = dict(desired)
    if 'buckets' in expect:
        expect['buckets'] = _kernel.round_buckets(expect['buckets'], page, pointer)
    return {'facts': facts, 'desired': desired, 'params': params, 'expect': expect, 'pointer': pointer,
            'sysctls': facts.get('sysctls') or {}, 'writable': set(facts.get('writable') or []),
            'readonly': facts.get('readonly') or {}, 'module_type': (facts.get('module') or {}).get('type'),
            'present': params.get('state', 'present') == 'present', 'hashsize': facts.get('hashsize') or {}}


def safety(ctx):
    """Refusals: max below the live count; a max that grows the table beyond the budget."""
    facts, desired, params = ctx['facts'], ctx['desired'], ctx['params']
    errors = []
    if not (ctx['present'] and 'max' in desired and not params.get('force')):
        return errors
    count = facts.get('count') or 0
    if desired['max'] < count:
        errors.append('max: %d is below the live count %d; lowering it would drop new connections at once '
                      '(set force: true to do it anyway)' % (desired['max'], count))
    ram = facts.get('ram_bytes') or 0
    memory = facts.get('memory') or {}
    objsize = memory.get('entry_bytes') or memory.get('object_size') or _kernel.FALLBACK_OBJECT_SIZE
    budget_pct = params.get('memory_budget_percent')
    buckets = ctx['expect'].get('buckets') or facts.get('buckets') or 0
    need = _kernel.table_bytes(desired['max'], buckets, objsize, ctx['pointer'])
    # only growth is checked: keeping the live or the persisted max is never refused
    try:
        persisted = int((((facts.get('persisted') or {}).get('at_boot') or {}).get('max') or {}).get('value'))
    except (TypeError, ValueError):
        persisted = 0
    grows = desired['max'] > max(ctx['sysctls'].get('max') or 0, persisted)
    if grows and ram and budget_pct and need > ram * budget_pct / 100.0:
        errors.append('max: %d entries need %d MiB (%d B each + bucket heads), more than memory_budget_percent '
                      '%s%% of RAM (%d MiB); raise the budget or set force: true'
                      % (desired['max'], need // 1048576, objsize, budget_pct, int(ram * budget_pct / 100.0) // 1048576))
    return errors


def runtime_writes(ctx):
    """The ordered writes to /proc/sys (or the hashsize parameter), and the keys that cannot be
    written from here (reported, or refused with readonly: fail)."""
    params, desired, expect, sysctls = ctx['params'], ctx['desired'], ctx['expect'], ctx['sysctls']
    runtime, skipped, errors, warnings = [], {}, [], []
    available = ctx['facts'].get('available')
    for short in _keys.sort_keys(list(desired)):
        if not ctx['present'] or not params.get('runtime', True):
            break
        live = sysctls.get(short)
        if not available:
            skipped[short] = 'nf_conntrack is not loaded: runtime not applied (persisted only)'
            continue
        if live is None:
            skipped[short] = 'this kernel has no net.netfilter.nf_conntrack_%s' % short
            continue
        if live == expect[short]:
            continue
        if short in ctx['writable']:
            runtime.append({'key': short, 'path': _keys.proc_path(short), 'before': live, 'value': desired[short],
                            'expect': expect[short]})
        elif short == 'buckets' and ctx['hashsize'].get('writable'):
            runtime.append({'key': short, 'path': _kernel.HASHSIZE_PATH, 'before': live,
                            'value': desired[short], 'expect': expect[short], 'via': 'hashsize'})
        else:
            skipped[short] = ctx['readonly'].get(short, 'not writable from here')
    for short, why in sorted(skipped.items()):
        msg = '%s: not applied at runtime: %s' % (short, why)
        if params.get('readonly') == 'fail' and 'not loaded' not in why:
            errors.append(msg + " (readonly: fail)")
        else:
            warnings.append(msg)
    return runtime, skipped, errors, warnings


def owned_files(ctx, skipped, systemd_sysctl):
    """The content every owned file should have ({path: text, or None to remove it}), the new
    sysctl.d text, and the kernel command line hint for a built-in nf_conntrack. systemd_sysctl:
    the program the udev rule runs (host/state.py finds it on this host's layout)."""
    params, desired, present = ctx['params'], ctx['desired'], ctx['present']
    files = {}
    sysctl_path = params['sysctl_file']
    persist_keys = {}
    for short, value in desired.items():
        # a global key that is read-only here (container) would never apply at this system's boot
        if _keys.KEYS[short][1] == 'global' and ctx['facts'].get('netns', {}).get('initial') is False:
            skipped.setdefault(short, ctx['readonly'].get(short, 'global key outside the initial network namespace'))
            continue
        persist_keys[short] = value
    new_sysctl = None
    if present and params.get('persist', True):
        new_sysctl = render_sysctl(persist_keys) if persist_keys else None
        files[sysctl_path] = new_sysctl
    elif not present:
        files[sysctl_path] = None
    layers = params.get('module_layers', 'auto')
    as_module = layers == 'always' or (layers == 'auto' and ctx['module_type'] == 'module')
    module_paths = (params['modprobe_file'], params['modules_load_file'], params['udev_rule_file'])
    if as_module and present and params.get('persist', True):
        modprobe_path, modules_load_path, udev_path = module_paths
        # the module option applies when the module loads, wherever this runs from
        files[modprobe_path] = render_modprobe(desired['buckets']) if 'buckets' in desired else None
        boot_fix = params.get('boot_fix', 'auto')
        files[modules_load_path] = render_modules_load() if boot_fix in ('auto', 'modules-load') else None
        files[udev_path] = render_udev(systemd_sysctl) \
            if boot_fix == 'udev' else None
    elif (as_module and not present) or layers == 'never' or not present:
        for path in module_paths:
            files[path] = None
    if params.get('disable_file'):
        files[params['disable_file']] = render_disable() if params.get('state') == 'disabled' else None
    cmdline_hint = None
    if present and ctx['module_type'] == 'builtin' and 'buckets' in persist_keys:
        cmdline_hint = 'nf_conntrack.hashsize=%d' % desired['buckets']
    return files, new_sysctl, cmdline_hint


def key_report(ctx, runtime, skipped, files, new_sysctl, current_files, listing, conf):
    """Per key: desired, expected, runtime / persisted / at-boot before and after, the files that
    shadow ours at boot (with a warning each)."""
    params, desired, sysctls, present = ctx['params'], ctx['desired'], ctx['sysctls'], ctx['present']
    sysctl_path = params['sysctl_file']
    warnings = []
    before_boot = _persist.sysctl_layers(listing, conf)['effective']
    after_boot = at_boot(listing, conf, sysctl_path, new_sysctl if sysctl_path in files else current_files.get(sysctl_path))
    ours_before = parse_managed_sysctl(current_files.get(sysctl_path))
    ours_after = parse_managed_sysctl(files.get(sysctl_path, current_files.get(sysctl_path)))
    runtime_after = dict((write['key'], write['expect']) for write in runtime)
    keys = {}
    for short in _keys.sort_keys(list(desired)):
        boot_entry = after_boot.get(short) or {}
        shadow = []
        for setter in boot_entry.get('set_by', []):
            if setter['file'] != sysctl_path and _after(setter['file'], sysctl_path, boot_entry['set_by']):
                shadow.append(setter['file'])
        keys[short] = {
            'key': _keys.sysctl_name(short), 'desired': desired[short], 'expected': ctx['expect'][short],
            'runtime_before': sysctls.get(short), 'runtime_after': runtime_after.get(short, sysctls.get(short)),
            'persisted_before': ours_before.get(short), 'persisted_after': ours_after.get(short),
            'at_boot_before': _int((before_boot.get(short) or {}).get('value')),
            'at_boot_after': _int(boot_entry.get('value')), 'at_boot_file': boot_entry.get('file'),
            'at_boot_file_before': (before_boot.get(short) or {}).get('file'),
            'shadowed_by': shadow,
            'writable': short in ctx['writable'] or (short == 'buckets' and bool(ctx['hashsize'].get('writable'))),
        }
        if short in skipped:
            keys[short]['not_applied'] = skipped[short]
        if shadow and present:
            warnings.append('%s: %s sets it after %s, so at boot it will be %s, not %d'
                            % (short, shadow[-1], sysctl_path, boot_entry.get('value'), desired[short]))
    return keys, warnings


def drift_report(keys, changes, sysctl_path, persist=True):
    """What differs from the desired state, per key and per file, in words an auditor can read.

    Kinds: runtime (live value differs), persisted (our sysctl.d file differs), at_boot (the value
    sysctl.d precedence gives at next boot differs), shadowed (another file overrides ours),
    readonly (cannot be changed from here: reported, not counted as drift).
    """
    out = {}
    drifted = False
    for short, per_key in keys.items():
        kinds = []
        live = per_key['runtime_before']
        if 'not_applied' not in per_key and live is not None and live != per_key['expected']:
            kinds.append('runtime')
        if persist and not (per_key.get('not_applied') and per_key['persisted_after'] is None):
            if per_key['persisted_before'] != per_key['desired']:
                kinds.append('persisted')
            if per_key['at_boot_before'] != per_key['desired']:
                kinds.append('at_boot')
            if per_key['shadowed_by']:
                kinds.append('shadowed')
        entry = {'kinds': kinds, 'desired': per_key['desired'], 'runtime': per_key['runtime_before'],
                 'persisted': per_key['persisted_before'], 'at_boot': per_key['at_boot_before'],
                 'at_boot_file': per_key['at_boot_file_before'], 'shadowed_by': per_key['shadowed_by']}
        if per_key.get('not_applied'):
            entry['readonly'] = per_key['not_applied']
        if kinds:
            drifted = True
        out[short] = entry
    files = sorted(path for path in changes if path != sysctl_path)
    if files:
        drifted = True
    return {'drifted': drifted, 'keys': out, 'files': files}


def _after(path, ours, setters):
    files = [setter['file'] for setter in setters]
    return ours not in files or files.index(path) > files.index(ours)


def _int(value):
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def diff_of(settings_plan):
    """The diff of a plan: every file as it would be written, then the runtime values that change."""
    diff = []
    for path in sorted(settings_plan['files']):
        change = settings_plan['files'][path]
        diff.append({'before_header': path if change['before'] is not None else '/dev/null',
                     'after_header': path if change['after'] is not None else '/dev/null',
                     'before': change['before'] or '', 'after': change['after'] or ''})
    writes = settings_plan['runtime']
    if writes:
        diff.append({'before_header': 'runtime (%s)' % _kernel.PROC_DIR, 'after_header': 'runtime (%s)' % _kernel.PROC_DIR,
                     'before': ''.join('%s = %s\n' % (_keys.sysctl_name(write['key']), write['before']) for write in writes),
                     'after': ''.join('%s = %s\n' % (_keys.sysctl_name(write['key']), write['expect']) for write in writes)})
    return diff
