# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for pip's ``get-pip.py`` bootstrap script, used by ansible-test.

ansible-test bootstraps pip into the empty virtual environments it creates for sanity
tests by running ``get-pip-<VERSION>.py`` (downloaded from a host that is unreachable here)
as ``__main__`` with pip-install style arguments, for example::

    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

This substitute is installed at ``~/.ansible/test/cache/get_pip_<VERSION>.py`` by the
project's Makefile. It needs no download of its own: it runs the pip wheel that CPython
bundles with ``ensurepip`` straight from the wheel file (as get-pip.py does with its embedded
copy) and lets that pip install the requested packages from the configured package index.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

GET_PIP_OPTIONS = ("--no-setuptools", "--no-wheel")


def bundled_pip_wheel() -> str | None:
    """Return the path of the pip wheel bundled with ensurepip, if there is one."""
    try:
        import ensurepip  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    return wheels[-1] if wheels else None


def main(argv: list[str]) -> int:
    """Install pip (and what else ``argv`` asks for) into the running interpreter's environment."""
    no_setuptools = "--no-setuptools" in argv
    no_wheel = "--no-wheel" in argv
    args = [arg for arg in argv if arg not in GET_PIP_OPTIONS]

    # get-pip.py installs setuptools and wheel too unless told not to.
    if not no_setuptools and not any(a.startswith("setuptools") for a in args):
        args.append("setuptools")
    if not no_wheel and not any(a.startswith("wheel") for a in args):
        args.append("wheel")
    if not any(a == "pip" or a.startswith(("pip=", "pip<", "pip>", "pip~", "pip!")) for a in args):
        args.append("pip")

    wheel = bundled_pip_wheel()
    if wheel:
        # A pip wheel is importable as a zip archive: run it in a child process so that the
        # installed pip never shadows the one being run.
        code = (
            "import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); "
            "sys.argv[0] = 'pip'; runpy.run_module('pip', run_name='__main__', alter_sys=True)"
        )
        cmd = [sys.executable, "-c", code, wheel, "install", *args]
    else:
        # No bundled wheel to run: let ensurepip install its pip, then upgrade with it.
        subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
        cmd = [sys.executable, "-m", "pip", "install", *args]

    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
