using KataCgroups.Errors;

namespace KataCgroups.Stats;

/// <summary>
/// Reading statistics files of one cgroup directory. A missing file (controller not mounted, kernel too old) is
/// null, not an error; any other failure names the file (<see cref="ErrorIds.CgroupReadFailed"/>).
/// </summary>
internal static class StatFiles
{
    /// <summary>
    /// v1 reports an unlimited limit as PAGE_COUNTER_MAX pages in bytes (LONG_MAX rounded down to the page size,
    /// so the exact number depends on the page size); no real limit comes near 2^62 bytes.
    /// </summary>
    public const long V1UnlimitedAbove = 1L << 62;

    /// <summary>The file's text, or null when it (or its directory) does not exist.</summary>
    public static string? Read(string? dir, string file)
    {
        if (dir is null) return null;
        var path = Path.Combine(dir, file);
        try { return File.ReadAllText(path); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException(ErrorIds.CgroupReadFailed, CgroupErrorKind.ReadFailed, $"failed to read {path}: {e.Message}", path, inner: e);
        }
    }

    /// <summary>
    /// A PSI file, or null when the kernel gives none: missing (no CONFIG_PSI), or failing with EOPNOTSUPP when PSI
    /// is off (<c>psi=0</c>) or switched off for the cgroup (<c>cgroup.pressure</c> = 0, Linux 6.5+) — runc
    /// fs2/psi.go treats both as "no PSI" too.
    /// </summary>
    public static Pressure? Pressure(string? dir, string file)
    {
        if (dir is null) return null;
        try { return StatParsers.Pressure(File.ReadAllText(Path.Combine(dir, file))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A single number (<c>max</c> → -1), or null when missing.</summary>
    public static long? Number(string? dir, string file, long unlimitedAbove = long.MaxValue) =>
        StatParsers.Number(Read(dir, file), unlimitedAbove);

    /// <summary>A flat keyed file; empty when missing.</summary>
    public static Dictionary<string, long> Keyed(string? dir, string file) => StatParsers.FlatKeyed(Read(dir, file));

    /// <summary>Page sizes for which <paramref name="dir"/> has <c>hugetlb.&lt;size&gt;.&lt;suffix&gt;</c>, sorted by size.</summary>
    public static List<string> HugetlbSizes(string? dir, string suffix)
    {
        if (dir is null || !Directory.Exists(dir)) return new();
        try
        {
            return Directory.EnumerateFiles(dir, "hugetlb.*." + suffix)
                .Select(f => StatParsers.HugetlbPageSize(Path.GetFileName(f)))
                .OfType<string>().Distinct().OrderBy(PageSizeBytes).ToList();
        }
        catch (DirectoryNotFoundException) { return new(); }
    }

    private static long PageSizeBytes(string size)
    {
        var unit = size.Length >= 2 ? size[^2] : 'B';
        long.TryParse(size.AsSpan(0, size.Length - (char.IsDigit(unit) ? 1 : 2)), out var n);
        return unit switch { 'K' => n << 10, 'M' => n << 20, 'G' => n << 30, _ => n };
    }

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public static long? Get(this Dictionary<string, long> map, string key) => map.TryGetValue(key, out var v) ? v : null;
}
