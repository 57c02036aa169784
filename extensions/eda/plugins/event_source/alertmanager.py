# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nfct.tuning.alertmanager: an ansible-rulebook event source that receives Alertmanager's
webhook (payload version 4) and applies the closed loop's bounds to each alert
(docs/closed-loop.md).

One event per alert of each notification, in the shape of ansible.eda.alertmanager's (the
alert under `alert`, its host in `meta.hosts`), plus the loop's decision under `nfct_loop`:

    {"alert": {...as posted: status, labels, annotations, startsAt, endsAt, fingerprint...},
     "nfct_loop": {"decision": "remediate" | "stop" | "skip" | "ignore", "reason": "...",
                   "message": "...", "host": "web1", "id": "...", "record": "/abs/path.jsonl",
                   "alert": {name, fingerprint, starts_at, ...}, "budget": {used, limit, window}},
     "meta": {"hosts": ["web1"], "endpoint": "/alerts", "receiver": "...", "group_key": "..."}}

The decision is plugins/module_utils/loop/decide.py of this collection, made for the alerts of a
notification in order under the record's lock, and recorded before the event is put on the
queue (loop/record.py): a remediation is in the record as started before the rulebook runs it,
so a grouped or repeated alert that arrives meanwhile is not stacked on it. When the record
cannot be read or written, every handled firing alert is a `stop` (the bounds cannot be kept).

A small HTTP/1.1 server on asyncio (the standard library only): POST with a JSON body on any
path (Content-Length or chunked, at most max_body bytes, keep-alive), answered 200 with the
number of alerts; GET answers 200 (a readiness probe). Bad requests get 400, other methods 405.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import asyncio
import importlib.util
import json
import logging
import os

DOCUMENTATION = r'''
---
short_description: Receive Alertmanager's webhook, one event per alert, with the closed loop's bounds.
description:
  - An ansible-rulebook event source for Alertmanager's webhook receiver (payload version 4).
  - Each alert becomes one event - the alert under C(alert), its host (the label O(host_label) without its port)
    in C(meta.hosts), and the closed loop's decision under C(nfct_loop) (docs/closed-loop.md).
options:
  host:
    description: The address to listen on.
    type: str
    default: 0.0.0.0
  port:
    description: The port to listen on.
    type: int
    default: 5000
  record:
    description: The loop's record (JSON lines); a relative path is relative to ansible-rulebook's working folder.
    type: str
    default: conntrack-remediations.jsonl
  host_label:
    description: The label that names the host (its value without a port).
    type: str
    default: instance
  alerts:
    description: The alert names the loop handles (others are passed on with decision ignore).
    type: list
    elements: str
  budget:
    description: At most this many remediations per host per window (0 - record and escalate only).
    type: int
    default: 3
  window:
    description: The budget's window in seconds.
    type: int
    default: 3600
  in_flight_timeout:
    description: Seconds after which a remediation without a result counts as failed.
    type: int
    default: 900
  settle:
    description: An alert that began less than this many seconds after the host's last fix does not start another.
    type: int
    default: 600
  max_body:
    description: The largest request body accepted, in bytes.
    type: int
    default: 10485760
'''

EXAMPLES = r'''
- nfct.tuning.alertmanager:
    host: 127.0.0.1
    port: 5000
    record: /srv/ops/conntrack-remediations.jsonl
    budget: 3
    window: 3600
'''

logger = logging.getLogger(__name__)

READ_TIMEOUT = 30
MAX_HEADER = 65536
REASONS = {200: 'OK', 400: 'Bad Request', 405: 'Method Not Allowed', 413: 'Payload Too Large',
           500: 'Internal Server Error'}


class HTTPError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status


