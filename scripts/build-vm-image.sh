#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/build-vm-image.sh [--force]    build the image unless it is cached (root)
#        scripts/build-vm-image.sh --path       print the image folder of this script's hash
#
# Build the disk image of the Molecule scenario `vm` (docs/vm.md): Debian 12 (bookworm) with
# Debian's own kernel (linux-image-amd64, where nf_conntrack is a loadable module), an
# initramfs, systemd, udev, sshd and python3, from a debootstrap of Debian's default mirror:
# nothing is downloaded from anywhere else. Output, in $VM_CACHE/bookworm-HASH/ (VM_CACHE defaults
# to ${XDG_CACHE_HOME:-~/.cache}/nfct-tuning/vm: outside the clone, like podman's image store, so
# every clone of the repository, CI's included, reuses one image):
#   disk.raw     3 GiB raw ext4 file system (the root, /dev/vda in the VM; no partition table)
#   vmlinuz      the kernel and
#   initrd.img   its initramfs, passed to qemu with -kernel / -initrd (no boot loader)
#   image.env    KERNEL_RELEASE=..., BUILD_HASH=..., BUILT=...
#
# Cached: HASH is the hash of this script's code (comment lines left out) and of the scenario's
# test units and rulesets it copies in (molecule/vm/files/nfct-test-*), so editing either builds a
# new image; an image folder of another hash is removed after a successful build.
# --force (or FORCE=1) rebuilds anyway, e.g. for a Debian point release. The .deb files
# debootstrap downloads are kept in $VM_CACHE/debs, so a rebuild reads Debian's archive only for
# what changed.
#
# The VM's ssh key is not in the image: each run generates its own pair, and the public key
# reaches the VM on the kernel command line (nfct.ssh_key=BASE64), where the unit
# nfct-ssh-key.service writes it to /root/.ssh/authorized_keys at every boot (scripts/vm.sh).
# Nothing in the image loads nf_conntrack: the scenario starts from a kernel where it is a
# module that is not loaded. The scenario's test units (nfct-test-early/late.service, each loading
# a ct state rule from /etc/nfct-test, at the two ends of the boot) are in the image, disabled:
# the scenario enables them, not copies them (two module runs less per run, under emulation).
#
# Boot time under emulation (TCG) is what the scenario pays at each of its reboots: the
# initramfs holds only what mounts the root (MODULES=list: virtio_pci, virtio_blk, ext4; 6.5 MB
# instead of 36, ~1.5 s less to unpack), the network is configured statically for qemu's user
# network by one ip(8) call (no systemd-networkd, no DHCP round), and the units that wait for what
# never comes are masked.
set -euo pipefail

SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
DISK_SIZE=3G
# sudo: the playbooks become root (become: true)
PACKAGES=linux-image-amd64,initramfs-tools,systemd,systemd-sysv,udev,dbus,kmod,openssh-server,python3,nftables,iptables,conntrack,procps,iproute2,sudo
# Units that only slow the boot down under emulation or wait for things that never come.
MASKED_UNITS=(
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    e2scrub_all.timer e2scrub_reap.service fstrim.timer
    systemd-networkd-wait-online.service systemd-firstboot.service
    getty@tty1.service
)

script=$(readlink -f "$0")
test_files=$(cd "$(dirname "$script")/../molecule/vm/files" && pwd)
TEST_UNITS=(nfct-test-early.service nfct-test-late.service)
TEST_RULESETS=(nfct-test-early.nft nfct-test-late.nft)
cache_dir=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nfct-tuning/vm}
# the hash of the script without its comment lines (editing a comment does not rebuild) and of
# the test files it copies in
build_hash=$( { grep -v '^[[:space:]]*#' "$script"; cd "$test_files" && cat "${TEST_UNITS[@]}" "${TEST_RULESETS[@]}"; } \
    | sha256sum | cut -c1-16)
image_dir=$cache_dir/$SUITE-$build_hash

usage() {
    echo "usage: $0 [--force | --path]" >&2
    exit 2
}

