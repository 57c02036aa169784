# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persisted layers: sysctl.d precedence, modprobe.d options, modules-load.d.

The pure functions take a *listing*: a list of (directory, {file name: info})
pairs in priority order (highest first), where info is a dict with 'content'
(text, or None when unreadable) and 'masked' (True for a symlink to /dev/null
or an empty file, which hides same-named files in lower-priority directories),
and 'real' (the resolved path, to spot the same file reached twice).
read_listing() builds one from a (possibly fake, for tests) root directory.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys

# sysctl.d(5) / systemd-sysctl: directories by priority, then /etc/sysctl.conf which
# procps `sysctl --system` applies last (Debian links it as /etc/sysctl.d/99-sysctl.conf).
SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d',
               '/usr/lib/sysctl.d', '/lib/sysctl.d')
SYSCTL_CONF = '/etc/sysctl.conf'
# modprobe.d(5)
MODPROBE_DIRS = ('/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d',
                 '/usr/lib/modprobe.d', '/lib/modprobe.d')
# modules-load.d(5); Debian also reads /etc/modules.
MODULES_LOAD_DIRS = ('/etc/modules-load.d', '/run/modules-load.d', '/usr/local/lib/modules-load.d',
                     '/usr/lib/modules-load.d', '/lib/modules-load.d')
ETC_MODULES = '/etc/modules'

CONNTRACK_MODULES = ('nf_conntrack',)


def merge_listing(listing, suffix='.conf'):
    """Apply name masking and order files by name, as systemd's conf_files does.

    Returns a list of (path, info) in the order they are applied (later wins).
    A same-named file in a higher-priority directory hides the lower ones; a
    masked file hides them and contributes nothing. The same real file reached
    through two names (a symlink) is applied once, at its first position.
    """
    chosen = {}
    for directory, files in listing:
        for name in files:
            if not name.endswith(suffix) or name in chosen:
                continue
            chosen[name] = (directory.rstrip('/') + '/' + name, files[name])
    out = []
    seen_real = set()
    for name in sorted(chosen):
        path, info = chosen[name]
        if info.get('masked'):
            continue
        real = info.get('real') or path
        if real in seen_real:
            continue
        seen_real.add(real)
        out.append((path, info))
    return out


