# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report (schema v1, _audit_report.build) as ONE self-contained HTML5 page:
inline CSS, a small inline script for sorting and filtering (the page reads fine without it),
no external reference of any kind. Everything from the report is escaped (docs/audit.md)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from html import escape

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, report as _audit_report

# usage bar colors: amber from WARN, red from FULL (ratio of max)
WARN = 0.75
FULL = 0.95
STATUS_TEXT = {'in_sync': 'in sync', 'drifted': 'drifted', 'unreachable': 'unreachable', 'failed': 'failed'}
DASH = '&mdash;'
_UNSAFE_ID = re.compile(r'[^A-Za-z0-9_.-]+')

CSS = """
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff3c4;--bad:#cf222e;--bad-bg:#ffe0e0;
--gone:#6e40c9;--gone-bg:#eee6ff;--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--head:#f6f8fa;
--bar-ok:#2da44e;--bar-warn:#d4a72c;--bar-bad:#e5534b}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif;color:var(--fg);
background:#fff}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
header{padding:18px 28px 14px;border-bottom:1px solid var(--line);background:var(--head)}
h1{margin:0 0 4px;font-size:24px}
h2{font-size:18px;margin:22px 0 10px}
h3{font-size:14px;margin:14px 0 6px}
main{padding:0 28px 28px}
.meta{color:var(--mute);margin:0 0 12px}
.meta b{color:var(--fg);font-weight:600}
.verdict{display:inline-block;font-weight:700;padding:4px 12px;border-radius:6px;margin:0 0 12px}
.verdict.fail{background:var(--bad);color:#fff}
.verdict.pass{background:var(--ok);color:#fff}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{min-width:150px;padding:10px 16px;border-radius:8px;border:1px solid var(--line);background:#fff}
.tile .n{display:block;font-size:32px;font-weight:700;line-height:1.1}
.tile .l{color:var(--mute);font-size:13px}
.tile.in_sync{border-color:var(--ok);background:var(--ok-bg)}.tile.in_sync .n{color:var(--ok)}
.tile.drifted{border-color:var(--warn);background:var(--warn-bg)}.tile.drifted .n{color:var(--warn)}
.tile.unreachable{border-color:var(--gone);background:var(--gone-bg)}.tile.unreachable .n{color:var(--gone)}
.tile.failed,.tile.failing{border-color:var(--bad);background:var(--bad-bg)}.tile.failed .n,.tile.failing .n{color:var(--bad)}
.tile.zero{border-color:var(--line);background:#fff}.tile.zero .n{color:var(--mute)}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.hosts td{vertical-align:middle}
table.hosts tbody tr:hover{background:#f3f6fa}
table.hosts tr.fails td:first-child{box-shadow:inset 4px 0 0 var(--bad)}
.js table.hosts th{cursor:pointer;user-select:none}
.js table.hosts th:after{content:" \\2195";color:#b0b8c1}
.js table.hosts th[aria-sort=ascending]:after{content:" \\25B2";color:var(--fg)}
.js table.hosts th[aria-sort=descending]:after{content:" \\25BC";color:var(--fg)}
a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap;
border:1px solid transparent}
.b-in_sync{background:var(--ok-bg);color:var(--ok);border-color:#aceebb}
.b-drifted{background:var(--warn-bg);color:var(--warn);border-color:#f0d47a}
.b-unreachable{background:var(--gone-bg);color:var(--gone);border-color:#d2c2f7}
.b-failed{background:var(--bad-bg);color:var(--bad);border-color:#ffb8b8}
.flag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;font-size:11px;font-weight:700;
background:var(--bad);color:#fff;text-transform:uppercase;letter-spacing:.03em}
.usage{display:flex;align-items:center;gap:8px;min-width:170px}
.usage .pct{width:52px;text-align:right;font-variant-numeric:tabular-nums}
.bar{flex:1;height:10px;background:#eaeef2;border-radius:5px;overflow:hidden;min-width:90px}
.bar span{display:block;height:100%;border-radius:5px}
.u-ok{background:var(--bar-ok)}.u-warn{background:var(--bar-warn)}.u-bad{background:var(--bar-bad)}
.drops{color:var(--bad);font-weight:600}
.mute{color:var(--mute)}
.small{font-size:12px}
details.host{border:1px solid var(--line);border-radius:8px;margin:0 0 10px;background:#fff;content-visibility:auto;
contain-intrinsic-size:auto 60px}
details.host>summary{padding:8px 12px;cursor:pointer;background:var(--head);border-radius:8px}
details.host[open]>summary{border-bottom:1px solid var(--line);border-radius:8px 8px 0 0}
details.host.st-failed,details.host.fails{border-left:4px solid var(--bad)}
details.host.st-drifted:not(.fails){border-left:4px solid var(--warn)}
details.host.st-unreachable:not(.fails){border-left:4px solid var(--gone)}
details.host:target{outline:3px solid #54aeff}
summary .name{font-weight:700;margin:0 8px}
.body{padding:8px 14px 12px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:4px 0 8px}
dl.facts dt{color:var(--mute)}dl.facts dd{margin:0}
table.keys{font-size:13px}
table.keys td:nth-child(5){width:24%}table.keys td:nth-child(7){width:30%}
table.keys tr.drift td{background:#fffbea}
table.keys tr.failing td{background:#fff1f1}
table.keys td.off{color:var(--bad);font-weight:700}table.keys td.off .mute,table.keys td.off .small{font-weight:400}
.kind{display:inline-block;margin:0 3px 2px 0;padding:0 6px;border-radius:4px;font-size:11.5px;font-weight:600;
background:#eaeef2;color:var(--mute)}
.kind.fail{background:var(--bad);color:#fff}
.kind.warnk{background:var(--warn-bg);color:var(--warn)}
.error{background:var(--bad-bg);border:1px solid #ffb8b8;border-radius:6px;padding:8px 10px;white-space:pre-wrap;
word-break:break-word;margin:8px 0}
ul.warnings{margin:4px 0;padding-left:20px;color:var(--warn)}
pre.lines{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:4px 0;
white-space:pre-wrap;word-break:break-word}
.filter{margin:0 0 8px}.filter input{font:inherit;padding:4px 8px;width:280px;border:1px solid var(--line);border-radius:6px}
footer{padding:10px 28px 24px;color:var(--mute);font-size:12px}
"""

