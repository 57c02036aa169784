# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests every scenario runs (verifier additional_files_or_dirs): the test platform itself.

A container is a test host for conntrack tuning only if systemd runs as PID 1 and the
container has its own network namespace, where the timeouts are writable and the global keys
(nf_conntrack_max, buckets) are read-only, as the kernel shows them outside the initial netns.
"""

NETFILTER = "/proc/sys/net/netfilter"


def test_systemd_is_running(host):
    assert host.check_output("systemctl is-system-running") == "running", \
        host.check_output("systemctl --failed --no-legend --plain")
    assert host.check_output("readlink /proc/1/exe").endswith("/systemd")


def test_own_network_namespace(host):
    # network none: loopback only.
    links = host.check_output("ip -o link show").splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]


def test_global_conntrack_keys_read_only(host):
    for key in ("nf_conntrack_max", "nf_conntrack_buckets"):
        assert host.file(f"{NETFILTER}/{key}").mode == 0o444
        cmd = host.run(f"echo 1 > {NETFILTER}/{key}")
        assert cmd.rc != 0, f"{key} is writable in the container"
    # nf_conntrack_buckets follows hashsize: writing it must fail in a container.
    assert host.run("cat /sys/module/nf_conntrack/parameters/hashsize > /sys/module/nf_conntrack/parameters/hashsize").rc != 0


def test_systemd_raises_no_host_file_limits(host):
    # PID 1 raises fs.file-max and fs.nr_open at boot: masked (see molecule/README.md).
    assert host.file("/proc/sys/fs/file-max").content_string == ""
    assert host.file("/proc/sys/fs/nr_open").content_string == ""
