using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// <c>--load</c>: N concurrent chat streams against the fake server in a separate process, every contender in turn,
/// measured from outside BenchmarkDotNet (TTFT percentiles, failures, wall time, CPU, allocations, memory held).
/// </summary>
public static class LoadRunner
{
    /// <summary>Time given to streams to end after the run's cancellation before they are reported as hung.</summary>
    private static readonly TimeSpan HangGrace = TimeSpan.FromSeconds(30);

    /// <summary>Warm-up streams run this many at a time.</summary>
    private const int WarmupWave = 8;
    private const int ProcessWarmupWave = 50;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var settings = LoadSettings.Parse(args, Console.Error);
        if (settings is null)
        {
            return 2;
        }

        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            output.WriteLine("Ctrl+C: cancelling the current run; the server is stopped on the way out.");
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var server = await FakeServerProcess.StartAsync(settings, stop.Token);
            var target = new LoadTarget(server.BaseAddress, settings.Models);
            IReadOnlyList<string> expected = await ExpectedTextsAsync(settings.Tokens, target);
            await WarmUpProcessAsync(settings, target, expected, output, stop.Token);
            var idleCpu = await IdleCpuAsync(settings, stop.Token);
            var header = Header(settings, server, target, expected, idleCpu);
            output.WriteLine(header);
            var results = new List<RunResult>();
            foreach (int streams in settings.Streams)
            {
                if (settings.ScaleWarmupStreams > 0 && streams >= settings.ScaleWarmupStreams)
                {
                    foreach (string key in settings.Contenders)
                    {
                        stop.Token.ThrowIfCancellationRequested();
                        var unmeasured = await RunOnceAsync(key, streams, 0, settings, target, expected, server, stop.Token);
                        output.WriteLine("unmeasured " + LoadReport.ProgressLine(unmeasured));
                    }
                }

                for (int round = 1; round <= settings.Rounds; round++)
                {
                    // A rotating order, so no contender always runs first (or right after the heaviest one) at a stream count.
                    for (int c = 0; c < settings.Contenders.Count; c++)
                    {
                        string key = settings.Contenders[(c + round - 1) % settings.Contenders.Count];
                        stop.Token.ThrowIfCancellationRequested();
                        var result = await RunOnceAsync(key, streams, round, settings, target, expected, server, stop.Token);
                        results.Add(result);
                        output.WriteLine(LoadReport.ProgressLine(result));
                    }
                }
            }

