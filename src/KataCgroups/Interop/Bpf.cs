using System.Runtime.InteropServices;

namespace KataCgroups.Interop;

/// <summary>
/// The bpf(2) commands the v2 device controller needs: load a program, attach/detach it on a cgroup, list the
/// attached programs, open one by id. Layouts of <c>union bpf_attr</c> from include/uapi/linux/bpf.h; the
/// attr is passed zero-padded to 128 bytes (the kernel checks that unknown tail bytes are zero).
/// </summary>
internal static unsafe partial class Bpf
{
    internal const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_QUERY = 16, BPF_PROG_GET_FD_BY_ID = 13;
    internal const int BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    internal const int BPF_CGROUP_DEVICE = 6;
    internal const uint BPF_F_ALLOW_MULTI = 2, BPF_F_REPLACE = 4;
    private const int AttrSize = 128;

    // __NR_bpf: 321 on x86_64, 280 on arm64 (asm-generic).
    private static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        _ => -1,
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long cmd, byte* attr, long size);

    private static long Call(int cmd, byte* attr, out int errno)
    {
        if (SysBpf < 0) { errno = Errno.ENOSYS; return -1; }
        long r = Syscall(SysBpf, cmd, attr, AttrSize);
        errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
        return r;
    }

    /// <summary>Loads a cgroup device program; returns its fd or -1 with errno (and the verifier log in <paramref name="log"/>).</summary>
    internal static int LoadDeviceProgram(ReadOnlySpan<byte> insns, out int errno, out string log)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        byte[] license = "Apache\0"u8.ToArray();
        byte[] logBuf = new byte[64 * 1024];
        fixed (byte* pIns = insns)
        fixed (byte* pLic = license)
        fixed (byte* pLog = logBuf)
        {
            *(uint*)(attr + 0) = BPF_PROG_TYPE_CGROUP_DEVICE;  // prog_type
            *(uint*)(attr + 4) = (uint)(insns.Length / 8);      // insn_cnt
            *(ulong*)(attr + 8) = (ulong)pIns;                  // insns
            *(ulong*)(attr + 16) = (ulong)pLic;                 // license
            *(uint*)(attr + 24) = 1;                            // log_level
            *(uint*)(attr + 28) = (uint)logBuf.Length;          // log_size
            *(ulong*)(attr + 32) = (ulong)pLog;                 // log_buf
            var name = "kata_devices"u8;                        // prog_name[16] at offset 48
            name.CopyTo(new Span<byte>(attr + 48, 16));
            long fd = Call(BPF_PROG_LOAD, attr, out errno);
            int end = Array.IndexOf(logBuf, (byte)0);
            log = System.Text.Encoding.UTF8.GetString(logBuf, 0, end < 0 ? logBuf.Length : end);
            return (int)fd;
        }
    }

    /// <summary>BPF_PROG_ATTACH with flags (and the program to replace for BPF_F_REPLACE).</summary>
    internal static int Attach(int cgroupFd, int progFd, uint flags, int replaceFd, out int errno)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)cgroupFd;   // target_fd
        *(uint*)(attr + 4) = (uint)progFd;     // attach_bpf_fd
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;// attach_type
        *(uint*)(attr + 12) = flags;           // attach_flags
        *(uint*)(attr + 16) = (uint)replaceFd; // replace_bpf_fd
        return (int)Call(BPF_PROG_ATTACH, attr, out errno);
    }

    /// <summary>BPF_PROG_DETACH of one program.</summary>
    internal static int Detach(int cgroupFd, int progFd, out int errno)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)cgroupFd;
        *(uint*)(attr + 4) = (uint)progFd;
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;
        return (int)Call(BPF_PROG_DETACH, attr, out errno);
    }

    /// <summary>
    /// Ids of the device programs attached directly to a cgroup (not inherited ones), or null with errno.
    /// 64 is the kernel's per-cgroup limit (BPF_CGROUP_MAX_PROGS), so one call always fits.
    /// </summary>
    internal static uint[]? Query(int cgroupFd, out int errno)
    {
        var ids = new uint[64];
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        fixed (uint* pIds = ids)
        {
            *(uint*)(attr + 0) = (uint)cgroupFd;       // target_fd
            *(uint*)(attr + 4) = BPF_CGROUP_DEVICE;    // attach_type
            *(ulong*)(attr + 16) = (ulong)pIds;        // prog_ids
            *(uint*)(attr + 24) = (uint)ids.Length;    // prog_cnt (in: capacity, out: count)
            if (Call(BPF_PROG_QUERY, attr, out errno) < 0) return null;
        }
        uint count = *(uint*)(attr + 24);
        return ids.AsSpan(0, (int)Math.Min(count, (uint)ids.Length)).ToArray();
    }

    /// <summary>An fd for a loaded program by id.</summary>
    internal static int ProgramFdById(uint id, out int errno)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = id;
        return (int)Call(BPF_PROG_GET_FD_BY_ID, attr, out errno);
    }
}
