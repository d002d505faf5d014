// Micro-benchmarks of the engine's hot paths : what one lifecycle runs per
// cgroup besides the syscalls. `build.ps1 Bench -Micro` runs all of them with a short job (a few minutes in all);
// `--filter '*Path*'` (quoted: pwsh expands a bare * against the current directory) picks some.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithId("short"))
    .AddDiagnoser(MemoryDiagnoser.Default);
var switcher = BenchmarkSwitcher.FromAssembly(typeof(KataCgroups.MicroBench.PlanBenchmarks).Assembly);
var summaries = args.Contains("--filter") ? switcher.Run(args, config).ToList() : switcher.RunAll(config, args).ToList();
// A filter that matched nothing, or a benchmark that failed, is a failure of the run.
bool failed = summaries.Count == 0 || summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Length == 0 || s.Reports.Any(r => !r.Success));
return failed ? 1 : 0;
