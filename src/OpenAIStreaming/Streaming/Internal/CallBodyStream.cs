using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Telemetry.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The body stream the consumer reads: the prefetched bytes first, then the live body. Every read of the live body is
/// bounded by the idle timeout (armed for the read, disarmed after it) and by the total timeout; when one of them fires the
/// read fails with <see cref="OpenAIStreamTimeoutException"/> of that kind, whatever the underlying stream threw. A body
/// that breaks off (reset, closed early, corrupt framing) fails the read with a retryable
/// <see cref="OpenAIStreamProtocolException"/>; so does one that passes its <see cref="BodyLimits"/> (not retryable). The
/// caller's own cancellation stays an <see cref="OperationCanceledException"/> on the caller's token.
/// </summary>
internal sealed class CallBodyStream : Stream
{
    private readonly Stream _source;
    private readonly byte[]? _prefix;
    private readonly int _prefixLength;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _totalTimeout;
    private readonly CancellationTokenSource? _idleCts;
    private readonly CancellationTokenSource _totalCts;
    private readonly CancellationTokenSource _timeouts;
    private readonly BodyLimits _limits;
    private readonly SseEventBoundaryScanner? _events;
    private readonly string? _requestId;
    private readonly int _statusCode;
    private readonly StreamingMetrics? _metrics;
    private bool _timeoutRecorded;
    private int _prefixOffset;
    private long _delivered; // bytes of the live body handed out

    public CallBodyStream(
        Stream source,
        byte[]? prefix,
        int prefixLength,
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
        _source = source;
        _prefix = prefix;
        _prefixLength = prefixLength;
        _idleTimeout = idleTimeout;
        _totalTimeout = totalTimeout;
        _totalCts = totalCts;
        _limits = limits;
        _events = limits.CreateScanner(requestId);
        _requestId = requestId;
        if (idleTimeout != Timeout.InfiniteTimeSpan)
        {
            _idleCts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
            _timeouts = CancellationTokenSource.CreateLinkedTokenSource(_idleCts.Token, totalCts.Token);
        }
        else
        {
            _timeouts = CancellationTokenSource.CreateLinkedTokenSource(totalCts.Token);
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TryReadPrefix(buffer.Span, out int copied))
        {
            return copied;
        }

        ThrowIfTimedOut(inner: null);
        int allowed = Allowance(buffer.Length);
        if (allowed < 0)
        {
            return 0; // an error body cut at MaxErrorBodyBytes
        }

        buffer = buffer[..allowed];
        _idleCts?.CancelAfter(_idleTimeout);
        CancellationTokenSource? linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeouts.Token)
            : null;
        int read;
        try
        {
            read = await _source.ReadAsync(buffer, linked?.Token ?? _timeouts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The read of the response body was cancelled.", ex, cancellationToken);
            }

            ThrowIfTimedOut(ex);
            if (BrokenBody.Is(ex))
            {
                throw BrokenBody.AfterBytes(ex, _prefixLength + _delivered, _statusCode, _requestId);
            }

            throw;
        }
        finally
        {
            linked?.Dispose();
            if (_idleCts is { IsCancellationRequested: false })
            {
                _idleCts.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }

        Deliver(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Synchronous reads are served without timers (the timers need an asynchronous read to cancel); the total timeout
        // is still checked before each one.
        if (TryReadPrefix(buffer, out int copied))
        {
            return copied;
        }

        ThrowIfTimedOut(inner: null);
        int allowed = Allowance(buffer.Length);
        if (allowed < 0)
        {
            return 0;
        }

        buffer = buffer[..allowed];
        int read;
        try
        {
            read = _source.Read(buffer);
        }
        catch (Exception ex) when (BrokenBody.Is(ex) && ex is not OpenAIStreamException)
        {
            ThrowIfTimedOut(ex);
            throw BrokenBody.AfterBytes(ex, _prefixLength + _delivered, _statusCode, _requestId);
        }

        Deliver(buffer[..read]);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _source.Dispose();
            _timeouts.Dispose();
            _idleCts?.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool TryReadPrefix(Span<byte> buffer, out int copied)
    {
        copied = 0;
        if (_prefixOffset >= _prefixLength)
        {
            return false;
        }

        copied = Math.Min(buffer.Length, _prefixLength - _prefixOffset);
        _prefix.AsSpan(_prefixOffset, copied).CopyTo(buffer);
        _prefixOffset += copied;
        _events?.Scan(buffer[..copied]);
        return true;
    }

    /// <summary>How much of a read of <paramref name="length"/> bytes an error body's allowance leaves; −1 when it is used up.</summary>
    private int Allowance(int length)
    {
        long left = _limits.CutAfterBytes - _delivered;
        return left <= 0 ? -1 : (int)Math.Min(length, left);
    }

    /// <summary>Accounts for bytes about to be handed out, enforcing the limits of the body.</summary>
    private void Deliver(ReadOnlySpan<byte> bytes)
    {
        _delivered += bytes.Length;
        if (_delivered > _limits.FailAfterBytes)
        {
            throw new OpenAIStreamProtocolException(
                $"The response body is larger than MaxResponseBodyBytes ({_limits.FailAfterBytes} bytes).",
                statusCode: _statusCode,
                requestId: _requestId);
        }

        _events?.Scan(bytes);
    }

    private void ThrowIfTimedOut(Exception? inner)
    {
        if (_totalCts.IsCancellationRequested)
        {
            Record(OpenAIStreamTimeoutKind.Total);
            throw new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, _totalTimeout, _requestId, inner);
        }

        if (_idleCts is { IsCancellationRequested: true })
        {
            Record(OpenAIStreamTimeoutKind.Idle);
            throw new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Idle, _idleTimeout, _requestId, inner);
        }
    }

    /// <summary>Counts the timeout once, however often the consumer reads again after it.</summary>
    private void Record(OpenAIStreamTimeoutKind kind)
    {
        if (!_timeoutRecorded)
        {
            _timeoutRecorded = true;
            _metrics?.Timeout(kind);
        }
    }
}
