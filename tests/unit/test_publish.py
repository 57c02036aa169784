# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a published collection must carry (issue 15): the license text the file headers point
at, no invented addresses, and a tarball that ships what runs from an install and nothing of the
development machinery (molecule/ and benchmarks/ need the Makefile and scripts/, not shipped)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def tracked():
    out = subprocess.run(['git', '-C', ROOT, 'ls-files', '-co', '--exclude-standard'], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    return [p for p in out.splitlines() if os.path.isfile(os.path.join(ROOT, p))]


def galaxy():
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        return yaml.safe_load(f)


def test_copying_is_the_gpl3_text_and_galaxy_yml_says_the_same():
    with open(os.path.join(ROOT, 'COPYING')) as f:
        text = f.read()
    assert 'GNU GENERAL PUBLIC LICENSE' in text.splitlines()[0] and 'Version 3, 29 June 2007' in text
    assert 'END OF TERMS AND CONDITIONS' in text and len(text) > 30000   # the whole text, not a stub
    meta = galaxy()
    assert meta['license'] == ['GPL-3.0-or-later'] and 'license_file' not in meta


def test_every_python_file_header_points_at_copying():
    # the packages' __init__.py stay empty (ansible-test sanity: empty-init)
    missing = [p for p in tracked() if p.startswith('plugins/') and p.endswith('.py')
               and not (p.endswith('/__init__.py') and os.path.getsize(os.path.join(ROOT, p)) == 0)
               and 'GNU General Public License v3.0+ (see COPYING' not in open(os.path.join(ROOT, p)).read(600)]
    assert missing == []


def test_no_invented_address_anywhere():
    me = os.path.relpath(__file__, ROOT)
    hits = []
    for p in tracked():
        if p == me:
            continue
        try:
            with open(os.path.join(ROOT, p), encoding='utf-8') as f:
                if 'example.invalid' in f.read():
                    hits.append(p)
        except UnicodeDecodeError:
            continue
    assert hits == []
    meta = galaxy()
    for key in ('repository', 'documentation', 'homepage', 'issues'):
        assert not meta.get(key) or meta[key].startswith('https://'), key


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    """The collection built the way `make build` does: from the files git lists, staged."""
    tmp = tmp_path_factory.mktemp('publish')
    stage = str(tmp / 'ansible_collections' / 'nfct' / 'tuning')
    subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'stage-collection.sh'), stage], check=True,
                   stdout=subprocess.DEVNULL)
    galaxy_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy')
    subprocess.run([galaxy_bin, 'collection', 'build', '--output-path', str(tmp)], cwd=stage, check=True,
                   stdout=subprocess.DEVNULL)
    meta = galaxy()
    path = str(tmp / ('nfct-tuning-%s.tar.gz' % meta['version']))
    with tarfile.open(path) as t:
        return [m.name for m in t.getmembers()]


def test_the_tarball_ships_what_runs_and_no_development_machinery(tarball):
    names = set(tarball)
    for must in ('COPYING', 'README.md', 'MANIFEST.json', 'FILES.json', 'meta/runtime.yml',
                 'roles/conntrack/meta/argument_specs.yml', 'playbooks/audit.yml', 'prometheus/nfct-conntrack.rules.yml',
                 'schemas/conntrack-audit-report-v2.schema.json', 'changelogs/changelog.yaml'):
        assert must in names, must
    assert any(n.startswith('tests/unit/') for n in names)   # tests ship, as in other collections
    assert any(n.startswith('docs/') for n in names)
    for top in ('molecule', 'benchmarks', '.cache', 'scripts', '.venv', '.git', '.ci'):
        assert not any(n == top or n.startswith(top + '/') for n in names), top
    for name in ('Makefile', 'ansible.cfg', 'requirements.txt', 'constraints.txt'):
        assert name not in names
    assert not any(n.endswith('.tar.gz') or n.endswith('.pyc') for n in names)
    # the only __pycache__ entries are the two files that keep Python from caching bytecode in an
    # installed collection (plugins/action/__pycache__ and doc_fragments/, docs/audit.md)
    assert sorted(n for n in names if '__pycache__' in n) == [
        'plugins/action/__pycache__', 'plugins/doc_fragments/__pycache__']


def _version(text):
    return tuple(int(x) for x in text.split('.'))


def test_the_release_notes_are_generated_and_name_the_version_galaxy_yml_ships():
    with open(os.path.join(ROOT, 'changelogs', 'changelog.yaml')) as f:
        releases = yaml.safe_load(f)['releases']
    assert releases, 'no release in changelogs/changelog.yaml (docs/release.md)'
    latest = max(releases, key=_version)
    # galaxy.yml carries the latest release, or the next one once a change after it needs a fragment
    assert _version(galaxy()['version']) >= _version(latest)
    with open(os.path.join(ROOT, 'CHANGELOG.rst')) as f:
        text = f.read()
    for version in releases:
        assert '\nv%s\n' % version in text, version   # generated: antsibull-changelog generate
    assert releases['0.1.0']['release_date'] and releases['0.1.0']['changes']['release_summary']


def test_the_tarball_carries_the_release_notes(tarball):
    assert 'CHANGELOG.rst' in tarball and 'changelogs/changelog.yaml' in tarball


def test_the_lint_skip_for_the_missing_repository_goes_when_a_repository_exists():
    with open(os.path.join(ROOT, '.ansible-lint')) as f:
        lint = yaml.safe_load(f)
    skipped = 'galaxy[no-repository]' in (lint.get('skip_list') or [])
    assert skipped is not bool(galaxy().get('repository'))


def test_the_tarball_carries_the_guides_of_the_docsite(tarball):
    """antsibull-docs builds the guides of an installed collection from docs/docsite/extra-docs.yml
    and docs/docsite/rst/NAME.rst (scripts/gen_docs.py writes them from docs/NAME.md)."""
    with open(os.path.join(ROOT, 'docs', 'docsite', 'extra-docs.yml')) as f:
        index = yaml.safe_load(f)
    pages = [entry for section in index['sections'] for entry in section['toctree']]
    assert 'docs/docsite/extra-docs.yml' in tarball
    missing = ['docs/docsite/rst/%s.rst' % page for page in pages if 'docs/docsite/rst/%s.rst' % page not in tarball]
    assert not missing and len(pages) >= 15
