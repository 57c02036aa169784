# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The architecture of the collection, checked on the imports (read with ast, nothing is run).
docs/architecture.md explains it; this file is what holds it.

Two views of the same files:

- **Concerns** (PACKAGES): plugins/module_utils is one package per concern - the kernel's rules,
  reading and writing the host, the facts, sizing, the settings plan, NOTRACK, the users of
  conntrack, the audit and its reports, metrics. EDGES lists which concern may import which, with
  the reason; anything else (metrics importing NOTRACK planning, say) fails.
- **The flow** (LAYERS): kernel -> vocabulary -> facts -> recommend -> plan -> report -> host I/O ->
  presentation. Every file belongs to one layer and imports only from its own layer or earlier
  ones. Each layer runs on one side:
    shared      pure code that runs on the managed host (inside modules) and on the controller (in
                action plugins): it imports only shared layers;
    host        what only modules run on the managed host: reading the host, planners, host I/O;
    controller  what only action plugins run: the fleet report's rendering (JSON, JUnit, HTML).

Besides: no relative imports, no import cycle between files (not even inside one layer), the
package graph itself acyclic, module_utils never importing plugins, and the metrics writer's
shipped code exactly what conntrack_metrics imports. A new module_utils file goes into its
concern's folder and into one layer here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, 'plugins')
MODULE_UTILS = os.path.join(PLUGINS, 'module_utils')
PACKAGE = 'ansible_collections.nfct.tuning.plugins'

# (package, what it holds), one folder of plugins/module_utils each
PACKAGES = (
    ('kernel', "the kernel's own rules: key names, kinds, scopes and ranges, defaults per release and RAM"),
    ('host', 'reading and writing the host: parsers of its files, where we may write, its state, atomic files, '
             'the lock, commands (HostIO), the firewall rulesets'),
    ('facts', 'conntrack_facts: the table, its counters, its breakdown (procfs and ctnetlink)'),
    ('sizing', 'the recommendation: profiles, kube-proxy, input validation, the sizing engine'),
    ('settings', 'the plan of conntrack_settings: runtime writes, owned files, drift; turning conntrack off'),
    ('notrack', 'NOTRACK exemptions: their specification, nft and iptables, firewall safety, the plan'),
    ('users', 'who uses conntrack: rules by owner, the verdict, the host reads'),
    ('audit', "the audit: one host's entry, the fleet report (JSON, JUnit), its HTML page"),
    ('metrics', 'the Prometheus exposition, the writer the timer runs, what conntrack_metrics installs'),
    ('history', "the table's history on the host: samples, daily peaks, the decaying histogram"),
    ('loop', 'the closed loop (extensions/eda): the bounds of alert-driven relieve, its record on the controller'),
    ('rollout', "the fleet rollout: its stages and decisions, the health gate's verdict, the host's snapshot and "
                'its exact restore, the rollout report'),
)
# which concern may import which, and why; the graph is acyclic (test_the_concerns_form_no_cycle)
EDGES = {
    'kernel': {},
    'host': {'kernel': 'key names and paths in the files it parses'},
    'facts': {'kernel': 'key names, defaults', 'host': 'the parsers and the host state',
              'history': "the host's history, compacted into the facts (history/store)"},
    'sizing': {'kernel': "the kernel's sizes and ranges",
               'host': 'validating the file paths the role passes to the later steps',
               'notrack': 'validating the NOTRACK exemptions the role passes to the later steps'},
    'settings': {'kernel': 'key names, rounding', 'host': 'sysctl.d precedence, owned paths, the host state'},
    'notrack': {'kernel': 'address families and iptables flavours', 'host': 'HostIO, the rulesets, the lock'},
    'users': {'kernel': 'key names', 'host': 'HostIO and the rulesets', 'facts': 'module state',
              'notrack': 'the nft and iptables parsers, our own objects',
              'sizing': "the forecast in conntrack_facts' document (users/host.py facts())"},
    'audit': {'kernel': 'key names'},
    'metrics': {'kernel': 'key names', 'host': 'atomic writes, the host state, HostIO', 'facts': 'the facts',
                'sizing': 'the recommendation', 'settings': 'the drift of the tuned keys', 'users': 'can_disable',
                'audit': "the audit's per-key kinds and the health", 'history': 'recording the samples'},
    'history': {'host': 'atomic and durable writes of the history file'},
    # the Alertmanager source loads these files into ansible-rulebook's Python: standard library only
    'loop': {},
    'rollout': {'kernel': 'key names and procfs paths', 'host': 'atomic writes, runtime values, HostIO, the rulesets',
                'notrack': 'our NOTRACK objects and their persistence files (spec)',
                'facts': 'the counters the gate samples', 'audit': "the health kinds the gate shares with the audit",
                'sizing': "the number checks of the inputs, worded as every other option's (sizing/inputs number)",
                'metrics': "the files and timer conntrack_metrics installs (the snapshot's paths)"},
}
# edges that may reach only some files of the other concern
ONLY = {
    ('sizing', 'notrack'): ('notrack/spec',),
    ('sizing', 'host'): ('host/paths', 'host/persist'),
    ('facts', 'history'): ('history/store',),
    ('rollout', 'metrics'): ('metrics/install',),
    ('rollout', 'sizing'): ('sizing/inputs',),
    ('users', 'sizing'): ('sizing/observed',),
}

