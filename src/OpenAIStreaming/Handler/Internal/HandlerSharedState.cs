using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using OpenAIStreaming.Telemetry.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// What the requests through a handler share: the retry budget and a circuit breaker per endpoint. With dependency
/// injection one instance serves every handler instance of a named client, so the state survives
/// <c>IHttpClientFactory</c>'s handler rotation; a handler created directly has its own.
/// </summary>
internal sealed class HandlerSharedState : IDisposable
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _breakers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, long> _blockedUntil = new(StringComparer.OrdinalIgnoreCase);
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
    }

    public RetryBudget Budget { get; }

    public StreamingMetrics Metrics { get; }

    /// <summary>The circuit breaker of the endpoint of <paramref name="uri"/> (scheme, host and port); null when breakers are off.</summary>
    public ResiliencePipeline<HttpResponseMessage>? BreakerFor(Uri? uri)
    {
        if (!_breakerOptions.Enabled || uri is not { IsAbsoluteUri: true })
        {
            return null;
        }

        return _breakers.GetOrAdd(EndpointOf(uri), static (endpoint, state) => state.CreateBreaker(endpoint), this);
    }

    /// <summary>
    /// Whether requests to the endpoint of <paramref name="uri"/> are refused now: its circuit opened and the break has not
    /// elapsed. (Once it has, a trial request may go, so the endpoint counts as usable again.)
    /// </summary>
    public bool IsBlocked(Uri? uri) =>
        _breakerOptions.Enabled
        && uri is { IsAbsoluteUri: true }
        && _blockedUntil.TryGetValue(EndpointOf(uri), out long until)
        && _timeProvider.GetTimestamp() < until;

    private static string EndpointOf(Uri uri) => uri.Scheme + "://" + uri.Authority; // Authority has no user info

    private ResiliencePipeline<HttpResponseMessage> CreateBreaker(string endpoint) =>
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
                    _blockedUntil[endpoint] = _timeProvider.GetTimestamp() + (long)(args.BreakDuration.TotalSeconds * _timeProvider.TimestampFrequency);
                    Metrics.CircuitOpened(endpoint);
                    return default;
                },
                OnClosed = _ =>
                {
                    _blockedUntil.TryRemove(endpoint, out long _);
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
}
