using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using OpenAIStreaming.Handler.Internal;

namespace OpenAIStreaming;

/// <summary>
/// The timeouts, retry rules and bounds of <see cref="OpenAIStreamingHandler"/>. The defaults are the
/// <see cref="Interactive"/> preset (chat-style answers: a first token within 3 s, silences of at most 8 s, 45 s in all); <see cref="LongForm"/> and
/// <see cref="Reasoning"/> suit long outputs and thinking models. Each timeout and the retry count can be overridden per
/// request with the keys of <see cref="OpenAIStreamingRequestOptions"/>.
/// </summary>
/// <remarks>
/// Validation: each property has a <see cref="RangeAttribute"/>; on top of that the first-token, idle and connect timeouts
/// must not exceed the total timeout. With dependency injection the rules run at start-up; without it call
/// <see cref="Validate"/> (the <see cref="OpenAIStreamingHandler"/> constructor does).
/// </remarks>
[UnconditionalSuppressMessage(
    "Trimming",
    "IL2026:RequiresUnreferencedCode",
    Justification = "The [Range(typeof(TimeSpan), ...)] attributes are checked by a compile-time generated validator ([OptionsValidator]), which does not use the TypeConverter the attribute constructor warns about.")]
public sealed class OpenAIStreamingOptions
{
    /// <summary>
    /// Gets or sets how long establishing a connection (TCP and TLS) may take before the attempt fails (and is retried). It is
    /// applied as <see cref="SocketsHttpHandler.ConnectTimeout"/> of the primary handler this library creates
    /// (<see cref="OpenAIStreamingHandler.CreatePrimaryHandler"/> and the dependency-injection registration); a primary handler
    /// you bring yourself keeps its own setting. A slow connection does not wait for it: the first-token timeout starts
    /// another attempt beside the slow one. It only bounds a connection that cannot be made, and is long enough for a
    /// server whose accept queue is full (the kernel resends a dropped connection attempt after 1 s, then 3 s): a shorter
    /// one fails connections that would have succeeded.
    /// </summary>
    /// <value>The default is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ConnectTimeout { get; set; } = OpenAIStreamingDefaultValues.ConnectTimeout;

    /// <summary>
    /// Gets or sets how long a stream attempt may wait, from sending, for its first content before the next target starts
    /// beside it (a hedge: the next fallback, or the same target again). The attempt in flight is never cut by this timeout:
    /// whichever attempt delivers content first wins, so a slow first token can only arrive sooner than without it. Not
    /// applied to requests without <c>"stream": true</c>.
    /// </summary>
    /// <value>The default is 3 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan FirstTokenTimeout { get; set; } = OpenAIStreamingDefaultValues.FirstTokenTimeout;

    /// <summary>
    /// Gets or sets the longest a single read of a stream body may wait for data after the first content. When it fires the
    /// read fails with <see cref="OpenAIStreamTimeoutException"/> of kind <see cref="OpenAIStreamTimeoutKind.Idle"/>. Time
    /// the consumer spends between reads does not count.
    /// </summary>
    /// <value>The default is 8 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = OpenAIStreamingDefaultValues.IdleTimeout;

    /// <summary>
    /// Gets or sets the limit on the whole call: every attempt, every retry delay and the reading of the response body.
    /// When it fires the call fails with <see cref="OpenAIStreamTimeoutException"/> of kind
    /// <see cref="OpenAIStreamTimeoutKind.Total"/>.
    /// </summary>
    /// <value>The default is 45 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = OpenAIStreamingDefaultValues.TotalTimeout;

    /// <summary>
    /// Gets or sets how many times a request is sent again to the same target after a retryable failure before the commit
    /// point (connect failures, resets, a stream that ends or breaks before its first content, 408/409/429/5xx); a hedge on
    /// the same target counts as one. Each fallback gets as many. 0 turns retries off.
    /// </summary>
    /// <value>The default is 2 (three attempts in all), as in the official OpenAI SDKs.</value>
    [Range(0, OpenAIStreamingDefaultValues.MaxRetryAttemptsLimit)]
    public int MaxRetryAttempts { get; set; } = OpenAIStreamingDefaultValues.MaxRetryAttempts;

    /// <summary>
    /// Gets or sets the delay before the first retry when the server does not say how long to wait; retry <c>n</c>
    /// (zero-based) waits <c>RetryBaseDelay * 2^n</c>, spread by <see cref="RetryJitter"/>.
    /// </summary>
    /// <value>The default is 300 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = OpenAIStreamingDefaultValues.RetryBaseDelay;

    /// <summary>
    /// Gets or sets the relative spread of a computed retry delay: each delay is multiplied by a random factor in
    /// <c>[1 - RetryJitter, 1 + RetryJitter]</c>, so concurrent clients do not retry in step. Delays the server asked for
    /// (<c>retry-after-ms</c>, <c>Retry-After</c>) are used as given.
    /// </summary>
    /// <value>The default is 0.25 (±25 %).</value>
    [Range(0.0, 1.0)]
    public double RetryJitter { get; set; } = OpenAIStreamingDefaultValues.RetryJitter;

