using System.Buffers;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The bytes of a stream response read before the handler commits to it: up to and including the first complete
/// server-sent event, so a first-token miss can still be retried. The bytes are replayed to the consumer, followed by the
/// rest of <see cref="Source"/>.
/// </summary>
internal sealed class FirstEventPrefetch
{
    private const int InitialBufferSize = 4096;

    // Comments and other event-less lines before the first event are buffered too; beyond this the handler stops looking
    // and commits (the reader then applies its own size limits).
    private const int MaxPrefetchBytes = ServerSentEventReaderOptions.DefaultMaxEventSize * 2;

    private FirstEventPrefetch(Stream source, byte[] buffer, int length, bool sawEvent, bool ended)
    {
        Source = source;
        Buffer = buffer;
        Length = length;
        SawEvent = sawEvent;
        Ended = ended;
    }

    /// <summary>Gets the response body stream, positioned after the buffered bytes.</summary>
    public Stream Source { get; }

    /// <summary>Gets the buffered bytes (the first <see cref="Length"/> of them).</summary>
    public byte[] Buffer { get; }

    /// <summary>Gets the number of buffered bytes.</summary>
    public int Length { get; }

    /// <summary>Gets a value indicating whether a complete event arrived.</summary>
    public bool SawEvent { get; }

    /// <summary>Gets a value indicating whether the body ended before any complete event (nothing usable was sent).</summary>
    public bool Ended { get; }

    /// <summary>
    /// Reads <paramref name="response"/>'s body up to its first event. A body that breaks off first is a retryable
    /// <see cref="OpenAIStreamProtocolException"/>; cancellation (the caller's, or a timeout's) is left to the caller to name.
    /// </summary>
    public static async ValueTask<FirstEventPrefetch> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        Stream source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var framer = new SseFramer(ServerSentEventReaderOptions.DefaultMaxEventSize);
        byte[] buffer = new byte[InitialBufferSize];
        int length = 0;
        int framed = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= MaxPrefetchBytes)
                {
                    return new FirstEventPrefetch(source, buffer, length, sawEvent: false, ended: false);
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxPrefetchBytes));
            }

            int read;
            try
            {
                read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (BrokenBody.Is(ex) && !cancellationToken.IsCancellationRequested)
            {
                source.Dispose();
                throw BrokenBody.AfterBytes(ex, length, (int)response.StatusCode, StreamingResponse.RequestIdOf(response));
            }

            if (read == 0)
            {
                return new FirstEventPrefetch(source, buffer, length, sawEvent: false, ended: true);
            }

            length += read;
            var unframed = new ReadOnlySequence<byte>(buffer, framed, length - framed);
            if (framer.TryReadEvent(ref unframed, isFinalBlock: false, out _))
            {
                return new FirstEventPrefetch(source, buffer, length, sawEvent: true, ended: false);
            }

            framed = length - (int)unframed.Length;
            framer.PrepareForRelease(unframed);
        }
    }
}
