using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Devices;

/// <summary>Access bits of a device rule: read, write, mknod.</summary>
[Flags]
public enum DeviceAccess
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary><c>r</c></summary>
    Read = 1,
    /// <summary><c>w</c></summary>
    Write = 2,
    /// <summary><c>m</c></summary>
    Mknod = 4,
    /// <summary><c>rwm</c></summary>
    All = Read | Write | Mknod,
}

/// <summary>
/// One device cgroup rule in kernel form (Documentation/admin-guide/cgroup-v1/devices.rst): type
/// <c>a</c>/<c>b</c>/<c>c</c>, major and minor with -1 for <c>*</c>, access <c>rwm</c>.
/// </summary>
public readonly record struct DeviceRule(bool Allow, char Type, long Major, long Minor, DeviceAccess Access)
{
    /// <summary>The wildcard number, printed as <c>*</c>.</summary>
    public const long Wildcard = -1;

    /// <summary>Kernel text <c>%c %s:%s %s</c>, e.g. <c>c 10:232 rwm</c>, <c>b 253:* rwm</c>, <c>a *:* rwm</c>.</summary>
    public string ToKernelString() => $"{Type} {Num(Major)}:{Num(Minor)} {AccessString(Access)}";

    /// <inheritdoc/>
    public override string ToString() => (Allow ? "allow " : "deny ") + ToKernelString();

    private static string Num(long n) => n == Wildcard ? "*" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>rwm</c> subset in canonical order.</summary>
    public static string AccessString(DeviceAccess a) =>
        string.Concat((a & DeviceAccess.Read) != 0 ? "r" : "", (a & DeviceAccess.Write) != 0 ? "w" : "", (a & DeviceAccess.Mknod) != 0 ? "m" : "");

    /// <summary>
    /// Parses <c>rwm</c> letters. Empty or absent is an error, as in runc (libcontainer/devices Rule: "device access
    /// cannot be empty"): reading it as <c>rwm</c> would turn a forgotten field into the widest grant.
    /// </summary>
    public static DeviceAccess ParseAccess(string? text, string input)
    {
        if (string.IsNullOrEmpty(text)) throw Invalid(input, "the access is empty: give r, w and/or m");
        var a = DeviceAccess.None;
        foreach (var c in text)
        {
            a |= c switch
            {
                'r' => DeviceAccess.Read,
                'w' => DeviceAccess.Write,
                'm' => DeviceAccess.Mknod,
                _ => throw Invalid(input, $"access '{text}' may only contain r, w and m"),
            };
        }
        return a;
    }

    /// <summary>The access of a systemd <c>DeviceAllow=</c> entry: omitted means <c>rwm</c> there (systemd.resource-control(5)).</summary>
    public static DeviceAccess ParseSystemdAccess(string? text, string input) =>
        string.IsNullOrEmpty(text) ? DeviceAccess.All : ParseAccess(text, input);

    /// <summary>
    /// Parses kernel rule text (<c>c 10:200 rwm</c>, <c>a</c>, <c>b 8:* r</c>), optionally prefixed with
    /// <c>allow</c>/<c>deny</c> (default allow). This is what <c>devices.list</c> prints and what -Device takes.
    /// </summary>
    public static DeviceRule Parse(string text, bool allow = true)
    {
        var input = text;
        var f = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int i = 0;
        if (f.Length > 0 && (f[0] == "allow" || f[0] == "deny")) { allow = f[0] == "allow"; i = 1; }
        if (f.Length - i < 1 || f[i].Length != 1)
            throw Invalid(input, "expected '<type> <major>:<minor> <access>', e.g. 'c 10:200 rwm'");
        char type = f[i][0];
        CheckType(type, input);
        if (type == 'a' && f.Length - i == 1)
            return new DeviceRule(allow, 'a', Wildcard, Wildcard, DeviceAccess.All);
        if (f.Length - i != 3)
            throw Invalid(input, "expected '<type> <major>:<minor> <access>', e.g. 'c 10:200 rwm'");
        var mm = f[i + 1].Split(':');
        if (mm.Length != 2)
            throw Invalid(input, "expected '<major>:<minor>'");
        return new DeviceRule(allow, type, ParseNum(mm[0], input), ParseNum(mm[1], input), ParseAccess(f[i + 2], input));
    }

    /// <summary>From an OCI <c>LinuxDeviceCgroup</c>: missing type = <c>a</c>, missing numbers = <c>*</c>; a missing access is an error.</summary>
    public static DeviceRule FromOci(LinuxDeviceCgroup d)
    {
        string input = $"{{allow:{d.Allow}, type:{d.Type ?? "null"}, major:{d.Major?.ToString() ?? "null"}, minor:{d.Minor?.ToString() ?? "null"}, access:{d.Access ?? "null"}}}";
        char type = string.IsNullOrEmpty(d.Type) ? 'a' : d.Type.Length == 1 ? d.Type[0] : '?';
        CheckType(type, input);
        long major = d.Major ?? Wildcard, minor = d.Minor ?? Wildcard;
        if (major < Wildcard || minor < Wildcard)
            throw Invalid(input, "major and minor must be >= 0 (or -1 / null for all)");
        if (major > uint.MaxValue || minor > uint.MaxValue)
            throw Invalid(input, "major or minor number out of range");
        return new DeviceRule(d.Allow, type, major, minor, ParseAccess(d.Access, input));
    }

    /// <summary>To an OCI <c>LinuxDeviceCgroup</c>.</summary>
    public LinuxDeviceCgroup ToOci() => new()
    {
        Allow = Allow,
        Type = Type.ToString(),
        Major = Major == Wildcard ? null : Major,
        Minor = Minor == Wildcard ? null : Minor,
        Access = AccessString(Access),
    };

    private static void CheckType(char type, string input)
    {
        if (type is not ('a' or 'b' or 'c'))
            throw Invalid(input, $"unknown device type '{type}': expected a (all), b (block) or c (char)");
    }

    private static long ParseNum(string s, string input)
    {
        if (s == "*") return Wildcard;
        if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n > uint.MaxValue)
            throw Invalid(input, $"'{s}' is not a device number or '*'");
        return n;
    }

    private static CgroupException Invalid(string input, string why) =>
        new(ErrorIds.InvalidDeviceRule, CgroupErrorKind.InvalidArgument, $"invalid device rule '{input}': {why}", input);
}
