using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Chaos;

/// <summary>How a chaos run reads its streams: this library's typed reader, or the official SDK reading the bytes.</summary>
public enum ChaosReader
{
    Typed,
    Sdk,
}

/// <summary>The parameters of a chaos run; the same seed gives the same faults on the same streams.</summary>
/// <param name="Streams">How many streams.</param>
/// <param name="Seed">The seed of the fault plan.</param>
/// <param name="Concurrency">How many streams are in flight at once.</param>
/// <param name="StreamTimeout">How long one stream may take before it counts as a hang.</param>
public sealed record ChaosSettings(int Streams, int Seed, int Concurrency, TimeSpan StreamTimeout)
{
    /// <summary>The handler's options for a chaos run: the defaults, with an idle timeout and retry delay short enough for stalls and statuses by the thousand, and a retry budget that does not run out.</summary>
    public static OpenAIStreamingOptions HandlerOptions() => new()
    {
        IdleTimeout = TimeSpan.FromMilliseconds(400),
        RetryBaseDelay = TimeSpan.FromMilliseconds(5),
        RetryBudgetRatio = 1.0,
        RetryBudgetMinRetriesPerSecond = 100_000,
    };
}

/// <summary>What a chaos run found, stream by stream, summed.</summary>
public sealed class ChaosReport
{
    private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _examples = new();
    private int _exact;
    private int _lost;
    private int _garbled;
    private int _hangs;
    private long _recovered;

    /// <summary>Gets the streams that ended complete with exactly the canonical text.</summary>
    public int Exact => _exact;

    /// <summary>Gets the streams that ended without an error but with less than the canonical text (a truncated "success").</summary>
    public int Lost => _lost;

    /// <summary>Gets the streams whose text was not a prefix of the canonical text: something repeated, missing inside, or garbled.</summary>
    public int Garbled => _garbled;

    /// <summary>Gets the streams that did not end within the stream timeout.</summary>
    public int Hangs => _hangs;

    /// <summary>Gets the streams that ended with a typed error, by exception type (their delivered text was a clean prefix).</summary>
    public IReadOnlyDictionary<string, int> Errors => _errors;

    /// <summary>Gets the number of streams whose plan broke them at least once after their first content.</summary>
    public long BrokenAfterFirstContent => Interlocked.Read(ref _recovered);

    /// <summary>Gets up to ten described failures.</summary>
    public IEnumerable<string> Examples => _examples;

    /// <summary>Gets the streams that failed in any way.</summary>
    public int Failed => _lost + _garbled + _hangs + _errors.Values.Sum();

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"exact {Exact}, lost {Lost}, garbled or duplicated {Garbled}, hangs {Hangs}, typed errors {_errors.Values.Sum()}")
        + (_errors.IsEmpty ? string.Empty : " (" + string.Join(", ", _errors.Select(e => $"{e.Key} {e.Value}")) + ")")
        + string.Create(CultureInfo.InvariantCulture, $"; {BrokenAfterFirstContent} streams broken after their first content");

    internal void Add(ChaosPlan plan, string expected, string text, Exception? error, bool hung)
    {
        if (plan.BreaksAfterContent > 0)
        {
            Interlocked.Increment(ref _recovered);
        }

        if (hung)
        {
            Interlocked.Increment(ref _hangs);
            Note(plan, "hang");
        }
        else if (!expected.StartsWith(text, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _garbled);
            Note(plan, $"text is not a prefix of the canonical text (got {text.Length} chars, error {error?.GetType().Name})");
        }
        else if (error is not null)
        {
            _errors.AddOrUpdate(error.GetType().Name, 1, static (_, n) => n + 1);
            Note(plan, $"{error.GetType().Name}: {error.Message}");
        }
        else if (text.Length != expected.Length)
        {
            Interlocked.Increment(ref _lost);
            Note(plan, $"ended without an error after {text.Length} of {expected.Length} chars");
        }
        else
        {
            Interlocked.Increment(ref _exact);
        }
    }

    private void Note(ChaosPlan plan, string what)
    {
        if (_examples.Count < 10)
        {
            _examples.Enqueue($"stream {plan.Index} ({plan.Model}): {what}");
        }
    }
}

/// <summary>
/// One stream's faults, drawn from the seed: before the stream perhaps a 429 or 503; after its commit point up to two
/// breaks (cut, reset, stall, a 500 error event or a malformed event at a random event K) on successive attempts; and
/// perhaps one byte-level fault on every attempt (one byte per write, split characters, CRLF or CR line endings). The
/// faults ride in the model name (<c>fault:…</c>), so the fake server applies them per request and per attempt.
/// </summary>
public sealed record ChaosPlan(int Index, string Model, string Prompt, int BreaksAfterContent)
{
    private static readonly string[] ByteFaults = ["bytewise", "split-utf8", "crlf", "cr"];

