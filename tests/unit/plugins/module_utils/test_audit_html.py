# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report (_audit_html.to_html) on synthetic fleets (audit_synth): it parses, rows
worst first with their status, counts, every host detailed, everything escaped, nothing fetched
from outside the page, and 5,000 hosts each get their row and section."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from html.parser import HTMLParser

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report

import audit_synth

META = {'collection_version': '0.1.0', 'ansible_core_version': '2.19.14'}
EVIL = '<script>alert(1)</script>&"x\''
VOID = ('area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr')


class Page(HTMLParser):
    """The elements of a page: (tag, attrs) in document order, checking that tags nest."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.errors = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append('</%s> closes %s' % (tag, self.stack[-1:] or 'nothing'))
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page):
    p = Page()
    p.feed(page)
    p.close()
    return p


def report_of(results):
    return _audit_report.build(results, sorted(results), meta=META)


@pytest.fixture(scope='module')
def fleet30():
    return audit_synth.fleet(30)


@pytest.fixture(scope='module')
def report30(fleet30):
    return report_of(fleet30)


@pytest.fixture(scope='module')
def page30(report30):
    return _audit_html.to_html(report30)


@pytest.fixture(scope='module')
def parsed30(page30):
    return parse(page30)


def rows(parsed):
    return [a for t, a in parsed.elements if t == 'tr' and 'data-host' in a]


def details(parsed):
    return [a for t, a in parsed.elements if t == 'details']


def test_page_parses_and_nests(page30, parsed30):
    assert page30.startswith('<!DOCTYPE html>')
    assert parsed30.errors == []
    assert parsed30.stack == []
    tags = [t for t, a in parsed30.elements]
    assert tags[:2] == ['html', 'head']
    assert tags.count('table') >= 1 and tags.count('script') == 1 and tags.count('style') == 1
    assert '<title>conntrack audit' in page30


def test_one_row_per_host_worst_first(report30, parsed30):
    got = rows(parsed30)
    assert [a['data-host'] for a in got] == _audit_report.order(report30)
    assert len(got) == 30
    for a in got:
        assert a['data-status'] == report30['hosts'][a['data-host']]['status']
    # worst first: failed, unreachable, drifted, in sync - every shape is in the fleet
    statuses = [a['data-status'] for a in got]
    assert statuses == sorted(statuses, key=_audit_report.SEVERITY.get)
    assert set(statuses) == set(_audit_report.STATUSES)


def test_failing_hosts_are_marked(report30, parsed30):
    marked = sorted(a['data-host'] for a in rows(parsed30) if 'fails' in a.get('class', '').split())
    assert marked == report30['failing_hosts']
    assert marked


def test_counts_appear(report30, parsed30, page30):
    tiles = {}
    p = Page()
    p.feed(page30)
    for i, (tag, attrs) in enumerate(p.elements):
        if tag == 'div' and 'data-count' in attrs:
            tiles[attrs['data-count']] = i
    assert set(tiles) == set(['hosts', 'in_sync', 'drifted', 'unreachable', 'failed', 'failing'])
    for kind in tiles:
        n = report30['counts'][kind]
        assert re.search(r'data-count="%s"><span class="n">%d</span>' % (kind, n), page30), kind
    c = report30['counts']
    assert sum(c[s] for s in _audit_report.STATUSES) == c['hosts'] == 30
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


def test_everything_is_escaped(fleet30):
    results = dict(fleet30)
    bad = dict(results['host-0001'])
    audit = dict(bad['audit'])
    keys = dict(audit['keys'])
    short = sorted(keys)[0]
    keys[short] = dict(keys[short], reason=EVIL, source=EVIL, at_boot_source=EVIL, shadowed_by=[EVIL])
    audit.update(keys=keys, warnings=[EVIL], profile=EVIL, status='drifted', lines=[EVIL],
                 notrack={'drifted': True, 'lines': [EVIL], 'error': EVIL, 'report': None})
    bad['audit'] = audit
    results[EVIL] = bad
    results[EVIL + ' unreachable'] = {'unreachable': True, 'msg': EVIL}
    results[EVIL + ' failed'] = {'failed': True, 'msg': EVIL}
    report = report_of(results)
    page = _audit_html.to_html(report)
    assert '<script>alert' not in page
    assert page.count('<script>') == 1
    parsed = parse(page)
    assert parsed.errors == []
    hosts = [a['data-host'] for a in rows(parsed)]
    assert hosts == _audit_report.order(report)
    assert EVIL in hosts and EVIL + ' failed' in hosts
    assert set(a['data-host'] for a in details(parsed)) == set(hosts)
    # the text comes back intact
    text = ''.join(parsed.text)
    assert text.count(EVIL) >= 8
    # ids: safe, unique, and every link points at one
    ids = [a['id'] for t, a in parsed.elements if 'id' in a]
    assert len(ids) == len(set(ids))
    for i in ids:
        assert re.match(r'^[A-Za-z][A-Za-z0-9_.-]*$', i), i
    links = [a['href'][1:] for t, a in parsed.elements if t == 'a' and 'href' in a]
    assert set(links) <= set(ids)


def test_host_ids_are_safe_and_unique():
    names = ['web-01', 'web 01', 'web/01', 'web-01-2', '', '"><img', 'db.example.com', u'h\u00f6st']
    ids = _audit_html.host_ids(names)
    assert len(set(ids.values())) == len(names)
    assert ids['web-01'] == 'host-web-01' and ids['db.example.com'] == 'host-db.example.com'
    for hid in ids.values():
        assert re.match(r'^host-[A-Za-z0-9_.-]+$', hid), hid


def test_every_host_has_a_detail_section(report30, parsed30):
    got = details(parsed30)
    assert [a['data-host'] for a in got] == _audit_report.order(report30)
    ids = set(a['id'] for a in got)
    links = [a['href'] for t, a in parsed30.elements if t == 'a']
    assert set(h[1:] for h in links) == ids
    for a in got:
        status = report30['hosts'][a['data-host']]['status']
        assert a['data-status'] == status
        assert ('open' in a) == (status != 'in_sync'), a


def test_details_content(report30, page30):
    for name, e in report30['hosts'].items():
        if e['status'] in ('unreachable', 'failed'):
            assert e['error'] and _audit_html.escape(e['error']) in page30
        for k in e['keys'].values():
            assert '<span class="mono mute small">%s</span>' % k['key'] in page30
    assert 'not set' in page30  # an at_boot host has no persisted value


def host_rows(page):
    """{host: the markup of its table row}"""
    return dict((m.group(1), m.group(0)) for m in re.finditer(r'<tr data-host="([^"]*)".*?</tr>', page))


def usage_widths(page):
    out = {}
    for name, row in host_rows(page).items():
        m = re.search(r'<span class="(u-[a-z]+)" style="width:([0-9.]+)%">', row)
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
    assert '<span class="%s" style="width:%s%%">' % (cls, width) in cell
    assert '%.1f%%' % (100 * ratio) in cell


def test_drops_cell(report30, page30):
    for name, e in report30['hosts'].items():
        d = e.get('drops') or {}
        if not d:
            continue
        total = d['drop'] + d['early_drop'] + d['insert_failed']
        title = 'drop %s, early_drop %s, insert_failed %s' % (d['drop'], d['early_drop'], d['insert_failed'])
        assert '<td class="num" data-sort="%d" title="%s">' % (total, title) in host_rows(page30)[name], name


def test_empty_and_passing_report():
    report = report_of({})
    page = _audit_html.to_html(report)
    parsed = parse(page)
    assert parsed.errors == [] and rows(parsed) == [] and details(parsed) == []
    assert 'PASS' in page


def test_5000_hosts_render():
    # every host has its row and its section (the time it takes is measured in `make bench`,
    # benchmarks/report.py, not asserted here)
    report = report_of(audit_synth.fleet(5000))
    page = _audit_html.to_html(report)
    assert page.count('<tr data-host=') == 5000
    assert page.count('<details class="host') == 5000
