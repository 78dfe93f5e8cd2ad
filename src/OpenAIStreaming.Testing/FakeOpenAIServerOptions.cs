using Microsoft.Extensions.Logging;
using OpenAIStreaming.Testing.Internal;

namespace OpenAIStreaming.Testing;

/// <summary>Options of a <see cref="FakeOpenAIServer"/>.</summary>
public sealed class FakeOpenAIServerOptions
{
    /// <summary>Gets or sets the clock of every delay (first token, gaps, stalls, outage windows, pauses), of <c>created</c> fields, of <c>Retry-After</c> dates and of the request log.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets the logger factory given to Kestrel.</summary>
    /// <value>The default is <see langword="null"/>: nothing is logged.</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Gets or sets the TCP port on 127.0.0.1.</summary>
    /// <value>The default is 0: a free port chosen by the operating system.</value>
    public int Port { get; set; }

    /// <summary>Gets or sets the number of content tokens per answer (per choice). A request's <c>max_tokens</c>, <c>max_completion_tokens</c> or <c>max_output_tokens</c> below it cuts the answer with <c>finish_reason: "length"</c>; the <c>x-fake-tokens</c> header overrides it.</summary>
    /// <value>The default is 12.</value>
    public int TokenCount { get; set; } = FakeDefaults.TokenCount;

    /// <summary>Gets or sets the delay between the response headers and the first event.</summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan TimeToFirstToken { get; set; }

    /// <summary>Gets or sets the delay between two events.</summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan TokenGap { get; set; }

    /// <summary>Gets or sets the largest extra delay added to each gap, drawn deterministically per request.</summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan Jitter { get; set; }

    /// <summary>Gets or sets a seed mixed into every answer, so two servers with different seeds answer differently.</summary>
    /// <value>The default is 0.</value>
    public long Seed { get; set; }

    /// <summary>Gets or sets a value indicating whether chat chunks carry an <c>obfuscation</c> field (unless the request sets <c>stream_options.include_obfuscation: false</c>).</summary>
    /// <value>The default is <see langword="true"/>, as on api.openai.com.</value>
    public bool IncludeObfuscation { get; set; } = true;

    /// <summary>Gets the fault rules the server starts with (more can be added with <see cref="FakeOpenAIServer.AddRule(FaultRule)"/>).</summary>
    public IList<FaultRule> Rules { get; } = [];

    /// <summary>Gets the model ids listed by <c>GET /v1/models</c>.</summary>
    /// <value>The default is <c>gpt-4o-mini</c>, <c>gpt-4o</c>, <c>gpt-4.1-mini</c>, <c>o4-mini</c>.</value>
    public IList<string> Models { get; } = [.. FakeDefaults.Models];

    /// <summary>Gets the request headers copied into the request log. <c>Authorization</c> and <c>api-key</c> are stored as <c>[redacted]</c>.</summary>
    /// <value>The default is <c>x-client-request-id</c>, <c>x-attempt</c>, <c>x-fake-fault</c>, <c>x-stainless-retry-count</c>, <c>idempotency-key</c>, <c>user-agent</c>, <c>content-type</c>, <c>accept</c>, <c>last-event-id</c>, <c>authorization</c>, <c>api-key</c>.</value>
    public ISet<string> LoggedHeaders { get; } = new HashSet<string>(FakeDefaults.LoggedHeaders, StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets the header that identifies a logical request across attempts.</summary>
    /// <value>The default is <see cref="FakeOpenAIHeaders.ClientRequestId"/>.</value>
    public string ClientRequestIdHeader { get; set; } = FakeOpenAIHeaders.ClientRequestId;

    internal FakeOpenAIServerOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentOutOfRangeException.ThrowIfNegative(Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(TokenCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TimeToFirstToken, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(TokenGap, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(Jitter, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(ClientRequestIdHeader);
        return this;
    }
}