# sorting (numbers or text, from data-sort), the filter box, details opened when linked to
JS = r"""
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  var table = document.getElementById('host-table');
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  function value(row, i, num) {
    var v = row.cells[i].getAttribute('data-sort');
    if (v === null) { v = row.cells[i].textContent; }
    return num ? parseFloat(v) : v;
  }
  function sortBy(i) {
    var th = heads[i];
    var num = th.getAttribute('data-type') === 'num';
    var cur = th.getAttribute('aria-sort');
    var dir = cur === 'ascending' ? -1 : cur === 'descending' ? 1 : (th.getAttribute('data-first') === 'desc' ? -1 : 1);
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r) { return [value(r, i, num), +r.getAttribute('data-rank'), r]; });
    keyed.sort(function (a, b) {
      var c = num ? (a[0] - b[0]) : String(a[0]).localeCompare(String(b[0]), undefined, {numeric: true});
      return c ? c * dir : a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    body.appendChild(frag);
    for (var j = 0; j < heads.length; j++) { heads[j].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    th.tabIndex = 0;
    th.title = 'sort by ' + th.textContent;
    th.addEventListener('click', function () { sortBy(i); });
    th.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortBy(i); }
    });
  });
  var box = document.getElementById('filter');
  if (box) {
    box.parentNode.hidden = false;
    box.addEventListener('input', function () {
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (r) {
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === 'DETAILS') { el.open = true; }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
})();
"""


def host_ids(names):
    """{name: element id}: 'host-' + the name with anything but [A-Za-z0-9_.-] replaced, unique."""
    ids, used = {}, set()
    for name in names:
        base = 'host-' + (_UNSAFE_ID.sub('-', str(name)) or 'x')
        hid, n = base, 1
        while hid in used:
            n += 1
            hid = '%s-%d' % (base, n)
        used.add(hid)
        ids[name] = hid
    return ids


def _num(value):
    """A number for humans (thousands separated), DASH for None, escaped text otherwise."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, int):
        return '{0:,}'.format(value)
    if isinstance(value, float):
        return '{0:,.2f}'.format(value)
    return escape(str(value))


def _bytes(value):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return _num(value)
    for unit, size in (('GiB', 1024 ** 3), ('MiB', 1024 ** 2), ('KiB', 1024)):
        if value >= size:
            return '%.1f %s' % (float(value) / size, unit)
    return '%d B' % value


def _value(value):
    """A key's value: numbers as _num, anything else through _audit.show (never None)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _num(value)
    return escape(_audit.show(value))


