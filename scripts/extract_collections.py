# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extract chosen collections from an ``ansible`` wheel into a collections folder.

Ansible Galaxy is unreachable from the project's machines, but the ``ansible`` package on
PyPI ships every collection of the community package inside its wheel. Usage::

    python scripts/extract_collections.py WHEEL DEST NAMESPACE.NAME [NAMESPACE.NAME ...]

DEST is the folder that gets ``ansible_collections/NAMESPACE/NAME``. Each collection is
extracted into a temporary folder first and then moved into place, so an interrupted run
never leaves half a collection behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile


def extract(wheel: str, dest: str, names: list[str]) -> None:
    """Extract the collections ``names`` (``namespace.name``) from ``wheel`` below ``dest``."""
    root = os.path.join(dest, "ansible_collections")
    os.makedirs(root, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        members = archive.infolist()
        for name in names:
            namespace, collection = name.split(".", 1)
            prefix = "ansible_collections/%s/%s/" % (namespace, collection)
            chosen = [m for m in members if m.filename.startswith(prefix)]
            if not chosen:
                raise SystemExit("%s: no %s in %s" % (sys.argv[0], prefix, wheel))
            target = os.path.join(root, namespace, collection)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".%s-" % collection, dir=os.path.dirname(target))
            try:
                for member in chosen:
                    path = archive.extract(member, tmp)
                    mode = (member.external_attr >> 16) & 0o777
                    if mode and not member.is_dir():
                        os.chmod(path, mode)
                if os.path.lexists(target):
                    shutil.rmtree(target)
                os.rename(os.path.join(tmp, prefix), target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            print("extracted %s (%d files) into %s" % (name, len(chosen), target))


def main() -> None:
    """Command line entry point."""
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    extract(sys.argv[1], sys.argv[2], sys.argv[3:])


if __name__ == "__main__":
    main()
