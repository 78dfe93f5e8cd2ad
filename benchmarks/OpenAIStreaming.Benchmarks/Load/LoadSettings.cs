using System.Globalization;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>The command line of <c>--load</c>.</summary>
public sealed class LoadSettings
{
    public const string Usage = """
        usage: --load [--streams 1,100,1000,10000] [--models 1] [--tokens 60] [--gap-ms 15] [--first-token-ms 0] [--rounds 1]
                      [--warmup 32] [--process-warmup 400] [--scale-warmup 1000] [--timeout-s 300] [--contenders raw,sdk,sdk-handler,typed[,typed-direct]] [--out PATH]
          --streams         concurrent streams per run, one run per value and contender
          --models          models behind the one endpoint: stream i asks for model i mod N (gpt-4o-mini, gpt-4o-mini-2, ...)
          --tokens          content tokens per answer (the fake server's TokenCount)
          --gap-ms          delay between two events (TokenGap)
          --first-token-ms  delay between the response headers and the first event (TimeToFirstToken)
          --rounds          every contender runs once per round at each stream count, in a rotating order
          --warmup          streams each contender reads, 8 at a time, before every measured run
          --process-warmup  streams each contender reads, 50 at a time, once before the first run (tiered compilation)
          --scale-warmup    at a stream count at least this, every contender first runs once unmeasured (0: never)
          --timeout-s       cancels a run after this long; streams still open count as failures
          --contenders      a subset of raw, sdk, sdk-handler, typed, typed-direct (the typed reader without the handler)
          --out             the Markdown report (default BenchmarkDotNet.Artifacts/load-results.md)
        """;

    public IReadOnlyList<int> Streams { get; private set; } = [1, 100, 1_000, 10_000];

    public int Models { get; private set; } = 1;

    public int Tokens { get; private set; } = 60;

    public int GapMilliseconds { get; private set; } = 15;

    public int FirstTokenMilliseconds { get; private set; }

    public int Rounds { get; private set; } = 1;

    public int WarmupStreams { get; private set; } = 32;

    public int ProcessWarmupStreams { get; private set; } = 400;

    /// <summary>
    /// Gets the smallest stream count at which every contender first runs once, unmeasured, at that count: the first run
    /// of that size in the process pays for growing the heap (and the thread pool) to it, whichever contender it is.
    /// </summary>
    public int ScaleWarmupStreams { get; private set; } = 1_000;

    public TimeSpan RunTimeout { get; private set; } = TimeSpan.FromMinutes(5);

    public IReadOnlyList<string> Contenders { get; private set; } = LoadContenders.Keys;

    public string OutputPath { get; private set; } = Path.Combine("BenchmarkDotNet.Artifacts", "load-results.md");

    /// <summary>The time one stream takes on an idle machine: the first-token delay plus a gap before every event after the first.</summary>
    public TimeSpan IdealStreamTime => TimeSpan.FromMilliseconds(FirstTokenMilliseconds + ((Tokens + 2) * (double)GapMilliseconds));

    /// <summary>Parses the arguments after <c>--load</c>; returns null and writes why when one is wrong.</summary>
    public static LoadSettings? Parse(IReadOnlyList<string> args, TextWriter error)
    {
        var settings = new LoadSettings();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name == "--load")
            {
                continue;
            }

            string? value = i + 1 < args.Count ? args[++i] : null;
            bool ok = name switch
            {
                "--streams" => TryParseList(value, out var streams) && (settings.Streams = streams).Count > 0,
                "--models" => TryParse(value, 1, out int models) && (settings.Models = models) > 0,
                "--tokens" => TryParse(value, 1, out int tokens) && (settings.Tokens = tokens) > 0,
                "--gap-ms" => TryParse(value, 0, out int gap) && (settings.GapMilliseconds = gap) >= 0,
                "--first-token-ms" => TryParse(value, 0, out int first) && (settings.FirstTokenMilliseconds = first) >= 0,
                "--rounds" => TryParse(value, 1, out int rounds) && (settings.Rounds = rounds) > 0,
                "--scale-warmup" => TryParse(value, 0, out int scaleWarmup) && (settings.ScaleWarmupStreams = scaleWarmup) >= 0,
                "--process-warmup" => TryParse(value, 0, out int processWarmup) && (settings.ProcessWarmupStreams = processWarmup) >= 0,
                "--warmup" => TryParse(value, 0, out int warmup) && (settings.WarmupStreams = warmup) >= 0,
                "--timeout-s" => TryParse(value, 1, out int seconds) && (settings.RunTimeout = TimeSpan.FromSeconds(seconds)) > TimeSpan.Zero,
                "--contenders" => TryParseContenders(value, out var contenders) && (settings.Contenders = contenders).Count > 0,
                "--out" => !string.IsNullOrWhiteSpace(value) && (settings.OutputPath = value).Length > 0,
                _ => false,
            };

            if (!ok)
            {
                error.WriteLine($"--load: bad or unknown option '{name}'{(value is null ? string.Empty : $" '{value}'")}.");
                error.WriteLine(Usage);
                return null;
            }
        }

        return settings;
    }

    private static bool TryParse(string? value, int min, out int result) =>
        int.TryParse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out result) && result >= min;

    private static bool TryParseList(string? value, out IReadOnlyList<int> result)
    {
        var list = new List<int>();
        result = list;
        foreach (string part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            {
                return false;
            }

            list.Add(n);
        }

        return list.Count > 0;
    }

    private static bool TryParseContenders(string? value, out IReadOnlyList<string> result)
    {
        string[] keys = (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        result = keys;
        return keys.Length > 0 && keys.All(k => LoadContenders.AllKeys.Contains(k, StringComparer.Ordinal));
    }
}
