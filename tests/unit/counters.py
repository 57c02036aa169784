# -*- coding: utf-8 -*-
"""The kernel's counters moving during a window, on a fixture host (hosts.py): the sleep the
window's modules (conntrack_rollout_gate, conntrack_snapshot window) are given in unit tests."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

import hosts

STAT = '/proc/net/stat/nf_conntrack'
COUNT = '/proc/sys/net/netfilter/nf_conntrack_count'
# the columns of hosts.STAT_HEADER_NEW that the gate reads
INSERT_FAILED, DROP, EARLY_DROP = 9, 10, 11


class Moves(object):
    """The sleep of the window: it sleeps (the window is measured on the clock), then moves the
    fixture's counters (each CPU's row: the gate sums them) and the count."""

    def __init__(self, root, count=None, per_cpu=None):
        self.root, self.count, self.per_cpu, self.asked = root, count, per_cpu or {}, []

    def __call__(self, seconds):
        self.asked.append(seconds)
        time.sleep(seconds)
        with open(self.root + STAT) as f:
            lines = f.read().splitlines()
        rows = [[int(v, 16) for v in line.split()] for line in lines[1:]]
        for column, grow in self.per_cpu.items():
            for row in rows:
                row[column] += grow
        with open(self.root + STAT, 'w') as f:
            f.write(hosts._stat_rows(lines[0], rows))
        if self.count is not None:
            with open(self.root + COUNT, 'w') as f:
                f.write('%d\n' % self.count)
