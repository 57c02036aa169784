#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/build-image.sh [--force] SUITE...
#
# Build the Molecule base image localhost/nfct-debian:SUITE (SUITE: bullseye, bookworm, trixie)
# with systemd as init, from a debootstrap of Debian's default mirror: no container registry is
# needed. Several suites are built in parallel (debootstrap mostly waits on the network and the
# disk), each logging to .cache/images/SUITE.log; downloaded packages stay in .cache/images/debs-SUITE.
#
# Cached: an image is rebuilt only when it is missing, when its label nfct.build-hash differs
# from the hash of this script (edit the script and every image is rebuilt), or with --force
# (or FORCE=1). Debian point releases alone do not trigger a rebuild: use --force for that.
#
# The image is made for containers with their own network namespace (`--network none`),
# NET_ADMIN and a writable /proc/sys (`--security-opt unmask=/proc/sys`), see molecule/README.md:
#  - systemd-sysctl.service (ConditionPathIsReadWrite=/proc/sys) then applies /etc/sysctl.d at
#    every boot of the container, as on a real host;
#  - the sysctl.d files packages ship in /usr/lib are masked, so that booting the image applies
#    only what a test puts into /etc/sysctl.d: they set host-global keys only (kernel.pid_max,
#    fs.protected_*), which such a container would otherwise change on the host;
#  - units that make no sense in a container (udev, gettys, timers that run apt) are masked.
set -euo pipefail

SUITES_KNOWN=(bullseye bookworm trixie)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
IMAGE_REPO=${IMAGE_REPO:-localhost/nfct-debian}
# sudo: the playbooks become root (become: true), as on the hosts users run them against
PACKAGES=python3,iproute2,iptables,nftables,procps,kmod,conntrack,systemd,systemd-sysv,dbus,netfilter-persistent,iptables-persistent,sudo
# node_exporter and curl for the metrics tests (tests/containers/test_metrics_containers.py: the
# containers cannot apt-get); its service is masked below and started by the tests that need it.
PACKAGES+=,prometheus-node-exporter,curl
# Units masked in the image: no devices to manage, no consoles, no periodic jobs during tests.
MASKED_UNITS=(
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
    systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
    getty@.service serial-getty@.service console-getty.service container-getty@.service
    getty-static.service getty.target
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    e2scrub_all.timer e2scrub_reap.service fstrim.timer
    dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-kernel-config.mount sys-fs-fuse-connections.mount
    systemd-firstboot.service systemd-journald-audit.socket
    prometheus-node-exporter.service
)

script=$(readlink -f "$0")
root_dir=$(cd "$(dirname "$script")/.." && pwd)
cache_dir=${IMAGE_CACHE:-$root_dir/.cache/images}
build_hash=$(sha256sum "$script" | cut -c1-16)

usage() {
    echo "usage: $0 [--force] SUITE... (SUITE: ${SUITES_KNOWN[*]})" >&2
    exit 2
}

# Remove a build folder, unmounting first whatever debootstrap left mounted in it (/proc,
# /sys in the target when a build is interrupted).
cleanup() {
    local dir=$1 mnt
    [[ -d $dir ]] || return 0
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$dir"
}

log() {
    printf '[%s] %s\n' "$1" "$2"
}

image_hash() {
    podman image inspect --format '{{ index .Labels "nfct.build-hash" }}' "$1" 2>/dev/null || true
}

# Mask UNIT in ROOT (a template such as getty@.service masks all of its instances).
mask_unit() {
    ln -sfn /dev/null "$1/etc/systemd/system/$2"
}

