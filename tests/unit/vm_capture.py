# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixture hosts captured from the qemu VM of the Molecule scenario `vm` (docs/vm.md).

Debian 12 with its own kernel (6.1.0-50-amd64; nf_conntrack a loadable module), 2 GiB RAM, 2 CPUs.
Captured with `NFCT_VM_CAPTURE=DIR molecule test -s vm`: molecule/vm/files/capture.py prints, at
each stage, what conntrack_facts reads, as JSON: /proc/sys/net/netfilter values and modes,
/proc/net/stat/nf_conntrack, /proc/net/nf_conntrack, the slabinfo header and nf_conntrack line,
/sys/module/nf_conntrack, the modprobe.d / modules-load.d / sysctl.d files (symlinks kept), and
the modules.dep / modules.builtin lines about netfilter. Only the run's ssh key was cut out of
/proc/cmdline; nothing else is edited. Files identical in every capture are shared constants.

The role had applied the `web` profile with the overrides buckets 131072 and max 300000:
vm_not_loaded: as booted from the image: nothing has loaded nf_conntrack yet (prepare).
vm_converged: after the role with conntrack_load_module: true (converge): loaded by modprobe,
  then tuned at runtime.
vm_reboot_fix: after a reboot with the boot-order fix (modules-load.d) and a ct state rule that
  loads nf_conntrack late.
vm_no_fix_reboot: after a reboot WITHOUT the fix: nf_conntrack loaded late by the ct state rule,
  after systemd-sysctl had run.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hosts

