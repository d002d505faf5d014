using System.Management.Automation;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Resources;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// The resource parameters New-KataCgroup and Set-KataCgroupResource share, and their translation into an OCI
/// <c>LinuxResources</c>. Explicit parameters override the same values from <c>-Resources</c>/<c>-OciConfig</c>.
/// </summary>
public abstract class ResourceCommandBase : KataCgroupCommandBase
{
    /// <summary>Memory limit in bytes (<c>256MB</c>, <c>max</c> or -1 for unlimited).</summary>
    [Parameter]
    [LimitTransformation(Bytes = true)]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long MemoryLimit { get; set; }

    /// <summary>Memory soft limit in bytes.</summary>
    [Parameter]
    [LimitTransformation(Bytes = true)]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long MemoryReservation { get; set; }

    /// <summary>Memory plus swap limit in bytes (-1 unlimited).</summary>
    [Parameter]
    [LimitTransformation(Bytes = true)]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long MemorySwap { get; set; }

    /// <summary>Swappiness 0–100.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public int MemorySwappiness { get; set; }

    /// <summary>Disable the OOM killer for the cgroup (<c>-DisableOomKiller:$false</c> enables it again).</summary>
    [Parameter]
    public SwitchParameter DisableOomKiller { get; set; }

    /// <summary>Relative CPU weight (2–262144; 1024 is the default).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long CpuShares { get; set; }

    /// <summary>CFS quota in µs per period (-1 or <c>max</c> for unlimited).</summary>
    [Parameter]
    [LimitTransformation]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long CpuQuota { get; set; }

    /// <summary>CFS period in µs (1000–1000000).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long CpuPeriod { get; set; }

    /// <summary>CPUs the cgroup may run on, e.g. <c>0-3,6</c>.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public string? Cpus { get; set; }

    /// <summary>Memory nodes the cgroup may allocate from.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public string? Mems { get; set; }

    /// <summary>Maximum number of tasks (-1 or <c>max</c> for unlimited).</summary>
    [Parameter]
    [LimitTransformation]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public long PidsLimit { get; set; }

    /// <summary>Block IO weight 10–1000.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public int BlkioWeight { get; set; }

    /// <summary>
    /// Leave out, with a warning each, the requested values this host cannot apply (a controller that is not
    /// mounted, a block IO weight or swap limit the kernel has no file for). Without it such a request fails
    /// before anything is written, as it does in runc and Kata's manager.
    /// </summary>
    [Parameter]
    public SwitchParameter SkipUnsupported { get; set; }

    /// <summary>Device rules in kernel form, optionally prefixed allow/deny: <c>'c 10:200 rwm'</c>, <c>'deny b 8:* w'</c>.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceValueCompleter))]
    public string[]? Device { get; set; }

    /// <summary>
    /// An OCI <c>linux.resources</c> object: JSON text, a hashtable, or ConvertFrom-Json output. Its sections override
    /// the same sections of -OciConfig. Binds from the pipeline: a piped <c>linux.resources</c> object, or a piped
    /// runtime-spec <c>linux</c> object (its <c>resources</c>; its <c>cgroupsPath</c> binds to -Path).
    /// </summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public object? Resources { get; set; }

    private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);

    private bool _resourcesFromPipeline;
    private LinuxResources? _invocationResources;
    private LinuxResources? _baseResources;

    /// <summary>
    /// Builds the invocation-wide resources once (a bad value ends the command before any pipeline item is touched).
    /// When -Resources was not given on the command line, it may still arrive with each pipeline item.
    /// </summary>
    private protected void BeginResources(LinuxResources? baseResources)
    {
        _baseResources = baseResources;
        _resourcesFromPipeline = !Bound(nameof(Resources));
        _invocationResources = Terminating(() => BuildResources(baseResources));
    }

    /// <summary>
    /// The resources for the current pipeline item: the invocation's, or, when this item brought its own
    /// <c>linux.resources</c>, those merged with the explicit parameters (throws for a bad item).
    /// </summary>
    private protected LinuxResources ResourcesForRecord() =>
        _resourcesFromPipeline && Bound(nameof(Resources)) && ResourcesInput(Resources) is not null
            ? BuildResources(_baseResources)
            : _invocationResources!;

    /// <summary>
    /// What in a -Resources value is OCI resources: a piped cgroup object (it binds -Path by property name) has
    /// none; a runtime-spec <c>linux</c> object carries them in its <c>resources</c> property.
    /// </summary>
    private static object? ResourcesInput(object? value)
    {
        if (value is null) return null;
        var pso = PSObject.AsPSObject(value);
        if (pso.BaseObject is KataCgroup || pso.TypeNames.Any(t => t.EndsWith("KataCgroups.PowerShell.KataCgroup", StringComparison.Ordinal)))
            return null;
        if (pso.BaseObject is PSCustomObject && pso.Properties["resources"] is { } inner && pso.Properties["memory"] is null)
            return inner.Value;
        return value;
    }

    /// <summary>Builds the resources from <c>-Resources</c> (or <paramref name="baseResources"/>) plus explicit parameters.</summary>
    private LinuxResources BuildResources(LinuxResources? baseResources)
    {
        var r = baseResources?.Clone() ?? new LinuxResources();
        if (ResourcesInput(Resources) is { } input)
        {
            // -Resources overrides the config file section by section (memory, cpu, devices…), not wholesale.
            r.OverrideSections(OciConfig.ParseResources(JsonInput.ToJson(input), "-Resources"));
        }

        if (Bound(nameof(MemoryLimit))) (r.Memory ??= new()).Limit = MemoryLimit;
        if (Bound(nameof(MemoryReservation))) (r.Memory ??= new()).Reservation = MemoryReservation;
        if (Bound(nameof(MemorySwap))) (r.Memory ??= new()).Swap = MemorySwap;
        if (Bound(nameof(MemorySwappiness))) (r.Memory ??= new()).Swappiness = (ulong)MemorySwappiness;
        if (Bound(nameof(DisableOomKiller))) (r.Memory ??= new()).DisableOomKiller = DisableOomKiller.IsPresent;
        if (Bound(nameof(CpuShares))) (r.Cpu ??= new()).Shares = ResourceValidator.NonNegative("cpu.shares", CpuShares);
        if (Bound(nameof(CpuQuota))) (r.Cpu ??= new()).Quota = CpuQuota;
        if (Bound(nameof(CpuPeriod))) (r.Cpu ??= new()).Period = ResourceValidator.NonNegative("cpu.period", CpuPeriod);
        if (Bound(nameof(Cpus))) (r.Cpu ??= new()).Cpus = Cpus;
        if (Bound(nameof(Mems))) (r.Cpu ??= new()).Mems = Mems;
        if (Bound(nameof(PidsLimit))) (r.Pids ??= new()).Limit = PidsLimit;
        if (Bound(nameof(BlkioWeight))) (r.BlockIO ??= new()).Weight = ResourceValidator.BlkioWeight(BlkioWeight);
        if (Device is not null)
        {
            r.Devices ??= new();
            foreach (var text in Device) r.Devices.Add(DeviceRule.Parse(text).ToOci());
        }
        // Invocation-wide input: a bad value ends the command before any pipeline item is touched.
        ResourceValidator.Validate(r);
        return r;
    }

    /// <summary>The engine's description of the plan (<see cref="CgroupManager.DescribePlan"/>), indented under the action.</summary>
    private protected string PlanText(Paths.CgroupTarget target, CgroupPlan plan) =>
        string.Join(Environment.NewLine, Manager.DescribePlan(target, plan).Select(l => "  " + l));
}
