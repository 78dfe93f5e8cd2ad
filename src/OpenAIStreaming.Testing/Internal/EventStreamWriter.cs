using Microsoft.AspNetCore.Http;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Writes framed events to the response with the configured timing, one flushed write each, then an endless tail when
/// there is one, and applies the faults that act on the connection: slow first token, cut, stall, byte-by-byte, split
/// characters, malformed chunk and gzip (corrupt or not). All waiting goes through the server's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class EventStreamWriter(HttpContext context, TimeProvider timeProvider, StreamTiming timing, IReadOnlyList<Fault> faults)
{
    /// <summary>Writes <paramref name="segments"/>, then <paramref name="tail"/> (if any) until the request is cancelled, then ends the body.</summary>
    public async Task WriteAsync(IReadOnlyList<byte[]> segments, IEnumerable<byte[]>? tail, CancellationToken cancellationToken)
    {
        var ends = new Ends(
            StreamFaults.Find(faults, FaultKind.CutAfterEvents),
            StreamFaults.Find(faults, FaultKind.StallAfterEvents),
            StreamFaults.Find(faults, FaultKind.MalformedChunk),
            StreamFaults.Find(faults, FaultKind.GzipBody)?.CorruptAfterEvents,
            StreamFaults.Find(faults, FaultKind.ResetAfterEvents));
        IStreamSink transport = ends.Cut is null && ends.Stall is null && ends.BadChunk is null && ends.Reset is null ? new KestrelSink(context) : SocketSink.For(context, timeProvider);
        GzipSink? gzip = StreamFaults.Find(faults, FaultKind.GzipBody) is null ? null : new GzipSink(transport);
        try
        {
            IStreamSink sink = gzip ?? transport;
            await sink.StartAsync(cancellationToken).ConfigureAwait(false);

            Fault? slow = StreamFaults.Find(faults, FaultKind.SlowFirstToken);
            await DelayAsync(timing.TimeToFirstToken + (slow?.Duration ?? TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < segments.Count; i++)
            {
                if (i > 0)
                {
                    await DelayAsync(timing.NextGap(), cancellationToken).ConfigureAwait(false);
                }

                if (await EndHereAsync(sink, gzip, i, ends, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                await WriteSegmentAsync(sink, segments[i], cancellationToken).ConfigureAwait(false);
            }

            // Without a tail, a K beyond the last event still ends the body that way; with one, only the healthy part counts.
            if (await EndHereAsync(sink, gzip, tail is null ? int.MaxValue : segments.Count, ends, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (tail is not null)
            {
                foreach (byte[] chunk in tail)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await sink.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
            }

            await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (gzip is not null)
            {
                await gzip.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Ends the body when a stall, cut, malformed chunk or gzip corruption is due after <paramref name="written"/> events
    /// (stalling first; padding before a malformed chunk when events were sent); returns whether it did.
    /// </summary>
    private async Task<bool> EndHereAsync(IStreamSink sink, GzipSink? gzip, int written, Ends ends, CancellationToken cancellationToken)
    {
        if (ends.Stall is { } stall && written >= stall.Events)
        {
            await DelayAsync(stall.Duration, cancellationToken).ConfigureAwait(false);
            await sink.BreakAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (ends.Cut is { } cut && written >= cut.Events)
        {
            await sink.BreakAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (ends.Reset is { } reset && written >= reset.Events)
        {
            await sink.ResetAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (ends.BadChunk is { } badChunk && written >= badChunk.Events)
        {
            if (written > 0)
            {
                await sink.WritePaddingAsync(cancellationToken).ConfigureAwait(false);
            }

            await sink.MalformedChunkAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (gzip is not null && ends.CorruptAfter is { } corruptAfter && written >= corruptAfter)
        {
            await gzip.CorruptAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>The faults that end a body early, and the event count each waits for.</summary>
    private sealed record Ends(Fault? Cut, Fault? Stall, Fault? BadChunk, int? CorruptAfter, Fault? Reset);
}