def _text(value):
    return DASH if value is None or value == '' else escape(str(value))


def _ratio(usage):
    r = usage.get('ratio')
    return r if isinstance(r, (int, float)) and not isinstance(r, bool) else None


def usage_bar(ratio):
    """The usage cell's content: percent and a bar (width = ratio capped at 100%, green/amber/red)."""
    if ratio is None:
        return '<span class="mute">%s</span>' % DASH
    width = max(0.0, min(float(ratio), 1.0)) * 100
    cls = 'u-bad' if ratio >= FULL else 'u-warn' if ratio >= WARN else 'u-ok'
    return ('<div class="usage"><span class="pct">%.1f%%</span><div class="bar"><span class="%s" style="width:%s%%">'
            '</span></div></div>' % (100.0 * ratio, cls, '%g' % round(width, 1)))


def _drops(drops):
    parts = [drops.get(k) for k in ('drop', 'early_drop', 'insert_failed')]
    nums = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    if not nums:
        return None, ''
    title = 'drop %s, early_drop %s, insert_failed %s' % tuple('-' if p is None else p for p in parts)
    return sum(nums), title


def _badge(status):
    return '<span class="badge b-%s">%s</span>' % (escape(status), escape(STATUS_TEXT.get(status, status)))


def _flag(entry):
    if not entry.get('fails_run'):
        return ''
    return '<span class="flag" title="fails the run: %s">fails run</span>' % escape(', '.join(entry.get('failing_kinds') or []))


def host_row(out, name, entry, hid, rank):
    status = str(entry.get('status'))
    usage = entry.get('usage') or {}
    ratio = _ratio(usage)
    total, title = _drops(entry.get('drops') or {})
    count, max_entries = usage.get('count'), usage.get('max')
    fails = ' fails' if entry.get('fails_run') else ''
    drift = entry.get('drift_count') or 0
    out.append(
        '<tr data-host="%s" data-status="%s" data-rank="%d" class="st-%s%s">'
        '<td data-sort="%s"><a href="#%s">%s</a></td>'
        '<td data-sort="%d"%s>%s%s</td>'
        '<td>%s</td>'
        '<td class="num" data-sort="%s">%s</td>'
        '<td class="num" data-sort="%s">%s / %s</td>'
        '<td class="num" data-sort="%s"%s>%s</td>'
        '<td class="num" data-sort="%d">%s</td></tr>' % (
            escape(name), escape(status), rank, escape(status), fails,
            escape(name), hid, escape(name),
            rank, (' title="%s"' % escape(str(entry['error']))) if entry.get('error') else '', _badge(status), _flag(entry),
            _text(entry.get('profile')),
            repr(ratio) if ratio is not None else '-1', usage_bar(ratio),
            count if isinstance(count, int) else -1, _num(count), _num(max_entries),
            total if total is not None else -1, (' title="%s"' % escape(title)) if title else '',
            ('<span class="drops">%s</span>' % _num(total)) if total else '<span class="mute">%s</span>' % _num(total),
            drift, ('<b>%d</b>' % drift) if drift else '<span class="mute">0</span>'))


def _kind_class(kind, fail_on):
    if kind in fail_on:
        return 'fail'
    return '' if kind == 'unpersisted' else 'warnk'


def _kinds(kinds, fail_on):
    return ''.join('<span class="kind %s">%s</span>' % (_kind_class(k, fail_on), escape(k)) for k in kinds)


def _key_row(out, short, k, fail_on):
    kinds = list(k.get('kinds') or [])
    cls = 'failing' if any(x in fail_on for x in kinds) else 'drift' if [x for x in kinds if x != 'unpersisted'] else ''
    source = k.get('at_boot_source')
    at_boot = k.get('at_boot')
    boot = _value(at_boot) if at_boot is not None else escape(_audit.show(None, source))
    if source and (at_boot is not None or 'unknown' in source):
        boot += '<br><span class="mute small">%s</span>' % escape(source)
    if k.get('shadowed_by'):
        boot += '<br><span class="small">shadowed by %s</span>' % escape(', '.join(k['shadowed_by']))
    drift = _kinds(kinds, fail_on)
    if k.get('readonly'):
        drift += '<span class="kind" title="%s">read-only here</span>' % escape(str(k['readonly']))
    out.append('<tr class="%s"><td><b>%s</b><br><span class="mono mute small">%s</span></td>'
               '<td class="num%s">%s</td><td class="num">%s</td><td class="num">%s</td><td%s>%s</td><td>%s</td>'
               '<td title="%s">%s</td></tr>' % (
                   cls, escape(str(short)), _text(k.get('key')),
                   ' off' if 'runtime' in kinds else '', _value(k.get('runtime')), _value(k.get('desired')),
                   _value(k.get('persisted')), ' class="off"' if 'at_boot' in kinds else '', boot, drift or '<span class="mute">none</span>',
                   escape('source: %s' % k['source']) if k.get('source') else '', _text(k.get('reason'))))


