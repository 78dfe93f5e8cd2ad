using OpenAIStreaming.Testing.Internal;

namespace OpenAIStreaming.Testing;

/// <summary>
/// One misbehaviour of the fake server: a <see cref="FaultKind"/> and its parameters.
/// Build one with the static factory methods; attach it to requests with a <see cref="FaultRule"/>,
/// the <c>x-fake-fault</c> header or a <c>fault:…</c> model name (see <see cref="FaultRule.Parse(string)"/>).
/// </summary>
/// <param name="Kind">What the fault does.</param>
public sealed record Fault(FaultKind Kind)
{
    /// <summary>Gets the HTTP status of a <see cref="FaultKind.Status"/>, <see cref="FaultKind.Outage"/> or <see cref="FaultKind.Redirect"/> fault.</summary>
    /// <value>The default is 0, which means 500 for <see cref="FaultKind.Status"/>, 503 for <see cref="FaultKind.Outage"/> and 307 for <see cref="FaultKind.Redirect"/>.</value>
    public int StatusCode { get; init; }

    /// <summary>Gets the <c>error.code</c> to send, which also picks the message and type, e.g. <c>context_length_exceeded</c>, <c>content_policy_violation</c>, <c>insufficient_quota</c>.</summary>
    /// <value>The default is <see langword="null"/>: the usual code for the status (429 → <c>rate_limit_exceeded</c>, 401 → <c>invalid_api_key</c>, …).</value>
    public string? ErrorCode { get; init; }

    /// <summary>Gets the value of the <c>Retry-After</c> header (whole or fractional seconds).</summary>
    /// <value>The default is <see langword="null"/>: no <c>Retry-After</c> header.</value>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Gets the value of the <c>retry-after-ms</c> header.</summary>
    /// <value>The default is <see langword="null"/>: no <c>retry-after-ms</c> header.</value>
    public TimeSpan? RetryAfterMs { get; init; }

    /// <summary>Gets a value indicating whether <c>Retry-After</c> is sent as an HTTP date (server clock + <see cref="RetryAfter"/>) instead of seconds.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool RetryAfterAsDate { get; init; }

    /// <summary>Gets the value of the <c>x-should-retry</c> header.</summary>
    /// <value>The default is <see langword="null"/>: no header.</value>
    public bool? ShouldRetry { get; init; }

    /// <summary>Gets the event count K (cut, stall, mid-stream error, malformed event, keep-alive period, endless events, endless line, malformed chunk) or the token index (diverge).</summary>
    /// <value>The default is 0.</value>
    public int Events { get; init; }

    /// <summary>Gets the duration T (slow first token, stall, outage window, pause between writes or reads).</summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan Duration { get; init; }

    /// <summary>Gets how a <see cref="FaultKind.MidStreamError"/> looks on a Responses stream.</summary>
    /// <value>The default is <see cref="MidStreamErrorShape.Nested"/>.</value>
    public MidStreamErrorShape ErrorShape { get; init; }

    /// <summary>Gets the comment text of <see cref="FaultKind.KeepAliveComments"/>, without the leading colon.</summary>
    /// <value>The default is <see langword="null"/>, which means <c>" keep-alive"</c>.</value>
    public string? Text { get; init; }

    /// <summary>Gets the number of request-body bytes read at a time by <see cref="FaultKind.SlowRequestRead"/>.</summary>
    /// <value>The default is 0, which means 1 byte.</value>
    public int ChunkSize { get; init; }

    /// <summary>Gets the bytes a <see cref="FaultKind.ReplayBody"/> fault answers with.</summary>
    /// <value>The default is empty.</value>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Gets the <c>Location</c> header value of a <see cref="FaultKind.Redirect"/> fault, e.g. <c>http://127.0.0.1:1234/v1/chat/completions</c>.</summary>
    /// <value>The default is <see langword="null"/>, which a <see cref="FaultKind.Redirect"/> fault may not have.</value>
    public string? Location { get; init; }

    /// <summary>Gets the number of events after which a <see cref="FaultKind.GzipBody"/> fault turns the compressed data to garbage.</summary>
    /// <value>The default is <see langword="null"/>: the compressed data stays valid.</value>
    public int? CorruptAfterEvents { get; init; }

