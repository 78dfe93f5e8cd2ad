using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Sse;

/// <summary>
/// Reads server-sent events from a <see cref="PipeReader"/>, a <see cref="Stream"/> or an <see cref="HttpContent"/>,
/// following the WHATWG event-stream rules exactly.
/// </summary>
public static class ServerSentEventReaderExtensions
{
    /// <summary>Reads the server-sent events of a pipe until it completes.</summary>
    /// <param name="reader">The pipe to read. It is completed when the enumeration ends.</param>
    /// <param name="options">Reader options, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events. Each event's <see cref="ServerSentEvent.Data"/> is valid until the enumerator advances.</returns>
    /// <exception cref="OpenAIStreamProtocolException">An event is larger than <see cref="ServerSentEventReaderOptions.MaxEventSize"/>, or the source broke off (an I/O error while reading; <see cref="OpenAIStreamException.IsRetryable"/> is true).</exception>
    public static IAsyncEnumerable<ServerSentEvent> ReadServerSentEventsAsync(
        this PipeReader reader,
        ServerSentEventReaderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return ReadCoreAsync(reader, options, cancellationToken);
    }

    /// <summary>Reads the server-sent events of a stream until it ends. The stream is not disposed.</summary>
    /// <param name="stream">The stream to read.</param>
    /// <param name="options">Reader options, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events. Each event's <see cref="ServerSentEvent.Data"/> is valid until the enumerator advances.</returns>
    /// <exception cref="OpenAIStreamProtocolException">An event is larger than <see cref="ServerSentEventReaderOptions.MaxEventSize"/>, or the source broke off (an I/O error while reading; <see cref="OpenAIStreamException.IsRetryable"/> is true).</exception>
    public static IAsyncEnumerable<ServerSentEvent> ReadServerSentEventsAsync(
        this Stream stream,
        ServerSentEventReaderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadCoreAsync(PipeReaders.Create(stream, leaveOpen: true), options, cancellationToken);
    }

    /// <summary>Reads the server-sent events of an HTTP response body until it ends.</summary>
    /// <param name="content">The response content, from a response read with <see cref="HttpCompletionOption.ResponseHeadersRead"/>.</param>
    /// <param name="options">Reader options, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events. Each event's <see cref="ServerSentEvent.Data"/> is valid until the enumerator advances.</returns>
    /// <exception cref="OpenAIStreamProtocolException">An event is larger than <see cref="ServerSentEventReaderOptions.MaxEventSize"/>, or the source broke off (an I/O error while reading; <see cref="OpenAIStreamException.IsRetryable"/> is true).</exception>
    public static IAsyncEnumerable<ServerSentEvent> ReadServerSentEventsAsync(
        this HttpContent content,
        ServerSentEventReaderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return ReadContentAsync(content, options, cancellationToken);
    }

    private static async IAsyncEnumerable<ServerSentEvent> ReadContentAsync(
        HttpContent content,
        ServerSentEventReaderOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await foreach (ServerSentEvent sseEvent in ReadCoreAsync(PipeReaders.Create(stream, leaveOpen: false), options, cancellationToken).ConfigureAwait(false))
        {
            yield return sseEvent;
        }
    }

    /// <summary>The next event; a source that breaks off (an I/O error while reading) is a typed error naming how far it got.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> NextAsync(SseEventReader events, CancellationToken cancellationToken)
    {
        try
        {
            return await events.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (BrokenBody.Is(ex) && !cancellationToken.IsCancellationRequested)
        {
            var typed = ex as OpenAIStreamException;
            throw BrokenBody.AfterEvents(ex, events.EventCount, "before its end", typed?.StatusCode, typed?.RequestId);
        }
    }

    private static async IAsyncEnumerable<ServerSentEvent> ReadCoreAsync(
        PipeReader reader,
        ServerSentEventReaderOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        SseEventReader events = new(reader, options);
        await using (events.ConfigureAwait(false))
        {
            while (await NextAsync(events, cancellationToken).ConfigureAwait(false))
            {
                yield return events.Current;
            }
        }
    }
}
