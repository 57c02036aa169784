# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NOTRACK exemptions for conntrack_notrack: validation of the declarative list, the rules
it becomes (one canonical form shared by the nftables and iptables renderers and parsers),
the control-connection guard and the backend decision. Pure functions; the module does
the I/O behind one check-mode gate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re
import sys

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import rules as _kernel

# The objects this module owns, per framework.
NFT_FAMILY = 'inet'
NFT_TABLE = 'nfct_notrack'
NFT_CHAINS = ('prerouting', 'output')
NFT_PRIORITY = -300  # "priority raw": before conntrack (-200)
COMPANION_COMMENT = 'nfct.tuning notrack companion'
IPT_CHAINS = {'prerouting': 'NFCT-NOTRACK-PRE', 'output': 'NFCT-NOTRACK-OUT'}
IPT_BUILTIN = {'prerouting': 'PREROUTING', 'output': 'OUTPUT'}
IPT_COMPANION = 'NFCT-UNTRACKED'
IPT_COMPANION_RULE = '-A %s -m conntrack --ctstate UNTRACKED -j ACCEPT' % IPT_COMPANION
OUR_IPT_CHAINS = (IPT_CHAINS['prerouting'], IPT_CHAINS['output'], IPT_COMPANION)

FIELDS = ('interface', 'protocol', 'port', 'direction', 'address', 'family')
PROTOCOLS = ('tcp', 'udp')
DIRECTIONS = ('inbound', 'outbound')
FAMILIES = _kernel.FAMILIES
BACKENDS = ('auto', 'nftables', 'iptables', 'iptables-nft', 'iptables-legacy')
COMPANION_MODES = ('auto', 'insert', 'refuse', 'ignore')
PLATFORMS = ('auto', 'debian', 'redhat')
# Interface names as systemd, udev, Docker, libvirt and CNI plugins make them: letters, digits,
# '.', '-' and '_'. The kernel allows more (anything but '/', ':' and spaces), but nothing else
# is ever needed, and shell or quoting metacharacters have no place in a name we write into
# rulesets and files.
IFNAME = re.compile(r'^[A-Za-z0-9_.-]{1,15}$')
DEFAULT_SSH_PORT = 22
# One specification of NOTRACK's options, in argument_spec form: conntrack_notrack's own
# (EXEMPTION_SPEC for each item of its exemptions, PLAN_SPEC for the plan), and what the audit
# (conntrack_audit) and the role pass to the planner through plan_params(), so that a check and an
# apply can never read different defaults.
EXEMPTION_SPEC = dict(
    interface=dict(type='str'),
    protocol=dict(type='str', choices=list(PROTOCOLS)),
    port=dict(type='raw'),
    direction=dict(type='str', choices=list(DIRECTIONS)),
    address=dict(type='str'),
    family=dict(type='str', choices=list(FAMILIES)),
)
PLAN_SPEC = dict(
    state=dict(type='str', default='present', choices=['present', 'absent']),
    backend=dict(type='str', default='auto', choices=list(BACKENDS)),
    companion=dict(type='str', default='auto', choices=list(COMPANION_MODES)),
    allow_control_connection=dict(type='bool', default=False),
    untrack_all=dict(type='bool', default=False),
    control_ports=dict(type='list', elements='raw', default=[]),
    persist=dict(type='bool', default=True),
    enable_service=dict(type='bool', default=True),
    persist_platform=dict(type='str', default='auto', choices=list(PLATFORMS)),
    nftables_file=dict(type='path'),
    nftables_conf=dict(type='path'),
    iptables_rules_v4=dict(type='path'),
    iptables_rules_v6=dict(type='path'),
)


def plan_params(**given):
    """The planner's parameters: PLAN_SPEC's defaults, then what is given (unknown names refused)."""
    unknown = sorted(set(given) - set(PLAN_SPEC))
    if unknown:
        raise ValueError('not NOTRACK plan options: %s' % ', '.join(unknown))
    params = dict((name, spec.get('default')) for name, spec in PLAN_SPEC.items())
    params.update(given)
    return params


class NotrackError(Exception):
    """Bad input; the message names the field and what is allowed."""


# --------------------------------------------------------------------------- validation

def _field(i, name):
    return 'exemptions[%d].%s' % (i, name)