    /// <summary>An error status with an OpenAI-shaped body.</summary>
    /// <param name="statusCode">The HTTP status, e.g. 429, 500, 502, 503, 504, 401 or 400.</param>
    /// <param name="errorCode">The <c>error.code</c>, or <see langword="null"/> for the usual one for the status.</param>
    /// <param name="retryAfter">The <c>Retry-After</c> value, or <see langword="null"/> for none.</param>
    /// <param name="retryAfterMs">The <c>retry-after-ms</c> value, or <see langword="null"/> for none.</param>
    /// <returns>The fault.</returns>
    public static Fault Status(int statusCode, string? errorCode = null, TimeSpan? retryAfter = null, TimeSpan? retryAfterMs = null) =>
        new(FaultKind.Status) { StatusCode = statusCode, ErrorCode = errorCode, RetryAfter = retryAfter, RetryAfterMs = retryAfterMs };

    /// <summary>Aborts the connection before any response byte.</summary>
    /// <returns>The fault.</returns>
    public static Fault ResetBeforeHeaders() => new(FaultKind.ResetBeforeHeaders);

    /// <summary>Accepts the request and never answers.</summary>
    /// <returns>The fault.</returns>
    public static Fault NeverAnswer() => new(FaultKind.NeverAnswer);

    /// <summary>Sends headers at once, the first event after <paramref name="delay"/>.</summary>
    /// <param name="delay">The extra time before the first event.</param>
    /// <returns>The fault.</returns>
    public static Fault SlowFirstToken(TimeSpan delay) => new(FaultKind.SlowFirstToken) { Duration = delay };

    /// <summary>Writes <paramref name="events"/> events, then aborts the connection.</summary>
    /// <param name="events">The number of complete events written before the abort.</param>
    /// <returns>The fault.</returns>
    public static Fault CutAfterEvents(int events) => new(FaultKind.CutAfterEvents) { Events = events };

    /// <summary>Writes <paramref name="events"/> events, waits <paramref name="stall"/>, then aborts the connection.</summary>
    /// <param name="events">The number of complete events written before the stall.</param>
    /// <param name="stall">How long to stay silent before the abort.</param>
    /// <returns>The fault.</returns>
    public static Fault StallAfterEvents(int events, TimeSpan stall) => new(FaultKind.StallAfterEvents) { Events = events, Duration = stall };

    /// <summary>Writes <paramref name="events"/> events, then an error event, then ends the body.</summary>
    /// <param name="events">The number of events before the error event.</param>
    /// <param name="shape">How the error looks on a Responses stream.</param>
    /// <returns>The fault.</returns>
    public static Fault MidStreamError(int events, MidStreamErrorShape shape = MidStreamErrorShape.Nested) =>
        new(FaultKind.MidStreamError) { Events = events, ErrorShape = shape };

    /// <summary>Makes event number <paramref name="eventNumber"/> (1-based) invalid JSON.</summary>
    /// <param name="eventNumber">The 1-based number of the broken event.</param>
    /// <returns>The fault.</returns>
    public static Fault MalformedJson(int eventNumber) => new(FaultKind.MalformedJson) { Events = eventNumber };

    /// <summary>Omits <c>data: [DONE]</c>.</summary>
    /// <returns>The fault.</returns>
    public static Fault MissingDone() => new(FaultKind.MissingDone);

    /// <summary>Writes and flushes every byte separately.</summary>
    /// <param name="pause">The wait after each byte (through the server's <see cref="TimeProvider"/>).</param>
    /// <returns>The fault.</returns>
    public static Fault ByteByByte(TimeSpan pause = default) => new(FaultKind.ByteByByte) { Duration = pause };

    /// <summary>Splits every multi-byte UTF-8 character across two flushed writes.</summary>
    /// <param name="pause">The wait between the two halves (through the server's <see cref="TimeProvider"/>).</param>
    /// <returns>The fault.</returns>
    public static Fault SplitMultiByteCharacters(TimeSpan pause = default) => new(FaultKind.SplitMultiByteCharacters) { Duration = pause };

    /// <summary>Ends SSE lines with CR LF.</summary>
    /// <returns>The fault.</returns>
    public static Fault CrlfLineEndings() => new(FaultKind.CrlfLineEndings);

    /// <summary>Ends SSE lines with a lone CR.</summary>
    /// <returns>The fault.</returns>
    public static Fault CrLineEndings() => new(FaultKind.CrLineEndings);

    /// <summary>Writes a comment and a blank line before every <paramref name="every"/>-th event.</summary>
    /// <param name="every">The period in events (1 = before every event).</param>
    /// <param name="text">The comment text after the colon, or <see langword="null"/> for <c>" keep-alive"</c>.</param>
    /// <returns>The fault.</returns>
    public static Fault KeepAliveComments(int every = 1, string? text = null) => new(FaultKind.KeepAliveComments) { Events = every, Text = text };

    /// <summary>Adds Azure OpenAI content-filter frames to a chat stream.</summary>
    /// <returns>The fault.</returns>
    public static Fault AzureContentFilter() => new(FaultKind.AzureContentFilter);

