# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's snapshot before a rollout changes it, and its exact restore (conntrack_snapshot).

What the role may change, and so what a snapshot holds:
- runtime: every /proc/sys/net/netfilter/nf_conntrack_* value readable here (but the count, which
  moves by itself), whether it is writable here, and /sys/module/nf_conntrack/parameters/hashsize;
- files: the bytes, mode and owner (or the absence) of the files of conntrack_settings (sysctl.d,
  modprobe.d hash size, modules-load.d, the udev rule, the disable file), of conntrack_notrack's
  persistence (our nft file, the system ruleset that includes it, the iptables rules files) and of
  conntrack_metrics (the launcher, its copy of module_utils, the configuration, the service and
  timer), and whether their folders existed;
- our NOTRACK objects: the nft table inet nfct_notrack as `nft list table` prints it and the
  companion rules in other tables (with their position), and for each iptables flavour and family
  our raw chains, the jumps to them, the companion chain NFCT-UNTRACKED and its jumps (with their
  positions), and which tables iptables-nft has (it creates them on first use);
- services: whether the loading services (nftables, netfilter-persistent or iptables/ip6tables)
  and the metrics timer are enabled, and whether the timer is active.

A host's state (read_host) and a snapshot document have the same shape; the pure functions below
compare two of them (compare) and compute what puts the host back (plan_restore, nft_script,
ipt_script). Other tools' objects are never touched: the transactions name only ours."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import datetime
import hashlib
import json
import os
import re
import stat

from ansible_collections.nfct.tuning.plugins.module_utils.host import files as _files, rulesets as _rulesets
from ansible_collections.nfct.tuning.plugins.module_utils.host import runtime as _runtime
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import install as _metrics
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import ipt as _ipt, nft as _nft
from ansible_collections.nfct.tuning.plugins.module_utils.notrack import plan as _notrack_plan, spec as _notrack

SCHEMA = 1
ID_PATTERN = re.compile(r'^[A-Za-z0-9._-]{1,64}$')
DEFAULT_DIR = '/var/lib/nfct-tuning/snapshots'
NETFILTER_DIR = '/proc/sys/net/netfilter'
KEY_PREFIX = 'nf_conntrack_'
VOLATILE_KEYS = ('count',)  # moves by itself: never compared, never restored
HASHSIZE_PATH = _kernel.HASHSIZE_PATH
METRICS_TIMER = _metrics.TIMER
METRICS_FILES = (_metrics.LAUNCHER, _metrics.CONFIG, _metrics.UNIT_DIR + '/' + _metrics.SERVICE,
                 _metrics.UNIT_DIR + '/' + METRICS_TIMER)
METRICS_TREE = _metrics.LIB
SETTINGS_FILES = ('sysctl_file', 'modprobe_file', 'modules_load_file', 'udev_rule_file', 'disable_file')
NOTRACK_FILES = ('nftables_file', 'nftables_conf', 'iptables_rules_v4', 'iptables_rules_v6')


class SnapshotError(Exception):
    """The snapshot is missing or corrupt; the message says which file and what is wrong."""


# --------------------------------------------------------------------------- the document

def file_entry(data, mode, uid=0, gid=0, link=None):
    """A file as the snapshot keeps it: a symlink's target, or its bytes (base64), sha256, mode
    and owner."""
    if link is not None:
        return {'link': link}
    return {'sha256': hashlib.sha256(data).hexdigest(), 'mode': mode, 'uid': uid, 'gid': gid,
            'content': base64.b64encode(data).decode('ascii')}


def entry_key(entry):
    """What two file entries are compared by (the bytes through their sha256)."""
    if entry is None:
        return None
    return dict((k, v) for k, v in entry.items() if k != 'content')


def entry_bytes(entry):
    return base64.b64decode(entry['content'].encode('ascii'))


def describe_entry(entry):
    if entry is None:
        return 'absent'
    if 'link' in entry:
        return 'symlink to %s' % entry['link']
    if 'sha256' not in entry:
        return 'not a regular file'
    return 'sha256 %s, mode %04o, owner %s:%s' % (entry['sha256'], entry['mode'], entry['uid'], entry['gid'])


