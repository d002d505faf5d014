// Command oracle is the reference side of the differential suite (tests/Differential, docs/differential.md):
// it applies OCI linux.resources to cgroups with runc's own libcontainer, so the module's results can be
// compared with what the engine users trust does with the same input. Nothing here re-implements runc: the
// resources go through specconv.CreateCgroupConfig (with specconv.AllowedDevices appended, as runc does for
// every container) and the cgroup manager runc itself would pick (manager.New: fs on v1 and hybrid hosts, fs2
// on unified ones), then Apply(-1) (create, join nothing) and Set, in the order libcontainer's initProcess.start
// calls them (runc libcontainer/process_linux.go).
//
// Built from runc 1.1's sources as Debian packages them (golang-github-opencontainers-runc-dev), in GOPATH mode:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o out/differential/oracle ./tests/Differential/oracle
//
// Modes (JSON in on stdin, JSON lines out on stdout, one per case or target; a failing case never stops the batch):
//
//	apply    lines {"id","path","resources"}: create and configure each cgroup; out {"id","ok","stage","error"}
//	destroy  lines {"id","path"}: remove each cgroup in every hierarchy (the manager's Destroy); out {"id","ok","error"}
//	read     one document {"hierarchies","skip","asSet","targets"}: every file of each target cgroup in every
//	         hierarchy, for the comparison (see read.go); out {"id","digest","files"}
//	probe    one document {"scratch","probeRoot","nodes","targets"}: the device access the kernel grants inside
//	         each target cgroup, measured by a child process (see probe.go); out {"id","digest","access","error"}
//	sdapply  as apply, with "path" in systemd form (slice:prefix:name), through runc's systemd manager, run inside
//	         the test systemd's namespaces (see systemd.go)
//	sddestroy  as destroy, for the scopes of sdapply
//
// A file named after the mode is read instead of stdin (sandbox.sh exec closes stdin).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/runc/libcontainer/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

type caseLine struct {
	ID        string          `json:"id"`
	Path      string          `json:"path"`
	Resources json.RawMessage `json:"resources"`
}

type result struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Stage string `json:"stage,omitempty"`
	Error string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oracle apply|destroy|sdapply|sddestroy|read|probe [input-file] (else stdin)")
		os.Exit(2)
	}
	in, err := inputFile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	switch os.Args[1] {
	case "apply":
		err = eachLine(in, os.Stdout, apply)
	case "destroy":
		err = eachLine(in, os.Stdout, destroy)
	case "sdapply":
		err = eachLine(in, os.Stdout, sdApply)
	case "sddestroy":
		err = eachLine(in, os.Stdout, sdDestroy)
	case "read":
		err = readBack(in, os.Stdout)
	case "probe":
		err = probe(in, os.Stdout)
	case probeChildMode:
		err = probeChild(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}

// eachLine runs f on every JSON line of in and writes one result line per case.
func eachLine(in io.Reader, out io.Writer, f func(caseLine) result) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c caseLine
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return fmt.Errorf("bad input line %q: %w", sc.Text(), err)
		}
		if err := enc.Encode(f(c)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func fail(id, stage string, err error) result {
	return result{ID: id, Stage: stage, Error: err.Error()}
}

// apply does what runc does with linux.cgroupsPath and linux.resources of a container's config.json.
func apply(c caseLine) result {
	// The resources decode into the runtime-spec's own types, so a value that does not fit its field (a negative
	// shares, a limit beyond int64) fails here, as `runc create` fails reading config.json.
	var res specs.LinuxResources
	if len(c.Resources) > 0 {
		if err := json.Unmarshal(c.Resources, &res); err != nil {
			return fail(c.ID, "decode", err)
		}
	}
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: c.Path, Resources: &res}}
	// runc's own conversion (libcontainer/specconv/spec_linux.go CreateCgroupConfig): the caller's device rules
	// (which the test gives with Kata's hypervisor rules already appended) and then runc's default devices.
	cg, err := specconv.CreateCgroupConfig(&specconv.CreateOpts{CgroupName: c.ID, Spec: spec}, specconv.AllowedDevices)
	if err != nil {
		return fail(c.ID, "config", err)
	}
	m, err := manager.New(cg)
	if err != nil {
		return fail(c.ID, "manager", err)
	}
	// -1: create the directories (cpuset's parents filled in, the cpu controller's realtime values written first,
	// as fs/cpu.go Apply does) without moving any process in.
	if err := m.Apply(-1); err != nil {
		return fail(c.ID, "apply", err)
	}
	if err := m.Set(cg.Resources); err != nil {
		return fail(c.ID, "set", err)
	}
	return result{ID: c.ID, OK: true}
}

// destroy removes the cgroup in every hierarchy the manager knows (cgroups.RemovePaths: children first, EBUSY
// retried). The parents the manager created are left to the caller, which made their common root.
func destroy(c caseLine) result {
	m, err := manager.New(&configs.Cgroup{Path: c.Path, Resources: &configs.Resources{}})
	if err != nil {
		return fail(c.ID, "manager", err)
	}
	if err := m.Destroy(); err != nil {
		return fail(c.ID, "destroy", err)
	}
	return result{ID: c.ID, OK: true}
}
