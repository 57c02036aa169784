# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-side code of the collection under one host Python (run by scripts/host-python.sh).

Usage (from the checkout, with the interpreter under test, in its venv from host-python.sh)::

    python scripts/host_python.py SITE [PYTEST_ARG ...]

SITE holds what a target gets from Ansible: ``ansible/module_utils`` of ansible-core with the
stub ``ansible/__init__.py`` AnsiballZ writes, and ``ansible_collections/nfct/tuning`` (a link
to this checkout). Steps, each fatal when it fails:

1. host-side files: every module in plugins/modules and the module_utils they import,
   recursively (imports anywhere in a file, also inside functions);
2. byte-compile each of them with this interpreter (py_compile), a SyntaxWarning or a
   DeprecationWarning (3.7-3.11 warn about invalid escapes with it) counting as an error;
3. pytest on tests/unit/plugins/{modules,module_utils}: a test file that imports controller-side
   code (module_utils no module imports, plugins/action, ansible-core outside module_utils) at
   module level, or through a helper, is left out; a test function that imports it in its body
   is deselected. Each with its reason. Skipped tests fail the run.

The script itself runs on every Python from 3.7 on (no syntax or library newer than 3.7).
"""

import ast
import os
import py_compile
import shutil
import sys
import tempfile
import time
import warnings

PKG = 'ansible_collections.nfct.tuning.'
TEST_DIRS = ('tests/unit/plugins/modules', 'tests/unit/plugins/module_utils')
TEST_ROOT = 'tests/unit'


def collection_file(module):
    """plugins/... path of a dotted name below ansible_collections.nfct.tuning, or None."""
    if not module.startswith(PKG):
        return None
    return module[len(PKG):].replace('.', '/')


def imported_names(node):
    """Dotted names imported by the Import / ImportFrom nodes below node (``from P import a``
    gives P.a too: a may be a module)."""
    names = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            names.extend(alias.name for alias in sub.names)
        elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
            names.append(sub.module)
            names.extend(sub.module + '.' + alias.name for alias in sub.names)
    return names


def parse(path):
    with open(path, 'rb') as f:
        return ast.parse(f.read(), path)


def collection_deps(node):
    """Collection .py files that the imports below node name."""
    deps = set()
    for name in imported_names(node):
        rel = collection_file(name)
        if rel is not None and os.path.isfile(rel + '.py'):
            deps.add(rel + '.py')
    return deps


def host_side_files():
    """plugins/modules/*.py and the collection files they import, recursively."""
    todo = sorted(os.path.join('plugins/modules', f) for f in os.listdir('plugins/modules')
                  if f.endswith('.py') and f != '__init__.py')
    seen = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(collection_deps(parse(path)) - seen)
    return sorted(seen)


def compile_all(files):
    """Byte-compile files with this interpreter; the failures as readable lines."""
    failures = []
    tmp = tempfile.mkdtemp(prefix='host-python-')
    try:
        for i, path in enumerate(files):
            with warnings.catch_warnings():
                warnings.simplefilter('error')
                try:
                    py_compile.compile(path, cfile=os.path.join(tmp, '%d.pyc' % i), doraise=True)
                except (py_compile.PyCompileError, SyntaxError, SyntaxWarning, DeprecationWarning) as e:
                    failures.append('%s: %s' % (path, str(getattr(e, 'msg', e)).strip()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return failures


class Tests(object):
    """Which unit tests exercise host-side code only."""

    def __init__(self, host):
        self.host = set(host)
        self._helper = {}

    def controller_reason(self, node):
        """Why the imports below node reach controller-side code ('' when they do not)."""
        for name in imported_names(node):
            rel = collection_file(name)
            if rel is not None:
                if os.path.isfile(rel + '.py') and rel + '.py' not in self.host:
                    return 'imports %s (controller-side)' % name
            elif name.split('.')[0] == 'ansible' and name.split('.')[:2] != ['ansible', 'module_utils'] \
                    and name != 'ansible':
                return 'imports %s (ansible-core on the controller)' % name
            else:
                helper = self.helper_path(name)
                if helper:
                    why = self.helper_reason(helper)
                    if why:
                        return 'imports %s, which %s' % (name, why)
        return ''

    @staticmethod
    def helper_path(name):
        """tests/unit file of a test helper import (hosts, plugins.modules.test_x), or None."""
        path = os.path.join(TEST_ROOT, name.replace('.', '/') + '.py')
        return path if os.path.isfile(path) else None

    def helper_reason(self, path):
        """A helper counts as controller-side if any import in it is (conservative)."""
        if path not in self._helper:
            self._helper[path] = ''  # import cycles between test modules
            self._helper[path] = self.controller_reason(parse(path))
        return self._helper[path]

    def select(self):
        """(test files, {node id prefix: reason} to deselect, {file: reason} left out)."""
        files, deselect, excluded = [], {}, {}
        for folder in TEST_DIRS:
            for name in sorted(os.listdir(folder)):
                if not (name.startswith('test_') and name.endswith('.py')):
                    continue
                path = os.path.join(folder, name)
                tree = parse(path)
                file_reason, nodes = '', {}
                for stmt in tree.body:
                    for test, node in self._tests_in(stmt):
                        why = self.controller_reason(node)
                        if why and test:
                            nodes[path + '::' + test] = why
                        elif why:
                            file_reason = file_reason or why
                if file_reason:
                    excluded[path] = file_reason
                else:
                    files.append(path)
                    deselect.update(nodes)
        return files, deselect, excluded

    @staticmethod
    def _tests_in(stmt):
        """(test node id part or '' for code that is not a test, node) of a top-level statement."""
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if stmt.name.startswith('test'):
                return [(stmt.name, stmt)]
            return [('', stmt)]
        if isinstance(stmt, ast.ClassDef) and stmt.name.startswith('Test'):
            out = []
            for sub in stmt.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name.startswith('test'):
                    out.append((stmt.name + '::' + sub.name, sub))
                else:
                    out.append(('', sub))
            return out
        return [('', stmt)]


class Deselect(object):
    """pytest plugin: deselect the given tests (every parametrization of each), count skips."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.skipped = []

    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            (drop if item.nodeid.split('[')[0] in self.nodes else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            self.skipped.append(report.nodeid)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    site, pytest_args = os.path.abspath(argv[1]), argv[2:]
    version = '%d.%d.%d' % sys.version_info[:3]
    host = host_side_files()
    failures = compile_all(host)
    for line in failures:
        print('ERROR: Python %s cannot compile %s' % (version, line))
    if failures:
        return 1
    print('compile: %d host-side files compile under Python %s (warnings as errors)' % (len(host), version))

    files, deselect, excluded = Tests(host).select()
    for path, why in sorted(excluded.items()):
        print('left out: %s: %s' % (path, why))
    for node, why in sorted(deselect.items()):
        print('deselected: %s: %s' % (node, why))
    if not files:
        print('ERROR: no unit test file exercises host-side code only')
        return 1

    # As on a target: ansible/module_utils from ansible-core (nothing else of it), the collection
    # through the ansible_collections folder. Checked before pytest runs.
    sys.path.insert(0, site)
    os.environ['PYTHONPATH'] = site + os.pathsep + os.environ.get('PYTHONPATH', '')
    import ansible.module_utils.basic  # noqa: F401 pylint: disable=import-outside-toplevel
    import ansible  # pylint: disable=import-outside-toplevel
    if not os.path.abspath(ansible.__path__[0]).startswith(site):
        print('ERROR: ansible comes from %s, not from %s' % (ansible.__path__[0], site))
        return 1
    import pytest  # pylint: disable=import-outside-toplevel

    plugin = Deselect(deselect)
    print('pytest: %d test files under Python %s, ansible-core %s module_utils' % (len(files), version, ansible.__version__))
    start = time.time()
    rc = pytest.main(['-p', 'no:cacheprovider'] + pytest_args + files, plugins=[plugin])
    print('pytest: exit %s after %.0f s' % (int(rc), time.time() - start))
    if rc == 0 and plugin.skipped:
        print('ERROR: %d tests skipped under Python %s (a proof must run them): %s'
              % (len(plugin.skipped), version, ', '.join(plugin.skipped[:10])))
        return 1
    return int(rc)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
