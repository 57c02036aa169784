# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every command README.md, docs/*.md and roles/*/README.md print works as printed (issue 23).

What counts as a command: each line of a fenced block marked console, shell, sh or bash (lines
joined on a trailing backslash, `# comments` dropped, a `$ ` prompt stripped: when a block has
prompts, its lines without one are output), and each inline `...` span that starts with
ansible-playbook, ansible, ansible-galaxy or make. Output lines in a prompt-less block (PLAY
RECAP, TASK [...], ok: [...] ...) are skipped on purpose (OUTPUT); a span that is only a tool's
name (`ansible`, `ansible-playbook`) is a name, not a command.

Each is checked statically, nothing runs:
- ansible-playbook: its options through ansible-core's own parser (PlaybookCLI, in-process); the
  playbook is nfct.tuning.NAME (playbooks/NAME.yml) or a file of the repo or of the reader
  (USER_FILES); -i the same, or a comma list of hosts; every -e (name=value, JSON/YAML, @file)
  names only the role's variables (every entry point of roles/*/meta/argument_specs.yml), the
  playbooks' host patterns or ansible_* ones, with values the role accepts
  (sizing/args.py check_role_variables, as the preflight does before a run);
- ansible: its options (AdHocCLI, a host pattern included); the module exists (ours in
  plugins/modules, Ansible's own, or an installed collection's) and -a names only its options
  (its DOCUMENTATION);
- ansible-galaxy: its options (GalaxyCLI); a tarball is the one `collection build` writes
  (galaxy.yml's version, or X.Y.Z), a collection is nfct.tuning;
- make: every target is a rule of the Makefile, every VAR=value a variable of it; AUDIT_ARGS and
  BENCH_ARGS are checked as the command the Makefile hands them to (MAKE_VAR_COMMANDS);
- anything else (.venv/bin/python SCRIPT ...): the files it names exist, a script knows each
  --option, pytest's -k words and the environment variables set are in the test file.

Words that stand for the reader's own value are allowed where a value goes (PLACEHOLDERS), and a
trailing ... stands for the rest of a command the text says where to find. EXCEPTIONS lists the
commands not checked, each with its reason; PENDING the known bugs in pages other changes are
editing (xfail while they fail, an error once fixed). A failure names file:line and the command."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ast
import collections
import contextlib
import copy
import glob
import io
import json
import os
import re
import shlex

import ansible
import pytest
import yaml

from ansible.cli.adhoc import AdHocCLI
from ansible.cli.galaxy import GalaxyCLI
from ansible.cli.playbook import PlaybookCLI
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.splitter import parse_kv
from ansible.utils.display import Display

from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as sizing_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_MODULES = os.path.join(os.path.dirname(os.path.abspath(ansible.__file__)), 'modules')

SHELL_LANGS = ('console', 'shell', 'sh', 'bash')
FENCE = re.compile(r'^\s*(```+|~~~+)\s*([\w+-]*)')
INLINE = re.compile(r'(?<!`)`([^`]+)`(?!`)')
INLINE_COMMAND = re.compile(r'^(ansible-playbook|ansible-galaxy|ansible|make)(\s|$)')
TOOL_NAMES = ('ansible', 'ansible-playbook', 'ansible-galaxy', 'make')
# lines of a prompt-less console block that are the output of the command above, not commands
OUTPUT = re.compile(r'^(PLAY RECAP|PLAY \[|TASK \[|RUNNING HANDLER \[|(ok|changed|fatal|skipping|failed): \[|'
                    r'\S+\s+: ok=\d|\[WARNING\]|\[DEPRECATION WARNING\])')

# files the reader has and the repo does not: an inventory, a requirements file, a playbook
USER_FILES = ('inventory', 'hosts', 'hosts.ini', 'hosts.yml', 'inventory.ini', 'inventory.yml',
              'requirements.yml', 'site.yml', 'playbook.yml')
# values the reader supplies: a host (--limit HOST), a release (X.Y.Z), a secret (--token ...)
PLACEHOLDERS = ('HOST', 'HOSTS', 'X.Y.Z', '...', 'TOKEN')
# (file, command as printed) -> why it is not checked
RUNNER_COMMAND = ('ansible-runner run PRIVATE_DATA_DIR -p audit.yml --inventory PRIVATE_DATA_DIR/inventory/hosts '
                  '--ident audit-1')
MERGE_COMMAND = ('ansible-playbook nfct.tuning.merge_reports -e \'{"conntrack_merge_reports": '
                 '["/srv/conntrack/1234/conntrack-audit-*.json"]}\'')
MERGE_ROLLOUT_COMMAND = ('ansible-playbook nfct.tuning.merge_rollout_reports -e \'{"conntrack_merge_reports": '
                         '["/srv/conntrack/1234/conntrack-rollout-*.json"]}\'')
EXCEPTIONS = {
    ('docs/rollout.md', MERGE_ROLLOUT_COMMAND): "conntrack_merge_reports is the merge playbook's own variable (it runs "
                                                'no role, hence no role spec); tests/containers/test_runner_slices.py '
                                                'runs this command',
    ('docs/fleet.md', RUNNER_COMMAND): 'ansible-runner (pinned in requirements.txt) has no static check here; '
                                       'tests/containers/test_runner_slices.py runs this command',
    ('docs/fleet.md', MERGE_COMMAND): "conntrack_merge_reports is the merge playbook's own variable (it runs no role, "
                                      'hence no role spec); tests/containers/test_runner_slices.py runs this command',
}
# Known and reported to the lead, not fixed here (the files belong to other changes under way):
# (file, command as printed) -> what is wrong. Such a command must still fail the checks: once it
# is fixed, test_command_works_as_printed fails until its entry goes.
PENDING = {}
# the Makefile hands these variables to a command: checked as that command ({} is the value)
MAKE_VAR_COMMANDS = {
    'AUDIT_ARGS': 'ansible-playbook -i localhost, {} playbooks/audit.yml',
    'BENCH_ARGS': '.venv/bin/python benchmarks/bench.py {}',
}
# environment variables that are not the program's own
COMMON_ENV = ('PYTHONPATH', 'PATH', 'ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH')
# modules whose -a is a command line, not options
FREE_FORM = ('command', 'shell', 'raw', 'script')

Command = collections.namedtuple('Command', 'path line text')


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def doc_files():
    found = ['README.md'] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
    found += sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'README.md')))
    return [os.path.relpath(os.path.join(ROOT, p), ROOT) for p in found]


