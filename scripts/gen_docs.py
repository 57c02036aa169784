# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs generated from their sources (make docs writes them; make docs-check, in make test, fails
when a committed file differs from what this would write).

What is generated, and from where:

- **Regions** of README.md and docs/*.md between ``<!-- gen:NAME -->`` and ``<!-- /gen -->``
  (inline, or around whole lines). NAME is one of:
    role-variables-main, role-variables-audit, role-variables-short  the role's variables, from
        roles/conntrack/meta/argument_specs.yml (name, default, type or choices, description);
    version, tarball    galaxy.yml's version, and the tarball `ansible-galaxy collection build`
        writes (nfct-tuning-VERSION.tar.gz; every name of that form, in regions or not - code
        blocks show a region's markers - is rewritten to it);
    bench.NAME          a figure of a benchmark's run of record (benchmarks/record.yml names the
        result files; FIGURES below says how each figure is read from them);
    code.NAME           a figure computed from the code (the resize stall threshold).
  A region name that nothing generates is an error.
- **docs/docsite/rst/NAME.rst** from docs/NAME.md (scripts/docsite_md2rst.py, pandoc): the guides
  of the docsite, shipped in the tarball so that a docsite built from an installed collection has
  them (antsibull-docs reads docs/docsite/extra-docs.yml and these files).

Usage: gen_docs.py [--check]
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import re
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

import docsite_md2rst  # noqa: E402  (scripts/, next to this file)

REGION = re.compile(r'(<!-- gen:(?P<name>[a-z0-9._-]+) -->)(?P<body>.*?)(<!-- /gen -->)', re.S)
TARBALL = re.compile(r'nfct-tuning-\d+\.\d+\.\d+\.tar\.gz')
DOC_FILES = ['README.md'] + sorted(os.path.join('docs', f) for f in os.listdir(os.path.join(ROOT, 'docs'))
                                   if f.endswith('.md'))


def load_yaml(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return yaml.safe_load(f)


# --------------------------------------------------------------------------- role variables

MARKUP = re.compile(r'\b([CVOMIBU])\(([^()]*)\)')


def plain(text):
    """Ansible doc markup (C(), V(), O(), M(), I()) in Markdown."""
    def repl(m):
        return ('*%s*' if m.group(1) == 'I' else '`%s`') % m.group(2)
    if isinstance(text, list):
        text = ' '.join(text)
    return MARKUP.sub(repl, ' '.join(str(text or '').split())).replace('|', '\\|')


def shown(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def variables(entry_point, short=False):
    """A Markdown table of the variables of one entry point of the role."""
    spec = load_yaml('roles/conntrack/meta/argument_specs.yml')['argument_specs'][entry_point]['options']
    if entry_point == 'audit':
        main = load_yaml('roles/conntrack/meta/argument_specs.yml')['argument_specs']['main']['options']
        spec = dict((k, v) for k, v in spec.items() if k not in main)
    if short:
        rows = ['| variable | default |', '|---|---|']
        rows += ['| `%s` | `%s` |' % (name, shown(opt.get('default'))) for name, opt in spec.items()]
        return '\n'.join(rows)
    rows = ['| variable | default | type | meaning |', '|---|---|---|---|']
    for name, opt in spec.items():
        kind = opt.get('type', 'str')
        if opt.get('choices'):
            kind += ': ' + ', '.join('`%s`' % c for c in opt['choices'])
        if kind == 'list' and opt.get('elements'):
            kind += ' of ' + opt['elements']
        rows.append('| `%s` | `%s` | %s | %s |' % (name, shown(opt.get('default')), kind, plain(opt.get('description'))))
    return '\n'.join(rows)


# --------------------------------------------------------------------------- figures

def record():
    """benchmarks/record.yml: {part: result file} of the runs of record."""
    return load_yaml('benchmarks/record.yml')


def result(part):
    path = os.path.join(ROOT, 'benchmarks', record()[part])
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def span(values, fmt='%.2f', unit=''):
    low, high = fmt % min(values), fmt % max(values)
    return (low if low == high else '%s-%s' % (low, high)) + unit


def at_1m(name):
    tables = result('tables')['ratios']
    return [tables[shape]['1000000'][name] for shape in sorted(tables)]


def rss_span():
    ratios = result('tables')['ratios']
    values = [ratios[shape]['1000000'][k] for shape in ratios for k in ('rss_bd_proc_mib', 'rss_bd_nl_mib')]
    return '%d-%d MiB' % (int(min(values)), int(max(values) + 0.999))


def fleet(name):
    sizes = result('fleet')['fleet']['sizes']
    return [sizes[n][name] for n in sorted(sizes, key=int)]


def resize_rows():
    rows = ['| buckets | entries | write (rehash) | per entry |', '|---|---|---|---|']
    for run in result('resize')['resize']:
        rows.append('| %d <-> %d | %d | %.2f s | %.2f us |'
                    % (run['buckets'], run['grow_to'], run['entries'], run['median_s'], run['us_per_entry']))
    return '\n'.join(rows)


def fleet_table():
    sizes = result('fleet')['fleet']['sizes']
    rows = ['| hosts | `ping` | audit `--check` | one sysctl task per key (%d) | audit / ping | per-key / audit |'
            % len(sizes[min(sizes, key=int)]['keys']), '|---|---|---|---|---|---|']
    for n in sorted(sizes, key=int):
        t = sizes[n]['times']
        rows.append('| %s | %.1f s | %.1f s | %.1f s | %.2fx (target <= 1.3x) | %.1fx (target >= 3x) |' % (
            n, t['ping']['median'], t['audit']['median'], t['naive']['median'], sizes[n]['audit_vs_ping'],
            sizes[n]['naive_vs_audit']))
    return '\n'.join(rows)


def record_date(part):
    name = os.path.basename(record()[part])  # bench-YYYYMMDD-HHMMSS.json
    day, hour = name[6:14], name[15:19]
    return '%s-%s-%s %s:%s UTC' % (day[:4], day[4:6], day[6:], hour[:2], hour[2:])


def report_5000():
    runs = dict((r['hosts'], r) for r in result('report')['audit_report'])
    return '%.2f s' % runs[max(runs)]['median']['total']


def resize_threshold():
    """Entries above which the engine warns about a live resize (sizing/engine.py)."""
    sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))
    engine = importlib.import_module('ansible_collections.nfct.tuning.plugins.module_utils.sizing.engine')
    rules = importlib.import_module('ansible_collections.nfct.tuning.plugins.module_utils.kernel.rules')
    entries = engine.RESIZE_WARN_SECONDS / rules.RESIZE_SECONDS_PER_ENTRY
    return '%dk entries (%.2f s at %.1f us per entry)' % (int(entries) // 1000, engine.RESIZE_WARN_SECONDS,
                                                          rules.RESIZE_SECONDS_PER_ENTRY * 1e6)


def replay_table():
    """The replay's table of results (benchmarks/replay.py results_table) from its run of record."""
    sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
    replay = importlib.import_module('replay')
    return '\n'.join(replay.results_table(result('replay')['results']))


FIGURES = {
    'bench.record-tables': lambda: 'benchmarks/' + record()['tables'].replace('.json', '.md'),
    'bench.proc-vs-cat': lambda: span(at_1m('bd_proc_vs_cat'), unit='x'),
    'bench.nl-vs-dump': lambda: span(at_1m('bd_nl_vs_floor'), unit='x'),
    'bench.rss': rss_span,
    'bench.awk-all-vs-proc': lambda: '%.1fx' % result('tables')['ratios']['mixed']['1000000']['awk_all_vs_bd_proc'],
    'bench.audit-vs-ping': lambda: span(fleet('audit_vs_ping'), unit='x'),
    'bench.naive-vs-audit': lambda: span(fleet('naive_vs_audit'), unit='x'),
    'bench.resize-table': resize_rows,
    'bench.fleet-table': fleet_table,
    'bench.rollout-overhead': lambda: span(fleet('rollout_overhead_vs_audit'), unit='x'),
    'bench.fleet-date': lambda: record_date('fleet'),
    'bench.record-fleet': lambda: 'benchmarks/' + record()['fleet'].replace('.json', '.md'),
    'bench.report-5000': report_5000,
    'bench.replay-table': replay_table,
    'bench.history-added': lambda: '%.1f ms in process and %.1f ms as the module\'s own process' % (
        result('history')['history_cost']['in_process']['added_ms'], result('history')['history_cost']['process']['added_ms']),
    'bench.prometheus-requests': lambda: '%g' % result('history')['history_cost']['prometheus']['requests_per_host'],
    'bench.prometheus-added': lambda: '%+.0f ms' % result('history')['history_cost']['prometheus']['playbook']['added_ms_per_host'],
    'bench.prometheus-read': lambda: '%.0f ms' % result('history')['history_cost']['prometheus']['in_process']['read_ms'],
    'bench.record-history': lambda: 'benchmarks/' + record()['history'].replace('.json', '.md'),
    'bench.record-replay': lambda: 'benchmarks/' + record()['replay'].replace('.json', '.md'),
    'bench.replay-seconds': lambda: '%.1f s' % result('replay')['seconds'],
    'code.resize-threshold': resize_threshold,
}


def version():
    return load_yaml('galaxy.yml')['version']


def generate(name):
    if name.startswith('role-variables-'):
        entry = name[len('role-variables-'):]
        return variables('main', short=True) if entry == 'short' else variables(entry)
    if name == 'version':
        return version()
    if name == 'tarball':
        return 'nfct-tuning-%s.tar.gz' % version()
    if name in FIGURES:
        return FIGURES[name]()
    raise KeyError(name)


def fill(text, path, errors):
    """text with every region regenerated; errors get what is wrong."""
    def repl(m):
        try:
            body = generate(m.group('name'))
        except KeyError:
            errors.append('%s: <!-- gen:%s --> is not something gen_docs.py generates' % (path, m.group('name')))
            return m.group(0)
        if '\n' in m.group('body'):  # a block region keeps its content on lines of its own
            body = '\n' + body + '\n'
        return m.group(1) + body + m.group(4)
    # the tarball's name, also in code blocks (where a region's markers would show): every
    # nfct-tuning-X.Y.Z.tar.gz is the one the build writes
    return TARBALL.sub(generate('tarball'), REGION.sub(repl, text))


# --------------------------------------------------------------------------- the guides as RST

def rst_pages():
    """{docs/docsite/rst/NAME.rst: text} from docs/*.md, after the regions are filled."""
    with tempfile.TemporaryDirectory() as tmp:
        docs = os.path.join(tmp, 'docs')
        os.makedirs(docs)
        for path in DOC_FILES:
            if path.startswith('docs/'):
                with open(os.path.join(ROOT, path), encoding='utf-8') as f:
                    text = fill(f.read(), path, [])
                with open(os.path.join(tmp, path), 'w', encoding='utf-8') as f:
                    f.write(text)
        out = os.path.join(tmp, 'rst')
        if docsite_md2rst.main([docs, os.path.join(ROOT, 'docs/docsite/extra-docs.yml'), out]) != 0:
            raise SystemExit(1)
        pages = {}
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name), encoding='utf-8') as f:
                pages['docs/docsite/rst/' + name] = f.read()
        return pages


def main(argv):
    check = '--check' in argv
    errors, wanted = [], {}
    for path in DOC_FILES:
        with open(os.path.join(ROOT, path), encoding='utf-8') as f:
            wanted[path] = fill(f.read(), path, errors)
    wanted.update(rst_pages())
    rst_dir = os.path.join(ROOT, 'docs/docsite/rst')
    extra = [os.path.join('docs/docsite/rst', n) for n in sorted(os.listdir(rst_dir))
             if os.path.join('docs/docsite/rst', n) not in wanted] if os.path.isdir(rst_dir) else []
    if errors:
        print('\n'.join('ERROR: ' + e for e in errors), file=sys.stderr)
        return 1
    stale = []
    for path, text in sorted(wanted.items()):
        full = os.path.join(ROOT, path)
        current = open(full, encoding='utf-8').read() if os.path.exists(full) else None
        if current == text:
            continue
        stale.append(path)
        if check:
            sys.stdout.writelines(difflib.unified_diff((current or '').splitlines(True), text.splitlines(True),
                                                       path, path + ' (generated)', n=1))
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w', encoding='utf-8') as f:
                f.write(text)
    for path in extra:
        stale.append(path)
        if not check:
            os.remove(os.path.join(ROOT, path))
    if check and stale:
        print('ERROR: %d generated file(s) differ from their sources: %s; run `make docs` and commit'
              % (len(stale), ', '.join(stale)), file=sys.stderr)
        return 1
    print('docs: %s' % ('%d file(s) %s' % (len(stale), 'to write' if check else 'written') if stale else 'up to date'))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