    /// <summary>
    /// Gets or sets the longest delay the handler waits when the server asks for one (<c>retry-after-ms</c>, then
    /// <c>Retry-After</c> in seconds or as an HTTP date). When the server asks for longer, or for longer than the total
    /// timeout has left, the handler does not wait: it returns that error response at once, so the reader reports its status,
    /// OpenAI error fields and request id.
    /// </summary>
    /// <value>The default is 60 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = OpenAIStreamingDefaultValues.MaxRetryAfter;

    /// <summary>
    /// Gets or sets the retry budget's ratio: every request through a handler instance earns this many retry tokens and every
    /// retry spends one, so in a storm retries stay near this fraction of the traffic (the earned tokens are capped at 100).
    /// The budget is shared by all requests through one handler instance or, with dependency injection, by every handler
    /// instance of one named client (so it survives <c>IHttpClientFactory</c>'s handler rotation).
    /// </summary>
    /// <value>The default is 0.2 (at most about one retry per five requests under sustained failure).</value>
    [Range(0.0, 10.0)]
    public double RetryBudgetRatio { get; set; } = OpenAIStreamingDefaultValues.RetryBudgetRatio;

    /// <summary>
    /// Gets or sets the retry budget's floor: this many retries per second are allowed whatever the ratio has earned, so a
    /// quiet client can still retry. Counted in whole-second windows of the handler's <see cref="TimeProvider"/>.
    /// </summary>
    /// <value>The default is 10.</value>
    [Range(0, 100_000)]
    public int RetryBudgetMinRetriesPerSecond { get; set; } = OpenAIStreamingDefaultValues.RetryBudgetMinRetriesPerSecond;

    /// <summary>
    /// Gets or sets a value indicating whether the handler asks every chat stream request it sends for its usage: it adds
    /// <c>"stream_options":{"include_usage":true}</c> to a body that sets no <c>stream_options</c> of its own, so the last
    /// chunk carries the tokens of the answer (for readers of the raw body, such as the official SDK). This library's own
    /// reader (<c>StreamChatCompletionAsync</c>) always asks for it unless the body sets <c>stream_options</c>.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool IncludeUsage { get; set; }

    /// <summary>
    /// Gets or sets the largest request body the handler buffers so it can send it again. A body with a larger
    /// <c>Content-Length</c> is sent once, without retries and without stream detection; a body of unknown length that turns
    /// out larger fails the request with <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <value>The default is 4 MiB (4,194,304 bytes).</value>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = OpenAIStreamingDefaultValues.MaxRequestBodyBytes;

    /// <summary>
    /// Gets or sets the largest error body (non-success status) the handler lets the caller read; the rest is cut off, so a
    /// misbehaving server cannot make an error report grow without bound.
    /// </summary>
    /// <value>The default is 64 KiB (65,536 bytes).</value>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxErrorBodyBytes { get; set; } = OpenAIStreamingDefaultValues.MaxErrorBodyBytes;

    /// <summary>
    /// Gets or sets the largest event of a stream body that passes through the handler to a reader other than this library's
    /// own (the official SDK, for example), in bytes of event data; the bytes from one event to the end of the next, fields,
    /// comments and blank lines included, may be at most twice this. A larger event or a flood of bytes that never completes
    /// an event fails the read with <see cref="OpenAIStreamProtocolException"/> instead of growing the reader's memory. This
    /// library's readers apply <see cref="Sse.ServerSentEventReaderOptions.MaxEventSize"/> themselves.
    /// </summary>
    /// <value>The default is 1 MiB (1,048,576 bytes).</value>
    [Range(16, 256 * 1024 * 1024)]
    public int MaxEventSize { get; set; } = OpenAIStreamingDefaultValues.MaxEventSize;

    /// <summary>
    /// Gets or sets the largest body of a successful answer to a request that is not a stream (for example a non-streamed
    /// chat completion). A larger body fails the read with <see cref="OpenAIStreamProtocolException"/>. Opt in when a
    /// misbehaving server could send an endless body; stream bodies are bounded per event instead (<see cref="MaxEventSize"/>).
    /// </summary>
    /// <value>The default is <see langword="null"/>: no limit.</value>
    [Range(1024, int.MaxValue)]
    public int? MaxResponseBodyBytes { get; set; }

    /// <summary>
    /// Gets or sets how many attempts of one call may be in flight at the same time: a first-token miss starts the next
    /// target beside the attempt in flight only while fewer than this many are. 1 turns hedging off (a miss then only waits).
    /// </summary>
    /// <value>The default is 2.</value>
    [Range(1, 8)]
    public int MaxHedgedAttempts { get; set; } = OpenAIStreamingDefaultValues.MaxHedgedAttempts;