def host_detail(out, name, entry, hid, fail_on):
    status = str(entry.get('status'))
    lines = entry.get('lines') or []
    out.append('<details class="host st-%s%s" id="%s" data-host="%s" data-status="%s"%s><summary>%s<span class="name">%s'
               '</span>%s <span class="mute">%s</span></summary><div class="body">' % (
                   escape(status), ' fails' if entry.get('fails_run') else '', hid, escape(name), escape(status),
                   '' if status == 'in_sync' else ' open', _badge(status), escape(name), _flag(entry),
                   escape(lines[0]) if lines and status in ('in_sync', 'drifted') else ''))
    if entry.get('error'):
        out.append('<div class="error"><b>%s:</b> %s</div>' % (escape(status), escape(str(entry['error']))))
    facts = _host_facts(entry, status, fail_on)
    if facts:
        out.append('<dl class="facts">%s</dl>' % ''.join('<dt>%s</dt><dd>%s</dd>' % f for f in facts))
    keys = entry.get('keys') or {}
    if keys:
        out.append('<table class="keys"><thead><tr><th>key</th><th class="num">current (runtime)</th>'
                   '<th class="num">recommended (desired)</th><th class="num">ours (persisted)</th><th>at boot</th>'
                   '<th>drift</th><th>reason</th></tr></thead><tbody>')
        for short, k in keys.items():
            _key_row(out, short, k or {}, fail_on)
        out.append('</tbody></table>')
    notrack = entry.get('notrack')
    if notrack is not None:
        out.append('<h3>NOTRACK: %s</h3>' % (
            '<span class="badge b-drifted">drifted</span>' if notrack.get('drifted') else '<span class="badge b-in_sync">in sync</span>'))
        if notrack.get('error'):
            out.append('<div class="error">%s</div>' % escape(str(notrack['error'])))
        if notrack.get('lines'):
            out.append('<pre class="lines">%s</pre>' % escape('\n'.join(str(x) for x in notrack['lines'])))
    warnings = entry.get('warnings') or []
    if warnings:
        out.append('<h3>warnings</h3><ul class="warnings">%s</ul>' % ''.join('<li>%s</li>' % escape(str(w)) for w in warnings))
    out.append('</div></details>')


def _host_facts(entry, status, fail_on):
    """The (label, html) pairs of a host's facts list: kernel, netns, usage, drops, memory, boot."""
    usage = entry.get('usage') or {}
    drops = entry.get('drops') or {}
    mem = entry.get('memory') or {}
    kernel = entry.get('kernel') or {}
    facts = []
    if kernel or status not in ('unreachable', 'failed'):
        facts = [('kernel', '%s%s' % (_text(kernel.get('release')),
                                      (' (%s)' % escape(str(kernel['arch']))) if kernel.get('arch') else '')),
                 ('netns', _text(entry.get('netns'))), ('conntrack', _text(entry.get('conntrack'))),
                 ('profile', _text(entry.get('profile')))]
    if usage:
        ratio = _ratio(usage)
        facts.append(('usage', '%s / %s%s; %s buckets, chain length %s' % (
            _num(usage.get('count')), _num(usage.get('max')), (' (%.1f%%)' % (100.0 * ratio)) if ratio is not None else '',
            _num(usage.get('buckets')), _num(usage.get('chain_length')))))
    if drops:
        facts.append(('drops', 'drop %s, early_drop %s, insert_failed %s, invalid %s%s' % (
            _num(drops.get('drop')), _num(drops.get('early_drop')), _num(drops.get('insert_failed')),
            _num(drops.get('invalid')), (' <span class="mute">(%s)</span>' % escape(str(drops['source'])))
            if drops.get('source') else '')))
    if mem:
        facts.append(('memory', '%s per entry; %s now, %s at the recommended max; budget %s (%s%% of RAM)%s' % (
            _bytes(mem.get('entry_bytes')), _bytes(mem.get('bytes_now')), _bytes(mem.get('bytes_at_recommended_max')),
            _bytes(mem.get('budget_bytes')), _num(mem.get('budget_percent')),
            {True: ', within budget', False: ', <b class="drops">over budget</b>'}.get(mem.get('within_budget'), ''))))
    why = (entry.get('boot') or {}).get('why')
    if why:
        facts.append(('boot', escape(str(why))))
    if entry.get('failing_kinds'):
        facts.append(('fails the run on', _kinds(entry['failing_kinds'], fail_on)))
    return facts


