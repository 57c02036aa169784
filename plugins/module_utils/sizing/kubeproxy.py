# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kube-proxy writes to the conntrack sysctls, per release line. Pure data and functions.

Read from kubernetes/kubernetes (cmd/kube-proxy/app/conntrack.go and server*.go up to 1.35,
pkg/proxy/conntrack/sysctls.go from 1.36) and placed in release lines by the CHANGELOG-1.xx
entries of the PRs named below; docs/profiles.md ("kubernetes_node") has the details.

In every line:
  - max = max(maxPerCore x CPUs, min) (getConntrackMax); maxPerCore 0 leaves nf_conntrack_max
    AND the hash size alone (min is then ignored);
  - the hash size is raised to max/4 when it is below (never lowered);
  - tcp_timeout_established (default 24h) and tcp_timeout_close_wait (default 1h) are written
    when configured above 0; from 1.29 also udp_timeout, udp_timeout_stream (when above 0) and
    tcp_be_liberal (when true).
The option takes kube-proxy's own configuration verbatim (its conntrack: section, camelCase, Go
durations such as 24h0m0s), and facts/gather.py reads it from the host where kube-proxy runs.
What changed between lines: whether max is written only when it is lower (raise-only) or
whenever it differs, the cap of the per-CPU product, and the CPU count.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys

CAP_1_36 = 1048576

# kube-proxy's KubeProxyConntrackConfiguration: our option name -> its field (the conntrack: section
# of a KubeProxyConfiguration, camelCase). Defaults are kube-proxy's own
# (pkg/proxy/apis/config/v1alpha1/defaults.go); the last three exist from 1.29 (PR #120354).
CONFIG_FIELDS = {
    'max_per_core': 'maxPerCore',
    'min': 'min',
    'tcp_established_timeout': 'tcpEstablishedTimeout',
    'tcp_close_wait_timeout': 'tcpCloseWaitTimeout',
    'tcp_be_liberal': 'tcpBeLiberal',
    'udp_timeout': 'udpTimeout',
    'udp_stream_timeout': 'udpStreamTimeout',
}
CAMEL = dict((camel, name) for name, camel in CONFIG_FIELDS.items())
DEFAULT_CONFIG = {
    'max_per_core': 32768,
    'min': 131072,
    'tcp_established_timeout': 86400,
    'tcp_close_wait_timeout': 3600,
    'tcp_be_liberal': False,
    'udp_timeout': 0,
    'udp_stream_timeout': 0,
}
DURATIONS = ('tcp_established_timeout', 'tcp_close_wait_timeout', 'udp_timeout', 'udp_stream_timeout')
SINCE_1_29 = ('tcp_be_liberal', 'udp_timeout', 'udp_stream_timeout')
SRC_1_29 = 'PR #120354 "Add support for nf_conntrack_tcp_be_liberal sysctl to kube-proxy" (1.29)'
# what kube-proxy writes for each configured field: sysctl short name (its value: seconds, or 1)
WRITES = (('tcp_established_timeout', 'tcp_timeout_established'), ('tcp_close_wait_timeout', 'tcp_timeout_close_wait'),
          ('udp_timeout', 'udp_timeout'), ('udp_stream_timeout', 'udp_timeout_stream'),
          ('tcp_be_liberal', 'tcp_be_liberal'))
FIELD_OF_KEY = dict((key, name) for name, key in WRITES)
# a KubeProxyConfiguration given whole: its other fields are kube-proxy's business
DOCUMENT_KEYS = ('apiVersion', 'kind')

_SRC = 'kube-proxy getConntrackMax / setIntSysCtl'
# (first minor, last minor or None, max_mode, cap, timeouts_mode, cpu count, source)
# max_mode / timeouts_mode: 'any' = writes whenever the value differs (can lower it),
# 'raise' = writes only when the current value is lower.
LINES = (
    (0, 20, 'any', None, 'any', 'runtime.NumCPU() (the process affinity)',
     '%s, cmd/kube-proxy/app/conntrack.go (val != value); 1.20 and earlier' % _SRC),
    (21, 22, 'any', None, 'any', 'online CPUs of the host (cadvisor, PR #99613)',
     '%s, cmd/kube-proxy/app/conntrack.go (val != value)' % _SRC),
    (23, 28, 'raise', None, 'raise', 'online CPUs of the host (cadvisor)',
     '%s, PR #103174 "Do not attempt to overwrite higher system (sysctl) values" (1.23)' % _SRC),
    (29, 35, 'any', None, 'any', 'online CPUs of the host (cadvisor)',
     '%s, PR #120448 reverts #103174 (1.29): lower values are written too' % _SRC),
    (36, 37, 'any', CAP_1_36, 'any', 'online CPUs of the host',
     'pkg/proxy/conntrack/sysctls.go, PR #137002 caps maxPerCore x CPUs at 1048576 (1.36)'),
    (38, None, 'raise', CAP_1_36, 'any', 'online CPUs of the host (cpuset.NumCPU)',
     'pkg/proxy/conntrack/sysctls.go, PR #142035 writes nf_conntrack_max only when it is lower (1.38)'),
)
NEWEST_KNOWN = 38


