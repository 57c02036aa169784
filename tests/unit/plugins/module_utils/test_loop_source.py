# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/eda/plugins/event_source/alertmanager.py, the closed loop's event source: its HTTP
server on a real socket (keep-alive, chunked bodies, bad requests), one event per alert with the
loop's decision (loop/decide.py, loaded from the collection's own files as ansible-rulebook
loads the plugin) and the record written before the events are queued."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import asyncio
import importlib.util
import json
import os
import time

import pytest

from ansible_collections.nfct.tuning.plugins.module_utils.loop import decide, record

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SOURCE = os.path.join(REPO, 'extensions', 'eda', 'plugins', 'event_source', 'alertmanager.py')


def load_source():
    spec = importlib.util.spec_from_file_location('nfct_alertmanager_source', SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


src = load_source()


def alert(instance='web1:9100', fp='fp1', name='ConntrackNodeDropping', status='firing'):
    return {'status': status, 'fingerprint': fp, 'startsAt': decide.format_time(time.time() - 30),
            'endsAt': '0001-01-01T00:00:00Z', 'generatorURL': 'http://prometheus/graph',
            'labels': {'alertname': name, 'instance': instance, 'severity': 'critical'}, 'annotations': {}}


def payload(alerts, status='firing'):
    return {'version': '4', 'receiver': 'nfct-eda', 'status': status, 'groupKey': '{}:{instance="web1:9100"}',
            'truncatedAlerts': 0, 'groupLabels': {}, 'commonLabels': {}, 'commonAnnotations': {},
            'externalURL': 'http://alertmanager', 'alerts': alerts}


class Queue(object):
    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)


def post(body, path='/alerts', extra=b'', method=b'POST', chunked=False):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if chunked:
        half = len(data) // 2
        chunks = b''.join(b'%x\r\n%s\r\n' % (len(c), c) for c in (data[:half], data[half:]) if c)
        return (method + b' ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n' + extra
                + b'\r\n' + chunks + b'0\r\n\r\n')
    return (method + b' ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
            b'Content-Length: %d\r\n' % len(data) + extra + b'\r\n' + data)


async def exchange(receiver, requests):
    """Send the raw requests on one connection; the (status, JSON) answers."""
    server = await receiver.start()
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        answers = []
        for raw in requests:
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b'\r\n\r\n')
            length = int([h for h in head.split(b'\r\n') if h.lower().startswith(b'content-length')][0].split(b':')[1])
            body = await reader.readexactly(length)
            answers.append((int(head.split()[1]), json.loads(body.decode())))
        writer.close()
        return answers
    finally:
        server.close()
        await server.wait_closed()


def receiver(tmp_path, queue, **args):
    args.setdefault('record', str(tmp_path / 'r.jsonl'))
    return src.Receiver(queue, dict(args, host='127.0.0.1', port=0))


def test_one_event_per_alert_with_the_decision_and_the_record_first(tmp_path):
    q = Queue()
    notification = payload([alert(), alert(name='ConntrackDropping', fp='fp2'), alert(instance='web2:9100', fp='fp3'),
                            alert(fp='fp4', status='resolved'), alert(name='ConntrackInsertFailing', fp='fp5')])
    answers = asyncio.run(exchange(receiver(tmp_path, q, budget='2', window='600'), [post(notification)] * 2))
    assert answers[0] == (200, {'alerts': 5, 'decisions': ['remediate', 'skip', 'remediate', 'ignore', 'ignore']})
    # the same notification again on the same connection (keep-alive): duplicates
    assert answers[1] == (200, {'alerts': 5, 'decisions': ['ignore'] * 5})
    assert len(q.events) == 10
    first = q.events[0]
    assert first['alert'] == notification['alerts'][0]
    assert first['meta'] == {'hosts': ['web1'], 'endpoint': '/alerts', 'receiver': 'nfct-eda',
                             'group_key': notification['groupKey']}
    loop = first['nfct_loop']
    assert loop['decision'] == 'remediate' and loop['host'] == 'web1' and loop['record'] == str(tmp_path / 'r.jsonl')
    assert loop['budget'] == {'used': 1, 'limit': 2, 'window': 600} and loop['alert']['name'] == 'ConntrackNodeDropping'
    entries = record.read(str(tmp_path / 'r.jsonl'))[0]
    assert [(e['event'], e['host']) for e in entries] == [('started', 'web1'), ('skipped', 'web1'), ('started', 'web2')]
    assert entries[0]['id'] == loop['id']
    assert [e['nfct_loop']['reason'] for e in q.events[5:]] == ['duplicate'] * 3 + ['resolved', 'not_handled']


