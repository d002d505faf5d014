#!/usr/bin/env bash
# A real systemd (the host's /lib/systemd/systemd, 252 on Debian 12) for tests, confined to its own cgroup
# subtree (/<name> in every hierarchy) and its own pid, mount, cgroup, uts, ipc and net namespaces.
# A stock systemd started in a pid and mount namespace without these safeguards runs the host's boot transaction
# against the host: systemd-tmpfiles empties the host's /tmp, journald writes /var/log/journal, /dev/log appears,
# host-wide cgroup hierarchies are mounted and the /sys/fs/cgroup tmpfs is remounted read-only. So do not loosen any
# of them; snapshot-host/check-host prove after every start and stop that none of that happened.
#
#   sandbox.sh start <state-dir>             start; prints the bus address (unix:path=<state-dir>/run/dbus/system_bus_socket)
#   sandbox.sh stop <state-dir>              power off, kill what is left by pid, remove /<name> everywhere, remove <state-dir>
#   sandbox.sh exec <state-dir> -- cmd...    run cmd in the sandbox's pid, mount and cgroup namespaces, in its root cgroup
#   sandbox.sh snapshot-host <file> [--canary PATH]...
#                                            record what the sandbox could change on the host ("host snapshot" below);
#                                            the canaries (files the caller planted in /tmp) must stay as they are
#   sandbox.sh check-host <file> [--stopped NAME]...
#                                            exit 1 and list what changed on the host since the snapshot; /NAME (a
#                                            stopped sandbox's cgroup) must be gone from every hierarchy
#
# Environment:
#   KC_SANDBOX_TIMEOUT        seconds for start to reach readiness (default 30; fractions allowed)
#   KC_SANDBOX_STOP_TIMEOUT   seconds stop waits for the poweroff before SIGKILL (default 10)
#   KC_SANDBOX_FAIL_AT        test hook: make start fail at a stage (prepared | launched | released | private-socket |
#                             running | ready), to prove the cleanup of a start that fails midway
#   KC_SANDBOX_TEST_HANG      test hook: 1 adds a start-up job that never finishes (a readiness timeout with
#                             systemd and its bus up)
#   KC_SANDBOX_CONSOLE_COPY   stop (and a failed start) copy the console log (systemd's /dev/console) here first
#   KC_SANDBOX_VERBOSE        1: start logs the time of each stage to stderr
#   KC_CHECK_HOST_IGNORE      ERE; snapshot/check lines matching it are ignored (not needed by default: the check
#                             watches only what the sandbox could change, so other activity on the host never shows)
#   KC_CHECK_HOST_PLANTED     test hook: check-host reports fake leaks named kc-planted-<this tag>...; those of other
#                             tags (another test run's) are ignored
#
# Also deliberately: systemd gets container=kc-systemd-sandbox (authoritative container detection,
# so neither systemd nor systemd-shutdown does host-level work: no superblock remount of / read-only, no swapoff,
# no module loading; the cgroup namespace alone also makes systemd 252 detect "container-other"); unshare runs
# with --kill-child; the unshare process goes back to the cgroups it came from (the hierarchy root here, except
# memory: this machine's /process_api/...), not into the root of a hierarchy it was not in; the mounts in the
# namespace are checked before systemd is exec'd; exec also enters the cgroup namespace (-C), so
# /proc/self/cgroup inside agrees with the sandbox's /sys/fs/cgroup.
#
# State dir layout (host side): name, pid (systemd, host pid), unshare.pid, helper.pid, hierarchies, units/,
# run/ (bound onto the sandbox's /run), console.log (systemd's /dev/console), helper.log.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
CG_BASE=/sys/fs/cgroup
SYSTEMD_BIN=/lib/systemd/systemd
INNER_UNITS=/run/kc-sandbox/units   # where the sandbox sees <state>/units
INNER_EMPTY=/run/kc-sandbox/empty   # empty generator dirs
OWN_TARGET=kc-sandbox.target
PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'sandbox.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '9,17p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

