using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using OpenAIStreaming.Handler.Internal;

namespace OpenAIStreaming;

/// <summary>
/// The circuit breaker <see cref="OpenAIStreamingHandler"/> keeps per endpoint (scheme, host and port). When at least
/// <see cref="MinimumThroughput"/> attempts to an endpoint within <see cref="SamplingDuration"/> fail at a ratio of
/// <see cref="FailureRatio"/> or more, the circuit opens: for <see cref="BreakDuration"/> requests skip that endpoint and go
/// to the next fallback (or fail at once with an <see cref="OpenAIStreamException"/> whose code is <c>circuit_open</c>).
/// Then one trial request is let through; its success closes the circuit.
/// </summary>
/// <remarks>
/// Failures are what says the endpoint is unhealthy: connect failures and resets, 408 and 5xx statuses, a stream that ends
/// before its first event, connect and first-token timeouts. A 429 is not one (rate limits belong to a key or a model, and
/// the retry rules handle them); neither are 4xx errors or the caller's cancellation.
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

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>A new instance with the same values.</returns>
    public OpenAIStreamingCircuitBreakerOptions Clone() => (OpenAIStreamingCircuitBreakerOptions)MemberwiseClone();
}
