#!/usr/bin/env bash
# cached-venv.sh LINK CACHE_DIR PYTHON REQUIREMENTS [CONSTRAINTS]
#
# A venv keyed by its content, shared by every clone on this machine: CACHE_DIR/venv-HASH, HASH
# of the requirements, the constraints and the Python that builds it (its version and installation), and
# LINK (.venv, .venv-min in the checkout) a symlink to it. A clean clone (CI's) then links the
# venv an earlier clone built instead of installing it again (~50 s on our machines).
#
# Built under a lock (clones and make's lanes may ask at once), in place (a venv cannot be
# moved), and marked complete only once pip has finished: a build that failed or was killed is
# removed and built again by the next call. Each use touches the mark; venvs of this kind whose
# mark is older than 30 days are removed when a new one is built (other checkouts' ones included:
# they are rebuilt on their next use). A LINK that is a directory (a venv of before) is replaced.
set -euo pipefail
link=$1 cache=$2 python=$3 requirements=$4 constraints=${5:-}

# the Python's installation (base_prefix: the same whether PATH finds it in a venv or not)
hash=$({ cat "$requirements" ${constraints:+"$constraints"}; "$python" -VV; "$python" -c 'import sys; print(sys.base_prefix)'; } \
    | sha256sum | cut -c1-12)
venv="$cache/venv-$hash"
mkdir -p "$cache"
exec 9> "$venv.lock"
if ! flock -n 9; then
    echo "waiting for the lock $venv.lock (another clone builds this venv)"
    flock 9
fi
if [ -f "$venv/.complete" ]; then
    echo "reusing $venv ($("$venv/bin/python" -V))"
else
    rm -rf "$venv"
    "$python" -m venv "$venv"
    if ! "$venv/bin/python" -m pip install -q -r "$requirements" ${constraints:+-c "$constraints"}; then
        rm -rf "$venv"
        echo "ERROR: pip install -r $requirements failed; nothing is kept" >&2
        exit 1
    fi
    # the ones not used for 30 days (their mark not touched), never the one just built
    find "$cache" -maxdepth 2 -path "$cache/venv-*/.complete" -mtime +30 -printf '%h\n' 2>/dev/null \
        | while read -r old; do
            [ "$old" = "$venv" ] || { echo "removing $old (not used for 30 days)"; rm -rf "$old" "$old.lock"; }
        done
fi
touch "$venv/.complete" "$venv/.installed-$hash"
if [ -d "$link" ] && [ ! -L "$link" ]; then
    rm -rf "$link"
fi
ln -sfn "$venv" "$link"
