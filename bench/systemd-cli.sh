#!/usr/bin/env bash
# Contender of the systemd lifecycle benchmark (bench/README.md): the equivalent systemd-run/systemctl
# command sequence, run inside the test systemd sandbox. Same unit properties as the engine sends (the harness
# writes them from the engine's systemd plan into <config>):
#   SLICE         the slice (kcbench.slice)
#   PROPS         systemd-run -p arguments of the create properties
#   UPDATE_PROPS  systemctl set-property arguments of the update
#   residual      a function: the cgroupfs writes the engine makes for what systemd cannot express, scope "$1"
#
#   systemd-cli.sh <config> <N>
#
# systemd-run cannot adopt a running process into a new scope: the scope's process is the `sleep` it starts (the
# engine's scope gets the helper), and `systemctl stop` ends that sleep instead of the engine's move-out.
set -euo pipefail
config=$1 n=$2
# shellcheck disable=SC1090
source "$config"

cycle() {
    local unit=kata-$1 procs
    systemd-run --quiet --scope --slice="$SLICE" --unit="$unit" "${PROPS[@]}" sleep 1000000 </dev/null >/dev/null 2>&1 &
    local sleeper=$!
    # the scope exists (properties applied, the process attached) once its cgroup.procs lists a pid (cgroupfs
    # files have size 0, so read it: a shell builtin, no process)
    procs=/sys/fs/cgroup/pids/$SLICE/$unit.scope/cgroup.procs
    until read -r _ 2>/dev/null <"$procs"; do
        kill -0 "$sleeper" 2>/dev/null || { wait "$sleeper" || true; echo "systemd-run for $unit failed" >&2; exit 1; }
    done
    residual "$1"
    systemctl set-property --runtime "$unit.scope" "${UPDATE_PROPS[@]}"
    systemctl stop "$unit.scope"
    wait "$sleeper" || true
}

cycle warm
start=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do cycle "c$i"; done
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { ms = (e - s) * 1000; printf "KCBENCH {\"n\":%d,\"loopMs\":%.3f,\"perCgroupMs\":%.4f}\n", n, ms, ms / n }'
