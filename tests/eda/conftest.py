# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed loop end to end (make eda): what it needs, and its benchmark figure in the summary.

The binaries come from the Makefile (make eda-setup): NFCT_PROMETHEUS, NFCT_ALERTMANAGER (and
NFCT_ALERTMANAGER_SHARE, its templates), NFCT_NODE_EXPORTER (Debian's, extracted), NFCT_EDA_VENV
(ansible-rulebook's venv) and JAVA_HOME.
Without one of them, or without root, the tests skip - unless NFCT_REQUIRE_EDA=1 (make eda sets
it), which turns a skip into a failure, so that CI never passes by skipping them."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

BENCH = os.path.join(os.path.dirname(__file__), '..', '..', '.cache', 'eda', 'closed-loop-bench.json')


def missing():
    """What the closed-loop test lacks on this machine, in words (empty when nothing)."""
    out = []
    if os.geteuid() != 0:
        out.append('root (network namespaces, nf_conntrack_max)')
    for var in ('NFCT_PROMETHEUS', 'NFCT_ALERTMANAGER', 'NFCT_NODE_EXPORTER'):
        path = os.environ.get(var)
        if not path or not os.access(path, os.X_OK):
            out.append('%s (make eda-setup)' % var)
    share = os.environ.get('NFCT_ALERTMANAGER_SHARE') or ''
    if not os.path.isfile(os.path.join(share, 'usr', 'share', 'prometheus', 'alertmanager', 'default.tmpl')):
        out.append('NFCT_ALERTMANAGER_SHARE with Debian\'s default.tmpl (rm the alertmanager binary, make eda-setup)')
    venv = os.environ.get('NFCT_EDA_VENV')
    if not venv or not os.access(os.path.join(venv, 'bin', 'ansible-rulebook'), os.X_OK):
        out.append('NFCT_EDA_VENV with ansible-rulebook (make eda-setup)')
    java = os.path.join(os.environ.get('JAVA_HOME', ''), 'bin', 'java')
    if not os.access(java, os.X_OK):
        out.append('JAVA_HOME with JDK 17 (%s)' % java)
    return out


@pytest.fixture(scope='module')
def requirements():
    lacking = missing()
    if lacking:
        message = 'the closed-loop test needs %s' % ', '.join(lacking)
        if os.environ.get('NFCT_REQUIRE_EDA') == '1':
            pytest.fail(message + ' (NFCT_REQUIRE_EDA=1: not skipped)')
        pytest.skip(message)
    return {'prometheus': os.environ['NFCT_PROMETHEUS'], 'alertmanager': os.environ['NFCT_ALERTMANAGER'],
            'node_exporter': os.environ['NFCT_NODE_EXPORTER'], 'venv': os.environ['NFCT_EDA_VENV'],
            'alertmanager_share': os.environ['NFCT_ALERTMANAGER_SHARE'],
            'java_home': os.environ['JAVA_HOME']}


def pytest_terminal_summary(terminalreporter):
    """The benchmark figure of this run: the time from the first drop to the fix."""
    if not os.path.exists(BENCH):
        return
    with open(BENCH) as f:
        bench = json.load(f)
    terminalreporter.write_sep('-', 'closed loop: first drop -> fix (benchmark figure, not an assertion)')
    for line in bench.get('lines', []):
        terminalreporter.write_line(line)
