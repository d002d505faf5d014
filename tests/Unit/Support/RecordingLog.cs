namespace KataCgroups.Tests.Support;

/// <summary>An <see cref="ICgroupLog"/> that keeps every message so tests can assert on them.</summary>
internal sealed class RecordingLog : ICgroupLog
{
    public List<string> VerboseMessages { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<string> DebugMessages { get; } = new();

    public void Verbose(string message) => VerboseMessages.Add(message);
    public void Warning(string message) => Warnings.Add(message);
    public void Debug(string message) => DebugMessages.Add(message);

    /// <summary>The "write FILE = VALUE" messages, in the order the engine wrote.</summary>
    public List<string> Writes => VerboseMessages.Where(m => m.StartsWith("write ", StringComparison.Ordinal)).ToList();
}