class KubeProxyError(ValueError):
    """Bad kube_proxy option; the message names the field and what is allowed."""


def parse_version(value, where='kube_proxy.version'):
    """'1.29', 'v1.30.2', '1.38.0-alpha.1' -> (1, minor). A number is taken only when YAML cannot
    have cut a zero off it: unquoted, 1.40 arrives as the float 1.4."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise KubeProxyError("%s: expected a Kubernetes version such as '1.31' or 'v1.31.2', got %r" % (where, value))
    if isinstance(value, float) and re.match(r'^\d+\.\d$', repr(value)):
        cut = repr(value) + '0'
        raise KubeProxyError("%s: %r arrived as a number, and YAML reads an unquoted %s as %r too: quote the version "
                             "('%s' or '%r')" % (where, value, cut, value, cut, value))
    m = re.match(r'^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$', str(value).strip())
    if not m or int(m.group(1)) != 1:
        raise KubeProxyError("%s: expected a Kubernetes version 1.x such as '1.31' or 'v1.31.2', got %r"
                             % (where, value))
    return 1, int(m.group(2))


def line(minor):
    for first, last, max_mode, cap, t_mode, cpus, source in LINES:
        if minor >= first and (last is None or minor <= last):
            name = '1.%d-1.%d' % (first, last) if last is not None else '1.%d+' % first
            if first == 0:
                name = '<= 1.20'
            return {'line': name, 'max_mode': max_mode, 'cap': cap, 'timeouts_mode': t_mode,
                    'cpus': cpus, 'source': source}
    raise KubeProxyError('kube_proxy.version: no release line for 1.%d' % minor)


# ---------------------------------------------------------------- Go durations

_DURATION_UNITS = {'ns': 1e-9, 'us': 1e-6, '\u00b5s': 1e-6, 'ms': 1e-3, 's': 1.0, 'm': 60.0, 'h': 3600.0}
_DURATION_PART = re.compile('([0-9]*\\.?[0-9]+)(ns|us|\u00b5s|ms|s|m|h)')


def parse_duration(text):
    """Go's time.ParseDuration ('24h0m0s', '1h', '90m', '1.5h', '0') -> whole seconds, truncated as
    kube-proxy does (int(d / time.Second)); None when it is not a duration."""
    text = text.strip()
    if text in ('0', '+0'):
        return 0
    body = text[1:] if text.startswith('+') else text
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(body):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return int(total) if pos == len(body) and pos else None


def go_duration(seconds):
    """Seconds as Go prints a time.Duration: 86400 -> '24h0m0s', 300 -> '5m0s', 30 -> '30s'."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%dh%dm%ds' % (hours, minutes, secs)
    return '%dm%ds' % (minutes, secs) if minutes else '%ds' % secs


# ---------------------------------------------------------------- the option

def _label(where, name):
    return '%s.%s (conntrack.%s)' % (where, name, CONFIG_FIELDS[name])


