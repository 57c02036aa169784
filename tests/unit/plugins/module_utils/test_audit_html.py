# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report (_audit_html.to_html) on synthetic fleets (audit_synth, with the users
verdict on every host and the breakdown on some): it parses, rows worst first with their status,
counts, every host has its section with what to act on - the health kinds with their evidence and
window, the fix commands, the drifted keys, the users verdict, the breakdown - and the reason and
source of every recommended value as text on the page (the section, or what it links to: a
shared block, the legend); identical blocks are written once; everything escaped, nothing
fetched from outside the page; 5,000 hosts each get their row and section in under 5 MB."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from html import escape
from html.parser import HTMLParser

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report

import audit_synth

META = {'collection_version': '0.1.0', 'ansible_core_version': '2.19.14'}
EVIL = '<script>alert(1)</script>&"x\''
VOID = ('area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr')
MAX_BYTES_5000 = 5 * 1000 * 1000


class Page(HTMLParser):
    """The elements of a page: (tag, attrs) in document order, checking that tags nest; and, per
    element id, its text (attributes excluded: what a reader sees) and the links in it."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.errors = []
        self.text = []
        self.by_id = {}
        self.links = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if 'href' in a:
            for _t, eid in self.stack:
                if eid:
                    self.links[eid].append(a['href'])
        if tag not in VOID:
            self.stack.append((tag, a.get('id')))
            if a.get('id'):
                self.by_id[a['id']] = []
                self.links[a['id']] = []

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append('</%s> closes %s' % (tag, self.stack[-1:] or 'nothing'))
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        for _t, eid in self.stack:
            if eid:
                self.by_id[eid].append(data)

    def id_text(self, eid):
        return ''.join(self.by_id[eid])

    def reach(self, eid, depth=3):
        """The text of element eid and of everything it links to on the page (shared blocks, the
        legend of reasons, their sources), depth links deep."""
        seen, todo, out = set(), [eid], []
        for _level in range(depth + 1):
            nxt = []
            for i in todo:
                if i in seen or i not in self.by_id:
                    continue
                seen.add(i)
                out.append(self.id_text(i))
                nxt.extend(h[1:] for h in self.links[i] if h.startswith('#'))
            todo = nxt
        return '\n'.join(out)


def parse(page):
    p = Page()
    p.feed(page)
    p.close()
    return p


def report_of(results):
    return _audit_report.build(results, sorted(results), meta=META)


@pytest.fixture(scope='module')
def fleet30():
    return audit_synth.rich_fleet(30)


@pytest.fixture(scope='module')
def report30(fleet30):
    return report_of(fleet30)


@pytest.fixture(scope='module')
def page30(report30):
    return _audit_html.to_html(report30)


@pytest.fixture(scope='module')
def parsed30(page30):
    return parse(page30)


@pytest.fixture(scope='module')
def ids30(report30):
    return _audit_html.host_ids(_audit_report.order(report30))


def rows(parsed):
    return [a for t, a in parsed.elements if t == 'tr' and 'data-host' in a]


def sections(parsed):
    """[(host, status, open, tbody attrs)]: each host's tbody, with the host of its row."""
    out, current = [], None
    for tag, a in parsed.elements:
        if tag == 'tbody':
            current = a
        elif tag == 'tr' and 'data-host' in a and current is not None:
            classes = current.get('class', '').split()
            status = [c[2:] for c in classes if c.startswith('s-')][0]
            out.append((a['data-host'], status, 'open' in classes, current))
            current = None
    return out


def section_text(parsed, ids, name):
    return parsed.reach(ids[name])


def normal(text):
    return ' '.join(str(text).split())


def test_page_parses_and_nests(page30, parsed30):
    assert page30.startswith('<!DOCTYPE html>')
    assert parsed30.errors == []
    assert parsed30.stack == []
    tags = [t for t, a in parsed30.elements]
    assert tags[:2] == ['html', 'head']
    assert tags.count('table') >= 1 and tags.count('script') == 1 and tags.count('style') == 1
    assert '<title>conntrack audit' in page30


def test_one_row_per_host_worst_first(report30, parsed30):
    got = sections(parsed30)
    assert [h for h, s, o, a in got] == [a['data-host'] for a in rows(parsed30)] == _audit_report.order(report30)
    assert len(got) == 30
    for host, status, _o, _a in got:
        assert status == report30['hosts'][host]['status']
    # worst first: failed, unreachable, drifted, in sync - every shape is in the fleet
    statuses = [s for h, s, o, a in got]
    assert statuses == sorted(statuses, key=_audit_report.SEVERITY.get)
    assert set(statuses) == set(_audit_report.STATUSES)


