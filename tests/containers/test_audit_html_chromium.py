# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report in a real browser: Debian's chromium, headless, with its network closed,
renders the 30-host synthetic report (with JavaScript and without), every host's row and status
are in the DOM, the sort script works, and a screenshot is a real picture.

With scripts disabled (--blink-settings=scriptEnabled=false) the new headless mode's --dump-dom
prints nothing (it serializes the page with a script), so that DOM is read over the DevTools
protocol instead (--remote-debugging-pipe: DOM.getOuterHTML needs no script in the page).

Skipped unless /usr/bin/chromium exists (apt-get install --no-install-recommends chromium); an error
under `make containers` (NFCT_REQUIRE_CHROMIUM=1), which installs it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import struct
import sys
import time

import pytest

from headless import CHROMIUM, NO_JS, chromium, dom, dom_over_devtools

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'unit'))
import audit_synth  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.audit import html as _audit_html, report as _audit_report  # noqa: E402

if not os.path.exists(CHROMIUM) and os.environ.get('NFCT_REQUIRE_CHROMIUM') == '1':
    # make containers (make test) installs it: missing there is an error, not a skip
    raise RuntimeError('%s is missing: make setup installs the apt package chromium' % CHROMIUM)
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs Debian chromium (%s)' % CHROMIUM)

META = {'collection_version': '0.1.0', 'ansible_core_version': '2.19.14'}


@pytest.fixture(scope='module')
def report():
    f = audit_synth.fleet(30)
    return _audit_report.build(f, sorted(f), meta=META)


@pytest.fixture
def page(tmp_path, report):
    path = tmp_path / 'conntrack-audit.html'
    path.write_text(_audit_html.to_html(report), encoding='utf-8')
    return path


def expected(report):
    return [(n, report['hosts'][n]['status']) for n in _audit_report.order(report)]


def test_rows_in_the_dom(tmp_path, page, report):
    d = dom(tmp_path, page.as_uri())
    assert d.rows == expected(report)
    assert [(h, s) for h, s, o in d.details] == expected(report)
    assert all(o == (s != 'in_sync') for h, s, o in d.details)
    # the script ran: it marks the page and shows the filter box
    assert 'js' in d.html_class.split()
    assert d.filter_hidden is False


def test_rows_without_javascript(tmp_path, page, report):
    d = dom_over_devtools(tmp_path, page.as_uri(), NO_JS)
    assert d.rows == expected(report)
    assert [(h, s) for h, s, o in d.details] == expected(report)
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


def png_size(path):
    with open(str(path), 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', head[16:24])


def test_screenshot(tmp_path, page):
    shot = tmp_path / 'audit-report.png'
    start = time.time()
    chromium(tmp_path, page.as_uri(), '--screenshot=%s' % shot, '--window-size=1400,1800')
    print('\nscreenshot: %s, %d bytes in %.1f s' % (shot, shot.stat().st_size, time.time() - start))
    assert shot.exists()
    assert shot.stat().st_size > 20 * 1024
    assert png_size(shot) == (1400, 1800)
