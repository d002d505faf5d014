package main

// The systemd side of the oracle (docs/differential.md, "The systemd driver"): the same linux.resources, with a
// systemd-form cgroupsPath (slice:prefix:name), through runc's own conversion and runc's systemd manager, which on a
// v1 or hybrid host is the legacy one (libcontainer/cgroups/systemd/v1.go: a transient scope started over D-Bus with
// the properties genV1ResourcesProperties makes, then every fs subsystem's Set on the scope's directories). It runs
// inside the test systemd's PID namespace (tests/Systemd/sandbox.sh exec): the scope's PIDs= are read there, and
// runc finds the scope's directories from /proc/1/cgroup and the cgroup mounts it sees. It reaches that systemd as
// runc does, over the system bus (go-systemd dbus.NewWithContext: $DBUS_SYSTEM_BUS_ADDRESS, else
// /var/run/dbus/system_bus_socket; systemd's private socket if that fails).
//
// stdin is closed under sandbox.sh exec, so these modes read their input from the file named after the mode.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// sdApply does what `runc create --systemd-cgroup` does with linux.cgroupsPath and linux.resources: specconv with
// UseSystemdCgroup, manager.New, Apply(pid) and Set (libcontainer/process_linux.go initProcess.start), and Destroy
// when either fails, as initProcess.start does. systemd refuses a scope without processes ("Scope has no PIDs"),
// and runc's own is the container's init: here an idle holder (sleep infinity) stands in for it, as the VMM's pid
// does on the module's side, started in a session of its own so it outlives the oracle; stopping the scope ends it.
func sdApply(c caseLine) result {
	var res specs.LinuxResources
	if len(c.Resources) > 0 {
		if err := json.Unmarshal(c.Resources, &res); err != nil {
			return fail(c.ID, "decode", err)
		}
	}
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: c.Path, Resources: &res}}
	cg, err := specconv.CreateCgroupConfig(&specconv.CreateOpts{CgroupName: c.ID, UseSystemdCgroup: true, Spec: spec}, specconv.AllowedDevices)
	if err != nil {
		return fail(c.ID, "config", err)
	}
	m, err := manager.New(cg)
	if err != nil {
		return fail(c.ID, "manager", err)
	}
	holder := exec.Command("/bin/sleep", "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := holder.Start(); err != nil {
		return fail(c.ID, "holder", err)
	}
	waitSleeping(holder.Process.Pid)
	undo := func() {
		_ = m.Destroy()
		_ = holder.Process.Kill()
		_ = holder.Wait()
	}
	if err := m.Apply(holder.Process.Pid); err != nil {
		undo()
		return fail(c.ID, "apply", err)
	}
	if err := m.Set(cg.Resources); err != nil {
		undo()
		return fail(c.ID, "set", err)
	}
	_ = holder.Process.Release()
	return result{ID: c.ID, OK: true}
}

// sdDestroy stops the scope and removes its directories in every hierarchy, the ones runc made itself included
// (the legacy manager's Destroy: stopUnit, then cgroups.RemovePaths).
func sdDestroy(c caseLine) result {
	parts := strings.Split(c.Path, ":")
	if len(parts) != 3 {
		return fail(c.ID, "config", fmt.Errorf("not a systemd path: %q", c.Path))
	}
	m, err := manager.New(&configs.Cgroup{Systemd: true, Parent: parts[0], ScopePrefix: parts[1], Name: parts[2], Resources: &configs.Resources{}})
	if err != nil {
		return fail(c.ID, "manager", err)
	}
	if err := m.Destroy(); err != nil {
		return fail(c.ID, "destroy", err)
	}
	return result{ID: c.ID, OK: true}
}

// waitSleeping waits (up to 2 s) until the process sleeps: a holder still loading its pages when it joins a scope
// with a memory limit of a few pages is charged there and OOM-killed, and the scope with it. The module's side waits
// the same way for its holder, so both scopes start with a process that no longer allocates.
func waitSleeping(pid int) {
	for i := 0; i < 200; i++ {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// the state follows the command name in parentheses: "pid (comm) S ..."
		if j := strings.LastIndexByte(string(stat), ')'); j > 0 && j+2 < len(stat) && stat[j+2] == 'S' {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inputFile opens the file named after the mode, or stdin when there is none.
func inputFile() (*os.File, error) {
	if len(os.Args) > 2 {
		return os.Open(os.Args[2])
	}
	return os.Stdin, nil
}
