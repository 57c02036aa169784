# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify of the default scenario: the role with the web profile in a container.

The sysctl.d file holds exactly the per-netns keys of the profile (global keys are left out:
they cannot apply in a container), the live values equal them, the global keys were reported
and not changed, and a restart of the container (a new boot, a new netns with kernel defaults)
applies them again through systemd-sysctl.
"""

NETFILTER = "/proc/sys/net/netfilter"
CONF = "/etc/sysctl.d/90-conntrack.conf"
# web profile (plugins/module_utils/sizing/profiles.py) + the udp_timeout override of converge.yml
EXPECTED = {
    "tcp_timeout_established": 86400,
    "tcp_timeout_fin_wait": 60,
    "tcp_timeout_syn_recv": 30,
    "tcp_timeout_time_wait": 60,
    "udp_timeout": 45,
}


def live(host, short):
    return int(host.file(f"{NETFILTER}/nf_conntrack_{short}").content_string)


def test_sysctl_file_exactly_the_profile(host):
    conf = host.file(CONF)
    assert conf.is_file and conf.mode == 0o644 and conf.user == "root"
    lines = conf.content_string.splitlines()
    assert lines[0].startswith("# Managed by nfct.tuning")
    keys = [line for line in lines if not line.startswith("#")]
    assert keys == [f"net.netfilter.nf_conntrack_{k} = {v}" for k, v in sorted(EXPECTED.items())]


def test_live_per_netns_timeouts(host):
    for short, value in EXPECTED.items():
        assert live(host, short) == value, short


def test_no_module_layers_for_a_builtin_kernel(host):
    # nf_conntrack is built into our machines' kernel: no modprobe.d / modules-load.d files
    assert not host.file("/etc/modprobe.d/nfct-tuning.conf").exists
    assert not host.file("/etc/modules-load.d/nfct-tuning.conf").exists


def test_global_keys_untouched_and_left_out(host):
    # converge passed (readonly: report): the global keys were reported, not failed; they are
    # still the host's values and not in the file
    assert "nf_conntrack_max" not in host.file(CONF).content_string
    assert host.file(f"{NETFILTER}/nf_conntrack_max").mode == 0o444


def test_restart_reapplies_at_boot(host, restart_container):
    host.run_expect([0], f"echo 99 > {NETFILTER}/nf_conntrack_tcp_timeout_time_wait")
    assert live(host, "tcp_timeout_time_wait") == 99
    assert restart_container() == "running"
    # a new netns starts from kernel defaults: these values came from sysctl.d at boot
    for short, value in EXPECTED.items():
        assert live(host, short) == value, short
