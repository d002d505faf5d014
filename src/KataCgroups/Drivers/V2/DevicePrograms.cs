using System.Runtime.InteropServices;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Interop;

namespace KataCgroups.Drivers.V2;

/// <summary>
/// Attaches the device program of a rule state to a cgroup2 directory, replacing what was there
/// (opencontainers/cgroups devices/ebpf_linux.go). Never only appends: runc once leaked one program per
/// update until attach failed with E2BIG after 64 (runc#2366). With exactly one old program the swap is
/// atomic (BPF_F_REPLACE); otherwise the new program is attached first (so there is never a moment with no
/// filter) and the old ones detached after.
/// </summary>
internal static class DevicePrograms
{
    /// <summary>Loads and attaches the program for <paramref name="state"/> on <paramref name="cgroupDir"/>.</summary>
    internal static void Apply(CgroupFs fs, string cgroupDir, DeviceRuleSet state, ICgroupLog log)
    {
        var program = DeviceFilterProgram.Build(state);
        int dirFd = OpenDirectory(fs, cgroupDir);
        int progFd = -1;
        try
        {
            progFd = Bpf.LoadDeviceProgram(DeviceFilterProgram.Encode(program), out int errno, out var verifierLog);
            if (progFd < 0)
            {
                log.Debug($"BPF_PROG_LOAD: {Errno.Describe(errno)}; verifier log: {verifierLog}");
                throw new CgroupException(ErrorIds.CgroupWriteFailed, CgroupErrorKind.WriteFailed,
                    $"failed to load the device eBPF program ({program.Count} instructions) for {cgroupDir}: {Errno.Describe(errno)}", cgroupDir, errno);
            }
            var old = Bpf.Query(dirFd, out errno) ?? throw new CgroupException(ErrorIds.CgroupReadFailed, CgroupErrorKind.ReadFailed,
                $"failed to list the device programs of {cgroupDir}: {Errno.Describe(errno)}", cgroupDir, errno);

            if (old.Length == 1)
            {
                int oldFd = Bpf.ProgramFdById(old[0], out errno);
                if (oldFd >= 0)
                {
                    try
                    {
                        log.Verbose($"bpf attach {cgroupDir}: device program ({program.Count} insns) replacing program {old[0]}");
                        if (Bpf.Attach(dirFd, progFd, Bpf.BPF_F_ALLOW_MULTI | Bpf.BPF_F_REPLACE, oldFd, out errno) == 0) return;
                        // Kernels before 5.6 lack BPF_F_REPLACE (EINVAL): fall through to attach + detach.
                        log.Debug($"BPF_F_REPLACE: {Errno.Describe(errno)}, attaching then detaching instead");
                    }
                    finally { Libc.Close(oldFd); }
                }
            }

            log.Verbose($"bpf attach {cgroupDir}: device program ({program.Count} insns)");
            if (Bpf.Attach(dirFd, progFd, Bpf.BPF_F_ALLOW_MULTI, -1, out errno) != 0)
                throw new CgroupException(ErrorIds.CgroupWriteFailed, errno is Errno.EPERM or Errno.EACCES ? CgroupErrorKind.PermissionDenied : CgroupErrorKind.WriteFailed,
                    $"failed to attach the device eBPF program to {cgroupDir}: {Errno.Describe(errno)}", cgroupDir, errno);
            foreach (var id in old)
            {
                int fd = Bpf.ProgramFdById(id, out errno);
                if (fd < 0) continue; // already gone
                try
                {
                    log.Verbose($"bpf detach {cgroupDir}: old program {id}");
                    if (Bpf.Detach(dirFd, fd, out errno) != 0 && errno != Errno.ENOENT)
                        throw new CgroupException(ErrorIds.CgroupWriteFailed, CgroupErrorKind.WriteFailed,
                            $"failed to detach old device program {id} from {cgroupDir}: {Errno.Describe(errno)}", cgroupDir, errno);
                }
                finally { Libc.Close(fd); }
            }
        }
        finally
        {
            if (progFd >= 0) Libc.Close(progFd); // the attachment holds its own reference
            Libc.Close(dirFd);
        }
    }

    /// <summary>Ids of the device programs attached to a cgroup2 directory.</summary>
    internal static IReadOnlyList<uint> Attached(CgroupFs fs, string cgroupDir)
    {
        int dirFd = OpenDirectory(fs, cgroupDir);
        try
        {
            return Bpf.Query(dirFd, out int errno) ?? throw new CgroupException(ErrorIds.CgroupReadFailed, CgroupErrorKind.ReadFailed,
                $"failed to list the device programs of {cgroupDir}: {Errno.Describe(errno)}", cgroupDir, errno);
        }
        finally { Libc.Close(dirFd); }
    }

    private static int OpenDirectory(CgroupFs fs, string dir)
    {
        // Beneath the hierarchy, like every other open (Drivers/CgroupRoots).
        int fd = fs.Open(dir, Libc.O_RDONLY | Openat2.O_DIRECTORY, out int errno);
        if (fd < 0)
        {
            throw new CgroupException(errno == Errno.ENOENT ? ErrorIds.CgroupNotFound : ErrorIds.CgroupReadFailed,
                errno == Errno.ENOENT ? CgroupErrorKind.NotFound : CgroupErrorKind.ReadFailed,
                $"cannot open cgroup directory {dir}: {Errno.Describe(errno)}", dir, errno);
        }
        return fd;
    }
}
