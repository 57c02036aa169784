# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify of the drift scenario, in order: the audit in --check --diff reports exactly the drift
side_effect.yml injected, exits non-zero and changes nothing; a converge repairs it; the audit is
then clean."""

import json
import os
import subprocess

import pytest

ROOT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE")
SCENARIO = os.path.join(ROOT, "molecule", "drift")
# the same desired state as converge.yml
DESIRED = ["-e", "conntrack_profile=web", "-e", '{"conntrack_overrides": {"udp_timeout": 45}}',
           "-e", "conntrack_module_layers=always",
           "-e", '{"conntrack_notrack": [{"protocol": "udp", "port": 5353, "direction": "inbound"}]}']
SNAPSHOT = ("cat /etc/sysctl.d/*.conf /etc/modprobe.d/*.conf /etc/modules-load.d/*.conf 2>/dev/null; "
            "grep -H . /proc/sys/net/netfilter/nf_conntrack_*timeout* /proc/sys/net/netfilter/nf_conntrack_max; "
            "nft list ruleset; cat /etc/nftables.conf /etc/nftables.d/*.nft 2>/dev/null")

EXPECTED_KEYS = {
    "tcp_timeout_time_wait": ["runtime"],
    "udp_timeout": ["persisted", "at_boot"],
    "tcp_timeout_fin_wait": ["at_boot", "shadowed"],
}


def ansible_playbook(playbook, report, *extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, playbook, *DESIRED,
           "-e", f"conntrack_audit_report_path={report}", *extra]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    run.output = run.stdout + run.stderr
    return run


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audit")


def test_audit_reports_exactly_the_injected_drift(host, report_dir):
    before = host.check_output(SNAPSHOT)
    report = report_dir / "before.json"
    run = ansible_playbook(os.path.join(ROOT, "playbooks", "audit.yml"), report, "--check", "--diff")
    assert run.returncode != 0, run.output[-3000:]
    assert "conntrack drift on " + host.backend.name in run.output
    data = json.loads(report.read_text())
    assert data["drifted"] is True
    name = host.backend.name
    h = data["hosts"][name]
    assert h["drifted"] is True
    assert {k: v["kinds"] for k, v in h["keys"].items()} == EXPECTED_KEYS
    assert h["keys"]["tcp_timeout_fin_wait"]["shadowed_by"] == ["/etc/sysctl.d/99-local.conf"]
    assert h["keys"]["udp_timeout"]["persisted"] == 46
    assert h["keys"]["tcp_timeout_time_wait"]["runtime"] == 99
    assert h["files"] == ["/etc/modprobe.d/nfct-tuning.conf"]
    assert set(h["readonly"]) >= {"max", "buckets"}
    assert h["notrack"]["drifted"] is True
    assert h["notrack"]["backend"] == "nftables"
    assert any("5353" in rule for rule in h["notrack"]["ruleset"]["missing"])
    assert h["notrack"]["ruleset"]["extra"] == []
    assert any("NOTRACK: DRIFT" in line for line in data["lines"])
    # check mode changed nothing in the container
    assert host.check_output(SNAPSHOT) == before


def test_converge_repairs_and_audit_is_clean(host, report_dir):
    run = ansible_playbook(os.path.join(SCENARIO, "converge.yml"), report_dir / "unused.json")
    assert run.returncode == 0, run.output[-3000:]
    # our file and runtime are repaired; the other tool's 99-local.conf is not ours to touch,
    # so the shadowing stays: remove it as its owner would, then the audit must be clean
    assert host.file("/etc/sysctl.d/99-local.conf").exists
    host.run_expect([0], "rm /etc/sysctl.d/99-local.conf")
    report = report_dir / "after.json"
    run = ansible_playbook(os.path.join(ROOT, "playbooks", "audit.yml"), report, "--check", "--diff")
    assert run.returncode == 0, run.output[-3000:]
    data = json.loads(report.read_text())
    assert data["drifted"] is False
    assert data["hosts"][host.backend.name]["keys"] == {}
    assert data["hosts"][host.backend.name]["notrack"]["drifted"] is False
    assert "nfct_notrack" in host.check_output("nft list tables")
