using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Internal;
using OpenAIStreaming.Retry.Internal;
using OpenAIStreaming.Telemetry.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// What the calls through a handler share: the retry budget and the health of every route (an endpoint and a model). With
/// dependency injection one instance serves every handler instance of a named client, so the state survives
/// <c>IHttpClientFactory</c>'s handler rotation; a handler created directly has its own.
/// </summary>
internal sealed class HandlerSharedState : IDisposable
{
    /// <summary>The most routes whose health is kept; the least recently used beyond it are forgotten.</summary>
    internal const int MaxTrackedRoutes = 1024;

    private readonly BoundedStateRegistry<RouteHealth> _routes;
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
        _routes = new BoundedStateRegistry<RouteHealth>(MaxTrackedRoutes, IdleExpiry(_breakerOptions), timeProvider);
    }

    public RetryBudget Budget { get; }

    public StreamingMetrics Metrics { get; }

    /// <summary>Gets a value indicating whether circuits are kept at all.</summary>
    public bool BreakersEnabled => _breakerOptions.Enabled;

    /// <summary>Gets a value indicating whether a call whose every target is refusing fails at once instead of sending to one anyway.</summary>
    public bool FailFastWhenAllOpen => _breakerOptions.FailFastWhenAllOpen;

    /// <summary>Gets the number of routes whose health is kept now.</summary>
    internal int TrackedRoutes => _routes.Count;

    /// <summary>How long a route's health is kept unused: at least 10 minutes, and at least twice its window plus its break.</summary>
    internal static TimeSpan IdleExpiry(OpenAIStreamingCircuitBreakerOptions options)
    {
        TimeSpan twice = 2 * (options.SamplingDuration + options.BreakDuration);
        return twice > TimeSpan.FromMinutes(10) ? twice : TimeSpan.FromMinutes(10);
    }

    /// <summary>The health of route <paramref name="key"/> (see <see cref="RouteKey"/>); null when circuits are off.</summary>
    public RouteHealth? HealthOf(string key) =>
        _breakerOptions.Enabled ? _routes.GetOrAdd(key, static (route, state) => state.CreateHealth(route), this) : null;

    /// <summary>Whether route <paramref name="key"/> refuses ordinary requests now (looking does not create its state).</summary>
    public bool IsRefusing(string key) =>
        _breakerOptions.Enabled && _routes.TryGet(key, out RouteHealth? health) && health.IsRefusing;

    /// <summary>Disposes the meter when this state created it (no <see cref="IMeterFactory"/> was given).</summary>
    public void Dispose() => Metrics.Dispose();

    private RouteHealth CreateHealth(string route)
    {
        var health = new RouteHealth(route, _breakerOptions, _timeProvider);
        health.Opened += (opened, breakDuration) =>
        {
            HandlerLog.CircuitOpened(_logger, opened.Key, breakDuration.TotalMilliseconds);
            Metrics.CircuitOpened(opened.Key);
        };
        health.Closed += closed => HandlerLog.CircuitClosed(_logger, closed.Key);
        return health;
    }
}
