using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// A <see cref="PipeReader"/> over a response stream with one contiguous buffer, made for streams that arrive one event
/// per read. A read that the stream completes synchronously completes synchronously here, with no state machine, no
/// buffer rented or returned and no segment linked: the bytes the caller has not consumed stay where they are and the
/// next read appends after them. The buffer is moved down when the room behind the data gets small, and grows (by
/// doubling) only while the caller holds more than it can take; the caller bounds what it holds.
/// </summary>
/// <remarks>
/// <para>When nothing is buffered, a read first waits for data with a zero-byte read, and gives the buffer back to the pool
/// before it waits: a stream that is idle between tokens holds no buffer.</para>
/// <para><see cref="CancelPendingRead"/> makes the next read (or the one that ends next) return
/// <see cref="ReadResult.IsCanceled"/>; it does not interrupt a read the stream has in progress. <see cref="TryRead"/>
/// returns only bytes not yet examined. Like every <see cref="PipeReader"/>, it is not for concurrent use; a completion
/// that races a read of the stream leaves the buffer that read writes into to the collector rather than to the pool.</para>
/// </remarks>
internal sealed class StreamBufferReader : PipeReader
{
    private const int MinimumReadSize = 1024;

    private readonly Stream _stream;
    private readonly int _bufferSize;
    private readonly bool _leaveOpen;
    private byte[]? _buffer;
    private int _start; // the first byte not consumed
    private int _end; // the end of the bytes read
    private int _examined; // the end of what the caller has examined
    private bool _endOfStream;
    private bool _completed;
    private bool _inFlight; // a read of the stream is pending: its buffer must not go back to the pool
    private volatile bool _cancelPending;

    public StreamBufferReader(Stream stream, int bufferSize, bool leaveOpen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, MinimumReadSize);
        _stream = stream;
        _bufferSize = bufferSize;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Gets whether the reader holds a rented buffer (it does not while it waits for an idle stream).</summary>
    internal bool HoldsBuffer => _buffer is not null;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        if (_cancelPending)
        {
            _cancelPending = false;
            return new ValueTask<ReadResult>(new ReadResult(Buffered, isCanceled: true, isCompleted: false));
        }

        if (_examined < _end || _endOfStream)
        {
            return new ValueTask<ReadResult>(Result());
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (_start == _end)
        {
            // Nothing held: wait for data before taking a buffer.
            _start = _end = _examined = 0;
            ValueTask<int> wait = _stream.ReadAsync(Memory<byte>.Empty, cancellationToken);
            if (!wait.IsCompletedSuccessfully)
            {
                return WaitThenReadAsync(wait, cancellationToken);
            }

            _ = wait.Result;
        }

        Volatile.Write(ref _inFlight, true);
        ValueTask<int> read;
        try
        {
            read = _stream.ReadAsync(Room(), cancellationToken);
        }
        catch
        {
            Volatile.Write(ref _inFlight, false);
            throw;
        }

        if (read.IsCompletedSuccessfully)
        {
            Volatile.Write(ref _inFlight, false);
            Filled(read.Result);
            return new ValueTask<ReadResult>(Result());
        }

        return AwaitReadAsync(read);
    }

    public override bool TryRead(out ReadResult result)
    {
        ThrowIfCompleted();
        if (_cancelPending)
        {
            _cancelPending = false;
            result = new ReadResult(Buffered, isCanceled: true, isCompleted: false);
            return true;
        }

        if (_examined < _end || _endOfStream)
        {
            result = Result();
            return true;
        }

        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        ThrowIfCompleted();
        if (_buffer is null || _start == _end)
        {
            return; // nothing was handed out
        }

        if (!ReferenceEquals(consumed.GetObject(), _buffer) || !ReferenceEquals(examined.GetObject(), _buffer))
        {
            throw new InvalidOperationException("The position does not belong to the buffer this reader returned last.");
        }

        int consumedAt = consumed.GetInteger();
        int examinedAt = examined.GetInteger();
        if (consumedAt < _start || consumedAt > _end || examinedAt < consumedAt || examinedAt > _end)
        {
            throw new InvalidOperationException("The position is outside the buffer this reader returned last.");
        }

        _start = consumedAt;
        _examined = examinedAt;
    }

    public override void CancelPendingRead() => _cancelPending = true;

    public override void Complete(Exception? exception = null)
    {
        if (Release() && !_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (Release() && !_leaveOpen)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ReadOnlySequence<byte> Buffered =>
        _buffer is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);

    private ReadResult Result() => new(Buffered, isCanceled: false, isCompleted: _endOfStream);

    /// <summary>Where the next read goes: after the bytes held, with at least <see cref="MinimumReadSize"/> bytes of room.</summary>
    private Memory<byte> Room()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(_bufferSize);
            _start = _end = _examined = 0;
        }
        else if (_buffer.Length - _end < MinimumReadSize)
        {
            int held = _end - _start;
            byte[] target = _buffer;
            if (held + MinimumReadSize > _buffer.Length)
            {
                target = ArrayPool<byte>.Shared.Rent(Math.Max(2 * _buffer.Length, held + MinimumReadSize));
            }

            _buffer.AsSpan(_start, held).CopyTo(target);
            if (!ReferenceEquals(target, _buffer))
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = target;
            }

            _examined -= _start;
            _start = 0;
            _end = held;
        }

        return _buffer.AsMemory(_end);
    }

    private void Filled(int count)
    {
        if (count == 0)
        {
            _endOfStream = true;
        }

        _end += count;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> WaitThenReadAsync(ValueTask<int> wait, CancellationToken cancellationToken)
    {
        ReturnBuffer();
        await wait.ConfigureAwait(false);
        Volatile.Write(ref _inFlight, true);
        int count;
        try
        {
            ThrowIfCompleted();
            count = await _stream.ReadAsync(Room(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _inFlight, false);
        }

        return Finish(count);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> AwaitReadAsync(ValueTask<int> read)
    {
        int count;
        try
        {
            count = await read.ConfigureAwait(false); // in flight since it was started
        }
        finally
        {
            Volatile.Write(ref _inFlight, false);
        }

        return Finish(count);
    }

    private ReadResult Finish(int count)
    {
        ThrowIfCompleted();
        Filled(count);
        if (_cancelPending)
        {
            _cancelPending = false;
            return new ReadResult(Buffered, isCanceled: true, isCompleted: false);
        }

        return Result();
    }

    private bool Release()
    {
        if (_completed)
        {
            return false;
        }

        _completed = true;
        if (Volatile.Read(ref _inFlight))
        {
            _buffer = null; // completed during a read: the stream may still write into it, so it is left to the collector
        }

        ReturnBuffer();
        return true;
    }

    private void ReturnBuffer()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            _start = _end = _examined = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The reader was completed.");
        }
    }
}
