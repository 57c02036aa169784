#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/vm.sh start DIR     boot a VM from the image of scripts/build-vm-image.sh
#        scripts/vm.sh stop DIR      stop it (qemu monitor, then by PID) and remove its overlay
#        scripts/vm.sh status DIR    print "running PID PORT" or "stopped"
#        scripts/vm.sh ssh DIR [CMD...]
#
# One VM per folder DIR (Molecule's create.yml uses the scenario's ephemeral folder). `start`
# makes there: an ed25519 key pair for this run (id_ed25519), a qcow2 overlay on the cached base
# image (the base stays clean), a free loopback port forwarded to the guest's port 22, and starts
# qemu in pure emulation (TCG: /dev/kvm exists on our machines but hangs) as a daemon with a
# pidfile and a monitor socket; it waits until root can log in over ssh, then prints
# instance.json: {"address", "port", "user", "identity_file", "pid", ...} (also kept in DIR).
# A start that fails stops what it started. The public key goes to the guest on the kernel
# command line (nfct.ssh_key=BASE64, read by nfct-ssh-key.service in the image); qemu reloads
# the kernel with the same command line when the guest reboots.
#
# `stop` only ever stops the qemu process whose pidfile is DIR/qemu.pid and whose command line
# names that pidfile: first `quit` on the monitor, then SIGTERM, then SIGKILL.
#
#        scripts/vm.sh reboot DIR [TIMEOUT]  reboot the guest, wait until systemd has booted it again
#        scripts/vm.sh accel          print the accelerator `start` uses and why: "kvm ..." or "tcg ..."
#
# The accelerator: KVM when it works here, else pure emulation (TCG). Our machines have a
# /dev/kvm that hangs a guest (no vmx/svm in the CPU flags), so "works" is tested: /dev/kvm
# usable, the CPU flags, then a guest kernel that must reach its panic (no init) and exit
# within 60 s; the answer is kept in /run/nfct-vm-accel for the machine's uptime. The guest gets
# a virtio RNG fed from the host: without it the 6.1 kernel's getrandom() spins for entropy
# under emulation (soft lockups of udev workers, boots of minutes).
#
# Settings (environment): VM_MEMORY (MiB, 2048), VM_CPUS (2), VM_BOOT_TIMEOUT (s, 300),
# VM_ACCEL (auto, kvm or tcg), VM_IMAGE_DIR (default: the folder `scripts/build-vm-image.sh
# --path` prints).
set -euo pipefail

VM_MEMORY=${VM_MEMORY:-2048}
VM_CPUS=${VM_CPUS:-2}
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-300}
VM_ACCEL=${VM_ACCEL:-auto}
ACCEL_CACHE=/run/nfct-vm-accel
SSH_OPTS=(-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR
          -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10)

script_dir=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)

usage() {
    echo "usage: $0 start|stop|status DIR | $0 ssh DIR [CMD...] | $0 reboot DIR [TIMEOUT] | $0 accel" >&2
    exit 2
}

log() {
    printf '[vm] %s\n' "$*" >&2
}

# The PID of DIR's qemu when it runs, else nothing. A PID is ours only when the process's
# command line names DIR's pidfile (a PID can be reused by an unrelated process).
vm_pid() {
    local dir=$1 pid
    [[ -s $dir/qemu.pid ]] || return 0
    pid=$(tr -dc '0-9' < "$dir/qemu.pid")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 0
    if tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qxF "$dir/qemu.pid"; then
        echo "$pid"
    fi
}

# Send one command to the qemu monitor (unix socket); best effort.
monitor() {
    local sock=$1 cmd=$2
    [[ -S $sock ]] || return 0
    python3 - "$sock" "$cmd" <<'EOF' 2>/dev/null || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
time.sleep(0.2)
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.5)
s.close()
EOF
}

wait_gone() {
    local pid=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -e /proc/$pid ]] || return 0
        sleep 0.1
    done
    [[ ! -e /proc/$pid ]]
}

stop_vm() {
    local dir=$1 pid
    pid=$(vm_pid "$dir")
    if [[ -n $pid ]]; then
        log "stopping qemu (PID $pid): monitor quit"
        monitor "$dir/monitor.sock" quit
        if ! wait_gone "$pid" 10; then
            log "qemu (PID $pid) still running: SIGTERM"
            kill -TERM "$pid" 2>/dev/null || true
            if ! wait_gone "$pid" 10; then
                log "qemu (PID $pid) still running: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                wait_gone "$pid" 5 || { log "ERROR: PID $pid did not stop"; return 1; }
            fi
        fi
        log "stopped qemu (PID $pid)"
    fi
    rm -f "$dir/qemu.pid" "$dir/monitor.sock" "$dir/overlay.qcow2"
}