    /// <summary>Answers 503 until <paramref name="window"/> has passed since the server started.</summary>
    /// <param name="window">The length of the outage, measured on the server's <see cref="TimeProvider"/>.</param>
    /// <param name="retryAfter">The <c>Retry-After</c> value, or <see langword="null"/> for the time left in the window.</param>
    /// <returns>The fault.</returns>
    public static Fault Outage(TimeSpan window, TimeSpan? retryAfter = null) => new(FaultKind.Outage) { Duration = window, RetryAfter = retryAfter };

    /// <summary>Answers 400 to a chat request whose last message is from the assistant.</summary>
    /// <returns>The fault.</returns>
    public static Fault RejectAssistantPrefill() => new(FaultKind.RejectAssistantPrefill);

    /// <summary>Reads the request body slowly.</summary>
    /// <param name="chunkSize">Bytes per read.</param>
    /// <param name="pause">The wait between reads.</param>
    /// <returns>The fault.</returns>
    public static Fault SlowRequestRead(int chunkSize, TimeSpan pause) => new(FaultKind.SlowRequestRead) { ChunkSize = chunkSize, Duration = pause };

    /// <summary>Makes the answer differ between attempts from token <paramref name="token"/> (0-based) on.</summary>
    /// <param name="token">The number of leading tokens that stay the same.</param>
    /// <returns>The fault.</returns>
    public static Fault DivergeAfterToken(int token) => new(FaultKind.DivergeAfterToken) { Events = token };

    /// <summary>Answers with <paramref name="body"/> verbatim as an SSE stream, for example a recorded OpenAI stream.</summary>
    /// <param name="body">The bytes of the response body.</param>
    /// <returns>The fault.</returns>
    public static Fault ReplayBody(ReadOnlyMemory<byte> body) => new(FaultKind.ReplayBody) { Body = body };

    /// <summary>Answers a redirect to <paramref name="location"/>, with a small JSON body.</summary>
    /// <param name="statusCode">The status: 301, 302, 303, 307 or 308.</param>
    /// <param name="location">The <c>Location</c> header value, absolute or relative, sent as written.</param>
    /// <returns>The fault.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not a redirect status.</exception>
    public static Fault Redirect(int statusCode, Uri location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!FaultSyntax.IsRedirectStatus(statusCode))
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "A redirect status is 301, 302, 303, 307 or 308.");
        }

        return new(FaultKind.Redirect) { StatusCode = statusCode, Location = location.OriginalString };
    }

    /// <summary>Writes <paramref name="events"/> events of the stream, then content deltas forever, until the client goes away.</summary>
    /// <param name="events">The number of healthy events before the endless part.</param>
    /// <returns>The fault.</returns>
    public static Fault EndlessEvents(int events) => new(FaultKind.EndlessEvents) { Events = events };

    /// <summary>Writes <paramref name="events"/> events, then a <c>data:</c> line that never ends (a non-stream request: a JSON body that never ends).</summary>
    /// <param name="events">The number of healthy events before the endless line.</param>
    /// <returns>The fault.</returns>
    public static Fault EndlessLine(int events) => new(FaultKind.EndlessLine) { Events = events };

    /// <summary>Answers 200 <c>text/plain</c> with white space forever.</summary>
    /// <returns>The fault.</returns>
    public static Fault WhitespaceBody() => new(FaultKind.WhitespaceBody);

    /// <summary>Sends the body gzip-compressed with <c>Content-Encoding: gzip</c>.</summary>
    /// <param name="corruptAfterEvents">The number of events after which the compressed data turns to garbage, or <see langword="null"/> to keep it valid.</param>
    /// <returns>The fault.</returns>
    public static Fault GzipBody(int? corruptAfterEvents = null) => new(FaultKind.GzipBody) { CorruptAfterEvents = corruptAfterEvents };

    /// <summary>Writes <paramref name="events"/> events, then a malformed HTTP/1.1 chunk header, then closes the connection.</summary>
    /// <param name="events">The number of healthy events before the malformed chunk.</param>
    /// <returns>The fault.</returns>
    public static Fault MalformedChunk(int events) => new(FaultKind.MalformedChunk) { Events = events };

    /// <summary>Writes <paramref name="events"/> events, then resets the connection (TCP RST).</summary>
    /// <param name="events">The number of events before the reset.</param>
    /// <returns>The fault.</returns>
    public static Fault ResetAfterEvents(int events) => new(FaultKind.ResetAfterEvents) { Events = events };

    /// <summary>Writes the fault in the header / model-name syntax, e.g. <c>status=429;retry_after=2</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => FaultSyntax.Format(this);
}