def digest(doc):
    """sha256 of the document without its own digest (canonical JSON)."""
    body = dict((k, v) for k, v in doc.items() if k != 'sha256')
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(',', ':')).encode()).hexdigest()


def ruleset_digest(ruleset):
    return hashlib.sha256(json.dumps(ruleset, sort_keys=True, separators=(',', ':')).encode()).hexdigest()


def document(state, ident, taken_at):
    """The snapshot of a host state (read_host), sealed with its digest."""
    doc = dict(state, schema=SCHEMA, id=ident, taken_at=taken_at)
    doc['sha256'] = digest(doc)
    return doc


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse(text, ident, path):
    """The snapshot document in text, checked; SnapshotError naming path and what is wrong."""
    def corrupt(why):
        return SnapshotError('snapshot %s is corrupt (%s); it cannot be restored from. Take a new one with '
                             'state: saved and overwrite: true once the host is as it should be' % (path, why))
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise corrupt('not JSON: %s' % e)
    if not isinstance(doc, dict):
        raise corrupt('not a JSON object')
    if doc.get('schema') != SCHEMA:
        raise corrupt('schema %r, expected %d' % (doc.get('schema'), SCHEMA))
    if doc.get('id') != ident:
        raise corrupt('its id is %r, not %r' % (doc.get('id'), ident))
    missing = [k for k in ('files', 'dirs', 'runtime', 'hashsize', 'module_loaded', 'ruleset', 'services', 'sha256')
               if k not in doc]
    if missing:
        raise corrupt('missing %s' % ', '.join(missing))
    if doc['sha256'] != digest(doc):
        raise corrupt('its sha256 does not match its content: changed or truncated after it was written')
    for p, entry in sorted(doc['files'].items()):
        if entry and 'content' in entry:
            try:
                data = entry_bytes(entry)
            except (ValueError, TypeError):
                raise corrupt('%s: its content is not base64' % p)
            if hashlib.sha256(data).hexdigest() != entry.get('sha256'):
                raise corrupt('%s: its content does not match its sha256' % p)
    return doc


def summary(doc, path):
    """What the module returns about a snapshot."""
    return {'path': path, 'id': doc['id'], 'taken_at': doc['taken_at'],
            'files': dict((p, (e or {}).get('sha256', (e or {}).get('link'))) for p, e in sorted(doc['files'].items())),
            'runtime': dict((k, v['value']) for k, v in sorted(doc['runtime'].items())),
            'hashsize': doc['hashsize'], 'ruleset_sha256': ruleset_digest(doc['ruleset'])}


# --------------------------------------------------------------------------- our NOTRACK objects

def nft_ours(model, table_text):
    """Our nft objects: the table's text (None when absent) and the companions [family, table,
    chain, index]."""
    return {'table': table_text if table_text else None,
            'companions': [[c['family'], c['table'], c['chain'], c['index']] for c in _nft.companions(model)]}


def ipt_ours(model, flavour):
    """Our iptables objects in one flavour and family: raw chains and the jumps to them, the
    companion chain and its jumps ([chain, index, line]), the tables (iptables-nft only)."""
    raw = _ipt.raw_state(model, None)
    comp = _ipt.companion_state(model)
    return {'raw': raw['chains'], 'raw_jumps': sorted([c, i, line] for c, i, line in raw['jumps']),
            'companion': comp['chain'],
            'companion_jumps': sorted([c, i, line] for c, jumps in comp['jumps'].items() for i, line in jumps),
            'tables': sorted(model['tables']) if flavour == 'iptables-nft' else None}