# Build one suite; runs in the background when several are asked for.
build_suite() {
    local suite=$1 image="$IMAGE_REPO:$1" work root start
    start=$SECONDS
    work=$(mktemp -d "$cache_dir/rootfs-$suite.XXXXXX")
    # Always remove the rootfs, also when the build fails or is interrupted.
    # shellcheck disable=SC2064 # expand $work now: it is local to this function
    trap "cleanup '$work'" EXIT
    trap 'exit 143' TERM
    root=$work/root

    log "$suite" "debootstrap --variant=minbase $suite from $MIRROR"
    # Downloaded .debs are kept per suite for the next rebuild (debootstrap checks them against
    # the mirror's index and fetches what changed).
    mkdir -p "$cache_dir/debs-$suite"
    debootstrap --variant=minbase --cache-dir="$cache_dir/debs-$suite" --include="$PACKAGES" \
        "$suite" "$root" "$MIRROR"

    log "$suite" "configure the rootfs for systemd in a container"
    local unit
    for unit in "${MASKED_UNITS[@]}"; do
        mask_unit "$root" "$unit"
    done
    # Mask the sysctl.d files packages ship in /usr/lib (an /etc/sysctl.d entry linked to
    # /dev/null hides the file of the same name there): they set host-global keys only
    # (kernel.pid_max, fs.protected_*). /etc/sysctl.conf (all comments) stays as it is.
    local conf
    for conf in "$root"/usr/lib/sysctl.d/*.conf "$root"/lib/sysctl.d/*.conf; do
        [[ -e $conf || -L $conf ]] || continue
        ln -sfn /dev/null "$root/etc/sysctl.d/$(basename "$conf")"
    done
    # No network in the containers: apt's lists and package cache are dead weight.
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
    # An empty machine-id: systemd makes a transient one at each boot of each container.
    : > "$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"

    log "$suite" "podman import $image"
    local old_id
    old_id=$(podman image inspect --format '{{ .Id }}' "$image" 2>/dev/null || true)
    # /dev, /proc and /sys are set up by the container runtime.
    tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
        podman import --quiet \
            --change 'CMD ["/sbin/init"]' \
            --change 'STOPSIGNAL SIGRTMIN+3' \
            --change "LABEL nfct.build-hash=$build_hash" \
            --change "LABEL nfct.suite=$suite" \
            --message "scripts/build-image.sh $suite ($build_hash)" \
            - "$image" >/dev/null
    # The image this one replaces would stay behind untagged: remove it (unless a container uses it).
    if [[ -n $old_id && $old_id != "$(podman image inspect --format '{{ .Id }}' "$image")" ]]; then
        podman rmi "$old_id" >/dev/null 2>&1 || log "$suite" "kept the previous image $old_id (in use)"
    fi
    log "$suite" "built $image in $((SECONDS - start)) s ($(podman image inspect --format '{{ .Size }}' "$image" | numfmt --to=iec))"
}

# Let the EXIT trap remove the rootfs on Ctrl-C and kill as well.
trap 'exit 130' INT
trap 'exit 143' TERM

force=${FORCE:-0}
suites=()
for arg in "$@"; do
    case $arg in
        --force) force=1 ;;
        -h | --help) usage ;;
        bullseye | bookworm | trixie) suites+=("$arg") ;;
        *) echo "unknown suite or option: $arg" >&2; usage ;;
    esac
done
[[ ${#suites[@]} -gt 0 ]] || usage
if [[ $(id -u) != 0 ]]; then
    echo "$0: debootstrap needs root" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "$0: debootstrap is not installed (make apt)" >&2; exit 1; }

mkdir -p "$cache_dir"
todo=()
for suite in "${suites[@]}"; do
    have=$(image_hash "$IMAGE_REPO:$suite")
    if [[ $force != 1 && $have == "$build_hash" ]]; then
        log "$suite" "$IMAGE_REPO:$suite is up to date (nfct.build-hash $build_hash)"
    else
        log "$suite" "building $IMAGE_REPO:$suite (image hash '${have:-none}', script hash $build_hash)"
        todo+=("$suite")
    fi
done
[[ ${#todo[@]} -gt 0 ]] || exit 0

if [[ ${#todo[@]} == 1 ]]; then
    build_suite "${todo[0]}"
    exit 0
fi

# Several suites: one background build each, then report every failure with its log's tail.
declare -A pids=()
# Each build in its own process group, so that an interrupt stops all of it (debootstrap
# included) and still lets each build remove its rootfs.
set -m
stop_builds() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    wait
    exit 130
}
trap stop_builds INT TERM
for suite in "${todo[@]}"; do
    (build_suite "$suite") > "$cache_dir/$suite.log" 2>&1 &
    pids[$suite]=$!
done
failed=()
for suite in "${todo[@]}"; do
    if wait "${pids[$suite]}"; then
        tail -n 1 "$cache_dir/$suite.log"
    else
        failed+=("$suite")
        echo "[$suite] FAILED, last lines of $cache_dir/$suite.log:" >&2
        tail -n 20 "$cache_dir/$suite.log" >&2
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "$0: failed: ${failed[*]}" >&2
    exit 1
fi
