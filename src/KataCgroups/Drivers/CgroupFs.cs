using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;

namespace KataCgroups.Drivers;

/// <summary>
/// cgroupfs primitives shared by the cgroupfs drivers: one value per write(2) (the kernel parses each write as
/// one value), mkdir/rmdir with exact errnos, pid moves with upstream's retry rules (opencontainers/cgroups
/// file.go, fs/paths.go, utils.go RemovePath). An instance works beneath one host's hierarchy roots
/// (<see cref="CgroupRoots"/>), which it owns: <see cref="CgroupManager"/> makes one per probed host, passes it to its
/// drivers and disposes it. What needs no root (parsing, errors, files outside cgroupfs) is static.
/// </summary>
internal sealed class CgroupFs : IDisposable
{
    internal CgroupFs(CgroupRoots roots) => Roots = roots;

    /// <summary>The primitives beneath the hierarchies of <paramref name="host"/>; the caller disposes them.</summary>
    internal static CgroupFs For(HostInfo host) => new(CgroupRoots.For(host));

    /// <summary>The hierarchy roots every open, mkdir and rmdir resolves beneath.</summary>
    internal CgroupRoots Roots { get; }

    /// <summary>Closes the hierarchy roots.</summary>
    public void Dispose() => Roots.Dispose();

    /// <inheritdoc cref="CgroupRoots.Open"/>
    internal int Open(string path, int flags, out int errno) => Roots.Open(path, flags, out errno);

    /// <inheritdoc cref="CgroupRoots.DirectoryExists"/>
    internal bool DirectoryExists(string path) => Roots.DirectoryExists(path);

    /// <inheritdoc cref="CgroupRoots.TryGetLinkCount"/>
    internal bool TryGetLinkCount(string path, out uint nlink) => Roots.TryGetLinkCount(path, out nlink);

    /// <summary>Writes one value with a single write(2), the file opened beneath its hierarchy; returns 0 or the errno.</summary>
    internal int TryWrite(string path, string value)
    {
        int fd = Roots.Open(path, Libc.O_WRONLY, out int openErrno);
        return fd < 0 ? openErrno : WriteAndClose(fd, value);
    }

    /// <summary>
    /// <see cref="TryWrite(string, string, ICgroupLog)"/> of <paramref name="file"/> in the cgroup directory
    /// <paramref name="dir"/>, without building the path (every write of a create or update goes here).
    /// </summary>
    internal int TryWriteIn(string dir, string file, string value, ICgroupLog log)
    {
        if (log.VerboseEnabled) log.Verbose($"write {dir}/{file} = {value}");
        int errno = WriteIn(dir, file, value);
        if (errno != 0) log.Debug($"write {dir}/{file} = {value}: {Errno.Describe(errno)}");
        return errno;
    }

    /// <summary>One value into <paramref name="file"/> of <paramref name="dir"/>: 0 or the errno.</summary>
    private int WriteIn(string dir, string file, string value)
    {
        int fd = Roots.OpenIn(dir, file, Libc.O_WRONLY, out int errno);
        return fd < 0 ? errno : WriteAndClose(fd, value);
    }

