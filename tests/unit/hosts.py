# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixture hosts for the gather tests: file trees of real kernels' /proc, /sys and /etc.

post515_builtin: captured from this project's CI machine (6.18, nf_conntrack built in, initial netns).
container_netns: the same kernel seen from a container with its own network namespace (max,
  buckets, expect_max are 0444; /proc/sys mounted read-only unless unmasked).
module_vm: Debian 12's own kernel (6.1) with nf_conntrack as a loadable module, loaded, and the
  project's persisted files in place (modprobe.d, modules-load.d, sysctl.d with a shadowing file).
module_not_loaded: the same VM before anything loaded nf_conntrack: no sysctls at all.
pre515_noprocfs: a 4.19 kernel built without CONFIG_NF_CONNTRACK_PROCFS (no /proc/net/nf_conntrack,
  no /proc/net/stat/nf_conntrack), 'max = 4 x buckets' sizing; slabinfo of that era.
The pre-5.15 and VM trees follow the formats those kernels print (same files, older columns);
they are reconstructed, not captured, because no such kernel runs here (see tests/unit/README.md).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

STAT_HEADER_NEW = ('entries  clashres found new invalid ignore delete chainlength insert insert_failed drop '
                   'early_drop icmp_error  expect_new expect_create expect_delete search_restart')
STAT_HEADER_OLD = ('entries  searched found new invalid ignore delete delete_list insert insert_failed drop '
                   'early_drop icmp_error  expect_new expect_create expect_delete search_restart')

TIMEOUTS = {
    'tcp_timeout_syn_sent': 120, 'tcp_timeout_syn_recv': 60, 'tcp_timeout_established': 432000,
    'tcp_timeout_fin_wait': 120, 'tcp_timeout_close_wait': 60, 'tcp_timeout_last_ack': 30,
    'tcp_timeout_time_wait': 120, 'tcp_timeout_close': 10, 'tcp_timeout_max_retrans': 300,
    'tcp_timeout_unacknowledged': 300, 'udp_timeout': 30, 'udp_timeout_stream': 120,
    'icmp_timeout': 30, 'icmpv6_timeout': 30, 'generic_timeout': 600,
}


def _sysctls(count, cmax, buckets, expect_max=4096, extra=None):
    d = dict(TIMEOUTS)
    d.update({'count': count, 'max': cmax, 'buckets': buckets, 'expect_max': expect_max, 'acct': 0,
              'checksum': 1, 'log_invalid': 0, 'tcp_be_liberal': 0, 'tcp_loose': 1, 'tcp_max_retrans': 3})
    d.update(extra or {})
    return d


def _stat_rows(header, rows):
    return header + '\n' + '\n'.join(' '.join('%08x' % v for v in r) for r in rows) + '\n'


PROC_LINES = (
    'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=10.0.0.9 sport=51000 dport=443 '
    'src=10.0.0.9 dst=10.0.0.5 sport=443 dport=51000 [ASSURED] mark=0 zone=0 use=2\n'
    'ipv4     2 tcp      6 110 SYN_SENT src=10.0.0.5 dst=10.0.0.7 sport=51001 dport=80 [UNREPLIED] '
    'src=10.0.0.7 dst=10.0.0.5 sport=80 dport=51001 mark=0 zone=0 use=2\n'
    'ipv4     2 udp      17 29 src=10.0.0.6 dst=10.0.0.9 sport=5353 dport=53 [UNREPLIED] '
    'src=10.0.0.9 dst=10.0.0.6 sport=53 dport=5353 mark=0 zone=0 use=2\n'
    'ipv4     2 icmp     1 29 src=10.0.0.5 dst=10.0.0.9 type=8 code=0 id=7 src=10.0.0.9 dst=10.0.0.5 '
    'type=0 code=0 id=7 mark=0 zone=0 use=2\n'
    'ipv6     10 udp      17 119 src=2001:db8::1 dst=2001:db8::2 sport=40000 dport=53 src=2001:db8::2 '
    'dst=2001:db8::1 sport=53 dport=40000 [ASSURED] mark=0 zone=0 use=2\n'
)

