# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report (schema v2, audit/report.build) as ONE self-contained HTML5 page, the
page an operator acts on (docs/audit.md, "HTML"): a table of hosts worst first; under each host's
row its section, open when there is something to act on - the health kinds with their evidence
and window, the commands that fix the host, the drifted keys with where every value comes from,
the users verdict, the breakdown when gathered.

Small for large fleets: what several hosts share is written once and linked to - the reason and
source of every recommended value (one legend: r1, r2...; the sources s1, s2...), and any block
of a section that is the same on several hosts (the keys as recommended: K1...; a users verdict:
U1...; a table of drifted keys: D1...); a quiet host in sync gets a compact section. Inline CSS
and a small inline script for sorting, the search box and opening sections; without it the page
reads the same (a section opens from its host's link, :target). No external reference of any
kind; everything from the report is escaped. Runs on the controller only."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import time
from html import escape

from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry as _audit, report as _audit_report

# usage bar colors: amber from WARN, red from FULL (ratio of max)
WARN = 0.75
FULL = 0.95
STATUS_TEXT = {'in_sync': 'in sync', 'drifted': 'drifted', 'unreachable': 'unreachable', 'failed': 'failed'}
DASH = '&mdash;'
SEP = '; '
_UNSAFE_ID = re.compile(r'[^A-Za-z0-9_.-]+')
# the blocks several hosts may share: id prefix, what the shared block is
SHARED = {'drift': ('D', 'drifted keys'), 'keys': ('K', 'keys as recommended'), 'users': ('U', 'what uses conntrack')}
# health kinds that fail the run by default: in capitals, as in the console lines
LOUD = ('full', 'dropping')
COLUMNS = 8

CSS = """
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff3c4;--bad:#cf222e;--bad-bg:#ffe0e0;
--gone:#6e40c9;--gone-bg:#eee6ff;--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--head:#f6f8fa;
--bar-ok:#2da44e;--bar-warn:#d4a72c;--bar-bad:#e5534b}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif;color:var(--fg);
background:#fff;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
header{padding:18px 28px 14px;border-bottom:1px solid var(--line);background:var(--head)}
h1{margin:0 0 4px;font-size:24px}
h2{font-size:18px;margin:22px 0 10px}
main{padding:0 28px 28px}
p{margin:3px 0}
i{font-style:normal;color:var(--mute)}
.small{font-size:12px}
.meta{color:var(--mute);margin:0 0 12px}
.meta b{color:var(--fg);font-weight:600}
.verdict{display:inline-block;font-weight:700;padding:4px 12px;border-radius:6px;margin:0 0 12px}
.verdict.fail{background:var(--bad);color:#fff}
.verdict.pass{background:var(--ok);color:#fff}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{min-width:130px;padding:10px 16px;border-radius:8px;border:1px solid var(--line);background:#fff}
.tile .n{display:block;font-size:32px;font-weight:700;line-height:1.1}
.tile .l{color:var(--mute);font-size:13px}
.tile.in_sync{border-color:var(--ok);background:var(--ok-bg)}.tile.in_sync .n{color:var(--ok)}
.tile.drifted{border-color:var(--warn);background:var(--warn-bg)}.tile.drifted .n{color:var(--warn)}
.tile.unreachable{border-color:var(--gone);background:var(--gone-bg)}.tile.unreachable .n{color:var(--gone)}
.tile.failed,.tile.failing,.tile.unhealthy{border-color:var(--bad);background:var(--bad-bg)}
.tile.failed .n,.tile.failing .n,.tile.unhealthy .n{color:var(--bad)}
.tile.zero{border-color:var(--line);background:#fff}.tile.zero .n{color:var(--mute)}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
table.hosts{table-layout:fixed}
#host-table>thead th{position:sticky;top:0;z-index:1;border-bottom:2px solid var(--line)}
.c-host{width:22%}.c-status{width:120px}.c-profile{width:11%}.c-usage{width:170px}.c-count{width:14%}
.c-drops{width:80px}.c-drift{width:60px}
#host-table>tbody>tr:first-child>td{vertical-align:middle}
#host-table>tbody>tr:first-child>td:nth-child(n+4):nth-child(-n+7),#host-table>thead th:nth-child(n+4):nth-child(-n+7){
text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
#host-table>tbody>tr:first-child>td:first-child{font-weight:600}
#host-table>tbody>tr:first-child>td:last-child{color:var(--bad);font-size:12px}
#host-table>tbody>tr:first-child:hover{background:#f3f6fa}
#host-table>tbody.fails>tr>td:first-child{box-shadow:inset 4px 0 0 var(--bad)}
#host-table>tbody>tr+tr{display:none}
#host-table>tbody.open>tr+tr,html:not(.js) #host-table>tbody:target>tr+tr{display:table-row}
#host-table>tbody>tr+tr>td{padding:4px 14px 12px 22px;border-bottom:2px solid var(--line);font-size:13px}
#host-table>tbody:target>tr>td{background:#f1f8ff}
.js #host-table>thead th{cursor:pointer;user-select:none}
.js #host-table>thead th:after{content:" \\2195";color:#b0b8c1}
.js #host-table>thead th[aria-sort=ascending]:after{content:" \\25B2";color:var(--fg)}
.js #host-table>thead th[aria-sort=descending]:after{content:" \\25BC";color:var(--fg)}
a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}
#host-table>tbody>tr>td:nth-child(2)>b{display:inline-block;padding:0 9px;border-radius:10px;font-size:12px;
white-space:nowrap;border:1px solid}
.s-in_sync>tr>td:nth-child(2)>b{background:var(--ok-bg);color:var(--ok);border-color:#aceebb}
.s-drifted>tr>td:nth-child(2)>b{background:var(--warn-bg);color:var(--warn);border-color:#f0d47a}
.s-unreachable>tr>td:nth-child(2)>b{background:var(--gone-bg);color:var(--gone);border-color:#d2c2f7}
.s-failed>tr>td:nth-child(2)>b{background:var(--bad-bg);color:var(--bad);border-color:#ffb8b8}
#host-table>tbody>tr>td>i[style]{display:inline-block;vertical-align:middle;width:70px;height:10px;margin-left:8px;
border-radius:5px;background:linear-gradient(90deg,var(--c) var(--w),#eaeef2 0);-webkit-print-color-adjust:exact;print-color-adjust:exact}
.u-ok{--c:var(--bar-ok)}.u-warn{--c:var(--bar-warn)}.u-bad{--c:var(--bar-bad)}
.drops{color:var(--bad);font-weight:600}
table.keys{margin:4px 0;width:auto;max-width:100%}
table.keys th,table.keys td{padding:2px 8px;font-size:12.5px}
table.keys td.off{color:var(--bad);font-weight:700}
.k{display:inline-block;margin:0 3px 2px 0;padding:0 6px;border-radius:4px;font-size:11.5px;font-weight:600;
background:var(--bad);color:#fff}
.k.w{background:var(--warn-bg);color:var(--warn)}
.error{background:var(--bad-bg);border:1px solid #ffb8b8;border-radius:6px;padding:6px 10px;white-space:pre-wrap;margin:6px 0}
.health{border-radius:6px;padding:4px 10px;margin:6px 0}
.health.bad{background:var(--bad-bg);border:1px solid #ffb8b8}
.health.warn{background:var(--warn-bg);border:1px solid #f0d47a}
.forecast{margin:2px 0;font-size:13px}.forecast.warn b{color:var(--warn)}
ul{margin:2px 0;padding-left:20px}
pre{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:6px 0;
white-space:pre-wrap;overflow-wrap:anywhere}
pre.fix{background:#0d1117;color:#e6edf3;border-color:#0d1117}pre.fix i{color:#8b949e}
ul.warnings{color:var(--warn)}
.filter{margin:0 0 8px}
.filter input{font:inherit;padding:4px 8px;width:360px;max-width:100%;border:1px solid var(--line);border-radius:6px}
.shared{border:1px solid var(--line);border-radius:8px;padding:4px 12px 8px;margin:0 0 8px;font-size:13px}
.shared:target,tr:target{outline:3px solid #54aeff}
table.legend td{font-size:12.5px}
table.legend td:first-child{white-space:nowrap;font-weight:600}
table.reasons td:nth-child(2),table.reasons td:nth-child(4),table.legend th{white-space:nowrap;overflow-wrap:normal}
footer{padding:10px 28px 24px;color:var(--mute);font-size:12px}
"""

# sorting (numbers or text), the search box (Enter opens the first host found), a section opened
# or closed from its host's link, opened when linked to
JS = r"""
(function () {
  'use strict';
  var doc = document;
  doc.documentElement.classList.add('js');
  var table = doc.getElementById('host-table');
  if (!table) { return; }
  var heads = table.tHead.rows[0].cells;
  var hosts = Array.prototype.slice.call(table.tBodies);
  hosts.forEach(function (h, i) { h.rank = i; h.key = h.rows[0].textContent.toLowerCase(); });
  function value(h, i, type) {
    if (type === 'rank') { return h.rank; }
    if (type === 'ratio') {
      var cm = h.rows[0].cells[i + 1].textContent.replace(/,/g, '').split('/');
      var c = parseFloat(cm[0]), m = parseFloat(cm[1]);
      return isNaN(c) || !m ? -1 : c / m;
    }
    var cell = h.rows[0].cells[i], v = cell.getAttribute('data-sort');
    if (v === null) { v = cell.textContent; }
    if (type !== 'num') { return v; }
    v = parseFloat(String(v).replace(/,/g, ''));
    return isNaN(v) ? -1 : v;
  }
  function sortBy(i) {
    var th = heads[i], type = th.getAttribute('data-type');
    var cur = th.getAttribute('aria-sort');
    var dir = cur === 'ascending' ? -1 : cur === 'descending' ? 1 : (th.getAttribute('data-first') === 'desc' ? -1 : 1);
    var keyed = hosts.map(function (h) { return [value(h, i, type), h.rank, h]; });
    keyed.sort(function (a, b) {
      var c = type ? a[0] - b[0] : String(a[0]).localeCompare(String(b[0]), undefined, {numeric: true});
      return c ? c * dir : a[1] - b[1];
    });
    var frag = doc.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    table.appendChild(frag);
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
  table.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a');
    var h = a && a.parentNode.cellIndex === 0 && a.closest('tbody');
    if (!h || a.getAttribute('href') !== '#' + h.id) { return; }
    ev.preventDefault();
    h.classList.toggle('open');
    try { history.replaceState(null, '', '#' + h.id); } catch (e) { /* a file: URL may refuse */ }
  });
  var box = doc.getElementById('filter');
  var count = doc.getElementById('filter-count');
  function filter() {
    var q = box.value.trim().toLowerCase(), shown = 0;
    hosts.forEach(function (h) {
      var hit = q === '' || h.key.indexOf(q) >= 0;
      h.hidden = !hit;
      shown += hit ? 1 : 0;
    });
    count.textContent = q === '' ? '' : shown + ' of ' + hosts.length + ' hosts';
  }
  if (box) {
    box.parentNode.hidden = false;
    box.addEventListener('input', filter);
    box.addEventListener('keydown', function (ev) {
      if (ev.key !== 'Enter') { return; }
      var first = Array.prototype.filter.call(table.tBodies, function (h) { return !h.hidden; })[0];
      if (first) { location.hash = '#' + first.id; openTarget(); }
    });
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && doc.getElementById(id);
    if (el && el.tagName === 'TBODY') {
      el.hidden = false;
      el.classList.add('open');
      el.scrollIntoView();
    }
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


def _is_num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    if not _is_num(value):
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
    return r if _is_num(r) else None


def _seconds(value):
    if not _is_num(value):
        return 'an unknown time'
    for unit, size in (('d', 86400), ('h', 3600), ('min', 60)):
        if value >= size:
            return '%.1f %s' % (float(value) / size, unit)
    return '%g s' % round(value, 1)


def usage_bar(ratio):
    """The usage cell's content: percent and a bar (width = ratio capped at 100%, green/amber/red)."""
    if ratio is None:
        return DASH
    width = max(0.0, min(float(ratio), 1.0)) * 100
    cls = 'u-bad' if ratio >= FULL else 'u-warn' if ratio >= WARN else 'u-ok'
    return '%.1f%%<i class="%s" style="--w:%s%%"></i>' % (100.0 * ratio, cls, '%g' % round(width, 1))


def _plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def _drops(drops):
    parts = [drops.get(k) for k in ('drop', 'early_drop', 'insert_failed')]
    nums = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    if not nums:
        return None, ''
    title = 'drop %s, early_drop %s, insert_failed %s' % tuple('-' if p is None else p for p in parts)
    return sum(nums), title


class Page(object):
    """What the sections of a page share: the legend of reasons (r1...) and sources (s1...) of the
    recommended values, and the blocks several hosts have alike. A section is built as parts:
    text, or a block (kind, lead, html, shared lead) that goes inline when one host has it and
    once, below the hosts, when several do (pass 2, place())."""

    def __init__(self, fail_on):
        self.fail_on = fail_on
        self.reasons = {}
        self.sources = {}
        self.uses = {}
        self.ids = {}
        self.per_kind = {}
        self.memo = {}

    def reason(self, short, k):
        """The id (r1...) of a recommended value's reason and source in the legend."""
        key = (short,) + tuple(v if v is None or isinstance(v, str) else str(v) for v in (k.get('reason'), k.get('source')))
        rid = self.reasons.get(key)
        if rid is None:
            rid = self.reasons[key] = 'r%d' % (len(self.reasons) + 1)
            if key[2] not in self.sources:
                self.sources[key[2]] = 's%d' % (len(self.sources) + 1)
        return rid

    def calm(self, short, k):
        """A key as recommended, as its list shows it (memoized: the same on many hosts)."""
        key = (short, repr(k.get('desired')), k.get('kernel_default'), k.get('reason'), k.get('source'))
        item = self.memo.get(key)
        if item is None:
            rid = self.reason(short, k)
            item = self.memo[key] = '%s %s%s <a href="#%s">%s</a>' % (
                escape(short), _value(k.get('desired')), ' <i>(kernel default)</i>' if k.get('kernel_default') else '',
                rid, rid)
        return item

    def block(self, kind, lead, html, shared_lead=None):
        """A shareable block of a section, counted."""
        key = (kind, html)
        self.uses[key] = self.uses.get(key, 0) + 1
        return (kind, lead, html, shared_lead or lead)

    def place(self, part):
        """Pass 2: a part as it goes into its section."""
        if part.__class__ is not tuple:
            return part
        kind, lead, html, shared_lead = part
        n = self.uses[(kind, html)]
        if n < 2:
            return '<p>%s</p>%s' % (lead, html)
        bid = self.ids.get((kind, html))
        if bid is None:
            self.per_kind[kind] = self.per_kind.get(kind, 0) + 1
            bid = self.ids[(kind, html)] = '%s%d' % (SHARED[kind][0], self.per_kind[kind])
        return '<p>%s: <a href="#%s">%s</a> <i>(%s hosts)</i></p>' % (shared_lead, bid, bid, _num(n))


def host_row(name, entry, hid):
    """One row of the hosts table: host, status, profile, usage, count / max, drops, drift, fails on."""
    status = str(entry.get('status'))
    usage = entry.get('usage') or {}
    ratio = _ratio(usage)
    total, title = _drops(entry.get('drops') or {})
    drift = entry.get('drift_count') or 0
    return ('<tr data-host="%s"><td><a href="#%s">%s</a></td><td><b>%s</b></td><td>%s</td>'
            '<td>%s</td><td>%s / %s</td><td%s>%s</td><td>%s</td><td>%s</td></tr>' % (
                escape(name), hid, escape(name), escape(STATUS_TEXT.get(status, status)),
                _text(entry.get('profile')), usage_bar(ratio),
                _num(usage.get('count')), _num(usage.get('max')),
                (' title="%s" class="drops"' % escape(title)) if total else '', _num(total),
                ('<b>%d</b>' % drift) if drift else '0', escape(', '.join(entry.get('failing_kinds') or []))))


def _kinds(kinds, fail_on):
    """Kinds as chips: red when they fail the run, amber otherwise."""
    return ''.join('<b class="k%s">%s</b>' % ('' if k in fail_on else ' w', escape(k)) for k in kinds)


def _boot_cell(k):
    """What the next boot gives, and from where (a file, the kernel's default)."""
    source = k.get('at_boot_source')
    at_boot = k.get('at_boot')
    boot = _value(at_boot) if at_boot is not None else escape(_audit.show(None, source))
    if source and (at_boot is not None or 'unknown' in source):
        boot += ' <i>from %s</i>' % escape(source)
    if k.get('shadowed_by'):
        boot += '; shadowed by %s' % escape(', '.join(k['shadowed_by']))
    return boot


def _key_row(page, short, k):
    """A drifted (or read-only) key: live, ours, at boot with its source, recommended with its reason."""
    kinds = k.get('kinds') or []
    drift = _kinds(kinds, page.fail_on)
    if k.get('readonly'):
        drift += 'read-only here: %s' % escape(str(k['readonly']))
    rid = page.reason(short, k)
    return '<tr><td>%s</td><td%s>%s</td><td>%s</td><td%s>%s</td><td>%s <a href="#%s">%s</a></td><td>%s</td></tr>' % (
        escape(short), ' class="off"' if 'runtime' in kinds else '', _value(k.get('runtime')), _value(k.get('persisted')),
        ' class="off"' if 'at_boot' in kinds else '', _boot_cell(k), _value(k.get('desired')), rid, rid, drift)


KEYS_HEAD = ('<table class="keys"><tr><th>key</th><th>live</th><th>ours (our sysctl.d file)</th><th>at next boot</th>'
             '<th>recommended (why)</th><th>drift</th></tr>')


def _key_parts(page, parts, keys):
    """The keys: the drifted and read-only ones in a table, the others as a list (both shareable)."""
    drifted, calm = [], []
    for short, k in keys.items():
        if k.get('kinds') or k.get('readonly'):
            drifted.append((str(short), k))
        else:
            calm.append(page.calm(str(short), k))
    if drifted:
        names = escape(', '.join(s for s, k in drifted))
        parts.append(page.block('drift', '%s drifted or read-only here:' % _plural(len(drifted), 'key'), KEYS_HEAD + ''.join(
            _key_row(page, s, k) for s, k in drifted) + '</table>', 'keys drifted: %s' % names))
    if calm:
        what = _plural(len(calm), 'other key' if drifted else 'key')
        parts.append(page.block('keys', '%s as recommended (live = ours = at boot):' % what, '<p>%s</p>' % SEP.join(calm),
                                '%s as recommended' % what))


def _window(health):
    window = health.get('window') or {}
    text = escape(str(window.get('why')))
    if window.get('source') == 'recorded':
        text += ', %s' % _seconds(window.get('seconds'))
    return text


def _health(entry, lead=''):
    """The health kinds with their evidence, and the window they cover (audit/health.py)."""
    health = entry.get('health')
    head = (lead + SEP) if lead else ''
    if not health:
        return '<p>%shealth not checked</p>' % head
    kinds = list(health.get('kinds') or [])
    if not kinds:
        return '<p>%shealthy%s <i>(%s)</i></p>' % (
            head, '' if health.get('counters') else ', usage only (no drop counters readable here)', _window(health))
    evidence = health.get('evidence') or {}
    return '%s<div class="health %s"><b>health: %s</b> <i>(window: %s)</i><ul>%s</ul></div>' % (
        ('<p>%s</p>' % lead) if lead else '', 'bad' if set(kinds) & set(LOUD) else 'warn',
        escape(', '.join(k.upper() if k in LOUD else k for k in kinds)), _window(health),
        ''.join('<li><b>%s</b>: %s</li>' % (escape(k), escape(str(evidence.get(k, '')))) for k in kinds))


def _forecast(entry):
    """When the table fills at the trend of its history (the health's forecast, sizing/observed.py):
    the time to full or 'not filling', the trend per hour, its method, and from which history."""
    forecast = (entry.get('health') or {}).get('forecast')
    if not forecast:
        return ''
    seconds, slope = forecast.get('seconds_to_full'), forecast.get('slope_per_hour')
    if _is_num(seconds):
        when = ' (%s)' % time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(forecast['full_at'])) \
            if _is_num(forecast.get('full_at')) else ''
        head = '<b>full in %s</b>%s' % (_seconds(seconds) if seconds > 0 else 'no time: full now', when)
        cls = ' warn' if forecast.get('within_horizon') or seconds <= 0 else ''
    else:
        head, cls = 'not filling', ''
    trend = '%+d entries an hour' % round(slope) if _is_num(slope) else 'no trend'
    method = {'daily': 'daily peaks', 'short': 'the last hours', 'full': 'the last sample'}.get(forecast.get('method'))
    return '<p class="forecast%s">forecast: %s; trend %s%s; history: %s <i>(%s)</i></p>' % (
        cls, head, escape(trend), escape(' (%s)' % method) if method else '',
        escape(str(forecast.get('history') or 'unknown')), escape(str(forecast.get('reason') or '')))