def nft_script(saved, model, table_text):
    """The `nft -f` transaction that makes our live objects the saved ones ('' when they are)."""
    lines = []
    ours = _notrack.NFT_FAMILY, _notrack.NFT_TABLE
    if saved['table'] != (table_text or None):
        if table_text:
            lines.append('delete table %s %s' % ours)
        if saved['table']:
            lines.append(saved['table'].rstrip('\n'))
    live = _nft.companions(model)
    if [[c['family'], c['table'], c['chain'], c['index']] for c in live] != saved['companions']:
        lines += ['delete rule %s %s %s handle %s' % (c['family'], c['table'], c['chain'], c['handle']) for c in live]
        for family, table, chain, index in sorted(saved['companions'], key=lambda c: (c[:3], c[3])):
            rules = ((model['tables'].get((family, table)) or {}).get('chains') or {}).get(chain, {}).get('rules', [])
            others = [r for r in rules if r.get('comment') != _notrack.COMPANION_COMMENT]
            if index == 0 or not others:
                lines.append(_notrack.companion_nft_statement((family, table, chain)))
            else:
                lines.append('add rule %s %s %s position %s %s' % (family, table, chain,
                                                                   others[min(index, len(others)) - 1]['handle'],
                                                                   _notrack.companion_nft_rule()))
    return '\n'.join(lines) + '\n' if lines else ''


def _ipt_section(table, saved_chains, saved_jumps, live_chains, live_jumps, model):
    """One table's part of the iptables-restore --noflush input: our jumps out, our chains as
    saved, the saved jumps back at their positions."""
    sec = ['*%s' % table]
    sec += ['-D %s' % line.split(' ', 1)[1] for _c, _i, line in live_jumps]
    for name in sorted(set(live_chains) - set(saved_chains)):
        sec += ['-F %s' % name, '-X %s' % name]
    for name in sorted(saved_chains):
        sec.append(':%s - [0:0]' % name)  # creates it, or flushes it
        sec += list(saved_chains[name])
    chains = (model['tables'].get(table) or {}).get('chains') or {}
    length = dict((c, len(chains[c]['rules'])) for c in chains)
    for c, _i, _line in live_jumps:
        length[c] -= 1
    for c, i, line in sorted(saved_jumps):
        pos = min(i + 1, length.get(c, 0) + 1)
        sec.append('-I %s %d %s' % (c, pos, line.split(' ', 2)[2]))
        length[c] = length.get(c, 0) + 1
    return sec + ['COMMIT']


def ipt_script(saved, model, flavour):
    """(iptables-restore --noflush input, [tables to delete whole with nft]) that make our objects
    in one flavour and family the saved ones; ('', []) when they are."""
    live = ipt_ours(model, flavour)
    drop = []
    if saved.get('tables') is not None:
        drop = [t for t in live['tables'] if t not in saved['tables'] and _ipt.only_ours(model, t)]
    out = []
    if (saved['raw'], saved['raw_jumps']) != (live['raw'], live['raw_jumps']) and 'raw' not in drop:
        out += _ipt_section('raw', saved['raw'], saved['raw_jumps'], live['raw'], live['raw_jumps'], model)
    saved_comp = {_notrack.IPT_COMPANION: saved['companion']} if saved['companion'] is not None else {}
    live_comp = {_notrack.IPT_COMPANION: live['companion']} if live['companion'] is not None else {}
    if (saved_comp, saved['companion_jumps']) != (live_comp, live['companion_jumps']) and 'filter' not in drop:
        out += _ipt_section('filter', saved_comp, saved['companion_jumps'], live_comp, live['companion_jumps'], model)
    return ('\n'.join(out) + '\n' if out else ''), drop


# --------------------------------------------------------------------------- comparing and planning

def mismatch(what, expected, found):
    return {'what': what, 'expected': expected, 'found': found}


def compare(saved, now):
    """Everything in which the host (now) differs from the snapshot: [{what, expected, found}]."""
    out = []
    if saved['module_loaded'] != now['module_loaded']:
        out.append(mismatch('nf_conntrack loaded', saved['module_loaded'], now['module_loaded']))
    if saved['hashsize'] != now['hashsize']:
        out.append(mismatch('hashsize', saved['hashsize'], now['hashsize']))
    for short, s in sorted(saved['runtime'].items()):
        n = now['runtime'].get(short)
        if n is None or n['value'] != s['value']:
            out.append(mismatch('runtime %s' % _keys.sysctl_name(short), s['value'], n and n['value']))
    for path in sorted(set(saved['files']) | set(now['files'])):
        s, n = saved['files'].get(path), now['files'].get(path)
        if entry_key(s) != entry_key(n):
            out.append(mismatch('file %s' % path, describe_entry(s), describe_entry(n)))
    for d in sorted(set(saved['dirs']) | set(now['dirs'])):
        s, n = saved['dirs'].get(d), now['dirs'].get(d)
        if s != n:
            out.append(mismatch('directory %s' % d, 'absent' if s is None else 'mode %04o' % s,
                                'absent' if n is None else 'mode %04o' % n))
    out += compare_ruleset(saved['ruleset'], now['ruleset'])
    for unit, s in sorted((saved['services'] or {}).items()):
        n = (now['services'] or {}).get(unit)
        if n != s:
            out.append(mismatch('service %s' % unit, s, n))
    return out