def _load(name, path):
    spec = importlib.util.spec_from_file_location('nfct_tuning_loop_%s' % name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_loop():
    """(decide, record) modules of this collection: from the files beside this plugin in the
    collection (extensions/eda/plugins/event_source -> plugins/module_utils/loop), else by
    import (the collection on the Python path)."""
    here = os.path.dirname(os.path.abspath(__file__))
    loop = os.path.join(here, '..', '..', '..', '..', 'plugins', 'module_utils', 'loop')
    if os.path.isfile(os.path.join(loop, 'decide.py')):
        return _load('decide', os.path.join(loop, 'decide.py')), _load('record', os.path.join(loop, 'record.py'))
    from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide, record
    return decide, record


class Request(object):
    __slots__ = ('method', 'path', 'version', 'headers', 'body')

    def __init__(self, method, path, version, headers, body):
        self.method, self.path, self.version, self.headers, self.body = method, path, version, headers, body

    def keep_alive(self):
        connection = self.headers.get('connection', '').lower()
        if self.version == 'HTTP/1.0':
            return connection == 'keep-alive'
        return connection != 'close'


async def read_request(reader, max_body):
    """The next request on the connection, or None at its end (before a request starts)."""
    try:
        head = await reader.readuntil(b'\r\n\r\n')
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HTTPError(400, 'incomplete request head')
    except asyncio.LimitOverrunError:
        raise HTTPError(400, 'request head too long')
    lines = head.decode('latin-1').split('\r\n')
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith('HTTP/1.'):
        raise HTTPError(400, 'bad request line %r' % lines[0][:100])
    headers = {}
    for text in lines[1:]:
        if text:
            name, sep, value = text.partition(':')
            if not sep:
                raise HTTPError(400, 'bad header line %r' % text[:100])
            headers[name.strip().lower()] = value.strip()
    body = await read_body(reader, headers, max_body)
    return Request(parts[0].upper(), parts[1], parts[2], headers, body)


async def read_body(reader, headers, max_body):
    if 'chunked' in headers.get('transfer-encoding', '').lower():
        chunks, size = [], 0
        while True:
            line = await reader.readuntil(b'\r\n')
            try:
                length = int(line.split(b';')[0].strip(), 16)
            except ValueError:
                raise HTTPError(400, 'bad chunk size')
            if length == 0:
                while (await reader.readuntil(b'\r\n')) != b'\r\n':   # trailers
                    pass
                return b''.join(chunks)
            size += length
            if size > max_body:
                raise HTTPError(413, 'body over %d bytes' % max_body)
            chunks.append(await reader.readexactly(length))
            await reader.readexactly(2)
    try:
        length = int(headers.get('content-length', '0'))
    except ValueError:
        raise HTTPError(400, 'bad Content-Length')
    if length < 0:
        raise HTTPError(400, 'bad Content-Length')
    if length > max_body:
        raise HTTPError(413, 'body over %d bytes' % max_body)
    return await reader.readexactly(length) if length else b''


def response(status, document, keep_alive=True):
    body = (json.dumps(document, sort_keys=True) + '\n').encode('utf-8')
    head = ('HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n'
            % (status, REASONS.get(status, 'Error'), len(body), 'keep-alive' if keep_alive else 'close'))
    return head.encode('latin-1') + body


class Receiver(object):
    """The webhook receiver: requests in, events on the queue."""

    def __init__(self, queue, args, loop_modules=None):
        self.queue = queue
        self.decide, self.record = loop_modules or load_loop()
        self.host = str(args.get('host') or '0.0.0.0')
        self.port = int(args.get('port') if args.get('port') not in (None, '') else 5000)
        self.record_path = os.path.abspath(str(args.get('record') or 'conntrack-remediations.jsonl'))
        self.host_label = str(args.get('host_label') or 'instance')
        self.max_body = int(args.get('max_body') or 10485760)
        self.bounds = self.decide.policy(args.get('budget'), args.get('window'), args.get('in_flight_timeout'),
                                         args.get('alerts'), args.get('settle'))
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self.handle, self.host, self.port, limit=MAX_HEADER)
        where = ', '.join('%s:%s' % s.getsockname()[:2] for s in self.server.sockets or [])
        logger.info('nfct.tuning.alertmanager: listening on %s, record %s, budget %d per %d s',
                    where, self.record_path, self.bounds['budget'], self.bounds['window'])
        return self.server

    async def handle(self, reader, writer):
        try:
            while True:
                try:
                    request = await asyncio.wait_for(read_request(reader, self.max_body), READ_TIMEOUT)
                except HTTPError as e:
                    writer.write(response(e.status, {'error': str(e)}, keep_alive=False))
                    await writer.drain()
                    break
                if request is None:
                    break
                status, document = await self.answer(request)
                keep = request.keep_alive()
                writer.write(response(status, document, keep))
                await writer.drain()
                if not keep:
                    break
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def answer(self, request):
        if request.method in ('GET', 'HEAD'):
            return 200, {'source': 'nfct.tuning.alertmanager', 'record': self.record_path}
        if request.method != 'POST':
            return 405, {'error': 'POST the webhook payload here'}
        try:
            payload = json.loads(request.body.decode('utf-8'))
        except ValueError as e:
            return 400, {'error': 'the body is not JSON: %s' % e}
        if not isinstance(payload, dict) or not isinstance(payload.get('alerts'), list):
            return 400, {'error': 'not an Alertmanager webhook payload (no alerts list)'}
        alerts = [a for a in payload['alerts'] if isinstance(a, dict)]
        loop = asyncio.get_running_loop()
        decisions = await loop.run_in_executor(None, self.decide_all, alerts)
        for alert, decision in zip(alerts, decisions):
            await self.queue.put(self.event(alert, decision, request.path, payload))
        if payload.get('truncatedAlerts'):
            logger.warning('nfct.tuning.alertmanager: %s alerts were truncated by Alertmanager (max_alerts)',
                           payload['truncatedAlerts'])
        return 200, {'alerts': len(alerts), 'decisions': [d['decision'] for d in decisions]}

    def decide_all(self, alerts):
        """The decisions for a notification's alerts, in order, under one lock of the record."""
        def step(entries):
            entries, out, new = list(entries), [], []
            for alert in alerts:
                d = self.decide.decide(entries, alert, self.host_label, None, self.bounds)
                if d.entry:
                    entries.append(d.entry)
                    new.append(d.entry)
                out.append(d)
            return out, new
        try:
            made = self.record.transact(self.record_path, step)
        except self.record.RecordError as e:
            logger.error('nfct.tuning.alertmanager: %s: every handled alert is stopped', e)
            made = [self.unrecorded(alert, e) for alert in alerts]
        for alert, d in zip(alerts, made):
            logger.info('nfct.tuning.alertmanager: %s %s: %s (%s)', (alert.get('labels') or {}).get('alertname'),
                        alert.get('status'), d.action, d.message)
        return [self.loop_data(alert, d) for alert, d in zip(alerts, made)]

    def unrecorded(self, alert, error):
        d = self.decide.decide([], alert, self.host_label, None, self.bounds)
        if d.action == 'ignore':
            return d
        return self.decide.Decision('stop', 'record_error', 'the record cannot be kept (%s): the loop cannot keep '
                                    'its bounds and does nothing; a person must look' % error)

    def loop_data(self, alert, d):
        summary = self.decide.alert_summary(alert, self.host_label)
        return {'decision': d.action, 'reason': d.reason, 'message': d.message, 'host': summary['host'],
                'id': (d.entry or {}).get('id'), 'record': self.record_path, 'alert': summary, 'budget': d.budget}

    def event(self, alert, loop_data, path, payload):
        meta = {'endpoint': path, 'receiver': payload.get('receiver'), 'group_key': payload.get('groupKey')}
        if loop_data['host']:
            meta['hosts'] = [loop_data['host']]
        return {'alert': alert, 'nfct_loop': loop_data, 'meta': meta}


async def main(queue, args):
    """The entry point of ansible-rulebook: serve until cancelled."""
    receiver = Receiver(queue, args)
    server = await receiver.start()
    try:
        await server.serve_forever()
    finally:
        server.close()
        await server.wait_closed()


if __name__ == '__main__':
    # by hand: print the events of the notifications posted to port 5000
    class PrintQueue(object):
        async def put(self, event):
            print(json.dumps(event, sort_keys=True))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(PrintQueue(), {'port': 5000}))