def _fix(entry):
    """The commands that would fix the host (report.fix_commands), ready to copy."""
    fixes = entry.get('fix') or []
    if not fixes:
        return ''
    return '<pre class="fix">%s</pre>' % '\n'.join(
        '<i># %s</i>\n%s' % (escape(str(f.get('why'))), escape(str(f.get('command')))) for f in fixes)


def _users_parts(page, parts, users):
    """What uses conntrack: the verdict, each blocker with why and its first evidence, and what
    keeps the module loaded (shareable)."""
    if users.get('can_disable'):
        parts.append('<p><i>users</i> can_disable: nothing found that needs conntrack%s</p>' % (
            ' (%d ignored)' % len(users['ignored']) if users.get('ignored') else ''))
        return
    items = []
    for user in users.get('users') or []:
        if user.get('blocking'):
            evidence = user.get('evidence') or []
            first = ' <i>(%s)</i>' % escape(str(evidence[0])) if evidence else ''
            items.append('<li><b>%s</b>: %s%s</li>' % (escape(str(user.get('id'))), escape(str(user.get('why'))), first))
    if users.get('loaded_by'):
        items.append('<li>kept loaded by: %s</li>' % escape('; '.join(users['loaded_by'])))
    if users.get('scope') and users['scope'] != 'host':
        items.append('<li>scope: %s</li>' % escape(str(users['scope'])))
    blockers = users.get('blockers') or []
    parts.append(page.block('users', '<i>users</i> blocked by %d, conntrack stays on:' % len(blockers),
                            '<ul>%s</ul>' % ''.join(items), '<i>users</i> blocked by %s' % escape(', '.join(blockers))))