def validate_exemptions(items, interfaces=None):
    """The exemptions list -> normalized dicts (index, interface, protocol, port, direction,
    address, family). interfaces: names present on the host, or None to skip that check.
    Raises NotrackError naming the first bad field."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise NotrackError('exemptions: expected a list of dicts, got %s' % type(items).__name__)
    return [validate_exemption(i, item, interfaces) for i, item in enumerate(items)]


def validate_exemption(i, item, interfaces=None):
    """One item of the exemptions list (its index i) -> its normalized dict, or NotrackError."""
    if not isinstance(item, dict):
        raise NotrackError('exemptions[%d]: expected a dict with some of %s, got %r' % (i, ', '.join(FIELDS), item))
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise NotrackError('exemptions[%d]: unknown field(s) %s; allowed: %s' % (i, ', '.join(unknown), ', '.join(FIELDS)))
    ex = dict((k, item.get(k)) for k in FIELDS)
    ex['index'] = i
    _check_interface(i, ex['interface'], interfaces)
    _check_service(i, ex)
    family = ex['family']
    if family is not None and family not in FAMILIES:
        raise NotrackError('%s: %r is not allowed; allowed: %s' % (_field(i, 'family'), family, ', '.join(FAMILIES)))
    if ex['address'] is not None:
        _check_address(i, ex)
    if ex['interface'] is None and ex['protocol'] is None and ex['address'] is None:
        raise NotrackError('exemptions[%d]: give at least one of interface, protocol (with port), address' % i)
    return ex


def _check_interface(i, iface, interfaces):
    if iface is None:
        return
    if not isinstance(iface, str) or not IFNAME.match(iface) or iface in ('.', '..'):
        raise NotrackError('%s: %r is not a valid interface name (1-15 letters, digits, ".", "-" or "_")'
                           % (_field(i, 'interface'), iface))
    if interfaces is not None and iface not in interfaces:
        present = ', '.join(sorted(interfaces)) or 'none'
        raise NotrackError('%s: %r is not an interface on this host (present: %s); set interfaces_must_exist: false '
                           'for an interface that appears later' % (_field(i, 'interface'), iface, present))


def _check_service(i, ex):
    """protocol, port and direction of ex, normalized in place (a port's direction defaults to inbound)."""
    proto = ex['protocol']
    if proto is not None:
        proto = str(proto).lower()
        if proto not in PROTOCOLS:
            raise NotrackError('%s: %r is not supported; allowed: %s' % (_field(i, 'protocol'), ex['protocol'], ', '.join(PROTOCOLS)))
        ex['protocol'] = proto
    port = ex['port']
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int):
            try:
                port = int(str(port), 10)
            except ValueError:
                raise NotrackError('%s: expected an integer 1-65535, got %r' % (_field(i, 'port'), ex['port']))
        if not 1 <= port <= 65535:
            raise NotrackError('%s: %d is outside the allowed range 1-65535' % (_field(i, 'port'), port))
        if proto is None:
            raise NotrackError('%s: a port needs a protocol (tcp or udp)' % _field(i, 'protocol'))
        ex['port'] = port
    direction = ex['direction']
    if direction is not None:
        if direction not in DIRECTIONS:
            raise NotrackError('%s: %r is not allowed; allowed: %s' % (_field(i, 'direction'), direction, ', '.join(DIRECTIONS)))
        if port is None:
            raise NotrackError('%s: only meaningful with a port (inbound: a local service on that port; outbound: '
                               'a remote service on that port)' % _field(i, 'direction'))
    elif port is not None:
        ex['direction'] = 'inbound'


def _check_address(i, ex):
    """address (and the family it implies) of ex, normalized in place."""
    net = parse_network(ex['address'], _field(i, 'address'))
    version = 'IPv4' if net.version == 4 else 'IPv6'
    if net.prefixlen == 0:
        raise NotrackError('%s: %s covers every address: that would untrack all %s traffic, NAT and stateful '
                           'rules included; exempt interfaces, ports or real networks instead'
                           % (_field(i, 'address'), net, version))
    afam = 'ipv4' if net.version == 4 else 'ipv6'
    if ex['family'] is not None and ex['family'] != afam:
        raise NotrackError('%s: %s does not match address %s (an %s network)'
                           % (_field(i, 'family'), ex['family'], net, version))
    ex['address'] = str(net)
    ex['family'] = afam


def parse_network(text, field):
    text = str(text).strip()
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise NotrackError('%s: %r is not an IPv4/IPv6 address or CIDR network (%s)' % (field, text, e))
        raise NotrackError('%s: %s has host bits set; the network is %s' % (field, text, loose))