_ETC_MODULES = (
    '# /etc/modules: kernel modules to load at boot time.\n'
    '#\n'
    '# This file contains the names of kernel modules that should be loaded\n'
    '# at boot time, one per line. Lines beginning with "#" are ignored.\n'
    '# Parameters can be specified after the module name.\n'
    '\n'
)
_ETC_SYSCTL_CONF = (
    '#\n'
    '# /etc/sysctl.conf - Configuration file for setting system variables\n'
    '# See /etc/sysctl.d/ for additional system variables.\n'
    '# See sysctl.conf (5) for information.\n'
    '#\n'
    '\n'
    '#kernel.domainname = example.com\n'
    '\n'
    '# Uncomment the following to stop low-level messages on console\n'
    '#kernel.printk = 3 4 1 3\n'
    '\n'
    '###################################################################\n'
    '# Functions previously found in netbase\n'
    '#\n'
    '\n'
    '# Uncomment the next two lines to enable Spoof protection (reverse-path filter)\n'
    '# Turn on Source Address Verification in all interfaces to\n'
    '# prevent some spoofing attacks\n'
    '#net.ipv4.conf.default.rp_filter=1\n'
    '#net.ipv4.conf.all.rp_filter=1\n'
    '\n'
    '# Uncomment the next line to enable TCP/IP SYN cookies\n'
    '# See http://lwn.net/Articles/277146/\n'
    '# Note: This may impact IPv6 TCP sessions too\n'
    '#net.ipv4.tcp_syncookies=1\n'
    '\n'
    '# Uncomment the next line to enable packet forwarding for IPv4\n'
    '#net.ipv4.ip_forward=1\n'
    '\n'
    '# Uncomment the next line to enable packet forwarding for IPv6\n'
    '#  Enabling this option disables Stateless Address Autoconfiguration\n'
    '#  based on Router Advertisements for this host\n'
    '#net.ipv6.conf.all.forwarding=1\n'
    '\n'
    '\n'
    '###################################################################\n'
    '# Additional settings - these settings can improve the network\n'
    '# security of the host and prevent against some network attacks\n'
    '# including spoofing attacks and man in the middle attacks through\n'
    '# redirection. Some network environments, however, require that these\n'
    '# settings are disabled so review and enable them as needed.\n'
    '#\n'
    '# Do not accept ICMP redirects (prevent MITM attacks)\n'
    '#net.ipv4.conf.all.accept_redirects = 0\n'
    '#net.ipv6.conf.all.accept_redirects = 0\n'
    '# _or_\n'
    '# Accept ICMP redirects only for gateways listed in our default\n'
    '# gateway list (enabled by default)\n'
    '# net.ipv4.conf.all.secure_redirects = 1\n'
    '#\n'
    '# Do not send ICMP redirects (we are not a router)\n'
    '#net.ipv4.conf.all.send_redirects = 0\n'
    '#\n'
    '# Do not accept IP source route packets (we are not a router)\n'
    '#net.ipv4.conf.all.accept_source_route = 0\n'
    '#net.ipv6.conf.all.accept_source_route = 0\n'
    '#\n'
    '# Log Martian Packets\n'
    '#net.ipv4.conf.all.log_martians = 1\n'
    '#\n'
    '\n'
    '###################################################################\n'
    '# Magic system request Key\n'
    '# 0=disable, 1=enable all, >1 bitmask of sysrq functions\n'
    '# See https://www.kernel.org/doc/html/latest/admin-guide/sysrq.html\n'
    '# for what other values do\n'
    '#kernel.sysrq=438\n'
    '\n'
)
_LIB_MODPROBE_D_ALIASES_CONF = (
    '# These are the standard aliases and dependencies.\n'
    '# This file does not need to be modified.\n'
    '\n'
    '# prevent unusual drivers from appearing as the first sound device ###########\n'
    'options snd-pcsp index=-2\n'
    'options cx88_alsa index=-2\n'
    'options snd-atiixp-modem index=-2\n'
    'options snd-intel8x0m index=-2\n'
    'options snd-via82xx-modem index=-2\n'
    '\n'
    '# work around other kernel issues ############################################\n'
    '# The EHCI driver should be loaded before the ones for low speed controllers\n'
    '# or some devices may be confused when they are disconnected and reconnected.\n'
    'softdep uhci-hcd pre: ehci-hcd\n'
    'softdep ohci-hcd pre: ehci-hcd\n'
    '\n'
)
_LIB_MODPROBE_D_FBDEV_BLACKLIST_CONF = (
    '# This file blacklists most old-style PCI framebuffer drivers.\n'
    '\n'
    'blacklist arkfb\n'
    'blacklist aty128fb\n'
    'blacklist atyfb\n'
    'blacklist radeonfb\n'
    'blacklist cirrusfb\n'
    'blacklist cyber2000fb\n'
    'blacklist kyrofb\n'
    'blacklist matroxfb_base\n'
    'blacklist mb862xxfb\n'
    'blacklist neofb\n'
    'blacklist pm2fb\n'
    'blacklist pm3fb\n'
    'blacklist s3fb\n'
    'blacklist savagefb\n'
    'blacklist sisfb\n'
    'blacklist tdfxfb\n'
    'blacklist tridentfb\n'
    'blacklist vt8623fb\n'
)
_LIB_MODPROBE_D_SYSTEMD_CONF = (
    '#  SPDX-License-Identifier: LGPL-2.1-or-later\n'
    '#\n'
    '#  This file is part of systemd.\n'
    '#\n'
    '#  systemd is free software; you can redistribute it and/or modify it\n'
    '#  under the terms of the GNU Lesser General Public License as published by\n'
    '#  the Free Software Foundation; either version 2.1 of the License, or\n'
    '#  (at your option) any later version.\n'
    '#\n'
    '# When bonding module is loaded, it creates bond0 by default due to max_bonds\n'
    '# option default value 1. This interferes with the network configuration\n'
    '# management / networkd, as it is not possible to detect whether this bond0 was\n'
    '# intentionally configured by the user, or should be managed by\n'
    '# networkd/NM/etc. Therefore disable bond0 creation.\n'
    '\n'
    'options bonding max_bonds=0\n'
    '\n'
    '# Do the same for dummy0.\n'
    '\n'
    'options dummy numdummies=0\n'
    '\n'
    '# Do the same for ifb0.\n'
    '\n'
    'options ifb numifbs=0\n'
)
_LIB_MODULES_6_1_0_50_AMD64_MODULES_DEP = (
    'kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko '
    'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko\n'
)
_USR_LIB_SYSCTL_D_50_PID_MAX_CONF = (
    '#  This file is part of systemd.\n'
    '#\n'
    '#  systemd is free software; you can redistribute it and/or modify it\n'
    '#  under the terms of the GNU Lesser General Public License as published by\n'
    '#  the Free Software Foundation; either version 2.1 of the License, or\n'
    '#  (at your option) any later version.\n'
    '\n'
    '# See sysctl.d(5) and core(5) for documentation.\n'
    '\n'
    '# To override settings in this file, create a local file in /etc\n'
    '# (e.g. /etc/sysctl.d/90-override.conf), and put any assignments\n'
    '# there.\n'
    '\n'
    '# Bump the numeric PID range to make PID collisions less likely.\n'
    '# 2^22 and 2^15 is possible maximum of 64bit and 32bit kernels respectively.\n'
    'kernel.pid_max = 4194304\n'
)
_USR_LIB_SYSCTL_D_99_PROTECT_LINKS_CONF = (
    '###################################################################\n'
    '# Protected links\n'
    '#\n'
    '# Protects against creating or following links under certain conditions\n'
    '# Debian kernels have both set to 1 (restricted) \n'
    '# See https://www.kernel.org/doc/Documentation/sysctl/fs.txt\n'
    'fs.protected_fifos = 1\n'
    'fs.protected_hardlinks = 1\n'
    'fs.protected_regular = 2\n'
    'fs.protected_symlinks = 1\n'
)

