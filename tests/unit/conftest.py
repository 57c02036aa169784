# -*- coding: utf-8 -*-
# Make tests/unit/hosts.py importable; the collection itself is imported through
# PYTHONPATH=.cache/collections (set by the Makefile).
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