def _counts(by_name):
    return escape(', '.join('%s %s' % (k, _num(v)) for k, v in sorted(
        (by_name or {}).items(), key=lambda kv: (-kv[1], str(kv[0]))))) or DASH


def _top(items):
    return escape(', '.join('%s %s' % (i.get('key'), _num(i.get('count'))) for i in items or [])) or DASH


def _breakdown(breakdown):
    """The breakdown, when gathered: entries per protocol and TCP state, the top talkers and ports."""
    if not breakdown or breakdown.get('total') is None:
        return '<p><i>breakdown</i> %s</p>' % escape(str((breakdown or {}).get('error') or 'not available'))
    exact = 'exact' if breakdown.get('top_exact') else 'counts at most %s below the truth' % _num(
        breakdown.get('top_max_error'))
    return ('<p><i>breakdown</i> of %s entries <i>(read from %s)</i>: %s; %s; TCP states %s; assured %s, unreplied %s'
            '</p><p><i>top sources</i> %s</p><p><i>top destinations</i> %s</p><p><i>top destination ports</i> %s '
            '<i>(top lists %s)</i></p>' % (
                _num(breakdown['total']), _text(breakdown.get('source')), _counts(breakdown.get('l4')),
                _counts(breakdown.get('l3')), _counts(breakdown.get('tcp_states')), _num(breakdown.get('assured')),
                _num(breakdown.get('unreplied')), _top(breakdown.get('top_sources')),
                _top(breakdown.get('top_destinations')), _top(breakdown.get('top_destination_ports')), exact))


