# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's audit (_audit.host_entry): the kinds of drift per key, what the next boot gives,
and the readable lines - a table of host states built with the real pipeline (facts, the sizing
engine, the conntrack_settings plan in check mode). Issue 12, "drift that means something"."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit
from ansible_collections.nfct.tuning.plugins.module_utils.host import state as _state
from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings
from ansible_collections.nfct.tuning.plugins.module_utils.sizing import engine as _sizing

import audit_synth
import synth

PARAMS = audit_synth.PARAMS
OURS = PARAMS['sysctl_file']
UDEV = PARAMS['udev_rule_file']


def listing_of(files):
    """sysctl.d listing from {path: content} (only /etc/sysctl.d here)."""
    entries = dict((path.rsplit('/', 1)[1], {'content': text, 'real': path, 'masked': False})
                   for path, text in files.items() if path.startswith('/etc/sysctl.d/'))
    return [('/etc/sysctl.d', entries)] if entries else []


def audit(profile='web', facts=None, ours='desired', others=None, owned=None, fail_on=_audit.DEFAULT_FAIL_ON,
          runtime=None, notrack=None, **kw):
    """The audit entry of a host. ours: 'desired' (our file holds the recommendation), None (no
    file), or {short: value} (our file with these values); others: {path: text} of other sysctl.d
    files; owned: more files of ours {path: text}; runtime: live values {short: value}."""
    facts = facts or synth.facts(**kw)
    rec = _sizing.recommend(facts, profile=profile, only_raise=False)
    desired = rec['recommended']
    files = {}
    if ours == 'desired':
        files[OURS] = _settings.render_sysctl(desired)
    elif ours is not None:
        files[OURS] = _settings.render_sysctl(ours)
    files.update(others or {})
    if runtime:
        facts['sysctls'].update(runtime)
        for k in ('max', 'buckets'):
            facts[k] = facts['sysctls'][k]
    current = dict((p, files.get(p)) for p in (OURS,))
    current.update(owned or {})
    plan = _settings.plan(facts, desired, PARAMS, _state.of(current, listing_of(files)))
    return _audit.host_entry(facts, rec, plan, current, UDEV, notrack, fail_on, OURS)


def kinds(entry):
    return dict((k, v['kinds']) for k, v in entry['keys'].items() if v['kinds'])


def at_desired(profile='web', **kw):
    """Facts whose live values already are the profile's recommendation."""
    f = synth.facts(**kw)
    rec = _sizing.recommend(f, profile=profile, only_raise=False)['recommended']
    return synth.facts(sysctls=rec, cmax=rec.get('max'), buckets=rec.get('buckets'), **kw)


def test_fresh_host_with_the_kernels_defaults_passes():
    # issue 12: "a fresh host fails the audit (rc 2) although nothing is wrong"; issue 23: the
    # kernel's defaults, which every boot gives again, are in sync (no kind at all)
    e = audit('default', ours=None)
    assert e['status'] == 'in_sync' and not e['fails_run'] and e['failing_kinds'] == []
    assert kinds(e) == {}
    assert e['keys']['buckets']['kernel_default'] is True and e['keys']['max']['kernel_default'] is True
    assert e['keys']['buckets']['at_boot'] == 262144
    assert e['keys']['buckets']['at_boot_source'].startswith('kernel default')
    text = '\n'.join(e['lines'])
    assert 'None' not in text
    assert "at the kernel's default, which every boot gives again (no file needed): buckets, max" in text


def test_a_value_raised_at_runtime_only_is_unpersisted_and_fails_by_default():
    # issue 23: relieve raises max at runtime; the next boot would give the old one
    facts = at_desired('web')
    e = audit('web', facts=facts, ours=None)
    assert e['keys']['max']['kinds'] == ['unpersisted']
    assert 'unpersisted' in e['failing_kinds'] and e['status'] == 'drifted'
    assert any(line.startswith('  max: unpersisted - runtime %d is the desired value, but the next boot gives'
                               % facts['max']) for line in e['lines'])
    assert not audit('web', facts=facts, ours=None, fail_on=['runtime'])['fails_run']


