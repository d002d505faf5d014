#!/bin/bash
# Builds what the real-VMM tests boot (tests/Vmm/Vmm.psm1), once per checkout, into out/vmm:
#   initrd.gz     busybox-static and tests/Vmm/init (a busy vCPU printing its progress), packed with busybox cpio;
#                 booted with Debian's kernel, fetched by tests/Guest/kernel.sh into out/guest (the guest tiers'
#                 cache: downloaded once whichever runs first).
#   firmware.bin  a 64 KiB BIOS image of a few instructions for the "firmware" guest, which boots nothing: the
#                 reset vector jumps to a loop that counts and writes a '.' to the serial port (0x3f8) every
#                 2^24 rounds. A VMM that starts in well under a second where even QEMU itself runs under
#                 emulation (the cgroup v2 guest tier).
# usage: tests/Vmm/guest.sh     prints three lines: the kernel, the initrd and the firmware path
# exit:  0, or 99 when something is missing (the message says what).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/out/vmm"
mkdir -p "$out"
command -v busybox >/dev/null || { echo "guest.sh: busybox missing (.ci/run installs busybox-static)"; exit 99; }
"$repo/tests/Guest/kernel.sh" "$repo/out/guest" >&2 || exit 99

exec 9>"$out/.build.lock"
flock 9
if [ ! -f "$out/initrd.gz" ] || [ "$here/init" -nt "$out/initrd.gz" ] || [ "$0" -nt "$out/initrd.gz" ]; then
    root=$(mktemp -d "$out/initramfs.XXXXXX")
    mkdir -p "$root"/{bin,dev,proc}
    cp "$(command -v busybox)" "$root/bin/busybox"
    cp "$here/init" "$root/init"; chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$out/initrd.gz.tmp")
    mv "$out/initrd.gz.tmp" "$out/initrd.gz"
    rm -rf "$root"
fi
if [ ! -f "$out/firmware.bin" ] || [ "$0" -nt "$out/firmware.bin" ]; then
    # 16-bit real mode. A PC starts at F000:FFF0, the last 16 bytes of the BIOS image; QEMU also maps a 64 KiB
    # image at 0xF0000 (pc_system_firmware_init, its isa-bios alias), so F000:0000 is the image's first byte.
    #   0000 BA F8 03   mov dx, 0x3f8       COM1's transmit register
    #   0003 BB 00 01   mov bx, 256         outer rounds per '.'
    #   0006 B9 00 00   mov cx, 0           65536 inner rounds
    #   0009 E2 FE      loop 0009
    #   000B 4B         dec bx
    #   000C 75 F8      jnz 0006
    #   000E B0 2E      mov al, '.'
    #   0010 EE         out dx, al
    #   0011 EB F0      jmp 0003
    #   FFF0 EA 00 00 00 F0   jmp far F000:0000 (the reset vector)
    # The rest is hlt (F4). QEMU's 16550 passes a byte written to THR to its chardev whatever the line settings.
    code='\xBA\xF8\x03\xBB\x00\x01\xB9\x00\x00\xE2\xFE\x4B\x75\xF8\xB0\x2E\xEE\xEB\xF0'
    {
        printf "$code"
        head -c $((0xFFF0 - 19)) /dev/zero | tr '\0' '\364'
        printf '\xEA\x00\x00\x00\xF0'
        head -c 11 /dev/zero | tr '\0' '\364'
    } > "$out/firmware.bin.tmp"
    [ "$(stat -c %s "$out/firmware.bin.tmp")" = 65536 ] || { echo "guest.sh: firmware image is not 64 KiB"; exit 99; }
    mv "$out/firmware.bin.tmp" "$out/firmware.bin"
fi
printf '%s\n' "$repo/out/guest/vmlinuz" "$out/initrd.gz" "$out/firmware.bin"
