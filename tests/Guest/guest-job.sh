#!/bin/bash
# Runs inside the v2 guest as systemd's kernel-command-line.service (systemd.run=). Everything it prints
# goes to the results share; the exit status file tells the host how the suite ended.
R=/mnt/kc-results
exec >"$R/guest.log" 2>&1
set -u
echo "guest: $(uname -r), pid1=$(cat /proc/1/comm)"
grep cgroup /proc/self/mountinfo
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# systemd.run= starts before D-Bus: bring it up for the systemd tests.
systemctl start dbus.socket dbus.service || true
. "$R/job.env"
cd "$REPO" || { echo 97 > "$R/exit"; exit 0; }
export HOME=/root DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NO_COLOR=1
export PATH="/usr/share/dotnet:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
eval "$JOB"
echo $? > "$R/exit"
sync
