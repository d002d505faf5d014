using CsCheck;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Properties;

/// <summary>
/// Property-based checks of the resource compilers and conversions (opencontainers/cgroups fs/, fs2/, systemd/): random resources, including
/// hostile numbers, are refused with a resource error or compile into writes that stay inside the cgroup (a plain
/// file name of a known controller, one value per write), and the v2 conversions are monotonic and within the
/// kernel's ranges.
/// </summary>
public sealed class ResourceProperties
{
    private static readonly string[] V1Controllers = { "cpuset", "devices", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma", "freezer" };
    private static readonly string[] V2Controllers = { "cpuset", "memory", "cpu", "pids", "io", "hugetlb", "rdma", "misc" };

    // Numbers users and hostile JSON send: edges, negatives, overflows, typical values.
    private static readonly Gen<long> Number = Gen.Frequency(
        (3, Gen.OneOf(0L, -1L, -2L, 1L, 2L, 1000L, 4096L, 262144L, 262145L, 1000000L, 1000001L, long.MaxValue, long.MinValue, 268435456L)),
        (2, Gen.Long),
        (2, Gen.Long[-10, 1_000_000]));
    private static readonly Gen<long?> MaybeNumber = Gen.Frequency((1, Gen.Const((long?)null)), (3, Number.Select(n => (long?)n)));
    private static readonly Gen<ulong?> MaybeUnsigned = Gen.Frequency((1, Gen.Const((ulong?)null)), (3, Gen.ULong.Select(n => (ulong?)n)), (2, Gen.ULong[0, 300000].Select(n => (ulong?)n)));
    private static readonly Gen<string?> CpuList = Gen.Frequency(
        (2, Gen.Const((string?)null)),
        (2, Gen.OneOf<string?>("0", "0-1", "1", "0,1", "", "7", "0-", "a", "1-0", "0\n1", "0 1", "99999999999")));

    private static readonly Gen<LinuxResources> Resources =
        Gen.Select(MaybeNumber, MaybeNumber, MaybeNumber, MaybeUnsigned, MaybeNumber, MaybeUnsigned, MaybeNumber, CpuList, CpuList,
            Gen.UShort.Select(w => (ushort?)w),
            (limit, swap, reservation, shares, quota, period, pids, cpus, mems, weight) => new LinuxResources
            {
                Memory = new LinuxMemory { Limit = limit, Swap = swap, Reservation = reservation, Swappiness = shares is { } s ? s % 150 : null },
                Cpu = new LinuxCpu { Quota = quota, Period = period, Shares = shares, Cpus = cpus, Mems = mems },
                Pids = new LinuxPids { Limit = pids ?? 0 },
                BlockIO = new LinuxBlockIO { Weight = weight },
            });

    private static void AssertWritesStayInside(CgroupPlan plan, string[] controllers)
    {
        foreach (var w in plan.Writes)
        {
            Assert.Contains(w.Controller, controllers);
            Assert.DoesNotContain('/', w.File);
            Assert.False(w.File is "" or "." or "..");
            Assert.DoesNotContain('\n', w.Value.TrimEnd('\n'));
            Assert.DoesNotContain('\0', w.Value);
        }
    }

    /// <summary>A compile either refuses the resources with a resource error or yields writes inside the cgroup.</summary>
    private static void RefusedOrInside(Func<CgroupPlan> compile, string[] controllers)
    {
        CgroupPlan plan;
        try { plan = compile(); }
        catch (CgroupException e)
        {
            Assert.True(e.ErrorId is ErrorIds.InvalidResourceValue or ErrorIds.InvalidDeviceRule or ErrorIds.UnsupportedOnHost, e.ErrorId);
            return;
        }
        AssertWritesStayInside(plan, controllers);
    }

    [Fact]
    public void V1PlansAreRefusedOrStayInsideTheCgroup() =>
        Resources.Sample(r => RefusedOrInside(() => CgroupV1Plan.Compile(r, HypervisorDevices.RuntimeDefaults,
            new V1PlanContext(new HashSet<string>(V1Controllers), CgroupV1Plan.UnlimitedMemory, true, KataCgroups.Host.BlockIoWeightInterface.Cfq, DeviceRuleSet.DenyAll())), V1Controllers), iter: Campaign.Iter(5000));

    [Fact]
    public void V2PlansAreRefusedOrStayInsideTheCgroup() =>
        Resources.Sample(r => RefusedOrInside(() => CgroupV2Plan.Compile(r, HypervisorDevices.RuntimeDefaults,
            new V2PlanContext(new HashSet<string>(V2Controllers), KataCgroups.Host.BlockIoWeightInterface.IoCost, true)), V2Controllers), iter: Campaign.Iter(5000));

    [Fact]
    public void SystemdPropertiesAreRefusedOrWellFormed() =>
        Gen.Select(Resources, Gen.Bool).Sample((r, unified) =>
        {
            SystemdResourcePlan plan;
            try { plan = SystemdProperties.Compile(r, unified, HypervisorDevices.RuntimeDefaults, (_, _) => null); }
            catch (CgroupException e)
            {
                Assert.True(e.ErrorId is ErrorIds.InvalidResourceValue or ErrorIds.InvalidDeviceRule, e.ErrorId);
                return;
            }
            foreach (var p in plan.Properties)
            {
                Assert.Matches("^[A-Z][A-Za-z]+$", p.Name);
                if (p.Name == "CPUQuotaPerSecUSec") Assert.True((ulong)p.Value == ulong.MaxValue || (ulong)p.Value % 10000 == 0);
            }
        }, iter: Campaign.Iter(5000));

    [Fact]
    public void SharesToWeightIsMonotonicAndInRange() =>
        Gen.Select(Gen.ULong[2, 262144], Gen.ULong[2, 262144]).Sample((a, b) =>
        {
            var (lo, hi) = a <= b ? (a, b) : (b, a);
            ulong wl = CgroupV2Conversions.SharesToWeight(lo), wh = CgroupV2Conversions.SharesToWeight(hi);
            Assert.InRange(wl, 1UL, 10000UL);
            Assert.InRange(wh, 1UL, 10000UL);
            Assert.True(wl <= wh, $"shares {lo} → {wl} but {hi} → {wh}");
        }, iter: Campaign.Iter(20000));

    [Fact]
    public void BlkioWeightToIoWeightIsMonotonicAndInRange() =>
        Gen.Select(Gen.ULong[10, 1000], Gen.ULong[10, 1000]).Sample((a, b) =>
        {
            var (lo, hi) = a <= b ? (a, b) : (b, a);
            ulong wl = CgroupV2Conversions.BlkioWeightToIoWeight(lo), wh = CgroupV2Conversions.BlkioWeightToIoWeight(hi);
            Assert.InRange(wl, 1UL, 10000UL);
            Assert.InRange(wh, 1UL, 10000UL);
            Assert.True(wl <= wh);
        }, iter: Campaign.Iter(5000));

    [Fact]
    public void CpuQuotaPerSecIsTheTruncatedRateRoundedUpToAWholePercent() =>
        // Exactly upstream's rule (systemd/common.go addCpuQuota): quota·10⁶/period in integer arithmetic, then up
        // to the next multiple of 10000 µs. (The truncation can drop a fraction below one µs per second first; this
        // property was written as "never below the quota" and found that upstream, and so this module, allows it.)
        Gen.Select(Gen.Long[1000, 10_000_000], Gen.ULong[1000, 1_000_000]).Sample((quota, period) =>
        {
            ulong perSec = SystemdProperties.CpuQuotaPerSecUSec(quota, period);
            ulong truncated = (ulong)quota * 1_000_000UL / period;
            Assert.Equal(0UL, perSec % 10000);
            Assert.True(perSec >= truncated, "rounded down");
            Assert.True(perSec - truncated < 10000, "rounded up more than one step");
        }, iter: Campaign.Iter(20000));
}
