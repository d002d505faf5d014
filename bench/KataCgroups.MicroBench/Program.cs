// Micro-benchmarks of the engine's hot paths (issue 7 "where they guide the work"): what one lifecycle runs per
// cgroup besides the syscalls. `build.ps1 Bench -Micro` runs them with a short job (a few minutes in all).
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithId("short"))
    .AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromAssembly(typeof(KataCgroups.MicroBench.PlanBenchmarks).Assembly).Run(args, config);
