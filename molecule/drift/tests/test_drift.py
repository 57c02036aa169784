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

# the kinds of drift of each key (docs/audit.md); every other key is in sync
EXPECTED_KEYS = {
    "tcp_timeout_time_wait": ["runtime"],  # a sysctl -w: our file still gives the desired value at boot
    # our file edited: the live value is right, the next boot loses it (unpersisted, docs/audit.md)
    "udp_timeout": ["unpersisted"],
    "tcp_timeout_fin_wait": ["unpersisted", "shadowed"],  # 99-local.conf is read after ours
}


def ansible_playbook(playbook, report, *extra):
    """report: the JSON path; the JUnit and HTML reports go next to it (never into the checkout)."""
    cmd = ["ansible-playbook", "-i", INVENTORY, playbook, *DESIRED,
           "-e", f"conntrack_audit_report_path={report}",
           "-e", f"conntrack_audit_junit_path={report.with_suffix('.junit.xml')}",
           "-e", f"conntrack_audit_html_path={report.with_suffix('.html')}", *extra]
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
    name = host.backend.name
    # (the YAML callback of this scenario folds long lines: the counts are checked in the JSON)
    assert "conntrack audit: 1 host - " in run.output and f"fatal: [{name}]" in run.output
    data = json.loads(report.read_text())
    assert data["counts"] == {"hosts": 1, "checked": 1, "in_sync": 0, "drifted": 1, "unreachable": 0, "failed": 0,
                              "failing": 1, "unhealthy": 0}
    assert data["schema_version"] == 2 and data["failed"] is True
    assert data["failing_hosts"] == [name]
    h = data["hosts"][name]
    assert h["status"] == "drifted" and h["fails_run"] is True
    assert {k: v["kinds"] for k, v in h["keys"].items() if v["kinds"]} == EXPECTED_KEYS
    assert h["keys"]["tcp_timeout_fin_wait"]["shadowed_by"] == ["/etc/sysctl.d/99-local.conf"]
    assert h["keys"]["tcp_timeout_fin_wait"]["at_boot"] == 120
    assert h["keys"]["udp_timeout"]["persisted"] == 46
    assert h["keys"]["udp_timeout"]["runtime"] == 45
    assert h["keys"]["tcp_timeout_time_wait"]["runtime"] == 99
    assert h["files"] == [{"path": "/etc/modprobe.d/nfct-tuning.conf", "change": "update"}]
    assert h["keys"]["max"]["readonly"] and h["keys"]["buckets"]["readonly"]
    assert h["keys"]["max"]["kinds"] == [] and h["keys"]["buckets"]["kinds"] == []
    assert h["notrack"]["drifted"] is True
    assert h["notrack"]["report"]["backend"] == "nftables"
    assert any("5353" in rule for rule in h["notrack"]["report"]["ruleset"]["missing"])
    assert h["notrack"]["report"]["ruleset"]["extra"] == []
    assert any("NOTRACK: DRIFT" in line for line in h["lines"])
    # at_boot also at the host level (the files tune would update: h["files"])
    assert sorted(h["failing_kinds"]) == ["at_boot", "notrack", "runtime", "shadowed", "unpersisted"]
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
    assert data["failed"] is False
    h = data["hosts"][host.backend.name]
    assert h["status"] == "in_sync", h["lines"]
    assert [k for k, v in h["keys"].items() if v["kinds"]] == []
    assert h["notrack"]["drifted"] is False
    assert "nfct_notrack" in host.check_output("nft list tables")
