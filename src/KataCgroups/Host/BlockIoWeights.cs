namespace KataCgroups.Host;

/// <summary>Which files carry a block IO weight on this kernel.</summary>
public enum BlockIoWeightInterface
{
    /// <summary>No weight file at all: neither CFQ (gone since Linux 5.0) nor BFQ (not built, or its module not loaded).</summary>
    None,
    /// <summary>CFQ's <c>blkio.weight</c>, <c>blkio.weight_device</c> and leaf weights (v1, kernels before 5.0).</summary>
    Cfq,
    /// <summary>BFQ's <c>blkio.bfq.weight</c> (v1) or <c>io.bfq.weight</c> (v2): no leaf weights.</summary>
    Bfq,
    /// <summary>blk-iocost's <c>io.weight</c> (v2 only).</summary>
    IoCost,
}

/// <summary>
/// Finds the block IO weight files a cgroup offers. The files come from the IO scheduler policies registered
/// with blkcg (block/bfq-cgroup.c, the former cfq-iosched.c, block/blk-iocost.c): a kernel without them has only
/// the throttle files, and a weight written to a file that is not there fails with a bare ENOENT. runc's
/// fs/blkio.go detectWeightFilenames makes the same CFQ-or-BFQ choice, but assumes one of them is present.
/// </summary>
public static class BlockIoWeights
{
    /// <summary>Why no weight can be set: the sentence error messages and the host check share.</summary>
    public const string NoWeightReason =
        "this kernel has no block IO weight file: CFQ's blkio.weight went with Linux 5.0, and the BFQ I/O scheduler " +
        "(blkio.bfq.weight) is not available (CONFIG_IOSCHED_BFQ off, or the bfq module not loaded)";

    /// <summary>
    /// The v1 weight interface of <paramref name="dir"/>, a directory of the blkio hierarchy. The weight files are
    /// not shown on the hierarchy's root (CFTYPE_NOT_ON_ROOT); there the files that are (<c>blkio.leaf_weight</c>
    /// of CFQ, the <c>blkio.bfq.io_service_bytes</c> statistics of BFQ) tell the policy instead.
    /// </summary>
    public static BlockIoWeightInterface DetectV1(string dir)
    {
        if (File.Exists(Path.Combine(dir, "blkio.weight")) || File.Exists(Path.Combine(dir, "blkio.leaf_weight")))
            return BlockIoWeightInterface.Cfq;
        if (File.Exists(Path.Combine(dir, "blkio.bfq.weight")) || File.Exists(Path.Combine(dir, "blkio.bfq.io_service_bytes")))
            return BlockIoWeightInterface.Bfq;
        return BlockIoWeightInterface.None;
    }

    /// <summary>
    /// The v2 weight interface of <paramref name="dir"/>, a non-root cgroup (the root shows no io.weight or
    /// io.bfq.weight), or null when the io controller is not enabled there (no io.stat), so its files cannot tell.
    /// BFQ first, as runc's fs2/io.go: it takes the blkio weight as is.
    /// </summary>
    public static BlockIoWeightInterface? DetectV2(string dir)
    {
        if (File.Exists(Path.Combine(dir, "io.bfq.weight"))) return BlockIoWeightInterface.Bfq;
        if (File.Exists(Path.Combine(dir, "io.weight"))) return BlockIoWeightInterface.IoCost;
        return File.Exists(Path.Combine(dir, "io.stat")) ? BlockIoWeightInterface.None : null;
    }
}
