using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// Counts what the handler did during one run (hedges, retries, fallbacks, timeouts, recoveries) from its own
/// <c>OpenAIStreaming</c> meter, so a run's cost can be told apart from the extra requests the handler sent.
/// </summary>
public sealed class HandlerEvents : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public HandlerEvents()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "OpenAIStreaming" && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counts.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        _listener.Start();
    }

    /// <summary>Gets the sum of every counter of the meter, by instrument name without the <c>openaistreaming.</c> prefix.</summary>
    public IReadOnlyDictionary<string, long> Counts =>
        _counts.ToDictionary(kv => kv.Key.Replace("openaistreaming.", string.Empty, StringComparison.Ordinal), kv => kv.Value, StringComparer.Ordinal);

    public void Dispose() => _listener.Dispose();
}