def _tile(kind, n, label, extra=''):
    return '<div class="tile %s%s" data-count="%s"><span class="n">%s</span><span class="l">%s%s</span></div>' % (
        kind, ' zero' if not n and kind != 'hosts' else '', kind, _num(n), label, extra)


def to_html(report):
    """The report as one self-contained HTML5 page (str)."""
    counts = report.get('counts') or {}
    opts = report.get('options') or {}
    fail_on = list(opts.get('fail_on') or [])
    fail_set = set(fail_on)
    profile = report.get('profile') or report.get('profiles')
    if isinstance(profile, (list, tuple)):
        profile = ', '.join(str(p) for p in profile)
    names = _audit_report.order(report)
    ids = host_ids(names)
    hosts = report['hosts']
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           '<title>conntrack audit %s</title><style>%s</style></head><body>' % (_text(report.get('generated_at')), CSS)]
    meta = [('generated', _text(report.get('generated_at'))), ('collection', _text(report.get('collection_version'))),
            ('ansible-core', _text(report.get('ansible_core_version'))), ('profile', _text(profile)),
            ('fail_on', _text(', '.join(str(x) for x in fail_on)))]
    meta.extend((escape(str(k)), _text(v)) for k, v in sorted(opts.items()) if k != 'fail_on')
    out.append('<header><h1>conntrack audit</h1><p class="meta">%s</p>' % ' &middot; '.join(
        '%s <b>%s</b>' % meta_item for meta_item in meta))
    if report.get('failed'):
        out.append('<div class="verdict fail">FAIL: %s of %s hosts fail the run</div>' % (
            _num(counts.get('failing')), _num(counts.get('hosts'))))
    else:
        out.append('<div class="verdict pass">PASS: no host fails the run</div>')
    out.append('<div class="tiles" id="counts">%s</div></header><main>' % ''.join((
        _tile('hosts', counts.get('hosts'), 'hosts', ' (%s checked)' % _num(counts.get('checked'))),
        _tile('in_sync', counts.get('in_sync'), 'in sync'),
        _tile('drifted', counts.get('drifted'), 'drifted'),
        _tile('unreachable', counts.get('unreachable'), 'unreachable'),
        _tile('failed', counts.get('failed'), 'failed'),
        _tile('failing', counts.get('failing'), 'failing the run'))))
    out.append('<h2 id="hosts">Hosts <span class="mute small">worst first; click a column header to sort</span></h2>'
               '<p class="filter" hidden><input id="filter" type="search" placeholder="filter hosts" aria-label="filter hosts">'
               '</p><table class="hosts" id="host-table"><thead><tr>'
               '<th>host</th><th data-type="num">status</th><th>profile</th>'
               '<th class="num" data-type="num" data-first="desc">usage</th>'
               '<th class="num" data-type="num" data-first="desc">count / max</th>'
               '<th class="num" data-type="num" data-first="desc">drops</th>'
               '<th class="num" data-type="num" data-first="desc">drift</th></tr></thead><tbody>')
    for rank, name in enumerate(names):
        host_row(out, name, hosts[name], ids[name], rank)
    out.append('</tbody></table><h2 id="details">Host details</h2>')
    for name in names:
        host_detail(out, name, hosts[name], ids[name], fail_set)
    out.append('</main><footer>%s v%s &middot; nfct.tuning conntrack_audit</footer><script>%s</script></body></html>\n' % (
        _text(report.get('schema')), _text(report.get('schema_version')), JS))
    # ASCII only: the page survives any file encoding; the meta charset still says utf-8
    return ''.join(out).encode('ascii', 'xmlcharrefreplace').decode('ascii')