def compare_ruleset(saved, now):
    out = []
    if saved['nft'] is not None and saved['nft'] != now['nft']:
        out.append(mismatch('ruleset nftables (our table %s %s and the companions)' % (
            _notrack.NFT_FAMILY, _notrack.NFT_TABLE), saved['nft'], now['nft']))
    for label in sorted(set(saved['ipt']) | set(now['ipt'])):
        if label in saved['ipt'] and saved['ipt'][label] != now['ipt'].get(label):
            out.append(mismatch('ruleset %s (our chains and jumps)' % label, saved['ipt'][label],
                                now['ipt'].get(label)))
    return out


def runtime_writes(saved, now):
    """The runtime writes that put the saved values back, in order: the hash size first (through
    nf_conntrack_buckets where writable, else the module parameter), then buckets, max,
    expect_max and the rest alphabetically; only values that differ and are writable here."""
    writes = []
    rt, rt_now = saved['runtime'], now['runtime']
    buckets = rt.get('buckets', {}).get('value', saved['hashsize'])
    if saved['hashsize'] is not None and now['hashsize'] is not None and saved['hashsize'] != now['hashsize']:
        via_proc = rt_now.get('buckets', {}).get('writable')
        writes.append({'key': 'buckets', 'path': _keys.proc_path('buckets') if via_proc else HASHSIZE_PATH,
                       'value': saved['hashsize'], 'before': now['hashsize'], 'expect': buckets})
    for short in _keys.sort_keys(list(rt)):
        s, n = rt[short], rt_now.get(short)
        if (n is None or not n['writable'] or s['value'] == n['value'] or not isinstance(s['value'], int)
                or (short == 'buckets' and writes)):
            continue
        writes.append({'key': short, 'path': _keys.proc_path(short), 'value': s['value'], 'before': n['value']})
    return writes


def unit_actions(saved, now):
    """systemctl calls ([args]) before the files change (disable, stop what was not enabled or
    active) and after (enable, start what was)."""
    before, after = [], []
    for unit, s in sorted((saved or {}).items()):
        n = (now or {}).get(unit) or {}
        if n.get('active') == 'active' and s.get('active') not in ('active', None):
            before.append(['stop', unit])
        if n.get('enabled') == 'enabled' and s['enabled'] != 'enabled':
            before.append(['disable', unit])
        if s['enabled'] == 'enabled' and n.get('enabled') != 'enabled':
            after.append(['enable', unit])
        if s.get('active') == 'active' and n.get('active') != 'active':
            after.append(['start', unit])
    return before, after


def plan_restore(saved, now):
    """What puts the host back as saved: {'runtime': writes, 'files': {path: saved entry},
    'mkdirs': {dir: mode}, 'rmdirs': [dir], 'units_before', 'units_after', 'reload'}. The
    rulesets are planned against the live models (nft_script, ipt_script) when applied."""
    files = dict((p, saved['files'].get(p)) for p in sorted(set(saved['files']) | set(now['files']))
                 if entry_key(saved['files'].get(p)) != entry_key(now['files'].get(p)))
    mkdirs = dict((d, m) for d, m in saved['dirs'].items() if m is not None and now['dirs'].get(d) != m)
    rmdirs = sorted((d for d in now['dirs'] if now['dirs'][d] is not None and saved['dirs'].get(d) is None),
                    key=lambda d: (-d.count('/'), d))
    before, after = unit_actions(saved['services'], now['services'])
    reload_units = any(p.startswith(_metrics.UNIT_DIR + '/') for p in files)
    return {'runtime': runtime_writes(saved, now), 'files': files, 'mkdirs': mkdirs, 'rmdirs': rmdirs,
            'units_before': before, 'units_after': after, 'reload': reload_units and bool(saved['services'] is not None)}


