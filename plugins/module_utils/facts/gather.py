# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather conntrack facts from a host's /proc, /sys and /etc.

All file access goes through a `root` prefix ('' on a real host) so unit tests
run the same code on fixture trees captured from real kernels and containers.
Anything that needs the live kernel beyond files (ctnetlink, euid) is passed in
through `probes` so tests can replace it.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import platform
import struct
import time

from ansible_collections.nfct.tuning.plugins.module_utils.history import store as _history
from ansible_collections.nfct.tuning.plugins.module_utils.host import persist as _persist, proc as _proc, state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel

# Object size used when /proc/slabinfo is unreadable (non-root) or has no nf_conntrack
# cache (_kernel.FALLBACK_OBJECT_SIZE explains the number).
FALLBACK_OBJECT_SIZE = _kernel.FALLBACK_OBJECT_SIZE

POINTER_SIZES = {
    'x86_64': 8, 'amd64': 8, 'aarch64': 8, 'arm64': 8, 'ppc64le': 8, 'ppc64': 8,
    's390x': 8, 'riscv64': 8, 'mips64': 8, 'loongarch64': 8, 'sparc64': 8,
    'i386': 4, 'i486': 4, 'i586': 4, 'i686': 4, 'armv7l': 4, 'armv6l': 4, 'arm': 4, 'mips': 4,
}


METRICS_TIMER = '/etc/systemd/system/nfct-conntrack-metrics.timer'
# kube-proxy's configuration when no kube-proxy process names one (--config): kubeadm's path (the
# ConfigMap as its DaemonSet mounts it) and the usual one of kube-proxy run as a systemd service
KUBE_PROXY_CONFIGS = ('/var/lib/kube-proxy/config.conf', '/var/lib/kube-proxy/kube-proxy-config.yaml',
                      '/etc/kubernetes/kube-proxy-config.yaml')


def _read(root, path):
    try:
        with open(root + path, 'r') as f:
            return f.read()
    except (IOError, OSError, ValueError):  # ValueError: not text (a process name in another encoding)
        return None


def _exists(root, path):
    return os.path.exists(root + path)


def _ro_mount(root, mountpoint):
    """True when mountpoint (or its closest parent mount) is mounted read-only."""
    text = _read(root, '/proc/self/mounts') or ''
    best = None
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        mp = f[1]
        if mountpoint == mp or mountpoint.startswith(mp.rstrip('/') + '/') or mp == '/':
            if best is None or len(mp) >= len(best[0]):
                best = (mp, 'ro' in f[3].split(','))
    return bool(best and best[1])


class Probes(object):
    """Live-kernel hooks; tests substitute their own."""

    def euid(self):
        return os.geteuid()

    def uname(self):
        u = platform.uname()
        return u[2], u[4]

    def cpu_count(self):
        return os.cpu_count() or 1

    def page_size(self):
        try:
            return os.sysconf('SC_PAGE_SIZE')
        except (ValueError, OSError, AttributeError):
            return 4096

    def netlink_stats(self):
        from ansible_collections.nfct.tuning.plugins.module_utils.facts import netlink as _netlink
        return _netlink.ctnetlink_stats()

    def netlink_summary(self, summarize):
        """summarize(iter_entries()), restarted when the kernel interrupts the dump midway."""
        from ansible_collections.nfct.tuning.plugins.module_utils.facts import netlink as _netlink
        return _netlink.retry_dump(summarize)

    def netns_inode(self, which):
        try:
            return os.stat('/proc/%s/ns/net' % which).st_ino
        except (IOError, OSError):
            return None

    def run_conntrack_stats(self):
        """Last resort for counters: `conntrack -S` (conntrack-tools)."""
        import subprocess
        try:
            out = subprocess.check_output(['conntrack', '-S'], stderr=subprocess.STDOUT,
                                          env=dict(os.environ, LANG='C', LC_ALL='C'))
        except (OSError, subprocess.CalledProcessError):
            return None
        return out.decode('utf-8', 'replace')


def parse_conntrack_S(text):
    """Sum `conntrack -S` output ('cpu=0 found=0 invalid=3 ...' per CPU)."""
    sums = dict((c, 0) for c in _proc.STAT_COUNTERS)
    alias = {'clash_resolve': 'clash_resolve', 'chaintoolong': 'chaintoolong', 'error': 'icmp_error'}
    rows = 0
    for line in (text or '').splitlines():
        if not line.startswith('cpu='):
            continue
        rows += 1
        for tok in line.split():
            if '=' not in tok:
                continue
            k, v = tok.split('=', 1)
            k = alias.get(k, k)
            if k in sums and v.isdigit():
                sums[k] += int(v)
    if not rows:
        return None
    out = {'entries': None, 'cpus': rows}
    out.update(sums)
    return out


