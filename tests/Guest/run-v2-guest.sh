#!/bin/bash
# Boots a pure cgroup v2 guest (qemu/TCG, Debian's kernel, this machine's own root filesystem read-only
# under an overlay, the host's systemd as PID 1 with systemd.unified_cgroup_hierarchy=1) and runs one job
# in it — by default the v2 Pester suite — bringing the results back through a second 9p share.
# Design and the reason for each step: shared/notes/cgroup-v2-guest.md. KVM does not work on this VM,
# hence TCG. One boot for the whole suite: each boot costs ~20 s.
#
# usage: tests/Guest/run-v2-guest.sh [job command, run in the repo root inside the guest]
# exit:  the job's exit status; 98 when the guest produced no result; 99 on a set-up failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$repo/out/guest"
job=${1:-"dotnet pwsh -NoProfile -File tests/Guest/Invoke-GuestSuite.ps1 -ResultPath /mnt/kc-results/guest.json"}
mkdir -p "$cache"

need() { command -v "$1" >/dev/null || { echo "run-v2-guest: $1 missing (.ci/run installs qemu-system-x86 and busybox-static)"; exit 99; }; }
need qemu-system-x86_64
need busybox

# virtio_blk gives the guest a scratch disk, so io.max/io.weight have a real block device to name.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk netfs fscache 9pnet 9pnet_virtio 9p overlay"
have_all() { for m in $modules; do [ -f "$cache/modules/$m.ko" ] || return 1; done; [ -f "$cache/vmlinuz" ]; }

# 1. Kernel: the image linux-image-amd64 depends on, from Debian, unpacked (never installed).
if ! have_all; then
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
    [ -n "$pkg" ] || { echo "run-v2-guest: cannot resolve the kernel package"; exit 99; }
    rm -rf "$cache/kpkg"; mkdir -p "$cache/kpkg"
    (cd "$cache/kpkg" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg-deb -x ./*.deb x)
    kver=$(ls "$cache/kpkg/x/lib/modules")
    mkdir -p "$cache/modules"
    for m in $modules; do
        f=$(find "$cache/kpkg/x/lib/modules/$kver" -name "$m.ko" | head -1)
        [ -n "$f" ] || { echo "run-v2-guest: module $m not found in $pkg"; exit 99; }
        cp "$f" "$cache/modules/"
    done
    cp "$cache/kpkg/x/boot/vmlinuz-$kver" "$cache/vmlinuz.tmp" && mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
    rm -rf "$cache/kpkg"
fi

# 2. initramfs: busybox-static + the modules + our /init, packed with busybox cpio (no cpio on the host).
if [ ! -f "$cache/initrd.gz" ] || [ "$here/init" -nt "$cache/initrd.gz" ] || [ "$0" -nt "$cache/initrd.gz" ]; then
    root="$cache/initramfs"; rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,modules,newroot}
    cp "$(command -v busybox)" "$root/bin/busybox"
    cp "$cache"/modules/*.ko "$root/modules/"
    cp "$here/init" "$root/init"; chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$cache/initrd.gz.tmp")
    mv "$cache/initrd.gz.tmp" "$cache/initrd.gz"
fi

# 3. Results share: the job description in, logs and results out.
results=$(mktemp -d /tmp/kc-guest.XXXXXX)
trap 'rm -rf "$results"' EXIT
printf 'REPO=%q\nJOB=%q\nKC_GUEST_WATCHDOG=%q\n' "$repo" "$job" "${KC_GUEST_WATCHDOG:-450}" > "$results/job.env"
truncate -s 16M "$results/scratch.img"

cmdline="console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=1 quiet loglevel=4 systemd.show_status=0"
# loglevel=4: the kernel's own errors (hung tasks, 9p/virtio failures) reach console.log.
# systemd-tmpfiles-setup walks (and copies up) the host's /tmp and /var/tmp over 9p: slow and useless here.
cmdline+=" systemd.mask=systemd-tmpfiles-setup.service systemd.mask=systemd-tmpfiles-clean.timer"
cmdline+=" systemd.unit=kernel-command-line.service systemd.run=$repo/tests/Guest/guest-job.sh"
cmdline+=" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
# A whole run takes ~300 s; the guest's watchdog reports what every task waits on at 450 s; a guest still
# running at KC_GUEST_TIMEOUT (600 s) is ended and counts as "no result" (build.ps1 boots once more).
start=$(date +%s)
set +e
timeout "${KC_GUEST_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 2048 -nographic -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.gz" -append "$cmdline" \
    -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap" \
    -drive "file=$results/scratch.img,format=raw,if=virtio" \
    > "$results/console.log" 2>&1
qrc=$?
set -e
echo "run-v2-guest: guest ran $(( $(date +%s) - start )) s (qemu exit $qrc)"
[ -f "$results/guest.log" ] && cat "$results/guest.log"
mkdir -p "$repo/out/test-results"
cp "$results"/*.json "$repo/out/test-results/" 2>/dev/null || true
cp "$results/console.log" "$cache/console.log" 2>/dev/null || true
if [ ! -f "$results/exit" ]; then
    echo "run-v2-guest: the guest produced no result; console (the job's output is mirrored there):"
    tail -150 "$results/console.log"
    exit 98
fi
exit "$(cat "$results/exit")"