# (layer, side, module_utils files, what it holds), in the order of the flow
LAYERS = (
    ('kernel', 'shared', ('kernel/rules', 'kernel/keys'),
     "the kernel's own rules: key names, kinds, scopes and ranges, procfs paths, defaults per release and RAM"),
    ('vocabulary', 'shared', ('host/proc', 'host/persist', 'host/paths', 'notrack/spec', 'history/store'),
     'parsers of what the kernel and the boot files print, where we may write, NOTRACK exemptions'),
    ('facts', 'host', ('host/state', 'host/rulesets', 'facts/breakdown', 'facts/netlink', 'facts/gather'),
     'reading a host (or a fake root) into the facts dict'),
    ('recommend', 'shared', ('sizing/profiles', 'sizing/kubeproxy', 'sizing/inputs', 'sizing/engine', 'sizing/args',
                             'sizing/observed', 'history/prometheus'),
     'the sizing engine: facts and options in, recommended values out (also on the controller)'),
    ('plan', 'host', ('settings/plan', 'notrack/nft', 'notrack/ipt', 'notrack/safety', 'notrack/plan',
                      'users/rules', 'users/verdict', 'settings/disable', 'settings/relieve', 'loop/decide'),
     'the planners: what conntrack_settings, conntrack_notrack and conntrack_users would change'),
    ('report', 'shared', ('audit/health', 'audit/entry', 'rollout/gate', 'rollout/plan'),
     "one host's audit entry from its facts, recommendation and plan (data, not code, of the layers before)"),
    ('host_io', 'host', ('host/files', 'host/lock', 'host/io', 'host/runtime', 'history/file', 'notrack/host', 'users/host',
                         'metrics/exposition',
                         'metrics/install', 'metrics/writer', 'loop/record', 'rollout/snapshot', 'rollout/sample'),
     'host I/O: atomic writes, locks, firewall tools, the metrics writer program'),
    ('presentation', 'controller', ('audit/report', 'audit/html', 'rollout/report'),
     'the fleet report built on the controller: JSON schema v2, JUnit XML, HTML'),
)
LAYER_OF = dict((name, index) for index, (_layer, _side, names, _what) in enumerate(LAYERS) for name in names)
SIDE_OF = dict((name, side) for _layer, side, names, _what in LAYERS for name in names)
# what each plugin folder may import from module_utils, by side
PLUGIN_SIDES = {'modules': ('shared', 'host'), 'action': ('shared', 'controller')}


def module_utils_files():
    """'package/name' of every module_utils file (package __init__.py files excepted)."""
    found = []
    for folder, _dirs, files in os.walk(MODULE_UTILS):
        for name in files:
            if name.endswith('.py') and name != '__init__.py':
                found.append(os.path.relpath(os.path.join(folder, name[:-3]), MODULE_UTILS).replace(os.sep, '/'))
    return sorted(found)


def plugin_files(kind):
    folder = os.path.join(PLUGINS, kind)
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and name != '__init__.py')


def parse(path):
    with open(path) as source:
        return ast.parse(source.read(), path)


def _target(dotted):
    """('module_utils', 'notrack/plan') or ('modules', 'conntrack_facts') for a dotted name below
    the collection's plugins, or None when the name is not a module of ours."""
    rest = dotted[len(PACKAGE) + 1:].split('.')
    if rest[0] == 'module_utils':
        path = '/'.join(rest[1:])
        if os.path.isfile(os.path.join(MODULE_UTILS, path + '.py')):
            return ('module_utils', path)
        return None
    return (rest[0], rest[1]) if len(rest) > 1 else None


