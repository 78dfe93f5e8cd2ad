using System.Runtime.InteropServices;
using System.Buffers;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The bytes of a stream response read before the call commits to it: up to and including the first event that carries
/// content (<see cref="ContentDetector"/>), so that a stream that dies or stays silent before it can still be retried or
/// hedged. The bytes are replayed to a reader of the body, followed by the rest of <see cref="Source"/>; this library's own
/// reader takes the framed <see cref="Events"/> instead, so nothing is framed twice.
/// </summary>
internal sealed class FirstContentPrefetch
{
    private const int InitialBufferSize = 1024; // a role chunk and a first token fit; a 4 KiB rent missed the shared pool under load and was allocated

    private FirstContentPrefetch(Stream source, byte[] buffer, int length, int committedLength, List<PrefetchedEvent> events, PrefetchEnd end)
    {
        Source = source;
        Buffer = buffer;
        Length = length;
        CommittedLength = committedLength;
        Events = events;
        End = end;
    }

    /// <summary>Gets the response body stream, positioned after the buffered bytes.</summary>
    public Stream Source { get; }

    /// <summary>Gets the buffered bytes (the first <see cref="Length"/> of them).</summary>
    public byte[] Buffer { get; }

    /// <summary>Gets the number of buffered bytes.</summary>
    public int Length { get; }

    /// <summary>Gets how many of the buffered bytes hold <see cref="Events"/>; the rest is the start of what follows them.</summary>
    public int CommittedLength { get; }

    /// <summary>Gets the events read, each with its type and a copy of its data: the last one carries the content (when <see cref="End"/> is <see cref="PrefetchEnd.Content"/>).</summary>
    public IReadOnlyList<PrefetchedEvent> Events { get; }

    /// <summary>Gets why the prefetch stopped.</summary>
    public PrefetchEnd End { get; }

    /// <summary>Gets a value indicating whether the stream committed (content arrived, or the bound was reached).</summary>
    public bool Committed => End is PrefetchEnd.Content or PrefetchEnd.Bound;

    /// <summary>
    /// Reads <paramref name="response"/>'s body up to its first content, framing events with <paramref name="maxEventSize"/>
    /// as their limit. Stops at twice that without content too (the call then commits, rather than buffer more). A body that breaks off first is a retryable
    /// <see cref="OpenAIStreamProtocolException"/>; a malformed event before the first content is one too; cancellation
    /// (the caller's, or a timeout's) is left to the caller to name.
    /// </summary>
    public static async ValueTask<FirstContentPrefetch> ReadAsync(HttpResponseMessage response, int maxEventSize, CancellationToken cancellationToken)
    {
        int maxBytes = 2 * maxEventSize;
        Stream source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);