# ------------------------------------------------------------------ extraction

def strip_comment(line):
    """The line without its shell comment: a # that starts a word, outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in '\'"':
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def block_commands(path, first, lines):
    """Commands of one fenced shell block (first: the file's line number of lines[0])."""
    prompted = any(line.lstrip().startswith('$ ') for line in lines)
    out, pending, start = [], '', None
    for n, line in enumerate(lines, first):
        if not pending:
            stripped = line.strip()
            if prompted and not stripped.startswith('$ '):
                continue    # output of the command above
            if not prompted and OUTPUT.match(stripped):
                continue
            line, start = stripped[2:] if prompted else stripped, n
        code = strip_comment(line)
        if code.endswith('\\'):
            pending += code[:-1].strip() + ' '
            continue
        text = (pending + code.strip()).strip()
        pending = ''
        if text:
            out.append(Command(path, start, text))
    return out


def masked_fences(text):
    """The text with every fenced block blanked (its lines kept, for the line numbers), and the
    shell blocks as (line number of their first line, lines)."""
    lines, blocks, start, lang = text.split('\n'), [], None, None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if start is None and m:
            start, lang = i, m.group(2)
        elif start is not None and m and not m.group(2):
            if lang in SHELL_LANGS:
                blocks.append((start + 2, lines[start + 1:i]))
            lines[start:i + 1] = [''] * (i + 1 - start)
            start = None
    return '\n'.join(lines), blocks


def doc_commands(path, text):
    masked, blocks = masked_fences(text)
    out = []
    for first, lines in blocks:
        out += block_commands(path, first, lines)
    for m in INLINE.finditer(masked):
        span = ' '.join(m.group(1).split())
        if '\n\n' in m.group(1) or not INLINE_COMMAND.match(span) or span in TOOL_NAMES:
            continue
        out.append(Command(path, masked.count('\n', 0, m.start()) + 1, span))
    return sorted(out, key=lambda c: c.line)


def all_commands():
    return [c for path in doc_files() for c in doc_commands(path, read(path))]


# ------------------------------------------------------------------ ansible-core's parsers

def parse_cli(cli_class, argv):
    """(options, problems): argv through the parser of an ansible-core CLI, in-process, without
    touching its global context; argparse's complaint (unknown option...) as the problem."""
    display, verbosity = Display(), Display().verbosity
    cli, err = cli_class(list(argv)), io.StringIO()
    try:
        cli.init_parser()
        with contextlib.redirect_stderr(err):
            options = cli.parser.parse_args(cli.args[1:])
        raw = copy.copy(options)
        cli.post_process_args(options)
        return raw, []
    except SystemExit:
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        return None, [lines[-1] if lines else 'the options do not parse']
    except Exception as e:  # AnsibleOptionsError from post_process_args (conflicting options)
        return None, ['%s: %s' % (type(e).__name__, e)]
    finally:
        display.verbosity = verbosity


def is_placeholder(word):
    return word in PLACEHOLDERS


def repo_or_user_file(path, what):
    """Problems of a path the command names: it exists in the repo or is the reader's own."""
    if is_placeholder(path) or os.path.basename(path) in USER_FILES or os.path.exists(os.path.join(ROOT, path)):
        return []
    return ['%s %s: not in the repo, and not a file of the reader (USER_FILES: %s)' % (what, path, ', '.join(USER_FILES))]


# ------------------------------------------------------------------ ansible-playbook

def role_spec():
    """The role variables: the options of every entry point of every role."""
    spec = {}
    for path in sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml'))):
        with open(path, encoding='utf-8') as f:
            for entry in (yaml.safe_load(f).get('argument_specs') or {}).values():
                spec.update(entry.get('options') or {})
    return spec


def extra_vars(value):
    """(variables, problems) of one -e, read as Ansible does (load_extra_vars)."""
    loader = DataLoader()
    if value.startswith('@'):
        # the parser made the path absolute (from the current folder): the repo's instead
        value = '@' + os.path.relpath(value[1:])
    try:
        if value.startswith('@'):
            if not os.path.exists(os.path.join(ROOT, value[1:])):
                return {}, ['-e %s: no such file in the repo' % value]
            data = loader.load_from_file(os.path.join(ROOT, value[1:]))
        elif value[:1] in ('/', '.'):
            return {}, ['-e %s: Ansible wants a file as -e @%s' % (value, value)]
        elif value[:1] in ('[', '{'):
            data = loader.load(value)
        else:
            data = parse_kv(value)
    except Exception as e:  # a JSON/YAML error, as Ansible would stop on it
        return {}, ['-e %s: %s' % (value, e)]
    if not isinstance(data, dict):
        return {}, ['-e %s: not a dictionary of variables' % value]
    return dict(data), []


def variable_problems(variables):
    """Names that are not the role's, the playbooks' or Ansible's; values the role refuses."""
    spec = role_spec()
    problems = ['-e %s: not a variable of the role, the playbooks or Ansible' % name
                for name in sorted(variables) if not name.startswith(('conntrack_', 'ansible_'))]
    names = sorted(n for n in variables if n.startswith('conntrack_'))
    values = dict((n, variables[n]) for n in names if n in spec)
    problems += ['-e: %s' % e for e in sizing_args.check_role_variables(spec, values, names)]
    return problems


def playbook_problems(playbook):
    m = re.match(r'^nfct\.tuning\.(\w+)$', playbook)
    if m:
        path = os.path.join('playbooks', m.group(1) + '.yml')
        return [] if os.path.exists(os.path.join(ROOT, path)) else ['%s: no %s' % (playbook, path)]
    if re.match(r'^\w+\.\w+\.\w+$', playbook):
        return ['%s: a playbook of another collection' % playbook]
    return repo_or_user_file(playbook, 'playbook')


def check_playbook(argv):
    options, problems = parse_cli(PlaybookCLI, argv)
    if options is None:
        return problems
    for playbook in options.args:
        problems += playbook_problems(playbook)
    for inventory in options.inventory or ():
        if ',' not in inventory:
            problems += repo_or_user_file(inventory, 'inventory')
    variables = {}
    for value in options.extra_vars or ():
        data, wrong = extra_vars(value)
        variables.update(data)
        problems += wrong
    return problems + variable_problems(variables)


# ------------------------------------------------------------------ ansible (ad hoc)

def module_file(name):
    """The file of a module, by the name -m gives it, or None."""
    parts = name.split('.')
    if len(parts) == 1 or parts[:2] == ['ansible', 'builtin']:
        return os.path.join(ANSIBLE_MODULES, parts[-1] + '.py')
    if parts[:2] == ['nfct', 'tuning']:
        return os.path.join(ROOT, 'plugins', 'modules', parts[-1] + '.py')
    return os.path.join(ROOT, '.cache', 'collections', 'ansible_collections', parts[0], parts[1],
                        'plugins', 'modules', parts[-1] + '.py')


def module_options(path):
    """The option names of a module, from its DOCUMENTATION (read, not imported)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'DOCUMENTATION' for t in node.targets):
            return set((yaml.safe_load(ast.literal_eval(node.value)) or {}).get('options') or {})
    return set()


def check_adhoc(argv):
    options, problems = parse_cli(AdHocCLI, argv)
    if options is None:
        return problems
    module = options.module_name or 'command'
    path = module_file(module)
    if not os.path.exists(path):
        return ['-m %s: no such module (%s)' % (module, os.path.relpath(path, ROOT))]
    if not options.module_args or module.split('.')[-1] in FREE_FORM:
        return []
    text = options.module_args.strip()
    try:
        given = json.loads(text) if text.startswith('{') else parse_kv(text)
    except ValueError as e:
        return ['-a %s: %s' % (text, e)]
    known = module_options(path)
    return ['-a: %s is not an option of %s (%s)' % (k, module, ', '.join(sorted(known)))
            for k in sorted(given) if k not in known]


# ------------------------------------------------------------------ ansible-galaxy

def galaxy_version():
    return yaml.safe_load(read('galaxy.yml'))['version']


def galaxy_arg_problems(arg):
    """A tarball is the one `ansible-galaxy collection build` writes; a name is ours."""
    m = re.match(r'^(?:\./|\.cache/dist/)?nfct-tuning-(.+)\.tar\.gz$', arg)
    if m:
        ok = m.group(1) in (galaxy_version(), 'X.Y.Z')
        return [] if ok else ['%s: the build writes nfct-tuning-%s.tar.gz' % (arg, galaxy_version())]
    if arg in ('nfct.tuning', '.'):
        return []
    return ['%s: neither our tarball nor nfct.tuning' % arg]


def check_galaxy(argv):
    options, problems = parse_cli(GalaxyCLI, argv)
    if options is None:
        return problems
    if options.type != 'collection':
        return ['ansible-galaxy %s: the docs install a collection' % options.type]
    args = getattr(options, 'args', None) or ()
    args = [args] if isinstance(args, str) else args   # publish takes one
    requirements = getattr(options, 'requirements', None)
    if options.action in ('install', 'verify', 'download') and not args and not requirements:
        problems.append('collection %s: names no collection and no -r file (ansible-galaxy refuses)' % options.action)
    for arg in args:
        if arg not in PLACEHOLDERS:
            problems += galaxy_arg_problems(arg)
    if requirements:
        problems += repo_or_user_file(requirements, 'requirements file')
    return problems


# ------------------------------------------------------------------ make

def makefile():
    """(targets, variables) of the Makefile: rule names (and .PHONY ones), names assigned or used."""
    text = read('Makefile').replace('\\\n', ' ')
    targets, variables = set(), set()
    for line in text.split('\n'):
        m = re.match(r'^([A-Za-z0-9_.%/ -]+?)\s*::?(?![=])', line)
        if m and not line.startswith('\t'):
            targets.update(m.group(1).split())
        m = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)\s*[:?+!]?=', line)
        if m:
            variables.add(m.group(1))
    if '.PHONY' in targets:
        for m in re.finditer(r'^\.PHONY\s*:(.*)$', text, re.M):
            targets.update(m.group(1).split())
    variables.update(re.findall(r'\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]', text))
    return targets - {'.PHONY'}, variables


def check_make(argv):
    targets, variables = makefile()
    problems = []
    for arg in argv[1:]:
        name, eq, value = arg.partition('=')
        if eq and name not in variables:
            problems.append('%s: not a variable of the Makefile' % name)
        elif eq and name in MAKE_VAR_COMMANDS:
            command = MAKE_VAR_COMMANDS[name].format(value)
            problems += ['%s (as %s): %s' % (name, command, p) for p in check(shlex.split(command))]
        elif not eq and not arg.startswith('-') and arg not in targets:   # -n, -k...: make's own
            problems.append('make %s: no such target in the Makefile' % arg)
    return problems


# ------------------------------------------------------------------ anything else

def script_problems(script, args):
    """A Python script knows each --option given."""
    source = read(script)
    return ['%s: %s is not an option of %s' % (script, a, script) for a in args
            if a.startswith('--') and not re.search(r'[\'"]%s[\'"]' % re.escape(a.split('=')[0]), source)]


def pytest_problems(args):
    """pytest FILE... -k EXPR: the files exist, every word of EXPR is in them."""
    files = [a for a in args if not a.startswith('-') and a.endswith('.py')]
    problems = ['%s: no such file' % f for f in files if not os.path.exists(os.path.join(ROOT, f))]
    if problems or '-k' not in args:
        return problems
    source = ''.join(read(f) for f in files)
    words = re.findall(r'\w+', args[args.index('-k') + 1])
    return ['-k %s: not in %s' % (w, ', '.join(files)) for w in words if w not in ('and', 'or', 'not') and w not in source]


def check_other(argv):
    """.venv/bin/python SCRIPT|-m pytest ...: what the command names exists and is known."""
    env = []
    while argv and re.match(r'^[A-Z_][A-Z0-9_]*=', argv[0]):
        env.append(argv.pop(0).split('=', 1)[0])
    if not argv or not re.match(r'^(\.venv/bin/)?python3?$', argv[0]):
        return ['%s: no check for this program (add one, or an entry of EXCEPTIONS)' % (argv or ['?'])[0]]
    args = argv[1:]
    if args[:2] == ['-m', 'pytest']:
        problems, files = pytest_problems(args[2:]), [a for a in args if a.endswith('.py')]
    elif args and args[0].endswith('.py'):
        if not os.path.exists(os.path.join(ROOT, args[0])):
            return ['%s: no such script' % args[0]]
        problems, files = script_problems(args[0], args[1:]), args[:1]
    else:
        return ['%s: neither a script nor -m pytest' % ' '.join(argv)]
    source = ''.join(read(f) for f in files if os.path.exists(os.path.join(ROOT, f)))
    return problems + ['%s: not read by %s' % (name, ', '.join(files)) for name in env
                       if name not in COMMON_ENV and name not in source]


CHECKS = {'ansible-playbook': check_playbook, 'ansible': check_adhoc, 'ansible-galaxy': check_galaxy, 'make': check_make}


def check(argv):
    """The problems of one command, split into words. A trailing ... stands for the rest of a
    command the text says where to find (\"the command it printed\"): the part shown is checked."""
    argv = list(argv)
    while argv[-1:] == ['...'] and not argv[-2].startswith('-'):   # --token ...: a value
        argv.pop()
    return CHECKS.get(argv[0], check_other)(argv)


# ------------------------------------------------------------------ the tests

COMMANDS = all_commands()


@pytest.mark.parametrize('command', COMMANDS, ids=['%s:%d' % (c.path, c.line) for c in COMMANDS])
def test_command_works_as_printed(command):
    if (command.path, command.text) in EXCEPTIONS:
        pytest.skip(EXCEPTIONS[(command.path, command.text)])
    try:
        argv = shlex.split(command.text)
    except ValueError as e:
        pytest.fail('%s:%d: %s\n  does not split as a shell would: %s' % (command.path, command.line, command.text, e))
    problems = check(argv)
    if (command.path, command.text) in PENDING:
        assert problems, '%s:%d: %s works now: remove it from PENDING' % command
        pytest.xfail('known, reported: %s' % PENDING[(command.path, command.text)])
    assert not problems, '%s:%d: %s\n  - %s' % (command.path, command.line, command.text, '\n  - '.join(problems))


def test_every_kind_is_found():
    """The extraction finds commands of every kind (a broken one would make the test above pass
    on nothing)."""
    programs = collections.Counter(shlex.split(c.text)[0] for c in COMMANDS)
    assert set(CHECKS) <= set(programs), programs
    assert len(COMMANDS) >= 40, len(COMMANDS)


def test_exceptions_are_current():
    printed = set((c.path, c.text) for c in COMMANDS)
    assert not [key for key in list(EXCEPTIONS) + list(PENDING) if key not in printed]


EXTRACT_MD = '''Run `ansible-playbook -i inventory
nfct.tuning.audit` or `ansible` or `make help`.

```console
ansible-playbook -i inventory nfct.tuning.tune \\
  -e conntrack_profile=web   # a comment
PLAY RECAP *****
```

```console
$ make audit
ok: [host]
```

```yaml
make notacommand
```
'''


def test_extraction():
    got = [(c.line, c.text) for c in doc_commands('x.md', EXTRACT_MD)]
    assert got == [(1, 'ansible-playbook -i inventory nfct.tuning.audit'), (2, 'make help'),
                   (5, 'ansible-playbook -i inventory nfct.tuning.tune -e conntrack_profile=web'), (11, 'make audit')]


@pytest.mark.parametrize('text, expected', [
    ('ansible-playbook -i inventory nfct.tuning.audit --chek', 'unrecognized arguments: --chek'),
    ('ansible-playbook nfct.tuning.tun', 'no playbooks/tun.yml'),
    ('ansible-playbook mysite.yml', 'playbook mysite.yml: not in the repo'),
    ('ansible-playbook -i inventry nfct.tuning.audit', 'inventory inventry: not in the repo'),
    ('ansible-playbook nfct.tuning.tune -e conntrack_profil=web', 'conntrack_profil: not a variable'),
    ('ansible-playbook nfct.tuning.tune -e profile=web', '-e profile: not a variable'),
    ('ansible-playbook nfct.tuning.tune -e conntrack_state=gone', 'conntrack_state: the string \'gone\' is not one of'),
    ('ansible-playbook nfct.tuning.tune -e conntrack_profile=nosuch', 'nosuch'),
    ('ansible-playbook nfct.tuning.tune -e \'{"conntrack_notrack": {"interface": "lo"}}\'', 'expected a list of dicts'),
    ('ansible-playbook nfct.tuning.tune -e @vars.yml', '-e @vars.yml: no such file'),
    ('ansible -m ping', 'required: pattern'),
    ('ansible all -m nfct.tuning.conntrack_fact', '-m nfct.tuning.conntrack_fact: no such module'),
    ('ansible all -m nfct.tuning.conntrack_recommend -a profil=web', 'profil is not an option'),
    ('ansible-galaxy collection instal x', 'invalid choice'),
    ('ansible-galaxy collection verify --offline', 'names no collection'),
    ('ansible-galaxy collection install nfct-tuning-0.0.1.tar.gz', 'the build writes nfct-tuning-'),
    ('make nosuchtarget', 'make nosuchtarget: no such target'),
    ('make audit NOSUCH=1', 'NOSUCH: not a variable'),
    ('make audit AUDIT_ARGS="-e conntrack_frce=true"', 'conntrack_frce: not a variable'),
    ('make bench BENCH_ARGS=--no-such', '--no-such is not an option of benchmarks/bench.py'),
    ('.venv/bin/python -m pytest tests/unit/test_test_layout.py -k nosuchname', '-k nosuchname: not in'),
    ('frobnicate --now', 'frobnicate: no check for this program'),
])
def test_checks_catch_mistakes(text, expected):
    problems = check(shlex.split(text))
    assert any(expected in p for p in problems), problems
