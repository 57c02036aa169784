# -*- coding: utf-8 -*-
# Make the helper modules of tests/unit importable (hosts.py, modrun.py, notrack_rulesets.py, ...:
# tests import helpers, never another test module, see test_test_layout.py); the collection
# itself is imported through PYTHONPATH=.cache/collections (set by the Makefile).
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from ansible_collections.nfct.tuning.plugins.module_utils.host import io as _hostio  # noqa: E402


@pytest.fixture(autouse=True)
def no_host_tools(monkeypatch):
    """Unit tests read fixture trees, never this machine's firewall: the modules' HostIO finds no
    tool (nft, iptables-save, systemctl...) unless a test gives its own HostIO (FakeIO)."""
    monkeypatch.setattr(_hostio.HostIO, 'which', lambda self, name: None)
