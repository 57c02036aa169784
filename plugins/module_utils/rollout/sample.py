# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One window of the table's counters on the host: the sample the health gate compares
(conntrack_rollout_gate), and the baseline before the change (conntrack_snapshot window, in the
same module run as the snapshot)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.facts import gather as _gather
from ansible_collections.nfct.tuning.plugins.module_utils.rollout import gate as _gate


def take(root, probes, window, sleep):
    """The counters at the start and at the end of the window (rollout/gate.py measure())."""
    start = _gate.point(_gather.counters(root, probes))
    if window > 0:
        sleep(window)
    return _gate.measure(start, _gate.point(_gather.counters(root, probes)), window)
