using System.Runtime.CompilerServices;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The body stream a consumer reads: the prefetched bytes first, then the live body. Every read of the live body is
/// bounded by the idle timeout and by the call's total timeout; when one of them fires the read fails with <see cref="OpenAIStreamTimeoutException"/> of that kind,
/// whatever the underlying stream threw. A body that breaks off (reset, closed early, corrupt framing) fails the read with
/// a retryable <see cref="OpenAIStreamProtocolException"/>; so does one that passes its <see cref="BodyLimits"/> (not
/// retryable). The consumer's own cancellation stays an <see cref="OperationCanceledException"/> on its token. How the
/// body ended is reported to the call, which tells the route's health.
/// </summary>
/// <remarks>
/// The idle watch is lazy, as a busy stream needs it: a read only notes when it started, and sets the call's one timer
/// (<see cref="CallContext.WatchIdle"/>) when the watch is off. When the timer fires it measures the read in progress
/// (<see cref="IdleExpired"/>) — past the idle timeout the read is cancelled, short of it the timer waits for the rest — and
/// with no read in progress the watch stays off until the next one. So a stream that keeps flowing touches the timer once
/// per idle period rather than twice per read, nothing is allocated per read, and an open body holds no timer or
/// registration of its own: the call cancels its read (<see cref="CancelRead"/>).
/// </remarks>
internal sealed class CallBodyStream : Stream
{
    private static readonly Action<object?> CancelReadCallback = static state => ((CallBodyStream)state!).CancelRead();

    private readonly Stream _source;
    private byte[]? _prefix; // let go once read: an open stream keeps none of what was prefetched
    private readonly int _prefixLength;
    private readonly TimeSpan _idleTimeout;
    private readonly CallContext _call;
    private readonly CancellationTokenSource _read; // cancelled by the idle watch, the call and, per read, the consumer's token
    private readonly BodyLimits _limits;
    private readonly SseEventBoundaryScanner? _events;
    private readonly string? _requestId;
    private readonly int _statusCode;
    private readonly bool _reportsEnd;
    private int _prefixOffset;
    private long _delivered; // bytes of the live body handed out
    private bool _consumerCancelled;
    private long _readStarted; // the clock's timestamp when the read in progress started
    private int _reading; // 1 while a read of the live body is in progress
    private int _idleTimerArmed; // 1 while the call's timer watches the reads for idleness

    /// <summary>
    /// The body of a recovery's response (after <paramref name="prefixStart"/> of what was prefetched), under the idle and
    /// total timeouts of <paramref name="call"/>; its reader frames it and reports how it ended.
    /// </summary>
    public static CallBodyStream Remainder(CallContext call, HttpResponseMessage response, Stream source, byte[]? prefix, int prefixStart, int prefixLength, string? requestId, OpenAIStreamingOptions options) =>
        new(
            source,
            prefix,
            prefixStart,
            prefixLength,
            call.Settings.IdleTimeout,
            call,
            BodyLimits.For(response, isEventStream: true, options) with { MaxEventSize = null },
            requestId,
            (int)response.StatusCode,
            reportsEnd: false);