def _interfaces(root):
    """Network interface names of this network namespace (/sys/class/net), or None when unknown."""
    try:
        return sorted(os.listdir(root + '/sys/class/net'))
    except (IOError, OSError):
        return None


def module_state(root, release):
    """Built in, loadable module (loaded or not), or absent.

    /sys/module/nf_conntrack/initstate exists only for loaded loadable modules;
    built-in code has /sys/module/nf_conntrack (parameters) but no initstate.
    """
    sysmod = '/sys/module/nf_conntrack'
    builtin_list = _read(root, '/lib/modules/%s/modules.builtin' % release) or ''
    in_builtin = any(l.strip().endswith('/nf_conntrack.ko') for l in builtin_list.splitlines())
    if _exists(root, sysmod):
        if _exists(root, sysmod + '/initstate'):
            return {'type': 'module', 'loaded': True, 'evidence': sysmod + '/initstate exists'}
        return {'type': 'builtin', 'loaded': True,
                'evidence': sysmod + ' exists without initstate' + (' (listed in modules.builtin)' if in_builtin else '')}
    if in_builtin:
        return {'type': 'builtin', 'loaded': True, 'evidence': 'listed in modules.builtin'}
    dep = _read(root, '/lib/modules/%s/modules.dep' % release) or ''
    for line in dep.splitlines():
        name = line.split(':', 1)[0]
        if os.path.basename(name).split('.ko')[0] == 'nf_conntrack':
            return {'type': 'module', 'loaded': False, 'evidence': 'in modules.dep, not loaded'}
    return {'type': 'absent', 'loaded': False,
            'evidence': 'no /sys/module/nf_conntrack and not in modules.builtin or modules.dep'}


def netns_state(root, probes):
    """Is this the initial network namespace?

    Compare our netns with PID 1's when both can be seen and differ; otherwise use
    the kernel's own tell: nf_conntrack_max is 0444 outside the initial netns
    (since 5.13, backported to 5.4.120).
    """
    mine, init = probes.netns_inode('self'), probes.netns_inode('1')
    if mine is not None and init is not None and mine != init:
        return {'initial': False, 'evidence': 'netns differs from PID 1'}
    try:
        mode = os.stat(_keys.proc_path('max', root)).st_mode
    except (IOError, OSError):
        return {'initial': None, 'evidence': 'no conntrack sysctls to inspect'}
    if mode & 0o222:
        return {'initial': True, 'evidence': 'nf_conntrack_max is writable-mode (0644)'}
    return {'initial': False, 'evidence': 'nf_conntrack_max is mode 0444 (non-initial netns)'}


def read_sysctls(root):
    """Every net.netfilter.nf_conntrack_* value readable here, as {short: int or str}."""
    out = {}
    modes = {}
    d = root + _keys.PROC_DIR
    try:
        names = sorted(os.listdir(d))
    except (IOError, OSError):
        return out, modes
    for name in names:
        if not name.startswith('nf_conntrack_'):
            continue
        short = name[len('nf_conntrack_'):]
        raw = _read(root, '%s/%s' % (_keys.PROC_DIR, name))
        if raw is None:
            continue
        raw = raw.strip()
        out[short] = int(raw) if raw.lstrip('-').isdigit() else raw
        try:
            modes[short] = os.stat('%s/%s' % (d, name)).st_mode & 0o777
        except (IOError, OSError):
            pass
    return out, modes


def writability(sysctls, modes, netns, euid, proc_sys_ro, sys_ro, module):
    """Which keys can be written from here, and why not for the others."""
    writable = []
    readonly = {}
    for short in sorted(sysctls):
        if short not in _keys.KEYS:
            continue
        kind, scope = _keys.KEYS[short]
        mode = modes.get(short, 0o644)
        if kind == 'readonly':
            readonly[short] = 'maintained by the kernel'
        elif not mode & 0o222:
            if scope == 'global' and netns.get('initial') is False:
                readonly[short] = 'global key: read-only (0444) outside the initial network namespace'
            else:
                readonly[short] = 'mode %04o on this kernel' % mode
        elif euid != 0:
            readonly[short] = 'needs root (running as uid %d)' % euid
        elif proc_sys_ro:
            readonly[short] = '/proc/sys is mounted read-only (container without unmask=/proc/sys)'
        else:
            writable.append(short)
    # hashsize module parameter, the other way to resize the table
    hs = {'writable': False}
    if module.get('type') in ('builtin', 'module') and module.get('loaded'):
        if netns.get('initial') is False:
            hs['reason'] = 'refused outside the initial network namespace'
        elif euid != 0:
            hs['reason'] = 'needs root'
        elif sys_ro:
            hs['reason'] = '/sys is mounted read-only'
        else:
            hs = {'writable': True}
    else:
        hs['reason'] = 'nf_conntrack is not loaded'
    return writable, readonly, hs


