# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.host import persist as _persist


def f(content, real=None, masked=False):
    return {'content': content, 'real': real, 'masked': masked}


@pytest.mark.parametrize('listing, conf, expect_value, expect_file, expect_order', [
    # later file name wins: 99-local.conf sorts after 90-conntrack.conf
    ([('/etc/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 300000\n'),
                         '99-local.conf': f('net.netfilter.nf_conntrack_max=250000\n')})],
     None, '250000', '/etc/sysctl.d/99-local.conf', ['/etc/sysctl.d/90-conntrack.conf', '/etc/sysctl.d/99-local.conf']),
    # dev-sec's 90-dev-sec.conf sorts after 90-conntrack.conf
    ([('/etc/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 300000\n'),
                         '90-dev-sec.conf': f('net.netfilter.nf_conntrack_max = 65536\n')})],
     None, '65536', '/etc/sysctl.d/90-dev-sec.conf', None),
    # an /etc file masks the same-named /usr/lib one, whatever it says
    ([('/etc/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 300000\n')}),
      ('/usr/lib/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 1\n'),
                             '10-x.conf': f('net.netfilter.nf_conntrack_max = 2\n')})],
     None, '300000', '/etc/sysctl.d/90-conntrack.conf', None),
    # /usr/lib sorts by name with /etc files: 95-vendor.conf from /usr/lib beats /etc/90-...
    ([('/etc/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 300000\n')}),
      ('/usr/lib/sysctl.d', {'95-vendor.conf': f('net/netfilter/nf_conntrack_max = 7\n')})],
     None, '7', '/usr/lib/sysctl.d/95-vendor.conf', None),
    # /etc/sysctl.conf is applied last
    ([('/etc/sysctl.d', {'99-zzz.conf': f('net.netfilter.nf_conntrack_max = 300000\n')})],
     f('-net.netfilter.nf_conntrack_max = 123\n'), '123', '/etc/sysctl.conf', None),
    # ... but only once when 99-sysctl.conf is a symlink to it (Debian)
    ([('/etc/sysctl.d', {'99-sysctl.conf': f('net.netfilter.nf_conntrack_max = 5\n', real='/etc/sysctl.conf'),
                         '99-zzz.conf': f('net.netfilter.nf_conntrack_max = 6\n')})],
     f('net.netfilter.nf_conntrack_max = 5\n', real='/etc/sysctl.conf'), '6', '/etc/sysctl.d/99-zzz.conf', None),
    # a masked (/dev/null or empty) /etc file hides the vendor file
    ([('/etc/sysctl.d', {'50-vendor.conf': f(None, masked=True)}),
      ('/usr/lib/sysctl.d', {'50-vendor.conf': f('net.netfilter.nf_conntrack_max = 9\n')})],
     None, None, None, []),
    # comments, ; comments, non-conntrack keys and lines without '=' are ignored
    ([('/etc/sysctl.d', {'90-conntrack.conf': f('# c\n; c\nnet.ipv4.ip_forward=1\nbogus\n'
                                                'net.netfilter.nf_conntrack_max = 42 \n')})],
     None, '42', '/etc/sysctl.d/90-conntrack.conf', None),
])
def test_sysctl_precedence(listing, conf, expect_value, expect_file, expect_order):
    got = _persist.sysctl_layers(listing, conf)
    eff = got['effective'].get('max')
    if expect_value is None:
        assert eff is None
    else:
        assert eff['value'] == expect_value
        assert eff['file'] == expect_file
    if expect_order is not None:
        assert [x['path'] for x in got['files']] == expect_order


def test_set_by_lists_every_file_in_order():
    listing = [('/etc/sysctl.d', {'90-conntrack.conf': f('net.netfilter.nf_conntrack_max = 1\n'),
                                  '99-local.conf': f('net.netfilter.nf_conntrack_max = 2\n')})]
    got = _persist.sysctl_layers(listing, None)['effective']['max']['set_by']
    assert [(s['file'], s['value']) for s in got] == [('/etc/sysctl.d/90-conntrack.conf', '1'),
                                                      ('/etc/sysctl.d/99-local.conf', '2')]


@pytest.mark.parametrize('text, hashsize, nlines, blacklisted', [
    ('options nf_conntrack hashsize=131072\n', 131072, 1, False),
    ('options nf_conntrack expect_hashsize=1 \\\n  hashsize=65536\n', 65536, 1, False),
    ('options nf-conntrack hashsize=1\noptions nf_conntrack hashsize=2\n', 2, 2, False),
    ('options nf_conntrack_ipv4 foo=1\n# options nf_conntrack hashsize=1\n', None, 0, False),
    ('blacklist nf_conntrack\n', None, 1, True),
    ('options nf_conntrack hashsize = 5\n', None, 1, False),
])
def test_modprobe(text, hashsize, nlines, blacklisted):
    got = _persist.modprobe_layers([('/etc/modprobe.d', {'x.conf': f(text)})])
    assert got['hashsize'] == hashsize
    assert len(got['lines']) == nlines
    assert got['blacklisted'] is blacklisted


def test_modules_load_and_etc_modules():
    listing = [('/etc/modules-load.d', {'nf_conntrack.conf': f('# load early\nnf_conntrack\n'),
                                        'other.conf': f('br_netfilter\n')})]
    got = _persist.modules_load_layers(listing, f('nf-conntrack\n', real='/etc/modules'))
    assert got['loads_at_boot'] is True
    assert [(e['file'], e['module']) for e in got['entries']] == [
        ('/etc/modules-load.d/nf_conntrack.conf', 'nf_conntrack'), ('/etc/modules', 'nf-conntrack')]
    assert _persist.modules_load_layers([], None)['loads_at_boot'] is False


def test_read_listing_real_files(tmp_path):
    root = str(tmp_path)
    os.makedirs(root + '/etc/sysctl.d')
    os.makedirs(root + '/usr/lib/sysctl.d')
    with open(root + '/usr/lib/sysctl.d/50-a.conf', 'w') as fh:
        fh.write('net.netfilter.nf_conntrack_max = 3\n')
    os.symlink('/dev/null', root + '/etc/sysctl.d/50-a.conf')
    with open(root + '/etc/sysctl.d/60-empty.conf', 'w') as fh:
        fh.write('')
    with open(root + '/etc/sysctl.d/README', 'w') as fh:
        fh.write('net.netfilter.nf_conntrack_max = 4\n')
    listing = _persist.read_listing(_persist.SYSCTL_DIRS, root)
    got = _persist.sysctl_layers(listing, _persist.read_single('/etc/sysctl.conf', root))
    assert got['effective'] == {}
    assert listing[0][1]['50-a.conf']['masked'] is True
    assert 'README' not in listing[0][1]
