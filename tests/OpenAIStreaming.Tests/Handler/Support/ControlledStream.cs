using System.Text;
using System.Threading.Channels;

namespace OpenAIStreaming.Tests.Handler.Support;

/// <summary>A response body the test feeds by hand: reads wait (cancellably) until bytes are pushed or the stream completes.</summary>
public sealed class ControlledStream : Stream
{
    private readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();
    private byte[] _current = [];
    private int _offset;
    private int _pendingReads;
    private int _waits;

    public bool IsDisposed { get; private set; }

    /// <summary>Gets the number of reads waiting for data right now.</summary>
    public int PendingReads => Volatile.Read(ref _pendingReads);

    /// <summary>Gets how many times a read has waited for data so far.</summary>
    public int Waits => Volatile.Read(ref _waits);

    /// <summary>Gets a value indicating whether a read was cancelled.</summary>
    public bool WasCancelled { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public ControlledStream Push(string text)
    {
        _chunks.Writer.TryWrite(Encoding.UTF8.GetBytes(text));
        return this;
    }

    public ControlledStream Complete()
    {
        _chunks.Writer.TryComplete();
        return this;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _current.Length)
        {
            Interlocked.Increment(ref _pendingReads);
            Interlocked.Increment(ref _waits);
            try
            {
                if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
                {
                    return 0;
                }
            }
            catch (OperationCanceledException)
            {
                WasCancelled = true;
                throw;
            }
            finally
            {
                Interlocked.Decrement(ref _pendingReads);
            }

            if (buffer.IsEmpty)
            {
                return 0; // a zero-byte read completes when data is available
            }

            if (_chunks.Reader.TryRead(out byte[]? next))
            {
                _current = next;
                _offset = 0;
            }
        }

        int count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, count).CopyTo(buffer);
        _offset += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        _chunks.Writer.TryComplete();
        base.Dispose(disposing);
    }
}