def test_failing_hosts_are_marked(report30, parsed30, page30):
    marked = sorted(h for h, s, o, a in sections(parsed30) if 'fails' in a['class'].split())
    assert marked == report30['failing_hosts']
    assert marked
    # and the row says on what
    page_rows = host_rows(page30)
    for host in marked:
        kinds = report30['hosts'][host]['failing_kinds']
        assert '<td>%s</td></tr>' % ', '.join(kinds) in page_rows[host]


def test_counts_appear(report30, page30):
    tiles = set(re.findall(r'data-count="([a-z_]+)"', page30))
    assert tiles == set(['hosts', 'in_sync', 'drifted', 'unhealthy', 'unreachable', 'failed', 'failing'])
    for kind in tiles:
        n = report30['counts'][kind]
        assert re.search(r'data-count="%s"><span class="n">%d</span>' % (kind, n), page30), kind
    c = report30['counts']
    assert sum(c[s] for s in _audit_report.STATUSES) == c['hosts'] == 30
    assert c['unhealthy'] > 0
    assert 'FAIL: %d of 30 hosts fail the run' % c['failing'] in page30
    assert 'generated <b>%s</b>' % report30['generated_at'] in page30
    assert '0.1.0' in page30 and '2.19.14' in page30


EXTERNAL = [
    re.compile(r'https?://', re.I),
    re.compile(r'//cdn', re.I),
    re.compile(r'@import', re.I),
    re.compile(r'@font-face', re.I),
    re.compile(r'url\(', re.I),
    re.compile(r'''\bsrc\s*=''', re.I),
    re.compile(r'''\bhref\s*=\s*(?!["']?#)''', re.I),
    re.compile(r'<link\b', re.I),
    re.compile(r'\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\b'),
]


def test_no_external_reference(page30, parsed30):
    for pattern in EXTERNAL:
        assert not pattern.search(page30), pattern.pattern
    for tag, attrs in parsed30.elements:
        for name in ('src', 'href', 'action', 'srcset', 'poster', 'data'):
            if name in attrs:
                assert attrs[name].startswith('#'), (tag, name, attrs[name])


def test_every_link_points_at_an_element_of_the_page(parsed30):
    ids = [a['id'] for t, a in parsed30.elements if 'id' in a]
    assert len(ids) == len(set(ids))
    links = set(a['href'][1:] for t, a in parsed30.elements if t == 'a' and 'href' in a)
    assert links and links <= set(ids)


def evil_results(fleet30):
    """The fleet with EVIL in every text the page shows: host names, profile, key reasons and
    sources, warnings, NOTRACK, health evidence and window, fix commands (via the host name and
    the profile), users (ids, whys, evidence, loaded_by), the breakdown, boot files, relieve."""
    results = dict(fleet30)
    base = [n for n in sorted(results) if (results[n].get('audit') or {}).get('breakdown')][0]
    bad = dict(results[base])
    audit = dict(bad['audit'])
    keys = dict(audit['keys'])
    short = sorted(keys)[0]
    keys[short] = dict(keys[short], reason=EVIL, source=EVIL, at_boot_source=EVIL, shadowed_by=[EVIL],
                       kinds=['shadowed'])
    keys[EVIL] = dict(keys[short], kinds=[])
    users = dict(audit['users'], can_disable=False, blockers=[EVIL], loaded_by=[EVIL], scope=EVIL,
                 users=[{'id': EVIL, 'kind': 'rules', 'name': EVIL, 'needs': True, 'blocking': True, 'why': EVIL,
                         'evidence': [EVIL]}])
    health = dict(audit['health'], kinds=['full', 'dropping'], evidence={'full': EVIL, 'dropping': EVIL},
                  window={'source': 'sample', 'seconds': 1.0, 'since': 0.0, 'why': EVIL})
    top = [{'key': EVIL, 'count': 3}]
    breakdown = dict(audit['breakdown'], source=EVIL, l4={EVIL: 3}, tcp_states={EVIL: 2}, top_sources=top,
                     top_destinations=top, top_destination_ports=top)
    audit.update(keys=keys, warnings=[EVIL], profile=EVIL, status='drifted', lines=[EVIL], users=users, health=health,
                 breakdown=breakdown, files=[{'path': EVIL, 'change': 'create'}], disabled={'off': False, 'why': EVIL},
                 relieved={'time': 0.0, 'max_before': 1, 'max_after': 2, 'timeouts': {EVIL: [1, 2]}},
                 boot={'sysctl_d_applies': False, 'why': EVIL},
                 notrack={'drifted': True, 'lines': [EVIL], 'error': EVIL, 'report': None})
    bad['audit'] = audit
    results[EVIL] = bad
    results[EVIL + ' unreachable'] = {'unreachable': True, 'msg': EVIL}
    results[EVIL + ' failed'] = {'failed': True, 'msg': EVIL}
    return results


