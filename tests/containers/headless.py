# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian's chromium, headless, with its network closed, as the reader of the HTML fleet report:
used by tests/containers/test_audit_html_chromium.py and tests/containers/test_audit_fleet.py.

dom() runs chromium --dump-dom (the page's scripts run); with scripts disabled
(--blink-settings=scriptEnabled=false) the new headless mode's --dump-dom prints nothing (it
serializes the page with a script), so dom_over_devtools() reads that DOM over the DevTools
protocol instead (--remote-debugging-pipe: DOM.getOuterHTML needs no script in the page). Both
give a Dom: the report's rows (host, status), its host sections (host, status, open), the html
element's class and whether the filter box is hidden.

browser() is a page held open over the same protocol, for what a test does in it and measures:
the viewport (Emulation), JavaScript evaluated in the page (Runtime.evaluate, also with the page's
own scripts off), keys typed into it (Input), screenshots (Page.captureScreenshot).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import contextlib
import fcntl
import json
import os
import subprocess
import threading
from html.parser import HTMLParser

CHROMIUM = '/usr/bin/chromium'
# no network, no first-run work, no background fetches; root needs --no-sandbox
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']
NO_JS = '--blink-settings=scriptEnabled=false'


class Dom(HTMLParser):
    """rows: (host, status) of the hosts table; sections: (host, status, open when loaded) - a
    host's section is the tbody of its row (its class says s-STATUS, open), or a details
    element with data-host and data-status."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.rows = []
        self.sections = []
        self.html_class = None
        self.filter_hidden = None
        self.tbody = None

    @property
    def details(self):
        return self.sections

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get('class') or '').split()
        if tag == 'html':
            self.html_class = a.get('class') or ''
        elif tag == 'tbody':
            status = [c[2:] for c in classes if c.startswith('s-')]
            self.tbody = (status[0], 'open' in classes) if status else None
        elif tag == 'tr' and 'data-host' in a:
            status = a.get('data-status') or (self.tbody or (None,))[0]
            self.rows.append((a['data-host'], status))
            if self.tbody is not None:
                self.sections.append((a['data-host'], status, self.tbody[1]))
                self.tbody = None
        elif tag == 'details' and 'data-host' in a:
            self.sections.append((a.get('data-host'), a.get('data-status'), 'open' in a))
        elif tag == 'p' and 'filter' in classes:
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


class Page(object):
    """A page held open in chromium over the DevTools pipe (browser())."""

    def __init__(self, pipe, session):
        self.pipe = pipe
        self.session = session

    def call(self, method, event=None, **params):
        return self.pipe.call(method, self.session, event=event, **params)

    def viewport(self, width, height):
        self.call('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1, mobile=False)

    def open(self, url):
        """Navigate and wait for the load event."""
        self.call('Page.navigate', event='Page.loadEventFired', url=url)

    def js(self, expression):
        """The value of a JavaScript expression in the page (JSON-able); an exception fails."""
        result = self.call('Runtime.evaluate', expression=expression, returnByValue=True, awaitPromise=True)
        assert 'exceptionDetails' not in result, (expression, result['exceptionDetails'])
        return result['result'].get('value')

    def type(self, text):
        """Type text into the focused element, one key event at a time (input events fire)."""
        for char in text:
            self.call('Input.dispatchKeyEvent', type='keyDown', text=char, key=char)
            self.call('Input.dispatchKeyEvent', type='keyUp', key=char)

    def key(self, name, code):
        """Press a named key (Enter: 'Enter', 13)."""
        for kind in ('rawKeyDown', 'keyUp'):
            self.call('Input.dispatchKeyEvent', type=kind, key=name, code=name, windowsVirtualKeyCode=code,
                      nativeVirtualKeyCode=code)

    def screenshot(self, path, full_page=False, clip=None):
        """A PNG of the viewport, of the whole page at the viewport's width, or of clip: (x, y,
        width, height) in the page."""
        params = {'format': 'png'}
        if full_page:
            size = self.call('Page.getLayoutMetrics')['cssContentSize']
            clip = (0, 0, size['width'], size['height'])
        if clip:
            params['captureBeyondViewport'] = True
            params['clip'] = dict(zip(('x', 'y', 'width', 'height'), clip), scale=1)
        data = self.call('Page.captureScreenshot', **params)['data']
        with open(str(path), 'wb') as f:
            f.write(base64.b64decode(data))
        return path


@contextlib.contextmanager
def browser(tmp_path, *extra, **kw):
    """A Page in a new headless chromium (viewport width x height), closed after the block."""
    profile = tmp_path / ('profile-%d' % len(list(tmp_path.glob('profile-*'))))
    profile.mkdir()
    pipe = Pipe([CHROMIUM] + FLAGS + ['--user-data-dir=%s' % profile, '--remote-debugging-pipe'] + list(extra) +
                ['about:blank'], log=str(profile) + '.log', timeout=kw.get('timeout', 300))
    try:
        targets = pipe.call('Target.getTargets')['targetInfos']
        target = [t for t in targets if t['type'] == 'page'][0]['targetId']
        session = pipe.call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
        page = Page(pipe, session)
        page.call('Page.enable')
        page.viewport(kw.get('width', 1280), kw.get('height', 900))
        yield page
    finally:
        pipe.close()