def untrack_all_exemption():
    """The one exemption of untrack_all: no field, so its rules match every packet."""
    ex = dict((k, None) for k in FIELDS)
    ex.update(index=0, all=True)
    return ex


def describe(ex):
    """Short human form of one exemption, for messages."""
    if ex.get('all'):
        return 'untrack_all (every packet)'
    parts = []
    if ex.get('interface'):
        parts.append('interface %s' % ex['interface'])
    if ex.get('protocol'):
        parts.append('%s/%s %s' % (ex['protocol'], ex['port'], ex['direction']) if ex.get('port') else 'all %s' % ex['protocol'])
    if ex.get('address'):
        parts.append('address %s' % ex['address'])
    if ex.get('family') and not ex.get('address'):
        parts.append(ex['family'])
    return 'exemptions[%d] (%s)' % (ex['index'], ', '.join(parts))


# --------------------------------------------------------------------------- our rules

RULE_KEYS = ('chain', 'family', 'iif', 'oif', 'proto', 'sport', 'dport', 'saddr', 'daddr')


def rule_key(r):
    return tuple(r.get(k) for k in RULE_KEYS)


def spec_rules(exemptions):
    """Exemptions -> the NOTRACK rules (dicts with RULE_KEYS and 'items', the exemption indices).

    interface only: every packet in on it (prerouting) and out on it (output).
    address only: every packet whose source or destination is in the network, both hooks.
    protocol only: every packet of that protocol, both hooks.
    port inbound (a local service): dport on prerouting, its replies' sport on output.
    port outbound (a remote service): dport on output, its replies' sport on prerouting.
    With a port, an address is the peer's (source on prerouting, destination on output).
    Identical rules from several exemptions are kept once.
    """
    rules = []
    seen = {}
    for ex in exemptions:
        base = {'family': ex.get('family'), 'proto': ex.get('protocol')}
        iface, addr, port = ex.get('interface'), ex.get('address'), ex.get('port')
        pre = dict(base, chain='prerouting', iif=iface)
        out = dict(base, chain='output', oif=iface)
        produced = []
        if port is not None:
            if ex['direction'] == 'inbound':
                produced.append(dict(pre, dport=port, saddr=addr))
                produced.append(dict(out, sport=port, daddr=addr))
            else:
                produced.append(dict(out, dport=port, daddr=addr))
                produced.append(dict(pre, sport=port, saddr=addr))
        elif addr is not None:
            produced += [dict(pre, saddr=addr), dict(pre, daddr=addr), dict(out, saddr=addr), dict(out, daddr=addr)]
        else:
            produced += [pre, out]
        for r in produced:
            full = dict((k, r.get(k)) for k in RULE_KEYS)
            key = rule_key(full)
            if key in seen:
                seen[key]['items'].append(ex['index'])
                continue
            full['items'] = [ex['index']]
            seen[key] = full
            rules.append(full)
    # stable order: prerouting rules first, then output, each in exemption order
    return [r for r in rules if r['chain'] == 'prerouting'] + [r for r in rules if r['chain'] == 'output']


def rule_families(r):
    return (r['family'],) if r.get('family') else FAMILIES


def _net(text):
    return ipaddress.ip_network(text)


def _nft_addr(text):
    net = _net(text)
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def render_nft_rule(r):
    """One rule in nft syntax, in the order `nft list` prints it back."""
    parts = []
    ip = None
    if r.get('saddr') or r.get('daddr'):
        ip = 'ip' if _net(r.get('saddr') or r.get('daddr')).version == 4 else 'ip6'
    elif r.get('family'):
        parts.append('meta nfproto %s' % r['family'])
    if r.get('iif'):
        parts.append('iifname "%s"' % r['iif'])
    if r.get('oif'):
        parts.append('oifname "%s"' % r['oif'])
    if r.get('saddr'):
        parts.append('%s saddr %s' % (ip, _nft_addr(r['saddr'])))
    if r.get('daddr'):
        parts.append('%s daddr %s' % (ip, _nft_addr(r['daddr'])))
    if r.get('proto'):
        if r.get('sport'):
            parts.append('%s sport %d' % (r['proto'], r['sport']))
        elif r.get('dport'):
            parts.append('%s dport %d' % (r['proto'], r['dport']))
        else:
            parts.append('meta l4proto %s' % r['proto'])
    parts.append('notrack')
    return ' '.join(parts)