log() {
    printf '[vm-image] %s\n' "$*"
}

# Remove a build folder, unmounting first whatever debootstrap left mounted in it (/proc,
# /sys in the target when a build is interrupted).
cleanup() {
    local dir=$1 mnt
    [[ -n $dir && -d $dir ]] || return 0
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$dir"
}

write() {
    # write FILE (content on stdin), creating its folder
    mkdir -p "$(dirname "$1")"
    cat > "$1"
}

configure_rootfs() {
    local root=$1 unit
    echo nfct-vm > "$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tnfct-vm\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
        > "$root/etc/hosts"
    printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n' > "$root/etc/fstab"
    # A fixed machine-id: no first-boot logic (the VM runs one at a time, from a fresh overlay).
    tr -d '-' < /proc/sys/kernel/random/uuid > "$root/etc/machine-id"

    # Network: qemu's user network (slirp) always gives the guest 10.0.2.15/24, the gateway
    # 10.0.2.2 and the DNS relay 10.0.2.3: one oneshot unit configures that with ip(8) before
    # network.target (systemd-networkd alone took 2.6 s of every boot under emulation, on the way
    # to sshd). The card keeps the kernel's name eth0 (the naming policy of udev is masked: a
    # rename while the unit configures it would race).
    ln -sfn /dev/null "$root/etc/systemd/network/99-default.link"
    write "$root/usr/local/sbin/nfct-vm-net" <<'EOF'
#!/bin/sh
# The VM's network on qemu's user network (scripts/build-vm-image.sh).
set -eu
i=0
until [ -e /sys/class/net/eth0 ]; do  # udev loads virtio_net: wait up to 30 s for the card
    i=$((i + 1))
    [ "$i" -le 300 ] || { echo "no eth0" >&2; exit 1; }
    sleep 0.1
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
printf 'nameserver 10.0.2.3\n' > /etc/resolv.conf
EOF
    chmod 0755 "$root/usr/local/sbin/nfct-vm-net"
    write "$root/etc/systemd/system/nfct-vm-net.service" <<'EOF'
[Unit]
Description=The VM's network on qemu's user network (10.0.2.15/24 via 10.0.2.2)
After=systemd-udev-trigger.service systemd-udev-settle.service
Wants=network.target
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/nfct-vm-net

[Install]
WantedBy=multi-user.target
EOF
    chroot "$root" systemctl enable --quiet nfct-vm-net.service

    # sshd: keys only. The host keys made by openssh-server's postinst are shared by every VM
    # from this image (clients use UserKnownHostsFile=/dev/null).
    write "$root/etc/ssh/sshd_config.d/nfct-vm.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
    # The run's public key, from the kernel command line, at every boot.
    write "$root/usr/local/sbin/nfct-ssh-key" <<'EOF'
#!/bin/sh
# Install the public key given as nfct.ssh_key=BASE64 on the kernel command line (scripts/vm.sh).
set -eu
for arg in $(cat /proc/cmdline); do
    case $arg in
        nfct.ssh_key=*)
            umask 077
            mkdir -p /root/.ssh
            printf '%s' "${arg#nfct.ssh_key=}" | base64 -d > /root/.ssh/authorized_keys
            ;;
    esac
done
EOF
    chmod 0755 "$root/usr/local/sbin/nfct-ssh-key"
    write "$root/etc/systemd/system/nfct-ssh-key.service" <<'EOF'
[Unit]
Description=Install the ssh key of this test run (nfct.ssh_key= on the kernel command line)
After=local-fs.target
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nfct-ssh-key