def test_everything_is_escaped(fleet30):
    report = report_of(evil_results(fleet30))
    page = _audit_html.to_html(report)
    assert '<script>alert' not in page
    assert page.count('<script>') == 1
    parsed = parse(page)
    assert parsed.errors == [] and parsed.stack == []
    hosts = [a['data-host'] for a in rows(parsed)]
    assert hosts == _audit_report.order(report)
    assert EVIL in hosts and EVIL + ' failed' in hosts
    assert [h for h, s, o, a in sections(parsed)] == hosts
    # the text comes back intact, in the host's section and what it links to
    ids = _audit_html.host_ids(hosts)
    text = section_text(parsed, ids, EVIL)
    assert text.count(EVIL) >= 25, text
    for name in (EVIL + ' unreachable', EVIL + ' failed'):
        assert EVIL in section_text(parsed, ids, name)
    # the fix commands quote the name for the shell and the page escapes them
    fixes = report['hosts'][EVIL]['fix']
    assert fixes and all(normal(f['command']) in normal(text) for f in fixes)
    # ids: safe, unique, and every link points at one
    all_ids = [a['id'] for t, a in parsed.elements if 'id' in a]
    assert len(all_ids) == len(set(all_ids))
    for i in all_ids:
        assert re.match(r'^[A-Za-z][A-Za-z0-9_.-]*$', i), i
    links = [a['href'][1:] for t, a in parsed.elements if t == 'a' and 'href' in a]
    assert set(links) <= set(all_ids)


def test_host_ids_are_safe_and_unique():
    names = ['web-01', 'web 01', 'web/01', 'web-01-2', '', '"><img', 'db.example.com', u'h\u00f6st']
    ids = _audit_html.host_ids(names)
    assert len(set(ids.values())) == len(names)
    assert ids['web-01'] == 'host-web-01' and ids['db.example.com'] == 'host-db.example.com'
    for hid in ids.values():
        assert re.match(r'^host-[A-Za-z0-9_.-]+$', hid), hid


def test_every_host_has_a_section_open_when_there_is_something_to_do(report30, parsed30, ids30):
    got = sections(parsed30)
    assert [h for h, s, o, a in got] == _audit_report.order(report30)
    links = [a['href'] for t, a in parsed30.elements if t == 'a' and a.get('href', '').startswith('#host-')]
    assert set(h[1:] for h in links) == set(a['id'] for h, s, o, a in got) == set(ids30.values())
    for host, status, opened, _a in got:
        e = report30['hosts'][host]
        assert opened == (status != 'in_sync' or e['fails_run'] or bool((e.get('health') or {}).get('kinds'))), host
    assert [o for h, s, o, a in got].count(False) == report30['counts']['in_sync']


def test_sections_of_unreachable_and_failed_hosts(report30, parsed30, ids30):
    for name, e in report30['hosts'].items():
        if e['status'] in ('unreachable', 'failed'):
            text = section_text(parsed30, ids30, name)
            assert e['error'] and normal(e['error']) in normal(text)
            assert e['fix'] and all(f['command'] in text and f['why'] in text for f in e['fix'])


def test_health_kinds_evidence_and_window(report30, parsed30, ids30):
    seen = 0
    for name, e in report30['hosts'].items():
        health = e.get('health')
        if not health:
            continue
        text = normal(section_text(parsed30, ids30, name))
        assert normal(health['window']['why']) in text, name
        if not health['kinds']:
            assert 'healthy' in text
            continue
        seen += 1
        assert 'health: ' + ', '.join(k.upper() if k in ('full', 'dropping') else k for k in health['kinds']) in text
        for kind in health['kinds']:
            assert '%s: %s' % (kind, normal(health['evidence'][kind])) in text, (name, kind)
    assert seen >= 2