def render_nft_table(rules, companions=()):
    """Our table as nft prints it (`nft list table`), used for the persisted file and diffs.
    companions: (family, table, chain) of user chains that get our companion rule."""
    lines = ['table %s %s {' % (NFT_FAMILY, NFT_TABLE)]
    for n, chain in enumerate(NFT_CHAINS):
        if n:
            lines.append('')
        lines.append('\tchain %s {' % chain)
        lines.append('\t\ttype filter hook %s priority raw; policy accept;' % chain)
        for r in rules:
            if r['chain'] == chain:
                lines.append('\t\t' + render_nft_rule(r))
        lines.append('\t}')
    lines.append('}')
    text = '\n'.join(lines) + '\n'
    for c in companions:
        text += companion_nft_statement(c) + '\n'
    return text


def companion_nft_rule():
    return 'ct state untracked accept comment "%s"' % COMPANION_COMMENT


def companion_nft_statement(c):
    return 'insert rule %s %s %s %s' % (c[0], c[1], c[2], companion_nft_rule())


def render_ipt_rule(r, family):
    """One rule of our raw chains, exactly as iptables-save prints it."""
    parts = ['-A', IPT_CHAINS[r['chain']]]
    plen = 32 if family == 'ipv4' else 128
    for flag, key in (('-s', 'saddr'), ('-d', 'daddr')):
        if r.get(key):
            net = _net(r[key])
            parts += [flag, '%s/%d' % (net.network_address, net.prefixlen if net.prefixlen <= plen else plen)]
    if r.get('iif'):
        parts += ['-i', r['iif']]
    if r.get('oif'):
        parts += ['-o', r['oif']]
    if r.get('proto'):
        parts += ['-p', r['proto']]
        if r.get('sport') or r.get('dport'):
            parts += ['-m', r['proto']]
            if r.get('sport'):
                parts += ['--sport', str(r['sport'])]
            if r.get('dport'):
                parts += ['--dport', str(r['dport'])]
    parts += ['-j', 'CT', '--notrack']
    return ' '.join(parts)


def ipt_rules(rules, family):
    """{chain name: [save lines]} of our raw chains for one family (ipv4 or ipv6)."""
    out = dict((IPT_CHAINS[c], []) for c in NFT_CHAINS)
    for r in rules:
        if family in rule_families(r):
            out[IPT_CHAINS[r['chain']]].append(render_ipt_rule(r, family))
    return out


def families_used(rules):
    fams = set()
    for r in rules:
        fams.update(rule_families(r))
    return fams


# --------------------------------------------------------------------------- control connection

def parse_ssh_connection(value):
    """SSH_CONNECTION ("client cport server sport") -> session dict, or None."""
    if not value:
        return None
    parts = value.split()
    if len(parts) != 4:
        return None
    try:
        client, server = ipaddress.ip_address(parts[0].split('%')[0]), ipaddress.ip_address(parts[2].split('%')[0])
        return {'client': str(_unmap(client)), 'client_port': int(parts[1]), 'server': str(_unmap(server)),
                'server_port': int(parts[3]), 'source': 'SSH_CONNECTION'}
    except ValueError:
        return None


def _unmap(addr):
    mapped = getattr(addr, 'ipv4_mapped', None)
    return mapped if mapped is not None else addr


def parse_sshd_ports(text, sshd_t=False):
    """Port lines of `sshd -T` output (sshd_t=True) or of sshd_config text -> sorted ports.
    sshd_config: lines after a Match block apply conditionally; Port is global-only anyway."""
    ports = set()
    if not text:
        return []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        tok = s.split(None, 1)
        key = tok[0].lower()
        if key == 'match' and not sshd_t:
            break
        if key == 'port' and len(tok) == 2 and tok[1].strip().isdigit():
            ports.add(int(tok[1].strip()))
        if key == 'listenaddress' and len(tok) == 2:
            m = re.search(r'\]?:(\d+)$', tok[1].strip())
            if m and (tok[1].count(':') == 1 or tok[1].startswith('[')):
                ports.add(int(m.group(1)))
    return sorted(ports)


