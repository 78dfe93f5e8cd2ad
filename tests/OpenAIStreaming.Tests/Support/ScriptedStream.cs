namespace OpenAIStreaming.Tests.Support;

/// <summary>How a <see cref="ScriptedStream"/> cuts its bytes into reads.</summary>
public sealed record ReadPattern(string Name, Func<int, int> NextReadSize)
{
    public static ReadPattern Whole { get; } = new("whole", _ => int.MaxValue);

    public static ReadPattern Trickle { get; } = new("trickle", _ => 1);

    public static ReadPattern Fixed(int size) => new($"fixed{size}", _ => size);

    public static ReadPattern Random(int seed)
    {
        var random = new Random(seed);
        return new($"random{seed}", _ => random.Next(1, 64));
    }

    /// <summary>Two reads: the first ends exactly at <paramref name="offset"/>.</summary>
    public static ReadPattern SplitAt(int offset) => new($"split{offset}", i => i == 0 ? offset : int.MaxValue);

    public static IEnumerable<ReadPattern> All() => [Whole, Trickle, Fixed(7), Random(1), Random(2), Random(3)];

    public override string ToString() => Name;
}

/// <summary>A read-only stream returning its bytes in reads of scripted sizes, optionally completing reads asynchronously.</summary>
public sealed class ScriptedStream(byte[] data, ReadPattern pattern, bool asynchronous = false) : Stream
{
    private int _position;
    private int _reads;

    public bool IsDisposed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        int size = Math.Max(1, pattern.NextReadSize(_reads++));
        int count = Math.Min(Math.Min(buffer.Length, size), data.Length - _position);
        data.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (asynchronous)
        {
            await Task.Yield();
        }

        return Read(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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
}