def test_fix_commands_of_drifted_and_unhealthy_hosts(report30, parsed30, page30, ids30):
    with_fix = [n for n, e in report30['hosts'].items() if e['fix']]
    assert set(with_fix) >= set(report30['failing_hosts'])
    relieve = [n for n, e in report30['hosts'].items() if any('nfct.tuning.relieve' in f['command'] for f in e['fix'])]
    assert relieve, 'the fleet has a host to relieve'
    for name in with_fix:
        e = report30['hosts'][name]
        sec = re.search(r'<tbody id="%s".*?</tbody>' % ids30[name], page30, re.S).group(0)
        block = re.search(r'<pre class="fix">(.*?)</pre>', sec, re.S)
        assert block, name
        for f in e['fix']:
            # ready to copy: the command on a line of its own, its reason as a shell comment above
            assert '<i># %s</i>\n%s' % (escape(f['why']), escape(f['command'])) in block.group(1)
    quiet = [n for n, e in report30['hosts'].items() if not e['fix']]
    for name in quiet:
        assert 'class="fix"' not in re.search(r'<tbody id="%s".*?</tbody>' % ids30[name], page30, re.S).group(0)


def test_drifted_keys_with_the_source_of_every_value(report30, parsed30, ids30):
    for name, e in report30['hosts'].items():
        text = normal(section_text(parsed30, ids30, name))
        for short, k in e['keys'].items():
            if not k['kinds']:
                continue
            assert short in text
            for kind in k['kinds']:
                assert kind in text
            # at boot: the value and the file or the kernel default it comes from
            if k['at_boot'] is not None and k['at_boot_source']:
                assert 'from %s' % normal(k['at_boot_source']) in text, (name, short)
            for path in k['shadowed_by']:
                assert 'shadowed by %s' % path in text


def test_reason_and_source_of_every_recommended_value_are_text(report30, parsed30, ids30):
    # every value recommended on the page: its reason and its source as text a reader sees (not a
    # tooltip), in the host's section or what it links to (the shared block, the legend)
    for name, e in report30['hosts'].items():
        text = normal(section_text(parsed30, ids30, name))
        for short, k in e['keys'].items():
            assert normal(k['reason']) in text, (name, short)
            assert normal(k['source']) in text, (name, short)
    titles = [a.get('title', '') for t, a in parsed30.elements]
    some = list(report30['hosts'].values())[10]['keys']
    for k in some.values():
        assert not any(k['reason'] in t for t in titles)


def test_users_verdict(report30, parsed30, ids30):
    kinds = set()
    for name, e in report30['hosts'].items():
        users = e.get('users')
        if not users:
            continue
        text = normal(section_text(parsed30, ids30, name))
        if users['can_disable']:
            kinds.add('can_disable')
            assert 'can_disable' in text
            continue
        kinds.add('blocked')
        assert 'blocked by' in text and all(b in text for b in users['blockers'])
        for user in users['users']:
            if user['blocking']:
                assert user['id'] in text and normal(user['why']) in text
                assert normal(user['evidence'][0]) in text
        for line in users['loaded_by']:
            kinds.add('loaded_by')
            assert normal(line) in text
    assert kinds == set(['can_disable', 'blocked', 'loaded_by'])


def test_breakdown(report30, parsed30, ids30):
    seen = 0
    for name, e in report30['hosts'].items():
        b = e.get('breakdown')
        if not b:
            continue
        seen += 1
        text = normal(section_text(parsed30, ids30, name))
        assert 'breakdown of {0:,} entries (read from {1})'.format(b['total'], b['source']) in text
        for proto, n in list(b['l4'].items()) + list(b['tcp_states'].items()):
            assert '{0} {1:,}'.format(proto, n) in text
        for field in ('top_sources', 'top_destinations', 'top_destination_ports'):
            assert b[field]
            for item in b[field]:
                assert '{0} {1:,}'.format(item['key'], item['count']) in text, (name, field)
    assert seen >= 3


def test_identical_blocks_are_written_once(report30, page30, parsed30):
    shared = [a['id'] for t, a in parsed30.elements if t == 'div' and 'shared' in a.get('class', '').split()]
    assert shared, 'hosts of one profile and size share their keys'
    assert set(i[0] for i in shared) >= set('KU')
    for sid in shared:
        # each written once, linked to from at least two sections
        assert page30.count('id="%s"' % sid) == 1
        assert page30.count('href="#%s"' % sid) >= 2
        body = re.search(r'<div class="shared" id="%s"><p>.*?</p>(.*?)</div>' % sid, page30, re.S).group(1)
        assert page30.count(body) == 1
    # the legend: one row per reason, one per source
    legend = [a['id'] for t, a in parsed30.elements if t == 'tr' and 'id' in a]
    reasons = set((s, k['reason'], k['source']) for e in report30['hosts'].values() for s, k in e['keys'].items())
    assert len([i for i in legend if i.startswith('r')]) == len(reasons)
    assert len([i for i in legend if i.startswith('s')]) == len(set(r[2] for r in reasons))