def imports_of(tree):
    """The collection's own imports in a syntax tree: {('module_utils' | 'modules' | ..., name)},
    also those inside functions. `from P.module_utils.notrack import plan` gives notrack/plan."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            whole = _target(node.module)
            if whole is not None:
                found.add(whole)
            else:
                for alias in node.names:
                    part = _target(node.module + '.' + alias.name)
                    found.add(part if part is not None else ('unknown', node.module + '.' + alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + '.'):
                    part = _target(alias.name)
                    found.add(part if part is not None else ('unknown', alias.name))
    return found


def imports(path):
    return imports_of(parse(path))


def utils_path(name):
    return os.path.join(MODULE_UTILS, name + '.py')


def utils_imports(kind, name):
    path = utils_path(name) if kind == 'module_utils' else os.path.join(PLUGINS, kind, name + '.py')
    return sorted(imported for folder, imported in imports(path) if folder == 'module_utils')


def closure(kind, name):
    """Every module_utils file an import of this plugin loads, directly or not."""
    seen = set()
    todo = list(utils_imports(kind, name))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(utils_imports('module_utils', current))
    return seen


def package_of(name):
    return name.split('/', 1)[0]


def cycles(graph):
    """The strongly connected components with more than one node, or a node importing itself
    (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    out.append(sorted(component))
    return sorted(out)


def file_graph():
    return dict((name, set(utils_imports('module_utils', name))) for name in module_utils_files())


# --------------------------------------------------------------------------- concerns

def test_every_file_is_in_a_known_concern_and_packages_are_plain():
    known = set(name for name, _what in PACKAGES)
    assert set(EDGES) == known
    for name in module_utils_files():
        assert '/' in name, '%s.py lies directly in module_utils: put it in the folder of its concern (%s)' % (
            name, ', '.join(sorted(known)))
        assert package_of(name) in known, '%s is in the folder %s, which is not a concern of PACKAGES' % (
            name, package_of(name))
    for package, _what in PACKAGES:
        init = os.path.join(MODULE_UTILS, package, '__init__.py')
        assert os.path.isfile(init), '%s has no __init__.py' % package
        with open(init) as f:
            assert f.read() == '', '%s/__init__.py must be empty (ansible-test sanity: empty-init)' % package


@pytest.mark.parametrize('name', module_utils_files())
def test_imports_cross_concerns_only_along_the_edges(name):
    own = package_of(name)
    for imported in utils_imports('module_utils', name):
        other = package_of(imported)
        if other == own:
            continue
        assert other in EDGES[own], (
            '%s imports %s: the concern %s may import only %s (EDGES in this file; docs/architecture.md)'
            % (name, imported, own, ', '.join(sorted(EDGES[own])) or 'nothing'))
        only = ONLY.get((own, other))
        assert only is None or imported in only, (
            '%s imports %s: %s may reach only %s of %s' % (name, imported, own, ', '.join(only), other))


def test_the_concerns_form_no_cycle():
    graph = dict((package, set(edges)) for package, edges in EDGES.items())
    assert cycles(graph) == []


# --------------------------------------------------------------------------- the flow

def test_layers_list_each_file_once():
    listed = [name for _layer, _side, names, _what in LAYERS for name in names]
    assert sorted(set(listed)) == sorted(listed), 'a file is in two layers'
    assert set(s for _l, s, _n, _w in LAYERS) <= {'shared', 'host', 'controller'}
    missing = sorted(set(module_utils_files()) - set(listed))
    assert not missing, 'module_utils files in no layer (add them to LAYERS): %s' % ', '.join(missing)
    gone = sorted(set(listed) - set(module_utils_files()))
    assert not gone, 'LAYERS names files that do not exist: %s' % ', '.join(gone)


@pytest.mark.parametrize('name', module_utils_files())
def test_module_utils_import_only_earlier_layers_of_their_side(name):
    if name not in LAYER_OF:
        pytest.skip('not in LAYERS (test_layers_list_each_file_once fails)')
    layer, side = LAYERS[LAYER_OF[name]][0], SIDE_OF[name]
    for imported in utils_imports('module_utils', name):
        assert imported in LAYER_OF, '%s imports %s, which is in no layer' % (name, imported)
        assert LAYER_OF[imported] <= LAYER_OF[name], (
            '%s (layer %s) imports %s from the later layer %s: the flow is %s'
            % (name, layer, imported, LAYERS[LAYER_OF[imported]][0], ' -> '.join(entry[0] for entry in LAYERS)))
        if side == 'shared':
            assert SIDE_OF[imported] == 'shared', (
                '%s runs on the controller too, but imports %s (%s side)' % (name, imported, SIDE_OF[imported]))
        elif side == 'host':
            assert SIDE_OF[imported] != 'controller', (
                '%s (host side) imports the controller presentation %s' % (name, imported))
    others = sorted('%s/%s' % pair for pair in imports(utils_path(name)) if pair[0] != 'module_utils')
    assert not others, '%s imports %s: module_utils never import plugins (modules import module_utils)' % (
        name, ', '.join(others))


def test_no_import_cycle_between_files():
    """Across layers the flow already forbids cycles; this catches them inside a layer (two
    planners importing each other) too."""
    assert cycles(file_graph()) == []


def python_files():
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in sorted(files):
            if name.endswith('.py'):
                yield os.path.join(folder, name)


def test_no_relative_imports():
    """Ansible ships module_utils by their absolute names; a relative import works in one layout
    and breaks in another (AnsiballZ, the metrics writer's copy, the host-Python checks)."""
    found = []
    for path in python_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ImportFrom) and node.level:
                found.append('%s:%d' % (os.path.relpath(path, ROOT), node.lineno))
    assert not found, 'relative imports: %s' % ', '.join(found)


