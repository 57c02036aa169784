# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report in a real browser: Debian's chromium, headless, with its network closed,
renders the synthetic report (30 hosts with users and breakdowns; 5,000 hosts) with JavaScript
and without. Content: every host's row, status and section are in the DOM; the section of a
failing host shows its health evidence and its fix commands, a host in sync opens from its link
(with and without JavaScript). Layout, measured in the page over the DevTools protocol
(headless.browser()): nothing is wider than a 1280 px window, the search box filters the rows and
Enter opens the first host found, the sort headers sort; a 5,000-host page loads, and the search
finds one host in it. A screenshot is a real picture - the one in docs/images/audit-report.png:

    NFCT_AUDIT_SCREENSHOT=docs/images/audit-report.png PYTHONPATH=.cache/collections \\
        .venv/bin/python -m pytest -q tests/containers/test_audit_html_chromium.py -k screenshot

With scripts disabled (--blink-settings=scriptEnabled=false) the new headless mode's --dump-dom
prints nothing (it serializes the page with a script), so that DOM is read over the DevTools
protocol instead (--remote-debugging-pipe: DOM.getOuterHTML needs no script in the page); the
protocol's Runtime.evaluate still measures such a page (the page's own scripts stay off).

Skipped unless /usr/bin/chromium exists (apt-get install --no-install-recommends chromium); an error
under `make containers` (NFCT_REQUIRE_CHROMIUM=1), which installs it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import struct
import sys
import time

import pytest

from headless import CHROMIUM, NO_JS, browser, dom, dom_over_devtools

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'unit'))
import audit_synth  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report  # noqa: E402

if not os.path.exists(CHROMIUM) and os.environ.get('NFCT_REQUIRE_CHROMIUM') == '1':
    # make containers (make test) installs it: missing there is an error, not a skip
    raise RuntimeError('%s is missing: make setup installs the apt package chromium' % CHROMIUM)
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs Debian chromium (%s)' % CHROMIUM)

META = {'collection_version': '0.3.0', 'ansible_core_version': '2.19.14'}
WIDTH = 1280
# a host whose name and commands have no place to break: the page must still fit the window
LONG = 'edge-' + 'x' * 150 + '.dc1.example.com'
MODES = [pytest.param((), id='js'), pytest.param((NO_JS,), id='no-js')]

# in the page: is an element drawn (a box, not display:none, not in a hidden ancestor), and where
VISIBLE = """(function (el) { if (!el) { return null; } var r = el.getBoundingClientRect();
  return {shown: r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden',
          top: r.top, bottom: r.bottom, text: el.innerText}; })(%s)"""
# elements wider than the window, or reaching past its right edge
OVERFLOW = """(function () { var w = document.documentElement.clientWidth, out = [];
  var all = document.querySelectorAll('body *');
  for (var i = 0; i < all.length && out.length < 5; i++) {
    var r = all[i].getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) { out.push([all[i].tagName, all[i].className, Math.round(r.right)]); }
  }
  return {scroll: document.documentElement.scrollWidth, client: w, over: out}; })()"""
SHOWN_HOSTS = ("Array.prototype.filter.call(document.getElementById('host-table').tBodies, function (h) { "
               "return !h.hidden; }).map(function (h) { return h.rows[0].getAttribute('data-host'); })")


@pytest.fixture(scope='module')
def report():
    f = audit_synth.rich_fleet(30)
    # and a host whose name and commands have no place to break, failing
    gone = dict(f['host-0011'], msg='Failed to connect to the host via ssh: ' + 'y' * 300)
    f[LONG] = gone
    return _audit_report.build(f, sorted(f), meta=META)


@pytest.fixture
def page(tmp_path, report):
    path = tmp_path / 'conntrack-audit.html'
    path.write_text(_audit_html.to_html(report), encoding='utf-8')
    return path


def expected(report):
    return [(n, report['hosts'][n]['status']) for n in _audit_report.order(report)]


def opened(report):
    return [(n, report['hosts'][n]['status'], _audit_html.is_open(report['hosts'][n])) for n in _audit_report.order(report)]


def host_id(report, name):
    return _audit_html.host_ids(_audit_report.order(report))[name]


def failing_unhealthy(report):
    """A host that fails the run on its health: what an operator acts on first."""
    return [n for n in _audit_report.order(report) if (report['hosts'][n].get('health') or {}).get('kinds')
            and report['hosts'][n]['fails_run']][0]


def quiet(report):
    return [n for n in _audit_report.order(report) if not _audit_html.is_open(report['hosts'][n])][0]


