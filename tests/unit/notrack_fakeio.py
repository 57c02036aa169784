# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FakeIO: the host of conntrack_notrack in the unit tests (tests/unit/plugins/modules): commands
are recorded and answered, `iptables-restore --noflush` is emulated (notrack_rulesets.apply_restore),
files are read under its root (a tmp_path), never the real host's."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.nfct.tuning.plugins.modules import conntrack_notrack

from notrack_rulesets import LEGACY_FW, RestoreError, apply_restore

BIN = '/usr/sbin/'


class FakeIO(conntrack_notrack.HostIO):
    """A Debian-like host with iptables-legacy (and optionally nft) in one network namespace."""

    def __init__(self, v4=LEGACY_FW, v6='', nft=None, env=None, units=None, os_release='ID=debian\n',
                 fail_apply=None, fail_test=None, fail_file_test=False, proc_tcp=None, root=None, fail_undo=False):
        conntrack_notrack.HostIO.__init__(self, None, root or '')
        self.fail_undo = fail_undo
        self.applied = 0
        self.state = {'ipv4': v4, 'ipv6': v6}
        self.nft = nft
        self.env = env or {}
        self.units = units or {}
        self.os_release = os_release
        self.fail_apply = fail_apply or set()
        self.fail_test = fail_test or set()
        self.fail_file_test = fail_file_test
        self.proc_tcp = proc_tcp
        self.calls = []

    def which(self, name):
        names = ['iptables', 'iptables-legacy-save', 'iptables-legacy-restore', 'ip6tables-legacy-save',
                 'ip6tables-legacy-restore', 'systemctl', 'ip']
        if self.nft is not None:
            names.append('nft')
        return BIN + name if name in names else None

    def cmd(self, argv, data=None):
        self.calls.append((argv, data.decode() if isinstance(data, bytes) else data))
        name = os.path.basename(argv[0])
        if name == 'iptables' and argv[1:] == ['-V']:
            return 0, 'iptables v1.8.9 (legacy)\n', ''
        if name.endswith('-legacy-save'):
            return 0, self.state['ipv6' if name.startswith('ip6') else 'ipv4'], ''
        if name.endswith('-legacy-restore'):
            fam = 'ipv6' if name.startswith('ip6') else 'ipv4'
            script = data.decode()
            if '--noflush' not in argv:  # a rules file, tested before boot would load it
                return (1, '', 'line 3 failed') if self.fail_file_test else (0, '', '')
            if '--test' in argv and fam in self.fail_test:
                return 1, '', 'iptables-restore: line 2 failed'
            if '--test' not in argv and fam in self.fail_apply:
                return 1, '', 'iptables-restore: line 5 failed'
            if '--test' not in argv and self.fail_undo and self.applied >= 1:
                return 1, '', 'iptables-restore: undo refused'
            if '--test' not in argv:
                self.applied += 1
            try:
                new = apply_restore(self.state[fam], script)
            except RestoreError as e:
                return 1, '', str(e)
            if '--test' not in argv:
                self.state[fam] = new
            return 0, '', ''
        if name == 'nft' and argv[1:] == ['-j', 'list', 'ruleset']:
            return 0, self.nft, ''
        if name == 'nft':
            return 0, '', ''
        if name == 'systemctl' and argv[1] == 'is-enabled':
            return (0, 'enabled\n', '') if self.units.get(argv[2]) == 'enabled' else (1, 'disabled\n', '')
        if name == 'systemctl' and argv[1] == 'enable':
            self.units[argv[2]] = 'enabled'
            return 0, '', ''
        if name == 'ip':
            return 0, '%s via 10.0.0.254 dev eth0 src 10.0.0.1 uid 0\n    cache\n' % argv[-1], ''
        raise AssertionError('unexpected command %s' % argv)

    def read(self, path):
        if path == '/etc/os-release':
            return self.os_release
        if path.startswith('/proc/net/tcp'):
            return self.proc_tcp if path == '/proc/net/tcp' else None
        if not self.root:
            return None  # never the real host's files
        return conntrack_notrack.HostIO.read(self, path)

    def exists(self, path):
        return os.path.basename(path) in self.units

    def interfaces(self):
        return ['lo', 'eth0']

    def getenv(self, name):
        return self.env.get(name)

    def restores(self, test=None):
        return [c for c in self.calls if c[0][0].endswith('-restore') and '--noflush' in c[0]
                and (test is None or ('--test' in c[0]) is test)]