abs_dir() {
    # absolute path without resolving the last component's existence
    local d=$1
    [[ $d == /* ]] || d="$PWD/$d"
    # normalise . and .. and duplicate slashes
    realpath -m -- "$d"
}

# ---------------------------------------------------------------------------------------------------------
# time

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }

secs_to_us() {
    local s=$1 int frac
    [[ $s =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "not a number of seconds: '$s'"
    int=${s%%.*}
    if [[ $s == *.* ]]; then frac=${s#*.}; else frac=0; fi
    frac="${frac}000000"
    echo $((10#$int * 1000000 + 10#${frac:0:6}))
}

us_to_secs() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

# ---------------------------------------------------------------------------------------------------------
# cgroup hierarchies

# Every cgroup mount of the host, one per hierarchy (first mount wins):
#   "mountpoint fstype superopts root majmin" and, given a pid, that pid's cgroup path in the hierarchy
# (matched by the controller set: the subsystems and name= among the super options vs /proc/<pid>/cgroup).
cgroup_mounts() {
    local pidcg=/dev/null
    [ $# -ge 1 ] && pidcg="/proc/$1/cgroup"
    awk -v pidcg="$pidcg" -v want="$#" '
        function sortcsv(s,    a, n, i, j, t, out) {
            n = split(s, a, ",")
            for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            out = ""; for (i = 1; i <= n; i++) out = out (i > 1 ? "," : "") a[i]
            return out
        }
        FILENAME == "/proc/cgroups" { if (FNR > 1 && $1 !~ /^#/) known[$1] = 1; next }
        FILENAME == pidcg {
            i1 = index($0, ":"); rest = substr($0, i1 + 1); i2 = index(rest, ":")
            id = substr($0, 1, i1 - 1); ctrls = substr(rest, 1, i2 - 1); path = substr(rest, i2 + 1)
            if (id == "0" && ctrls == "") v2 = path; else if (ctrls != "") cg[sortcsv(ctrls)] = path
            next
        }
        {
            for (i = 7; i <= NF; i++) if ($i == "-") break
            fstype = $(i + 1); super = $(i + 3)
            if ((fstype != "cgroup" && fstype != "cgroup2") || seen[$3]++) next
            line = $5 " " fstype " " super " " $4 " " $3
            if (want > 0) {
                if (fstype == "cgroup2") path = v2
                else {
                    n = split(super, t, ","); key = ""
                    for (k = 1; k <= n; k++) if (t[k] in known || t[k] ~ /^name=/) key = key (key == "" ? "" : ",") t[k]
                    path = cg[sortcsv(key)]
                }
                line = line " " (path == "" ? "?" : path)
            }
            print line
        }' /proc/cgroups "$pidcg" /proc/self/mountinfo
}

# Is <pid> alive and inside /<name> (its own cgroup subtree) in the cgroup2/name=systemd view?
pid_in_sandbox() {
    local pid=$1 name=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/cgroup" ] || return 1
    grep -qE "^[0-9]+:[^:]*:/$name(/|\$)" "/proc/$pid/cgroup" 2>/dev/null
}

# Hierarchy mount points where /<name> exists.
name_dirs() {
    local name=$1 mp rest
    while read -r mp rest; do
        [ -d "$mp/$name" ] && echo "$mp/$name"
    done < <(cgroup_mounts)
    return 0
}

# ---------------------------------------------------------------------------------------------------------
# units

write_units() {
    local dir=$1 u src libdir=
    mkdir -p "$dir"
    for d in /lib/systemd/system /usr/lib/systemd/system; do
        [ -f "$d/shutdown.target" ] && { libdir=$d; break; }
    done
    [ -n "$libdir" ] || die "no systemd unit directory with shutdown.target"

    cat >"$dir/$OWN_TARGET" <<'EOF'
[Unit]
Description=KataCgroups test sandbox
Wants=dbus.socket dbus.service
After=dbus.socket dbus.service
AllowIsolate=yes
EOF
    cat >"$dir/dbus.socket" <<'EOF'
[Unit]
Description=D-Bus System Message Bus Socket (sandbox)
DefaultDependencies=no
Conflicts=shutdown.target
Before=shutdown.target

[Socket]
ListenStream=/run/dbus/system_bus_socket
EOF
    cat >"$dir/dbus.service" <<EOF
[Unit]
Description=D-Bus System Message Bus (sandbox)
DefaultDependencies=no
Requires=dbus.socket
After=dbus.socket
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=$DBUS_DAEMON --system --address=systemd: --nofork --nopidfile --systemd-activation --nosyslog
EOF
    # Empty stubs for every name the default dependencies (and the manager itself) refer to.
    for u in sysinit basic sockets timers paths slices local-fs local-fs-pre remote-fs remote-fs-pre swap \
        network network-pre network-online nss-lookup nss-user-lookup time-set time-sync cryptsetup \
        getty multi-user graphical rescue emergency sigpwr ctrl-alt-del kbrequest; do
        printf '[Unit]\nDescription=%s (sandbox stub)\nDefaultDependencies=no\n' "$u.target" >"$dir/$u.target"
    done
    # Test fixture: a slice whose start always fails (an assertion that never holds). A scope placed in it gets a
    # start job that ends with result 'dependency', so tests can prove systemd's job result reaches the user.
    printf '[Unit]\nDescription=always fails to start (sandbox test fixture)\nAssertPathExists=/kc-sandbox-never-exists\n' \
        >"$dir/kcfail.slice"
    if [ "${KC_SANDBOX_TEST_HANG:-}" = 1 ]; then
        # test hook: a start-up job that never finishes, so readiness (is-system-running --wait) times out
        # while systemd and the bus are up
        printf '[Unit]\nDescription=never finishes (sandbox test hook)\n\n[Service]\nType=oneshot\nExecStart=/bin/sleep infinity\n' \
            >"$dir/kc-sandbox-hang.service"
        mkdir -p "$dir/$OWN_TARGET.d"
        printf '[Unit]\nWants=kc-sandbox-hang.service\nAfter=kc-sandbox-hang.service\n' >"$dir/$OWN_TARGET.d/hang.conf"
    fi
    # The host's shutdown chain (no kexec) and slices.
    for u in shutdown.target umount.target final.target poweroff.target systemd-poweroff.service \
        halt.target systemd-halt.service reboot.target systemd-reboot.service exit.target systemd-exit.service \
        user.slice machine.slice; do
        src="$libdir/$u"
        [ -f "$src" ] || die "host unit $src is missing"
        cp -- "$src" "$dir/$u"
    done
}

# ---------------------------------------------------------------------------------------------------------
# pty helper: owns the console pty (slave bound onto the sandbox's /dev/console), drains the master into the log.
# argv: <log> -- cmd...; the child gets stdin /dev/null, stdout/stderr and fd 3 = the pty slave.
PTY_HELPER='
import errno, os, select, sys, tty
log = sys.argv[1]
cmd = sys.argv[3:]
try:
    os.setsid()
except OSError:
    pass
m, s = os.openpty()
tty.setraw(s)
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        nul = os.open("/dev/null", os.O_RDONLY)
        os.dup2(nul, 0); os.dup2(s, 1); os.dup2(s, 2); os.dup2(s, 3)
        os.closerange(4, 1 << 16)
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
out = open(log, "ab", buffering=0)
status = None
while True:
    r, _, _ = select.select([m], [], [], 0.2)
    if r:
        try:
            data = os.read(m, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if data:
            out.write(data)
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = st
    if status is not None and not r:
        break
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
'

python_bin() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3 || die "python3 is required"; fi
}

# ---------------------------------------------------------------------------------------------------------
# start

fail_at() {
    [ "${KC_SANDBOX_VERBOSE:-}" = 1 ] && log "stage $1 at +$(us_to_secs $(($(now_us) - T0)))s"
    [ "${KC_SANDBOX_FAIL_AT:-}" = "$1" ] && die "KC_SANDBOX_FAIL_AT=$1: failing on purpose"
    return 0
}

START_OK=0
START_STATE=
WATCH_PID=

start_exit_trap() {
    local rc=$?
    exec 5>&-
    if [ "$START_OK" != 1 ] && [ -n "$START_STATE" ]; then
        log "start failed; cleaning up $START_STATE (cgroup /$(cat "$START_STATE/name" 2>/dev/null || echo '<none yet>'))"
        if [ -s "$START_STATE/console.log" ]; then
            log "last lines of the console:"
            tail -n 25 "$START_STATE/console.log" | tr -d '\r' | sed 's/^/  | /' >&2 || true
        fi
        if [ -s "$START_STATE/helper.log" ]; then
            log "helper output:"
            sed 's/^/  | /' "$START_STATE/helper.log" >&2 || true
        fi
        KC_SANDBOX_STOP_TIMEOUT=${KC_SANDBOX_STOP_TIMEOUT:-3} do_stop "$START_STATE" || log "cleanup after the failed start also failed; state kept in $START_STATE"
        [ "$rc" = 0 ] && rc=1
    fi
    exit "$rc"
}

remaining_us() { local r=$((DEADLINE - $(now_us))); [ $r -gt 0 ] && echo $r || echo 0; }

wait_until() {
    # wait_until <what> <command...>: poll until command succeeds or the start deadline passes
    local what=$1; shift
    while ! "$@"; do
        [ "$(remaining_us)" -gt 0 ] || die "timed out waiting for $what"
        [ -z "$WATCH_PID" ] || pid_alive "$WATCH_PID" || die "the sandbox died while waiting for $what"
        sleep 0.01
    done
}

cmd_start() {
    [ $# -eq 1 ] || usage
    [ "$(id -u)" = 0 ] || die "start needs root"
    local state name tmo mp fstype super root majmin orig t0 U S
    state=$(abs_dir "$1")
    tmo=$(secs_to_us "${KC_SANDBOX_TIMEOUT:-30}")
    t0=$(now_us)
    T0=$t0
    DEADLINE=$((t0 + tmo))

    for c in unshare nsenter busctl mount mknod timeout realpath; do command -v "$c" >/dev/null || die "'$c' is required"; done
    [ -x "$SYSTEMD_BIN" ] || die "$SYSTEMD_BIN is missing"
    DBUS_DAEMON=$(command -v dbus-daemon) || die "dbus-daemon is required"
    PY=$(python_bin)
    # the sockets live in <state>/run: sun_path holds 107 bytes
    [ ${#state} -le 70 ] || die "state dir path too long for unix sockets (max 70 chars): $state"
    case "$state/" in
        /proc/* | /sys/* | /dev/*) die "state dir must not be under /proc, /sys or /dev: $state" ;;
    esac
    if [ -e "$state" ]; then
        [ -d "$state" ] || die "$state exists and is not a directory"
        [ -z "$(ls -A -- "$state")" ] || die "state dir $state is not empty"
    fi
    [ "$(stat -f -c %T "$CG_BASE")" = tmpfs ] || die "$CG_BASE is not a tmpfs: only cgroup v1/hybrid hosts are supported"

    mkdir -p -- "$state"
    chmod 0711 "$state"
    START_STATE=$state
    trap start_exit_trap EXIT
    trap 'exit 130' INT TERM HUP

    name="kc-systemd-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    echo "$name" >"$state/name"

    write_units "$state/units"
    mkdir -p "$state/run/kc-sandbox/units" "$state/run/kc-sandbox/empty"

    # cgroup view: /<name> in every hierarchy; remember where we came from in each
    : >"$state/hierarchies"
    while read -r mp fstype super root majmin orig; do
        [ "$root" = / ] || die "cgroup mount $mp has root $root (nested cgroup mounts are not supported)"
        case "$mp" in "$CG_BASE"/*) ;; *) die "cgroup mount $mp is not under $CG_BASE" ;; esac
        [[ $orig == /* ]] || die "cannot find my own cgroup in $mp"
        printf '%s\t%s\t%s\t%s\n' "$mp" "$fstype" "$super" "$orig" >>"$state/hierarchies"
        mkdir "$mp/$name"
        if [ -e "$mp/cpuset.cpus" ]; then
            cat "$mp/cpuset.cpus" >"$mp/$name/cpuset.cpus"
            cat "$mp/cpuset.mems" >"$mp/$name/cpuset.mems"
        fi
    done < <(cgroup_mounts $$)
    [ -s "$state/hierarchies" ] || die "no cgroup mounts found"
    grep -q $'\tcgroup2\t' "$state/hierarchies" || die "no cgroup2 (unified) mount found"

    # symlinks beside the hierarchies (cpu -> cpu,cpuacct on hosts that co-mount), recreated in the sandbox
    find "$CG_BASE" -mindepth 1 -maxdepth 1 -type l -printf '%f\t%l\n' >"$state/cgsymlinks"

    # device nodes for the sandbox's private /dev, with the host's numbers, modes and owners
    : >"$state/devnodes"
    for node in null zero full random urandom tty kvm; do
        [ -c "/dev/$node" ] || { [ "$node" = kvm ] && continue; die "/dev/$node is missing on the host"; }
        stat -c "$node %Hr %Lr %a %u %g" "/dev/$node" >>"$state/devnodes"
    done

    fail_at prepared

    # release fifo: the sandbox's pid 1 waits on it until the unshare process is out of /<name>
    mkfifo "$state/sync"
    exec 5<>"$state/sync"

    "$PY" -c "$PTY_HELPER" "$state/console.log" -- /bin/bash "$SELF" _launch "$state" \
        </dev/null >>"$state/helper.log" 2>&1 5>&- &
    WATCH_PID=$!
    echo "$WATCH_PID" >"$state/helper.pid"
    wait_until "the launcher" test -s "$state/unshare.pid"
    U=$(cat "$state/unshare.pid")
    fail_at launched

    # the forked child of unshare is pid 1 of the new pid namespace: it will exec systemd
    S=
    get_child() {
        [ "$(cat "/proc/$U/comm" 2>/dev/null)" = unshare ] || return 1   # not before the launcher became unshare
        S=$(cat "/proc/$U/task/$U/children" 2>/dev/null | awk '{ print $1 }')
        [ -n "$S" ] && grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$S/status" 2>/dev/null
    }
    wait_until "the namespace's pid 1" get_child
    pid_in_sandbox "$S" "$name" || die "pid $S is not in /$name"

    # move unshare (outside the pid namespace) back where it came from, or systemd finds an invisible pid
    while IFS=$'\t' read -r mp fstype super orig; do
        echo "$U" >"$mp${orig%/}/cgroup.procs"
    done <"$state/hierarchies"
    if pid_in_sandbox "$U" "$name"; then die "unshare ($U) is still in /$name"; fi
    echo "$S" >"$state/pid"
    fail_at released
    echo go >&5

    local private="$state/run/systemd/private" bus="$state/run/dbus/system_bus_socket" out rem
    wait_until "systemd's private socket" test -S "$private"
    fail_at private-socket

    rem=$(remaining_us)
    [ "$rem" -gt 0 ] || die "timed out before is-system-running"
    # the timeout runs inside, so a timed-out systemctl is reaped there (a process whose parent is outside the
    # pid namespace makes systemd-shutdown wait 10 s for it at stop)
    out=$(timeout -k 1 "$(us_to_secs $((rem + 2000000)))" /bin/bash "$SELF" exec "$state" -- \
        timeout "$(us_to_secs "$rem")" systemctl is-system-running --wait 2>&1) || true
    case "$out" in
        running | degraded) ;;
        *) die "systemctl is-system-running --wait said: '${out:-<nothing, timed out>}'" ;;
    esac
    fail_at running

    has_owner() {
        busctl --address="unix:path=$bus" --timeout=1 call org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus GetNameOwner s org.freedesktop.systemd1 >/dev/null 2>&1
    }
    wait_until "org.freedesktop.systemd1 on the sandbox bus" has_owner
    fail_at ready

    START_OK=1
    exec 5>&-
    log "ready in $(us_to_secs $(($(now_us) - t0)))s: systemd pid $S, cgroup /$name, state $state ($out)"
    echo "unix:path=$bus"
}

# Runs in the helper's child: join /<name> everywhere, then become unshare.
cmd__launch() {
    local state=$1 name mp fstype super orig
    name=$(cat "$state/name")
    while IFS=$'\t' read -r mp fstype super orig; do
        echo $$ >"$mp/$name/cgroup.procs"
    done <"$state/hierarchies"
    echo $$ >"$state/unshare.pid.tmp"
    mv "$state/unshare.pid.tmp" "$state/unshare.pid"
    exec unshare --pid --fork --mount --mount-proc --cgroup --uts --ipc --net --propagation private \
        --kill-child=SIGKILL -- /bin/bash "$SELF" _inner "$state" "$name"
}

top_mount() { awk -v p="$1" '$5 == p { l = $0 } END { print l }' /proc/self/mountinfo; }
must_ro() { top_mount "$1" | awk '{ split($6, o, ","); if (o[1] != "ro") exit 1 }' || die "$1 is not read-only"; }
must_type() {
    top_mount "$1" | awk -v t="$2" '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) != t) exit 1 }' ||
        die "$1 is not a $2 mount"
}

# Runs as pid 1 of the new namespaces; stdout/stderr and fd 3 are the console pty.
cmd__inner() {
    local state=$1 name=$2 go mp fstype super orig rel opts sub node mode uid gid maj min
    exec 4<>"$state/sync"
    cd "$state"   # the state dir stays reachable through cwd once /run and /tmp are covered
    read -r -t 30 -u 4 go || die "the host never released the sandbox"
    [ "$go" = go ] || die "bad release token"
    exec 4<&-
    [ $$ = 1 ] || die "not pid 1"
    if grep -qvE '^[0-9]+:[^:]*:/$' /proc/self/cgroup; then die "not at the cgroup namespace root: $(cat /proc/self/cgroup)"; fi

    # 1. <state>/run onto /run FIRST; every mount below uses -n (no /run/mount/utab, here or on the host)
    mount -n --no-canonicalize --bind run /run
    mount -n --no-canonicalize --bind units "$INNER_UNITS"
    mount -n -o remount,bind,ro "$INNER_UNITS"

    # 2. read-only host: / and every other host mount we do not replace
    mount -n -o remount,bind,ro /
    while read -r mp; do
        mp=$(printf '%b' "$mp")
        case "$mp" in / | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /run | /run/*) continue ;; esac
        mount -n -o remount,bind,ro "$mp" || die "cannot make $mp read-only"
    done < <(awk '{ print $5 }' /proc/self/mountinfo | sort -u)
    mount -n --bind /proc/sys /proc/sys
    mount -n -o remount,bind,ro /proc/sys
    if [ -e /proc/sysrq-trigger ]; then
        mount -n --bind /proc/sysrq-trigger /proc/sysrq-trigger
        mount -n -o remount,bind,ro /proc/sysrq-trigger
    fi

    # 3. fresh read-only sysfs (the host's is detached from this namespace first)
    umount -n -l /sys
    mount -n -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys

    # 4. cgroup view: new tmpfs, every host hierarchy again (rooted at /<name> by the cgroup namespace),
    #    read-only placeholders where systemd would mount controllers that have no v1 hierarchy, then ro
    mount -n -t tmpfs -o rw,nosuid,nodev,noexec,mode=755 tmpfs "$CG_BASE"
    local mounted=" "
    while IFS=$'\t' read -r mp fstype super orig; do
        rel=${mp#"$CG_BASE"/}
        opts=$(tr ',' '\n' <<<"$super" | { grep -vxE 'rw|ro' || true; } | paste -sd, -)
        mkdir -p "$CG_BASE/$rel"
        mount -n -t "$fstype" -o "${opts:-defaults}" "$fstype" "$CG_BASE/$rel"
        mounted+="$rel "
        [ "$fstype" = cgroup ] && for sub in ${opts//,/ }; do mounted+="$sub "; done
    done <hierarchies
    local link target
    while IFS=$'\t' read -r link target; do
        [ -e "$CG_BASE/$link" ] || [ -L "$CG_BASE/$link" ] || ln -s "$target" "$CG_BASE/$link"
        mounted+="$link "
    done <cgsymlinks
    local ph=()
    for sub in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
        [[ $mounted == *" $sub "* ]] || ph+=("$sub")
    done
    for pair in cpu,cpuacct net_cls,net_prio; do
        ph+=("$pair" "${pair#*,},${pair%,*}")
    done
    for sub in "${ph[@]}"; do
        [[ $mounted == *" $sub "* ]] && continue
        [ -e "$CG_BASE/$sub" ] && continue
        mkdir "$CG_BASE/$sub"
        mount -n -t tmpfs -o ro,nosuid,nodev,noexec,mode=555,size=4k tmpfs "$CG_BASE/$sub"
    done
    mount -n -o remount,ro,nosuid,nodev,noexec,mode=755 "$CG_BASE"

    # 5. console: the pty slave (fd 3) is a file of the host's devpts, whose mount this namespace has a copy
    #    of; stage a bind of it in /run while /dev/pts is still visible (a bind source must be in our namespace)
    local tty
    tty=$(readlink /proc/self/fd/3)
    [[ $tty == /dev/pts/* ]] || die "fd 3 is not a pty slave: $tty"
    [ "$(stat -L -c '%d:%i' /proc/self/fd/3)" = "$(stat -c '%d:%i' "$tty")" ] || die "$tty is not the console pty here"
    touch /run/kc-sandbox/console
    mount -n --bind "$tty" /run/kc-sandbox/console

    # 6. private writable dirs
    mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
    mount -n -t tmpfs -o mode=755,nosuid,size=4m tmpfs /dev
    while read -r node maj min mode uid gid; do
        mknod -m "$mode" "/dev/$node" c "$maj" "$min"
        chown "$uid:$gid" "/dev/$node"
    done <devnodes
    mkdir -m 755 /dev/pts
    mkdir -m 1777 /dev/shm
    mount -n -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
    ln -s pts/ptmx /dev/ptmx
    mount -n -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin
    ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr
    touch /dev/console
    chmod 600 /dev/console
    mount -n --bind /run/kc-sandbox/console /dev/console
    umount -n /run/kc-sandbox/console
    rm -f /run/kc-sandbox/console
    exec 3>&-

    # 7. verify the safeguards before systemd runs
    must_ro / ; must_ro /proc/sys ; [ ! -e /proc/sysrq-trigger ] || must_ro /proc/sysrq-trigger ; must_ro /sys ; must_ro "$CG_BASE" ; must_ro "$INNER_UNITS"
    must_type /tmp tmpfs ; must_type /var/tmp tmpfs ; must_type /dev tmpfs ; must_type "$CG_BASE" tmpfs
    must_type /sys sysfs ; must_type /dev/pts devpts
    [ -w /run ] || die "/run is not writable"
    [ -d /run/kc-sandbox/empty ] && [ -z "$(ls -A /run/kc-sandbox/empty)" ] || die "generator dir is not empty"
    [ -f "$INNER_UNITS/$OWN_TARGET" ] || die "units are not visible at $INNER_UNITS"

    cd /
    echo "sandbox.sh: namespaces ready at $EPOCHREALTIME, exec $SYSTEMD_BIN" >&2
    exec env -i container=kc-systemd-sandbox PATH="$PATH_DEFAULT" LANG=C.UTF-8 \
        SYSTEMD_UNIT_PATH="$INNER_UNITS" SYSTEMD_GENERATOR_PATH="$INNER_EMPTY" \
        SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$INNER_EMPTY" \
        "$SYSTEMD_BIN" --system --unit="$OWN_TARGET" --log-target=console
}

# ---------------------------------------------------------------------------------------------------------
# stop

pid_alive() { [ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -qE '^State:[[:space:]]+Z' "/proc/$1/status" 2>/dev/null; }

wait_gone() {
    # wait_gone <pid> <seconds>
    local pid=$1 end=$(($(now_us) + $(secs_to_us "$2")))
    while pid_alive "$pid"; do
        [ "$(now_us)" -lt "$end" ] || return 1
        sleep 0.02
    done
    return 0
}

cmdline_has() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }

do_stop() {
    local state=$1 name S U H pids p round dir left end
    [ -d "$state" ] || die "no state dir $state"
    # never remove a directory that is not a sandbox state dir
    local e unknown=
    for e in "$state"/* "$state"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        case "${e##*/}" in
            name | pid | unshare.pid | unshare.pid.tmp | helper.pid | hierarchies | cgsymlinks | devnodes | units | run | sync | \
                console.log | helper.log) ;;
            *) unknown+=" ${e##*/}" ;;
        esac
    done
    [ -z "$unknown" ] || die "$state is not a sandbox state dir (unexpected:$unknown); not touching it"
    name=$(cat "$state/name" 2>/dev/null || true)
    if [ -z "$name" ]; then
        # nothing was created yet beyond the dir itself
        [ -z "$(ls -A -- "$state")" ] || die "$state has no sandbox name; not touching it"
        rmdir -- "$state"
        return 0
    fi
    [[ $name =~ ^kc-systemd-[0-9a-f]+$ ]] || die "bad sandbox name '$name' in $state/name"
    S=$(cat "$state/pid" 2>/dev/null || true)
    U=$(cat "$state/unshare.pid" 2>/dev/null || true)
    H=$(cat "$state/helper.pid" 2>/dev/null || true)

    # 1. poweroff, SIGKILL after the timeout (kills the whole pid namespace)
    if [ -n "$S" ] && pid_in_sandbox "$S" "$name"; then
        # first the commands still running from `exec`: their parent (nsenter) is outside the pid namespace, so
        # systemd-shutdown gets no SIGCHLD for them and waits 10 s before it looks again
        local nsS dir p pp
        nsS=$(readlink "/proc/$S/ns/pid" 2>/dev/null || true)
        for dir in $(name_dirs "$name"); do
            for p in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
                [ "$p" = "$S" ] && continue
                [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$nsS" ] || continue
                pp=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
                [ -n "$pp" ] && [ "$(readlink "/proc/$pp/ns/pid" 2>/dev/null)" != "$nsS" ] && kill -KILL "$p" 2>/dev/null || true
            done
        done
        if [ "$(cat "/proc/$S/comm" 2>/dev/null)" = systemd ] && [ -S "$state/run/systemd/private" ]; then
            kill -s RTMIN+4 "$S" 2>/dev/null || true
        else
            # pid 1 is not systemd yet, or systemd is too early in its start to have its signal handlers (a
            # signal without a handler is dropped for a namespace's init): the namespace dies with it anyway
            kill -KILL "$S" 2>/dev/null || true
        fi
        if ! wait_gone "$S" "${KC_SANDBOX_STOP_TIMEOUT:-10}"; then
            log "systemd ($S) did not power off in time: SIGKILL"
            kill -KILL "$S" 2>/dev/null || true
            wait_gone "$S" 5 || log "systemd ($S) survived SIGKILL"
        fi
    fi

    # 2. kill by pid whatever is still in /<name> (host processes moved in survive the namespace)
    for round in $(seq 1 100); do
        pids=$(for dir in $(name_dirs "$name"); do find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -un | grep -vx "$$" || true)
        [ -z "$pids" ] && break
        for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        sleep 0.05
    done
    [ -z "$pids" ] || log "processes still in /$name: $pids"

    # 3. the launcher chain on the host: unshare exits with its child, the helper with unshare
    if [ -n "$U" ] && ! wait_gone "$U" 5 && cmdline_has "$U" "$name"; then kill -KILL "$U" 2>/dev/null || true; fi
    if [ -n "$H" ] && ! wait_gone "$H" 5 && cmdline_has "$H" "$state"; then kill -KILL "$H" 2>/dev/null || true; fi
    [ -z "$U" ] || wait_gone "$U" 2 || log "unshare ($U) is still running"
    [ -z "$H" ] || wait_gone "$H" 2 || log "pty helper ($H) is still running"

    # 4. rmdir depth-first in every hierarchy (retry: a v1 memory cgroup can stay busy for a moment)
    end=$(($(now_us) + 5000000))
    while :; do
        for dir in $(name_dirs "$name"); do
            find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        done
        [ -z "$(name_dirs "$name")" ] && break
        [ "$(now_us)" -lt "$end" ] || break
        sleep 0.05
    done

    # 5. verify: no /<name> anywhere
    left=$( { name_dirs "$name"; find "$CG_BASE" -mindepth 2 -maxdepth 2 -name "$name" 2>/dev/null; } | sort -u)
    if [ -n "$left" ]; then
        log "cgroups left behind: $(echo $left)"
        log "state kept in $state"
        return 1
    fi

    if [ -n "${KC_SANDBOX_CONSOLE_COPY:-}" ] && [ -f "$state/console.log" ]; then
        cp -- "$state/console.log" "$KC_SANDBOX_CONSOLE_COPY" || log "could not copy the console log"
    fi

    # 6. nothing of the state dir may be mounted on the host; then remove it
    awk -v s="$state" '{ mp = $5; if (mp == s || index(mp, s "/") == 1) print mp }' /proc/self/mountinfo |
        sort -r | while read -r mp; do umount -n "$mp" || umount -n -l "$mp"; done
    rm -rf -- "$state"
    return 0
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    [ "$(id -u)" = 0 ] || die "stop needs root"
    local state t0
    state=$(abs_dir "$1")
    t0=$(now_us)
    do_stop "$state" || die "stop failed"
    log "stopped in $(us_to_secs $(($(now_us) - t0)))s"
}

