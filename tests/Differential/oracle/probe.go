package main

// The device probe: what the kernel actually grants inside a cgroup, for a list of device numbers, measured the
// only way that includes every layer (the v1 devices controller's exception list, or the eBPF programs on v2):
// by a process in that cgroup trying mknod(2) and open(2) for reading and for writing. The v1 devices.list cannot
// show this (an allow-all cgroup lists "a *:* rwm" whatever its deny exceptions; devices.rst,
// Documentation/admin-guide/cgroup-v1/devices.rst) and v2 has no list at all.
//
// The device nodes live in a private tmpfs, mounted in a mount namespace of the probe's own (a child started with
// CLONE_NEWNS), so nothing is left on the host's file systems whatever happens. They are made before the probe
// joins any target (the target may deny mknod); then, per target, the probe tries each access under that target's
// device rules (how, for v1 and v2, below). The device cgroup checks happen before the driver is reached (devcgroup_inode_permission from
// inode_permission; devcgroup_inode_mknod from vfs_mknod), and a denial is always EPERM; every other outcome
// (success, ENXIO for a number with no driver) is "allowed". The caller chooses numbers whose open has no side
// effect (no driver, or a known harmless one), never a watchdog.
//
// v1: the probe joins the target's directory in the devices hierarchy only, so the target's memory or pids limits
// (other hierarchies) never touch it. v2: one directory holds every controller, and a memory.max of a few pages
// would kill the probe; so the probe joins a cgroup of its own below probeRoot, once, and for each target attaches
// there the target's effective device programs (BPF_PROG_QUERY with BPF_F_QUERY_EFFECTIVE, BPF_PROG_GET_FD_BY_ID,
// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI), tries the nodes, and detaches them again: the same programs, run by the
// kernel on the same device, decide (include/uapi/linux/bpf.h; kernel/bpf/cgroup.c runs every effective program
// and allows only when all do). Attaching is cheap where moving a process between cgroups waits for an RCU grace
// period (cgroup_threadgroup_rwsem), which a TCG guest makes slow.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

const probeChildMode = "probe-child"

type probeNode struct {
	Type  string `json:"type"` // "c" or "b"
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
}

func (n probeNode) key() string { return fmt.Sprintf("%s %d:%d", n.Type, n.Major, n.Minor) }

type probeTarget struct {
	ID   string `json:"id"`
	Path string `json:"path"` // hierarchy-relative cgroup path
}

type probeInput struct {
	Scratch   string        `json:"scratch"`   // an existing directory the private tmpfs is mounted on
	ProbeRoot string        `json:"probeRoot"` // v2: hierarchy-relative directory for the program copies (made and removed)
	Nodes     []probeNode   `json:"nodes"`
	Targets   []probeTarget `json:"targets"`
}

type probeResult struct {
	ID       string            `json:"id"`
	Digest   string            `json:"digest,omitempty"`   // sha256 of access as JSON: equal digests, equal access
	Access   map[string]string `json:"access,omitempty"`   // "c 1:3" -> the granted subset of "rwm"
	Programs *int              `json:"programs,omitempty"` // v2: the effective device programs attached for the probe
	Error    string            `json:"error,omitempty"`
}

// probe starts the child in a mount namespace of its own and relays its output.
func probe(in io.Reader, out io.Writer) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	var p probeInput
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("bad probe input: %w", err)
	}
	if p.Scratch == "" || !filepath.IsAbs(p.Scratch) {
		return errors.New("probe: scratch must be an absolute directory")
	}
	if err := os.MkdirAll(p.Scratch, 0o700); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, probeChildMode)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	return cmd.Run()
}

