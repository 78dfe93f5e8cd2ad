using System.Diagnostics;
using System.Globalization;
using OpenAIStreaming.Benchmarks.Load;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Chaos;

/// <summary>
/// <c>--chaos</c> and <c>--recovery-time</c>: not BenchmarkDotNet. Both run against the fake server in a process of its own
/// and read through a client with <see cref="OpenAIStreamingHandler"/> (default options unless said otherwise).
/// </summary>
public static class RecoveryCommands
{
    public const string Usage = """
        usage: --chaos [--streams 10000] [--seed 1] [--concurrency 128] [--tokens 60]
                 every stream gets random faults from the seed (see ChaosPlan); both readers; exit code 1 unless every
                 stream ends with exactly the canonical text
               --recovery-time [--streams 400] [--seed 1] [--concurrency 16] [--tokens 60] [--gap-ms 15] [--responses | --continuation]
                 every stream breaks once (cut, reset, error event or malformed event at a random K) on its first attempt;
                 prints p50/p99 of the time from the last token before the break to the next new token, per reader
                 (default options, with the retry budget opened wide: every stream breaks). With --responses the streams
                 are background Responses streams, which are resumed (starting_after) instead of replayed; with
                 --continuation chat streams are continued from the delivered text (an assistant prefill) instead
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        bool chaos = args.Contains("--chaos");
        int streams = Option(args, "--streams", chaos ? 10_000 : 400);
        int seed = Option(args, "--seed", 1);
        int concurrency = Option(args, "--concurrency", chaos ? 128 : 16);
        int tokens = Option(args, "--tokens", 60);
        int gap = Option(args, "--gap-ms", chaos ? 0 : 15);
        if (streams < 1 || concurrency < 1 || tokens < 2 || gap < 0)
        {
            output.WriteLine(Usage);
            return 2;
        }

        LoadSettings settings = LoadSettings.Parse(["--tokens", Invariant(tokens), "--gap-ms", Invariant(gap)], output)!;
        await using FakeOpenAIServer local = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = tokens });
        using var server = await FakeServerProcess.StartAsync(settings, CancellationToken.None);
        output.WriteLine($"fake server: pid {server.ProcessId}, {tokens} tokens, {gap} ms between events; {Environment.ProcessorCount} cores; seed {seed}; {streams} streams, {concurrency} at a time");
        string Expected(string model, string prompt) => local.GetExpectedText(model, [new FakeMessage("user", prompt)]);

        return chaos
            ? await ChaosAsync(server.BaseAddress, streams, seed, concurrency, tokens, Expected, output)
            : await RecoveryTimeAsync(server.BaseAddress, streams, seed, concurrency, tokens, args.Contains("--responses"), args.Contains("--continuation"), output);
    }

    private static async Task<int> ChaosAsync(Uri baseAddress, int streams, int seed, int concurrency, int tokens, Func<string, string, string> expected, TextWriter output)
    {
        bool all = true;
        foreach (ChaosReader reader in Enum.GetValues<ChaosReader>())
        {
            using HttpClient http = Client(baseAddress, ChaosSettings.HandlerOptions());
            var time = Stopwatch.StartNew();
            ChaosReport report = await ChaosRun.RunAsync(http, new ChaosSettings(streams, seed, concurrency, TimeSpan.FromMinutes(2)), reader, tokens, expected);
            output.WriteLine($"{reader,-6} {time.Elapsed.TotalSeconds,6:F1} s: {report}");
            foreach (string example in report.Examples)
            {
                output.WriteLine($"       {example}");
            }

            all &= report.Exact == streams;
        }

        return all ? 0 : 1;
    }

    private static async Task<int> RecoveryTimeAsync(Uri baseAddress, int streams, int seed, int concurrency, int tokens, bool responses, bool continuation, TextWriter output)
    {
        // A background Responses stream has five events before its first delta (created, queued, in_progress, the output
        // item and the content part); a chat stream one (the role chunk). K counts events, so it falls among the deltas.
        int before = responses ? 5 : 1;
        string[] kinds = ["cut", "reset-after", "error", "malformed"];
        foreach (ChaosReader reader in Enum.GetValues<ChaosReader>())
        {
            // Default options, but every stream here breaks: the retry budget (about 20 % of requests plus 10 a second) is
            // opened wide, or most breaks of the burst would end as the typed error instead of a measured recovery.
            var options = new OpenAIStreamingOptions { RetryBudgetRatio = 1.0, RetryBudgetMinRetriesPerSecond = 100_000 };
            options.Recovery.ContinueWithAssistantPrefill = continuation;
            using HttpClient http = Client(baseAddress, options);
            var gaps = new List<double>[kinds.Length];
            for (int k = 0; k < kinds.Length; k++)
            {
                gaps[k] = [];
            }

            using var gate = new SemaphoreSlim(concurrency);
            var runs = new List<Task>();
            int failures = 0;
            for (int i = 0; i < streams; i++)
            {
                var random = new Random(unchecked((seed * 7919) + i));
                int kind = random.Next(kinds.Length);
                int at = random.Next(before + 1, before + tokens);
                string fault = kinds[kind] == "malformed" ? $"malformed={at + 1}" : $"{kinds[kind]}={at}";
                string model = $"fault:{fault};attempts=1";
                string prompt = $"recovery {i}";
                await gate.WaitAsync();
                runs.Add(Task.Run(async () =>
                {
                    try
                    {
                        double? gap = await LongestGapAsync(http, reader, model, prompt, responses);
                        lock (gaps)
                        {
                            if (gap is { } ms)
                            {
                                gaps[kind].Add(ms);
                            }
                            else
                            {
                                failures++;
                            }
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            await Task.WhenAll(runs);
            List<double> every = [.. gaps.SelectMany(g => g)];
            output.WriteLine($"{reader,-6} {(responses ? "background Responses, resumed" : continuation ? "chat, continued" : "chat, replayed")}: break to next new token: p50 {Percentile(every, 0.50),7:F1} ms  p99 {Percentile(every, 0.99),7:F1} ms  max {every.DefaultIfEmpty().Max(),7:F1} ms  ({every.Count} streams, {failures} failed)");
            for (int k = 0; k < kinds.Length; k++)
            {
                output.WriteLine($"         {kinds[k],-12} p50 {Percentile(gaps[k], 0.50),7:F1} ms  p99 {Percentile(gaps[k], 0.99),7:F1} ms  ({gaps[k].Count} streams)");
            }
        }

        return 0;
    }

    /// <summary>Streams one answer and returns the longest time between two updates with text (the break's), or null when the stream failed.</summary>
    private static async Task<double?> LongestGapAsync(HttpClient http, ChaosReader reader, string model, string prompt, bool responses)
    {
        var arrivals = new List<long>(80);
        try
        {
            if (responses)
            {
                await ReadResponsesAsync(http, reader, model, prompt, arrivals);
            }
            else if (reader == ChaosReader.Typed)
            {
                string request = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]}""";
                await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request))
                {
                    if (!string.IsNullOrEmpty(update.Text))
                    {
                        arrivals.Add(Stopwatch.GetTimestamp());
                    }
                }
            }
            else
            {
                await foreach (OpenAI.Chat.StreamingChatCompletionUpdate update in new OpenAI.Chat.ChatClient(model, Key, SdkOptions<OpenAI.OpenAIClientOptions>(http)).CompleteChatStreamingAsync([OpenAI.Chat.ChatMessage.CreateUserMessage(prompt)]))
                {
                    if (update.ContentUpdate.Count > 0 && update.ContentUpdate[0].Text.Length > 0)
                    {
                        arrivals.Add(Stopwatch.GetTimestamp());
                    }
                }
            }
        }
        catch (OpenAIStreamException ex)
        {
            Console.Error.WriteLine($"{reader} {model}: {ex.GetType().Name}: {ex.Message}");
            return null;
        }

        double longest = 0;
        for (int i = 1; i < arrivals.Count; i++)
        {
            longest = Math.Max(longest, Stopwatch.GetElapsedTime(arrivals[i - 1], arrivals[i]).TotalMilliseconds);
        }

        return longest;
    }

    private static readonly System.ClientModel.ApiKeyCredential Key = new("sk-time");

    private static async Task ReadResponsesAsync(HttpClient http, ChaosReader reader, string model, string prompt, List<long> arrivals)
    {
        if (reader == ChaosReader.Typed)
        {
            string request = $$"""{"model":"{{model}}","input":"{{prompt}}","stream":true,"background":true}""";
            await foreach (ResponseStreamEvent e in http.StreamResponseAsync(request))
            {
                if (e.Kind == ResponseStreamEventKind.OutputTextDelta && !string.IsNullOrEmpty(e.Delta))
                {
                    arrivals.Add(Stopwatch.GetTimestamp());
                }
            }

            return;
        }

#pragma warning disable OPENAI001 // the Responses client is marked experimental in SDK 2.15
        var client = new OpenAI.Responses.ResponsesClient(Key, SdkOptions<OpenAI.Responses.ResponsesClientOptions>(http));
        var options = new OpenAI.Responses.CreateResponseOptions(model, [OpenAI.Responses.ResponseItem.CreateUserMessageItem(prompt)]) { StreamingEnabled = true, BackgroundModeEnabled = true };
        await foreach (OpenAI.Responses.StreamingResponseUpdate update in await client.CreateResponseStreamingAsync(options))
        {
            if (update is OpenAI.Responses.StreamingResponseOutputTextDeltaUpdate { Delta.Length: > 0 })
            {
                arrivals.Add(Stopwatch.GetTimestamp());
            }
        }
#pragma warning restore OPENAI001
    }

    private static T SdkOptions<T>(HttpClient http)
        where T : System.ClientModel.Primitives.ClientPipelineOptions, new()
    {
        var options = new T
        {
            Transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(http),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        switch (options)
        {
            case OpenAI.OpenAIClientOptions chat:
                chat.Endpoint = http.BaseAddress;
                break;
#pragma warning disable OPENAI001
            case OpenAI.Responses.ResponsesClientOptions responses:
#pragma warning restore OPENAI001
                responses.Endpoint = http.BaseAddress;
                break;
        }

        return options;
    }

    private static HttpClient Client(Uri baseAddress, OpenAIStreamingOptions options) =>
        new(new OpenAIStreamingHandler(options) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[Math.Min(values.Count - 1, (int)Math.Ceiling(p * values.Count) - 1)];
    }

    private static int Option(IReadOnlyList<string> args, string name, int fallback)
    {
        int at = args.ToList().IndexOf(name);
        return at >= 0 && at + 1 < args.Count && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : fallback;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
