using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OpenAIStreaming.Telemetry.Internal;

/// <summary>
/// The instruments of the <c>OpenAIStreaming</c> meter that the handler records: retries, timeouts by kind, the time to the
/// first event, fallbacks and circuit openings (the stability metrics <c>stream_retry_total</c>, <c>stream_timeout_idle_total</c> and
/// <c>stream_first_token_latency_ms</c>, among others). Tags carry no content, key or header value: only the server's host
/// and port, a status code or exception type, and a timeout kind.
/// </summary>
internal sealed class StreamingMetrics : IDisposable
{
    /// <summary>The name of the meter (and, later, of the activity source).</summary>
    public const string MeterName = "OpenAIStreaming";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _timeouts;
    private readonly Histogram<double> _timeToFirstEvent;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _hedges;
    private readonly Counter<long> _circuitOpenings;
    private readonly Counter<long> _recoveries;

    public StreamingMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _retries = _meter.CreateCounter<long>(
            "openaistreaming.retries",
            "{retry}",
            "Attempts sent again before the commit point, by the failure that caused them (error.type: status code or exception type).");
        _timeouts = _meter.CreateCounter<long>(
            "openaistreaming.timeouts",
            "{timeout}",
            "Timeouts that fired, by kind (connect, first_token, idle, total).");
        _timeToFirstEvent = _meter.CreateHistogram<double>(
            "openaistreaming.time_to_first_event",
            "s",
            "From the start of a stream call (retries, hedges and fallbacks included) to its first content.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120] });
        _fallbacks = _meter.CreateCounter<long>(
            "openaistreaming.fallbacks",
            "{fallback}",
            "Calls moved to a fallback target, by the failure of the target before it.");
        _hedges = _meter.CreateCounter<long>(
            "openaistreaming.hedges",
            "{attempt}",
            "Attempts started beside one whose first content had not arrived within the first-token timeout.");
        _circuitOpenings = _meter.CreateCounter<long>(
            "openaistreaming.circuit_breaker.openings",
            "{opening}",
            "Times the circuit of a route (an endpoint and a model) opened after repeated failures.");
        _recoveries = _meter.CreateCounter<long>(
            "openaistreaming.recoveries",
            "{event}",
            "What recovery did for streams that broke after the commit point (openaistreaming.recovery.outcome: replayed, restarted, diverged, failed, malformed_event_skipped).");
    }

    public void Retry(Uri? endpoint, string errorType) =>
        _retries.Add(1, new TagList { { "server.address", endpoint?.Host }, { "server.port", endpoint?.Port }, { "error.type", errorType } });

    public void Timeout(OpenAIStreamTimeoutKind kind) =>
        _timeouts.Add(1, new KeyValuePair<string, object?>("openaistreaming.timeout.kind", KindName(kind)));

    public void FirstEvent(Uri? endpoint, TimeSpan elapsed) =>
        _timeToFirstEvent.Record(elapsed.TotalSeconds, new TagList { { "server.address", endpoint?.Host }, { "server.port", endpoint?.Port } });

    public void Fallback(string errorType) =>
        _fallbacks.Add(1, new KeyValuePair<string, object?>("error.type", errorType));

    public void Hedge(Uri? endpoint) =>
        _hedges.Add(1, new TagList { { "server.address", endpoint?.Host }, { "server.port", endpoint?.Port } });

    public void CircuitOpened(string route) =>
        _circuitOpenings.Add(1, new KeyValuePair<string, object?>("openaistreaming.route", route));

    public void Recovery(string outcome) =>
        _recoveries.Add(1, new KeyValuePair<string, object?>("openaistreaming.recovery.outcome", outcome));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string KindName(OpenAIStreamTimeoutKind kind) => kind switch
    {
        OpenAIStreamTimeoutKind.Connect => "connect",
        OpenAIStreamTimeoutKind.FirstToken => "first_token",
        OpenAIStreamTimeoutKind.Idle => "idle",
        OpenAIStreamTimeoutKind.Total => "total",
        _ => "other",
    };
}