def gather(root='', probes=None, breakdown=False, top=10, stats_source='auto', breakdown_source='auto',
           history_path=None):
    """Collect the facts dict returned as ansible_facts.conntrack. history_path: also the host's
    history (history()), as facts['history'] and facts['history_warning']."""
    probes = probes or Probes()
    facts = machine_facts(root, probes)
    release, rel = facts['kernel']['release'], _proc.parse_release(facts['kernel']['release'])
    pointer, ram, euid = facts['kernel']['pointer_size'], facts['ram_bytes'], facts['euid']
    module = module_state(root, release)
    facts['module'] = module
    sysctls, modes = read_sysctls(root)
    available = 'max' in sysctls
    facts['available'] = available
    netns = netns_state(root, probes) if available else {'initial': None, 'evidence': 'conntrack not available'}
    facts['netns'] = netns
    proc_sys_ro = _ro_mount(root, '/proc/sys')
    sys_ro = _ro_mount(root, '/sys/module')
    facts['sysctls'] = sysctls
    facts['timeouts'] = dict((k, v) for k, v in sysctls.items() if 'timeout' in k)
    writable, readonly, hs = writability(sysctls, modes, netns, euid, proc_sys_ro, sys_ro, module)
    facts['writable'] = writable
    facts['readonly'] = readonly
    hashsize_raw = _read(root, _kernel.HASHSIZE_PATH)
    facts['hashsize'] = {'value': int(hashsize_raw) if hashsize_raw and hashsize_raw.strip().isdigit() else None}
    facts['hashsize'].update(hs)
    count = sysctls.get('count')
    cmax = sysctls.get('max')
    buckets = sysctls.get('buckets')
    facts['count'] = count
    facts['max'] = cmax
    facts['buckets'] = buckets
    facts['expect_max'] = sysctls.get('expect_max')
    facts['usage_ratio'] = round(float(count) / cmax, 6) if available and cmax else None
    facts['load_factor'] = round(float(count) / buckets, 6) if available and buckets else None

    # counters
    facts['stats'] = _stats(root, probes, available, stats_source)

    facts['memory'] = memory(root, sysctls, facts['kernel']['page_size'], pointer, available)
    facts['persisted'] = persisted(root)
    # an explicit hash size at load time: modprobe.d options (modules only) or the command line
    explicit = ((facts['persisted']['modprobe']['hashsize'] if module['type'] == 'module' else None)
                or facts['persisted']['cmdline']['hashsize'])
    facts['kernel_default'] = _kernel.kernel_default(ram, pointer, rel, facts['kernel']['page_size'],
                                                     explicit) if ram else None
    # conntrack_metrics installed here (the role removes it when conntrack_metrics is false)
    facts['metrics_installed'] = _exists(root, METRICS_TIMER)
    facts['kube_proxy'] = kube_proxy(root)
    if breakdown:
        facts['breakdown'] = _breakdown(root, probes, available, top, breakdown_source)
    if history_path:
        facts['history'], facts['history_warning'] = history(root, history_path)
    return facts


def history(root, path):
    """(the host's history compacted as the facts carry it (history/store.py compact()), or None
    when there is no file or no sample; the warning, or None). Read only: a file that is not a
    history of ours is reported, not moved aside (the metrics writer does that when it writes)."""
    try:
        return _history.compact(_history.parse(_state.read_text(root + path))), None
    except (_history.HistoryError, UnicodeDecodeError) as e:
        return None, '%s is not a usable history (%s): no history in the facts' % (path, e)


def machine_facts(root, probes):
    """The machine: kernel (release, version, arch, pointer and page size), RAM, CPUs, our euid,
    the interfaces of this network namespace, this boot."""
    release, machine = probes.uname()
    rel = _proc.parse_release(release)
    meminfo = _read(root, '/proc/meminfo')
    return {
        'kernel': {'release': release, 'version': list(rel) if rel else None, 'arch': machine,
                   'pointer_size': POINTER_SIZES.get(machine, struct.calcsize('P')), 'page_size': probes.page_size()},
        'ram_bytes': _proc.parse_meminfo_total(meminfo) if meminfo else None,
        'cpus': probes.cpu_count(),
        'euid': probes.euid(),
        'interfaces': _interfaces(root),
        'boot': boot(root),
    }


