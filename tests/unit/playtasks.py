# -*- coding: utf-8 -*-
"""The tasks of a playbook as Ansible compiles them (the role's dependency, its argument check,
the entry point's tasks), without running anything: `python playtasks.py PLAYBOOK` prints, as
JSON, each play's tasks with their action, name, run_once, when and include vars. Run in a
process of its own (it sets Ansible's global CLI arguments and installs the collection finder)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def walk(items):
    for item in items:
        if hasattr(item, 'block'):
            for part in (item.block, item.rescue, item.always):
                yield from walk(part)
        else:
            yield item


def plays(path):
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    context.CLIARGS = ImmutableDict(check=False)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[os.path.join(REPO, '.cache', 'collections')])._install()
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook import Playbook
    from ansible.vars.manager import VariableManager
    loader = DataLoader()
    manager = VariableManager(loader=loader, inventory=InventoryManager(loader=loader, sources='localhost,'))
    out = []
    for play in Playbook.load(path, variable_manager=manager, loader=loader).get_plays():
        tasks = [{'action': t.action, 'name': t.get_name(), 'run_once': bool(t.run_once), 'when': list(t.when or []),
                  'vars': sorted(t.vars or {})}
                 for t in walk(play.compile()) if not (t.action in ('meta', 'ansible.builtin.meta') and t.implicit)]
        out.append({'name': play.get_name(), 'tasks': tasks})
    return out


if __name__ == '__main__':
    json.dump(plays(sys.argv[1]), sys.stdout)