[Install]
WantedBy=multi-user.target
EOF
    chroot "$root" systemctl enable --quiet nfct-ssh-key.service ssh.service

    for unit in "${MASKED_UNITS[@]}"; do
        ln -sfn /dev/null "$root/etc/systemd/system/$unit"
    done
    # Nothing may load nf_conntrack at boot: the scenario needs a module that is not loaded.
    chroot "$root" systemctl disable --quiet nftables.service 2>/dev/null || true
    if grep -rqs nf_conntrack "$root/etc/modules" "$root/etc/modules-load.d" "$root/etc/modprobe.d"; then
        echo "$0: something in the rootfs loads or configures nf_conntrack" >&2
        return 1
    fi

    # The scenario's test units and rulesets (molecule/vm/files), disabled.
    mkdir -p "$root/etc/nfct-test"
    for unit in "${TEST_UNITS[@]}"; do install -m 0644 "$test_files/$unit" "$root/etc/systemd/system/$unit"; done
    for ruleset in "${TEST_RULESETS[@]}"; do install -m 0644 "$test_files/$ruleset" "$root/etc/nfct-test/$ruleset"; done

    # The initramfs: only what mounts the root (see the header).
    printf 'virtio_pci\nvirtio_blk\next4\n' > "$root/etc/initramfs-tools/modules"
    sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
    mount -t proc proc "$root/proc"
    chroot "$root" update-initramfs -u -k all > /dev/null
    umount "$root/proc"

    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
}

build() {
    local work root start release
    start=$SECONDS
    mkdir -p "$cache_dir/debs"
    work=$(mktemp -d "$cache_dir/build.XXXXXX")
    # shellcheck disable=SC2064 # expand $work now
    trap "cleanup '$work'" EXIT
    root=$work/root

    log "debootstrap --variant=minbase $SUITE from $MIRROR (log: $work/debootstrap.log)"
    if ! debootstrap --variant=minbase --cache-dir="$cache_dir/debs" --include="$PACKAGES" \
        "$SUITE" "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
        return 1
    fi
    log "debootstrap done in $((SECONDS - start)) s"

    release=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
    [[ -n $release && -f $root/boot/vmlinuz-$release && -f $root/boot/initrd.img-$release ]] || {
        echo "$0: no kernel or initramfs in the rootfs (release '${release:-none}')" >&2
        return 1
    }
    [[ -f $root/lib/modules/$release/kernel/net/netfilter/nf_conntrack.ko ]] || {
        echo "$0: $release has no loadable nf_conntrack.ko" >&2
        return 1
    }
    log "kernel $release; configure the rootfs"
    configure_rootfs "$root"

    mkdir -p "$work/image"
    cp "$root/boot/vmlinuz-$release" "$work/image/vmlinuz"
    cp "$root/boot/initrd.img-$release" "$work/image/initrd.img"
    log "mkfs.ext4 -d: $DISK_SIZE raw image"
    truncate -s "$DISK_SIZE" "$work/image/disk.raw"
    mkfs.ext4 -q -F -L nfct-root -d "$root" "$work/image/disk.raw"
    printf 'KERNEL_RELEASE=%s\nBUILD_HASH=%s\nBUILT=%s\nBUILD_SECONDS=%s\n' \
        "$release" "$build_hash" "$(date -u +%FT%TZ)" "$((SECONDS - start))" > "$work/image/image.env"

    rm -rf "$image_dir"
    mv "$work/image" "$image_dir"
    # Older images (another hash of this script) are dead weight.
    find "$cache_dir" -mindepth 1 -maxdepth 1 -type d -name "$SUITE-*" ! -path "$image_dir" -exec rm -rf {} +
    log "built $image_dir in $((SECONDS - start)) s ($(du -sh "$image_dir/disk.raw" | cut -f1) used of $DISK_SIZE)"
}

trap 'exit 130' INT
trap 'exit 143' TERM

force=${FORCE:-0}
case ${1:-} in
    '') ;;
    --force) force=1 ;;
    --path) echo "$image_dir"; exit 0 ;;
    *) usage ;;
esac
[[ $# -le 1 ]] || usage

if [[ $force != 1 && -f $image_dir/image.env && -f $image_dir/disk.raw ]]; then
    log "$image_dir is up to date (script hash $build_hash)"
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    echo "$0: building the VM image needs root (debootstrap, chroot)" >&2
    exit 1
fi
for tool in debootstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (make apt)" >&2; exit 1; }
done
build
