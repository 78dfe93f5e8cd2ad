namespace OpenAIStreaming.Benchmarks.Live;

/// <summary>
/// A read-only stream over a generated body that hands out its bytes in a <see cref="ReadPattern"/>: at most 4 KiB or 100
/// bytes, one event, or half an event per read. Reads complete synchronously, so the benchmark measures the readers, not a network.
/// </summary>
public sealed class PatternStream : Stream
{
    private readonly byte[] _data;
    private readonly int[] _ends; // the offset after each read's last byte
    private int _position;
    private int _next;

    public PatternStream(byte[] data, int[] ends)
    {
        _data = data;
        _ends = ends;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>The offsets at which the reads of <paramref name="pattern"/> end, for <paramref name="body"/>.</summary>
    public static int[] ReadEnds(byte[] body, ReadPattern pattern)
    {
        var ends = new List<int>();
        if (pattern is ReadPattern.Reads4KiB or ReadPattern.Reads100B)
        {
            int size = pattern == ReadPattern.Reads4KiB ? 4096 : 100;
            for (int end = size; end < body.Length; end += size)
            {
                ends.Add(end);
            }
        }
        else
        {
            int start = 0;
            while (start < body.Length)
            {
                int boundary = body.AsSpan(start).IndexOf("\n\n"u8);
                int end = boundary < 0 ? body.Length : start + boundary + 2;
                if (pattern == ReadPattern.EventSplitInTwo && end - start > 1)
                {
                    ends.Add(start + ((end - start) / 2));
                }

                ends.Add(end);
                start = end;
            }
        }

        if (ends.Count == 0 || ends[^1] != body.Length)
        {
            ends.Add(body.Length);
        }

        return [.. ends];
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || _position == _data.Length)
        {
            return 0;
        }

        while (_ends[_next] <= _position)
        {
            _next++;
        }

        int count = Math.Min(buffer.Length, _ends[_next] - _position);
        _data.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : new ValueTask<int>(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