# The accelerator for `start`: "kvm REASON" or "tcg REASON" (see the header).
accel() {
    local image_dir=$1 tmp rc
    case $VM_ACCEL in
        kvm) echo "kvm (VM_ACCEL=kvm)"; return ;;
        tcg) echo "tcg (VM_ACCEL=tcg)"; return ;;
    esac
    if [[ -s $ACCEL_CACHE ]]; then cat "$ACCEL_CACHE"; return; fi
    if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
        echo "tcg (no usable /dev/kvm)"; return
    fi
    if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
        echo "tcg (/dev/kvm exists but the CPU flags have no vmx or svm)" | tee "$ACCEL_CACHE"; return
    fi
    tmp=$(mktemp -d)
    rc=0
    timeout 60 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
        -kernel "$image_dir/vmlinuz" -append "console=ttyS0 panic=-1 init=/nonexistent" \
        -serial "file:$tmp/serial.log" > /dev/null 2>&1 || rc=$?
    if [[ $rc == 0 ]] && grep -q 'Kernel panic' "$tmp/serial.log"; then
        echo "kvm (a guest kernel booted under KVM)" | tee "$ACCEL_CACHE"
    else
        echo "tcg (/dev/kvm did not boot a guest kernel within 60 s: exit $rc)" | tee "$ACCEL_CACHE"
    fi
    rm -rf "$tmp"
}

# reboot DIR TIMEOUT: `systemctl reboot` in the guest, then poll ssh every second (a short connect
# timeout: qemu's user network accepts the connection before sshd is up) until a new boot id
# answers and systemd has finished booting (running, or degraded: a test unit may fail on
# purpose). Faster than Ansible's reboot module, whose checks back off exponentially (seen: 58 s
# for a 25 s reboot). Prints the seconds it took.
reboot_vm() {
    local dir=$1 timeout=$2 old new state start
    start=$SECONDS
    old=$(ssh_vm "$dir" cat /proc/sys/kernel/random/boot_id) || { log "ERROR: the VM does not answer"; return 1; }
    # --no-block: the command returns at once; timeout: qemu's user network may keep the host side
    # of the connection open while the guest goes down
    timeout 15 ssh "${SSH_OPTS[@]}" -i "$dir/id_ed25519" -p "$(sed -n 's/^PORT=//p' "$dir/vm.env")" root@127.0.0.1 \
        systemctl reboot --no-block 2>/dev/null || true
    while ((SECONDS - start < timeout)); do
        sleep 1
        new=$(CONNECT_TIMEOUT=3 ssh_vm "$dir" cat /proc/sys/kernel/random/boot_id 2>/dev/null) || continue
        [[ -n $new && $new != "$old" ]] || continue
        state=$(CONNECT_TIMEOUT=3 ssh_vm "$dir" systemctl is-system-running --wait 2>/dev/null) || true
        if [[ $state == running || $state == degraded ]]; then
            echo "rebooted in $((SECONDS - start)) s (systemd: $state)"
            return 0
        fi
        [[ -z $state ]] && continue
        log "ERROR: after the reboot systemd is $state"
        return 1
    done
    log "ERROR: the VM did not come back within $timeout s; last lines of the serial console:"
    tail -n 30 "$dir/serial.log" >&2
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ssh_vm() {
    local dir=$1 port
    shift
    port=$(sed -n 's/^PORT=//p' "$dir/vm.env")
    # ssh takes the first value of an option: CONNECT_TIMEOUT (when set) before SSH_OPTS' own
    ssh ${CONNECT_TIMEOUT:+-o "ConnectTimeout=$CONNECT_TIMEOUT"} "${SSH_OPTS[@]}" -i "$dir/id_ed25519" -p "$port" \
        root@127.0.0.1 "$@"
}

start_vm() {
    local dir=$1 image_dir key port pid start attempt deadline accel_line cpu
    start=$SECONDS
    image_dir=${VM_IMAGE_DIR:-$("$script_dir/build-vm-image.sh" --path)}
    [[ -f $image_dir/disk.raw && -f $image_dir/vmlinuz && -f $image_dir/initrd.img ]] || {
        log "ERROR: no VM image in $image_dir: run scripts/build-vm-image.sh (make vm-image) first"
        return 1
    }
    for tool in qemu-system-x86_64 qemu-img ssh ssh-keygen python3; do
        command -v "$tool" >/dev/null || { log "ERROR: $tool is not installed (make apt)"; return 1; }
    done
    accel_line=$(accel "$image_dir")
    # shellcheck disable=SC2054 # tcg,thread=multi is one argument
    if [[ $accel_line == kvm* ]]; then cpu=(-accel kvm -cpu host); else cpu=(-accel tcg,thread=multi -cpu qemu64); fi
    log "accelerator: $accel_line"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ -n $(vm_pid "$dir") ]]; then
        log "ERROR: a VM from $dir is running already (PID $(vm_pid "$dir")): $0 stop $dir"
        return 1
    fi
    # From here on, a failure (or an interrupt) stops what was started.
    # shellcheck disable=SC2064 # expand $dir now
    trap "stop_vm '$dir'" EXIT

    rm -f "$dir/id_ed25519" "$dir/id_ed25519.pub" "$dir/instance.json" "$dir/vm.env"
    ssh-keygen -q -t ed25519 -N '' -C "nfct-vm-$(date +%s)" -f "$dir/id_ed25519"
    key=$(base64 -w0 < "$dir/id_ed25519.pub")
    qemu-img create -q -f qcow2 -F raw -b "$image_dir/disk.raw" "$dir/overlay.qcow2"
    : > "$dir/serial.log"

    for attempt in 1 2 3; do
        port=$(free_port)
        # No -no-reboot: guest reboots work, and qemu boots the same kernel and command line again.
        if qemu-system-x86_64 -name nfct-vm "${cpu[@]}" \
            -smp "$VM_CPUS" -m "$VM_MEMORY" \
            -kernel "$image_dir/vmlinuz" -initrd "$image_dir/initrd.img" \
            -append "root=/dev/vda rw console=ttyS0 nfct.ssh_key=$key" \
            -object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0 \
            -drive "file=$dir/overlay.qcow2,if=virtio,format=qcow2" \
            -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" \
            -device virtio-net-pci,netdev=n0,romfile= \
            -display none -vga none -serial "file:$dir/serial.log" \
            -monitor "unix:$dir/monitor.sock,server,nowait" \
            -pidfile "$dir/qemu.pid" -daemonize 2> "$dir/qemu.err"; then
            break
        fi
        log "qemu did not start (attempt $attempt, port $port): $(tr '\n' ' ' < "$dir/qemu.err")"
        [[ $attempt == 3 ]] && return 1
    done
    pid=$(vm_pid "$dir")
    [[ -n $pid ]] || { log "ERROR: qemu started but $dir/qemu.pid names no qemu process"; return 1; }
    printf 'PORT=%s\nPID=%s\nIMAGE_DIR=%s\n' "$port" "$pid" "$image_dir" > "$dir/vm.env"
    log "qemu PID $pid, ssh on 127.0.0.1:$port, serial console in $dir/serial.log"

    deadline=$((SECONDS + VM_BOOT_TIMEOUT))
    # a short ConnectTimeout: qemu's user network accepts the TCP connection before the guest's
    # sshd is up, and ssh would wait the whole timeout for a banner that never comes
    until CONNECT_TIMEOUT=3 ssh_vm "$dir" true 2>/dev/null; do
        if [[ -z $(vm_pid "$dir") ]]; then
            log "ERROR: qemu exited during boot; last lines of the serial console:"
            tail -n 30 "$dir/serial.log" >&2
            return 1
        fi
        if ((SECONDS > deadline)); then
            log "ERROR: no ssh after ${VM_BOOT_TIMEOUT} s; last lines of the serial console:"
            tail -n 30 "$dir/serial.log" >&2
            return 1
        fi
        sleep 1
    done
    log "ssh answers after $((SECONDS - start)) s"
    printf '{"address": "127.0.0.1", "port": %s, "user": "root", "identity_file": "%s", "pid": %s, "serial_log": "%s", "image_dir": "%s", "accel": "%s"}\n' \
        "$port" "$dir/id_ed25519" "$pid" "$dir/serial.log" "$image_dir" "$accel_line" | tee "$dir/instance.json"
    trap - EXIT
}