# /proc/sys/net/netfilter modes once nf_conntrack is loaded in the initial netns (the same in the
# three captures after the load)
_MODES_LOADED = {
    'acct': 0o644,
    'buckets': 0o644,
    'checksum': 0o644,
    'count': 0o444,
    'dccp_loose': 0o644,
    'dccp_timeout_closereq': 0o644,
    'dccp_timeout_closing': 0o644,
    'dccp_timeout_open': 0o644,
    'dccp_timeout_partopen': 0o644,
    'dccp_timeout_request': 0o644,
    'dccp_timeout_respond': 0o644,
    'dccp_timeout_timewait': 0o644,
    'events': 0o644,
    'expect_max': 0o644,
    'frag6_high_thresh': 0o644,
    'frag6_low_thresh': 0o644,
    'frag6_timeout': 0o644,
    'generic_timeout': 0o644,
    'gre_timeout': 0o644,
    'gre_timeout_stream': 0o644,
    'icmp_timeout': 0o644,
    'icmpv6_timeout': 0o644,
    'log_invalid': 0o644,
    'max': 0o644,
    'sctp_timeout_closed': 0o644,
    'sctp_timeout_cookie_echoed': 0o644,
    'sctp_timeout_cookie_wait': 0o644,
    'sctp_timeout_established': 0o644,
    'sctp_timeout_heartbeat_sent': 0o644,
    'sctp_timeout_shutdown_ack_sent': 0o644,
    'sctp_timeout_shutdown_recd': 0o644,
    'sctp_timeout_shutdown_sent': 0o644,
    'tcp_be_liberal': 0o644,
    'tcp_ignore_invalid_rst': 0o644,
    'tcp_loose': 0o644,
    'tcp_max_retrans': 0o644,
    'tcp_timeout_close': 0o644,
    'tcp_timeout_close_wait': 0o644,
    'tcp_timeout_established': 0o644,
    'tcp_timeout_fin_wait': 0o644,
    'tcp_timeout_last_ack': 0o644,
    'tcp_timeout_max_retrans': 0o644,
    'tcp_timeout_syn_recv': 0o644,
    'tcp_timeout_syn_sent': 0o644,
    'tcp_timeout_time_wait': 0o644,
    'tcp_timeout_unacknowledged': 0o644,
    'timestamp': 0o644,
    'udp_timeout': 0o644,
    'udp_timeout_stream': 0o644,
}