    [SkipLocalsInit]
    private static unsafe int WriteAndClose(int fd, string value)
    {
        try
        {
            int len = Encoding.UTF8.GetByteCount(value);
            byte[]? rented = null;
            Span<byte> bytes = len <= 512 ? stackalloc byte[512] : (rented = new byte[len]);
            Encoding.UTF8.GetBytes(value, bytes);
            fixed (byte* p = bytes)
            {
                nint n;
                do { n = Libc.Write(fd, p, len); }
                while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
                if (n < 0) return Marshal.GetLastPInvokeError();
                // cgroup files consume a whole write or fail it; a short write would mean a different value.
                if (n != len) return Errno.EIO;
            }
            return 0;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Writes or throws <see cref="ErrorIds.CgroupWriteFailed"/> naming file, value and errno.</summary>
    internal void Write(string path, string value, ICgroupLog log)
    {
        int errno = TryWrite(path, value, log);
        if (errno != 0) throw WriteFailed(path, value, errno);
    }

    /// <summary>One write, reported as it happens (-Verbose) and, when it fails, with its errno (-Debug).</summary>
    internal int TryWrite(string path, string value, ICgroupLog log)
    {
        if (log.VerboseEnabled) log.Verbose($"write {path} = {value}");
        int errno = TryWrite(path, value);
        if (errno != 0) log.Debug($"write {path} = {value}: {Errno.Describe(errno)}");
        return errno;
    }

    internal static CgroupException WriteFailed(string path, string value, int errno, string? detail = null) =>
        new(ErrorIds.CgroupWriteFailed, errno is Errno.EACCES or Errno.EPERM ? CgroupErrorKind.PermissionDenied
                : errno == Errno.EBUSY ? CgroupErrorKind.ResourceBusy : CgroupErrorKind.WriteFailed,
            $"failed to write '{value}' to {path}: {Errno.Describe(errno)}{(detail ?? Escape(errno)) switch { null => "", var d => "; " + d }}",
            path, errno);

    /// <summary>What EXDEV/ELOOP from a beneath-the-hierarchy open mean (see <see cref="CgroupRoots"/>).</summary>
    internal static string? Escape(int errno) => errno is Errno.EXDEV or Errno.ELOOP
        ? "the path leaves its cgroup hierarchy (through a symlink, a magic link or a mount planted inside it), so nothing was written there"
        : null;

    /// <summary>Reads a whole file; null when it does not exist.</summary>
    internal string? TryRead(string path) => TryReadIn(path, null);

    /// <summary>
    /// The errnos that mean "not there (any more)": ENOENT/ENOTDIR from the open, and ENODEV from a read of a file
    /// whose cgroup was removed after the open (kernfs refuses I/O on a deactivated node, fs/kernfs/file.c
    /// kernfs_seq_start) — a listing racing a removal reads that cgroup as gone, not as an error.
    /// </summary>
    private static bool Gone(int errno) => errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ENODEV;

    /// <summary>
    /// A file outside cgroupfs (procfs, sysfs), trimmed; null when it cannot be read (a process that is gone). Cgroup
    /// files go through <see cref="TryRead"/>, which opens only beneath a registered hierarchy. One open, read and
    /// close on the stack: Remove reads <c>/proc/&lt;pid&gt;/cgroup</c> for every process it moves.
    /// </summary>
    internal static string? TryReadSystemFile(string path)
    {
        int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        return fd < 0 ? null : ReadAndClose(fd, out _)?.Trim();
    }

    /// <summary>
    /// Reads <paramref name="file"/> of the cgroup directory <paramref name="dir"/> (<see cref="TryRead"/> of
    /// <c>dir/file</c> without building that path); null when it does not exist.
    /// </summary>
    internal string? TryReadIn(string dir, string? file)
    {
        int fd = Roots.OpenIn(dir, file, Libc.O_RDONLY, out int errno);
        return fd < 0 ? (Gone(errno) ? null : throw ReadFailed(PathOf(dir, file), errno)) : TryReadOpened(fd, dir, file);
    }

    /// <summary>
    /// Reads and closes an opened cgroup file (<paramref name="file"/> of <paramref name="dir"/>, named only in an
    /// error); null when it is gone meanwhile (its cgroup removed), else throws.
    /// </summary>
    internal static string? TryReadOpened(int fd, string dir, string? file)
    {
        var text = ReadAndClose(fd, out int errno);
        return text ?? (Gone(errno) ? null : throw ReadFailed(PathOf(dir, file), errno));
    }

    private static string PathOf(string dir, string? file) => file is null ? dir : dir + "/" + file;

    /// <summary>
    /// A one-number file of the cgroup directory <paramref name="dir"/>, parsed from the bytes read — no string in
    /// between (Get-KataCgroup reads a dozen per cgroup): "max" → -1; null when the file is not there or holds no
    /// number. <paramref name="exists"/> says whether it was read at all.
    /// </summary>
    [SkipLocalsInit]
    internal unsafe long? TryReadNumberIn(string dir, string file, out bool exists)
    {
        int fd = Roots.OpenIn(dir, file, Libc.O_RDONLY, out int errno);
        exists = false;
        if (fd < 0) return Gone(errno) ? null : throw ReadFailed(PathOf(dir, file), errno);
        try
        {
            // A number file is one short line; 64 bytes hold any of them. A read that fills the buffer is no number.
            byte* buf = stackalloc byte[64];
            nint n;
            do { n = Libc.Read(fd, buf, 64); }
            while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (n < 0) return Gone(errno = Marshal.GetLastPInvokeError()) ? null : throw ReadFailed(PathOf(dir, file), errno);
            exists = true;
            if (n == 64) return null;
            var text = new ReadOnlySpan<byte>(buf, (int)n).Trim(" \t\n"u8);
            if (text.SequenceEqual("max"u8)) return -1;
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        finally { Libc.Close(fd); }
    }

    /// <summary>Reads a file or throws <see cref="ErrorIds.CgroupReadFailed"/>.</summary>
    internal string Read(string path) => TryReadFile(path, out int errno) ?? throw ReadFailed(path, errno);

    private static CgroupException ReadFailed(string path, int errno) =>
        new(ErrorIds.CgroupReadFailed, CgroupErrorKind.ReadFailed,
            $"failed to read {path}: {Errno.Describe(errno)}{(Escape(errno) is { } d ? "; " + d : "")}", path, errno);

    /// <summary>The whole file, opened beneath its hierarchy; null and the errno on failure.</summary>
    private string? TryReadFile(string path, out int errno)
    {
        int fd = Roots.Open(path, Libc.O_RDONLY, out errno);
        return fd < 0 ? null : ReadAndClose(fd, out errno);
    }

    [SkipLocalsInit]
    private static unsafe string? ReadAndClose(int fd, out int errno)
    {
        try
        {
            // Most cgroup files are a line; memory.stat and devices.list a few KiB. The first page is read on the
            // stack (Get-KataCgroup reads a dozen files per cgroup: no garbage per read); bigger files grow a heap
            // buffer.
            Span<byte> first = stackalloc byte[4096];
            byte[]? heap = null;
            int total = 0;
            while (true)
            {
                Span<byte> buf = heap is null ? first : heap;
                if (total == buf.Length)
                {
                    var bigger = new byte[buf.Length * 2];
                    buf.CopyTo(bigger);
                    heap = bigger;
                    buf = heap;
                }
                nint n;
                fixed (byte* p = &buf[total])
                {
                    do { n = Libc.Read(fd, p, buf.Length - total); }
                    while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
                }
                if (n < 0) { errno = Marshal.GetLastPInvokeError(); return null; }
                if (n == 0) break;
                total += (int)n;
                // cgroup and proc files are seq_files, which fill a read as far as they have data: a short read is
                // the end (saves the second read(2) that would only return 0).
                if (total < buf.Length) break;
            }
            errno = 0;
            return Encoding.UTF8.GetString(heap is null ? first[..total] : heap.AsSpan(0, total));
        }
        finally { Libc.Close(fd); }
    }

    /// <summary>
    /// The huge page sizes a hugetlb cgroup directory has files for, by their <paramref name="suffix"/>
    /// (v1 <c>hugetlb.2MB.limit_in_bytes</c>, v2 <c>hugetlb.2MB.max</c> → <c>2MB</c>); empty when there is no directory.
    /// </summary>
    internal static IReadOnlyList<string> HugePageSizes(string? dir, string suffix)
    {
        if (dir is null || !Directory.Exists(dir)) return Array.Empty<string>();
        return Directory.EnumerateFiles(dir, "hugetlb.*" + suffix)
            .Select(f => Path.GetFileName(f)["hugetlb.".Length..^suffix.Length])
            .Where(s => s.Length > 0 && !s.Contains('.'))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>First line of a file, trimmed; null when missing.</summary>
    internal string? TryReadValue(string path) => TryRead(path)?.Trim();

    /// <summary>Parses a cgroup number: "max" → -1; null when missing or not a number.</summary>
    internal long? TryReadNumber(string path) => ParseNumber(TryReadValue(path));

    /// <summary>A cgroup number from a file's trimmed text: "max" → -1; null when null or not a number.</summary>
    internal static long? ParseNumber(string? s)
    {
        if (s is null) return null;
        if (s == "max") return -1;
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    /// <summary>mkdir 0755; returns true when this call created it, false when it existed.</summary>
    internal bool Mkdir(string path, ICgroupLog log)
    {
        int errno = Roots.Mkdir(path);
        if (errno == 0)
        {
            if (log.VerboseEnabled) log.Verbose($"mkdir {path}");
            return true;
        }
        if (errno == Errno.EEXIST && Directory.Exists(path)) return false;
        log.Debug($"mkdir {path}: {Errno.Describe(errno)}");
        throw MkdirFailed(path, errno);
    }

    internal static CgroupException MkdirFailed(string path, int errno) =>
        new(ErrorIds.CgroupCreateFailed,
            errno is Errno.EACCES or Errno.EPERM ? CgroupErrorKind.PermissionDenied : CgroupErrorKind.WriteFailed,
            $"failed to create cgroup directory {path}: {Errno.Describe(errno)}{(Escape(errno) is { } d ? "; " + d : "")}", path, errno);

    /// <summary>
    /// rmdir with the upstream backoff (opencontainers/cgroups utils.go RemovePath/rmdir): EBUSY retried 10
    /// times from 1 ms doubling — the kernel frees a cgroup asynchronously after its last task exits;
    /// ENOENT counts as removed. Returns 0, or the last errno.
    /// </summary>
    internal int Rmdir(string path, ICgroupLog log)
    {
        int delayMs = 1;
        for (int attempt = 0; ; attempt++)
        {
            int errno = Roots.Rmdir(path);
            if (errno == 0)
            {
                if (log.VerboseEnabled) log.Verbose($"rmdir {path}");
                return 0;
            }
            if (errno == Errno.ENOENT) return 0;
            if (errno != Errno.EBUSY || attempt >= 9)
            {
                log.Debug($"rmdir {path}: {Errno.Describe(errno)}");
                return errno;
            }
            log.Debug($"rmdir {path}: EBUSY, retry in {delayMs} ms");
            Thread.Sleep(delayMs);
            delayMs *= 2;
        }
    }

    /// <summary>mkdir 0755 once: 0 when made (reported), else the errno (EEXIST, ENOENT for a missing parent…).</summary>
    internal int TryMkdir(string path, ICgroupLog log)
    {
        int errno = Roots.Mkdir(path);
        if (errno == 0 && log.VerboseEnabled) log.Verbose($"mkdir {path}");
        else if (errno != Errno.EEXIST && errno != Errno.ENOENT) log.Debug($"mkdir {path}: {Errno.Describe(errno)}");
        return errno;
    }

    /// <summary>rmdir once, reported when it removed: 0, or the errno (ENOENT: it was already gone).</summary>
    internal int TryRmdirOnce(string path, ICgroupLog log)
    {
        int errno = Roots.Rmdir(path);
        if (errno == 0 && log.VerboseEnabled) log.Verbose($"rmdir {path}");
        return errno;
    }

    /// <summary>Pids in <c>cgroup.procs</c> (empty when the directory is gone).</summary>
    internal List<int> ReadProcs(string dir) => TryReadProcs(dir) ?? new List<int>();

    /// <summary>The pids in <c>cgroup.procs</c>; null when it cannot be read (no such cgroup), unlike an empty one.</summary>
    internal List<int>? TryReadProcs(string dir) => TryReadIds(dir, "cgroup.procs");

    /// <summary>
    /// What moving a cgroup directory's tasks out takes, and the list file each id goes to: its processes
    /// (<c>cgroup.procs</c>), or, in a threaded cgroup of v2, its threads (<c>cgroup.threads</c>), each alone. A threaded
    /// cgroup refuses reads of its <c>cgroup.procs</c> with EOPNOTSUPP (cgroup-v2.rst "Threads": the file is not
    /// readable in the threaded subtree proper), which is how it is told apart here without another read. Empty when
    /// the directory is gone.
    /// </summary>
    internal (List<int> Ids, string File) ReadTasksToMove(string dir)
    {
        try { return (ReadProcs(dir), "cgroup.procs"); }
        catch (CgroupException e) when (e.Errno == Errno.EOPNOTSUPP)
        {
            return (TryReadIds(dir, "cgroup.threads") ?? new List<int>(), "cgroup.threads");
        }
    }

    /// <summary>
    /// The ids in a list file of a cgroup directory (<c>cgroup.procs</c>, v1 <c>tasks</c>, v2 <c>cgroup.threads</c>), one
    /// per line; null when it cannot be read (no such cgroup).
    /// </summary>
    internal List<int>? TryReadIds(string dir, string file)
    {
        var text = TryReadIn(dir, file);
        if (text is null) return null;
        var pids = new List<int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) pids.Add(pid);
        }
        return pids;
    }

    /// <summary>
    /// Moves a pid into <paramref name="dir"/>. Returns 0 on success or the errno; ESRCH means the process is
    /// gone. EINVAL is retried 5 × 30 ms: a task that is exiting or being forked briefly refuses to move
    /// (opencontainers/cgroups utils.go WriteCgroupProc).
    /// </summary>
    internal int TryAddProcess(string dir, int pid, ICgroupLog log) => TryAddId(dir, "cgroup.procs", pid, log);

    /// <summary>
    /// <see cref="TryAddProcess"/> for any list file: <c>cgroup.procs</c> (a whole process), v1 <c>tasks</c> or v2
    /// <c>cgroup.threads</c> (one thread). The same EINVAL retry: the kernel refuses a task that is exiting or forking.
    /// </summary>
    internal int TryAddId(string dir, string file, int id, ICgroupLog log)
    {
        var value = id.ToString(CultureInfo.InvariantCulture);
        if (log.VerboseEnabled) log.Verbose($"write {dir}/{file} = {value}");
        int errno = 0;
        for (int i = 0; i < 5; i++)
        {
            errno = WriteIn(dir, file, value);
            if (errno != 0 && errno != Errno.EINVAL) log.Debug($"{dir}/{file} = {value}: {Errno.Describe(errno)}");
            if (errno != Errno.EINVAL) return errno;
            log.Debug($"{dir}/{file} = {value}: EINVAL, retry in 30 ms");
            Thread.Sleep(30);
        }
        return errno;
    }
}