HOSTS = {
    'post515_builtin': {
        'uname': ('6.18.44-fc-v657', 'x86_64'), 'cpus': 2, 'euid': 0,
        'files': {
            '/proc/meminfo': 'MemTotal:       24684092 kB\nMemFree:        24373884 kB\n',
            '/proc/slabinfo': 'slabinfo - version: 2.1\nnf_conntrack          16     16    256   16    1 : '
                              'tunables    0    0    0 : slabdata      1      1      0\n',
            '/proc/net/stat/nf_conntrack': _stat_rows(STAT_HEADER_NEW, [
                [5, 1, 10, 0, 3, 0, 0, 2, 40, 1, 0, 0, 0, 0, 0, 0, 0],
                [5, 0, 11, 0, 4, 0, 0, 0, 35, 2, 1, 2, 1, 0, 0, 0, 3]]),
            '/proc/net/nf_conntrack': PROC_LINES,
            '/proc/cmdline': 'console=ttyS0 quiet nomodule\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '262144\n',
            '/etc/sysctl.d/99-sysctl.conf': '# see /etc/sysctl.conf\n',
            '/usr/lib/sysctl.d/50-pid-max.conf': 'kernel.pid_max = 4194304\n',
        },
        'sysctls': _sysctls(5, 262144, 262144),
        'modes': {},
    },
    'container_netns': {
        'uname': ('6.18.44-fc-v657', 'x86_64'), 'cpus': 2, 'euid': 0,
        'files': {
            '/proc/meminfo': 'MemTotal:       24684092 kB\n',
            '/proc/net/stat/nf_conntrack': _stat_rows(STAT_HEADER_NEW, [[0] * 17, [0] * 17]),
            '/proc/net/nf_conntrack': '',
            '/proc/self/mounts': 'overlay / overlay rw,relatime 0 0\nproc /proc proc rw,nosuid 0 0\n'
                                 'proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0\n'
                                 'sysfs /sys sysfs ro,nosuid 0 0\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '262144\n',
        },
        'sysctls': _sysctls(0, 262144, 262144),
        'modes': {'max': 0o444, 'buckets': 0o444, 'expect_max': 0o444, 'count': 0o444},
    },
    'module_vm': {
        'uname': ('6.1.0-28-amd64', 'x86_64'), 'cpus': 2, 'euid': 0,
        'files': {
            '/proc/meminfo': 'MemTotal:        2014220 kB\n',
            '/proc/slabinfo': 'slabinfo - version: 2.1\nnf_conntrack           0      0    256   16    1 : '
                              'tunables    0    0    0 : slabdata      0      0      0\n',
            '/proc/net/stat/nf_conntrack': _stat_rows(STAT_HEADER_NEW, [[0] * 17, [0] * 17]),
            '/proc/net/nf_conntrack': '',
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/sys/module/nf_conntrack/initstate': 'live\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '131072\n',
            '/lib/modules/6.1.0-28-amd64/modules.dep':
                'kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko\n',
            '/lib/modules/6.1.0-28-amd64/modules.builtin': 'kernel/net/ipv4/tcp_cubic.ko\n',
            '/etc/modprobe.d/nf_conntrack.conf': '# managed\noptions nf_conntrack hashsize=131072\n',
            '/etc/modules-load.d/nf_conntrack.conf': 'nf_conntrack\n',
            '/etc/sysctl.d/90-conntrack.conf': 'net.netfilter.nf_conntrack_max = 300000\n'
                                               'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n',
            '/etc/sysctl.d/99-local.conf': 'net.netfilter.nf_conntrack_max=250000\n',
            '/usr/lib/sysctl.d/90-conntrack.conf': 'net.netfilter.nf_conntrack_max = 1\n',
            '/etc/sysctl.conf': '-net/netfilter/nf_conntrack_tcp_timeout_time_wait = 45\n',
            '/etc/default/grub': 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n',
        },
        'sysctls': _sysctls(0, 300000, 131072),
        'modes': {},
    },
    'module_not_loaded': {
        'uname': ('6.1.0-28-amd64', 'x86_64'), 'cpus': 2, 'euid': 0,
        'files': {
            '/proc/meminfo': 'MemTotal:        2014220 kB\n',
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/lib/modules/6.1.0-28-amd64/modules.dep': 'kernel/net/netfilter/nf_conntrack.ko:\n',
            '/lib/modules/6.1.0-28-amd64/modules.builtin': '',
        },
        'sysctls': None,
        'modes': {},
    },
    'pre515_noprocfs': {
        'uname': ('4.19.0-27-amd64', 'x86_64'), 'cpus': 4, 'euid': 0,
        'files': {
            '/proc/meminfo': 'MemTotal:        8167452 kB\n',
            '/proc/slabinfo': 'slabinfo - version: 2.1\nnf_conntrack         612    612    320   12    1 : '
                              'tunables    0    0    0 : slabdata     51     51      0\n',
            '/proc/cmdline': 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 nf_conntrack.hashsize=32768\n',
            '/sys/module/nf_conntrack/initstate': 'live\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '65536\n',
        },
        'sysctls': _sysctls(612, 262144, 65536),
        'modes': {},
        'netlink_stats': {'found': 1, 'invalid': 2, 'insert': 3, 'insert_failed': 4, 'drop': 5, 'early_drop': 6,
                          'icmp_error': 7, 'search_restart': 8, 'clash_resolve': 0, 'chaintoolong': 0,
                          'entries': 612, 'max': 262144},
        'netlink_entries': [('ipv4', 'tcp', 'ESTABLISHED', '10.1.1.1', '10.1.1.2', 22, True, False)] * 3,
    },
}


