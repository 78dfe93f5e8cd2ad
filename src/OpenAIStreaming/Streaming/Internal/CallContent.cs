using System.Net;
using System.Net.Http.Headers;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The content of a response a call returns, and the owner of that call (<see cref="CallContext"/>) from the commit point
/// until the body's end or the content's disposal. It carries the original content's headers; its body is the prefetched
/// bytes replayed, then the live body under the idle and total timeouts and the <see cref="BodyLimits"/>. This library's
/// own reader takes the prefetched events already framed instead (<see cref="OpenEventsAsync"/>).
/// </summary>
internal sealed class CallContent : HttpContent, IVouchedContent, Recovery.Internal.IBodyOpener
{
    private readonly HttpContent _inner;
    private FirstContentPrefetch? _prefetch; // let go once the body stream has taken what it needs of it
    private readonly Stream? _prefetchSource; // the live body after the prefetched bytes
    private readonly TimeSpan _idleTimeout;
    private readonly BodyLimits _limits;
    private readonly string? _requestId;
    private readonly int _statusCode;
    private readonly bool _isChatStream;
    private readonly bool _isResponsesStream;
    private CallBodyStream? _stream;
    private Stream? _reader; // what a reader of the bytes gets: _stream, or a chat stream's recovering body over it
    private Stream? _source; // the live body, for a recovering body that opens it
    private bool _disposed;

    private CallContent(HttpContent inner, FirstContentPrefetch? prefetch, CallContext call, TimeSpan idleTimeout, BodyLimits limits, string? requestId, int statusCode, bool isChatStream, bool isResponsesStream)
    {
        _isChatStream = isChatStream;
        _isResponsesStream = isResponsesStream;
        _inner = inner;
        _prefetch = prefetch;
        _prefetchSource = prefetch?.Source;
        Call = call;
        _idleTimeout = idleTimeout;
        _limits = limits;
        _requestId = requestId;
        _statusCode = statusCode;
        foreach (KeyValuePair<string, HeaderStringValues> header in inner.Headers.NonValidated)
        {
            if (header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && (prefetch is not null || inner.Headers.ContentLength > limits.CutAfterBytes))
            {
                continue;
            }

            Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    /// <summary>Gets the call this content belongs to.</summary>
    public CallContext Call { get; }

    /// <summary>
    /// Hands <paramref name="call"/> over to <paramref name="response"/>: its content is replaced by one that replays
    /// <paramref name="prefetch"/> and then serves the live body under the idle timeout (event streams only) and the call's
    /// total timeout, within the <see cref="BodyLimits"/> of <paramref name="options"/>. The new content owns the call.
    /// A committed chat stream (<paramref name="isChatStream"/>) is read by the bytes' readers event by event, recovered
    /// when it breaks (<see cref="Recovery.Internal.RecoveringChatBodyStream"/>); a committed Responses stream
    /// (<paramref name="isResponsesStream"/>) is checked event by event, ends only with its terminal event, and is resumed
    /// when it is a background response (<see cref="Recovery.Internal.RecoveringResponsesBodyStream"/>).
    /// </summary>
    public static void Install(HttpResponseMessage response, FirstContentPrefetch? prefetch, bool isEventStream, CallContext call, OpenAIStreamingOptions options, bool isChatStream = false, bool isResponsesStream = false) =>
        response.Content = new CallContent(
            response.Content,
            prefetch,
            call,
            isEventStream ? call.Settings.IdleTimeout : Timeout.InfiniteTimeSpan,
            BodyLimits.For(response, isEventStream, options),
            Client.Internal.StreamingResponse.RequestIdOf(response),
            (int)response.StatusCode,
            isChatStream,
            isResponsesStream);

    /// <summary>
    /// For this library's reader: the events read before the commit point, already framed, and a stream of what follows
    /// them. The reader frames that stream itself (so the byte-path limits are not applied twice) and reports how the
    /// stream ended through <see cref="Call"/>.
    /// </summary>
    public async ValueTask<(IReadOnlyList<PrefetchedEvent> Events, Stream Remainder)> OpenEventsAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_stream is not null)
        {
            throw new InvalidOperationException("The body of this response is already being read.");
        }

        Stream source = await SourceAsync(cancellationToken).ConfigureAwait(false);
        return FramedBody(source);
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
        await OpenAsync(cancellationToken).ConfigureAwait(false);

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Stream source = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await source.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _stream?.ReportEndIfSeen();
            Call.AbandonBody(); // before the stream is disposed: a read the disposal aborts is not a break of the route
            _reader?.Dispose();
            _stream?.Dispose();
            _prefetchSource?.Dispose();
            _inner.Dispose();
            Call.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_reader is not null)
        {
            return _reader;
        }

        Stream source = await SourceAsync(cancellationToken).ConfigureAwait(false);
        if (_isChatStream && _limits.MaxEventSize is int maxEventSize)
        {
            // Framed for an asynchronous reader (the prefetched events as they are, then the rest, bounded by the reader's
            // event size), or the bytes as they are for a synchronous one.
            _source = source;
            _reader = new Recovery.Internal.RecoveringChatBodyStream(
                Call,
                this,
                maxEventSize,
                _requestId,
                _statusCode);
            return _reader;
        }

        if (_isResponsesStream && _limits.MaxEventSize is int maxResponsesEventSize)
        {
            _source = source;
            _reader = new Recovery.Internal.RecoveringResponsesBodyStream(
                Call,
                this,
                maxResponsesEventSize,
                _requestId,
                _statusCode);
            return _reader;
        }

        _reader = PlainBody(source);
        return _reader;
    }

    /// <inheritdoc/>
    (IReadOnlyList<PrefetchedEvent> Events, Stream Body) Recovery.Internal.IBodyOpener.Open(bool framed)
    {
        Stream source = _source ?? throw new InvalidOperationException("The body is not open.");
        _source = null; // the body stream disposes it from now on
        return framed ? FramedBody(source) : ([], PlainBody(source));
    }

    private CallBodyStream PlainBody(Stream source)
    {
        _stream = new CallBodyStream(source, _prefetch?.Buffer, 0, _prefetch?.Length ?? 0, _idleTimeout, Call, _limits, _requestId, _statusCode, reportsEnd: true);
        _prefetch = null; // the body stream has the bytes and disposes the source
        return _stream;
    }

    private (IReadOnlyList<PrefetchedEvent> Events, Stream Body) FramedBody(Stream source)
    {
        int from = _prefetch?.CommittedLength ?? 0;
        _stream = new CallBodyStream(source, _prefetch?.Buffer, from, _prefetch?.Length ?? 0, _idleTimeout, Call, _limits with { MaxEventSize = null }, _requestId, _statusCode, reportsEnd: false);
        IReadOnlyList<PrefetchedEvent> events = _prefetch?.Events ?? [];
        _prefetch = null; // the body stream has the bytes and disposes the source; the reader takes the events
        return (events, _stream);
    }

    private async ValueTask<Stream> SourceAsync(CancellationToken cancellationToken)
    {
        if (_prefetchSource is not null)
        {
            return _prefetchSource;
        }

        try
        {
            return await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException && !cancellationToken.IsCancellationRequested && Call.Interruption(ex, _requestId) is { } interruption)
        {
            throw interruption;
        }
    }
}