def _facts(entry):
    """kernel, nf_conntrack, netns (the profile is in the row)."""
    kernel = entry.get('kernel') or {}
    return 'kernel %s%s, nf_conntrack %s, %s netns' % (
        _text(kernel.get('release')), (' %s' % escape(str(kernel['arch']))) if kernel.get('arch') else '',
        _text(entry.get('conntrack')), _text(entry.get('netns')))


def _table(entry):
    """The table (buckets, chain length; count and max are in the row), drops and memory, each
    with where it comes from."""
    usage = entry.get('usage') or {}
    drops = entry.get('drops') or {}
    mem = entry.get('memory') or {}
    out = []
    if usage:
        out.append('<i>table (live)</i> %s buckets, chain length %s' % (
            _num(usage.get('buckets')), _num(usage.get('chain_length'))))
    counters = [(k, drops.get(k)) for k in ('drop', 'early_drop', 'insert_failed', 'invalid')]
    if [v for k, v in counters if v is not None]:
        out.append('<i>drops since boot (%s)</i> %s' % (_text(drops.get('source')), ', '.join(
            '%s %s' % (k, _num(v)) for k, v in counters if v) or 'none'))
    if mem.get('bytes_at_recommended_max') is not None:
        out.append('<i>memory</i> %s at the recommended max, budget %s (%s%% of RAM)%s' % (
            _bytes(mem.get('bytes_at_recommended_max')), _bytes(mem.get('budget_bytes')), _num(mem.get('budget_percent')),
            {False: ' <b class="drops">over budget</b>'}.get(mem.get('within_budget'), '')))
    return '<p>%s</p>' % SEP.join(out) if out else ''


