# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module the way Ansible runs it: its argument spec (build_module), the arguments Ansible
passes (check/diff flags, the remote tmpdir), and its end in exit_json or fail_json (SystemExit,
the result JSON on stdout). Used by the tests in tests/unit/plugins/modules."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (the minimum we support, 2.17, is tested by make min-ansible)
    import contextlib

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def invoke(mod, args, *run_args, **run_kwargs):
    """Run mod.run(mod.build_module(), ...) as Ansible runs a module (it ends in exit_json or
    fail_json); the result is on stdout (capsys)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.run(mod.build_module(), *run_args, **run_kwargs)


def ansible_flags(tmp_path, args, check=False, diff=False):
    """args with the check/diff flags and the remote tmpdir Ansible passes to a module."""
    a = dict(args)
    a['_ansible_check_mode'] = check
    a['_ansible_diff'] = diff
    a['_ansible_tmpdir'] = str(tmp_path)
    return a


def run_action(action_class, cwd, args, task_vars=None):
    """An action plugin's run() as Ansible calls it on the controller (a task of these args, not in
    check mode), in the folder cwd as the current folder: its result."""
    import os
    from unittest import mock
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.template import Templar
    task = mock.MagicMock()
    task.args, task.async_val, task.check_mode = dict(args), 0, False
    task._role = None
    loader = DataLoader()
    before = os.getcwd()
    os.chdir(str(cwd))
    try:
        return action_class(task, mock.MagicMock(), PlayContext(), loader, Templar(loader=loader), None).run(
            task_vars=task_vars or {})
    finally:
        os.chdir(before)