def parse_proc_tcp(text, family):
    """ESTABLISHED sockets of /proc/net/tcp (family ipv4) or tcp6 -> (local, lport, remote, rport)."""
    out = []
    for line in (text or '').splitlines()[1:]:
        f = line.split()
        if len(f) < 4 or f[3] != '01':
            continue
        try:
            local_hex, local_port_hex = f[1].split(':')
            remote_hex, remote_port_hex = f[2].split(':')
            out.append((_hex_addr(local_hex, family), int(local_port_hex, 16), _hex_addr(remote_hex, family), int(remote_port_hex, 16)))
        except ValueError:
            continue
    return out


def _hex_addr(h, family, byteorder=sys.byteorder):
    raw = bytes.fromhex(h)
    # the kernel prints each 32-bit word in host byte order
    words = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if byteorder == 'little' else raw
    return str(_unmap(ipaddress.ip_address(words)))


def control_sessions(env_value, sockets, ports):
    """The control connection(s): SSH_CONNECTION of this process, plus every ESTABLISHED TCP
    socket whose local port is an SSH port. sockets: [(local, lport, remote, rport)]."""
    sessions = []
    seen = set()
    env = parse_ssh_connection(env_value)
    if env:
        sessions.append(env)
        seen.add((env['server'], env['server_port'], env['client'], env['client_port']))
    for local, lport, remote, rport in sockets:
        if lport in ports and (local, lport, remote, rport) not in seen:
            seen.add((local, lport, remote, rport))
            sessions.append({'client': remote, 'client_port': rport, 'server': local, 'server_port': lport,
                             'source': 'established socket'})
    return sessions


def _packet_matches(r, pkt):
    """Does our rule r match the concrete packet pkt (chain, family, iif, oif, proto, sport,
    dport, saddr, daddr)? Unknown packet fields (None) count as matching."""
    if r['chain'] != pkt['chain']:
        return False
    if r.get('family') and pkt.get('family') and r['family'] != pkt['family']:
        return False
    for k in ('iif', 'oif'):
        if r.get(k) and pkt.get(k) is not None and r[k] != pkt[k]:
            return False
    if r.get('proto') and pkt.get('proto') and r['proto'] != pkt['proto']:
        return False
    for k in ('sport', 'dport'):
        if r.get(k) and pkt.get(k) is not None and r[k] != pkt[k]:
            return False
    for k in ('saddr', 'daddr'):
        if r.get(k) and pkt.get(k) is not None:
            addr = ipaddress.ip_address(pkt[k])
            net = _net(r[k])
            if addr.version != net.version or addr not in net:
                return False
    return True


def control_conflicts(rules, exemptions, sessions, ssh_ports, iface_of=None):
    """Exemptions that would untrack the control connection. Returns [(exemption index, why)].

    - every SSH port: a TCP packet to it arriving on any interface from any address (and the
      replies), i.e. the next control connection, whatever its client;
    - every live session: its exact packets, on the interface that reaches the client.
    iface_of: client address -> interface name (or None when unknown)."""
    by_index = dict((ex['index'], ex) for ex in exemptions)
    found = {}
    probes = []
    for port in ssh_ports:
        # a future client: any address and interface, an ephemeral port (-1: equal to no port we match)
        probes.append(('port tcp/%d (SSH)' % port,
                       [{'chain': 'prerouting', 'proto': 'tcp', 'dport': port, 'iif': None, 'oif': None, 'sport': -1,
                         'saddr': None, 'daddr': None, 'family': None, 'specific': ('dport',)},
                        {'chain': 'output', 'proto': 'tcp', 'sport': port, 'iif': None, 'oif': None, 'dport': -1,
                         'saddr': None, 'daddr': None, 'family': None, 'specific': ('sport',)}]))
    for s in sessions:
        fam = 'ipv4' if ipaddress.ip_address(s['client']).version == 4 else 'ipv6'
        iface = iface_of(s['client']) if iface_of else None
        via = ' via %s' % iface if iface else ''
        what = 'the control connection %s:%d -> %s:%d%s' % (s['client'], s['client_port'], s['server'], s['server_port'], via)
        probes.append((what, [
            {'chain': 'prerouting', 'family': fam, 'iif': iface, 'oif': None, 'proto': 'tcp', 'sport': s['client_port'],
             'dport': s['server_port'], 'saddr': s['client'], 'daddr': s['server'], 'specific': ()},
            {'chain': 'output', 'family': fam, 'iif': None, 'oif': iface, 'proto': 'tcp', 'sport': s['server_port'],
             'dport': s['client_port'], 'saddr': s['server'], 'daddr': s['client'], 'specific': ()}]))
    for what, pkts in probes:
        for pkt in pkts:
            for r in rules:
                if not _packet_matches(r, pkt):
                    continue
                # the port probe stands for any future SSH client: only rules that name the port
                # (or match every TCP packet) count, not an address that may or may not be the client's
                if (pkt['specific'] and not any(r.get(k) for k in pkt['specific'])
                        and (r.get('saddr') or r.get('daddr') or r.get('iif') or r.get('oif'))):
                    continue
                for i in r['items']:
                    if what not in found.setdefault(i, []):
                        found[i].append(what)
    return [(i, '%s would match %s' % (describe(by_index[i]), ', '.join(found[i]))) for i in sorted(found)]


