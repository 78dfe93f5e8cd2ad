namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// A read-only, non-seekable stream over a byte array that hands out at most <see cref="MaxReadSize"/>
/// bytes per read, like a network stream delivering 4 KiB segments. Every reader under test gets
/// its bytes through this type, so they all see the same read pattern. Reads complete synchronously.
/// </summary>
public sealed class FixedReadSizeStream : Stream
{
    /// <summary>The read size used by the benchmarks: 4 KiB.</summary>
    public const int DefaultMaxReadSize = 4096;

    private readonly byte[] _data;
    private int _position;

    public FixedReadSizeStream(byte[] data, int maxReadSize = DefaultMaxReadSize)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxReadSize);
        _data = data;
        MaxReadSize = maxReadSize;
    }

    public int MaxReadSize { get; }

    /// <summary>Reads that asked for at least one byte (including the final one that returned 0).</summary>
    public int ReadCount { get; private set; }

    /// <summary>Reads with an empty buffer (zero-byte reads, used to wait for data without a buffer).</summary>
    public int ZeroByteReadCount { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            ZeroByteReadCount++;
            return 0;
        }

        ReadCount++;
        int count = Math.Min(Math.Min(buffer.Length, MaxReadSize), _data.Length - _position);
        _data.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        return new ValueTask<int>(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