func probeChild(in io.Reader, out io.Writer) error {
	var p probeInput
	if err := json.NewDecoder(in).Decode(&p); err != nil {
		return err
	}
	// Private propagation first, so the tmpfs never shows in the host's mount table.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := unix.Mount("tmpfs", p.Scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0700,size=1m"); err != nil {
		return fmt.Errorf("mounting the scratch tmpfs: %w", err)
	}
	defer unix.Unmount(p.Scratch, unix.MNT_DETACH) //nolint:errcheck
	for i, n := range p.Nodes {
		mode, err := nodeMode(n.Type)
		if err != nil {
			return err
		}
		if err := unix.Mknod(nodePath(p.Scratch, "n", i), mode|0o600, int(unix.Mkdev(n.Major, n.Minor))); err != nil {
			return fmt.Errorf("mknod %s before joining any target: %w", n.key(), err)
		}
	}

	unified := cgroups.IsCgroup2UnifiedMode()
	own, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	var mount, home string
	if unified {
		mount = "/sys/fs/cgroup"
		home = mount + own[""]
	} else {
		mount, err = cgroups.FindCgroupMountpoint("", "devices")
		if err != nil {
			return err
		}
		home = mount + own["devices"]
	}
	own2 := -1
	if unified {
		probeRoot := mount + p.ProbeRoot
		if err := os.Mkdir(probeRoot, 0o755); err != nil {
			return fmt.Errorf("making the probe root: %w", err)
		}
		defer os.Remove(probeRoot)
		dir := filepath.Join(probeRoot, "probe")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		defer os.Remove(dir)
		if own2, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return err
		}
		defer unix.Close(own2)
		if err := join(dir); err != nil {
			return err
		}
		defer join(home) //nolint:errcheck
	}

	enc := json.NewEncoder(out)
	for _, t := range p.Targets {
		r := probeResult{ID: t.ID}
		var err error
		if unified {
			var n int
			n, err = probeV2(p, mount+t.Path, own2, &r)
			r.Programs = &n
		} else {
			err = probeIn(p, mount+t.Path, home, &r)
		}
		if err != nil {
			r.Error = err.Error()
			r.Access = nil
		} else {
			canonical, err := json.Marshal(r.Access) // map keys sorted
			if err != nil {
				return err
			}
			sum := sha256.Sum256(canonical)
			r.Digest = hex.EncodeToString(sum[:])
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// probeV2 attaches the leaf's effective device programs to the probe's own cgroup (fd own), tries every node, and
// detaches them again.
func probeV2(p probeInput, leaf string, own int, r *probeResult) (int, error) {
	lfd, err := unix.Open(leaf, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(lfd)
	ids, err := progQuery(lfd)
	if err != nil {
		return 0, fmt.Errorf("BPF_PROG_QUERY %s: %w", leaf, err)
	}
	var attached []int
	defer func() {
		for _, pfd := range attached {
			_ = progAttach(unix.BPF_PROG_DETACH, own, pfd, 0)
			unix.Close(pfd)
		}
	}()
	for _, id := range ids {
		pfd, err := progFdByID(id)
		if err != nil {
			return 0, fmt.Errorf("BPF_PROG_GET_FD_BY_ID %d: %w", id, err)
		}
		if err := progAttach(unix.BPF_PROG_ATTACH, own, pfd, unix.BPF_F_ALLOW_MULTI); err != nil {
			unix.Close(pfd)
			return 0, fmt.Errorf("BPF_PROG_ATTACH %d: %w", id, err)
		}
		attached = append(attached, pfd)
	}
	return len(ids), probeNodes(p, r)
}

// probeIn joins dir, tries every node, and goes home again (also when a step fails).
func probeIn(p probeInput, dir, home string, r *probeResult) (err error) {
	if err := join(dir); err != nil {
		return err
	}
	defer func() {
		if herr := join(home); herr != nil && err == nil {
			err = fmt.Errorf("returning to %s: %w", home, herr)
		}
	}()
	return probeNodes(p, r)
}

// probeNodes tries every node from where the probe is now.
func probeNodes(p probeInput, r *probeResult) error {
	r.Access = make(map[string]string, len(p.Nodes))
	for i, n := range p.Nodes {
		mode, _ := nodeMode(n.Type)
		access := ""
		if allowed(openErr(nodePath(p.Scratch, "n", i), unix.O_RDONLY)) {
			access += "r"
		}
		if allowed(openErr(nodePath(p.Scratch, "n", i), unix.O_WRONLY)) {
			access += "w"
		}
		m := nodePath(p.Scratch, "m", i)
		merr := unix.Mknod(m, mode|0o600, int(unix.Mkdev(n.Major, n.Minor)))
		if merr == nil {
			_ = unix.Unlink(m)
		}
		if allowed(merr) {
			access += "m"
		}
		r.Access[n.key()] = access
	}
	return nil
}

func join(dir string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
}

// O_NONBLOCK and O_NOCTTY: a tty or serial number must neither block nor become the probe's terminal.
func openErr(path string, flag int) error {
	fd, err := unix.Open(path, flag|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func allowed(err error) bool { return !errors.Is(err, unix.EPERM) }

func nodeMode(t string) (uint32, error) {
	switch t {
	case "c":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	}
	return 0, fmt.Errorf("node type %q is neither c nor b", t)
}

func nodePath(dir, prefix string, i int) string {
	return filepath.Join(dir, prefix+strconv.Itoa(i))
}

// The bpf(2) attributes used here (include/uapi/linux/bpf.h union bpf_attr), only as far as they are needed: the
// kernel zero-fills the rest (bpf_check_uarg_tail_zero).
type bpfQueryAttr struct {
	targetFd    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIds     uint64
	progCnt     uint32
	_           uint32
}

type bpfGetFdAttr struct {
	progID    uint32
	nextID    uint32
	openFlags uint32
	_         uint32
}

type bpfAttachAttr struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
	_            uint32
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

func progQuery(fd int) ([]uint32, error) {
	ids := make([]uint32, 64)
	attr := bpfQueryAttr{
		targetFd:   uint32(fd),
		attachType: unix.BPF_CGROUP_DEVICE,
		queryFlags: unix.BPF_F_QUERY_EFFECTIVE,
		progIds:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
		progCnt:    uint32(len(ids)),
	}
	if _, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return nil, err
	}
	return ids[:attr.progCnt], nil
}

func progFdByID(id uint32) (int, error) {
	attr := bpfGetFdAttr{progID: id}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return int(fd), err
}

// progAttach is BPF_PROG_ATTACH or BPF_PROG_DETACH of a device program (the same attributes).
func progAttach(cmd, target, prog int, flags uint32) error {
	attr := bpfAttachAttr{
		targetFd:    uint32(target),
		attachBpfFd: uint32(prog),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: flags,
	}
	_, err := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}