# --------------------------------------------------------------------------- backend

def decide_backend(requested, tools, nft_native_tables, legacy_in_use, xtnft_in_use, ours_in, iptables_default):
    """The backend for our NOTRACK object -> (backend, reason) or raises NotrackError.

    requested: one of BACKENDS. tools: set of installed frameworks ('nftables', 'iptables-nft',
    'iptables-legacy'). nft_native_tables: native nft tables other than ours (names).
    legacy_in_use / xtnft_in_use: those xtables flavours hold rules, user chains or non-ACCEPT
    policies other than ours. ours_in: frameworks holding our NOTRACK object now.
    iptables_default: flavour of the `iptables` command ('nft' or 'legacy') or None.

    auto, in order: legacy rules present -> iptables-legacy; native nft tables present ->
    nftables; iptables-nft rules present -> iptables-nft; our object already somewhere ->
    there; nft installed -> nftables; iptables installed -> its default flavour.
    iptables: legacy rules -> legacy; iptables-nft rules -> nft; our object -> there; else the
    `iptables` command's flavour.
    """
    installed = sorted(tools)

    def need(backend):
        if backend not in tools:
            cmd = {'nftables': 'nft', 'iptables-nft': 'iptables-nft-restore / iptables-nft-save',
                   'iptables-legacy': 'iptables-legacy-restore / iptables-legacy-save'}[backend]
            raise NotrackError('backend: %s is not installed here (no %s command); installed: %s'
                               % (backend, cmd, ', '.join(installed) or 'none'))
        return backend

    if requested in ('nftables', 'iptables-nft', 'iptables-legacy'):
        return need(requested), 'requested'
    if requested == 'iptables':
        if 'iptables-legacy' not in tools and 'iptables-nft' not in tools:
            raise NotrackError('backend: iptables is not installed here (neither iptables-legacy nor iptables-nft); '
                               'installed: %s' % (', '.join(installed) or 'none'))
        if legacy_in_use and 'iptables-legacy' in tools:
            return 'iptables-legacy', 'requested iptables; legacy xtables hold rules'
        if xtnft_in_use and 'iptables-nft' in tools:
            return 'iptables-nft', 'requested iptables; iptables-nft holds rules'
        for fw in ('iptables-legacy', 'iptables-nft'):
            if fw in ours_in and fw in tools:
                return fw, 'requested iptables; our chains are there already'
        flavour = 'iptables-%s' % iptables_default if iptables_default else None
        if flavour in tools:
            return flavour, 'requested iptables; the iptables command is the %s flavour' % iptables_default
        return sorted(t for t in tools if t.startswith('iptables'))[0], 'requested iptables'
    # auto
    if legacy_in_use and 'iptables-legacy' in tools:
        return 'iptables-legacy', 'legacy xtables hold rules (iptables-legacy-save is not empty)'
    if nft_native_tables and 'nftables' in tools:
        return 'nftables', 'native nft tables present: %s' % ', '.join(nft_native_tables)
    if xtnft_in_use and 'iptables-nft' in tools:
        return 'iptables-nft', 'iptables-nft holds rules (iptables-nft-save is not empty)'
    for fw in ('nftables', 'iptables-nft', 'iptables-legacy'):
        if fw in ours_in and fw in tools:
            return fw, 'no other rules; our object is there already'
    if 'nftables' in tools:
        return 'nftables', 'empty ruleset; nft is installed'
    flavour = 'iptables-%s' % iptables_default if iptables_default else None
    if flavour in tools:
        return flavour, 'empty ruleset; no nft; the iptables command is the %s flavour' % iptables_default
    if tools:
        return installed[0], 'empty ruleset'
    raise NotrackError('backend: no firewall tool is installed here (need nft, or iptables-restore/iptables-save '
                       'in the nft or legacy flavour)')
