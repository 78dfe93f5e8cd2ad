using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// Pulls events from a <see cref="PipeReader"/> through an <see cref="SseFramer"/>: <c>ReadAsync</c>, frame every
/// complete event, <c>AdvanceTo(consumed, examined)</c>, stop at the end of the stream. The current event's data stays
/// valid until the next <see cref="MoveNextAsync"/>. Moving to the next event allocates nothing, including when a read
/// completes asynchronously (the async path uses a pooling builder).
/// </summary>
internal sealed class SseEventReader : IAsyncDisposable
{
    private readonly PipeReader _reader;
    private readonly SseFramer _framer;
    private ReadOnlySequence<byte> _buffer;
    private ReadOnlyMemory<byte> _segment;
    private int _segmentOffset;
    private bool _inSegment;
    private bool _segmentIsWhole; // the segment is all of the buffer
    private bool _holdingBuffer;
    private bool _isFinalBlock;
    private bool _finished;
    private ValueTask<ReadResult>? _pendingRead; // a read the fast path started that did not complete at once
    private IReadOnlyList<Streaming.Internal.PrefetchedEvent> _framedBefore; // let go once handed out: an open stream keeps none of it
    private int _nextFramedBefore;
    private bool _framedBeforeCounted; // whether the framer's count includes the events framed before it

    /// <param name="reader">The bytes of the stream (after <paramref name="framedBefore"/>, when given).</param>
    /// <param name="options">The size limits.</param>
    /// <param name="requestId">The server's request id, for errors.</param>
    /// <param name="framedBefore">Events already framed from the start of the stream (read before the commit point): handed out first, as they are.</param>
    public SseEventReader(PipeReader reader, ServerSentEventReaderOptions? options, string? requestId = null, IReadOnlyList<Streaming.Internal.PrefetchedEvent>? framedBefore = null)
    {
        _reader = reader;
        _framer = new SseFramer((options ?? ServerSentEventReaderOptions.Default).MaxEventSize, requestId);
        _framedBefore = framedBefore ?? [];
        _framedBeforeCounted = _framedBefore.Count == 0;
    }

    /// <summary>Gets the current event.</summary>
    public ServerSentEvent Current { get; private set; }

    /// <summary>Gets the zero-based index of <see cref="Current"/> in the stream (the number of events before it).</summary>
    public long CurrentIndex => EventCount - 1;

