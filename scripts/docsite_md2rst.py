# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the explanatory pages docs/*.md into the RST extra docs antsibull-docs takes
(docs/docsite/rst/NAME.rst in the copy of the collection that scripts/docsite.sh builds from).

The Markdown pages stay the source (GitHub renders them; people edit them); this writes the
RST that the docsite needs, with pandoc (the pypandoc-binary wheel):
- each page gets the label ansible_collections.nfct.tuning.docsite.NAME (NAME: the file name
  without .md, '-' -> '_'), which module docs reach with seealso `ref:`;
- a link to another page, `[x](audit.md#kinds)`, becomes a link to its HTML page in the docsite;
  a link to any other file of the repository becomes its text and path (the docsite has no
  such page); images stay (scripts/docsite.sh copies docs/images next to the pages).
- every docs/*.md must be in docs/docsite/extra-docs.yml and every page listed there must
  exist, so that a new page cannot be left out of the docsite unnoticed.

Usage: docsite_md2rst.py DOCS_DIR EXTRA_DOCS_YML OUT_DIR
"""

from __future__ import annotations

import os
import re
import sys

import pypandoc
import yaml

LABEL_PREFIX = 'ansible_collections.nfct.tuning.docsite.'
# [text](target) where target is a relative path (no scheme, no leading '#'); images excluded.
LINK = re.compile(r'(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>(?![a-z]+:|#)[^)\s]+)\)')


def label(name: str) -> str:
    return LABEL_PREFIX + name.replace('-', '_')


def listed_pages(extra_docs: str) -> list[str]:
    with open(extra_docs, encoding='utf-8') as f:
        index = yaml.safe_load(f)
    pages = []
    for section in index.get('sections') or []:
        for entry in section.get('toctree') or []:
            pages.append(entry if isinstance(entry, str) else entry['ref'])
    return pages


def rewrite_links(text: str, pages: set[str]) -> str:
    def repl(m: re.Match) -> str:
        target = m.group('target')
        path, anchor = (target.split('#', 1) + [''])[:2]
        name = os.path.basename(path)[:-3] if path.endswith('.md') and '/' not in path else None
        if name in pages:
            return '[%s](%s.html%s)' % (m.group('text'), name, '#' + anchor if anchor else '')
        # A file of the repository that has no page in the docsite: its text and its path.
        shown = os.path.normpath(os.path.join('docs', path))
        return '%s (`%s`)' % (m.group('text'), shown)
    return LINK.sub(repl, text)


def table_cells(text: str) -> str:
    """A table cell that starts with '- ' (meaning "none") would be a bullet list in an RST
    grid table: an en dash reads the same."""
    return '\n'.join(re.sub(r'(?<=\|)(\s*)-(?=\s)', '\\1\u2013', line) if line.startswith('|') else line
                     for line in text.split('\n'))


GENERATED = re.compile(r'<!-- /?gen(:[a-z0-9._-]+)? -->')


def convert(md: str, name: str, pages: set[str]) -> str:
    md = GENERATED.sub('', md)  # the markers of scripts/gen_docs.py's regions
    # No identifiers of pandoc's own: every label must carry the collection's prefix, and
    # Sphinx gives each section its id.
    rst = pypandoc.convert_text(table_cells(rewrite_links(md, pages)), 'rst', format='gfm-gfm_auto_identifiers',
                                extra_args=['--wrap=preserve'])
    return '.. _%s:\n\n%s' % (label(name), rst)


def main(argv: list[str]) -> int:
    docs_dir, extra_docs, out_dir = argv
    listed = listed_pages(extra_docs)
    present = sorted(f[:-3] for f in os.listdir(docs_dir) if f.endswith('.md'))
    errors = ['docs/docsite/extra-docs.yml lists %s, but docs/%s.md does not exist' % (p, p)
              for p in listed if p not in present]
    errors += ['docs/%s.md is not in docs/docsite/extra-docs.yml (add it to a section)' % p
               for p in present if p not in listed]
    if errors:
        for e in errors:
            print('ERROR: ' + e, file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    for name in listed:
        with open(os.path.join(docs_dir, name + '.md'), encoding='utf-8') as f:
            md = f.read()
        with open(os.path.join(out_dir, name + '.rst'), 'w', encoding='utf-8') as f:
            f.write(convert(md, name, set(listed)))
    print('docsite: %d pages of docs/*.md converted to RST in %s' % (len(listed), out_dir))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