def test_kernel_rules_stand_alone():
    """The kernel's rules depend on nothing else of ours (keys builds on rules only)."""
    assert utils_imports('module_utils', 'kernel/rules') == []
    assert utils_imports('module_utils', 'kernel/keys') == ['kernel/rules']


@pytest.mark.parametrize('kind,name', [(kind, name) for kind in sorted(PLUGIN_SIDES) for name in plugin_files(kind)])
def test_plugins_reach_only_their_side(kind, name):
    allowed = PLUGIN_SIDES[kind]
    direct = utils_imports(kind, name)
    wrong = sorted(imported for imported in direct if SIDE_OF.get(imported) not in allowed)
    assert not wrong, '%s/%s imports %s: a %s plugin may import only %s module_utils' % (
        kind, name, ', '.join('%s (%s)' % (w, SIDE_OF.get(w)) for w in wrong), kind, ' and '.join(allowed))
    reached = sorted(imported for imported in closure(kind, name) if SIDE_OF.get(imported) not in allowed)
    assert not reached, '%s/%s loads %s through its imports' % (kind, name, ', '.join(reached))
    others = sorted(folder for folder, _n in imports(os.path.join(PLUGINS, kind, name + '.py'))
                    if folder not in ('module_utils',))
    assert not others, '%s/%s imports other plugins (%s): shared code belongs in module_utils' % (
        kind, name, ', '.join(others))


# --------------------------------------------------------------------------- readable functions

LONGEST, LONG, MOST_LONG = 80, 60, 3


def function_lengths():
    for path in python_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node.end_lineno - node.lineno + 1, '%s:%s' % (os.path.relpath(path, ROOT), node.name)


def test_functions_stay_readable():
    """No function over 80 lines, at most three over 60 (docstring included): split where it helps
    reading (the ctnetlink decoder, a hot loop, is one of the three)."""
    lengths = sorted(function_lengths(), reverse=True)
    too_long = ['%s (%d lines)' % (name, n) for n, name in lengths if n > LONGEST]
    assert not too_long, 'functions over %d lines: %s' % (LONGEST, ', '.join(too_long))
    long_ones = ['%s (%d lines)' % (name, n) for n, name in lengths if n > LONG]
    assert len(long_ones) <= MOST_LONG, 'more than %d functions over %d lines: %s' % (MOST_LONG, LONG, ', '.join(long_ones))


# --------------------------------------------------------------------------- the metrics writer