    /// <summary>
    /// Gets or sets the most connections per server the primary handler this library creates opens
    /// (<see cref="OpenAIStreamingHandler.CreatePrimaryHandler"/>). Leave it unset: a stream queued behind a connection cap
    /// waits inside the client, invisibly, while its timers run. A limit on concurrent streams belongs in an explicit queue.
    /// </summary>
    /// <value>The default is <see langword="null"/>: no cap.</value>
    [Range(1, int.MaxValue)]
    public int? MaxConnectionsPerServer { get; set; }

    /// <summary>
    /// Gets the fallbacks of each requested model (the body's <c>model</c>, compared exactly), tried in order before
    /// <see cref="Fallbacks"/> when that model's target cannot answer — for example <c>gpt-4o</c> → <c>gpt-4o-mini</c>, then
    /// another endpoint. A request can replace the whole chain with <see cref="OpenAIStreamingRequestOptions.Fallbacks"/>.
    /// </summary>
    /// <value>Empty by default.</value>
    public IDictionary<string, IList<OpenAIStreamingFallback>> ModelFallbacks { get; private set; } = new Dictionary<string, IList<OpenAIStreamingFallback>>(StringComparer.Ordinal);

    /// <summary>
    /// Gets the ordered fallbacks of every request (after its model's <see cref="ModelFallbacks"/>): other models and/or
    /// endpoints a request moves to when its target has used up its retries or has an open circuit (and, for
    /// <c>context_length_exceeded</c>, only the ones marked <see cref="OpenAIStreamingFallback.HasLargerContextWindow"/>). A
    /// first-token miss starts the next one beside the attempt in flight (see <see cref="FirstTokenTimeout"/>). Each target
    /// gets its own retries; all share <see cref="TotalTimeout"/>.
    /// </summary>
    /// <value>Empty by default.</value>
    public IList<OpenAIStreamingFallback> Fallbacks { get; private set; } = new List<OpenAIStreamingFallback>();

    /// <summary>Gets or sets the circuit breaker kept per route (endpoint and model).</summary>
    [ValidateObjectMembers]
    public OpenAIStreamingCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>Gets or sets how a chat stream that breaks after its first content is recovered.</summary>
    [ValidateObjectMembers]
    public OpenAIStreamingRecoveryOptions Recovery { get; set; } = new();

    /// <summary>Gets a new instance with the defaults: for interactive chat (first token 3 s, idle 8 s, total 45 s).</summary>
    public static OpenAIStreamingOptions Interactive => new();

    /// <summary>
    /// Gets a new instance for long answers (documents, code): first token 10 s, idle 30 s, total 10 minutes; the rest as in
    /// <see cref="Interactive"/>.
    /// </summary>
    public static OpenAIStreamingOptions LongForm => new()
    {
        FirstTokenTimeout = OpenAIStreamingDefaultValues.LongFormFirstTokenTimeout,
        IdleTimeout = OpenAIStreamingDefaultValues.LongFormIdleTimeout,
        TotalTimeout = OpenAIStreamingDefaultValues.LongFormTotalTimeout,
    };

    /// <summary>
    /// Gets a new instance for thinking models, which may reason silently before the first token: first token 120 s, idle
    /// 60 s, total 20 minutes; the rest as in <see cref="Interactive"/>.
    /// </summary>
    public static OpenAIStreamingOptions Reasoning => new()
    {
        FirstTokenTimeout = OpenAIStreamingDefaultValues.ReasoningFirstTokenTimeout,
        IdleTimeout = OpenAIStreamingDefaultValues.ReasoningIdleTimeout,
        TotalTimeout = OpenAIStreamingDefaultValues.ReasoningTotalTimeout,
    };

    /// <summary>Creates a deep copy of these options.</summary>
    /// <returns>A new instance with the same values and its own copies of <see cref="Fallbacks"/>, <see cref="ModelFallbacks"/> and <see cref="CircuitBreaker"/>.</returns>
    public OpenAIStreamingOptions Clone()
    {
        var copy = (OpenAIStreamingOptions)MemberwiseClone();
        copy.Fallbacks = Fallbacks.Select(static f => f?.Clone()!).ToList();
        copy.ModelFallbacks = ModelFallbacks.ToDictionary(
            static pair => pair.Key,
            static pair => (IList<OpenAIStreamingFallback>)(pair.Value?.Select(static f => f?.Clone()!).ToList() ?? null!),
            StringComparer.Ordinal);
        copy.CircuitBreaker = CircuitBreaker?.Clone()!;
        copy.Recovery = Recovery?.Clone()!;
        return copy;
    }

    /// <summary>
    /// Checks every rule (the ranges and the cross-field rules) and throws when any fails, listing all failures.
    /// </summary>
    /// <exception cref="OptionsValidationException">At least one rule failed; <see cref="OptionsValidationException.Failures"/> lists them.</exception>
    public void Validate()
    {
        ValidateOptionsResult result = OpenAIStreamingOptionsValidator.Instance.Validate(Options.DefaultName, this);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(OpenAIStreamingOptions), result.Failures);
        }
    }
}