CAPTURES = {
    'vm_not_loaded': {
        'uname': ('6.1.0-50-amd64', 'x86_64'),
        'cpus': 2,
        'files': {
            '/etc/modules': _ETC_MODULES,
            '/etc/sysctl.conf': _ETC_SYSCTL_CONF,
            '/lib/modprobe.d/aliases.conf': _LIB_MODPROBE_D_ALIASES_CONF,
            '/lib/modprobe.d/fbdev-blacklist.conf': _LIB_MODPROBE_D_FBDEV_BLACKLIST_CONF,
            '/lib/modprobe.d/systemd.conf': _LIB_MODPROBE_D_SYSTEMD_CONF,
            '/lib/modules/6.1.0-50-amd64/modules.builtin': '',
            '/lib/modules/6.1.0-50-amd64/modules.dep': _LIB_MODULES_6_1_0_50_AMD64_MODULES_DEP,
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/proc/meminfo': 'MemTotal:        2014152 kB\n',
            '/proc/slabinfo': (
                'slabinfo - version: 2.1\n'
                '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> '
                '<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n'
            ),
            '/usr/lib/sysctl.d/50-pid-max.conf': _USR_LIB_SYSCTL_D_50_PID_MAX_CONF,
            '/usr/lib/sysctl.d/99-protect-links.conf': _USR_LIB_SYSCTL_D_99_PROTECT_LINKS_CONF,
        },
        'links': {
            '/etc/modules-load.d/modules.conf': '../modules',
            '/etc/sysctl.d/99-sysctl.conf': '../sysctl.conf',
        },
        'sysctls': {
        },
        'modes': {
        },
    },
    'vm_converged': {
        'uname': ('6.1.0-50-amd64', 'x86_64'),
        'cpus': 2,
        'files': {
            '/etc/modprobe.d/nfct-tuning.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'options nf_conntrack hashsize=131072\n'
            ),
            '/etc/modules': _ETC_MODULES,
            '/etc/modules-load.d/nfct-tuning.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                '# Load nf_conntrack before systemd-sysctl so net.netfilter.* keys apply at boot.\n'
                'nf_conntrack\n'
            ),
            '/etc/sysctl.conf': _ETC_SYSCTL_CONF,
            '/etc/sysctl.d/90-conntrack.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'net.netfilter.nf_conntrack_buckets = 131072\n'
                'net.netfilter.nf_conntrack_max = 300000\n'
                'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n'
                'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_syn_recv = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 30\n'
            ),
            '/lib/modprobe.d/aliases.conf': _LIB_MODPROBE_D_ALIASES_CONF,
            '/lib/modprobe.d/fbdev-blacklist.conf': _LIB_MODPROBE_D_FBDEV_BLACKLIST_CONF,
            '/lib/modprobe.d/systemd.conf': _LIB_MODPROBE_D_SYSTEMD_CONF,
            '/lib/modules/6.1.0-50-amd64/modules.builtin': '',
            '/lib/modules/6.1.0-50-amd64/modules.dep': _LIB_MODULES_6_1_0_50_AMD64_MODULES_DEP,
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/proc/meminfo': 'MemTotal:        2014152 kB\n',
            '/proc/net/nf_conntrack': '',
            '/proc/net/stat/nf_conntrack': (
                'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop '
                'icmp_error  expect_new expect_create expect_delete search_restart\n'
                '00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
                '00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
            ),
            '/proc/slabinfo': (
                'slabinfo - version: 2.1\n'
                '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> '
                '<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n'
                'nf_conntrack           0      0    256   16    1 : tunables    0    0    0 : slabdata      0      0 '
                '     0\n'
            ),
            '/sys/module/nf_conntrack/coresize': '188416\n',
            '/sys/module/nf_conntrack/initstate': 'live\n',
            '/sys/module/nf_conntrack/parameters/acct': 'N\n',
            '/sys/module/nf_conntrack/parameters/expect_hashsize': '512\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '131072\n',
            '/sys/module/nf_conntrack/parameters/tstamp': 'N\n',
            '/sys/module/nf_conntrack/refcnt': '0\n',
            '/usr/lib/sysctl.d/50-pid-max.conf': _USR_LIB_SYSCTL_D_50_PID_MAX_CONF,
            '/usr/lib/sysctl.d/99-protect-links.conf': _USR_LIB_SYSCTL_D_99_PROTECT_LINKS_CONF,
        },
        'links': {
            '/etc/modules-load.d/modules.conf': '../modules',
            '/etc/sysctl.d/99-sysctl.conf': '../sysctl.conf',
        },
        'sysctls': {
            'acct': 0,
            'buckets': 131072,
            'checksum': 1,
            'count': 0,
            'dccp_loose': 1,
            'dccp_timeout_closereq': 64,
            'dccp_timeout_closing': 64,
            'dccp_timeout_open': 43200,
            'dccp_timeout_partopen': 480,
            'dccp_timeout_request': 240,
            'dccp_timeout_respond': 480,
            'dccp_timeout_timewait': 240,
            'events': 2,
            'expect_max': 1024,
            'frag6_high_thresh': 4194304,
            'frag6_low_thresh': 3145728,
            'frag6_timeout': 60,
            'generic_timeout': 600,
            'gre_timeout': 30,
            'gre_timeout_stream': 180,
            'icmp_timeout': 30,
            'icmpv6_timeout': 30,
            'log_invalid': 0,
            'max': 300000,
            'sctp_timeout_closed': 10,
            'sctp_timeout_cookie_echoed': 3,
            'sctp_timeout_cookie_wait': 3,
            'sctp_timeout_established': 210,
            'sctp_timeout_heartbeat_sent': 30,
            'sctp_timeout_shutdown_ack_sent': 3,
            'sctp_timeout_shutdown_recd': 3,
            'sctp_timeout_shutdown_sent': 3,
            'tcp_be_liberal': 0,
            'tcp_ignore_invalid_rst': 0,
            'tcp_loose': 1,
            'tcp_max_retrans': 3,
            'tcp_timeout_close': 10,
            'tcp_timeout_close_wait': 60,
            'tcp_timeout_established': 86400,
            'tcp_timeout_fin_wait': 30,
            'tcp_timeout_last_ack': 30,
            'tcp_timeout_max_retrans': 300,
            'tcp_timeout_syn_recv': 30,
            'tcp_timeout_syn_sent': 120,
            'tcp_timeout_time_wait': 30,
            'tcp_timeout_unacknowledged': 300,
            'timestamp': 0,
            'udp_timeout': 30,
            'udp_timeout_stream': 120,
        },
        'modes': _MODES_LOADED,
    },
    'vm_reboot_fix': {
        'uname': ('6.1.0-50-amd64', 'x86_64'),
        'cpus': 2,
        'files': {
            '/etc/modprobe.d/nfct-tuning.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'options nf_conntrack hashsize=131072\n'
            ),
            '/etc/modules': _ETC_MODULES,
            '/etc/modules-load.d/nfct-tuning.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                '# Load nf_conntrack before systemd-sysctl so net.netfilter.* keys apply at boot.\n'
                'nf_conntrack\n'
            ),
            '/etc/sysctl.conf': _ETC_SYSCTL_CONF,
            '/etc/sysctl.d/90-conntrack.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'net.netfilter.nf_conntrack_buckets = 131072\n'
                'net.netfilter.nf_conntrack_max = 300000\n'
                'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n'
                'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_syn_recv = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 30\n'
            ),
            '/lib/modprobe.d/aliases.conf': _LIB_MODPROBE_D_ALIASES_CONF,
            '/lib/modprobe.d/fbdev-blacklist.conf': _LIB_MODPROBE_D_FBDEV_BLACKLIST_CONF,
            '/lib/modprobe.d/systemd.conf': _LIB_MODPROBE_D_SYSTEMD_CONF,
            '/lib/modules/6.1.0-50-amd64/modules.builtin': '',
            '/lib/modules/6.1.0-50-amd64/modules.dep': _LIB_MODULES_6_1_0_50_AMD64_MODULES_DEP,
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/proc/meminfo': 'MemTotal:        2014152 kB\n',
            '/proc/net/nf_conntrack': (
                'ipv4     2 tcp      6 86399 ESTABLISHED src=10.0.2.2 dst=10.0.2.15 sport=34062 dport=22 '
                'src=10.0.2.15 dst=10.0.2.2 sport=22 dport=34062 [ASSURED] mark=0 zone=0 use=2\n'
            ),
            '/proc/net/stat/nf_conntrack': (
                'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop '
                'icmp_error  expect_new expect_create expect_delete search_restart\n'
                '00000001  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
                '00000001  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
            ),
            '/proc/slabinfo': (
                'slabinfo - version: 2.1\n'
                '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> '
                '<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n'
                'nf_conntrack          16     16    256   16    1 : tunables    0    0    0 : slabdata      1      1 '
                '     0\n'
            ),
            '/sys/module/nf_conntrack/coresize': '188416\n',
            '/sys/module/nf_conntrack/initstate': 'live\n',
            '/sys/module/nf_conntrack/parameters/acct': 'N\n',
            '/sys/module/nf_conntrack/parameters/expect_hashsize': '512\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '131072\n',
            '/sys/module/nf_conntrack/parameters/tstamp': 'N\n',
            '/sys/module/nf_conntrack/refcnt': '1\n',
            '/usr/lib/sysctl.d/50-pid-max.conf': _USR_LIB_SYSCTL_D_50_PID_MAX_CONF,
            '/usr/lib/sysctl.d/99-protect-links.conf': _USR_LIB_SYSCTL_D_99_PROTECT_LINKS_CONF,
        },
        'links': {
            '/etc/modules-load.d/modules.conf': '../modules',
            '/etc/sysctl.d/99-sysctl.conf': '../sysctl.conf',
        },
        'sysctls': {
            'acct': 0,
            'buckets': 131072,
            'checksum': 1,
            'count': 1,
            'dccp_loose': 1,
            'dccp_timeout_closereq': 64,
            'dccp_timeout_closing': 64,
            'dccp_timeout_open': 43200,
            'dccp_timeout_partopen': 480,
            'dccp_timeout_request': 240,
            'dccp_timeout_respond': 480,
            'dccp_timeout_timewait': 240,
            'events': 2,
            'expect_max': 2048,
            'frag6_high_thresh': 4194304,
            'frag6_low_thresh': 3145728,
            'frag6_timeout': 60,
            'generic_timeout': 600,
            'gre_timeout': 30,
            'gre_timeout_stream': 180,
            'icmp_timeout': 30,
            'icmpv6_timeout': 30,
            'log_invalid': 0,
            'max': 300000,
            'sctp_timeout_closed': 10,
            'sctp_timeout_cookie_echoed': 3,
            'sctp_timeout_cookie_wait': 3,
            'sctp_timeout_established': 210,
            'sctp_timeout_heartbeat_sent': 30,
            'sctp_timeout_shutdown_ack_sent': 3,
            'sctp_timeout_shutdown_recd': 3,
            'sctp_timeout_shutdown_sent': 3,
            'tcp_be_liberal': 0,
            'tcp_ignore_invalid_rst': 0,
            'tcp_loose': 1,
            'tcp_max_retrans': 3,
            'tcp_timeout_close': 10,
            'tcp_timeout_close_wait': 60,
            'tcp_timeout_established': 86400,
            'tcp_timeout_fin_wait': 30,
            'tcp_timeout_last_ack': 30,
            'tcp_timeout_max_retrans': 300,
            'tcp_timeout_syn_recv': 30,
            'tcp_timeout_syn_sent': 120,
            'tcp_timeout_time_wait': 30,
            'tcp_timeout_unacknowledged': 300,
            'timestamp': 0,
            'udp_timeout': 30,
            'udp_timeout_stream': 120,
        },
        'modes': _MODES_LOADED,
    },
    'vm_no_fix_reboot': {
        'uname': ('6.1.0-50-amd64', 'x86_64'),
        'cpus': 2,
        'files': {
            '/etc/modprobe.d/nfct-tuning.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'options nf_conntrack hashsize=131072\n'
            ),
            '/etc/modules': _ETC_MODULES,
            '/etc/sysctl.conf': _ETC_SYSCTL_CONF,
            '/etc/sysctl.d/90-conntrack.conf': (
                '# Managed by nfct.tuning (conntrack_settings). Do not edit: changes are overwritten.\n'
                '# Keys that cannot be written from this host or container are left out.\n'
                'net.netfilter.nf_conntrack_buckets = 131072\n'
                'net.netfilter.nf_conntrack_max = 300000\n'
                'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n'
                'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_syn_recv = 30\n'
                'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 30\n'
            ),
            '/lib/modprobe.d/aliases.conf': _LIB_MODPROBE_D_ALIASES_CONF,
            '/lib/modprobe.d/fbdev-blacklist.conf': _LIB_MODPROBE_D_FBDEV_BLACKLIST_CONF,
            '/lib/modprobe.d/systemd.conf': _LIB_MODPROBE_D_SYSTEMD_CONF,
            '/lib/modules/6.1.0-50-amd64/modules.builtin': '',
            '/lib/modules/6.1.0-50-amd64/modules.dep': _LIB_MODULES_6_1_0_50_AMD64_MODULES_DEP,
            '/proc/cmdline': 'root=/dev/vda rw console=ttyS0\n',
            '/proc/meminfo': 'MemTotal:        2014152 kB\n',
            '/proc/net/nf_conntrack': (
                'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.2.2 dst=10.0.2.15 sport=46684 dport=22 '
                'src=10.0.2.15 dst=10.0.2.2 sport=22 dport=46684 [ASSURED] mark=0 zone=0 use=2\n'
            ),
            '/proc/net/stat/nf_conntrack': (
                'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop '
                'icmp_error  expect_new expect_create expect_delete search_restart\n'
                '00000001  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
                '00000001  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 '
                '00000000 00000000  00000000 00000000 00000000 00000000\n'
            ),
            '/proc/slabinfo': (
                'slabinfo - version: 2.1\n'
                '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> '
                '<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n'
                'nf_conntrack          16     16    256   16    1 : tunables    0    0    0 : slabdata      1      1 '
                '     0\n'
            ),
            '/sys/module/nf_conntrack/coresize': '188416\n',
            '/sys/module/nf_conntrack/initstate': 'live\n',
            '/sys/module/nf_conntrack/parameters/acct': 'N\n',
            '/sys/module/nf_conntrack/parameters/expect_hashsize': '512\n',
            '/sys/module/nf_conntrack/parameters/hashsize': '131072\n',
            '/sys/module/nf_conntrack/parameters/tstamp': 'N\n',
            '/sys/module/nf_conntrack/refcnt': '1\n',
            '/usr/lib/sysctl.d/50-pid-max.conf': _USR_LIB_SYSCTL_D_50_PID_MAX_CONF,
            '/usr/lib/sysctl.d/99-protect-links.conf': _USR_LIB_SYSCTL_D_99_PROTECT_LINKS_CONF,
        },
        'links': {
            '/etc/modules-load.d/modules.conf': '../modules',
            '/etc/sysctl.d/99-sysctl.conf': '../sysctl.conf',
        },
        'sysctls': {
            'acct': 0,
            'buckets': 131072,
            'checksum': 1,
            'count': 1,
            'dccp_loose': 1,
            'dccp_timeout_closereq': 64,
            'dccp_timeout_closing': 64,
            'dccp_timeout_open': 43200,
            'dccp_timeout_partopen': 480,
            'dccp_timeout_request': 240,
            'dccp_timeout_respond': 480,
            'dccp_timeout_timewait': 240,
            'events': 2,
            'expect_max': 2048,
            'frag6_high_thresh': 4194304,
            'frag6_low_thresh': 3145728,
            'frag6_timeout': 60,
            'generic_timeout': 600,
            'gre_timeout': 30,
            'gre_timeout_stream': 180,
            'icmp_timeout': 30,
            'icmpv6_timeout': 30,
            'log_invalid': 0,
            'max': 1048576,
            'sctp_timeout_closed': 10,
            'sctp_timeout_cookie_echoed': 3,
            'sctp_timeout_cookie_wait': 3,
            'sctp_timeout_established': 210,
            'sctp_timeout_heartbeat_sent': 30,
            'sctp_timeout_shutdown_ack_sent': 3,
            'sctp_timeout_shutdown_recd': 3,
            'sctp_timeout_shutdown_sent': 3,
            'tcp_be_liberal': 0,
            'tcp_ignore_invalid_rst': 0,
            'tcp_loose': 1,
            'tcp_max_retrans': 3,
            'tcp_timeout_close': 10,
            'tcp_timeout_close_wait': 60,
            'tcp_timeout_established': 432000,
            'tcp_timeout_fin_wait': 120,
            'tcp_timeout_last_ack': 30,
            'tcp_timeout_max_retrans': 300,
            'tcp_timeout_syn_recv': 60,
            'tcp_timeout_syn_sent': 120,
            'tcp_timeout_time_wait': 120,
            'tcp_timeout_unacknowledged': 300,
            'timestamp': 0,
            'udp_timeout': 30,
            'udp_timeout_stream': 120,
        },
        'modes': _MODES_LOADED,
    },
}


def build(root, name):
    """Write capture `name` under root as a file tree; return (root, FakeProbes) for _gather.gather."""
    cap = CAPTURES[name]
    hosts.write_tree(root, cap['files'], cap['sysctls'], cap['modes'], links=cap['links'],
                     mounts='/dev/vda / ext4 rw,relatime,errors=remount-ro 0 0\n'
                            'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n'
                            'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n')
    return root, hosts.FakeProbes({'uname': cap['uname'], 'cpus': cap['cpus'], 'euid': 0})
