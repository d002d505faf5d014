namespace KataCgroups;

/// <summary>
/// Where the engine reports what it does. The cmdlets forward these to WriteVerbose / WriteWarning /
/// WriteDebug; the engine itself never prints.
/// </summary>
public interface ICgroupLog
{
    /// <summary>Each write, mkdir, rmdir and pid move as it happens.</summary>
    void Verbose(string message);

    /// <summary>
    /// False when <see cref="Verbose"/> messages are dropped anyway: the hot paths (one message per write, mkdir,
    /// rmdir and pid move) then skip formatting them.
    /// </summary>
    bool VerboseEnabled => true;
    /// <summary>Something skipped, ignored or converted that the user should know about.</summary>
    void Warning(string message);
    /// <summary>
    /// A fact about the host that every call finds again (a hypervisor device node the host lacks): worth a warning,
    /// but a caller that runs command after command may say it once and keep it for verbose output afterwards.
    /// By default a warning each time.
    /// </summary>
    void HostNotice(string message) => Warning(message);
    /// <summary>Low-level detail: errnos, retries, D-Bus error names.</summary>
    void Debug(string message);

    /// <summary>
    /// Progress of long work (many processes moved, a slow systemd job). <paramref name="percent"/> is −1 when
    /// unknown; every report for an <paramref name="activity"/> is followed by one with <paramref name="completed"/>.
    /// </summary>
    void Progress(string activity, string status, int percent, bool completed) { }
}

/// <summary>A log that drops everything.</summary>
public sealed class NullCgroupLog : ICgroupLog
{
    /// <summary>The instance.</summary>
    public static NullCgroupLog Instance { get; } = new();
    /// <inheritdoc/>
    public void Verbose(string message) { }
    /// <inheritdoc/>
    public bool VerboseEnabled => false;
    /// <inheritdoc/>
    public void Warning(string message) { }
    /// <inheritdoc/>
    public void Debug(string message) { }
}