        SseFramer? framer = null;
        List<PrefetchedEvent>? events = null;
        byte[]? buffer = null;
        int length = 0;
        int framed = 0;
        bool readFailed = false;
        try
        {
            // The wait for the first bytes holds no buffer, framer or list: a model can take seconds to its first token, and
            // a busy client waits on thousands of streams at once. A zero-byte read completes when data arrives (the
            // runtime's response streams) or at once (a stream that cannot wait that way), and reads nothing either way.
            await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            framer = new SseFramer(maxEventSize, StreamingResponse.RequestIdOf(response));
            events = new List<PrefetchedEvent>(2); // an event whose data lies in the buffer points into it until the copy is made

            // Read into a pooled buffer; what is kept for the life of the stream is an exact copy of the few hundred bytes read.
            buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            while (true)
            {
                if (length >= maxBytes)
                {
                    return Kept(source, buffer, length, framed, events, PrefetchEnd.Bound);
                }

                if (length == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    Repoint(events, buffer, larger); // before the old buffer goes back to the pool
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                // A pooled array may be longer than asked for: never read past the bound.
                Memory<byte> room = buffer.AsMemory(length, Math.Min(buffer.Length, maxBytes) - length);
                int read;
                try
                {
                    read = await source.ReadAsync(room, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    readFailed = true; // a read that failed or was cancelled may still write into the buffer later
                    throw;
                }

                if (read == 0)
                {
                    return Kept(source, buffer, length, framed, events, PrefetchEnd.Ended);
                }

                length += read;
                var unframed = new ReadOnlySequence<byte>(buffer, framed, length - framed);
                while (framer.TryReadEvent(ref unframed, isFinalBlock: false, out ServerSentEvent sse))
                {
                    framed = length - (int)unframed.Length;
                    events.Add(
                        MemoryMarshal.TryGetArray(sse.Data, out ArraySegment<byte> inBuffer) && ReferenceEquals(inBuffer.Array, buffer)
                            ? new PrefetchedEvent(sse.EventType, sse.Data) // a slice of the bytes read: re-pointed into their copy below
                            : new PrefetchedEvent(sse.EventType, sse.Data.ToArray()));
                    switch (ContentDetector.Classify(sse.Data.Span))
                    {
                        case EventContent.Content:
                            return Kept(source, buffer, length, framed, events, PrefetchEnd.Content);
                        case EventContent.Malformed:
                            throw new OpenAIStreamProtocolException(
                                $"Event {events.Count - 1} of the stream is not a JSON object, before any content arrived.",
                                events.Count - 1,
                                isRetryable: true,
                                (int)response.StatusCode,
                                StreamingResponse.RequestIdOf(response));
                    }
                }

                framed = length - (int)unframed.Length;
                framer.PrepareForRelease(unframed.Length);
            }
        }
        catch (Exception ex) when (BrokenBody.Is(ex) && ex is not OpenAIStreamException && !cancellationToken.IsCancellationRequested)
        {
            source.Dispose();
            throw BrokenBody.AfterEvents(ex, events?.Count ?? 0, "before its first content", (int)response.StatusCode, StreamingResponse.RequestIdOf(response));
        }
        catch
        {
            source.Dispose();
            throw;
        }
        finally
        {
            framer?.Dispose();
            if (buffer is not null && !readFailed)
            {
                ArrayPool<byte>.Shared.Return(buffer); // else left to the collector
            }
        }
    }

    /// <summary>
    /// What is kept for the life of the stream: an exact copy of the bytes read, and the events, whose data points into that
    /// copy where it lay in the buffer (one copy of those bytes, not two).
    /// </summary>
    private static FirstContentPrefetch Kept(Stream source, byte[] buffer, int length, int framed, List<PrefetchedEvent> events, PrefetchEnd end)
    {
        byte[] copy = buffer.AsSpan(0, length).ToArray();
        Repoint(events, buffer, copy);
        return new(source, copy, length, framed, events, end);
    }

    /// <summary>Points the events whose data lies in <paramref name="from"/> at the same bytes in <paramref name="to"/>.</summary>
    private static void Repoint(List<PrefetchedEvent> events, byte[] from, byte[] to)
    {
        for (int i = 0; i < events.Count; i++)
        {
            if (MemoryMarshal.TryGetArray(events[i].Data, out ArraySegment<byte> segment) && ReferenceEquals(segment.Array, from))
            {
                events[i] = events[i] with { Data = to.AsMemory(segment.Offset, segment.Count) };
            }
        }
    }
}

/// <summary>Why a <see cref="FirstContentPrefetch"/> stopped.</summary>
internal enum PrefetchEnd
{
    /// <summary>An event carried content: the stream commits.</summary>
    Content,

    /// <summary>The body ended before any content: nothing usable was sent, so sending again is safe.</summary>
    Ended,

    /// <summary>The bytes before the first content reached the bound: the stream commits without content.</summary>
    Bound,
}

/// <summary>An event read before the commit point: its type and a copy of its data.</summary>
internal readonly record struct PrefetchedEvent(string EventType, ReadOnlyMemory<byte> Data);