def _relieved(relieved):
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(relieved.get('time') or 0))
    return '<p><i>relieved</i> max raised at runtime by relieve at %s: %s &rarr; %s%s; not persisted</p>' % (
        when, _num(relieved.get('max_before')), _num(relieved.get('max_after')),
        '; shortened: %s' % escape(', '.join(sorted(relieved.get('timeouts') or {}))) if relieved.get('timeouts') else '')


def _notes(entry):
    """What else the audit says of the host: our boot files, conntrack off, a relieve not
    persisted, the boot, NOTRACK, the warnings."""
    out = ['<p><i>at_boot</i> %s would be %sd (a boot file of ours)</p>' % (
        escape(str(f.get('path'))), escape(str(f.get('change')))) for f in entry.get('files') or []]
    disabled = entry.get('disabled')
    if disabled:
        out.append('<p><i>disabled</i> %s</p>' % ('conntrack is off, as meant' if disabled.get('off') else
                                                  '<b class="drops">REENABLED</b>: %s' % _text(disabled.get('why'))))
    if entry.get('relieved'):
        out.append(_relieved(entry['relieved']))
    why = (entry.get('boot') or {}).get('why')
    if why:
        out.append('<p><i>boot</i> %s</p>' % escape(str(why)))
    notrack = entry.get('notrack')
    if notrack is not None:
        out.append('<p><i>NOTRACK</i> %s</p>' % ('<b class="drops">drifted</b>' if notrack.get('drifted') else 'in sync'))
        if notrack.get('error'):
            out.append('<div class="error">%s</div>' % escape(str(notrack['error'])))
        if notrack.get('lines'):
            out.append('<pre>%s</pre>' % escape('\n'.join(str(x) for x in notrack['lines'])))
    warnings = entry.get('warnings') or []
    if warnings:
        out.append('<ul class="warnings">%s</ul>' % ''.join('<li>%s</li>' % escape(str(w)) for w in warnings))
    return ''.join(out)