def boot(root):
    """This boot: its id (a new one at every boot: counters of another id mean nothing now), the
    seconds since it, and the time this was read (seconds since the epoch)."""
    boot_id = (_read(root, '/proc/sys/kernel/random/boot_id') or '').strip() or None
    uptime = _proc.parse_uptime(_read(root, '/proc/uptime'))
    return {'id': boot_id, 'uptime': uptime, 'time': round(time.time(), 3)}


def counters(root='', probes=None, stats_source='auto'):
    """The count, max and the kernel's counters now, without the rest of the facts (the second
    sample of the audit's health window): {'count', 'max', 'stats', 'time'}."""
    probes = probes or Probes()
    count = _read(root, '/proc/sys/net/netfilter/nf_conntrack_count')
    cmax = _read(root, '/proc/sys/net/netfilter/nf_conntrack_max')
    available = cmax is not None
    return {'count': int(count) if count and count.strip().isdigit() else None,
            'max': int(cmax) if cmax and cmax.strip().isdigit() else None,
            'stats': _stats(root, probes, available, stats_source), 'time': round(time.time(), 3)}


def _pids_named(root, name):
    try:
        pids = sorted((int(d) for d in os.listdir(root + '/proc') if d.isdigit()))
    except (IOError, OSError):
        return []
    return [pid for pid in pids if (_read(root, '/proc/%d/comm' % pid) or '').strip() == name]


def kube_proxy(root):
    """kube-proxy's conntrack settings as kube-proxy itself reads them here, or None: the file its
    --config names, read through /proc/PID/root so that a kube-proxy in a pod is read in its own
    mount namespace; its flags when it has no --config; with no kube-proxy running, the first of
    KUBE_PROXY_CONFIGS that exists (it applies at its next start).
    {'running', 'pid', 'source', 'conntrack': {camelCase field: value}, 'error' (when unreadable)}."""
    for pid in _pids_named(root, 'kube-proxy'):
        argv = [a for a in (_read(root, '/proc/%d/cmdline' % pid) or '').split('\0') if a]
        path, flags = _persist.kube_proxy_args(argv)
        if path is None:
            return {'running': True, 'pid': pid, 'source': 'kube-proxy (pid %d) command line' % pid, 'conntrack': flags}
        inside = ('/proc/%d/root' % pid) if path.startswith('/') else ('/proc/%d/cwd/' % pid)
        return _kube_proxy_file(root, inside + path, 'kube-proxy (pid %d) --config %s' % (pid, path), pid)
    for path in KUBE_PROXY_CONFIGS:
        if _exists(root, path):
            return _kube_proxy_file(root, path, path, None)
    return None


def _kube_proxy_file(root, path, source, pid):
    out = {'running': pid is not None, 'pid': pid, 'source': source, 'conntrack': {}}
    text = _read(root, path)
    if text is None:
        out['error'] = 'cannot read %s' % path
        return out
    try:
        out['conntrack'] = _persist.parse_kube_proxy_config(text)
    except ValueError as e:
        out['error'] = '%s: %s' % (path, e)
    return out


def memory(root, sysctls, page_size, pointer, available):
    """The table's memory: the slab object (with its share of the slab's pages) plus the
    extension area when this host's settings give every entry one, and the bytes now and at max."""
    slab = _read(root, '/proc/slabinfo')
    cache = _proc.parse_slab_cache(slab) if slab else None
    if cache:
        objsize = _kernel.slab_bytes_per_object(cache['objsize'], cache.get('objperslab'), cache.get('pagesperslab'),
                                                page_size)
        source = 'slabinfo' if objsize == cache['objsize'] else 'slabinfo (%d B object, %d per %d-page slab)' % (
            cache['objsize'], cache['objperslab'], cache['pagesperslab'])
    else:
        objsize = FALLBACK_OBJECT_SIZE
        source = 'fallback (%d B: /proc/slabinfo %s)' % (FALLBACK_OBJECT_SIZE,
                                                         'has no nf_conntrack cache' if slab else 'is not readable')
    ext = _kernel.extension_reasons(sysctls)
    mem = {'object_size': objsize, 'object_size_source': source, 'bucket_size': pointer,
           'extension': ext, 'entry_bytes': _kernel.entry_bytes(objsize, ext)}
    if available:
        count, cmax, buckets = sysctls.get('count'), sysctls.get('max'), sysctls.get('buckets')
        mem['bytes_now'] = _kernel.table_bytes(count or 0, buckets or 0, mem['entry_bytes'], pointer)
        mem['bytes_at_max'] = _kernel.table_bytes(cmax or 0, buckets or 0, mem['entry_bytes'], pointer)
    return mem


