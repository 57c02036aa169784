# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the testinfra tests of every Molecule scenario.

The scenarios run testinfra with its podman backend (``connection: podman`` in molecule.yml),
so ``host.backend.name`` is the container's name. A scenario's verifier loads this file through
``confcutdir: ../..`` in its molecule.yml.
"""

import os
import subprocess
import time

import pytest
import yaml

PODMAN = os.environ.get("MOLECULE_PODMAN_EXECUTABLE", "podman")
BOOTED = ("running", "degraded")


def pytest_configure(config):
    """Without --hosts, test every podman instance in Molecule's inventory for this run.

    The inventory lists the scenario's platforms (or the one --platform-name picks), so the
    scenario's molecule.yml does not repeat the names.
    """
    if config.getoption("connection", None) != "podman" or config.getoption("hosts", None):
        return
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory or not os.path.isfile(inventory):
        raise pytest.UsageError("--connection podman without --hosts needs MOLECULE_INVENTORY_FILE (run through molecule verify)")
    with open(inventory, encoding="utf-8") as stream:
        data = yaml.safe_load(stream) or {}
    hosts = [
        name for name, hostvars in ((data.get("all") or {}).get("hosts") or {}).items()
        if (hostvars or {}).get("ansible_connection") == "podman"
    ]
    if not hosts:
        raise pytest.UsageError(f"no podman instance in {inventory}")
    config.option.hosts = ",".join(hosts)


def podman(*args):
    """Run podman with ARGS and return its stdout (raises on failure)."""
    proc = subprocess.run([PODMAN, *args], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise AssertionError(f"podman {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def wait_for_systemd(name, timeout=60.0):
    """Wait until systemd in container NAME has booted; return its state (running or degraded)."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        # Right after a (re)start the bus is not up yet and this fails at once: try again.
        proc = subprocess.run(
            [PODMAN, "exec", name, "systemctl", "is-system-running", "--wait"],
            capture_output=True, text=True, check=False,
        )
        state = proc.stdout.strip() or proc.stderr.strip()
        if state in BOOTED:
            return state
        time.sleep(0.5)
    raise AssertionError(f"systemd in {name} did not boot within {timeout} s: {state}")


@pytest.fixture
def restart_container(host):
    """Return a function that restarts the test host's container and waits for systemd.

    A restart is a new boot in a new network namespace (kernel defaults again): PID 1 starts
    again and systemd-sysctl applies /etc/sysctl.d, as at a host's reboot.
    """
    def restart(timeout=60.0):
        name = host.backend.name
        podman("restart", name)
        return wait_for_systemd(name, timeout)
    return restart