def is_open(entry):
    """Is the host's section open when the page loads: anything but a quiet host in sync."""
    return entry.get('status') != 'in_sync' or bool(entry.get('fails_run')) or bool(
        (entry.get('health') or {}).get('kinds'))


def host_parts(page, name, entry, hid):
    """One host: its row of the hosts table and, under it, its section (one tbody), as parts that
    Page.place() puts together. A quiet host in sync gets a compact section."""
    status = str(entry.get('status'))
    opened = is_open(entry)
    classes = '%s%s%s' % (escape(status), ' fails' if entry.get('fails_run') else '', ' open' if opened else '')
    parts = ['<tbody id="%s" class="s-%s">' % (hid, classes),
             host_row(name, entry, hid), '<tr><td colspan="%d">' % COLUMNS]
    if entry.get('error'):
        parts.append('<div class="error"><b>%s:</b> %s</div>' % (escape(status), escape(str(entry['error']))))
    if status not in ('unreachable', 'failed'):
        parts.append(_health(entry, _facts(entry)))
        parts.append(_forecast(entry))
        if opened:
            parts.append(_table(entry))
    parts.append(_fix(entry))
    _key_parts(page, parts, entry.get('keys') or {})
    parts.append(_notes(entry))
    if entry.get('users'):
        _users_parts(page, parts, entry['users'])
    if 'breakdown' in entry:
        parts.append(_breakdown(entry['breakdown']))
    parts.append('</td></tr></tbody>')
    return parts