[[ $# -ge 1 ]] || usage
cmd=$1
if [[ $cmd == accel ]]; then
    set -- "$1" -
fi
[[ $# -ge 2 ]] || usage
dir=$2
shift 2
case $cmd in
    start)
        [[ $# == 0 ]] || usage
        trap 'exit 130' INT
        trap 'exit 143' TERM
        start_vm "$dir"
        ;;
    stop)
        [[ $# == 0 ]] || usage
        [[ -d $dir ]] || exit 0
        stop_vm "$(cd "$dir" && pwd)"
        ;;
    status)
        [[ $# == 0 ]] || usage
        pid=""
        if [[ -d $dir ]]; then
            pid=$(vm_pid "$(cd "$dir" && pwd)")
        fi
        if [[ -n $pid ]]; then
            echo "running $pid $(sed -n 's/^PORT=//p' "$dir/vm.env")"
        else
            echo stopped
        fi
        ;;
    accel)
        accel "${VM_IMAGE_DIR:-$("$script_dir/build-vm-image.sh" --path)}"
        ;;
    reboot)
        [[ $# -le 1 ]] || usage
        [[ -f $dir/vm.env ]] || { log "ERROR: no VM in $dir"; exit 1; }
        reboot_vm "$dir" "${1:-600}"
        ;;
    ssh)
        [[ -f $dir/vm.env ]] || { log "ERROR: no VM in $dir"; exit 1; }
        ssh_vm "$dir" "$@"
        ;;
    *) usage ;;
esac