    public static ChaosPlan Create(int seed, int index, int tokens)
    {
        var random = new Random(unchecked((seed * 1_000_003) + index));
        var faults = new List<string>();
        int attempt = 1;
        if (random.NextDouble() < 0.15)
        {
            faults.Add(string.Create(CultureInfo.InvariantCulture, $"status={(random.Next(2) == 0 ? 429 : 503)};attempts={attempt++}"));
        }

        double draw = random.NextDouble();
        int breaks = draw < 0.25 ? 0 : draw < 0.8 ? 1 : 2;
        for (int i = 0; i < breaks; i++, attempt++)
        {
            int k = random.Next(2, tokens + 1); // after the role chunk and at least one token: after the commit point
            string fault = random.Next(5) switch
            {
                0 => $"cut={k}",
                1 => $"reset-after={k}",
                2 => $"stall={k};for=60s",
                3 => $"error={k}",
                _ => $"malformed={k + 1}",
            };
            faults.Add(string.Create(CultureInfo.InvariantCulture, $"{fault};attempts={attempt}"));
        }

        if (random.NextDouble() < 0.3)
        {
            faults.Add(ByteFaults[random.Next(ByteFaults.Length)]);
        }

        string model = faults.Count == 0 ? "gpt-4o-mini" : "fault:" + string.Join(",", faults);
        return new ChaosPlan(index, model, string.Create(CultureInfo.InvariantCulture, $"chaos {index}"), breaks);
    }
}

/// <summary>Runs <see cref="ChaosSettings.Streams"/> streams with <see cref="ChaosPlan"/> faults through a client with the handler and sorts how each ended.</summary>
public static class ChaosRun
{
    /// <param name="http">A client with <see cref="OpenAIStreamingHandler"/> whose base address is the fake server.</param>
    /// <param name="settings">The run.</param>
    /// <param name="reader">How the streams are read.</param>
    /// <param name="tokens">The server's tokens per answer.</param>
    /// <param name="expectedText">The canonical text for a model name and a prompt.</param>
    public static async Task<ChaosReport> RunAsync(HttpClient http, ChaosSettings settings, ChaosReader reader, int tokens, Func<string, string, string> expectedText)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(expectedText);
        var report = new ChaosReport();
        using var gate = new SemaphoreSlim(settings.Concurrency);
        var runs = new List<Task>(settings.Streams);
        for (int i = 0; i < settings.Streams; i++)
        {
            ChaosPlan plan = ChaosPlan.Create(settings.Seed, i, tokens);
            await gate.WaitAsync().ConfigureAwait(false);
            runs.Add(Task.Run(async () =>
            {
                try
                {
                    await RunOneAsync(http, plan, reader, settings.StreamTimeout, expectedText(plan.Model, plan.Prompt), report).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(runs).ConfigureAwait(false);
        return report;
    }

    private static async Task RunOneAsync(HttpClient http, ChaosPlan plan, ChaosReader reader, TimeSpan timeout, string expected, ChaosReport report)
    {
        using var limit = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        Exception? error = null;
        bool hung = false;
        try
        {
            if (reader == ChaosReader.Typed)
            {
                await ReadTypedAsync(http, plan, text, limit.Token).ConfigureAwait(false);
            }
            else
            {
                await ReadWithSdkAsync(http, plan, text, limit.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            hung = true;
        }
        catch (Exception ex)
        {
            error = ex;
        }

        report.Add(plan, expected, text.ToString(), error, hung);
    }

    private static async Task ReadTypedAsync(HttpClient http, ChaosPlan plan, StringBuilder text, CancellationToken cancellationToken)
    {
        string request = $$"""{"model":"{{plan.Model}}","messages":[{"role":"user","content":"{{plan.Prompt}}"}]}""";
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update.IsRestart)
            {
                throw new InvalidOperationException("The stream restarted, although every replay of this server answers the same.");
            }

            text.Append(update.Text);
        }
    }

    private static async Task ReadWithSdkAsync(HttpClient http, ChaosPlan plan, StringBuilder text, CancellationToken cancellationToken)
    {
        var client = new ChatClient(plan.Model, new ApiKeyCredential("sk-chaos"), new OpenAIClientOptions
        {
            Endpoint = http.BaseAddress,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(plan.Prompt)], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }
    }
}
