# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet drift report: pure functions over registered results."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def collect(per_host):
    """per_host: name -> {'settings': conntrack_settings result, 'recommendation': recommend result}."""
    hosts = {}
    drifted = []
    for name in sorted(per_host):
        item = per_host[name] or {}
        res = item.get('settings') or {}
        rec = item.get('recommendation') or {}
        if not res:
            hosts[name] = {'drifted': None, 'error': 'no result (host unreachable or skipped)'}
            drifted.append(name)
            continue
        if res.get('failed') or 'drift_report' not in res:
            hosts[name] = {'drifted': None, 'error': res.get('msg', 'failed')}
            drifted.append(name)
            continue
        rep = res.get('drift_report') or {}
        keys = dict((k, v) for k, v in (rep.get('keys') or {}).items() if v.get('kinds'))
        readonly = dict((k, v['readonly']) for k, v in (rep.get('keys') or {}).items() if v.get('readonly'))
        entry = {'drifted': bool(rep.get('drifted')), 'profile': rec.get('profile'), 'keys': keys,
                 'files': rep.get('files') or [], 'readonly': readonly}
        nt = item.get('notrack')
        if nt and not nt.get('skipped'):
            # the module returns drift_report even when it refuses (a failed result)
            ntrep = nt.get('drift_report')
            if ntrep is None:
                entry['notrack'] = {'drifted': None, 'error': nt.get('msg', 'no drift report')}
                entry['drifted'] = True
            else:
                entry['notrack'] = ntrep
                if ntrep.get('drifted') or nt.get('failed'):
                    entry['drifted'] = True
                if nt.get('failed'):
                    entry['notrack'] = dict(ntrep, error=nt.get('msg'))
        hosts[name] = entry
        if entry['drifted']:
            drifted.append(name)
    return {'drifted': bool(drifted), 'drifted_hosts': drifted, 'hosts': hosts}


def lines(report):
    """Readable lines for the console."""
    out = []
    for name, h in sorted(report['hosts'].items()):
        if h.get('error'):
            out.append('%s: ERROR %s' % (name, h['error']))
            continue
        out.append('%s: %s' % (name, 'DRIFT' if h['drifted'] else 'in sync'))
        for short, k in sorted(h.get('keys', {}).items()):
            out.append('  %s: %s (desired %s, runtime %s, persisted %s, at boot %s%s)' % (
                short, '+'.join(k['kinds']), k['desired'], k['runtime'], k['persisted'], k['at_boot'],
                (' from %s' % k['at_boot_file']) if k.get('at_boot_file') else '') +
                ('; shadowed by %s' % ', '.join(k['shadowed_by']) if k.get('shadowed_by') else ''))
        for f in h.get('files', []):
            out.append('  file differs: %s' % f)
        nt = h.get('notrack')
        if nt:
            if nt.get('error') and nt.get('drifted') is None:
                out.append('  NOTRACK: ERROR %s' % nt['error'])
            else:
                out.extend('  ' + line for line in notrack_lines(nt))
                if nt.get('error'):
                    out.append('  NOTRACK: %s' % nt['error'])
    return out


def notrack_lines(report, host=None):
    """Readable lines of a drift report (the module's drift_report), for the audit."""
    prefix = '%s: ' % host if host else ''
    if not report:
        return [prefix + 'NOTRACK: no report']
    if not report['drifted']:
        return [prefix + 'NOTRACK: in sync (%s)' % (report.get('backend') or 'absent')]
    out = [prefix + 'NOTRACK: DRIFT (backend %s, state %s)' % (report.get('backend') or '-', report.get('state'))]
    rs, cp = report['ruleset'], report['companion']
    ps = report.get('persistence') or {}
    for label, items in (('missing rule', rs['missing']),
                         ('extra rule', rs['extra']),
                         ('ours in another backend (removed on apply)', rs['other_backends']),
                         ('companion missing', cp['missing']),
                         ('companion extra', cp['extra']),
                         ('companion needed but refused', cp['refused']),
                         ('persisted file differs', ps.get('files') or []),
                         ('service not enabled', ps.get('services') or [])):
        out.extend('  %s: %s' % (label, item) for item in items)
    return out
