# -*- coding: utf-8 -*-
"""_metrics (the exposition), _metrics_writer (collection with its guard, on fixture hosts) and
_metrics_install (what conntrack_metrics installs). The real run - timer, node_exporter, scrape,
promtool - is tests/containers/test_metrics_containers.py; the writer's cost on a 1M-entry
table is in make bench."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.metrics import exposition as _metrics, install as _metrics_install, writer as _metrics_writer

import hosts

SAMPLE = re.compile(r'^(nfct_conntrack_[a-z0-9_]+)(\{([a-z0-9_]+="(?:[^"\\\n]|\\.)*")(,[a-z0-9_]+="(?:[^"\\\n]|\\.)*")*\})? '
                    r'(-?[0-9.e+-]+|NaN|[+-]Inf)$')


def check_exposition(text):
    """The text format's rules we rely on: HELP and TYPE once per family, before its samples;
    counters end in _total; every sample line parses; no family split in two."""
    seen, current, families = set(), None, {}
    assert text.endswith('\n')
    for line in text[:-1].split('\n'):
        if line.startswith('# HELP '):
            name = line.split()[2]
            assert name not in seen, 'family %s twice' % name
            seen.add(name)
            current = name
        elif line.startswith('# TYPE '):
            _h, _t, name, typ = line.split()
            assert name == current and typ in ('gauge', 'counter')
            families[name] = typ
            assert typ != 'counter' or name.endswith('_total')
        else:
            m = SAMPLE.match(line)
            assert m, 'bad sample line %r' % line
            assert m.group(1) == current, (line, current)
    return families


def context(**kw):
    facts = {'available': True, 'count': 1200, 'max': 262144, 'buckets': 262144, 'usage_ratio': 0.004578,
             'load_factor': 0.004578, 'stats': {'drop': 3, 'early_drop': 0, 'insert_failed': 1, 'invalid': 7},
             'timeouts': {'udp_timeout': 30, 'tcp_timeout_established': 432000}}
    bd = {'total': 1200, 'l3': {'ipv4': 1100, 'ipv6': 100}, 'l4': {'tcp': 700, 'udp': 500},
          'tcp_states': {'ESTABLISHED': 600, 'TIME_WAIT': 100}, 'assured': 650, 'unreplied': 300,
          'top_sources': [{'key': '10.0.0.%d' % i, 'count': 100 - i} for i in range(15)], 'top_exact': True}
    c = {'facts': facts, 'breakdown': bd, 'breakdown_skipped': None, 'top': 10,
         'desired': {'max': 524288, 'udp_timeout': 30},
         'keys': {'max': {'kinds': ['runtime', 'at_boot']}, 'udp_timeout': {'kinds': ['unpersisted']}},
         'recommended_max': 524288, 'profile': 'web', 'can_disable': False, 'duration': 0.25, 'success': True,
         'timestamp': 1795675000.5, 'parts': {'facts': True, 'drift': True}}
    c.update(kw)
    return c


def values(text, name):
    """{labels text: value} of one family."""
    pat = re.compile(r'(?m)^%s(\{[^}]*\})? (\S+)$' % re.escape(name))
    return dict((m.group(1) or '', float(m.group(2))) for m in pat.finditer(text))


def test_every_family_is_well_formed_and_carries_the_values():
    text = _metrics.render(context())
    fam = check_exposition(text)
    assert fam['nfct_conntrack_drop_total'] == 'counter' and fam['nfct_conntrack_entries'] == 'gauge'
    assert values(text, 'nfct_conntrack_entries') == {'': 1200}
    assert values(text, 'nfct_conntrack_insert_failed_total') == {'': 1}
    assert values(text, 'nfct_conntrack_entries_by_l3_protocol') == {'{protocol="ipv4"}': 1100, '{protocol="ipv6"}': 100}
    assert values(text, 'nfct_conntrack_tcp_entries_by_state')['{state="ESTABLISHED"}'] == 600
    assert values(text, 'nfct_conntrack_drift') == {
        '{key="max",layer="runtime"}': 1, '{key="max",layer="at_boot"}': 1,
        # unpersisted: right now, lost at the next boot (issue 23): the at_boot layer
        '{key="udp_timeout",layer="runtime"}': 0, '{key="udp_timeout",layer="at_boot"}': 1}
    assert values(text, 'nfct_conntrack_recommended_max') == {'{profile="web"}': 524288}
    assert values(text, 'nfct_conntrack_can_disable') == {'': 0}
    assert values(text, 'nfct_conntrack_timeout_seconds')['{key="udp_timeout"}'] == 30
    assert values(text, 'nfct_conntrack_collector_part_success') == {'{part="drift"}': 1, '{part="facts"}': 1}


def test_the_usage_threshold_and_the_health_kinds_are_exported():
    health = {'kinds': ['full', 'high_usage', 'dropping'], 'evidence': {}, 'window': {}}
    text = _metrics.render(context(usage_threshold=0.8, health=health))
    check_exposition(text)
    assert values(text, 'nfct_conntrack_usage_threshold') == {'': 0.8}
    assert values(text, 'nfct_conntrack_health') == {
        '{kind="full"}': 1, '{kind="high_usage"}': 1, '{kind="dropping"}': 1, '{kind="invalid"}': 0,
        '{kind="search_restart"}': 0, '{kind="filling"}': 0}
    assert 'nfct_conntrack_health' not in _metrics.render(context())


def test_top_sources_are_bounded_by_top():
    text = _metrics.render(context(top=3))
    assert len(values(text, 'nfct_conntrack_top_source_entries')) == 3
    text = _metrics.render(context(top=1000))
    assert len(values(text, 'nfct_conntrack_top_source_entries')) == 15  # all there are, never above 100
    assert '{rank="1",source="10.0.0.0"}' in values(text, 'nfct_conntrack_top_source_entries')


def test_no_drift_series_when_the_drift_could_not_be_computed():
    text = _metrics.render(context(keys=None, parts={'facts': True, 'drift': False}))
    assert 'nfct_conntrack_drift{' not in text and values(text, 'nfct_conntrack_desired')
    assert values(text, 'nfct_conntrack_collector_part_success')['{part="drift"}'] == 0


def test_failed_collection_keeps_the_health_metrics():
    text = _metrics.render({'success': False, 'duration': 0.01, 'timestamp': 5.0, 'breakdown_skipped': 'off'})
    check_exposition(text)
    assert values(text, 'nfct_conntrack_collector_success') == {'': 0}
    assert 'nfct_conntrack_entries ' not in text
    assert values(text, 'nfct_conntrack_breakdown_skipped') == {'{reason="off"}': 1}


@settings(max_examples=200, deadline=None)
@given(source=st.text(min_size=1, max_size=40), profile=st.text(max_size=20),
       count=st.integers(min_value=0, max_value=10 ** 9), ratio=st.floats(allow_nan=True, allow_infinity=True))
def test_any_label_value_and_number_renders_a_valid_exposition(source, profile, count, ratio):
    c = context(profile=profile)
    c['facts'] = dict(c['facts'], count=count, usage_ratio=ratio)
    c['breakdown'] = dict(c['breakdown'], top_sources=[{'key': source, 'count': count}])
    check_exposition(_metrics.render(c))


# --------------------------------------------------------------------------- the writer

def cfg(tmp_path, **kw):
    c = dict(_metrics_writer.DEFAULTS, dir=str(tmp_path / 'out'), desired={'udp_timeout': 30, 'max': 524288},
             recommend={'profile': 'web'}, users=False)
    c.update(kw)
    return c


@pytest.fixture
def host(tmp_path, monkeypatch):
    root, probes = hosts.build(str(tmp_path / 'root'), 'post515_builtin')
    monkeypatch.setattr(_gather, 'Probes', lambda: probes)
    real = _gather.gather
    monkeypatch.setattr(_gather, 'gather', lambda root='', **kw: real(root=root, probes=probes, **kw))
    return root


def test_each_run_records_the_history_and_the_next_one_measures_since_it(tmp_path, host):
    from ansible_collections.nfct.tuning.plugins.module_utils.history import store
    c1 = _metrics_writer.collect(cfg(tmp_path, breakdown=False), root=host)
    with open(host + store.PATH) as f:
        first = store.parse(f.read())
    assert first['last']['count'] == 5 and len(first['days']) == 1
    # the kernel drops 40 packets before the next run
    stat = host + '/proc/net/stat/nf_conntrack'
    with open(stat) as f:
        lines = f.read().splitlines()
    head, rows = lines[0], [row.split() for row in lines[1:]]
    drop = head.split().index('drop')
    rows[0][drop] = '%08x' % (int(rows[0][drop], 16) + 40)
    with open(stat, 'w') as f:
        f.write('\n'.join([head] + [' '.join(row) for row in rows]) + '\n')
    c2 = _metrics_writer.collect(cfg(tmp_path, breakdown=False), root=host)
    assert c1['health']['kinds'] == [] and c2['health']['window']['source'] == 'recorded'
    assert 'dropping' in c2['health']['kinds'] and c2['health']['growth']['drop'] == 40


def test_a_damaged_history_is_kept_aside_and_a_new_one_starts(tmp_path, host):
    from ansible_collections.nfct.tuning.plugins.module_utils.history import store
    os.makedirs(os.path.dirname(host + store.PATH))
    with open(host + store.PATH, 'w') as f:
        f.write('{"not": "ours"')
    c = _metrics_writer.collect(cfg(tmp_path, breakdown=False), root=host)
    assert c['success'] and c['parts']['history'] is True
    assert any('is not a history of nfct.tuning (not JSON' in e and 'kept as' in e for e in c['errors'])
    aside = [n for n in os.listdir(os.path.dirname(host + store.PATH)) if n.startswith('history.json.damaged-')]
    assert len(aside) == 1
    with open(host + store.PATH) as f:
        assert store.parse(f.read())['last']['count'] == 5


def test_collect_on_a_fixture_host_with_breakdown(tmp_path, host):
    c = _metrics_writer.collect(cfg(tmp_path), root=host, now=1000.0)
    assert c['success'] and c['breakdown_skipped'] is None and c['breakdown']['total'] == 5
    assert c['keys']['max']['kinds'] and c['recommended_max'] and c['parts'] == {
        'facts': True, 'history': True, 'drift': True, 'recommendation': True}
    # the first sample of this boot: no growth yet, whatever the counters since boot
    assert c['health']['window']['source'] == 'sample' and 'dropping' not in c['health']['kinds']
    text = _metrics.render(c)
    check_exposition(text)
    path = _metrics_writer.write(cfg(tmp_path), text, root='')
    with open(path) as f:
        assert f.read() == text
    assert oct(os.stat(path).st_mode & 0o777) == '0o644'
    assert not [n for n in os.listdir(os.path.dirname(path)) if n.startswith('.nfct-')]


def test_the_size_guard_skips_the_breakdown(tmp_path, host):
    c = _metrics_writer.collect(cfg(tmp_path, breakdown_max_entries=2), root=host)
    assert c['breakdown'] is None and c['breakdown_skipped'] == 'size' and c['success']


def test_the_time_guard_kills_a_slow_breakdown(tmp_path, host, monkeypatch):
    monkeypatch.setattr(_gather, '_breakdown', lambda *a: time.sleep(30))
    start = time.monotonic()
    c = _metrics_writer.collect(cfg(tmp_path, breakdown_timeout=1), root=host)
    assert c['breakdown_skipped'] == 'time' and c['success'] and time.monotonic() - start < 20
    assert values(_metrics.render(c), 'nfct_conntrack_breakdown_skipped') == {'{reason="time"}': 1}


def test_a_failing_part_is_reported_and_the_rest_written(tmp_path, host, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError('no plan today')
    monkeypatch.setattr(_metrics_writer, 'drift_keys', boom)
    c = _metrics_writer.collect(cfg(tmp_path), root=host)
    assert c['parts']['drift'] is False and c['success'] and 'drift: RuntimeError: no plan today' in c['errors']
    assert 'nfct_conntrack_drift{' not in _metrics.render(c)


def test_main_reports_a_bad_config(tmp_path, capsys):
    assert _metrics_writer.main([str(tmp_path / 'missing.json')]) == 2
    assert 'cannot read' in capsys.readouterr().err


# --------------------------------------------------------------------------- the installer

def test_installed_files_are_the_collections_code_and_units():
    from ansible_collections.nfct.tuning.plugins.modules import conntrack_metrics  # noqa: F401 (its imports)
    srcs = _metrics_install.sources()
    # the whole set is checked in tests/unit/test_architecture.py (exactly what conntrack_metrics imports)
    assert {'metrics/writer', 'facts/gather', 'metrics/__init__'} <= set(srcs)
    with open(_metrics_writer.__file__) as f:
        assert srcs['metrics/writer'] == f.read()
    p = {'dir': '/var/lib/prometheus/node-exporter', 'breakdown': True, 'top': 10, 'breakdown_timeout': 20,
         'breakdown_max_entries': 2000000, 'desired': {'max': 1}, 'recommend': {'profile': 'web'}, 'users': True,
         'files': {}, 'interval': 30, 'memory_max_mb': 256}
    files = _metrics_install.files(p, '/usr/bin/python3', srcs)
    launcher = files[_metrics_install.LAUNCHER]
    assert launcher.startswith('#!/usr/bin/python3\n') and 'writer.main()' in launcher
    assert json.loads(files[_metrics_install.CONFIG])['desired'] == {'max': 1}
    timer = files['/etc/systemd/system/nfct-conntrack-metrics.timer']
    assert 'OnUnitActiveSec=30s' in timer and 'OnActiveSec=1s' in timer
    service = files['/etc/systemd/system/nfct-conntrack-metrics.service']
    assert 'CPUSchedulingPolicy=idle' in service and 'TimeoutStartSec=50s' in service and 'MemoryMax=256M' in service
    code = [k for k in files if k.endswith('/module_utils/facts/gather.py')]
    assert code == ['/usr/local/lib/nfct-tuning/ansible_collections/nfct/tuning/plugins/module_utils/facts/gather.py']


def test_the_error_bound_of_the_top_sources_is_exported():
    assert values(_metrics.render(context()), 'nfct_conntrack_top_source_entries_max_error') == {'': 0}
    c = context()
    c['breakdown'] = dict(c['breakdown'], top_exact=False, top_max_error=90,
                          top_errors={'sources': 61, 'destinations': 90, 'destination_ports': 0})
    text = _metrics.render(c)
    assert values(text, 'nfct_conntrack_top_source_entries_max_error') == {'': 61}
    assert values(text, 'nfct_conntrack_breakdown_exact') == {'': 0}


@pytest.mark.parametrize('rising,filling', [(True, True), (False, False)])
def test_the_writer_exports_when_the_table_fills_at_its_history_trend(tmp_path, host, rising, filling):
    import time
    from ansible_collections.nfct.tuning.plugins.module_utils.history import store
    h = store.empty()
    start = (int(time.time()) // 86400 - 10) * 86400
    for day in range(10):
        peak = 60000 + 20000 * day if rising else 100000
        for t in range(0, 86400, 1800):
            store.record(h, {'time': float(start + day * 86400 + t), 'boot_id': 'old', 'max': 262144,
                             'count': peak if t == 14 * 3600 else int(peak * 0.4),
                             'counters': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'insert': 0}})
    os.makedirs(os.path.dirname(host + store.PATH))
    with open(host + store.PATH, 'w') as f:
        f.write(store.dumps(h))
    c = _metrics_writer.collect(cfg(tmp_path, breakdown=False, forecast_horizon=7 * 86400), root=host)
    assert ('filling' in c['health']['kinds']) is filling, c['health'].get('forecast')
    text = _metrics.render(c)
    check_exposition(text)
    assert ('nfct_conntrack_seconds_to_full ' in text) is filling
    assert values(text, 'nfct_conntrack_health')['{kind="filling"}'] == (1 if filling else 0)