def test_the_metrics_writer_ships_exactly_what_conntrack_metrics_imports():
    """conntrack_metrics installs the module_utils loaded in its own process (metrics/install.py
    sources()): that set must be the module's whole import closure - every file the writer
    needs, and nothing else - plus the package folders' __init__.py."""
    needed = closure('module_utils', 'metrics/writer') | {'metrics/writer'}
    imported = closure('modules', 'conntrack_metrics')
    assert needed <= imported, 'the writer needs %s, which conntrack_metrics does not import' % sorted(
        needed - imported)
    code = ('import json, sys\n'
            'from ansible_collections.nfct.tuning.plugins.modules import conntrack_metrics\n'
            'from ansible_collections.nfct.tuning.plugins.module_utils.metrics import install\n'
            'json.dump(sorted(install.sources()), sys.stdout)\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    shipped = set(json.loads(subprocess.check_output([sys.executable, '-c', code], env=env)))
    packages = set('%s/__init__' % package_of(name) for name in imported)
    assert shipped == imported | packages


def test_the_shipped_writer_runs_from_its_own_copy(tmp_path):
    """The installed copy (only the shipped files, in their package folders) imports and runs
    with nothing else on the path: a missing file or __init__.py fails here, not on a host."""
    code = ('import json, sys\n'
            'from ansible_collections.nfct.tuning.plugins.modules import conntrack_metrics\n'
            'from ansible_collections.nfct.tuning.plugins.module_utils.metrics import install\n'
            'p = dict(dir="/nonexistent", breakdown=False, top=1, breakdown_timeout=1, breakdown_max_entries=1,\n'
            '         desired={}, recommend={"profile": "default"}, users=False, files={}, interval=60,\n'
            '         memory_max_mb=64)\n'
            'json.dump(install.files(p, sys.executable, install.sources()), sys.stdout)\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    files = json.loads(subprocess.check_output([sys.executable, '-c', code], env=env))
    lib = str(tmp_path)
    for path, text in files.items():
        if path.startswith('/usr/local/lib/nfct-tuning/'):
            target = lib + path[len('/usr/local/lib/nfct-tuning'):]
            if not os.path.isdir(os.path.dirname(target)):
                os.makedirs(os.path.dirname(target))
            with open(target, 'w') as f:
                f.write(text)
    launcher = files['/usr/local/lib/nfct-tuning/nfct-conntrack-metrics'].replace(
        repr('/usr/local/lib/nfct-tuning'), repr(lib))
    # -I: no PYTHONPATH, no user site: only the copy (and the standard library) can be imported;
    # a config that does not exist is reported with exit code 2 after every import succeeded
    launcher = launcher.replace('sys.exit(writer.main())', 'sys.exit(writer.main(["/nonexistent.json"]))')
    proc = subprocess.run([sys.executable, '-I', '-c', launcher], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert 'cannot read' in proc.stderr


# --------------------------------------------------------------------------- the checks themselves

def test_the_checks_catch_a_broken_layering(tmp_path):
    """The import reader sees what breaks the rules: an action plugin importing a host planner,
    also inside a function, a host planner importing the HTML renderer, a relative import, a
    cycle inside a layer and an edge across concerns."""
    bad = tmp_path / 'bad.py'
    bad.write_text(u'from ansible_collections.nfct.tuning.plugins.module_utils.audit import entry\n'
                   u'from ansible_collections.nfct.tuning.plugins.module_utils.settings import plan as _settings\n'
                   u'def run():\n'
                   u'    from ansible_collections.nfct.tuning.plugins.module_utils.notrack.plan import plan\n'
                   u'    import ansible_collections.nfct.tuning.plugins.module_utils.audit.html\n'
                   u'    from . import sibling\n'
                   u'    return plan\n')
    found = imports(str(bad))
    assert found == {('module_utils', 'audit/entry'), ('module_utils', 'settings/plan'),
                     ('module_utils', 'notrack/plan'), ('module_utils', 'audit/html')}
    host_side = [n for _f, n in sorted(found) if SIDE_OF[n] not in PLUGIN_SIDES['action']]
    assert host_side == ['notrack/plan', 'settings/plan']
    assert [n for _f, n in sorted(found) if SIDE_OF[n] == 'controller'] == ['audit/html']
    assert [n.lineno for n in ast.walk(parse(str(bad))) if isinstance(n, ast.ImportFrom) and n.level] == [6]
    assert cycles({'notrack/nft': {'notrack/ipt'}, 'notrack/ipt': {'notrack/nft'}, 'kernel/rules': set()}) == [
        ['notrack/ipt', 'notrack/nft']]
    assert cycles({'a': {'a'}}) == [['a']]
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': set()}) == []
    assert 'notrack' not in EDGES['metrics'], 'metrics must not import NOTRACK planning'
