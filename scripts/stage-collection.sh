#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/stage-collection.sh DEST
#
# Copy the collection's files into DEST (emptied first): the files git tracks plus the
# untracked files git does not ignore, i.e. what `git ls-files -co --exclude-standard` lists
# and still exists. ansible-test wants the collection at .../ansible_collections/NS/NAME and
# resolves symlinks, so it runs on such a copy; `make build` builds from one too, so that
# nothing ignored (venvs, caches) can end up in the tarball.
set -euo pipefail

dest=${1:?usage: $0 DEST}
root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)

rm -rf "$dest"
mkdir -p "$dest"

cd "$root"
git ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' path; do
        if [[ -e $path || -L $path ]]; then
            printf '%s\0' "$path"
        fi
    done |
    tar --null --no-recursion -T - -cf - |
    tar -C "$dest" -xf -
echo "staged $(find "$dest" -type f | wc -l) files from $root into $dest"

# ansible-test takes its file list from the nearest git repository above the collection: give
# the copy its own (empty) one, or it would ask the checkout's, which ignores .cache/.
git -C "$dest" init -q
