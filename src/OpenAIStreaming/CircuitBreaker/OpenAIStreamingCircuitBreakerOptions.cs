using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using OpenAIStreaming.Handler.Internal;

namespace OpenAIStreaming;

/// <summary>
/// The circuit breaker <see cref="OpenAIStreamingHandler"/> keeps per route: an endpoint (scheme, host and port) and the
/// model asked for — or, on Azure, the deployment in the path. When at least <see cref="MinimumThroughput"/> attempts on a
/// route within <see cref="SamplingDuration"/> fail at a ratio of <see cref="FailureRatio"/> or more, its circuit opens: for
/// <see cref="BreakDuration"/> requests skip that route while another target of their chain can answer. Then one trial is
/// let through; its success closes the circuit. The routes of other models on the same endpoint are not affected.
/// </summary>
/// <remarks>
/// <para>Failures are what says the route is unhealthy: connect failures and resets, 408 and 5xx statuses, a stream that
/// ends, breaks or is malformed before its first content, a connect timeout, a silent server cut by the total timeout (once
/// per call, after the first-token timeout) — and, after the commit point, a stream whose body breaks off, stalls past the
/// idle timeout, carries a malformed event or a server error event, or (read by this library's reader) ends without its
/// finish. A stream's verdict waits for its body: a trial closes the circuit only when its stream ended well. The statuses
/// 400, 401, 403, 404, 422 and 429 never count (a rate limit belongs to a key), nor does the caller's cancellation, a hedge
/// that lost, or time spent waiting inside the client.</para>
/// <para>The last target of a chain that could answer is never refused: when every remaining target's circuit is open, the
/// request goes to the first of them as its trial — unless <see cref="FailFastWhenAllOpen"/> is set. Health is kept for at
/// most 1,024 routes (the least recently used are forgotten first), each forgotten after 10 minutes unused.</para>
/// </remarks>
[UnconditionalSuppressMessage(
    "Trimming",
    "IL2026:RequiresUnreferencedCode",
    Justification = "The [Range(typeof(TimeSpan), ...)] attributes are checked by a compile-time generated validator ([OptionsValidator]).")]
public sealed class OpenAIStreamingCircuitBreakerOptions
{
    /// <summary>Gets or sets a value indicating whether the circuit breaker is on.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets the share of failed attempts (0 to 1) within <see cref="SamplingDuration"/> that opens the circuit.</summary>
    /// <value>The default is 0.5.</value>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = OpenAIStreamingDefaultValues.CircuitFailureRatio;

    /// <summary>Gets or sets how many attempts within <see cref="SamplingDuration"/> are needed before the ratio counts.</summary>
    /// <value>The default is 10.</value>
    [Range(2, 100_000)]
    public int MinimumThroughput { get; set; } = OpenAIStreamingDefaultValues.CircuitMinimumThroughput;

    /// <summary>Gets or sets the window over which attempts are counted.</summary>
    /// <value>The default is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan SamplingDuration { get; set; } = OpenAIStreamingDefaultValues.CircuitSamplingDuration;

    /// <summary>Gets or sets how long an open circuit stays open before a trial request is let through.</summary>
    /// <value>The default is 15 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = OpenAIStreamingDefaultValues.CircuitBreakDuration;

    /// <summary>
    /// Gets or sets a value indicating whether a request whose every target has an open circuit fails at once (an
    /// <see cref="OpenAIStreamException"/> with the code <c>circuit_open</c>) instead of going to the first of them anyway.
    /// </summary>
    /// <value>The default is <see langword="false"/>: the last target that could answer is always tried.</value>
    public bool FailFastWhenAllOpen { get; set; }

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>A new instance with the same values.</returns>
    public OpenAIStreamingCircuitBreakerOptions Clone() => (OpenAIStreamingCircuitBreakerOptions)MemberwiseClone();
}