def persisted(root):
    """What the next boot reads: the sysctl.d layers in order (host/state.py reads them), modprobe.d,
    modules-load.d and the kernel command line."""
    state = _state.read({}, root)
    sl = _persist.sysctl_layers(state.listing, state.conf)
    cmdline = _read(root, '/proc/cmdline')
    grub = _read(root, '/etc/default/grub')
    return {
        'sysctl_files': sl['files'],
        'sysctl_applied_files': sl['applied_files'],
        'at_boot': sl['effective'],
        'modprobe': _persist.modprobe_layers(_persist.read_listing(_persist.MODPROBE_DIRS, root)),
        'modules_load': _persist.modules_load_layers(_persist.read_listing(_persist.MODULES_LOAD_DIRS, root),
                                                     _persist.read_single(_persist.ETC_MODULES, root)),
        'cmdline': {'hashsize': _proc.parse_cmdline_hashsize(cmdline), 'grub_default_hashsize': _proc.parse_grub_default(grub)},
    }


def _stats(root, probes, available, source):
    if not available:
        return {'source': 'none'}
    errors = []
    if source in ('auto', 'procfs'):
        text = _read(root, '/proc/net/stat/nf_conntrack')
        if text:
            try:
                st = _proc.parse_stat_file(text)
                st['source'] = 'procfs'
                return st
            except ValueError as e:
                errors.append('procfs: %s' % e)
        else:
            errors.append('procfs: /proc/net/stat/nf_conntrack does not exist (CONFIG_NF_CONNTRACK_PROCFS off)')
    if source in ('auto', 'ctnetlink'):
        try:
            st = probes.netlink_stats()
            st['source'] = 'ctnetlink'
            if errors:
                st['fallback_reasons'] = errors
            return st
        except Exception as e:  # any netlink failure falls through to the next source
            errors.append('ctnetlink: %s' % e)
    if source in ('auto', 'conntrack-cli'):
        st = parse_conntrack_S(probes.run_conntrack_stats())
        if st:
            st['source'] = 'conntrack-cli'
            st['fallback_reasons'] = errors
            return st
        errors.append('conntrack -S: not available')
    return {'source': 'none', 'errors': errors}


def iter_proc_entries(path):
    """The entry tuples of a /proc/net/nf_conntrack file, line by line (the breakdown
    itself uses _breakdown.proc_breakdown, which gives the same result faster)."""
    with open(path, 'r') as f:
        parse = _proc.parse_conntrack_line
        for line in f:
            ent = parse(line)
            if ent is not None:
                yield ent


def namespace_breakdown(root, pid, top=10):
    """The breakdown of another network namespace's table, read through a process in it
    (/proc/PID/net/nf_conntrack is that process's namespace's view), or None when unreadable."""
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as bd
    path = '%s/proc/%d/net/nf_conntrack' % (root, pid)
    if not os.path.exists(path):
        return None
    try:
        out = bd.proc_breakdown(path, top=top)
    except (IOError, OSError):
        return None
    out['source'] = 'procfs'
    return out


def _breakdown(root, probes, available, top, source):
    from ansible_collections.nfct.tuning.plugins.module_utils.facts import breakdown as bd
    if not available:
        return {'source': 'none'}
    path = root + '/proc/net/nf_conntrack'
    if source in ('auto', 'procfs') and os.path.exists(path):
        # same result as bd.summarize(iter_proc_entries(path)), read by a child process
        # and counted a chunk at a time
        out = bd.proc_breakdown(path, top=top)
        out['source'] = 'procfs'
        return out
    if source in ('auto', 'ctnetlink'):
        try:
            # summarize() takes the dump's fast path (_netlink.dump_breakdown) when the
            # probe hands it the dump object itself
            out = probes.netlink_summary(lambda entries: bd.summarize(entries, top=top))
        except Exception as e:  # NetlinkError and friends: report, do not fail the facts
            return {'source': 'none', 'error': 'ctnetlink dump failed: %s' % e}
        out['source'] = 'ctnetlink'
        return out
    return {'source': 'none', 'error': '/proc/net/nf_conntrack does not exist and ctnetlink was not allowed'}
