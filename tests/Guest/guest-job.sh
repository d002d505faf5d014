#!/bin/bash
# Runs inside the test guest as systemd's kernel-command-line.service (systemd.run=). The job's output is
# kept in guest memory (/run) and mirrored to the serial console while it runs, and copied to the results
# share only at the end: the host's console.log then shows how far a guest got even when it never
# finishes, and the long run does not depend on a stream of small writes over the 9p share (a CI run once
# stopped in the middle of a line written to it). The exit status file tells the host how the suite ended.
R=/mnt/kc-results
log=/run/kc-guest.log
exec 3>&1
exec > >(tee /dev/ttyS0 > "$log") 2>&1
tee_pid=$!
set -u
. "$R/job.env"

# Watchdog: a run that is still going after 1200 s (a whole v2 suite takes ~450 s) prints what every task is
# waiting on, once, so a hang can be diagnosed from the console instead of guessed at; the host's timeout
# (1500 s) still ends the guest.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "${KC_GUEST_WATCHDOG:-1200}" & nap=$!
    wait "$nap"
    {
        echo "=== guest watchdog: still running after ${KC_GUEST_WATCHDOG:-1200} s; tasks and where they wait"
        # user processes, and kernel threads only when they are blocked (D)
        ps -eo pid,ppid,stat,wchan:32,etime,args --sort=pid 2>&1 | awk '$2 != 2 || $3 ~ /D/' | cut -c1-200
        for s in /proc/[0-9]*/stack; do
            st=$(awk '{print $3}' "${s%/stack}/stat" 2>/dev/null)
            [ "$st" = D ] && { echo "--- D-state ${s%/stack}: $(tr '\0' ' ' < "${s%/stack}/cmdline" | cut -c1-120)"; cat "$s"; }
        done 2>/dev/null
        echo w > /proc/sysrq-trigger 2>/dev/null; dmesg 2>/dev/null | tail -60
        echo "=== guest watchdog: end"
    } > /dev/ttyS0 2>&1
) &
watchdog=$!

MODE=${MODE:-v2}
echo "guest: $(uname -r), pid1=$(cat /proc/1/comm), mode=$MODE"
grep cgroup /proc/self/mountinfo
status=97
setup_failed() { echo "guest: SET-UP FAILED: $*"; status=96; }
# The scratch disk is the virtio disk with the serial run-guest.sh gave it; the tests name it in
# io.max/io.weight (blkio.* on v1) and may write to it with O_DIRECT for I/O statistics (the root file
# system is 9p under an overlay: no block device behind it).
disk=
for s in /sys/block/*/serial; do [ "$(cat "$s" 2>/dev/null)" = kc-scratch ] && disk=$(basename "${s%/serial}"); done
[ -n "$disk" ] || setup_failed "no virtio disk with serial kc-scratch"
if [ "$MODE" = v2 ]; then
    echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
else
    # Hybrid: a v1 hierarchy per controller under /sys/fs/cgroup and an empty cgroup2 at unified/.
    echo "v1 hierarchies: $(ls /sys/fs/cgroup | tr '\n' ' ')"
    echo "unified (cgroup2) controllers: '$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)'"
    [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] || setup_failed "/sys/fs/cgroup/unified is not cgroup2: not a hybrid tree"
    [ "$(stat -f -c %T /sys/fs/cgroup/blkio 2>/dev/null)" = cgroupfs ] || setup_failed "no v1 blkio hierarchy at /sys/fs/cgroup/blkio"
    # "To get proportional sharing of bandwidth with BFQ for a given device, BFQ must of course be the
    # active scheduler for that device" (kernel block/bfq-iosched.rst, 4-2): only then do blkio.bfq.weight
    # and blkio.bfq.weight_device act on the scratch disk and blkio.bfq.io_service* count its I/O.
    if [ -n "$disk" ]; then
        echo bfq > "/sys/block/$disk/queue/scheduler" || setup_failed "cannot select bfq on $disk"
        sched=$(cat "/sys/block/$disk/queue/scheduler")
        echo "scheduler of /dev/$disk: $sched"
        case "$sched" in *"[bfq]"*) ;; *) setup_failed "bfq is not the scheduler of $disk" ;; esac
    fi
    # BFQ's statistics are in every blkio cgroup; its weights only below the root (CFTYPE_NOT_ON_ROOT).
    echo "blkio root: $(ls /sys/fs/cgroup/blkio | tr '\n' ' ')"
    [ -f /sys/fs/cgroup/blkio/blkio.bfq.io_service_bytes ] || setup_failed "no blkio.bfq.* files: BFQ is not loaded"
fi
export KATACGROUPS_GUEST_MODE=$MODE KATACGROUPS_SCRATCH_DISK=/dev/$disk
# systemd.run= starts before D-Bus: bring it up for the systemd tests.
systemctl start dbus.socket dbus.service || true
if [ "$status" = 96 ]; then
    echo "guest: the $MODE job is not run"
elif cd "$REPO"; then
    export HOME=/root DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NO_COLOR=1
    export PATH="/usr/share/dotnet:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
    eval "$JOB"
    status=$?
fi
kill "$watchdog" 2>/dev/null
# Close the pipe into tee and let it finish before the log is copied out.
exec >&3 2>&1 3>&-
wait "$tee_pid" 2>/dev/null
cp "$log" "$R/guest.log"
echo "$status" > "$R/exit"
sync
