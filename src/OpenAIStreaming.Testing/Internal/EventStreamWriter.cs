using Microsoft.AspNetCore.Http;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Writes framed events to the response with the configured timing, one flushed write each, and applies
/// the faults that act on the connection: slow first token, cut, stall, byte-by-byte and split characters.
/// All waiting goes through the server's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class EventStreamWriter(HttpContext context, TimeProvider timeProvider, StreamTiming timing, IReadOnlyList<Fault> faults)
{
    public async Task WriteAsync(IReadOnlyList<byte[]> segments, CancellationToken cancellationToken)
    {
        Fault? cut = StreamFaults.Find(faults, FaultKind.CutAfterEvents);
        Fault? stall = StreamFaults.Find(faults, FaultKind.StallAfterEvents);
        IStreamSink sink = cut is null && stall is null ? new KestrelSink(context) : SocketSink.For(context, timeProvider);
        await sink.StartAsync(cancellationToken).ConfigureAwait(false);

        Fault? slow = StreamFaults.Find(faults, FaultKind.SlowFirstToken);
        await DelayAsync(timing.TimeToFirstToken + (slow?.Duration ?? TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < segments.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(timing.NextGap(), cancellationToken).ConfigureAwait(false);
            }

            if (await BreakHereAsync(sink, i, cut, stall, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await WriteSegmentAsync(sink, segments[i], cancellationToken).ConfigureAwait(false);
        }

        await BreakHereAsync(sink, int.MaxValue, cut, stall, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Breaks the connection when a cut or stall is due after <paramref name="written"/> events (stalling first); returns whether it did.</summary>
    private async Task<bool> BreakHereAsync(IStreamSink sink, int written, Fault? cut, Fault? stall, CancellationToken cancellationToken)
    {
        if (stall is not null && written >= stall.Events)
        {
            await DelayAsync(stall.Duration, cancellationToken).ConfigureAwait(false);
            await sink.BreakAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (cut is not null && written >= cut.Events)
        {
            await sink.BreakAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private async Task WriteSegmentAsync(IStreamSink sink, byte[] segment, CancellationToken cancellationToken)
    {
        if (StreamFaults.Find(faults, FaultKind.ByteByByte) is { } bytewise)
        {
            for (int i = 0; i < segment.Length; i++)
            {
                await sink.WriteAsync(segment.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
                await DelayAsync(bytewise.Duration, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (StreamFaults.Find(faults, FaultKind.SplitMultiByteCharacters) is { } split)
        {
            int start = 0;
            foreach (int point in SplitPoints(segment))
            {
                await sink.WriteAsync(segment.AsMemory(start, point - start), cancellationToken).ConfigureAwait(false);
                await DelayAsync(split.Duration, cancellationToken).ConfigureAwait(false);
                start = point;
            }

            await sink.WriteAsync(segment.AsMemory(start), cancellationToken).ConfigureAwait(false);
            return;
        }

        await sink.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The offsets just after the first byte of every multi-byte UTF-8 character.</summary>
    private static List<int> SplitPoints(byte[] segment)
    {
        var points = new List<int>();
        for (int i = 0; i < segment.Length; i++)
        {
            if (segment[i] >= 0xC0)
            {
                points.Add(i + 1);
            }
        }

        return points;
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, timeProvider, cancellationToken) : Task.CompletedTask;
}
