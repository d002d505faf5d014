#!/usr/bin/env bash
# Contender (d) of the lifecycle benchmark (bench/README.md): libcgroup's cgroup-tools, one bash process
# running the workload with cgcreate/cgset/cgclassify/cgdelete the way a shell user would.
#
#   cgtools.sh <config> <root> <N> <pid>
#
# <config> (written by Invoke-Bench.ps1 from the engine's plan) sets:
#   CTRLS    the controllers libcgroup can address here, for -g (e.g. cpuset,devices,memory,...)
#   EXTRA    mount points of hierarchies cgroup-tools 2.0 cannot address on a hybrid host (the name=systemd
#            hierarchy and the cgroup2 tree): there the script uses mkdir/rmdir and echo, so that every
#            contender ends with the same directories
#   create   a function: the cgset calls of the create writes for the cgroup "$1" (cpuset.cpus/mems first:
#            cgcreate leaves them empty and a cpuset cgroup refuses tasks until they are set); cgset refuses the
#            same name twice in one call, so each further devices.allow rule is its own cgset, in the engine's order
#   update   a function: the cgset call of the update writes
# Optional: KCBENCH_CHECK_LIST / KCBENCH_CHECK (see Invoke-Bench.ps1): dump those files after the warm-up update.
set -euo pipefail
config=$1 root=$2 n=$3 pid=$4
# shellcheck disable=SC1090
source "$config"
IFS=, read -r -a ctrl_list <<<"$CTRLS"

cycle() {
    local path=$root/$1 m
    cgcreate -g "$CTRLS:$path"
    mkdir "${EXTRA[@]/%//${path#/}}"
    create "$path"
    cgclassify -g "$CTRLS:$path" "$pid"
    for m in "${EXTRA[@]}"; do echo "$pid" >"$m$path/cgroup.procs"; done
    update "$path"
    if [[ -n ${KCBENCH_CHECK:-} && $1 == kata_warm ]]; then
        while IFS= read -r f; do printf '%s: %s\n' "$f" "$(<"$f")"; done <"$KCBENCH_CHECK_LIST" >"$KCBENCH_CHECK"
    fi
    # move the helper back out to the bench root, every hierarchy
    cgclassify -g "$CTRLS:$root" "$pid"
    for m in "${EXTRA[@]}"; do echo "$pid" >"$m$root/cgroup.procs"; done
    # cgdelete with several -g removes only the first and exits 0: one call per controller
    for c in "${ctrl_list[@]}"; do cgdelete -g "$c:$path"; done
    rmdir "${EXTRA[@]/%//${path#/}}"
}

cycle kata_warm
start=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do cycle "kata_c$i"; done
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { ms = (e - s) * 1000; printf "KCBENCH {\"n\":%d,\"loopMs\":%.3f,\"perCgroupMs\":%.4f}\n", n, ms, ms / n }'