def test_another_label_and_other_alert_names(tmp_path):
    q = Queue()
    a = alert(name='ConntrackTableHigh')
    a['labels']['node'] = 'web7'
    asyncio.run(exchange(receiver(tmp_path, q, host_label='node', alerts=['ConntrackTableHigh']), [post(payload([a]))]))
    assert q.events[0]['nfct_loop']['decision'] == 'remediate' and q.events[0]['meta']['hosts'] == ['web7']


def test_chunked_bodies(tmp_path):
    q = Queue()
    body = payload([alert()])
    answers = asyncio.run(exchange(receiver(tmp_path, q), [post(body, chunked=True)]))
    assert answers == [(200, {'alerts': 1, 'decisions': ['remediate']})]


@pytest.mark.parametrize('raw, status, error', [
    (post(b'{not json'), 400, 'the body is not JSON'),
    (post({'alerts': 'x'}), 400, 'not an Alertmanager webhook payload'),
    (post([1, 2]), 400, 'not an Alertmanager webhook payload'),
    (post(payload([]), method=b'PUT'), 405, 'POST the webhook payload here'),
    (b'GARBAGE\r\n\r\n', 400, 'bad request line'),
    (b'POST / HTTP/1.1\r\nContent-Length: nine\r\n\r\n', 400, 'bad Content-Length'),
    (b'POST / HTTP/1.1\r\nno colon here\r\n\r\n', 400, 'bad header line'),
])
def test_bad_requests(tmp_path, raw, status, error):
    q = Queue()
    answers = asyncio.run(exchange(receiver(tmp_path, q), [raw]))
    assert answers[0][0] == status and error in answers[0][1]['error'] and q.events == []


def test_too_large_a_body(tmp_path):
    q = Queue()
    answers = asyncio.run(exchange(receiver(tmp_path, q, max_body=100), [post(payload([alert()] * 5))]))
    assert answers[0][0] == 413 and q.events == []


def test_get_is_a_readiness_probe(tmp_path):
    answers = asyncio.run(exchange(receiver(tmp_path, Queue()), [b'GET / HTTP/1.1\r\nHost: x\r\n\r\n']))
    assert answers == [(200, {'source': 'nfct.tuning.alertmanager', 'record': str(tmp_path / 'r.jsonl')})]


def test_a_record_that_cannot_be_kept_stops_every_handled_alert(tmp_path):
    (tmp_path / 'file').write_text(u'')
    q = Queue()
    bad = str(tmp_path / 'file' / 'r.jsonl')   # below a file: cannot be created
    answers = asyncio.run(exchange(receiver(tmp_path, q, record=bad),
                                   [post(payload([alert(), alert(fp='x', status='resolved')]))]))
    assert answers[0] == (200, {'alerts': 2, 'decisions': ['stop', 'ignore']})
    assert q.events[0]['nfct_loop']['reason'] == 'record_error'
    assert 'cannot keep its bounds' in q.events[0]['nfct_loop']['message']


def test_the_loop_code_comes_from_the_collection_beside_the_plugin():
    d, r = src.load_loop()
    assert os.path.samefile(d.__file__, os.path.join(REPO, 'plugins', 'module_utils', 'loop', 'decide.py'))
    assert os.path.samefile(r.__file__, os.path.join(REPO, 'plugins', 'module_utils', 'loop', 'record.py'))
    assert d.ALERTS == decide.ALERTS


def test_bad_bounds_fail_at_start(tmp_path):
    with pytest.raises(ValueError) as e:
        receiver(tmp_path, Queue(), budget=-1)
    assert 'budget: -1 is outside' in str(e.value)


def test_main_serves_until_cancelled(tmp_path):
    async def scenario():
        q = Queue()
        task = asyncio.ensure_future(src.main(q, {'host': '127.0.0.1', 'port': 0, 'record': str(tmp_path / 'r')}))
        await asyncio.sleep(0.2)
        assert not task.done()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return task.cancelled()
    assert asyncio.run(scenario()) is True


def test_the_documented_options_are_the_ones_read():
    import yaml
    doc = yaml.safe_load(src.DOCUMENTATION)
    with open(SOURCE) as f:
        text = f.read()
    for name in doc['options']:
        assert "args.get('%s')" % name in text, name
    rulebook = os.path.join(REPO, 'extensions', 'eda', 'rulebooks', 'conntrack.yml')
    with open(rulebook) as f:
        source = yaml.safe_load(f)[0]['sources'][0]['nfct.tuning.alertmanager']
    assert set(source) == set(doc['options']) - {'max_body'}
