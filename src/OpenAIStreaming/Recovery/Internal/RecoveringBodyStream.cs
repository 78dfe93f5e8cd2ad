using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// What the recovering bodies of a committed stream (<see cref="RecoveringChatBodyStream"/>,
/// <see cref="RecoveringResponsesBodyStream"/>) share: the body is framed into events, each step writes what goes to the
/// reader into <see cref="Out"/>, reads hand it out, and once a step ends the stream with an error event the next read
/// throws <see cref="Failure"/>. Synchronous reads get the body as it is, under the same timeouts and limits, without
/// recovery.
/// </summary>
internal abstract class RecoveringBodyStream : Stream
{
    private static ServerSentEventReaderOptions? s_readerOptions; // the last one made in the process, shared while the event size is the same

    private readonly IBodyOpener _open;
    private Stream? _plain; // the body as it is, for synchronous reads
    private int _outOffset;
    private bool _disposed;

    /// <param name="call">The call whose body this is; it recovers the stream and hears how the body ended.</param>
    /// <param name="open">Opens the body: framed (true: the events read before the commit point and a stream of the rest) or as it is (false).</param>
    /// <param name="maxEventSize">The largest event accepted.</param>
    /// <param name="requestId">The server's request id of the response.</param>
    /// <param name="statusCode">The response's status.</param>
    protected RecoveringBodyStream(CallContext call, IBodyOpener open, int maxEventSize, string? requestId, int statusCode)
    {
        Call = call;
        _open = open;
        ReaderOptions = s_readerOptions is { } last && last.MaxEventSize == maxEventSize
            ? last
            : s_readerOptions = new ServerSentEventReaderOptions { MaxEventSize = maxEventSize }; // never changed once made
        RequestId = requestId;
        StatusCode = statusCode;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Gets the call whose body this is.</summary>
    protected CallContext Call { get; }

    /// <summary>Gets the framing options: the largest event accepted.</summary>
    protected ServerSentEventReaderOptions ReaderOptions { get; }

    /// <summary>Gets the response's status.</summary>
    protected int StatusCode { get; }

    /// <summary>Gets or sets the server's request id of the response being read (a recovery's own, after one).</summary>
    protected string? RequestId { get; set; }

    /// <summary>Gets what goes to the reader next.</summary>
    protected PendingBytes Out { get; } = new();

    /// <summary>Gets the events being read (null before the first asynchronous read).</summary>
    protected SseEventReader? Events { get; private set; }

    /// <summary>Gets or sets a value indicating whether the stream has ended well: reads return 0 once <see cref="Out"/> is handed out.</summary>
    protected bool Ended { get; set; }

    /// <summary>Gets or sets the typed error the next read throws once <see cref="Out"/> (the error event) is handed out.</summary>
    protected Exception? Failure { get; set; }

    /// <summary>Gets a value indicating whether <see cref="Out"/> holds bytes not yet handed out.</summary>
    protected bool HasPending => Out.WrittenCount > _outOffset;

    /// <summary>Gets the body as it is, when it is being read synchronously.</summary>
    protected Stream? Plain => _plain;

    /// <summary>Gets a value indicating whether the stream was disposed.</summary>
    protected bool IsDisposed => _disposed;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_plain is not null)
        {
            return _plain.ReadAsync(buffer, cancellationToken);
        }

        if (HasPending && buffer.Length > 0)
        {
            return new ValueTask<int>(TakePending(buffer.Span)); // the rest of what the last step wrote
        }

        return ReadSlowAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_plain is null)
        {
            if (Events is not null)
            {
                throw new NotSupportedException("This response body is being read asynchronously; a synchronous read cannot follow.");
            }

            _plain = _open.Open(framed: false).Body;
        }

        return _plain.Read(buffer);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>
    /// Takes the next event, and those after it already buffered while they fit in <paramref name="room"/> bytes, and
    /// writes what of them goes to the reader into <see cref="Out"/> (perhaps nothing); ends the stream by setting
    /// <see cref="Ended"/> or <see cref="Failure"/>.
    /// </summary>
    protected abstract ValueTask StepAsync(int room, CancellationToken cancellationToken);

    /// <summary>Hands out what <see cref="Out"/> holds, as much as fits in <paramref name="buffer"/>.</summary>
    protected int TakePending(Span<byte> buffer)
    {
        ReadOnlySpan<byte> pending = Out.WrittenSpan[_outOffset..];
        int n = Math.Min(pending.Length, buffer.Length);
        pending[..n].CopyTo(buffer);
        _outOffset += n;
        if (_outOffset == Out.WrittenCount)
        {
            Out.ResetWrittenCount();
            _outOffset = 0;
        }

        return n;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Events is null)
        {
            (IReadOnlyList<PrefetchedEvent> events, Stream body) = _open.Open(framed: true);
            Events = new SseEventReader(PipeReaders.Create(body, leaveOpen: false), ReaderOptions, RequestId, events);
        }

        while (true)
        {
            if (HasPending)
            {
                return buffer.Length == 0 ? 0 : TakePending(buffer.Span);
            }

            if (Failure is { } failure)
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            if (Ended || buffer.Length == 0)
            {
                return 0;
            }

            await StepAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads on from a recovery's body (a replay or a resume) instead of the broken one.</summary>
    protected async ValueTask ReadFromAsync(ReplayedBody body)
    {
        SseEventReader? old = Events;
        Events = new SseEventReader(PipeReaders.Create(body.Remainder, leaveOpen: false), ReaderOptions, body.RequestId, body.Events);
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }

        RequestId = body.RequestId ?? RequestId;
    }

    /// <summary>Releases what a derived stream holds besides the events and the body.</summary>
    protected virtual void ReleaseOwn()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            ReleaseOwn();
            if (Events is { } events)
            {
                Events = null;
                events.Dispose();
            }

            _plain?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            ReleaseOwn();
            if (Events is { } events)
            {
                Events = null;
                await events.DisposeAsync().ConfigureAwait(false);
            }

            if (_plain is not null)
            {
                await _plain.DisposeAsync().ConfigureAwait(false);
            }
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Opens the body a recovering stream reads.</summary>
internal interface IBodyOpener
{
    /// <summary>
    /// Opens the body: framed (<paramref name="framed"/>: the events read before the commit point and a stream of the rest,
    /// for an asynchronous reader) or as it is (for a synchronous one).
    /// </summary>
    (IReadOnlyList<PrefetchedEvent> Events, Stream Body) Open(bool framed);
}
