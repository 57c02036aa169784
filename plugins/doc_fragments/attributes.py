# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """The descriptions of the module attributes (the way community.general words them); each
    module states its own support and details. Use nfct.tuning.attributes with one of
    nfct.tuning.attributes.platform_linux / .platform_controller, plus .facts or .action where
    they apply."""

    # Every module.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return the changed status it predicts without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change, in C(check_mode)) when run with C(--diff).
'''

    # A module that runs on the managed Linux host.
    PLATFORM_LINUX = r'''
options: {}
attributes:
  platform:
    description: Target operating systems the module can run against.
    support: full
    platforms: linux
'''

    # A module that only reads the host: the same result in check mode, nothing to diff.
    READ_ONLY = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - It only reads; the result is the same in check mode.
  diff_mode:
    support: N/A
    details:
      - It changes nothing.
'''

    # An action that runs on the controller only.
    PLATFORM_CONTROLLER = r'''
options: {}
attributes:
  platform:
    description: Target operating systems the action can run against.
    support: full
    platforms: all
    details:
      - Runs on the controller only; it never connects to the hosts, so their operating system does not matter.
'''

    # A module that returns ansible_facts.
    FACTS = r'''
options: {}
attributes:
  facts:
    description: Returns an C(ansible_facts) dictionary that updates the host's facts.
'''

    # A module with an action plugin of the same name.
    ACTION = r'''
options: {}
attributes:
  action:
    description: Has a corresponding action plugin, so that some or all of the work is done on the controller.
  async:
    description: Supports being used with the C(async) keyword.
'''
