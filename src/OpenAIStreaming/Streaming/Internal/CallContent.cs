using System.Net;
using System.Net.Http.Headers;
using OpenAIStreaming.Telemetry.Internal;
using OpenAIStreaming.Client.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The content of a response the handler returns: the original content's headers, and a body read through
/// <see cref="CallBodyStream"/> (prefetched bytes replayed, then idle and total timeouts on the live body). Owns the
/// original content and the call's total-timeout source.
/// </summary>
internal sealed class CallContent : HttpContent, IVouchedContent
{
    private readonly HttpContent _inner;
    private readonly FirstEventPrefetch? _prefetch;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _totalTimeout;
    private readonly CancellationTokenSource _totalCts;
    private readonly TimeProvider _timeProvider;
    private readonly BodyLimits _limits;
    private readonly string? _requestId;
    private readonly int _statusCode;
    private readonly StreamingMetrics? _metrics;
    private CallBodyStream? _stream;

    public CallContent(
        HttpContent inner,
        FirstEventPrefetch? prefetch,
        TimeSpan idleTimeout,
        TimeSpan totalTimeout,
        CancellationTokenSource totalCts,
        TimeProvider timeProvider,
        BodyLimits limits,
        string? requestId,
        int statusCode,
        StreamingMetrics? metrics = null)
    {
        _metrics = metrics;
        _statusCode = statusCode;
        _inner = inner;
        _prefetch = prefetch;
        _idleTimeout = idleTimeout;
        _totalTimeout = totalTimeout;
        _totalCts = totalCts;
        _timeProvider = timeProvider;
        _limits = limits;
        _requestId = requestId;
        foreach (KeyValuePair<string, HeaderStringValues> header in inner.Headers.NonValidated)
        {
            if (header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && inner.Headers.ContentLength > limits.CutAfterBytes)
            {
                continue;
            }

            Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    /// <summary>
    /// Replaces the response's content with one that replays <paramref name="prefetch"/> and then serves the live body under
    /// the idle timeout (event streams only) and the total timeout, within the <see cref="BodyLimits"/> of
    /// <paramref name="options"/>. The new content owns <paramref name="totalCts"/>.
    /// </summary>
    public static void Install(
        HttpResponseMessage response,
        FirstEventPrefetch? prefetch,
        bool isEventStream,
        RequestSettings settings,
        CancellationTokenSource totalCts,
        TimeProvider timeProvider,
        OpenAIStreamingOptions options,
        StreamingMetrics? metrics = null) =>
        response.Content = new CallContent(
            response.Content,
            prefetch,
            isEventStream ? settings.IdleTimeout : Timeout.InfiniteTimeSpan,
            settings.TotalTimeout,
            totalCts,
            timeProvider,
            BodyLimits.For(response, isEventStream, options),
            StreamingResponse.RequestIdOf(response),
            (int)response.StatusCode,
            metrics);

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
        await OpenAsync(cancellationToken).ConfigureAwait(false);

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        CallBodyStream source = await OpenAsync(cancellationToken).ConfigureAwait(false);
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
        if (disposing)
        {
            _stream?.Dispose();
            _prefetch?.Source.Dispose();
            _inner.Dispose();
            _totalCts.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<CallBodyStream> OpenAsync(CancellationToken cancellationToken)
    {
        if (_stream is not null)
        {
            return _stream;
        }

        Stream source;
        if (_prefetch is not null)
        {
            source = _prefetch.Source;
        }
        else
        {
            try
            {
                source = await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OpenAIStreamException && !cancellationToken.IsCancellationRequested && _totalCts.IsCancellationRequested)
            {
                _metrics?.Timeout(OpenAIStreamTimeoutKind.Total);
                throw new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, _totalTimeout, _requestId, ex);
            }
        }

        _stream = new CallBodyStream(
            source,
            _prefetch?.Buffer,
            _prefetch?.Length ?? 0,
            _idleTimeout,
            _totalTimeout,
            _totalCts,
            _timeProvider,
            _limits,
            _requestId,
            _statusCode,
            _metrics);
        return _stream;
    }
}
