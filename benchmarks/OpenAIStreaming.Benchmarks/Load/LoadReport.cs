using System.Globalization;
using System.Text;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>The <c>--load</c> table: one row per stream count and contender, rounds pooled.</summary>
public static class LoadReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string ProgressLine(RunResult run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var ttft = run.TtftMilliseconds;
        return string.Create(Invariant, $"""
            N={run.Streams,6} round {run.Round} {LoadContenders.DisplayName(run.Contender),-36} ok {run.Completed,6} failed {run.Failed,6} | TTFT p50 {Percentile(ttft, 0.50),8:F1} p99 {Percentile(ttft, 0.99),8:F1} max {Max(ttft),8:F1} ms | wall {run.Wall.TotalSeconds,6:F2} s | client CPU {run.ClientCpu.TotalSeconds,6:F2} s | server CPU {run.ServerCpu.TotalSeconds,6:F2} s | open {run.MaxOpen,6} | listen overflows {run.ListenOverflows?.ToString(Invariant) ?? "?"} | client fds {run.OpenFilesBefore} -> {run.OpenFilesAfter} | GC {run.Collections}{(run.HandlerEvents.Count == 0 ? string.Empty : " | handler: " + string.Join(", ", run.HandlerEvents.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} {e.Value}")))}{(run.Failures.Count == 0 ? string.Empty : " | " + string.Join("; ", run.Failures.Select(f => $"{f.Value.Count} x {f.Key}")))}
            """);
    }

    public static string Markdown(string header, LoadSettings settings, IReadOnlyList<RunResult> results)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("# OpenAIStreaming load run").AppendLine();
        foreach (string line in header.Split('\n'))
        {
            text.AppendLine(line.TrimEnd() + "  ");
        }

        text.AppendLine();
        text.AppendLine(string.Create(Invariant, $"""
            Rounds pooled ({settings.Rounds}): OK and Failed are summed; TTFT percentiles are over every stream of every round; the
            other columns are the median over rounds. TTFT: from just before the request is sent to the first non-empty text
            delta. CPU: the client process only, per stream. Alloc: `GC.GetTotalAllocatedBytes(true)` delta per stream. Held:
            `GC.GetTotalMemory(false)` (garbage not yet collected included) at the sample with the most streams open at once,
            minus the heap before the run, per open stream ("open" = first text delta received, not ended). Cores: CPU time /
            wall time, of the client and of the server process. p99 / raw: TTFT p99 against the raw row of the same N.
            """));
        text.AppendLine();
        text.AppendLine("| Streams | Contender | OK | Failed | TTFT p50 ms | TTFT p99 ms | TTFT max ms | p99 / raw | Wall s | CPU µs/stream | Alloc KB/stream | Held KB/open stream | Open at sample | Server CPU s | Cores client / server | Listen overflows | Bottleneck |");
        text.AppendLine("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");

        var failures = new StringBuilder();
        foreach (int streams in settings.Streams)
        {
            var rows = settings.Contenders
                .Select(key => (Key: key, Runs: results.Where(r => r.Streams == streams && r.Contender == key).ToList()))
                .Where(row => row.Runs.Count > 0)
                .ToList();
            double? rawP99 = rows.Where(r => r.Key == "raw").Select(r => (double?)Percentile(Pooled(r.Runs), 0.99)).FirstOrDefault();
            foreach (var (key, runs) in rows)
            {
                var ttft = Pooled(runs);
                double wall = Median(runs.Select(r => r.Wall.TotalSeconds));
                double cpu = Median(runs.Select(r => r.ClientCpu.TotalSeconds));
                double serverCpu = Median(runs.Select(r => r.ServerCpu.TotalSeconds));
                double p99 = Percentile(ttft, 0.99);
                long? overflows = runs.Any(r => r.ListenOverflows is null) ? null : (long)Median(runs.Select(r => (double)r.ListenOverflows!.Value));
                string ratio = key == "raw" || rawP99 is not > 0 || double.IsNaN(p99) ? "" : (p99 / rawP99.Value).ToString("F2", Invariant);
                text.AppendLine(string.Create(Invariant, $"| {streams:N0} | {LoadContenders.DisplayName(key)} | {runs.Sum(r => r.Completed):N0} | {runs.Sum(r => r.Failed):N0} | {Percentile(ttft, 0.50):F1} | {p99:F1} | {Max(ttft):F1} | {ratio} | {wall:F2} | {cpu * 1e6 / streams:N0} | {Median(runs.Select(r => (double)r.AllocatedBytes)) / streams / 1024:N1} | {HeldPerOpen(runs)} | {Median(runs.Select(r => (double)r.MaxOpen)):N0} | {serverCpu:F2} | {cpu / wall:F2} / {serverCpu / wall:F2} | {overflows?.ToString("N0", Invariant) ?? "?"} | {Bottleneck(settings, wall, cpu, serverCpu, overflows)} |"));

                foreach (var failure in runs.SelectMany(r => r.Failures).GroupBy(f => f.Key, StringComparer.Ordinal))
                {
                    failures.AppendLine(string.Create(Invariant, $"- N={streams:N0}, {LoadContenders.DisplayName(key)}: {failure.Sum(f => f.Value.Count):N0} x `{failure.Key}`{(failure.First().Value.Example is { Length: > 0 } example ? $": {example.ReplaceLineEndings(" ")}" : string.Empty)}"));
                }
            }
        }

        text.AppendLine();
        text.AppendLine("Bottleneck: `server CPU` / `client CPU` when client and server together used at least 80 % of the machine's cores and that side");
        text.AppendLine("used more; `server accept queue` when the kernel dropped connection attempts because the fake server's listen backlog was");
        text.AppendLine("full (`TcpExt ListenOverflows` in `/proc/net/netstat` rose during the run; each drop costs a SYN retransmission, 1 s then");
        text.AppendLine("3 s, which shows as TTFT p99 just above 1 s or 3 s and as connect timeouts); otherwise `none (paced)` when the wall time");
        text.AppendLine("stayed within 1.5 x the ideal stream time + 0.2 s, else `waits`.");
        text.AppendLine();
        text.AppendLine(failures.Length == 0 ? "No failures." : "Failures (warm-up failures are listed but not counted in Failed):");
        text.Append(failures);
        return text.ToString();
    }

    private static string Bottleneck(LoadSettings settings, double wall, double clientCpu, double serverCpu, long? listenOverflows)
    {
        var verdict = new List<string>();
        if (clientCpu + serverCpu >= 0.8 * Environment.ProcessorCount * wall)
        {
            verdict.Add(serverCpu >= clientCpu ? "**server CPU**" : "client CPU");
        }

        if (listenOverflows > 0)
        {
            verdict.Add("**server accept queue**");
        }

        if (verdict.Count == 0)
        {
            verdict.Add(wall <= (1.5 * settings.IdealStreamTime.TotalSeconds) + 0.2 ? "none (paced)" : "waits");
        }

        return string.Join(", ", verdict);
    }

    private static string HeldPerOpen(List<RunResult> runs)
    {
        var perOpen = runs.Where(r => r.MaxOpen > 0).Select(r => (double)r.HeldBytes / r.MaxOpen / 1024).ToList();
        return perOpen.Count == 0 ? "n/a" : Median(perOpen).ToString("N1", Invariant);
    }

    private static List<double> Pooled(List<RunResult> runs) => runs.SelectMany(r => r.TtftMilliseconds).Order().ToList();

    /// <summary>Nearest-rank percentile of sorted values; NaN when there are none.</summary>
    internal static double Percentile(IReadOnlyList<double> sorted, double quantile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static double Max(IReadOnlyList<double> sorted) => sorted.Count == 0 ? double.NaN : sorted[^1];

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }
}