@pytest.mark.parametrize('case, setup, expected', [
    ('in sync', dict(ours='desired'), {}),
    ('a sysctl -w by hand: runtime only (our file still gives the value at boot)',
     dict(ours='desired', runtime={'tcp_timeout_time_wait': 99}), {'tcp_timeout_time_wait': ['runtime']}),
    ('no file of ours: every non-default value is lost at the next boot',
     dict(ours=None), 'every'),
    ('our file edited: the live value is right, the next boot is not',
     dict(ours='edit'), {'tcp_timeout_fin_wait': ['unpersisted']}),
    ('another file after ours sets another value',
     dict(ours='desired', others={'/etc/sysctl.d/99-local.conf': 'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 120\n'}),
     {'tcp_timeout_fin_wait': ['unpersisted', 'shadowed']}),
    ('another file after ours sets the same value: shadowed, the boot is right',
     dict(ours='desired', others={'/etc/sysctl.d/99-local.conf': 'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 60\n'}),
     {'tcp_timeout_fin_wait': ['shadowed']}),
    ('a file before ours: ours wins, nothing to report',
     dict(ours='desired', others={'/etc/sysctl.d/10-local.conf': 'net.netfilter.nf_conntrack_tcp_timeout_fin_wait = 120\n'}),
     {}),
])
def test_kinds_per_key(case, setup, expected):
    setup = dict(setup)
    facts = at_desired('web')
    if setup.get('ours') == 'edit':
        rec = _sizing.recommend(facts, profile='web', only_raise=False)['recommended']
        setup['ours'] = dict(rec, tcp_timeout_fin_wait=61)
    if setup.get('ours') is None:
        facts = synth.facts()   # the kernel's defaults live and no file
    e = audit('web', facts=facts, **setup)
    got = kinds(e)
    if expected == 'every':
        assert got and all('at_boot' in k for k in got.values()), got
        assert all(e['keys'][s]['at_boot_source'].startswith('kernel default') for s in got)
    else:
        assert got == expected, case
    assert e['status'] == ('drifted' if got else 'in_sync')
    if 'shadowed' in str(expected):
        assert e['keys']['tcp_timeout_fin_wait']['shadowed_by'] == ['/etc/sysctl.d/99-local.conf']
    assert 'None' not in '\n'.join(e['lines'])


def test_buckets_at_boot_compares_what_the_kernel_rounds_to():
    # the kernel rounds a hash size to a page of buckets; a file holding a value that rounds to
    # the desired one gives the desired value at boot
    facts = at_desired('web')
    rec = _sizing.recommend(facts, profile='web', only_raise=False)['recommended']
    e = audit('web', facts=facts, ours=dict(rec, buckets=rec['buckets'] - 1))
    assert 'at_boot' not in e['keys']['buckets']['kinds']


def test_loadable_module_loading_after_systemd_sysctl_loses_the_values():
    # a module without a modules-load.d entry or our udev rule: systemd-sysctl runs before it
    # loads and the net.netfilter keys of sysctl.d are lost (molecule/vm proves it on a real boot)
    facts = at_desired('web', module='module')
    e = audit('web', facts=facts)
    assert e['boot']['sysctl_d_applies'] is False
    timeouts = [s for s in e['keys'] if 'timeout' in s]
    # right now, lost at the next boot
    assert timeouts and all(e['keys'][s]['kinds'] == ['unpersisted'] for s in timeouts)
    assert 'lost' in e['keys']['tcp_timeout_fin_wait']['at_boot_source']
    assert any(line.startswith('  boot: nf_conntrack is a module that loads after systemd-sysctl') for line in e['lines'])
    # with our udev rule (or a modules-load.d entry) the values reach the kernel
    e = audit('web', facts=at_desired('web', module='module'), owned={UDEV: 'ACTION=="add"...\n'})
    assert e['boot']['sysctl_d_applies'] is True
    facts = at_desired('web', module='module')
    facts['persisted']['modules_load'] = {'entries': ['nf_conntrack'], 'loads_at_boot': True}
    assert audit('web', facts=facts)['boot']['sysctl_d_applies'] is True


def test_our_other_boot_files_differing_is_at_boot_drift():
    facts = at_desired('web', module='module')
    facts['persisted']['modules_load'] = {'entries': ['nf_conntrack'], 'loads_at_boot': True}
    params_modprobe = PARAMS['modprobe_file']
    e = audit('web', facts=facts, owned={params_modprobe: 'options nf_conntrack hashsize=1024\n'})
    assert {'path': params_modprobe, 'change': 'update'} in e['files']
    assert e['status'] == 'drifted' and 'at_boot' in e['failing_kinds']
    assert any(line == '  at_boot: %s would be updated (a boot file of ours)' % params_modprobe for line in e['lines'])


def test_global_keys_are_read_only_in_a_container():
    facts = at_desired('web', initial=False)
    facts['sysctls']['max'] = 1024
    facts['max'] = 1024
    e = audit('web', facts=facts)
    assert e['keys']['max']['readonly'] and e['keys']['max']['kinds'] == []
    assert e['keys']['buckets']['readonly']
    assert any(line.startswith('  read-only here (global keys, set on the host): ') for line in e['lines'])
    assert e['status'] == 'in_sync'