# ---------------------------------------------------------------------------------------------------------
# exec

cmd_exec() {
    [ $# -ge 1 ] || usage
    [ "$(id -u)" = 0 ] || die "exec needs root"
    local state name S mp fstype super orig
    state=$(abs_dir "$1"); shift
    [ "${1:-}" = -- ] && shift
    [ $# -ge 1 ] || usage
    name=$(cat "$state/name" 2>/dev/null) || die "no sandbox in $state"
    S=$(cat "$state/pid" 2>/dev/null) || die "no sandbox pid in $state"
    pid_in_sandbox "$S" "$name" || die "sandbox pid $S is not running in /$name"
    # join the sandbox root cgroup in every hierarchy, so the command is wholly inside systemd's tree
    while IFS=$'\t' read -r mp fstype super orig; do
        echo $$ >"$mp/$name/cgroup.procs"
    done <"$state/hierarchies"
    exec nsenter -t "$S" -p -m -C -- "$@"
}

# ---------------------------------------------------------------------------------------------------------
# host snapshot
#
# The comparison watches only what the sandboxed systemd or this harness could change on the host. Other work on the
# machine (builds, other test tiers, other users) creates and removes entries in /tmp, top-level cgroups and mounts at
# any time; none of that may count as a difference, while a leak by the sandbox still must.

# Host paths (globs) that only the sandbox's systemd or this harness would create: the host runs no systemd. One that
# appears or goes between snapshot and check is reported.
HOST_TMP_NAMES=(
    # PrivateTmp= of a unit: systemd-private-<boot id>-<unit>-<random> (tmpfiles.d/systemd-tmp.conf), and any other
    # systemd-* name (no host process makes them)
    '/tmp/systemd-*' '/var/tmp/systemd-*'
    # tmpfiles.d/x11.conf creates these ("D!") when systemd-tmpfiles --create runs at boot
    /tmp/.X11-unix /tmp/.ICE-unix /tmp/.XIM-unix /tmp/.font-unix
    # this harness's own names (cgroup /<name>, the default state root, the inner /run/kc-sandbox): a path that escaped
    # the sandbox's private /tmp
    '/tmp/kc-systemd-*' '/tmp/kc-sandbox*'
)

# Top-level cgroups the sandbox's systemd would create were its cgroup namespace not rooted at /<name>: systemd names
# a unit's cgroup after the unit (init.scope, system.slice, user.slice, machine.slice, kcfail.slice, the tests'
# kctest.slice), and only these unit types have cgroups (systemd.resource-control(5)). Other top-level names belong to
# other work on the machine (kctest-*, kcunit-*, other sandboxes' kc-systemd-*): a stopped sandbox's own /<name> is
# checked by name (check-host --stopped).
CG_UNIT_NAME='\.(slice|scope|service|socket|mount|swap)$'

# Mounts: the sandbox mounts /, /tmp, /var/tmp and under /proc, /sys, /dev and /run in its own namespace, and systemd
# mounts its API file systems (cgroup hierarchies, /dev/mqueue, /sys/kernel/debug, tmp.mount on /tmp...) in the same
# places; a mount there, or a cgroup mount anywhere, on the host is a leak. Mounts on other paths (a test's tmpfs on
# its own directory under /tmp) are other work.
HOST_MOUNT_AWK='
    { for (i = 7; i <= NF; i++) if ($i == "-") break; mp = $5; fstype = $(i + 1) }
    mp == "/" || mp == "/tmp" || mp == "/var/tmp" || mp ~ /^\/(proc|sys|dev|run)(\/|$)/ || fstype ~ /^cgroup2?$/ {
        print "mount:", mp, fstype, $6, $(i + 3)
    }'

# A canary's state without reading it (stat, not cat or ls: reading would refresh the atime that makes it look old to
# an age-based cleanup): type, mode, owner, size, mtime, and a symlink's target.
canary_state() {
    local p=$1
    if [ -e "$p" ] || [ -L "$p" ]; then
        printf 'canary: %s %s%s\n' "$p" "$(stat -c '%F %a %u:%g %s %.9Y' -- "$p")" "$([ -L "$p" ] && printf ' -> %s' "$(readlink -- "$p")")"
    else
        printf 'canary: %s absent\n' "$p"
    fi
}

# host_state <canary paths> -- <stopped sandbox names>
host_state() {
    local canaries=() stopped=() p mp rest d n
    while [ $# -gt 0 ] && [ "$1" != -- ]; do canaries+=("$1"); shift; done
    if [ $# -gt 0 ]; then shift; fi
    stopped=("$@")
    echo "## /tmp and /var/tmp themselves (tmpfiles.d/tmp.conf: \"D /tmp 1777 root root\")"
    for p in /tmp /var/tmp; do echo "tmpdir: $p $(stat -c '%F %a %u:%g' "$p")"; done
    echo "## canaries planted by the caller: a cleanup of /tmp removes them, a mount over /tmp hides them"
    for p in "${canaries[@]+"${canaries[@]}"}"; do canary_state "$p"; done
    echo "## names only the sandbox would create in /tmp, /var/tmp"
    (
        shopt -s nullglob
        for p in "${HOST_TMP_NAMES[@]}"; do
            # a literal name is kept by nullglob too: list only what exists
            for n in $p; do
                if [ -e "$n" ] || [ -L "$n" ]; then echo "tmpname: $n $(stat -c %F -- "$n" 2>/dev/null)"; fi
            done
        done
    ) | sort -u
    echo "## mounts where the sandbox or systemd mounts (mount point, type, options, super options)"
    awk "$HOST_MOUNT_AWK" /proc/self/mountinfo | sort
    echo "## /proc/cgroups (subsystem, hierarchy, enabled)"
    awk 'NR > 1 { print "subsys:", $1, $2, $4 }' /proc/cgroups | sort
    echo "## top-level cgroups named like systemd units; stopped sandboxes' /<name>"
    while read -r mp rest; do
        for d in "$mp"/*/; do
            [ -d "$d" ] || continue
            n=$(basename "$d")
            if [[ $n =~ $CG_UNIT_NAME ]]; then echo "cgdir: $mp/$n"; fi
        done
        for n in "${stopped[@]+"${stopped[@]}"}"; do
            if [ -d "$mp/$n" ]; then echo "cgdir: $mp/$n (a stopped sandbox's)"; fi
        done
    done < <(cgroup_mounts | sort)
    echo "## /run/mount/utab"
    if [ -e /run/mount/utab ]; then echo "utab: present $(sha256sum </run/mount/utab | cut -c1-16)"; sed 's/^/utab: /' /run/mount/utab; else echo "utab: absent"; fi
    echo "## device nodes, journal"
    for p in /dev/log /dev/initctl /var/log/journal; do
        if [ -e "$p" ] || [ -L "$p" ]; then echo "path: $p present $(stat -c %F "$p")"; else echo "path: $p absent"; fi
    done
}

# Left out of both sides of the comparison: lines matching KC_CHECK_HOST_IGNORE, and the fake leaks tests plant to
# prove the check reports them (names with kc-planted-<tag>; systemd in the sandbox never makes such a name) unless
# they carry this run's tag, KC_CHECK_HOST_PLANTED: another test run on the machine must not fail on them.
drop_ignored() {
    awk -v tag="${KC_CHECK_HOST_PLANTED:-}" 'index($0, "kc-planted-") && (tag == "" || !index($0, "kc-planted-" tag)) { next } { print }' |
        if [ -n "${KC_CHECK_HOST_IGNORE:-}" ]; then grep -vE -- "$KC_CHECK_HOST_IGNORE" || true; else cat; fi
}

cmd_snapshot_host() {
    [ $# -ge 1 ] || usage
    local file=$1 canaries=(); shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --canary)
                [ $# -ge 2 ] || usage
                # one whitespace-free absolute path per line: check-host reads them back from the snapshot
                [[ $2 == /* && $2 != *[[:space:]]* ]] || die "canary path must be absolute and without whitespace: '$2'"
                canaries+=("$2"); shift 2 ;;
            *) usage ;;
        esac
    done
    host_state "${canaries[@]+"${canaries[@]}"}" -- | drop_ignored >"$file.tmp"
    mv -- "$file.tmp" "$file"
}

cmd_check_host() {
    [ $# -ge 1 ] || usage
    local before=$1 diffs canaries=() stopped=(); shift
    [ -r "$before" ] || die "no snapshot $before"
    while [ $# -gt 0 ]; do
        case "$1" in
            --stopped)
                [ $# -ge 2 ] || usage
                [[ $2 =~ ^kc-systemd-[0-9a-f]+$ ]] || die "not a sandbox name: '$2'"
                stopped+=("$2"); shift 2 ;;
            *) usage ;;
        esac
    done
    mapfile -t canaries < <(awk '$1 == "canary:" { print $2 }' "$before")
    diffs=$(diff <(drop_ignored <"$before") \
        <(host_state "${canaries[@]+"${canaries[@]}"}" -- "${stopped[@]+"${stopped[@]}"}" | drop_ignored) | grep -E '^[<>] ' || true)
    if [ -n "$diffs" ]; then
        echo "host changed since $before (< before, > now):"
        echo "$diffs"
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------------------

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    exec) cmd_exec "$@" ;;
    snapshot-host) cmd_snapshot_host "$@" ;;
    check-host) cmd_check_host "$@" ;;
    _launch) cmd__launch "$@" ;;
    _inner) cmd__inner "$@" ;;
    *) usage ;;
esac