def _tile(kind, n, label, extra=''):
    return '<div class="tile %s%s" data-count="%s"><span class="n">%s</span><span class="l">%s%s</span></div>' % (
        kind, ' zero' if not n and kind != 'hosts' else '', kind, _num(n), label, extra)


def _shared_html(page):
    """The blocks several hosts share, each once, then the legend of reasons and sources."""
    out = []
    if page.ids:
        out.append('<h2 id="shared">Shared by several hosts <i class="small">written once; the sections link here'
                   '</i></h2>')
        for (kind, html), bid in sorted(page.ids.items(), key=lambda kv: (kv[1][0], int(kv[1][1:]))):
            out.append('<div class="shared" id="%s"><p><b>%s</b>: %s, on %s hosts</p>%s</div>' % (
                bid, bid, SHARED[kind][1], _num(page.uses[(kind, html)]), html))
    if page.reasons:
        out.append('<h2 id="reasons">Why each value is recommended <i class="small">every recommended value on the '
                   'page links to its reason (r1...) and the reason to its source (s1...)</i></h2><table class="legend reasons">'
                   '<tr><th>ref</th><th>key</th><th>reason</th><th>source</th></tr>')
        for (short, reason, source), rid in sorted(page.reasons.items(), key=lambda kv: int(kv[1][1:])):
            sid = page.sources[source]
            out.append('<tr id="%s"><td>%s</td><td>%s</td><td>%s</td><td><a href="#%s">%s</a></td></tr>' % (
                rid, rid, escape(short), _text(reason), sid, sid))
        out.append('</table><h2 id="sources">Sources</h2><table class="legend"><tr><th>ref</th><th>source</th></tr>')
        for source, sid in sorted(page.sources.items(), key=lambda kv: int(kv[1][1:])):
            out.append('<tr id="%s"><td>%s</td><td>%s</td></tr>' % (sid, sid, _text(source)))
        out.append('</table>')
    return ''.join(out)