@pytest.mark.parametrize('fail_on, fails', [
    (_audit.DEFAULT_FAIL_ON, ['runtime']),
    (['at_boot'], []),
    ([], []),
])
def test_fail_on_chooses_what_fails(fail_on, fails):
    e = audit('web', facts=at_desired('web'), runtime={'tcp_timeout_time_wait': 99}, fail_on=fail_on)
    assert e['status'] == 'drifted'
    assert e['failing_kinds'] == fails and e['fails_run'] is bool(fails)


def test_notrack_drift_is_a_host_kind():
    nt = {'drifted': True, 'report': {'drifted': True}, 'error': None, 'lines': ['NOTRACK: DRIFT (backend nftables)']}
    e = audit('web', facts=at_desired('web'), notrack=nt)
    assert e['status'] == 'drifted' and e['failing_kinds'] == ['notrack']
    assert '  NOTRACK: DRIFT (backend nftables)' in e['lines']
    e = audit('web', facts=at_desired('web'), notrack=dict(nt, drifted=False, lines=['NOTRACK: in sync (nftables)']))
    assert e['status'] == 'in_sync'
    # a NOTRACK check that could not run (the ruleset unreadable) is drift: nothing was proven
    e = audit('web', facts=at_desired('web'), notrack={'drifted': False, 'error': 'nft: permission denied',
                                                       'report': None, 'lines': []})
    assert e['notrack']['drifted'] and '  NOTRACK: ERROR nft: permission denied' in e['lines']


@pytest.mark.parametrize('value, source, shown', [
    (None, None, 'not set'),
    (None, 'kernel default unknown', 'not set'),
    (262144, 'kernel default (5.15+: RAM / 16384 / 8 bytes)', 'kernel default (262144)'),
    (60, '/etc/sysctl.d/90-conntrack.conf', '60'),
    (0, None, '0'),
])
def test_show_never_prints_none(value, source, shown):
    assert _audit.show(value, source) == shown


def test_unavailable_and_error_entries():
    facts = synth.facts()
    facts['available'] = False
    facts['module'] = {'type': 'absent', 'loaded': False, 'evidence': 'no /proc/sys/net/netfilter'}
    e = _audit.unavailable_entry(facts, {'profile': 'web', 'warnings': []})
    assert e['status'] == 'in_sync' and e['conntrack'] == 'absent'
    assert e['lines'] == ['conntrack not available here (no /proc/sys/net/netfilter): nothing to audit']
    e = _audit.error_entry('unreachable', 'ssh: no route to host')
    assert e['lines'] == ['UNREACHABLE: ssh: no route to host'] and e['failing_kinds'] == ['unreachable']


def test_breakdown_lines():
    bd = {'total': 10, 'source': 'procfs', 'l4': {'tcp': 7, 'udp': 3}, 'l3': {'ipv4': 10}, 'tcp_states': {'ESTABLISHED': 7},
          'assured': 6, 'unreplied': 1, 'top_exact': True,
          'top_sources': [{'key': '10.0.0.1', 'count': 4}], 'top_destinations': [], 'top_destination_ports': []}
    out = _audit.breakdown_lines(bd)
    assert out[0] == '  breakdown of 10 entries (procfs): tcp 7, udp 3; ipv4 10'
    assert out[2] == '    top sources: 10.0.0.1 (4)'
    assert _audit.breakdown_lines({'error': 'too big'}) == ['  breakdown: too big']


@pytest.mark.parametrize('profile', sorted(__import__(
    'ansible_collections.nfct.tuning.plugins.module_utils.sizing.profiles', fromlist=['x']).BUILTIN_PROFILES))
def test_sources_name_the_origin_not_how_the_project_was_made(profile):
    # issue 12: output cited "seed articles (router example values), adapted"
    first = _sizing.recommend(synth.facts(), profile=profile, only_raise=False, force=True)['recommended']['max']
    # a busy table (90% of what the profile gives): the live-count rule and its source show
    facts = synth.facts(count=first * 9 // 10, cmax=first)
    rec = _sizing.recommend(facts, profile=profile, only_raise=False, force=True)
    assert any('20% of max' in (v.get('source') or '') for v in rec['values'].values())
    texts = [v.get('reason') or '' for v in rec['values'].values()] + [v.get('source') or '' for v in rec['values'].values()]
    texts += _sizing.report_lines('h', facts, rec) + list(rec.get('warnings') or [])
    for text in texts:
        assert 'seed' not in text.lower() and 'adapted' not in text.lower(), text