def test_rows_in_the_dom(tmp_path, page, report):
    d = dom(tmp_path, page.as_uri())
    assert d.rows == expected(report)
    assert d.sections == opened(report)
    # the script ran: it marks the page and shows the filter box
    assert 'js' in d.html_class.split()
    assert d.filter_hidden is False


def test_rows_without_javascript(tmp_path, page, report):
    d = dom_over_devtools(tmp_path, page.as_uri(), NO_JS)
    assert d.rows == expected(report)
    assert d.sections == opened(report)
    assert 'js' not in d.html_class.split()
    assert d.filter_hidden is True


@pytest.mark.parametrize('column,key,reverse', [
    (0, lambda e, n: n, False),
    (3, lambda e, n: (e.get('usage') or {}).get('ratio') or -1, True),
    (6, lambda e, n: e.get('drift_count') or 0, True),
])
def test_sort_by_clicking_a_header(tmp_path, page, report, column, key, reverse):
    # a copy of the page that clicks one header once its own script has run
    clicked = tmp_path / ('sorted-%d.html' % column)
    clicked.write_text(page.read_text(encoding='utf-8').replace(
        '</body>', "<script>document.querySelectorAll('#host-table th')[%d].click()</script></body>" % column),
        encoding='utf-8')
    d = dom(tmp_path, clicked.as_uri())
    hosts = report['hosts']
    got = [h for h, s in d.rows]
    assert sorted(got) == sorted(hosts)
    values = [key(hosts[h], h) for h in got]
    assert values == sorted(values, reverse=reverse)
    # each section moves with its row
    assert [h for h, s, o in d.sections] == got
    if column:
        # ties keep the worst-first order
        rank = dict((n, i) for i, n in enumerate(_audit_report.order(report)))
        for a, b in zip(got, got[1:]):
            if key(hosts[a], a) == key(hosts[b], b):
                assert rank[a] < rank[b]


def test_devtools_dom_with_javascript(tmp_path, page, report):
    # the same reader with scripts on sees what --dump-dom sees: the check above is not vacuous
    d = dom_over_devtools(tmp_path, page.as_uri())
    assert d.rows == expected(report)
    assert 'js' in d.html_class.split()


def section(page, hid, selector=''):
    """VISIBLE of the tbody of a host (its row and section), or of an element in it."""
    el = 'document.getElementById(%s)' % json.dumps(hid)
    return page.js(VISIBLE % (('%s.querySelector(%s)' % (el, json.dumps(selector))) if selector else el))


@pytest.mark.parametrize('extra', MODES)
def test_a_failing_host_shows_its_health_and_fix(tmp_path, page, report, extra):
    name = failing_unhealthy(report)
    entry = report['hosts'][name]
    hid = host_id(report, name)
    with browser(tmp_path, *extra, width=WIDTH, height=900) as tab:
        tab.open(page.as_uri())
        if not extra:
            # with JavaScript the host's link closes its section and opens it again
            tab.js("document.getElementById('%s').querySelector('a').click()" % hid)
            assert section(tab, hid, 'pre.fix')['shown'] is False
            tab.js("document.getElementById('%s').querySelector('a').click()" % hid)
        tab.js("document.getElementById('%s').scrollIntoView()" % hid)
        health = section(tab, hid, 'div.health')
        fix = section(tab, hid, 'pre.fix')
    assert health['shown'] and fix['shown']
    assert 0 <= fix['top'] < 900, fix
    for kind in entry['health']['kinds']:
        assert '%s: %s' % (kind, entry['health']['evidence'][kind]) in health['text']
    assert entry['health']['window']['why'] in health['text']
    for f in entry['fix']:
        assert f['command'] in fix['text'] and '# ' + f['why'] in fix['text']


@pytest.mark.parametrize('extra', MODES)
def test_a_host_in_sync_opens_from_its_link(tmp_path, page, report, extra):
    name = quiet(report)
    hid = host_id(report, name)
    with browser(tmp_path, *extra, width=WIDTH, height=900) as tab:
        tab.open(page.as_uri())
        closed = section(tab, hid, 'tr + tr')
        # the link is a fragment: with or without the script, following it opens the section
        tab.js("location.hash = '#%s'" % hid)
        shown = section(tab, hid, 'tr + tr')
        others = [n for n in _audit_report.order(report) if not _audit_html.is_open(report['hosts'][n]) and n != name]
        other = section(tab, host_id(report, others[0]), 'tr + tr')
    assert closed['shown'] is False and other['shown'] is False
    assert shown['shown'] and 0 <= shown['top'] < 900
    assert 'as recommended' in shown['text'] and 'healthy' in shown['text']


