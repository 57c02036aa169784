# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixture hosts captured from the qemu VM of the Molecule scenario `vm` (docs/vm.md).

The captures are tests/unit/fixtures/vm/STAGE.json, exactly as molecule/vm/files/capture.py
prints them (`NFCT_VM_CAPTURE=DIR make molecule-vm` saves DIR/STAGE.json): a new capture is
copied there unchanged. tests/unit/fixtures/vm/README.md says what each stage is.

Debian 12 with its own kernel (6.1.0-50-amd64; nf_conntrack a loadable module), 2 GiB RAM, 2 CPUs.
The role had applied the `web` profile with the overrides buckets 131072 and max 300000:
vm_not_loaded, vm_converged, vm_reboot_fix, vm_no_fix_reboot.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import hosts

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'vm')
NAMES = ('vm_not_loaded', 'vm_converged', 'vm_reboot_fix', 'vm_no_fix_reboot')
# what capture.py does not record: the VM's mounts (the same at every stage)
MOUNTS = ('/dev/vda / ext4 rw,relatime,errors=remount-ro 0 0\n'
          'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n'
          'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n')


def load(name):
    """One capture as a dict: uname (release, machine), cpus, files, links, sysctls, modes."""
    with open(os.path.join(FIXTURES, name + '.json')) as f:
        cap = json.load(f)
    assert cap['label'] == name, (name, cap['label'])
    cap['uname'] = tuple(cap['uname'])
    # capture.py writes sysctls null when /proc/sys/net/netfilter does not exist
    cap['sysctls'] = cap['sysctls'] or {}
    return cap


CAPTURES = dict((name, load(name)) for name in NAMES)


def build(root, name):
    """Write capture `name` under root as a file tree; return (root, FakeProbes) for _gather.gather."""
    cap = CAPTURES[name]
    hosts.write_tree(root, cap['files'], cap['sysctls'], cap['modes'], links=cap['links'], mounts=MOUNTS)
    return root, hosts.FakeProbes({'uname': cap['uname'], 'cpus': cap['cpus'], 'euid': 0})
