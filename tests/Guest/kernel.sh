#!/bin/bash
# Fetches the guest kernel once into a cache directory: the image Debian's linux-image-amd64 depends on,
# downloaded with apt-get download and unpacked (never installed), its vmlinuz and the modules the test guest's
# /init loads. Shared by the guest tiers (run-guest.sh) and the real-VMM tests (tests/Vmm), so the package is
# downloaded once per checkout whichever runs first.
#
# usage: tests/Guest/kernel.sh <cache directory>
#        prints nothing on success; leaves <cache>/vmlinuz and <cache>/modules/<name>.ko
# exit:  0, or 99 when the kernel cannot be fetched (the message says why).
set -euo pipefail
cache=${1:?usage: kernel.sh <cache directory>}
mkdir -p "$cache"

# Loaded in this order by tests/Guest/init (plain insmod: no depmod), so each module's depends= must come before
# it. virtio_blk gives the guest a scratch disk, so io.max/io.weight (blkio.* on v1) have a real block device to
# name. bfq (block/bfq.ko, CONFIG_BFQ_GROUP_IOSCHED=y) is in every initramfs but loaded only in hybrid mode: on
# v2 it would add io.bfq.weight to every cgroup and change what the v2 suite sees.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk netfs fscache 9pnet 9pnet_virtio 9p overlay bfq"
have_all() { for m in $modules; do [ -f "$cache/modules/$m.ko" ] || return 1; done; [ -f "$cache/vmlinuz" ]; }
have_all && exit 0

# Two checkouts' tests (or a guest tier and a VMM test) may ask at once: one downloads, the other waits.
exec 9>"$cache/.kernel.lock"
flock 9
have_all && exit 0
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$pkg" ] || { echo "kernel.sh: cannot resolve the kernel package (apt-cache depends linux-image-amd64)"; exit 99; }
rm -rf "$cache/kpkg" "$cache/modules"; mkdir -p "$cache/kpkg" "$cache/modules"
(cd "$cache/kpkg" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg-deb -x ./*.deb x) ||
    { echo "kernel.sh: apt-get download $pkg failed"; exit 99; }
kver=$(ls "$cache/kpkg/x/lib/modules")
loaded=" "
for m in $modules; do
    f=$(find "$cache/kpkg/x/lib/modules/$kver" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "kernel.sh: module $m not found in $pkg"; exit 99; }
    # .modinfo holds NUL-separated key=value strings (no modinfo binary on the host).
    for d in $(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -1 | tr ',' ' '); do
        case "$loaded" in *" $d "*) ;; *) echo "kernel.sh: $m needs $d, which is not loaded before it"; exit 99 ;; esac
    done
    loaded+="$m "
    cp "$f" "$cache/modules/"
done
cp "$cache/kpkg/x/boot/vmlinuz-$kver" "$cache/vmlinuz.tmp" && mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
rm -rf "$cache/kpkg"