    /// <summary>Gets the number of events dispatched so far.</summary>
    public long EventCount => _framedBeforeCounted ? _framer.EventCount : _nextFramedBefore;

    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken) =>
        TryMoveNextBuffered() ? new ValueTask<bool>(true) : MoveNextSlowAsync(cancellationToken);

    /// <summary>Moves to the next event when it is already in the buffer; false (having read nothing) when it is not.</summary>
    public bool TryMoveNextBuffered()
    {
        if (!_framedBeforeCounted)
        {
            if (_nextFramedBefore < _framedBefore.Count)
            {
                Streaming.Internal.PrefetchedEvent framed = _framedBefore[_nextFramedBefore++];
                Current = new ServerSentEvent(framed.EventType, framed.Data, lastEventId: null, reconnectionInterval: null);
                return true;
            }

            _framer.SkipEvents(_framedBefore.Count);
            _framedBeforeCounted = true;
            _framedBefore = [];
        }

        // Most events lie inside the current buffer segment: frame them with an offset, slicing nothing.
        ServerSentEvent next;
        if (_inSegment)
        {
            if (_framer.TryReadEventInSegment(_segment, ref _segmentOffset, out next, out bool needsMore))
            {
                Current = next;
                return true;
            }

            if (needsMore && _segmentIsWhole)
            {
                return false; // the rest is the start of a line: released from the segment's offset, and read on
            }

            LeaveSegment();
        }

        if (_holdingBuffer && _framer.TryReadEvent(ref _buffer, _isFinalBlock, out next))
        {
            Current = next;
            EnterSegment();
            return true;
        }

        return false;
    }

    /// <summary>
    /// The start of a fused fast path: when the next event of the current buffer segment begins with <c>data: </c> and the
    /// framer has nothing pending, returns the rest of the segment after <c>data: </c>. A caller that finds the event's value
    /// there, a line without CR or LF followed by <see cref="DataLineTerminator"/>, consumes it with <see cref="ConsumeDataLine"/>
    /// instead of <see cref="MoveNextAsync"/>: the same event the framer would dispatch, framed in the caller's own pass.
    /// </summary>
    public bool TryPeekDataLine(out ReadOnlySpan<byte> rest)
    {
        if (_inSegment && _framer.IsBetweenEvents)
        {
            ReadOnlySpan<byte> span = _segment.Span[_segmentOffset..];
            if (span.StartsWith(DataLinePrefix))
            {
                rest = span[DataLinePrefix.Length..];
                return true;
            }
        }

        rest = default;
        return false;
    }

    /// <summary>
    /// Consumes an event found through <see cref="TryPeekDataLine"/>: <c>data: </c>, a value of <paramref name="dataLength"/>
    /// bytes without CR or LF, and <see cref="DataLineTerminator"/>. It counts as an event (<see cref="CurrentIndex"/>), and
    /// <see cref="Current"/> is not updated.
    /// </summary>
    public void ConsumeDataLine(int dataLength)
    {
        int terminatorLength = DataLineTerminator.Length; // before the count: the framer's line end is the one matched
        _framer.CountFramedEvent(dataLength);
        _segmentOffset += DataLinePrefix.Length + dataLength + terminatorLength;
    }

    /// <summary>
    /// Gets what ends the value of a one-line event for <see cref="ConsumeDataLine"/>, in the line ends of the stream so far:
    /// LF LF, or CR LF CR LF when the last line the framer read ended with CR LF. (An event with other line ends is left to
    /// the framer.)
    /// </summary>
    public ReadOnlySpan<byte> DataLineTerminator => _framer.LastLineEndedWithCrLf ? "\r\n\r\n"u8 : "\n\n"u8;

    /// <summary>
    /// For a caller of the fused fast path whose next event has not fully arrived: when the rest of the buffer is only the
    /// start of a line, releases what was framed and reads on. <see cref="MoreBytes.Read"/>: the bytes were there at once and
    /// are taken in (peek again); <see cref="MoreBytes.Pending"/>: the read waits (<see cref="ReadMoreAsync"/> or
    /// <see cref="MoveNextAsync"/> takes it in); <see cref="MoreBytes.NotNeeded"/>: something can be framed from what is held, or the
    /// stream has ended (<see cref="MoveNextAsync"/> goes on). Once it has read, the data of <see cref="Current"/> is no
    /// longer valid, as after <see cref="MoveNextAsync"/>.
    /// </summary>
    public MoreBytes TryReadMoreAtOnce(CancellationToken cancellationToken)
    {
        if (_pendingRead is not null)
        {
            return MoreBytes.Pending;
        }

        if (!_inSegment || !_segmentIsWhole || _isFinalBlock || !_framer.TryMarkIncompleteLine(_segment.Span[_segmentOffset..]))
        {
            return MoreBytes.NotNeeded;
        }

        ReleaseHeld();
        cancellationToken.ThrowIfCancellationRequested();
        ValueTask<ReadResult> read = _reader.ReadAsync(cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            _pendingRead = read;
            return MoreBytes.Pending;
        }

        ReadResult result = read.Result;
        if (result.IsCanceled)
        {
            _pendingRead = new ValueTask<ReadResult>(result); // thrown by MoveNextAsync or ReadMoreAsync, as a cancelled read is
            return MoreBytes.Pending;
        }

        Accept(result);
        return MoreBytes.Read;
    }

    /// <summary>Gets whether a read <see cref="TryReadMoreAtOnce"/> started is waiting for bytes.</summary>
    public bool HasPendingRead => _pendingRead is not null;

    /// <summary>
    /// <see cref="TryReadMoreAtOnce"/>, waiting for the bytes when the read has to: true when more bytes were taken in (peek
    /// again), false when none were needed (<see cref="MoveNextAsync"/> goes on).
    /// </summary>
    public ValueTask<bool> ReadMoreAsync(CancellationToken cancellationToken) => TryReadMoreAtOnce(cancellationToken) switch
    {
        MoreBytes.Read => new ValueTask<bool>(true),
        MoreBytes.Pending => AcceptPendingAsync(),
        _ => new ValueTask<bool>(false),
    };

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AcceptPendingAsync()
    {
        ValueTask<ReadResult> pending = _pendingRead!.Value;
        _pendingRead = null;
        Accept(await pending.ConfigureAwait(false));
        return true;
    }

    /// <summary>Gets what ends a one-line event this library writes: its LF and the blank line's LF.</summary>
    public static ReadOnlySpan<byte> DataLineEnd => "\n\n"u8;

    private static ReadOnlySpan<byte> DataLinePrefix => "data: "u8;

    /// <summary>Releases the buffers and completes the pipe (which disposes its stream), synchronously.</summary>
    public void Dispose()
    {
        LeaveSegment();
        if (_holdingBuffer)
        {
            _holdingBuffer = false;
            _reader.AdvanceTo(_buffer.Start, _buffer.End);
        }

        _framer.Dispose();
        _reader.Complete();
    }

    public async ValueTask DisposeAsync()
    {
        LeaveSegment();
        if (_holdingBuffer)
        {
            _holdingBuffer = false;
            _reader.AdvanceTo(_buffer.Start, _buffer.End);
        }

        _framer.Dispose();
        await _reader.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Continues in the first segment of what is left of the buffer.</summary>
    private void EnterSegment()
    {
        if (!_buffer.IsEmpty)
        {
            _segment = _buffer.First;
            _segmentOffset = 0;
            _inSegment = true;
            _segmentIsWhole = _buffer.IsSingleSegment;
        }
    }

    /// <summary>Slices off what the segment fast path consumed, so the buffer is exact again.</summary>
    private void LeaveSegment()
    {
        if (_inSegment)
        {
            _inSegment = false;
            _buffer = _buffer.Slice(_segmentOffset);
            _segment = default;
        }
    }

    /// <summary>Gives the pipe back what is held, keeping what is not framed yet.</summary>
    private void ReleaseHeld()
    {
        if (!_holdingBuffer)
        {
            return;
        }

        SequencePosition unframed;
        long remaining;
        if (_inSegment)
        {
            _inSegment = false;
            unframed = _buffer.GetPosition(_segmentOffset);
            remaining = _buffer.Length - _segmentOffset;
            _segment = default;
        }
        else
        {
            unframed = _buffer.Start;
            remaining = _buffer.Length;
        }

        _holdingBuffer = false;
        _framer.PrepareForRelease(remaining);
        _reader.AdvanceTo(unframed, _buffer.End);
        if (_isFinalBlock)
        {
            // End of stream: an event without its terminating blank line is discarded.
            _finished = true;
        }
    }

    /// <summary>Takes in the result of a read.</summary>
    private void Accept(in ReadResult result)
    {
        if (result.IsCanceled)
        {
            _reader.AdvanceTo(result.Buffer.Start);
            throw new OperationCanceledException("The read of the event stream was cancelled.");
        }

        _buffer = result.Buffer;
        _holdingBuffer = true;
        _isFinalBlock = result.IsCompleted;
        EnterSegment();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MoveNextSlowAsync(CancellationToken cancellationToken)
    {
        // Called when TryMoveNextBuffered found no event in what is held: release it and read on.
        while (true)
        {
            ReleaseHeld();
            if (_finished)
            {
                Current = default;
                return false;
            }

            ReadResult result;
            if (_pendingRead is { } pending)
            {
                _pendingRead = null;
                result = await pending.ConfigureAwait(false);
            }
            else
            {
                cancellationToken.ThrowIfCancellationRequested();
                result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }

            Accept(result);
            if (TryMoveNextBuffered())
            {
                return true;
            }
        }
    }
}

/// <summary>What <see cref="SseEventReader.TryReadMoreAtOnce"/> did.</summary>
internal enum MoreBytes
{
    /// <summary>Nothing: an event can be framed from what is held, or the stream has ended.</summary>
    NotNeeded,

    /// <summary>More bytes were there at once and are taken in.</summary>
    Read,

    /// <summary>A read is waiting for bytes.</summary>
    Pending,
}