@pytest.mark.parametrize('extra', MODES)
def test_nothing_is_wider_than_the_window(tmp_path, page, report, extra):
    with browser(tmp_path, *extra, width=WIDTH, height=900) as tab:
        tab.open(page.as_uri() + '#' + host_id(report, quiet(report)))
        got = tab.js(OVERFLOW)
        long_row = section(tab, host_id(report, LONG))
    assert got['over'] == [] and got['scroll'] <= got['client'], got
    assert long_row['shown'] and LONG in long_row['text'].replace('\n', '')


def test_search_filters_rows_and_enter_opens_the_first(tmp_path, page, report):
    gone = sorted(n for n, e in report['hosts'].items() if e['status'] == 'unreachable')
    name = quiet(report)
    with browser(tmp_path, width=WIDTH, height=900) as tab:
        tab.open(page.as_uri())
        assert len(tab.js(SHOWN_HOSTS)) == len(report['hosts'])
        tab.js("document.getElementById('filter').focus()")
        tab.type('unreachable')
        by_status = tab.js(SHOWN_HOSTS)
        count = tab.js("document.getElementById('filter-count').textContent")
        tab.js("var f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
        tab.type(name)
        by_name = tab.js(SHOWN_HOSTS)
        tab.key('Enter', 13)
        hash_ = tab.js('location.hash')
        shown = section(tab, host_id(report, name), 'tr + tr')
        tab.js("var f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
        again = tab.js(SHOWN_HOSTS)
    assert sorted(by_status) == gone and count == '%d of %d hosts' % (len(gone), len(report['hosts']))
    assert by_name == [name]
    assert hash_ == '#' + host_id(report, name)
    assert shown['shown'] and 0 <= shown['top'] < 900
    assert len(again) == len(report['hosts'])


def test_5000_hosts_load_and_the_search_finds_one(tmp_path):
    fleet = audit_synth.fleet(5000)
    report = _audit_report.build(fleet, sorted(fleet), meta=META)
    path = tmp_path / 'conntrack-audit-5000.html'
    start = time.time()
    path.write_text(_audit_html.to_html(report), encoding='utf-8')
    rendered = time.time() - start
    name = 'host-4321'
    hid = host_id(report, name)
    with browser(tmp_path, width=WIDTH, height=900) as tab:
        start = time.time()
        tab.open(path.as_uri())
        loaded = time.time() - start
        hosts = tab.js("document.getElementById('host-table').tBodies.length")
        tab.js("document.getElementById('filter').focus()")
        start = time.time()
        tab.type(name)
        found = tab.js(SHOWN_HOSTS)
        typed = time.time() - start
        tab.key('Enter', 13)
        shown = section(tab, hid, 'tr + tr')
        tab.js("var f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
        overflow = tab.js(OVERFLOW)
    print('\n5,000 hosts: %.1f MB, rendered in %.2f s, loaded in chromium in %.1f s, searched in %.2f s' % (
        path.stat().st_size / 1e6, rendered, loaded, typed))
    assert hosts == 5000
    assert found == [name]
    assert shown['shown'] and 0 <= shown['top'] < 900
    assert overflow['over'] == [] and overflow['scroll'] <= overflow['client'], overflow
    assert loaded < 60 and typed < 30


def png_size(path):
    with open(str(path), 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', head[16:24])


def test_screenshot(tmp_path, report):
    # the 30 hosts of the synthetic fleet (without the long name): the header, the table, the
    # sections of the failing hosts first; NFCT_AUDIT_SCREENSHOT=path keeps a copy (the docs')
    fleet = audit_synth.rich_fleet(30)
    path = tmp_path / 'conntrack-audit.html'
    path.write_text(_audit_html.to_html(_audit_report.build(fleet, sorted(fleet), meta=META)), encoding='utf-8')
    shot = tmp_path / 'audit-report.png'
    start = time.time()
    with browser(tmp_path, width=WIDTH, height=1700) as tab:
        tab.open(path.as_uri())
        tab.screenshot(shot)
        metrics = json.dumps(tab.js(OVERFLOW))
    print('\nscreenshot: %s, %d bytes in %.1f s (%s)' % (shot, shot.stat().st_size, time.time() - start, metrics))
    assert shot.stat().st_size > 20 * 1024
    assert png_size(shot) == (WIDTH, 1700)
    keep = os.environ.get('NFCT_AUDIT_SCREENSHOT')
    if keep:
        shutil.copyfile(str(shot), keep)
