# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/monitoring.md against what it documents (issue 23): the alert rules
(prometheus/nfct-conntrack.rules.yml, both groups) and the families the metrics writer can write
(plugins/module_utils/metrics/exposition.py). Read with yaml and regular expressions, nothing run:

- every alert has a `### <AlertName>` section under a `## Alert rules...` heading, and every
  `###` heading there is an alert;
- each alert's section shows its expression as in the rules file (whitespace aside), every number
  of that expression (its thresholds: 0.75, 0.95, 0.5, 600, 4 * 3600...), its `for:` and its
  severity;
- every anchor a rule's annotation points at in monitoring.md (runbook, description...) and every
  in-page link of the page is a heading of the page (GitHub's anchors);
- every nfct_conntrack_* family of the exposition is in the "Metric families" table, and the page
  names no nfct_conntrack_* family that does not exist."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible_collections.nfct.tuning.plugins.module_utils.metrics import exposition

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, 'docs', 'monitoring.md')
RULES = os.path.join(ROOT, 'prometheus', 'nfct-conntrack.rules.yml')

HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
FENCE = re.compile(r'^\s*(```|~~~)')
# a number in PromQL that is not part of a name: 0.75, 600, 4 (of 4 * 3600)
NUMBER = re.compile(r'(?<![\w.])\d+(?:\.\d+)?(?![\w.])')
FAMILY = re.compile(r'nfct_conntrack_[a-z0-9_]+')
DOC_ANCHOR = re.compile(r'monitoring\.md#([A-Za-z0-9_-]+)')
IN_PAGE_LINK = re.compile(r'\]\(#([^)\s]+)\)')


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def rules():
    """[(group name, rule)] of the alerting rules."""
    doc = yaml.safe_load(read(RULES))
    return [(group['name'], rule) for group in doc['groups'] for rule in group['rules'] if 'alert' in rule]


def sections(text):
    """[(level, title, body)] of every heading outside code blocks; body: the text up to the next
    heading of the same or a higher level."""
    lines = text.split('\n')
    heads, fenced = [], False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            heads.append((i, len(m.group(1)), m.group(2)))
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _t in heads[n + 1:] if lv <= level), len(lines))
        out.append((level, title, '\n'.join(lines[i + 1:end])))
    return out


def anchor(title):
    """GitHub's anchor of a heading: lower case, punctuation dropped (not '-' or '_'), spaces to '-'."""
    return re.sub(r'[^\w\- ]', '', title.strip().lower()).replace(' ', '-')


def anchors(text):
    """Every anchor of the page, with GitHub's -1, -2... for repeated headings."""
    seen, out = {}, set()
    for _level, title, _body in sections(text):
        base = anchor(title)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else '%s-%d' % (base, n))
    return out


def alert_sections(text):
    """{title: body} of the ### headings under the `## Alert rules...` headings."""
    out, inside = {}, False
    for level, title, body in sections(text):
        if level <= 2:
            inside = level == 2 and title.startswith('Alert rules')
        elif level == 3 and inside:
            assert title not in out, 'two sections "### %s" in docs/monitoring.md' % title
            out[title] = body
    return out


def squash(text):
    return ' '.join(text.split())


def numbers(expr):
    """The numbers of a PromQL expression, outside range selectors ([5m]), label matchers and strings."""
    bare = re.sub(r'\[[^\]]*\]|\{[^}]*\}|"[^"]*"', ' ', expr)
    return set(NUMBER.findall(bare))


def code_blocks(body):
    return re.findall(r'^\s*```[^\n]*\n(.*?)^\s*```', body, re.S | re.M)


TEXT = read(DOC)
RULES_LIST = rules()
ALERTS = dict((rule['alert'], rule) for _group, rule in RULES_LIST)
SECTIONS = alert_sections(TEXT)


def test_the_rules_and_the_page_are_read():
    groups = set(group for group, _rule in RULES_LIST)
    assert groups == {'nfct-conntrack', 'nfct-conntrack-node-exporter'}
    assert len(ALERTS) == len(RULES_LIST), 'an alert name is used twice in the rules'
    assert SECTIONS, 'no ### section under a "## Alert rules" heading in docs/monitoring.md'


def test_every_alert_has_its_section_and_every_section_is_an_alert():
    missing = sorted(set(ALERTS) - set(SECTIONS))
    extra = sorted(set(SECTIONS) - set(ALERTS))
    assert not missing, 'alerts without a "### NAME" section in docs/monitoring.md: %s' % missing
    assert not extra, 'sections under "## Alert rules" that are no alert of the rules file: %s' % extra


@pytest.mark.parametrize('name', sorted(ALERTS))
def test_the_section_states_the_expression_thresholds_for_and_severity(name):
    rule, body = ALERTS[name], SECTIONS.get(name)
    if body is None:
        pytest.fail('no "### %s" section in docs/monitoring.md' % name)
    expr = str(rule['expr'])
    found = numbers(expr)
    assert found, 'no threshold found in the expression of %s: %r' % (name, expr)
    for number in sorted(found):
        assert re.search(r'(?<![\w.])%s(?!\w|\.\d)' % re.escape(number), body), \
            '%s: the number %s of its expression is not in its section of docs/monitoring.md' % (name, number)
    assert any(squash(expr) in squash(block) for block in code_blocks(body)), \
        '%s: its section has no code block with the expression of the rules file:\n%s' % (name, expr)
    if 'for' in rule:
        assert re.search(r'`for: %s`' % re.escape(str(rule['for'])), body), \
            '%s: its section does not say `for: %s`' % (name, rule['for'])
    severity = (rule.get('labels') or {}).get('severity')
    if severity:
        assert 'severity %s' % severity in body, '%s: its section does not say "severity %s"' % (name, severity)


def test_every_anchor_the_rules_point_at_exists():
    heads = anchors(TEXT)
    pointed = set()
    for _group, rule in RULES_LIST:
        for key, value in sorted((rule.get('annotations') or {}).items()):
            for target in DOC_ANCHOR.findall(str(value)):
                pointed.add(target)
                assert target.lower() == target and target in heads, \
                    '%s: annotation %s points at monitoring.md#%s, which is no heading of the page' \
                    % (rule['alert'], key, target)
    # they do point at the page today; if they stop, this test has nothing left to check
    assert pointed


def test_every_in_page_link_resolves():
    heads = anchors(TEXT)
    broken = sorted(set(IN_PAGE_LINK.findall(TEXT)) - heads)
    assert not broken, 'links to anchors that docs/monitoring.md does not have: %s' % broken


def test_every_family_is_in_the_table_and_none_other_is_named():
    families = set(exposition.PREFIX + name for name, _type, _help in exposition.FAMILIES)
    table = [body for level, title, body in sections(TEXT) if level == 2 and title == 'Metric families']
    assert table, 'no "## Metric families" section in docs/monitoring.md'
    rows = set(re.findall(r'^\|\s*`(nfct_conntrack_[a-z0-9_]+)`', table[0], re.M))
    assert not sorted(families - rows), \
        'families the exposition writes without a row in "Metric families": %s' % sorted(families - rows)
    unknown = sorted(set(FAMILY.findall(TEXT)) - families)
    assert not unknown, 'docs/monitoring.md names families the exposition does not have: %s' % unknown
