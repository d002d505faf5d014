#!/bin/bash
# Boots a test guest (qemu/TCG, Debian's kernel, this machine's own root filesystem read-only under an
# overlay, the host's systemd as PID 1) in one of two cgroup modes and runs one job in it — by default that
# mode's tier, tests/Guest/Invoke-GuestSuite.ps1 — bringing the results back through a second 9p share.
#   v2      systemd.unified_cgroup_hierarchy=1: pure cgroup v2, every controller on the unified hierarchy.
#   hybrid  systemd.unified_cgroup_hierarchy=0: the v1 controllers at /sys/fs/cgroup/<controller> and an
#           empty cgroup2 at /sys/fs/cgroup/unified (systemd.io/CGROUP_DELEGATION, "Three Different Tree
#           Setups"), with the BFQ I/O scheduler loaded and running the scratch disk, so the v1 blkio.bfq.*
#           files exist: kernels without BFQ (CFQ left in 5.0) have only blkio.throttle.* there.
# KVM does not work on this VM, hence TCG. One boot per mode for its whole suite: each boot costs ~20 s.
#
# usage: tests/Guest/run-guest.sh [--mode v2|hybrid] [job command, run in the repo root inside the guest]
#        (the job sees KATACGROUPS_GUEST_MODE and KATACGROUPS_SCRATCH_DISK; see guest-job.sh)
# exit:  the job's exit status; 96 when the guest lacks what its mode needs (the cgroup tree, BFQ, the
#        scratch disk: guest-job.sh says which) and ran no job; 98 when the guest produced no result; 99 on a
#        set-up failure on the host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$repo/out/guest"
mode=v2
if [ "${1:-}" = --mode ]; then mode=${2:-}; shift 2 || true; fi
case "$mode" in
    v2) hierarchy=1 ;;
    hybrid) hierarchy=0 ;;
    *) echo "run-guest: --mode must be v2 or hybrid, not '$mode'"; exit 99 ;;
esac
job=${1:-"dotnet pwsh -NoProfile -File tests/Guest/Invoke-GuestSuite.ps1 -Mode $mode -ResultPath /mnt/kc-results/guest-$mode.json"}
mkdir -p "$cache"

need() { command -v "$1" >/dev/null || { echo "run-guest: $1 missing (.ci/run installs qemu-system-x86 and busybox-static)"; exit 99; }; }
need qemu-system-x86_64
need busybox

# 1. Kernel: Debian's, unpacked into the cache with the modules /init loads (kernel.sh, shared with tests/Vmm).
"$here/kernel.sh" "$cache" || exit 99

# 2. initramfs: busybox-static + the modules + our /init, packed with busybox cpio (no cpio on the host).
if [ ! -f "$cache/initrd.gz" ] || [ "$here/init" -nt "$cache/initrd.gz" ] || [ "$0" -nt "$cache/initrd.gz" ] ||
    [ -n "$(find "$cache/modules" -newer "$cache/initrd.gz" -print -quit)" ]; then
    root="$cache/initramfs"; rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,modules,newroot}
    cp "$(command -v busybox)" "$root/bin/busybox"
    cp "$cache"/modules/*.ko "$root/modules/"
    cp "$here/init" "$root/init"; chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$cache/initrd.gz.tmp")
    mv "$cache/initrd.gz.tmp" "$cache/initrd.gz"
    rm -rf "$root"
fi

# 3. Results share: the job description in, logs and results out.
results=$(mktemp -d /tmp/kc-guest.XXXXXX)
trap 'rm -rf "$results"' EXIT
printf 'REPO=%q\nJOB=%q\nMODE=%q\nKC_GUEST_WATCHDOG=%q\n' "$repo" "$job" "$mode" "${KC_GUEST_WATCHDOG:-1200}" > "$results/job.env"
truncate -s 16M "$results/scratch.img"

cmdline="console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=$hierarchy quiet loglevel=4 systemd.show_status=0"
# systemd 252 with unified_cgroup_hierarchy=0 sets up the hybrid tree unless told
# systemd.legacy_systemd_cgroup_controller=1 (systemd(1), "Kernel Command Line"); guest-job.sh checks which
# tree it got. kc.bfq=1 is for /init, which reads it from /proc/cmdline: the kernel hands an unknown
# parameter to init only when it has no '.' in it (admin-guide/kernel-parameters.rst).
[ "$mode" = hybrid ] && cmdline+=" kc.bfq=1"
# loglevel=4: the kernel's own errors (hung tasks, 9p/virtio failures) reach console.log.
# systemd-tmpfiles-setup walks (and copies up) the host's /tmp and /var/tmp over 9p: slow and useless here.
cmdline+=" systemd.mask=systemd-tmpfiles-setup.service systemd.mask=systemd-tmpfiles-clean.timer"
cmdline+=" systemd.unit=kernel-command-line.service systemd.run=$repo/tests/Guest/guest-job.sh"
cmdline+=" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
# A whole v2 run takes ~450 s (the differential suite and a real VMM included) on a quiet host and past 900 s on a
# loaded one (measured: two guests and builds on 2 cores), a hybrid one ~180 s; the guest's watchdog reports what
# every task waits on at 1200 s; a guest still running at KC_GUEST_TIMEOUT (1500 s) is ended and
# counts as "no result" (build.ps1 boots once more).
start=$(date +%s)
set +e
# The scratch disk carries a serial, so the guest finds it by name (/sys/block/*/serial) rather than by
# probe order.
timeout "${KC_GUEST_TIMEOUT:-1500}" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 2048 -nographic -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.gz" -append "$cmdline" \
    -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap" \
    -drive "file=$results/scratch.img,format=raw,if=none,id=scratch" -device virtio-blk-pci,drive=scratch,serial=kc-scratch \
    > "$results/console.log" 2>&1
qrc=$?
set -e
echo "run-guest: $mode guest ran $(( $(date +%s) - start )) s (qemu exit $qrc)"
[ -f "$results/guest.log" ] && cat "$results/guest.log"
mkdir -p "$repo/out/test-results"
cp "$results"/*.json "$repo/out/test-results/" 2>/dev/null || true
cp "$results/console.log" "$cache/console-$mode.log" 2>/dev/null || true
if [ ! -f "$results/exit" ]; then
    echo "run-guest: the $mode guest produced no result; console (the job's output is mirrored there):"
    tail -150 "$results/console.log"
    exit 98
fi
exit "$(cat "$results/exit")"