def test_quiet_hosts_in_sync_get_a_compact_section(report30, page30, ids30):
    for name, e in report30['hosts'].items():
        if _audit_html.is_open(e) or 'breakdown' in e:
            continue
        sec = re.search(r'<tbody id="%s".*?</tbody>' % ids30[name], page30, re.S).group(0)
        # the row, one line of facts and health, the keys (or a link to them); then the users
        head = sec.split('<p><i>users</i>')[0]
        assert head.count('<p>') <= 3, sec
        assert '<table' not in sec and 'class="fix"' not in sec and 'table (live)' not in sec
    # and in a fleet, most hosts in sync link to the keys they share
    fleet = report_of(audit_synth.fleet(120))
    page = _audit_html.to_html(fleet)
    quiet = [re.search(r'<tbody id="%s".*?</tbody>' % i, page, re.S).group(0) for n, i in _audit_html.host_ids(
        _audit_report.order(fleet)).items() if not _audit_html.is_open(fleet['hosts'][n])]
    assert quiet and sum(1 for sec in quiet if re.search(r'as recommended: <a href="#K[0-9]+">', sec)) > len(quiet) / 2
    assert max(len(sec) for sec in quiet) < 1200


def host_rows(page):
    """{host: the markup of its table row}"""
    return dict((m.group(1), m.group(0)) for m in re.finditer(r'<tr data-host="([^"]*)".*?</tr>', page))


def usage_widths(page):
    out = {}
    for name, row in host_rows(page).items():
        m = re.search(r'<i class="(u-[a-z]+)" style="--w:([0-9.]+)%">', row)
        if m:
            out[name] = m.groups()
    return out


def test_usage_bar(report30, page30):
    widths = usage_widths(page30)
    full = [n for n, e in report30['hosts'].items() if ((e.get('usage') or {}).get('ratio') or 0) >= 1]
    assert full, 'the fleet has a full table'
    for name in full:
        assert widths[name] == ('u-bad', '100'), name
    for name, e in report30['hosts'].items():
        ratio = (e.get('usage') or {}).get('ratio')
        if ratio is None:
            assert name not in widths
            continue
        cls = 'u-bad' if ratio >= 0.95 else 'u-warn' if ratio >= 0.75 else 'u-ok'
        assert widths[name][0] == cls
        assert abs(float(widths[name][1]) - min(ratio, 1) * 100) < 0.06


@pytest.mark.parametrize('ratio,cls,width', [
    (0.0, 'u-ok', '0'), (0.5, 'u-ok', '50'), (0.7499, 'u-ok', '75'), (0.75, 'u-warn', '75'), (0.9, 'u-warn', '90'),
    (0.95, 'u-bad', '95'), (1.0, 'u-bad', '100'), (1.37, 'u-bad', '100'),
])
def test_usage_bar_caps_and_colors(ratio, cls, width):
    cell = _audit_html.usage_bar(ratio)
    assert '<i class="%s" style="--w:%s%%">' % (cls, width) in cell
    assert '%.1f%%' % (100 * ratio) in cell


def test_drops_cell(report30, page30):
    for name, e in report30['hosts'].items():
        d = e.get('drops') or {}
        if not d:
            continue
        total = d['drop'] + d['early_drop'] + d['insert_failed']
        row = host_rows(page30)[name]
        if total:
            title = 'drop %s, early_drop %s, insert_failed %s' % (d['drop'], d['early_drop'], d['insert_failed'])
            assert '<td title="%s" class="drops">%s</td>' % (title, '{0:,}'.format(total)) in row, name
            # and as text in the section, with where the counters come from
            assert 'drops since boot (%s)' % d['source'] in page30
        else:
            assert '<td>0</td>' in row


def test_empty_and_passing_report():
    report = report_of({})
    page = _audit_html.to_html(report)
    parsed = parse(page)
    assert parsed.errors == [] and rows(parsed) == [] and sections(parsed) == []
    assert 'PASS' in page


def test_5000_hosts_render_in_under_5_mb():
    # every host has its row and its section, and the page stays small (the time it takes is
    # measured in `make bench`, benchmarks/report.py, not asserted here)
    report = report_of(audit_synth.fleet(5000))
    page = _audit_html.to_html(report)
    assert page.count('<tr data-host=') == 5000
    assert page.count('<tbody id="host-') == 5000
    assert len(page.encode('utf-8')) < MAX_BYTES_5000