def _header(report, fail_on):
    counts = report.get('counts') or {}
    opts = report.get('options') or {}
    profile = report.get('profile') or report.get('profiles')
    if isinstance(profile, (list, tuple)):
        profile = ', '.join(str(p) for p in profile)
    meta = [('generated', _text(report.get('generated_at'))), ('collection', _text(report.get('collection_version'))),
            ('ansible-core', _text(report.get('ansible_core_version'))), ('profile', _text(profile)),
            ('fail_on', _text(', '.join(str(x) for x in fail_on)))]
    meta.extend((escape(str(k)), _text(v)) for k, v in sorted(opts.items()) if k != 'fail_on')
    out = ['<header><h1>conntrack audit</h1><p class="meta">%s</p>' % ' &middot; '.join(
        '%s <b>%s</b>' % meta_item for meta_item in meta)]
    if report.get('failed'):
        out.append('<div class="verdict fail">FAIL: %s of %s hosts fail the run</div>' % (
            _num(counts.get('failing')), _num(counts.get('hosts'))))
    else:
        out.append('<div class="verdict pass">PASS: no host fails the run</div>')
    out.append('<div class="tiles" id="counts">%s</div></header>' % ''.join((
        _tile('hosts', counts.get('hosts'), 'hosts', ' (%s checked)' % _num(counts.get('checked'))),
        _tile('in_sync', counts.get('in_sync'), 'in sync'),
        _tile('drifted', counts.get('drifted'), 'drifted'),
        _tile('unhealthy', counts.get('unhealthy'), 'unhealthy (full, dropping)'),
        _tile('unreachable', counts.get('unreachable'), 'unreachable'),
        _tile('failed', counts.get('failed'), 'failed'),
        _tile('failing', counts.get('failing'), 'failing the run'))))
    return ''.join(out)


HOSTS_HEAD = (
    '<h2 id="hosts">Hosts <i class="small">worst first; a host&#x27;s link opens or closes its section, a column header '
    'sorts</i></h2><p class="filter" hidden><input id="filter" type="search" placeholder="find a host: name, status, '
    'profile, kind" aria-label="find hosts"> <i id="filter-count"></i> <i class="small">Enter opens the first host found</i></p>'
    '<p class="small"><i>In a section: every value with where it comes from; a recommended value links to its reason '
    'and source (r1...); what several hosts share is written once below and linked to (D1 drifted keys, K1 keys as '
    'recommended, U1 what uses conntrack).</i></p>'
    '<table class="hosts" id="host-table"><colgroup><col class="c-host"><col class="c-status"><col class="c-profile">'
    '<col class="c-usage"><col class="c-count"><col class="c-drops"><col class="c-drift"><col></colgroup><thead><tr>'
    '<th>host</th><th data-type="rank">status</th><th>profile</th><th data-type="ratio" data-first="desc">usage</th>'
    '<th data-type="num" data-first="desc">count / max</th><th data-type="num" data-first="desc">drops</th>'
    '<th data-type="num" data-first="desc">drift</th><th>fails the run on</th></tr></thead>')


def to_html(report):
    """The report as one self-contained HTML5 page (str)."""
    fail_on = list((report.get('options') or {}).get('fail_on') or [])
    page = Page(set(fail_on))
    names = _audit_report.order(report)
    ids = host_ids(names)
    hosts = report['hosts']
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           '<title>conntrack audit %s</title><style>%s</style></head><body>' % (_text(report.get('generated_at')), CSS),
           _header(report, fail_on), '<main>', HOSTS_HEAD]
    sections = [host_parts(page, name, hosts[name], ids[name]) for name in names]
    place = page.place
    for parts in sections:
        out.extend(place(part) for part in parts)
    out.append('</table>')
    out.append(_shared_html(page))
    out.append('</main><footer>%s v%s &middot; nfct.tuning conntrack_audit</footer><script>%s</script></body></html>\n' % (
        _text(report.get('schema')), _text(report.get('schema_version')), JS))
    # ASCII only: the page survives any file encoding; the meta charset still says utf-8
    return ''.join(out).encode('ascii', 'xmlcharrefreplace').decode('ascii')
