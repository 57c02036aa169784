# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the tests in tests/netns (helpers are in modules of their own: nsfill.py,
ctkinds.py, vethpair.py)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import nsfill  # noqa: E402
import vethpair  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        'quiet_machine: a case that measures machine-wide state or is sensitive to timing; make test runs '
        'these (make netns-quiet) after the VM lane, the others (make netns-shared) next to it')


@pytest.fixture(autouse=True)
def _host_global_lock():
    """Every test here holds the lock of the tests that change or compare the initial namespace's
    global values (nsfill.host_global_lock): they write max and buckets, fill tables that count
    against the global max, or read max twice and compare; make test runs the container fleet
    tests, which lower max for a flood, at the same time in another lane."""
    with nsfill.host_global_lock():
        yield


@pytest.fixture
def pair():
    """The server and client namespaces of vethpair.Pair, removed at teardown."""
    p = vethpair.Pair()
    try:
        yield p
    finally:
        p.remove()


@pytest.fixture
def ns():
    """A throwaway network namespace (nsfill.Netns), removed at teardown."""
    n = nsfill.Netns()
    try:
        yield n
    finally:
        n.remove()
