using OpenAIStreaming.Benchmarks.Live;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OpenAIStreaming.Benchmarks;
using OpenAIStreaming.Benchmarks.Load;
using OpenAIStreaming.Chaos;

// --check: only the self-check (exit 0 when all readers agree, 1 otherwise).
// --quick: self-check, then a short in-process run (under a minute on 2 cores).
// --paired [rounds]: self-check, then OpenAIStreaming and SseParser in turn, fastest and median stream of each (busy machines).
// --load [--streams 1,100,1000,10000] [--tokens 60] [--gap-ms 15] [--rounds N] …: not BenchmarkDotNet, no self-check; N concurrent
//   streams per contender against the fake server in a separate process (see README.md and LoadSettings.Usage).
// --chaos / --recovery-time […]: not BenchmarkDotNet; random faults on thousands of streams, and the time a recovery
//   takes, through the handler against the fake server in a separate process (see RecoveryCommands.Usage).
// otherwise: self-check, then BenchmarkDotNet defaults. Other arguments go to BenchmarkSwitcher.
if (args.Contains("--load"))
{
    return await LoadRunner.RunAsync(args, Console.Out);
}

if (args.Contains("--chaos") || args.Contains("--recovery-time"))
{
    return await RecoveryCommands.RunAsync(args, Console.Out);
}

bool checkOnly = args.Contains("--check");
bool quick = args.Contains("--quick");
int paired = Array.IndexOf(args, "--paired");
var switcherArgs = args.Where(a => a is not "--check" and not "--quick").ToList();

if (!await SelfCheck.RunAsync(Console.Out))
{
    return 1;
}

if (checkOnly)
{
    return 0;
}

if (paired >= 0)
{
    int rounds = paired + 1 < args.Length && int.TryParse(args[paired + 1], out int r) ? r : 60;
    await PairedRun.RunAsync(Console.Out, rounds);
    return 0;
}

if (!switcherArgs.Contains("--filter"))
{
    switcherArgs.AddRange(["--filter", "*"]);
}

var config = DefaultConfig.Instance
    .AddColumn(PerChunkColumn.Time(ChatStreamGenerator.DefaultChunkCount), PerChunkColumn.Allocation(ChatStreamGenerator.DefaultChunkCount));
if (quick)
{
    await ReaderWarmup.RunAsync(rounds: 40);

    // One operation reads a whole 20,000-chunk stream (several ms), so a fixed invocation count replaces the
    // pilot stage, and the in-process toolchain saves building a second project. Enough to compare, not to publish.
    config = config.AddJob(Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(5)
        .WithInvocationCount(16)
        .WithUnrollFactor(1)
        .WithId("Quick"));
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(LiveStreamBenchmarks).Assembly).Run([.. switcherArgs], config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
