# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The architecture of the collection, checked on the imports (read with ast, nothing is run).

The flow is one-directional:

    kernel rules -> facts -> recommend -> plan (settings / NOTRACK / users) -> report

Every plugins/module_utils file belongs to one layer of LAYERS, in that order, and imports only
from its own layer or from layers before it. Each layer runs on one side:
  shared      pure code that runs on the managed host (inside modules) and on the controller (in
              action plugins): it imports only shared layers;
  host        what only modules run on the managed host: reading the host, planners, host I/O;
  controller  what only action plugins run: the fleet report's rendering (JSON, JUnit, HTML).
The controller never reaches host code (action plugins do not plan a host's changes), and host
code never imports controller presentation. A new module_utils file goes into one layer here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, 'plugins')
PACKAGE = 'ansible_collections.nfct.tuning.plugins'

# (layer, side, module_utils files, what it holds), in the order of the flow
LAYERS = (
    ('kernel', 'shared', ('_kernel', '_keys'),
     "the kernel's own rules: key names, kinds, scopes and ranges, procfs paths, defaults per release and RAM"),
    ('vocabulary', 'shared', ('_proc', '_persist', '_paths', '_notrack'),
     'parsers of what the kernel and the boot files print, where we may write, NOTRACK exemptions'),
    ('facts', 'host', ('_breakdown', '_netlink', '_gather'),
     'reading a host (or a fake root) into the facts dict'),
    ('recommend', 'shared', ('_profiles', '_kubeproxy', '_inputs', '_sizing', '_recommend_args'),
     'the sizing engine: facts and options in, recommended values out (also on the controller)'),
    ('plan', 'host', ('_settings', '_notrack_nft', '_notrack_ipt', '_notrack_safety', '_notrack_plan',
                      '_users_rules', '_users', '_disable'),
     'the planners: what conntrack_settings, conntrack_notrack and conntrack_users would change'),
    ('report', 'shared', ('_audit',),
     "one host's audit entry from its facts, recommendation and plan (data, not code, of the layers before)"),
    ('host_io', 'host', ('_files', '_lock', '_notrack_host', '_users_host', '_metrics', '_metrics_install',
                         '_metrics_writer'),
     'host I/O: atomic writes, locks, firewall tools, the metrics writer program'),
    ('presentation', 'controller', ('_audit_report', '_audit_html'),
     'the fleet report built on the controller: JSON schema v1, JUnit XML, HTML'),
)
LAYER_OF = dict((name, index) for index, (_layer, _side, names, _what) in enumerate(LAYERS) for name in names)
SIDE_OF = dict((name, side) for _layer, side, names, _what in LAYERS for name in names)
# what each plugin folder may import from module_utils, by side
PLUGIN_SIDES = {'modules': ('shared', 'host'), 'action': ('shared', 'controller')}


def module_utils_files():
    folder = os.path.join(PLUGINS, 'module_utils')
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and name != '__init__.py')


def plugin_files(kind):
    folder = os.path.join(PLUGINS, kind)
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and name != '__init__.py')


def imports(path):
    """The collection's own imports of a file: {('module_utils' | 'modules' | ..., name)}, also
    those inside functions."""
    with open(path) as source:
        tree = ast.parse(source.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE) + 1:].split('.')
            if len(rest) == 1:
                found.update((rest[0], alias.name) for alias in node.names)
            else:
                found.add((rest[0], rest[1]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + '.'):
                    rest = alias.name[len(PACKAGE) + 1:].split('.')
                    found.add((rest[0], rest[1]))
    return found


def utils_imports(kind, name):
    return sorted(imported for folder, imported in imports(os.path.join(PLUGINS, kind, name + '.py'))
                  if folder == 'module_utils')


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
    assert not [folder for folder, _n in imports(os.path.join(PLUGINS, 'module_utils', name + '.py'))
                if folder != 'module_utils'], '%s imports a plugin (modules import module_utils, not the reverse)' % name


def test_kernel_rules_stand_alone():
    """The kernel's rules depend on nothing else of ours (_keys builds on _kernel only)."""
    assert utils_imports('module_utils', '_kernel') == []
    assert utils_imports('module_utils', '_keys') == ['_kernel']


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


def test_the_checks_catch_a_broken_layering(tmp_path):
    """The import reader sees what breaks the rules: an action plugin importing a host planner,
    also inside a function, and a host planner importing the HTML renderer."""
    bad = tmp_path / 'bad.py'
    bad.write_text(u'from ansible_collections.nfct.tuning.plugins.module_utils import _audit, _settings\n'
                   u'def run():\n'
                   u'    from ansible_collections.nfct.tuning.plugins.module_utils._notrack_plan import plan\n'
                   u'    import ansible_collections.nfct.tuning.plugins.module_utils._audit_html\n'
                   u'    return plan\n')
    found = imports(str(bad))
    assert found == {('module_utils', '_audit'), ('module_utils', '_settings'), ('module_utils', '_notrack_plan'),
                     ('module_utils', '_audit_html')}
    assert [n for _f, n in sorted(found) if SIDE_OF[n] not in PLUGIN_SIDES['action']] == ['_notrack_plan', '_settings']
    assert [n for _f, n in sorted(found) if SIDE_OF[n] == 'controller'] == ['_audit_html']
