# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, what conntrack_facts reads on this host: the fixture format of
tests/unit/fixtures/vm/STAGE.json (molecule/vm captures with NFCT_VM_CAPTURE=DIR, see docs/vm.md).

Only the lines about nf_conntrack are kept from the big files (slabinfo, modules.dep,
modules.builtin, meminfo); the run's ssh key is cut out of the kernel command line.
"""
import json
import os
import platform
import re
import sys

NF = '/proc/sys/net/netfilter'
CONF_DIRS = ('/etc/sysctl.d', '/usr/lib/sysctl.d', '/etc/modprobe.d', '/lib/modprobe.d',
             '/etc/modules-load.d', '/usr/lib/modules-load.d')


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def main():
    release, machine = platform.uname()[2], platform.uname()[4]
    out = {'label': sys.argv[1] if len(sys.argv) > 1 else '', 'uname': [release, machine],
           'cpus': os.cpu_count(), 'files': {}, 'links': {}, 'sysctls': None, 'modes': {}}
    files = out['files']

    def keep(path, text):
        if text is not None:
            files[path] = text

    meminfo = read('/proc/meminfo') or ''
    keep('/proc/meminfo', ''.join(line + '\n' for line in meminfo.splitlines() if line.startswith('MemTotal:')))
    slab = read('/proc/slabinfo') or ''
    keep('/proc/slabinfo', ''.join(line + '\n' for line in slab.splitlines()
                                   if line.startswith(('slabinfo -', '# name', 'nf_conntrack '))))
    keep('/proc/net/stat/nf_conntrack', read('/proc/net/stat/nf_conntrack'))
    keep('/proc/net/nf_conntrack', read('/proc/net/nf_conntrack'))
    cmdline = read('/proc/cmdline')
    if cmdline is not None:
        keep('/proc/cmdline', re.sub(r' ?nfct\.ssh_key=\S*', '', cmdline))
    mods = '/lib/modules/%s/' % release
    dep = read(mods + 'modules.dep') or ''
    keep(mods + 'modules.dep', ''.join(line + '\n' for line in dep.splitlines()
                                       if line.split(':', 1)[0].endswith('/nf_conntrack.ko')))
    builtin = read(mods + 'modules.builtin') or ''
    keep(mods + 'modules.builtin', ''.join(line + '\n' for line in builtin.splitlines()
                                           if '/netfilter/' in line))
    sysmod = '/sys/module/nf_conntrack'
    for name in ('initstate', 'refcnt', 'coresize'):
        keep('%s/%s' % (sysmod, name), read('%s/%s' % (sysmod, name)))
    if os.path.isdir(sysmod + '/parameters'):
        for name in sorted(os.listdir(sysmod + '/parameters')):
            keep('%s/parameters/%s' % (sysmod, name), read('%s/parameters/%s' % (sysmod, name)))
    for d in CONF_DIRS:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if os.path.islink(p):
                out['links'][p] = os.readlink(p)
            elif name.endswith('.conf') and os.path.isfile(p):
                keep(p, read(p))
    for p in ('/etc/sysctl.conf', '/etc/modules'):
        keep(p, read(p))
    if os.path.isdir(NF):
        out['sysctls'] = {}
        for name in sorted(os.listdir(NF)):
            if not name.startswith('nf_conntrack_'):
                continue
            raw = (read(os.path.join(NF, name)) or '').strip()
            short = name[len('nf_conntrack_'):]
            out['sysctls'][short] = int(raw) if raw.lstrip('-').isdigit() else raw
            out['modes'][short] = os.stat(os.path.join(NF, name)).st_mode & 0o777
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


main()