def _full_lines():
    """A full table's /proc lines: 60 TIME_WAIT to port 80 (outbound), 30 ESTABLISHED to the
    local HTTPS service, 8 UDP to DNS, 2 ssh sessions (the control connection's port)."""
    out = []
    for i in range(60):
        out.append('ipv4     2 tcp      6 100 TIME_WAIT src=10.0.0.5 dst=10.0.1.%d sport=%d dport=80 src=10.0.1.%d '
                   'dst=10.0.0.5 sport=80 dport=%d [ASSURED] mark=0 zone=0 use=2\n' % (i % 7, 40000 + i, i % 7, 40000 + i))
    for i in range(30):
        out.append('ipv4     2 tcp      6 431000 ESTABLISHED src=192.0.2.%d dst=10.0.0.5 sport=%d dport=443 '
                   'src=10.0.0.5 dst=192.0.2.%d sport=443 dport=%d [ASSURED] mark=0 zone=0 use=2\n'
                   % (i % 3, 50000 + i, i % 3, 50000 + i))
    for i in range(8):
        out.append('ipv4     2 udp      17 20 src=10.0.0.5 dst=10.0.0.53 sport=%d dport=53 [UNREPLIED] src=10.0.0.53 '
                   'dst=10.0.0.5 sport=53 dport=%d mark=0 zone=0 use=2\n' % (33000 + i, 33000 + i))
    for i in range(2):
        out.append('ipv4     2 tcp      6 7000 ESTABLISHED src=198.51.100.1 dst=10.0.0.5 sport=%d dport=22 '
                   'src=10.0.0.5 dst=198.51.100.1 sport=22 dport=%d [ASSURED] mark=0 zone=0 use=2\n' % (60000 + i, 60000 + i))
    return ''.join(out)


