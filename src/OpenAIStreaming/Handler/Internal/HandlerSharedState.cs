using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using OpenAIStreaming.Internal;
using OpenAIStreaming.Telemetry.Internal;
using OpenAIStreaming.Retry.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// What the requests through a handler share: the retry budget and a circuit breaker per endpoint. With dependency
/// injection one instance serves every handler instance of a named client, so the state survives
/// <c>IHttpClientFactory</c>'s handler rotation; a handler created directly has its own.
/// </summary>
internal sealed class HandlerSharedState : IDisposable
{
    /// <summary>The most endpoints whose circuits are kept; the least recently used beyond it are forgotten.</summary>
    internal const int MaxTrackedEndpoints = 1024;

    /// <summary>How long an endpoint's circuit is kept unused: at least 10 minutes, and at least twice its window plus its break.</summary>
    internal static TimeSpan IdleExpiry(OpenAIStreamingCircuitBreakerOptions options)
    {
        TimeSpan twice = 2 * (options.SamplingDuration + options.BreakDuration);
        return twice > TimeSpan.FromMinutes(10) ? twice : TimeSpan.FromMinutes(10);
    }

    private readonly BoundedStateRegistry<EndpointCircuit> _circuits;
    private readonly OpenAIStreamingCircuitBreakerOptions _breakerOptions;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public HandlerSharedState(OpenAIStreamingOptions options, TimeProvider timeProvider, ILogger logger, IMeterFactory? meterFactory)
    {
        Budget = new RetryBudget(options.RetryBudgetRatio, options.RetryBudgetMinRetriesPerSecond, timeProvider);
        Metrics = new StreamingMetrics(meterFactory);
        _breakerOptions = options.CircuitBreaker.Clone();
        _timeProvider = timeProvider;
        _logger = logger;
        _circuits = new BoundedStateRegistry<EndpointCircuit>(MaxTrackedEndpoints, IdleExpiry(_breakerOptions), timeProvider, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets the number of endpoints whose circuits are kept now.</summary>
    internal int TrackedEndpoints => _circuits.Count;

    public RetryBudget Budget { get; }

    public StreamingMetrics Metrics { get; }

    /// <summary>The circuit breaker of the endpoint of <paramref name="uri"/> (scheme, host and port); null when breakers are off.</summary>
    public ResiliencePipeline<HttpResponseMessage>? BreakerFor(Uri? uri)
    {
        if (!_breakerOptions.Enabled || uri is not { IsAbsoluteUri: true })
        {
            return null;
        }

        return _circuits.GetOrAdd(EndpointOf(uri), static (endpoint, state) => state.CreateCircuit(endpoint), this).Breaker;
    }

    /// <summary>
    /// Whether requests to the endpoint of <paramref name="uri"/> are refused now: its circuit opened and the break has not
    /// elapsed. (Once it has, a trial request may go, so the endpoint counts as usable again.)
    /// </summary>
    public bool IsBlocked(Uri? uri) =>
        _breakerOptions.Enabled
        && uri is { IsAbsoluteUri: true }
        && _circuits.TryGet(EndpointOf(uri), out EndpointCircuit? circuit)
        && _timeProvider.GetTimestamp() < circuit.BlockedUntil;

    private static string EndpointOf(Uri uri) => uri.Scheme + "://" + uri.Authority; // Authority has no user info

    private EndpointCircuit CreateCircuit(string endpoint)
    {
        var circuit = new EndpointCircuit();
        circuit.Breaker = CreateBreaker(endpoint, circuit);
        return circuit;
    }

    private ResiliencePipeline<HttpResponseMessage> CreateBreaker(string endpoint, EndpointCircuit circuit) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _timeProvider }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                Name = "OpenAIStreaming.CircuitBreaker",
                FailureRatio = _breakerOptions.FailureRatio,
                MinimumThroughput = _breakerOptions.MinimumThroughput,
                SamplingDuration = _breakerOptions.SamplingDuration,
                BreakDuration = _breakerOptions.BreakDuration,
                ShouldHandle = static args => new ValueTask<bool>(IsEndpointFailure(args.Outcome, args.Context.Properties.GetValue(CallState.Key, null!))),
                OnOpened = args =>
                {
                    HandlerLog.CircuitOpened(_logger, endpoint, args.BreakDuration.TotalMilliseconds);
                    circuit.BlockedUntil = _timeProvider.GetTimestamp() + (long)(args.BreakDuration.TotalSeconds * _timeProvider.TimestampFrequency);
                    Metrics.CircuitOpened(endpoint);
                    return default;
                },
                OnClosed = _ =>
                {
                    circuit.BlockedUntil = 0;
                    HandlerLog.CircuitClosed(_logger, endpoint);
                    return default;
                },
            })
            .Build();

    /// <summary>Whether an attempt's outcome says its endpoint is unhealthy (see <see cref="OpenAIStreamingCircuitBreakerOptions"/>).</summary>
    private static bool IsEndpointFailure(Outcome<HttpResponseMessage> outcome, CallState? call)
    {
        if (call is null || call.IsCancelled)
        {
            return false;
        }

        if (outcome.Exception is { } exception)
        {
            return exception switch
            {
                OpenAIStreamTimeoutException timeout => timeout.Kind is OpenAIStreamTimeoutKind.Connect or OpenAIStreamTimeoutKind.FirstToken,
                OpenAIStreamException { IsBrokenBody: true } => true,
                HttpRequestException or IOException => true,
                _ => false,
            };
        }

        HttpResponseMessage response = outcome.Result!;
        int status = (int)response.StatusCode;
        return status is 408 || status >= 500 || (response.IsSuccessStatusCode && call.EndedBeforeFirstEvent(response));
    }

    /// <summary>Disposes the meter when this state created it (no <see cref="IMeterFactory"/> was given).</summary>
    public void Dispose() => Metrics.Dispose();

    /// <summary>One endpoint's circuit breaker and until when its open circuit refuses requests.</summary>
    private sealed class EndpointCircuit
    {
        public ResiliencePipeline<HttpResponseMessage> Breaker { get; set; } = null!;

        public long BlockedUntil { get; set; }
    }
}