            string report = LoadReport.Markdown(header, settings, results);
            output.WriteLine();
            output.WriteLine(report);
            string path = Path.GetFullPath(settings.OutputPath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, report);
            output.WriteLine($"Written to {path}");
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            output.WriteLine("Cancelled.");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// The text every stream must deliver: the fake server's answer is a pure function of its seed and token count, the
    /// model and the message, so a server started here (and stopped at once) tells what the one in the other process says.
    /// </summary>
    private static async Task<IReadOnlyList<string>> ExpectedTextsAsync(int tokens, LoadTarget target)
    {
        await using var local = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = tokens });
        return [.. target.Models.Select(model => local.GetExpectedText(model, [new FakeMessage("user", LoadTarget.Prompt)]))];
    }

    /// <summary>
    /// Before any measured run: every contender reads <see cref="LoadSettings.ProcessWarmupStreams"/> streams (in waves of
    /// <see cref="ProcessWarmupWave"/>) on a client of its own that is then disposed, and tiered compilation is given time to
    /// promote what they made hot. Without it, a contender's first run also pays for compiling its code at tier 1 — more
    /// of it for the contenders with more code — and the short warm-up before each run is too short for that.
    /// </summary>
    private static async Task WarmUpProcessAsync(LoadSettings settings, LoadTarget target, IReadOnlyList<string> expected, TextWriter output, CancellationToken cancellationToken)
    {
        if (settings.ProcessWarmupStreams == 0)
        {
            return;
        }

        var failed = new List<string>();
        foreach (string key in settings.Contenders)
        {
            await using var contender = LoadContenders.Create(key, target);
            for (int remaining = settings.ProcessWarmupStreams; remaining > 0; remaining -= ProcessWarmupWave)
            {
                using var wave = new Batch(contender, Math.Min(ProcessWarmupWave, remaining), expected, cancellationToken);
                await wave.RunAsync(settings.RunTimeout);
                failed.AddRange(wave.Failures().Select(f => $"{LoadContenders.DisplayName(key)}: {f.Key} x{f.Value.Count}"));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        output.WriteLine($"Process warm-up: {settings.ProcessWarmupStreams} streams per contender, {ProcessWarmupWave} at a time, before the first run; {(failed.Count == 0 ? "none failed" : "failed: " + string.Join("; ", failed))}.");
    }

    /// <summary>
    /// The client's CPU time over two idle seconds with the memory sampler running: the floor under "CPU per stream" (it
    /// is most of it at N = 1, where one stream's own work is a few milliseconds).
    /// </summary>
    private static async Task<TimeSpan> IdleCpuAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        using var self = Process.GetCurrentProcess();
        using var sampler = new MemorySampler(new OpenStreamCounter(), settings.RunTimeout);
        TimeSpan before = self.TotalProcessorTime;
        sampler.Arm();
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        sampler.Stop();
        self.Refresh();
        return (self.TotalProcessorTime - before) / 2;
    }

    private static string Header(LoadSettings settings, FakeServerProcess server, LoadTarget target, IReadOnlyList<string> expected, TimeSpan idleCpuPerSecond)
    {
        int self = Environment.ProcessId;
        return string.Create(CultureInfo.InvariantCulture, $"""
            Load run {DateTime.Now:yyyy-MM-dd HH:mm}: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC (client).
            Fake server (separate process, pid {server.ProcessId}, open files {FakeServerProcess.OpenFileLimit(server.ProcessId) ?? "?"}): {server.CommandLine} -> {server.BaseAddress}
            Client pid {self}, open files {FakeServerProcess.OpenFileLimit(self) ?? "?"}, idle CPU {idleCpuPerSecond.TotalMilliseconds:F0} ms/s. Streams {string.Join(", ", settings.Streams)}; {settings.Rounds} round(s); {settings.WarmupStreams} warm-up streams per run (8 at a time); {(settings.ScaleWarmupStreams > 0 ? string.Create(CultureInfo.InvariantCulture, $"at each stream count of {settings.ScaleWarmupStreams:N0} or more, every contender runs once unmeasured first;") : "no unmeasured run;")} run limit {settings.RunTimeout.TotalSeconds:F0} s.
            Kernel accept queue: net.core.somaxconn {Sysctl("net/core/somaxconn")}, net.ipv4.tcp_max_syn_backlog {Sysctl("net/ipv4/tcp_max_syn_backlog")} (the fake server asks for a backlog of 65,535; the kernel caps it at these).
            Models behind the one endpoint: {target.ModelCount} ({string.Join(", ", target.Models)}); stream i asks for model i mod {target.ModelCount}, and the handler keeps the health of each model's route apart.
            Each stream: {settings.Tokens} tokens ({expected[0].Length} chars for the first model), first token after {settings.FirstTokenMilliseconds} ms, {settings.GapMilliseconds} ms between events: ideal TTFT {settings.FirstTokenMilliseconds + settings.GapMilliseconds} ms, ideal stream {settings.IdealStreamTime.TotalMilliseconds:F0} ms.
            """);
    }

    private static async Task<RunResult> RunOnceAsync(
        string key, int streams, int round, LoadSettings settings, LoadTarget target, IReadOnlyList<string> expected, FakeServerProcess server, CancellationToken stopToken)
    {
        var contender = LoadContenders.Create(key, target);
        try
        {
            var failures = new Dictionary<string, FailureCount>(StringComparer.Ordinal);
            for (int remaining = settings.WarmupStreams; remaining > 0; remaining -= WarmupWave)
            {
                using var warmup = new Batch(contender, Math.Min(WarmupWave, remaining), expected, stopToken);
                await warmup.RunAsync(settings.RunTimeout);
                foreach (var (name, count) in warmup.Failures())
                {
                    failures[$"warm-up: {name}"] = failures.TryGetValue($"warm-up: {name}", out var earlier)
                        ? count with { Count = count.Count + earlier.Count }
                        : count;
                }
            }

            // Lets tiered compilation promote what the warm-up made hot before the CPU baseline.
            await Task.Delay(TimeSpan.FromMilliseconds(300), stopToken);

            int openFilesBefore = OpenFiles();
            using var batch = new Batch(contender, streams, expected, stopToken);
            using var self = Process.GetCurrentProcess();
            using var sampler = new MemorySampler(batch.Open, settings.RunTimeout + HangGrace);
            ForceFullCollection();
            long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
            self.Refresh();
            TimeSpan cpuBefore = self.TotalProcessorTime;
            TimeSpan serverCpuBefore = server.CpuTime;
            long? overflowsBefore = ListenOverflows();
            using var handlerEvents = new HandlerEvents();
            using var gcEvents = new GcEvents();
            int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            TimeSpan pauseBefore = GC.GetTotalPauseDuration();
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            long started = Stopwatch.GetTimestamp();
            sampler.Arm();

            await batch.RunAsync(settings.RunTimeout);

            TimeSpan wall = Stopwatch.GetElapsedTime(started);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            self.Refresh();
            TimeSpan cpu = self.TotalProcessorTime - cpuBefore;
            TimeSpan serverCpu = server.CpuTime - serverCpuBefore;
            long? overflows = ListenOverflows() - overflowsBefore;
            var (maxOpen, memoryAtMax) = sampler.Stop();
            int[] collections = [GC.CollectionCount(0) - collectionsBefore[0], GC.CollectionCount(1) - collectionsBefore[1], GC.CollectionCount(2) - collectionsBefore[2]];
            TimeSpan paused = GC.GetTotalPauseDuration() - pauseBefore;
            await gcEvents.WaitForAsync(collections[0], TimeSpan.FromSeconds(2)); // after every reading of the run
            string gc = string.Create(CultureInfo.InvariantCulture, $"gen0/1/2 {collections[0]}/{collections[1]}/{collections[2]}, paused {paused.TotalMilliseconds:F0} ms, promoted {gcEvents.Promoted}");

            foreach (var (name, count) in batch.Failures())
            {
                failures[name] = count;
            }

            return new RunResult(key, streams, round)
            {
                Completed = batch.Completed,
                Failed = streams - batch.Completed,
                TtftMilliseconds = batch.TimesToFirstToken(),
                Wall = wall,
                ClientCpu = cpu,
                ServerCpu = serverCpu,
                AllocatedBytes = allocated,
                MaxOpen = maxOpen,
                HeldBytes = maxOpen == 0 ? 0 : memoryAtMax - memoryBefore,
                ListenOverflows = overflows,
                Failures = failures,
                HandlerEvents = handlerEvents.Counts,
                Collections = gc,
                OpenFilesBefore = openFilesBefore,
                OpenFilesAfter = OpenFiles(),
            };
        }
        finally
        {
            await contender.DisposeAsync();
            ForceFullCollection();

            // Lets the server see the closed connections and go idle before the next run's CPU baseline.
            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
        }
    }

    private static void ForceFullCollection()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>
    /// The kernel's <c>TcpExt ListenOverflows</c> counter (<c>/proc/net/netstat</c>, this network namespace): connection
    /// attempts dropped because a listener's accept queue was full. On loopback here that listener is the fake server
    /// (it asks for a backlog of 65,535, which the kernel caps at net.core.somaxconn): every drop costs the client a SYN retransmission, 1 s then 3 s.
    /// </summary>
    /// <summary>A kernel setting under <c>/proc/sys</c>, or "?" where there is none.</summary>
    private static string Sysctl(string path)
    {
        try
        {
            return File.ReadAllText(Path.Combine("/proc/sys", path)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    private static long? ListenOverflows()
    {
        try
        {
            string[] lines = File.ReadAllLines("/proc/net/netstat");
            for (int i = 0; i + 1 < lines.Length; i += 2)
            {
                string[] names = lines[i].Split(' ');
                string[] values = lines[i + 1].Split(' ');
                int index = Array.IndexOf(names, "ListenOverflows");
                if (names[0] == "TcpExt:" && index > 0 && index < values.Length)
                {
                    return long.Parse(values[index], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // Not Linux, or not readable: unknown.
        }
        catch (UnauthorizedAccessException)
        {
            // Unknown.
        }

        return null;
    }

    private static int OpenFiles()
    {
        try
        {
            return Directory.GetFiles("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>
    /// The streams of one run: created (each waiting on a start gate) before the baselines are taken, so the harness's own
    /// objects do not count as the contender's; released at once; cancelled after the run limit.
    /// </summary>
    private sealed class Batch : IDisposable
    {
        private readonly StreamProbe[] _probes;
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _cancel;
        private readonly Task _all;
        private bool _hung;

        public Batch(LoadContender contender, int streams, IReadOnlyList<string> expected, CancellationToken stopToken)
        {
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(stopToken);
            _probes = new StreamProbe[streams];
            var tasks = new Task[streams];
            for (int i = 0; i < streams; i++)
            {
                _probes[i] = new StreamProbe(expected[i % expected.Count], Open, model: i % expected.Count);
                tasks[i] = RunStreamAsync(_gate.Task, contender, _probes[i], _cancel.Token);
            }

            _all = Task.WhenAll(tasks);
        }

        public OpenStreamCounter Open { get; } = new();

        public int Completed => _probes.Count(p => p.Ended != 0 && p.Error is null && p.TextComplete);

        public async Task RunAsync(TimeSpan limit)
        {
            var watchdog = Task.Delay(limit + HangGrace, CancellationToken.None);
            _cancel.CancelAfter(limit);
            _gate.SetResult();
            if (await Task.WhenAny(_all, watchdog) != _all)
            {
                _hung = true;
            }
        }

        public double[] TimesToFirstToken()
        {
            var times = _probes.Where(p => p.FirstToken != 0)
                .Select(p => Stopwatch.GetElapsedTime(p.Started, p.FirstToken).TotalMilliseconds)
                .ToArray();
            Array.Sort(times);
            return times;
        }

        public Dictionary<string, FailureCount> Failures()
        {
            var failures = new Dictionary<string, FailureCount>(StringComparer.Ordinal);
            foreach (var probe in _probes)
            {
                (string Name, string Example)? failure = probe switch
                {
                    { Ended: 0 } when _hung => ("Hung (still open after cancellation)", string.Empty),
                    { Error: OperationCanceledException e } when _cancel.IsCancellationRequested => ($"Timeout: run limit ({Describe(e)})", e.Message),
                    { Error: { } e } => (Describe(e), e.Message),
                    { TextComplete: false, FirstToken: 0 } => ("No text (no exception)", string.Empty),
                    { TextComplete: false } => ("Wrong or incomplete text (no exception)", string.Empty),
                    _ => null,
                };

                if (failure is { } f)
                {
                    failures[f.Name] = failures.TryGetValue(f.Name, out var count)
                        ? count with { Count = count.Count + 1 }
                        : new FailureCount(1, f.Example.Length > 200 ? f.Example[..200] + "…" : f.Example);
                }
            }

            return failures;
        }

        public void Dispose() => _cancel.Dispose();

        private static async Task RunStreamAsync(Task gate, LoadContender contender, StreamProbe probe, CancellationToken cancellationToken)
        {
            await gate.ConfigureAwait(false);
            Exception? error = null;
            try
            {
                probe.Start();
                await contender.StreamAsync(probe, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                error = e;
            }

            probe.End(error);
        }

        /// <summary>The exception's type, with its innermost cause and the error code that tells causes apart.</summary>
        private static string Describe(Exception e)
        {
            static string One(Exception x) => x switch
            {
                OpenAIStreamTimeoutException t => $"{x.GetType().Name}({t.Kind})",
                OpenAIStreamException s when s.ErrorCode is not null => $"{x.GetType().Name}({s.ErrorCode})",
                HttpRequestException h => $"{x.GetType().Name}({h.HttpRequestError})",
                SocketException s => $"{x.GetType().Name}({s.SocketErrorCode})",
                System.ClientModel.ClientResultException c => $"{x.GetType().Name}({c.Status})",
                _ => x.GetType().Name,
            };

            Exception innermost = e;
            while (innermost.InnerException is { } inner)
            {
                innermost = inner;
            }

            return ReferenceEquals(innermost, e) ? One(e) : $"{One(e)} <- {One(innermost)}";
        }
    }
}

/// <summary>How often one kind of failure happened in a run, with one message of it.</summary>
public sealed record FailureCount(int Count, string Example);

/// <summary>One contender at one stream count in one round.</summary>
public sealed record RunResult(string Contender, int Streams, int Round)
{
    public int Completed { get; init; }

    public int Failed { get; init; }

    /// <summary>Gets the time to first token of every stream that got one, sorted, in milliseconds.</summary>
    public IReadOnlyList<double> TtftMilliseconds { get; init; } = [];

    public TimeSpan Wall { get; init; }

    public TimeSpan ClientCpu { get; init; }

    public TimeSpan ServerCpu { get; init; }

    public long AllocatedBytes { get; init; }

    /// <summary>Gets the most streams open at once (first text delta received, not ended) among the 10 ms samples.</summary>
    public int MaxOpen { get; init; }

    /// <summary>Gets the managed heap while <see cref="MaxOpen"/> streams were open, minus the heap before the run.</summary>
    public long HeldBytes { get; init; }

    public IReadOnlyDictionary<string, FailureCount> Failures { get; init; } = new Dictionary<string, FailureCount>();

    /// <summary>Gets the client's garbage collections during the run and the time they paused it.</summary>
    public string Collections { get; init; } = string.Empty;

    /// <summary>Gets what the handler counted during the run (hedges, retries, timeouts, …), empty without the handler.</summary>
    public IReadOnlyDictionary<string, long> HandlerEvents { get; init; } = new Dictionary<string, long>();

    /// <summary>Gets how many connection attempts the kernel dropped during the run because the server's accept queue was full, or null when unknown.</summary>
    public long? ListenOverflows { get; init; }

    /// <summary>Gets the client's open file descriptors after the warm-up (the previous run's connections should be gone).</summary>
    public int OpenFilesBefore { get; init; }

    /// <summary>Gets the client's open file descriptors after the run, before its contender is disposed.</summary>
    public int OpenFilesAfter { get; init; }
}
