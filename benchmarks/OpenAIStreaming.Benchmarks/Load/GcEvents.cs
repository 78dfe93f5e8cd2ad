using System.Diagnostics.Tracing;
using System.Globalization;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// Sums what the collections of one run promoted, from the runtime's own GC events (in this process): the bytes that
/// survived a gen0 collection into gen1 and a gen1 collection into gen2. A stream's objects that outlive a collection are
/// copied, so this is the share of the collector's work that grows with what each open stream keeps.
/// </summary>
public sealed class GcEvents : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private long _collections;
    private long _promotedFromGen0;
    private long _promotedFromGen1;

    /// <summary>Gets the bytes promoted out of gen0 and out of gen1, in MB, as a progress line shows them.</summary>
    public string Promoted => string.Create(
        CultureInfo.InvariantCulture,
        $"{Interlocked.Read(ref _promotedFromGen0) / 1048576.0:F0} MB gen0->1, {Interlocked.Read(ref _promotedFromGen1) / 1048576.0:F0} MB gen1->2");

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until the events of <paramref name="collections"/> collections have
    /// arrived: the runtime delivers them to a listener a little after each collection, so a run's last one may still be
    /// on its way when the run ends.
    /// </summary>
    public async Task WaitForAsync(int collections, TimeSpan limit)
    {
        long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (Interlocked.Read(ref _collections) < collections && System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10);
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (eventData.EventName == "GCHeapStats_V2" && eventData.Payload is { } payload && eventData.PayloadNames is { } names)
        {
            Interlocked.Add(ref _promotedFromGen0, Convert.ToInt64(payload[names.IndexOf("TotalPromotedSize0")], CultureInfo.InvariantCulture));
            Interlocked.Add(ref _promotedFromGen1, Convert.ToInt64(payload[names.IndexOf("TotalPromotedSize1")], CultureInfo.InvariantCulture));
            Interlocked.Increment(ref _collections);
        }
    }
}
