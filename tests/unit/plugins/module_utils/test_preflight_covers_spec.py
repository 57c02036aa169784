# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight (roles/conntrack_preflight: sizing/args.py check_role_variables) refuses every
value Ansible's own check of the role's argument specs refuses, for every variable of every entry
point. This is why playbooks/audit.yml imports the role's audit entry point with
`rolespec_validate: false`: the preflight, which runs first, has already made the same check in the
role's words, and Ansible's second check would cost one more task per host (docs/fleet.md, "Where
the time goes")."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nfct.tuning.plugins.module_utils.sizing import args as _args

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
with open(os.path.join(REPO, 'roles', 'conntrack', 'meta', 'argument_specs.yml')) as _f:
    ENTRY_POINTS = yaml.safe_load(_f)['argument_specs']
SPEC = {}
for _entry in ENTRY_POINTS.values():
    SPEC.update(_entry['options'])
NAMES = sorted(SPEC)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(['yes', 'no', 'true', 'on', '1', '0', '1.5', '', 'a,b']))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def ansible_refuses(entry, name, value):
    options = dict((n, dict((k, v) for k, v in o.items() if k in ('type', 'elements', 'choices', 'options')))
                   for n, o in ENTRY_POINTS[entry]['options'].items())
    try:
        return bool(ArgumentSpecValidator(options).validate({name: value}).error_messages)
    except (OverflowError, ValueError):   # Ansible's own check crashes (int(inf)): the role would not run
        return True


def preflight_refuses(name, value):
    return bool(_args.check_role_variables(SPEC, {name: value}, [name]))


@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_what_ansible_refuses_the_preflight_refuses(entry, data):
    name = data.draw(st.sampled_from(sorted(ENTRY_POINTS[entry]['options'])))
    choices = SPEC[name].get('choices')
    value = data.draw(st.one_of(values, st.sampled_from(choices)) if choices else values)
    if value is None:
        return  # unset: nothing to check
    if ansible_refuses(entry, name, value):
        assert preflight_refuses(name, value), (entry, name, SPEC[name].get('type'), value)


# values where ansible-core's releases differ (2.17 refuses every float for an int, 2.19 takes 1.0)
# or that are easy to miss, tried on every variable: the property above with its examples fixed
TRICKY = [0.0, 1.0, 1.5, -3.0, '1.0', '1.5', ' 7', '7 ', '', 'x', 'yes', 'off', True, False, [], ['a'], [1], [{}],
          {}, {'a': 1}, 'a,b', 10 ** 20, float('inf'), 'inf', 'nan']


@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
def test_tricky_values_on_every_variable(entry):
    missed = [(name, value) for name in sorted(ENTRY_POINTS[entry]['options']) for value in TRICKY
              if ansible_refuses(entry, name, value) and not preflight_refuses(name, value)]
    assert missed == []