def parse_sysctl_text(text):
    """Parse sysctl.d syntax; return a list of (key, value, lineno, ignore_errors)."""
    out = []
    for n, raw in enumerate((text or '').splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if '=' not in line:
            continue
        key, value = line.split('=', 1)
        key = key.strip()
        ignore = key.startswith('-')
        if ignore:
            key = key[1:].strip()
        key = key.replace('/', '.')
        out.append((key, value.strip(), n, ignore))
    return out


def sysctl_layers(listing, conf=None):
    """Resolve sysctl.d precedence for conntrack keys.

    listing: see module docstring. conf: info dict for /etc/sysctl.conf (or None).
    Returns {'files': [...], 'effective': {short: {...}}}: files in the order the
    boot applies them, each with the conntrack keys it sets; per key the value
    effective at next boot, the file it comes from and every file that sets it.
    """
    ordered = merge_listing(listing)
    if conf is not None and conf.get('content') is not None:
        real = conf.get('real') or SYSCTL_CONF
        if real not in [(i.get('real') or p) for p, i in ordered]:
            ordered.append((SYSCTL_CONF, conf))
    files = []
    effective = {}
    for order, (path, info) in enumerate(ordered):
        keys = {}
        for key, value, lineno, _ignore in parse_sysctl_text(info.get('content')):
            short = _keys.short_name(key)
            if short is None or not key.replace('/', '.').startswith(_keys.SYSCTL_PREFIX):
                continue
            keys[short] = value
            prev = effective.get(short)
            setters = (prev['set_by'] if prev else []) + [{'file': path, 'value': value, 'line': lineno}]
            effective[short] = {'value': value, 'file': path, 'line': lineno, 'set_by': setters}
        if keys:
            files.append({'path': path, 'order': order, 'keys': keys})
    return {'files': files, 'effective': effective, 'applied_files': [p for p, _i in ordered]}


def parse_modprobe_text(text, module='nf_conntrack'):
    """Return (options lines, other directives) concerning one module from modprobe.d text."""
    options = []
    directives = []
    # join backslash continuations
    joined = []
    buf = ''
    for raw in (text or '').splitlines():
        if raw.rstrip().endswith('\\'):
            buf += raw.rstrip()[:-1] + ' '
            continue
        joined.append(buf + raw)
        buf = ''
    if buf:
        joined.append(buf)
    for n, raw in enumerate(joined, 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[1].replace('-', '_') == module:
            if parts[0] == 'options':
                params = {}
                for p in parts[2:]:
                    if '=' in p:
                        k, v = p.split('=', 1)
                        params[k] = v
                    else:
                        params[p] = ''
                options.append({'line': n, 'text': line, 'params': params})
            elif parts[0] in ('install', 'remove', 'blacklist', 'softdep', 'alias'):
                directives.append({'line': n, 'text': line, 'directive': parts[0]})
    return options, directives


def modprobe_layers(listing, module='nf_conntrack'):
    """Every modprobe.d line about the module, and the effective parameters (last wins)."""
    lines = []
    effective = {}
    blacklisted = False
    for path, info in merge_listing(listing):
        options, directives = parse_modprobe_text(info.get('content'), module)
        for opt in options:
            lines.append({'file': path, 'line': opt['line'], 'text': opt['text'], 'params': opt['params']})
            for k, v in opt['params'].items():
                effective[k] = {'value': v, 'file': path}
        for d in directives:
            lines.append({'file': path, 'line': d['line'], 'text': d['text'], 'directive': d['directive']})
            if d['directive'] == 'blacklist':
                blacklisted = True
    hashsize = None
    if 'hashsize' in effective and effective['hashsize']['value'].isdigit():
        hashsize = int(effective['hashsize']['value'])
    return {'lines': lines, 'params': effective, 'hashsize': hashsize, 'blacklisted': blacklisted}


def parse_modules_load_text(text):
    out = []
    for n, raw in enumerate((text or '').splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        out.append((line.split()[0], n))
    return out


def modules_load_layers(listing, etc_modules=None, modules=CONNTRACK_MODULES):
    """modules-load.d (and Debian's /etc/modules) entries that load conntrack at boot."""
    found = []
    sources = list(merge_listing(listing))
    if etc_modules is not None and etc_modules.get('content') is not None:
        real = etc_modules.get('real') or ETC_MODULES
        if real not in [(i.get('real') or p) for p, i in sources]:
            sources.append((ETC_MODULES, etc_modules))
    for path, info in sources:
        for name, lineno in parse_modules_load_text(info.get('content')):
            if name.replace('-', '_') in modules:
                found.append({'file': path, 'line': lineno, 'module': name})
    return {'entries': found, 'loads_at_boot': bool(found)}


def _file_info(path):
    info = {'real': os.path.realpath(path), 'masked': False, 'content': None}
    try:
        if os.path.islink(path) and os.readlink(path) == '/dev/null':
            info['masked'] = True
            return info
        with open(path, 'r') as f:
            info['content'] = f.read()
        if info['content'] == '' and os.path.getsize(path) == 0:
            # An empty file masks same-named files (systemd conf_files semantics).
            info['masked'] = True
    except (IOError, OSError) as e:
        info['error'] = str(e)
    return info


def read_listing(dirs, root=''):
    """Read the *.conf files of the given directories under root (root '' = the host)."""
    listing = []
    seen_dirs = set()
    for d in dirs:
        full = root + d
        real = os.path.realpath(full)
        if real in seen_dirs or not os.path.isdir(full):
            continue
        seen_dirs.add(real)
        files = {}
        for name in sorted(os.listdir(full)):
            p = os.path.join(full, name)
            if name.endswith('.conf') and (os.path.isfile(p) or os.path.islink(p)):
                info = _file_info(p)
                if root and info['real'].startswith(root):
                    info['real'] = info['real'][len(root):]
                files[name] = info
        listing.append((d, files))
    return listing


def read_single(path, root=''):
    full = root + path
    if not os.path.exists(full):
        return None
    info = _file_info(full)
    if root and info['real'].startswith(root):
        info['real'] = info['real'][len(root):]
    return info


# ---------------------------------------------------------------- kube-proxy's configuration

# kube-proxy's command-line flags for its conntrack settings -> the KubeProxyConfiguration field;
# kube-proxy ignores them when --config names a file ("This parameter is ignored if a config file
# is specified by --config", kube-proxy --help).
KUBE_PROXY_FLAGS = {
    '--conntrack-max-per-core': 'maxPerCore', '--conntrack-min': 'min',
    '--conntrack-tcp-timeout-established': 'tcpEstablishedTimeout',
    '--conntrack-tcp-timeout-close-wait': 'tcpCloseWaitTimeout', '--conntrack-tcp-be-liberal': 'tcpBeLiberal',
    '--conntrack-udp-timeout': 'udpTimeout', '--conntrack-udp-timeout-stream': 'udpStreamTimeout',
}


def kube_proxy_args(argv):
    """kube-proxy's command line -> (the --config path or None, {conntrack field: value} from flags)."""
    config, flags = None, {}
    args = list(argv or [])
    i = 0
    while i < len(args):
        name, sep, value = args[i].partition('=')
        if (name == '--config' or name in KUBE_PROXY_FLAGS) and not sep:
            if name == '--conntrack-tcp-be-liberal':
                value = 'true'   # a boolean flag: --flag or --flag=false
            elif i + 1 < len(args):
                value, i = args[i + 1], i + 1
            else:
                value = None
        if name == '--config':
            config = value
        elif name in KUBE_PROXY_FLAGS and value is not None:
            flags[KUBE_PROXY_FLAGS[name]] = _scalar(value)
        i += 1
    return config, flags


def _scalar(text):
    """A YAML scalar as kube-proxy's config file writes them: null, true/false, integers, strings."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'':
        return text[1:-1]
    if text in ('', '~', 'null', 'Null', 'NULL'):
        return None
    if text in ('true', 'True', 'TRUE', 'false', 'False', 'FALSE'):
        return text.lower() == 'true'
    if re.match(r'^-?[0-9]+$', text):
        return int(text)
    return text


def parse_kube_proxy_config(text):
    """The conntrack: section of a KubeProxyConfiguration file (YAML as kubeadm and kube-proxy write
    it, or JSON) -> {field: scalar}; {} when it has none. Raises ValueError for what it cannot read.
    A small reader of the block form these files use: a top-level `conntrack:` key and its
    `field: value` lines (the host needs no YAML library)."""
    text = text or ''
    if text.lstrip().startswith('{'):
        doc = json.loads(text)
        section = doc.get('conntrack') if isinstance(doc, dict) else None
        if section is not None and not isinstance(section, dict):
            raise ValueError('conntrack: is not a mapping')
        return dict(section or {})
    out, inside, indent = {}, False, None
    for raw in text.splitlines():
        line = re.sub(r'(^|\s)#.*$', '', raw).rstrip()
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            inside = re.match(r'^conntrack:\s*(\{\s*\})?$', line) is not None
            indent = None
            continue
        if not inside:
            continue
        indent = depth if indent is None else indent
        m = re.match(r'^\s*([A-Za-z][A-Za-z0-9]*):(?:\s+(.*))?$', line)
        if depth == indent and not m:
            raise ValueError('cannot read the line %r of the conntrack: section' % raw.strip())
        if depth == indent:
            out[m.group(1)] = _scalar(m.group(2) or '')
    return out