def diff_of(saved, now, plan):
    """Ansible diffs of a restore: each file, the runtime values, our objects in each ruleset."""
    def text(entry):
        if entry is None:
            return ''
        if 'link' in entry:
            return 'symlink -> %s\n' % entry['link']
        return entry_bytes(entry).decode('utf-8', 'replace') if 'content' in entry else ''
    out = [{'before_header': p, 'after_header': p, 'before': text(now['files'].get(p)), 'after': text(e)}
           for p, e in sorted(plan['files'].items())]
    if plan['runtime']:
        out.append({'before_header': 'runtime', 'after_header': 'runtime',
                    'before': ''.join('%s = %s\n' % (w['path'], w['before']) for w in plan['runtime']),
                    'after': ''.join('%s = %s\n' % (w['path'], w['value']) for w in plan['runtime'])})
    for m in compare_ruleset(saved['ruleset'], now['ruleset']):
        out.append({'before_header': m['what'], 'after_header': m['what'],
                    'before': json.dumps(m['found'], indent=1, sort_keys=True) + '\n',
                    'after': json.dumps(m['expected'], indent=1, sort_keys=True) + '\n'})
    return out


# --------------------------------------------------------------------------- reading the host

def tracked_paths(params, os_release):
    """The files the role may write, from the module options ({'files', 'tree'}); the NOTRACK
    paths default per platform as conntrack_notrack's do."""
    platform = params.get('persist_platform') or 'auto'
    if platform == 'auto':
        platform = _notrack_plan.platform_of(os_release) or 'debian'
    paths = [params[o] for o in SETTINGS_FILES if params.get(o)]
    paths += sorted(_notrack_plan.persist_paths(params, platform).values())
    if params.get('metrics', True):
        paths += list(METRICS_FILES)
    return {'files': sorted(set(paths)), 'tree': METRICS_TREE if params.get('metrics', True) else None,
            'platform': platform}


def read_entry(full):
    try:
        st = os.lstat(full)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return file_entry(None, None, link=os.readlink(full))
    if not stat.S_ISREG(st.st_mode):
        return {'type': 'other', 'mode': st.st_mode}
    with open(full, 'rb') as f:
        data = f.read()
    return file_entry(data, st.st_mode & 0o7777, st.st_uid, st.st_gid)


def dir_mode(full):
    try:
        st = os.lstat(full)
    except OSError:
        return None
    return st.st_mode & 0o7777 if stat.S_ISDIR(st.st_mode) else None


def read_files(tracked, root):
    """({path: entry or None}, {folder: mode or None}) of the tracked files, every file and
    folder below the tracked tree, and the folders above them."""
    paths = list(tracked['files'])
    dirs = set()
    tree = tracked.get('tree')
    if tree and os.path.isdir(root + tree):
        for d, subdirs, names in os.walk(root + tree):
            rel = d[len(root):]
            dirs.add(rel)
            dirs.update(os.path.join(rel, n) for n in subdirs)
            paths += [os.path.join(rel, n) for n in names]
    for p in paths:
        d = os.path.dirname(p)
        while d not in ('/', ''):
            dirs.add(d)
            d = os.path.dirname(d)
    return (dict((p, read_entry(root + p)) for p in sorted(set(paths))),
            dict((d, dir_mode(root + d)) for d in sorted(dirs)))


def read_runtime(root):
    """({short key: {'value', 'writable'}}, hashsize or None, nf_conntrack loaded)."""
    out = {}
    try:
        names = sorted(os.listdir(root + NETFILTER_DIR))
    except OSError:
        names = []
    for name in names:
        short = name[len(KEY_PREFIX):]
        if not name.startswith(KEY_PREFIX) or short in VOLATILE_KEYS:
            continue
        full = root + NETFILTER_DIR + '/' + name
        value = _runtime.read_value(full)
        if value is None:
            continue
        try:
            writable = bool(os.stat(full).st_mode & 0o200) and os.access(full, os.W_OK)
        except OSError:
            writable = False
        out[short] = {'value': value, 'writable': writable}
    loaded = bool(out) or os.path.isdir(root + '/sys/module/nf_conntrack')
    return out, _runtime.read_value(root + HASHSIZE_PATH), loaded


