namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// A read-only stream that hands out the given bytes in reads of the given sizes, synchronously or after a
/// yield, and records how it was used. It models a network body: one read never crosses a chunk boundary.
/// </summary>
public sealed class ChunkedStream : Stream
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly IReadOnlyList<int> _readSizes;
    private readonly bool _asyncReads;
    private readonly StreamEnd _end;
    private int _position;
    private int _chunk;
    private int _leftInChunk;

    public ChunkedStream(ReadOnlyMemory<byte> data, IReadOnlyList<int> readSizes, bool asyncReads, StreamEnd end = StreamEnd.Eof)
    {
        _data = data;
        _readSizes = readSizes;
        _asyncReads = asyncReads;
        _end = end;
        _leftInChunk = readSizes.Count > 0 ? readSizes[0] : 0;
    }

    /// <summary>Whether all bytes have been handed out.</summary>
    public bool IsExhausted => _position == _data.Length;

    public bool IsDisposed { get; private set; }

    public override bool CanRead => !IsDisposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    /// <summary>How many bytes have been handed out (read-only: the stream cannot seek).</summary>
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (IsExhausted && _end == StreamEnd.Hang)
        {
            throw new InvalidOperationException("The test stream hangs at its end; a synchronous read would block forever.");
        }

        return Next(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (_asyncReads)
        {
            await Task.Yield();
        }

        if (IsExhausted && _end == StreamEnd.Hang && buffer.Length > 0)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return Next(buffer.Span);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }

    private int Next(Span<byte> buffer)
    {
        if (buffer.IsEmpty || IsExhausted)
        {
            return 0;
        }

        while (_leftInChunk == 0)
        {
            _chunk++;
            _leftInChunk = _chunk < _readSizes.Count ? _readSizes[_chunk] : _data.Length - _position;
        }

        int n = Math.Min(Math.Min(buffer.Length, _leftInChunk), _data.Length - _position);
        _data.Span.Slice(_position, n).CopyTo(buffer);
        _position += n;
        _leftInChunk -= n;
        return n;
    }
}
