#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/host-python.sh [X.Y ...]        (default: $HOST_PYTHON_VERSIONS or "3.7 3.13")
#
# The host-side code (plugins/modules and the module_utils they import) under the oldest host
# Python we support (3.7: the oldest ansible-core 2.17 runs modules with) and the newest one we
# test (docs/host-python.md). For each version X.Y:
#   - its interpreter: $HOST_PYTHON_X_Y, else pyenv's newest X.Y.* ($PYENV_ROOT/versions),
#     else pythonX.Y on PATH (pyenv shims are refused: they fail here); missing = error;
#   - a venv .cache/host-python/venv-X.Y with scripts/requirements-host-X.Y.txt (pinned test
#     tools that support X.Y), rebuilt when the hash of that file and `python -VV` changes;
#   - a site folder as a target sees it: ansible/module_utils of ansible-core (the version of
#     scripts/requirements-min.txt, from its wheel on PyPI, kept in $NFCT_CACHE/wheels, by
#     default ~/.cache/nfct-tuning/wheels as in the Makefile) with the stub
#     ansible/__init__.py that AnsiballZ writes, and ansible_collections/nfct/tuning (a link);
#   - scripts/host_python.py with that venv: byte-compile every host-side file (warnings are
#     errors), then pytest on the unit tests of host-side code (controller-side ones left out,
#     each with its reason; a skipped test fails).
# Extra pytest arguments: HOST_PYTEST_ARGS (default -q). Hypothesis examples per property test:
# NFCT_HYPOTHESIS_EXAMPLES (default here 50; `make units` runs the full default search).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

read -r -a versions <<< "${*:-${HOST_PYTHON_VERSIONS:-3.7 3.13}}"
cache=$root/.cache/host-python
controller_python=${CONTROLLER_PYTHON:-$root/.venv/bin/python}
read -r -a pytest_args <<< "${HOST_PYTEST_ARGS:--q}"
export NFCT_HYPOTHESIS_EXAMPLES=${NFCT_HYPOTHESIS_EXAMPLES:-50}
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONPATH

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

# The interpreter of version $1 (X.Y), checked to be that version.
find_python() {
    local v=$1 var="HOST_PYTHON_${1//./_}" candidates=() py
    if [[ -n ${!var:-} ]]; then
        candidates=("${!var}")
    else
        # pyenv's X.Y.* folders, newest patch release first
        while IFS= read -r py; do candidates+=("$py/bin/python$v"); done < <(
            for py in "${PYENV_ROOT:-$HOME/.pyenv}/versions/$v".*; do
                if [[ $py =~ /$v\.[0-9]+$ ]]; then echo "$py"; fi
            done | sort -rV)
        py=$(command -v "python$v" || true)
        if [[ -n $py && $py != */shims/* ]]; then candidates+=("$py"); fi
    fi
    for py in "${candidates[@]}"; do
        if [[ -x $py ]] && [[ $("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) == "$v" ]]; then
            echo "$py"; return 0
        fi
    done
    die "no Python $v found (set HOST_PYTHON_${v//./_}, or: pyenv install $v)"
}

# ansible-core's version from scripts/requirements-min.txt, its wheel, the site folder.
core=$(sed -nE 's/^ansible-core==([0-9][^ ]*).*/\1/p' scripts/requirements-min.txt)
[[ -n $core ]] || die "no ansible-core==VERSION line in scripts/requirements-min.txt"
site=$cache/site-ansible-core-$core
if [[ ! -f $site/.complete ]]; then
    say "host-python: ansible/module_utils of ansible-core $core as a target gets it ($site)"
    wheels=${NFCT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nfct-tuning}/wheels
    mkdir -p "$wheels"
    wheel=$(find "$wheels" -name "ansible_core-$core-py3-none-any.whl" | head -n1)
    if [[ -z $wheel ]]; then
        [[ -x $controller_python ]] || die "$controller_python missing (make venv) to download ansible-core $core"
        "$controller_python" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "ansible-core==$core"
        wheel=$(find "$wheels" -name "ansible_core-$core-py3-none-any.whl" | head -n1)
    fi
    rm -rf "$site" "$site.tmp"
    mkdir -p "$site.tmp/ansible_collections/nfct"
    python3 - "$wheel" "$site.tmp" "$core" <<'EOF'
import os, sys, zipfile
wheel, dest, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith('ansible/module_utils/') and not n.endswith('/')]
    for n in names:
        z.extract(n, dest)
# What ansible-core 2.17's AnsiballZ puts in place of these two (executor/module_common.py).
with open(os.path.join(dest, 'ansible/__init__.py'), 'w') as f:
    f.write('from pkgutil import extend_path\n__path__=extend_path(__path__,__name__)\n'
            '__version__="%s"\n__author__="Ansible, Inc."\n' % version)
with open(os.path.join(dest, 'ansible/module_utils/__init__.py'), 'w') as f:
    f.write('from pkgutil import extend_path\n__path__=extend_path(__path__,__name__)\n')
print('extracted %d files of ansible/module_utils from %s' % (len(names), wheel))
EOF
    ln -s ../../../../.. "$site.tmp/ansible_collections/nfct/tuning"
    touch "$site.tmp/.complete"
    mv "$site.tmp" "$site"
fi
[[ -f $site/ansible_collections/nfct/tuning/galaxy.yml ]] || die "$site/ansible_collections/nfct/tuning does not lead to the checkout"

for v in "${versions[@]}"; do
    start=$SECONDS
    requirements=scripts/requirements-host-$v.txt
    [[ -f $requirements ]] || die "no $requirements (pinned test tools for Python $v)"
    py=$(find_python "$v")
    venv=$cache/venv-$v
    hash=$({ cat "$requirements"; "$py" -VV; } | sha256sum | cut -c1-12)
    if [[ ! -f $venv/.installed-$hash ]]; then
        say "host-python: $venv ($("$py" -V), $requirements)"
        rm -rf "$venv"
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q -r "$requirements"
        touch "$venv/.installed-$hash"
    fi
    say "host-python: Python $("$venv/bin/python" -V 2>&1 | cut -d' ' -f2) ($py)"
    "$venv/bin/python" scripts/host_python.py "$site" "${pytest_args[@]}"
    echo "host-python: Python $v passed in $((SECONDS - start)) s"
done