def read_ruleset(module, io):
    """Our objects in every installed framework: {'nft': nft_ours or None, 'ipt': {'flavour
    family': ipt_ours}}, with the tools and live models the restore applies against."""
    tools = _rulesets.find_tools(io)
    nft_json, ipt = _rulesets.read_rulesets(module, io, tools)
    live = {'tools': tools, 'nft_model': None, 'nft_text': None, 'ipt': {}}
    ruleset = {'nft': None, 'ipt': {}}
    if tools['nftables']:
        model = _nft.parse_ruleset(nft_json)
        text = None
        if (_notrack.NFT_FAMILY, _notrack.NFT_TABLE) in model['tables']:
            rc, out, err = io.cmd([tools['nftables'], 'list', 'table', _notrack.NFT_FAMILY, _notrack.NFT_TABLE])
            if rc != 0:
                raise _rulesets.HostError('nft list table %s %s failed (rc %d): %s' % (
                    _notrack.NFT_FAMILY, _notrack.NFT_TABLE, rc, (err or out).strip()))
            text = out
        live.update(nft_model=model, nft_text=text)
        ruleset['nft'] = nft_ours(model, text)
    for (flavour, family), text in sorted(ipt.items()):
        model = _ipt.parse_save(text)
        live['ipt'][(flavour, family)] = model
        ruleset['ipt']['%s %s' % (flavour, family)] = ipt_ours(model, flavour)
    return ruleset, live


def read_services(io, platform, metrics):
    """{unit: {'enabled': is-enabled's word, 'active' (the metrics timer)}}, or None without systemctl."""
    systemctl = io.which('systemctl')
    if not systemctl:
        return None
    loaders = _notrack_plan.UNITS.get(platform) or _notrack_plan.UNITS['debian']
    units = set(unit for names in loaders.values() for unit in names)
    if metrics:
        units.add(METRICS_TIMER)
    out = {}
    for unit in sorted(units):
        _rc, text, _err = io.cmd([systemctl, 'is-enabled', unit])
        out[unit] = {'enabled': (text or '').strip().split('\n')[0] or 'not-found'}
        if unit == METRICS_TIMER:
            _rc, text, _err = io.cmd([systemctl, 'is-active', unit])
            out[unit]['active'] = (text or '').strip().split('\n')[0] or 'unknown'
    return out


def read_host(module, io, params):
    """The host's state in the snapshot's shape -> (state, live rulesets for a restore)."""
    root = io.root
    tracked = tracked_paths(params, io.read('/etc/os-release'))
    files, dirs = read_files(tracked, root)
    runtime, hashsize, loaded = read_runtime(root)
    ruleset, live = read_ruleset(module, io)
    services = read_services(io, tracked['platform'], params.get('metrics', True)) if params.get('services', True) else None
    return {'files': files, 'dirs': dirs, 'runtime': runtime, 'hashsize': hashsize, 'module_loaded': loaded,
            'ruleset': ruleset, 'services': services}, live


# --------------------------------------------------------------------------- the snapshot file