    public CallBodyStream(
        Stream source,
        byte[]? prefix,
        int prefixStart,
        int prefixLength,
        TimeSpan idleTimeout,
        CallContext call,
        BodyLimits limits,
        string? requestId,
        int statusCode,
        bool reportsEnd)
    {
        _source = source;
        _prefix = prefixStart < prefixLength ? prefix : null; // nothing of it left to read: not kept
        _prefixOffset = prefixStart;
        _prefixLength = prefixLength;
        _idleTimeout = idleTimeout;
        _call = call;
        _limits = limits;
        _events = limits.CreateScanner(requestId);
        _requestId = requestId;
        _statusCode = statusCode;
        _reportsEnd = reportsEnd;
        _read = new CancellationTokenSource();
        call.Attach(this);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        try
        {
            if (TryReadPrefix(buffer.Span, out int copied))
            {
                return new ValueTask<int>(copied); // the bytes read before the commit point, from memory
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }

        // The usual read of a live body: when the source completes it at once (the bytes had arrived), it completes here at
        // once too, without a state machine, a registration on the reader's token or the idle timer.
        int allowed;
        try
        {
            ThrowIfEnded(inner: null, cancellationToken);
            allowed = Allowance(buffer.Length);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }

        if (allowed < 0)
        {
            return new ValueTask<int>(0);
        }

        buffer = buffer[..allowed];
        ValueTask<int> read;
        try
        {
            read = _source.ReadAsync(buffer, _read.Token);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex is OpenAIStreamException ? ex : FailureOrRethrown(ex, cancellationToken));
        }

        if (!read.IsCompletedSuccessfully)
        {
            // Only a read that waits can go idle or be worth cancelling: the idle timer watches it, and the reader's token
            // is linked to it, from here (a moment after it started; a token cancelled meanwhile cancels it at once). A
            // read that completed at once never touches the timer, the clock or the token.
            CancellationTokenRegistration consumer = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(CancelReadCallback, this) : default;
            ArmIdle();
            return AwaitSourceAsync(read, buffer, consumer, cancellationToken);
        }

        int count = read.Result;
        try
        {
            return new ValueTask<int>(Deliver(buffer.Span[..count], requested: buffer.Length));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitSourceAsync(ValueTask<int> read, Memory<byte> buffer, CancellationTokenRegistration consumer, CancellationToken cancellationToken)
    {
        int count;
        try
        {
            count = await read.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException)
        {
            throw Failure(ex, cancellationToken);
        }
        finally
        {
            DisarmIdle();
            consumer.Dispose();
        }

        if (cancellationToken.IsCancellationRequested && _read.IsCancellationRequested)
        {
            _consumerCancelled = true; // cancelled as the read completed: the next read reports the cancellation, not a stall
        }

        return Deliver(buffer.Span[..count], requested: buffer.Length);
    }

    /// <summary><see cref="Failure"/>, or what it rethrows.</summary>
    private Exception FailureOrRethrown(Exception exception, CancellationToken cancellationToken)
    {
        try
        {
            return Failure(exception, cancellationToken);
        }
        catch (Exception rethrown)
        {
            return rethrown;
        }
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

        ThrowIfEnded(inner: null, CancellationToken.None);
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
        catch (Exception ex) when (ex is not OpenAIStreamException)
        {
            throw Failure(ex, CancellationToken.None);
        }

        return Deliver(buffer[..read], requested: buffer.Length);
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
            if (_reportsEnd)
            {
                ReportEndIfSeen(); // a reader that stops at the stream's end and disposes only the stream, as the official SDK does
                _call.AbandonBody(); // before the source is disposed: a read the disposal aborts is not a break of the route
            }

            _call.Detach(this);
            _source.Dispose();
            _read.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ArmIdle()
    {
        if (_idleTimeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        Volatile.Write(ref _readStarted, _call.TimeProvider.GetTimestamp());
        Interlocked.Exchange(ref _reading, 1); // a full fence: the timer callback sees the start before it sees the read
        if (Interlocked.CompareExchange(ref _idleTimerArmed, 1, 0) == 0)
        {
            _call.WatchIdle(_idleTimeout);
        }
    }

    private void DisarmIdle()
    {
        if (_idleTimeout != Timeout.InfiniteTimeSpan)
        {
            Interlocked.Exchange(ref _reading, 0);
        }
    }

    /// <summary>Cancels the read in progress (the call was cancelled, the read went idle, or the consumer cancelled it).</summary>
    public void CancelRead()
    {
        try
        {
            _read.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The body was disposed meanwhile.
        }
    }

    /// <summary>
    /// The call's timer fired (under the call's lock): true when the read in progress has waited the whole idle timeout (the
    /// call cancels it); otherwise <paramref name="due"/> is when it would run out, or infinite when no read is watched (the
    /// next read that waits turns the watch on again).
    /// </summary>
    public bool IdleExpired(out TimeSpan due)
    {
        due = Timeout.InfiniteTimeSpan;
        if (Volatile.Read(ref _idleTimerArmed) == 0)
        {
            return false;
        }

        while (Volatile.Read(ref _reading) == 0)
        {
            Interlocked.Exchange(ref _idleTimerArmed, 0);
            if (Volatile.Read(ref _reading) == 0 || Interlocked.CompareExchange(ref _idleTimerArmed, 1, 0) != 0)
            {
                return false; // no read in progress (the next one turns the watch on), or a read that started meanwhile did
            }
        }

        TimeSpan waited = _call.TimeProvider.GetElapsedTime(Volatile.Read(ref _readStarted));
        if (waited >= _idleTimeout)
        {
            return true;
        }

        due = _idleTimeout - waited;
        return false;
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
        if (_prefixOffset >= _prefixLength)
        {
            _prefix = null;
        }

        _events?.Scan(buffer[..copied]);
        return true;
    }

    /// <summary>How much of a read of <paramref name="length"/> bytes an error body's allowance leaves; −1 when it is used up.</summary>
    private int Allowance(int length)
    {
        long left = _limits.CutAfterBytes - _delivered;
        return left <= 0 ? -1 : (int)Math.Min(length, left);
    }

    /// <summary>Accounts for bytes about to be handed out, enforcing the limits of the body, and reports a clean end.</summary>
    private int Deliver(ReadOnlySpan<byte> bytes, int requested)
    {
        if (bytes.IsEmpty && requested > 0)
        {
            if (_reportsEnd)
            {
                if (_events is null || _events.SawEnd)
                {
                    _call.ReportBodyEnd(failed: false);
                }
                else
                {
                    _call.AbandonBody(); // an event stream that ended without its end: not a success (nor, by itself, a break)
                }
            }

            return 0;
        }

        _delivered += bytes.Length;
        try
        {
            if (_delivered > _limits.FailAfterBytes)
            {
                throw new OpenAIStreamProtocolException(
                    $"The response body is larger than MaxResponseBodyBytes ({_limits.FailAfterBytes} bytes).",
                    statusCode: _statusCode,
                    requestId: _requestId);
            }

            _events?.Scan(bytes);
        }
        catch
        {
            Report(failed: true);
            throw;
        }

        return bytes.Length;
    }

    /// <summary>
    /// Before the body is released: an event stream that sent its end (<c>[DONE]</c> or a terminal event) ended well even
    /// when its reader stopped there without reading to the end of the body, as the official SDK does.
    /// </summary>
    public void ReportEndIfSeen()
    {
        if (_reportsEnd && _events is { SawEnd: true })
        {
            _call.ReportBodyEnd(failed: false);
        }
    }

    /// <summary>Reports how the body ended, unless this library's reader reads it (it reports, knowing the events).</summary>
    private void Report(bool failed)
    {
        if (_reportsEnd)
        {
            _call.ReportBodyEnd(failed);
        }
    }

    /// <summary>Throws when the call is over: the consumer, the caller or the total timeout cancelled it.</summary>
    private void ThrowIfEnded(Exception? inner, CancellationToken consumerToken)
    {
        if (_consumerCancelled)
        {
            throw new OperationCanceledException("An earlier read of the response body was cancelled.", inner, consumerToken);
        }

        if (_call.IsCancelled && _call.Interruption(inner, _requestId) is { } interruption)
        {
            throw interruption;
        }
    }

    /// <summary>The error for a failed read of the live body, named for what caused it, and reported to the call.</summary>
    private Exception Failure(Exception exception, CancellationToken consumerToken)
    {
        if (consumerToken.IsCancellationRequested)
        {
            _consumerCancelled = true;
            return new OperationCanceledException("The read of the response body was cancelled.", exception, consumerToken);
        }

        Exception? failure = _call.Interruption(exception, _requestId);
        if (failure is OperationCanceledException)
        {
            return failure; // the caller's own cancellation: no verdict on the route
        }

        if (failure is null && _read.IsCancellationRequested && _idleTimeout != Timeout.InfiniteTimeSpan)
        {
            failure = _call.Timeout(OpenAIStreamTimeoutKind.Idle, _idleTimeout, _requestId, exception);
        }

        failure ??= BrokenBody.Is(exception) ? BrokenBody.AfterBytes(exception, _prefixLength + _delivered, _statusCode, _requestId) : null;
        if (failure is OpenAIStreamTimeoutException { Kind: OpenAIStreamTimeoutKind.Total })
        {
            _call.AbandonBody(); // the caller's time budget ran out: not the route's fault
        }
        else
        {
            Report(failed: true);
        }

        if (failure is null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exception);
        }

        return failure;
    }
}
