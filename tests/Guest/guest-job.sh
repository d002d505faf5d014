#!/bin/bash
# Runs inside the v2 guest as systemd's kernel-command-line.service (systemd.run=). The job's output is
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

# Watchdog: a run that is still going after 450 s (a whole suite takes ~300 s) prints what every task is
# waiting on, once, so a hang can be diagnosed from the console instead of guessed at; the host's timeout
# (600 s) still ends the guest.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "${KC_GUEST_WATCHDOG:-450}" & nap=$!
    wait "$nap"
    {
        echo "=== guest watchdog: still running after ${KC_GUEST_WATCHDOG:-450} s; tasks and where they wait"
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

echo "guest: $(uname -r), pid1=$(cat /proc/1/comm)"
grep cgroup /proc/self/mountinfo
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# systemd.run= starts before D-Bus: bring it up for the systemd tests.
systemctl start dbus.socket dbus.service || true
status=97
if cd "$REPO"; then
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
