#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/docsite.sh [STAGE]
#
# The docsite, generated from the source of truth: each module's page from its DOCUMENTATION /
# EXAMPLES / RETURN, the role's from roles/conntrack/meta/argument_specs.yml, and the explanatory
# pages from docs/*.md (listed in docs/docsite/extra-docs.yml; scripts/gen_docs.py turns them
# into the RST in docs/docsite/rst that the tarball ships). Offline, with the tools pinned in requirements.txt (`make docsite` puts .venv
# first in PATH).
#
# 1. Copy the staged collection (STAGE, default .cache/sanity/ansible_collections/nfct/tuning,
#    which `make stage` writes) to .cache/docsite/collections/ansible_collections/nfct/tuning, with
#    the guides' RST it ships; the offline collections of .cache/collections are linked next to it.
# 2. antsibull-docs lint-collection-docs, strictest: plugin and role docs too, every reference
#    (M(), O(), RV(), seealso, :ref: in the extra docs) to any collection validated, references
#    to unknown collections refused, rstcheck on.
# 3. antsibull-docs sphinx-init + collection + sphinx-build with -W: any warning fails. Output:
#    .cache/docsite/build/html (index.html; the collection under collections/nfct/tuning/).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
stage=${1:-$root/.cache/sanity/ansible_collections/nfct/tuning}
out=$root/.cache/docsite
colls=$out/collections
copy=$colls/ansible_collections/nfct/tuning
site=$out/site

[[ -f $stage/galaxy.yml ]] || { echo "ERROR: no staged collection in $stage (run make stage)" >&2; exit 1; }
for tool in antsibull-docs sphinx-build python; do
    command -v "$tool" >/dev/null || { echo "ERROR: $tool not found (run make setup; PATH=.venv/bin:...)" >&2; exit 1; }
done

echo "docsite: copy $stage -> $copy"
rm -rf "$out"
mkdir -p "$(dirname "$copy")"
cp -a "$stage" "$copy"
rm -rf "$copy/.git"
# Other collections (references to them are validated too): the offline ones, not ours.
for ns in "$root"/.cache/collections/ansible_collections/*; do
    [[ -d $ns && $(basename "$ns") != nfct ]] && ln -s "$ns" "$colls/ansible_collections/$(basename "$ns")"
done
# The guides: docs/docsite/rst/*.rst as shipped in the tarball (scripts/gen_docs.py writes them from
# docs/*.md; make docs-check fails when they are stale), one per page of extra-docs.yml.
for page in $(python -c 'import sys, yaml; print(" ".join(e if isinstance(e, str) else e["ref"] for s in yaml.safe_load(open(sys.argv[1]))["sections"] for e in s["toctree"]))' "$copy/docs/docsite/extra-docs.yml"); do
    [[ -f $copy/docs/docsite/rst/$page.rst ]] || { echo "ERROR: docs/docsite/rst/$page.rst is missing (run make docs)" >&2; exit 1; }
done

# Only these collections, and not the checkout through .cache/collections or ~/.ansible.
export ANSIBLE_COLLECTIONS_PATH=$colls ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

echo "docsite: antsibull-docs lint-collection-docs (plugins, role, extra docs, all references)"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs=all \
    --disallow-unknown-collection-refs --check-extra-docs-refs --no-skip-rstcheck "$copy"

echo "docsite: antsibull-docs sphinx-init + collection, sphinx-build -W"
mkdir -m 700 "$site"
antsibull-docs sphinx-init --use-current --fail-on-error --squash-hierarchy --no-add-antsibull-docs-version \
    --dest-dir "$site" --project nfct.tuning --title 'nfct.tuning' --copyright 'nfct.tuning contributors' nfct.tuning
# Offline: no inventory is fetched. The generated module pages refer to three pages of the
# Ansible docs by label: a local inventory maps them to their addresses. A fence without a
# language is plain text (not YAML).
python - "$site/ansible_devel.inv" <<'PY'
import sys, zlib
labels = {'common_return_values': ('reference_appendices/common_return_values.html', 'Return Values'),
          'action_plugins': ('plugins/action.html', 'Action plugins'),
          'ansible_configuration_settings': ('reference_appendices/config.html', 'Ansible Configuration Settings')}
body = ''.join('%s std:label -1 %s#%s %s\n' % (k, url, k.replace('_', '-'), title) for k, (url, title) in labels.items())
with open(sys.argv[1], 'wb') as f:
    f.write(b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
            b'# The remainder of this file is compressed using zlib.\n' + zlib.compress(body.encode()))
PY
cat >> "$site/conf.py" <<PY

# scripts/docsite.sh: offline
intersphinx_mapping = {'ansible_devel': ('https://docs.ansible.com/ansible/devel/', '$site/ansible_devel.inv')}
highlight_language = 'none'
PY
chmod og-w "$site/rst"  # antsibull-docs wants it writable by its owner only
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --use-current --fail-on-error \
    --squash-hierarchy --cleanup everything --dest-dir "$site/rst" nfct.tuning
# The images the explanatory pages show, next to them.
if [[ -d $copy/docs/images ]]; then cp -r "$copy/docs/images" "$site/rst/docsite/images"; fi
sphinx-build -q -W --keep-going -b html -c "$site" "$site/rst" "$out/build/html"
echo "docsite: built $out/build/html/index.html"