def load(full, path=None):
    """The snapshot file's text (full: its path below the root; path: as messages name it);
    SnapshotError when it is missing or unreadable."""
    path = path or full
    try:
        with open(full, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        if not os.path.lexists(full):
            raise SnapshotError('snapshot %s is missing: nothing to restore from (was state: saved run with this id '
                                'on this host, and with the same directory?)' % path)
        raise SnapshotError('snapshot %s cannot be read: %s' % (path, e))
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise SnapshotError('snapshot %s is corrupt (not UTF-8 text: %s)' % (path, e))


def save(module, path, doc):
    """Write the document atomically, mode 0600, in a folder of mode 0700."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    os.chmod(directory, 0o700)
    _files.atomic_write(module, path, json.dumps(doc, sort_keys=True, indent=1) + '\n')
    os.chmod(path, 0o600)


# --------------------------------------------------------------------------- restoring

def put_file(module, full, entry):
    """Make full what the entry says: removed, a symlink, or these bytes with this mode and owner."""
    if entry is None:
        if os.path.isdir(full) and not os.path.islink(full):
            raise OSError('%s is a directory' % full)
        _files.remove(full)
        return
    if 'link' in entry:
        tmp = os.path.join(os.path.dirname(full), _files.TEMP_PREFIX + 'link-' + os.path.basename(full))
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(entry['link'], tmp)
        os.rename(tmp, full)
        _files.fsync_dir(os.path.dirname(full))
        return
    if 'content' not in entry:
        raise OSError('%s was not a regular file when saved; it cannot be written back' % full)
    if os.path.islink(full):
        os.unlink(full)
    _files.atomic_write(module, full, entry_bytes(entry))
    st = os.lstat(full)
    if (st.st_uid, st.st_gid) != (entry['uid'], entry['gid']):
        os.lchown(full, entry['uid'], entry['gid'])
    if st.st_mode & 0o7777 != entry['mode']:
        os.chmod(full, entry['mode'])


def apply_files(module, root, plan):
    """Folders, then files, then the folders that did not exist; returns the errors."""
    errors = []
    for d, mode in sorted(plan['mkdirs'].items()):
        try:
            if not os.path.isdir(root + d):
                os.makedirs(root + d, mode)
            os.chmod(root + d, mode)
        except OSError as e:
            errors.append('directory %s: %s' % (d, e))
    for path, entry in sorted(plan['files'].items()):
        try:
            put_file(module, root + path, entry)
        except (IOError, OSError) as e:
            errors.append('file %s: %s' % (path, e))
    for d in plan['rmdirs']:
        try:
            if os.path.isdir(root + d) and not os.listdir(root + d):
                os.rmdir(root + d)
        except OSError as e:
            errors.append('directory %s: %s' % (d, e))
    return errors


def apply_runtime(root, writes):
    """Write each value (hash size first); returns the errors (the read-back compares later)."""
    errors = []
    for w in writes:
        try:
            _runtime.write_value(root + w['path'], w['value'])
        except (IOError, OSError) as e:
            errors.append('runtime %s = %s: %s' % (w['path'], w['value'], e))
    return errors


def apply_ruleset(io, saved, live):
    """Put our objects back in every framework; returns (frameworks changed, errors)."""
    tools, changed, errors = live['tools'], [], []
    if saved['nft'] is not None and tools['nftables'] and live['nft_model'] is not None:
        script = nft_script(saved['nft'], live['nft_model'], live['nft_text'])
        if script:
            rc, out, err = io.cmd([tools['nftables'], '-f', '-'], data=script.encode())
            changed.append('nftables')
            if rc != 0:
                errors.append('nft -f (our table and companions): %s' % (err or out).strip())
    for (flavour, family), model in sorted(live['ipt'].items()):
        label = '%s %s' % (flavour, family)
        if label not in saved['ipt']:
            continue
        script, drop = ipt_script(saved['ipt'][label], model, flavour)
        t = tools[flavour][family]
        if script:
            changed.append(label)
            rc, out, err = io.cmd([t['restore'], '--noflush'], data=script.encode())
            if rc != 0:
                errors.append('%s --noflush: %s' % (t['restore'], (err or out).strip()))
        if drop and tools['nftables']:
            changed.append(label)
            nft_family = 'ip' if family == 'ipv4' else 'ip6'
            text = ''.join('delete table %s %s\n' % (nft_family, table) for table in drop)
            rc, out, err = io.cmd([tools['nftables'], '-f', '-'], data=text.encode())
            if rc != 0:
                errors.append('nft delete table (%s, created for our objects): %s' % (label, (err or out).strip()))
    return sorted(set(changed)), errors


def apply_units(io, calls):
    errors = []
    systemctl = io.which('systemctl') if calls else None
    for args in calls:
        rc, out, err = io.cmd([systemctl] + args)
        if rc != 0:
            errors.append('systemctl %s: %s' % (' '.join(args), (err or out).strip()))
    return errors
