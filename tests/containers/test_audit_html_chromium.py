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

import fcntl
import json
import os
import struct
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'unit'))
import audit_synth  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils import _audit_html, _audit_report  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
if not os.path.exists(CHROMIUM) and os.environ.get('NFCT_REQUIRE_CHROMIUM') == '1':
    # make containers (make test) installs it: missing there is an error, not a skip
    raise RuntimeError('%s is missing: make setup installs the apt package chromium' % CHROMIUM)
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs Debian chromium (%s)' % CHROMIUM)

META = {'collection_version': '0.1.0', 'ansible_core_version': '2.19.14'}
# no network, no first-run work, no background fetches; root needs --no-sandbox
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']
NO_JS = '--blink-settings=scriptEnabled=false'


class Dom(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.rows = []
        self.details = []
        self.html_class = None
        self.filter_hidden = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'html':
            self.html_class = a.get('class') or ''
        elif tag == 'tr' and 'data-host' in a:
            self.rows.append((a['data-host'], a.get('data-status')))
        elif tag == 'details':
            self.details.append((a.get('data-host'), a.get('data-status'), 'open' in a))
        elif tag == 'p' and 'filter' in (a.get('class') or '').split():
            self.filter_hidden = 'hidden' in a


def chromium(tmp_path, url, *extra):
    """Run chromium headless with a new empty profile; (stdout, stderr)."""
    profile = tmp_path / ('profile-%d' % len(list(tmp_path.glob('profile-*'))))
    profile.mkdir()
    cmd = [CHROMIUM] + FLAGS + ['--user-data-dir=%s' % profile] + list(extra) + [url]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180, cwd=str(tmp_path), check=False)
    out, err = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
    assert p.returncode == 0, (cmd, err[-3000:])
    return out, err


def dom(tmp_path, url, *extra):
    out, err = chromium(tmp_path, url, '--dump-dom', *extra)
    d = parse_dom(out)
    assert d.rows, err[-3000:]
    return d


def parse_dom(text):
    d = Dom()
    d.feed(text)
    d.close()
    return d


class Pipe(object):
    """The DevTools protocol over --remote-debugging-pipe: chromium reads fd 3, writes fd 4;
    messages are JSON, each ended by a NUL byte."""

    def __init__(self, cmd, log, timeout=120):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # above 4, so that placing them at 3 and 4 in the child clobbers neither
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_r, from_w)]

        def child():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)
        self.log = open(str(log), 'wb')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     close_fds=False, preexec_fn=child)
        for fd in high + [to_r, from_w]:
            os.close(fd)
        self.w = os.fdopen(to_w, 'wb', buffering=0)
        self.r = os.fdopen(from_r, 'rb', buffering=0)
        self.buf = b''
        self.n = 0
        self.watchdog = threading.Timer(timeout, self.proc.kill)
        self.watchdog.start()

    def recv(self):
        while b'\0' not in self.buf:
            chunk = self.r.read(65536)
            if not chunk:
                raise EOFError('chromium closed the DevTools pipe')
            self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg.decode('utf-8'))

    def call(self, method, session=None, event=None, **params):
        """The result of one command; with event, also wait until that event has come."""
        self.n += 1
        msg = {'id': self.n, 'method': method, 'params': params}
        if session:
            msg['sessionId'] = session
        self.w.write(json.dumps(msg).encode('utf-8') + b'\0')
        result, seen = None, event is None
        while result is None or not seen:
            x = self.recv()
            if x.get('id') == self.n:
                assert 'error' not in x, (method, x)
                result = x['result']
            elif event and x.get('method') == event:
                seen = True
        return result

    def close(self):
        try:
            self.call('Browser.close')
        except EOFError:
            pass
        try:
            self.proc.wait(60)
        finally:
            self.watchdog.cancel()
            self.w.close()
            self.r.close()
            self.log.close()


def dom_over_devtools(tmp_path, url, *extra):
    """The DOM of url once loaded, read with DOM.getOuterHTML (no script runs in the page)."""
    profile = tmp_path / ('profile-%d' % len(list(tmp_path.glob('profile-*'))))
    profile.mkdir()
    pipe = Pipe([CHROMIUM] + FLAGS + ['--user-data-dir=%s' % profile, '--remote-debugging-pipe'] + list(extra) +
                ['about:blank'], log=str(profile) + '.log')
    try:
        targets = pipe.call('Target.getTargets')['targetInfos']
        page = [t for t in targets if t['type'] == 'page'][0]['targetId']
        session = pipe.call('Target.attachToTarget', targetId=page, flatten=True)['sessionId']
        pipe.call('Page.enable', session)
        pipe.call('Page.navigate', session, event='Page.loadEventFired', url=url)
        root = pipe.call('DOM.getDocument', session, depth=0)['root']['nodeId']
        text = pipe.call('DOM.getOuterHTML', session, nodeId=root)['outerHTML']
    finally:
        pipe.close()
    d = parse_dom(text)
    assert d.rows
    return d


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
