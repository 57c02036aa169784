# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extract the collections of a requirements file from an ``ansible`` wheel.

Ansible Galaxy is unreachable from the project's machines, but the ``ansible`` package on
PyPI ships every collection of the community package inside its wheel. Usage::

    python scripts/extract_collections.py WHEEL DEST REQUIREMENTS.yml

REQUIREMENTS.yml is a Galaxy requirements file (``collections:``, a list of ``name`` and
``version``; requirements-dev.yml). DEST is the folder that gets
``ansible_collections/NAMESPACE/NAME``. The version in the wheel must be the one the file
asks for (an exact version; ``==1.2.3`` is accepted too), or nothing is extracted. Each
collection is extracted into a temporary folder first and then moved into place, so an
interrupted run never leaves half a collection behind.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile

import yaml


def read_requirements(path: str) -> list[tuple[str, str]]:
    """The (``namespace.name``, version) pairs of the Galaxy requirements file ``path``."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    entries = data.get("collections") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise SystemExit("%s: no 'collections' list in %s" % (sys.argv[0], path))
    wanted = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("version"):
            raise SystemExit("%s: %s: every collection needs a name and an exact version: %r"
                             % (sys.argv[0], path, entry))
        version = str(entry["version"]).strip()
        if version.startswith("=="):
            version = version[2:].strip()
        if not version[:1].isdigit() or any(c in version for c in "<>=!*, "):
            raise SystemExit("%s: %s: %s: give an exact version, not %r"
                             % (sys.argv[0], path, entry["name"], entry["version"]))
        wanted.append((str(entry["name"]), version))
    return wanted


def extract(wheel: str, dest: str, wanted: list[tuple[str, str]], source: str) -> None:
    """Extract the collections ``wanted`` (from file ``source``) out of ``wheel`` below ``dest``.

    Every version is checked before anything is extracted.
    """
    root = os.path.join(dest, "ansible_collections")
    with zipfile.ZipFile(wheel) as archive:
        members = archive.infolist()
        chosen = {}
        for name, version in wanted:
            namespace, collection = name.split(".", 1)
            prefix = "ansible_collections/%s/%s/" % (namespace, collection)
            chosen[name] = [m for m in members if m.filename.startswith(prefix)]
            if not chosen[name]:
                raise SystemExit("%s: no %s in %s" % (sys.argv[0], prefix, wheel))
            found = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
            if found != version:
                raise SystemExit("%s: %s asks for %s %s, %s has %s: change the version or the wheel"
                                 % (sys.argv[0], source, name, version, os.path.basename(wheel), found))
        for name, version in wanted:
            namespace, collection = name.split(".", 1)
            prefix = "ansible_collections/%s/%s/" % (namespace, collection)
            target = os.path.join(root, namespace, collection)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".%s-" % collection, dir=os.path.dirname(target))
            try:
                for member in chosen[name]:
                    path = archive.extract(member, tmp)
                    mode = (member.external_attr >> 16) & 0o777
                    if mode and not member.is_dir():
                        os.chmod(path, mode)
                if os.path.lexists(target):
                    shutil.rmtree(target)
                os.rename(os.path.join(tmp, prefix), target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            print("extracted %s %s (%d files) into %s" % (name, version, len(chosen[name]), target))


def main() -> None:
    """Command line entry point."""
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    extract(sys.argv[1], sys.argv[2], read_requirements(sys.argv[3]), sys.argv[3])


if __name__ == "__main__":
    main()
