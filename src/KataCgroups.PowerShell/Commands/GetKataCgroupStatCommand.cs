using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Stats;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// What Kata cgroups use now — memory, CPU (with throttling), pids, block IO per device, huge pages and PSI — read
/// from their cgroupfs files. One sample per cgroup, or with <c>-Count</c>/<c>-Interval</c>/<c>-Watch</c> a
/// sample every interval, with per-interval rates from the second sample on. Read-only.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KataCgroupStat", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroupStat))]
public sealed class GetKataCgroupStatCommand : KataCgroupCommandBase, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<CgroupTarget> _targets = new();

    /// <summary>
    /// The cgroups, as given to New-KataCgroup (binds from a cgroup object's Path, and piped strings); wildcards match
    /// existing Kata cgroups. Without it (and nothing piped), every Kata cgroup Get-KataCgroup lists.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Samples until stopped (Ctrl+C), one per cgroup every <see cref="Interval"/> seconds.</summary>
    [Parameter]
    public SwitchParameter Watch { get; set; }

    /// <summary>Seconds between samples (default 1). Given alone, samples until stopped, like -Watch.</summary>
    [Parameter]
    [ValidateRange(0.1, 86400.0)]
    public double Interval { get; set; } = 1;

    /// <summary>Number of samples per cgroup, then stop.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; }

    private bool Sampling => Watch.IsPresent || MyInvocation.BoundParameters.ContainsKey(nameof(Interval))
        || MyInvocation.BoundParameters.ContainsKey(nameof(Count));

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = Manager;
        var targets = new List<CgroupTarget>();
        bool literal = ParameterSetName == LiteralPathSet;
        if (!literal && Path.Length == 0 && !MyInvocation.ExpectingInput)
        {
            targets.AddRange(Terminating(() => manager.Find(null, Selection, Log)));
        }
        targets.AddRange(Targets(literal ? LiteralPath : Path, literal).Select(t => t.Target));
        if (Sampling)
        {
            // Every cgroup is sampled in the same round, so collect them all first (EndProcessing).
            foreach (var t in targets)
                if (!_targets.Any(x => x.CgroupPath == t.CgroupPath && x.Systemd == t.Systemd)) _targets.Add(t);
            return;
        }
        foreach (var t in targets)
        {
            try { WriteObject(StatsOutput.ToOutput(manager.Stats(t), 1, null)); }
            catch (CgroupException e) { WriteEngineError(e, t.RequestedPath); }
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (Sampling && _targets.Count > 0) Sample();
        base.EndProcessing();
    }

    private void Sample()
    {
        var manager = Manager;
        var previous = new Dictionary<CgroupTarget, CgroupStats>();
        var interval = TimeSpan.FromSeconds(Interval);
        int count = MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Count : int.MaxValue;
        var round = System.Diagnostics.Stopwatch.StartNew();
        for (int sample = 1; sample <= count && _targets.Count > 0; sample++)
        {
            round.Restart();
            foreach (var t in _targets.ToList())
            {
                CgroupStats now;
                try { now = manager.Stats(t); }
                catch (CgroupException e)
                {
                    // A cgroup removed while watched is reported once and no longer sampled; the others go on.
                    WriteEngineError(e, t.RequestedPath);
                    _targets.Remove(t);
                    continue;
                }
                var rates = previous.TryGetValue(t, out var before) ? CgroupStatsRates.Between(before, now) : null;
                previous[t] = now;
                WriteObject(StatsOutput.ToOutput(now, sample, rates));
            }
            if (sample == count || _targets.Count == 0) break;
            // Keep the cadence: wait the rest of the interval. StopProcessing (Ctrl+C) cancels the wait at once.
            var rest = interval - round.Elapsed;
            if (rest > TimeSpan.Zero && _stop.Token.WaitHandle.WaitOne(rest)) break;
            if (_stop.IsCancellationRequested) break;
        }
    }

    /// <inheritdoc/>
    protected override void StopProcessing() => _stop.Cancel();

    /// <inheritdoc/>
    public void Dispose() => _stop.Dispose();
}