def _field_value(name, value, where):
    """One field of kube-proxy's conntrack configuration, as kube-proxy reads it; null is its default."""
    if value is None:
        return DEFAULT_CONFIG[name]
    if name == 'tcp_be_liberal':
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ('true', 'false'):
            return value.strip().lower() == 'true'
        raise KubeProxyError('%s: expected true or false, got %r' % (_label(where, name), value))
    if name in DURATIONS:
        return _duration_field(name, value, where)
    hi = 2 ** 28
    if isinstance(value, str) and re.match(r'^\s*[0-9]+\s*$', value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KubeProxyError('%s: expected an integer 0-%d, got %r' % (_label(where, name), hi, value))
    if value < 0 or value > hi:
        raise KubeProxyError('%s: %d is outside the allowed range 0-%d' % (_label(where, name), value, hi))
    return value


def _duration_field(name, value, where):
    """A timeout: a Go duration ('24h0m0s', '1h', '5m') as kube-proxy writes it, or seconds."""
    hi = 2147483
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        seconds = int(value) if re.match(r'^\s*[0-9]+\s*$', value) else parse_duration(value)
    if seconds is None:
        raise KubeProxyError("%s: expected a duration such as '24h0m0s', '1h' or '90m' (or seconds), got %r"
                             % (_label(where, name), value))
    if seconds < 0 or seconds > hi:
        raise KubeProxyError('%s: %d s is outside the allowed range 0-%d s' % (_label(where, name), seconds, hi))
    return seconds


def _fields(option, where):
    """{our name: raw value} from an option dict: our names, kube-proxy's camelCase ones, a
    conntrack: section given verbatim, or a whole KubeProxyConfiguration."""
    whole = option.get('kind') == 'KubeProxyConfiguration'
    found = {}
    items = [(k, v, where) for k, v in option.items() if k not in ('version', 'conntrack')]
    section = option.get('conntrack')
    if section is not None and not isinstance(section, dict):
        raise KubeProxyError('%s.conntrack: expected the conntrack: section of a KubeProxyConfiguration (a dict), got %r'
                             % (where, section))
    items += [(k, v, where + '.conntrack') for k, v in (section or {}).items()]
    for key, value, at in items:
        name = key if key in CONFIG_FIELDS else CAMEL.get(key)
        if name is None:
            if whole or (at == where and key in DOCUMENT_KEYS):
                continue
            known = sorted(CONFIG_FIELDS) + sorted(CAMEL)
            raise KubeProxyError('%s: unknown field %s%s; allowed: version, conntrack (kube-proxy\'s section), and %s'
                                 % (at, key, _keys.did_you_mean(key, known), ', '.join(sorted(CAMEL))))
        if name in found:
            raise KubeProxyError('%s: conntrack.%s is given twice' % (where, CONFIG_FIELDS[name]))
        if value is not None:   # null: kube-proxy's default, as if not given
            found[name] = _field_value(name, value, at)
    return found


def normalize(option, where='kube_proxy'):
    """The kube_proxy option -> None (not stated), {'absent': True}, or a config dict
    {'absent': False, 'version': (1, minor) or None, 'given': [names], and every field}.

    Accepted: null (unknown), 'absent', a version string, or a dict with any of 'version', our
    field names, kube-proxy's own camelCase ones, its conntrack: section verbatim (Go durations
    such as 24h0m0s), or a whole KubeProxyConfiguration; kube-proxy's defaults fill the rest.
    """
    if option is None or option == '':
        return None
    if isinstance(option, str) and option.strip().lower() == 'absent':
        return {'absent': True}
    if isinstance(option, (str, int, float)) and not isinstance(option, bool):
        option = {'version': option}
    if not isinstance(option, dict):
        raise KubeProxyError("%s: expected 'absent', a version such as '1.31', or a dict with version and kube-proxy's "
                             "conntrack settings (maxPerCore, min, tcpEstablishedTimeout, ...); got %s"
                             % (where, type(option).__name__))
    given = _fields(option, where)
    version = option.get('version')
    out = dict(DEFAULT_CONFIG, absent=False, given=sorted(given),
               version=None if version is None else parse_version(version, where + '.version'))
    out.update(given)
    return out


def merge_host(cfg, host):
    """The stated option completed with kube-proxy's configuration read on the host (facts): what
    the user states wins field by field. Returns (config, warnings)."""
    if not host or not host.get('conntrack') and not host.get('running'):
        return cfg, []
    # fields we do not know (a newer kube-proxy's) are kube-proxy's business: left out
    known = dict((k, v) for k, v in (host.get('conntrack') or {}).items() if k in CAMEL or k in CONFIG_FIELDS)
    try:
        found = normalize(known, 'facts.kube_proxy')
    except KubeProxyError as e:
        return cfg, ['kube-proxy\'s configuration on this host (%s) is not used: %s' % (host.get('source'), e)]
    if cfg is None:
        found['from_host'] = host.get('source')
        return found, []
    if cfg.get('absent'):
        return cfg, ['kube_proxy is stated absent, but kube-proxy runs on this host (%s): state its version instead, '
                     'or stop it' % host.get('source')]
    merged = dict(found)
    merged.update((name, cfg[name]) for name in cfg.get('given', []))
    merged.update(version=cfg['version'], given=sorted(set(cfg.get('given', [])) | set(found.get('given', []))),
                  from_host=host.get('source'))
    return merged, []


def conntrack_max(minor, cpus, max_per_core=32768, minimum=131072):
    """nf_conntrack_max kube-proxy 1.<minor> computes (0: it leaves max and the hash size alone)."""
    if not max_per_core:
        return 0
    scaled = max_per_core * cpus
    cap = line(minor)['cap']
    if cap is not None and scaled > cap:
        return cap  # 1.36+: the cap is checked before the floor
    return max(scaled, minimum)


def plan(cfg, cpus):
    """What kube-proxy (normalized config) will write on this node: max, hash size floor, timeouts
    (and, from 1.29, tcp_be_liberal and the UDP timeouts)."""
    minor = cfg['version'][1]
    ln = line(minor)
    k = conntrack_max(minor, cpus, cfg['max_per_core'], cfg['min'])
    timeouts, ignored = {}, []
    for name, short in WRITES:
        if not cfg.get(name):
            continue
        if name in SINCE_1_29 and minor < 29:
            ignored.append('conntrack.%s' % CONFIG_FIELDS[name])
            continue
        timeouts[short] = 1 if name == 'tcp_be_liberal' else cfg[name]
    if k and ln['cap'] is not None and cfg['max_per_core'] * cpus > ln['cap']:
        why = 'min(%d x %d CPUs, cap %d)' % (cfg['max_per_core'], cpus, ln['cap'])
    elif k:
        why = 'max(%d x %d CPUs, min %d)' % (cfg['max_per_core'], cpus, cfg['min'])
    else:
        why = 'maxPerCore 0: nf_conntrack_max and the hash size are left alone'
    return dict(ln, version='1.%d' % minor, max=k or None, hashsize_floor=(k // 4) if k else None,
                timeouts=timeouts, formula=why, ignored=ignored)


def would_write(kp, short, value):
    """Would kube-proxy change `short` away from `value`? Returns its value or None."""
    if short == 'max':
        if not kp['max']:
            return None
        if kp['max_mode'] == 'raise':
            return kp['max'] if value < kp['max'] else None
        return kp['max'] if value != kp['max'] else None
    if short == 'buckets':
        if kp['hashsize_floor'] and value < kp['hashsize_floor']:
            return kp['hashsize_floor']
        return None
    want = kp['timeouts'].get(short)
    if want is None:
        return None
    if kp['timeouts_mode'] == 'raise':
        return want if value < want else None
    return want if value != want else None


def config_for_max(value, cpus):
    """kube-proxy settings that make every release line compute exactly `value` on this node:
    {'maxPerCore', 'min'}, or None when none can (fewer entries than CPUs). maxPerCore x CPUs
    stays at most value and at most the 1.36 cap, so min decides."""
    per_core = min(value, CAP_1_36) // max(1, cpus)
    if per_core < 1:
        return None
    return {'maxPerCore': per_core, 'min': value}


def fix_for(short, value, cpus, known=None):
    """What to write in kube-proxy's conntrack: section so that it writes `value` (our
    recommendation) for `short`, or leaves it alone. Text for a warning. known: the fields of its
    configuration that are known ({camelCase name: value}, stated or read on the host): a field
    it already has is not advised again."""
    known = known or {}
    if short in ('max', 'buckets'):
        cfg = config_for_max(value, cpus) if short == 'max' else None
        leave = 'conntrack.maxPerCore: 0 (kube-proxy then leaves nf_conntrack_max and the hash size alone)'
        todo = [field for field in ('maxPerCore', 'min') if cfg is not None and known.get(field) != cfg[field]]
        if not todo:
            return 'set ' + leave
        kept = ['its conntrack.%s %d' % (field, cfg[field]) for field in ('maxPerCore', 'min') if field not in todo]
        return ('set %s in kube-proxy\'s configuration (%sit then computes max(%d x %d CPUs, %d) = %d, this value, in '
                'every release line), or %s'
                % (' and '.join('conntrack.%s: %d' % (field, cfg[field]) for field in todo),
                   'with %s, ' % kept[0] if kept else '', cfg['maxPerCore'], cpus, cfg['min'], value, leave))
    text = field_text(short, value)
    if not text:
        return ''
    if short == 'tcp_be_liberal':
        return 'set %s in kube-proxy\'s configuration' % text
    return ('set %s in kube-proxy\'s configuration (this value), or %s: 0s to have it leave the key alone'
            % (text, text.split(':')[0]))


def field_text(short, value):
    """'conntrack.tcpEstablishedTimeout: 24h0m0s': the line of kube-proxy's configuration that
    writes value to short ('' for a key kube-proxy does not write)."""
    name = FIELD_OF_KEY.get(short)
    if name is None:
        return ''
    if name == 'tcp_be_liberal':
        return 'conntrack.tcpBeLiberal: %s' % ('true' if value else 'false')
    return 'conntrack.%s: %s' % (CONFIG_FIELDS[name], go_duration(value))