# a node whose table is full now (count == max) and dropping, 8 GiB of RAM, nf_conntrack built in;
# its persisted files (ours and another tool's) must stay byte-identical under relieve
HOSTS['full_node'] = {
    'uname': ('6.12.57-amd64', 'x86_64'), 'cpus': 4, 'euid': 0,
    'files': {
        '/proc/meminfo': 'MemTotal:        8167452 kB\n',
        '/proc/slabinfo': 'slabinfo - version: 2.1\nnf_conntrack       65536  65536    256   16    1 : '
                          'tunables    0    0    0 : slabdata   4096   4096      0\n',
        '/proc/net/stat/nf_conntrack': _stat_rows(STAT_HEADER_NEW, [
            [65536, 0, 10, 0, 3, 0, 0, 2, 90000, 40, 700, 12, 0, 0, 0, 0, 0],
            [65536, 0, 11, 0, 4, 0, 0, 0, 85000, 35, 650, 9, 1, 0, 0, 0, 3]]),
        '/proc/net/nf_conntrack': _full_lines(),
        '/proc/net/tcp': '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n'
                         '   0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n'
                         '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n',
        '/proc/cmdline': 'BOOT_IMAGE=/vmlinuz root=/dev/sda1\n',
        '/sys/module/nf_conntrack/parameters/hashsize': '16384\n',
        '/etc/sysctl.d/90-conntrack.conf': '# managed by nfct.tuning\nnet.netfilter.nf_conntrack_max = 65536\n',
        '/etc/sysctl.d/99-other-tool.conf': 'net.core.somaxconn = 4096\n',
        '/etc/modprobe.d/nf_conntrack.conf': 'options nf_conntrack hashsize=16384\n',
    },
    'sysctls': _sysctls(65536, 65536, 16384),
    'modes': {},
}


class FakeProbes(object):
    def __init__(self, host):
        self.host = host

    def euid(self):
        return self.host['euid']

    def uname(self):
        return self.host['uname']

    def cpu_count(self):
        return self.host['cpus']

    def page_size(self):
        return 4096

    def netns_inode(self, which):
        return None

    def netlink_stats(self):
        if 'netlink_stats' not in self.host:
            raise OSError('ctnetlink not available in this fixture')
        return dict(self.host['netlink_stats'])

    def netlink_summary(self, summarize):
        return summarize(iter(self.host.get('netlink_entries', [])))

    def run_conntrack_stats(self):
        return None


def write_tree(root, files, sysctls, modes, links=None, mounts=None):
    """Write a fixture file tree under root: files {path: content}, symlinks {path: target}
    (relative targets stay inside root), /proc/self/mounts (unless files has it) and the
    /proc/sys/net/netfilter/nf_conntrack_* values with their modes (sysctls None: none)."""
    def parent(full):
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
    for path, content in files.items():
        parent(root + path)
        with open(root + path, 'w') as f:
            f.write(content)
    for path, target in (links or {}).items():
        parent(root + path)
        os.symlink(target, root + path)
    if '/proc/self/mounts' not in files:
        os.makedirs(root + '/proc/self', exist_ok=True)
        with open(root + '/proc/self/mounts', 'w') as f:
            f.write(mounts or '/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0\nsysfs /sys sysfs rw 0 0\n')
    if sysctls is not None:
        d = root + '/proc/sys/net/netfilter'
        os.makedirs(d, exist_ok=True)
        for k, v in sysctls.items():
            p = '%s/nf_conntrack_%s' % (d, k)
            with open(p, 'w') as f:
                f.write('%s\n' % v)
            os.chmod(p, modes.get(k, 0o444 if k == 'count' else 0o644))


# every fixture host has booted once, 30 days ago
BOOT_FILES = {'/proc/sys/kernel/random/boot_id': '6f0c3e1a-52b4-4d8e-9c7e-0a2b1c3d4e5f\n',
              '/proc/uptime': '2592000.00 5100000.00\n'}


def build(root, name):
    """Write fixture host `name` under root; return (root, FakeProbes)."""
    host = HOSTS[name]
    write_tree(root, dict(BOOT_FILES, **host['files']), host['sysctls'], host['modes'])
    return root, FakeProbes(host)
