using System.Buffers;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// What a recovering body has written for its reader and not yet handed out: a buffer rented from the shared pool while
/// it holds bytes, and given back as soon as they are all handed out, so a stream that waits for its next event holds
/// none (with thousands of streams open, a kilobyte each adds up).
/// </summary>
/// <remarks>
/// Only the reading thread writes, hands out and resets (reads of a stream do not overlap). The buffer goes back to the
/// pool only in <see cref="ResetWrittenCount"/>, never on disposal: a disposal that races a read in progress must not
/// hand another renter an array that read is still writing.
/// </remarks>
internal sealed class PendingBytes : IBufferWriter<byte>
{
    private const int MinimumSize = 1024;

    private byte[] _buffer = [];
    private int _written;

    /// <summary>Gets the number of bytes written.</summary>
    public int WrittenCount => _written;

    /// <summary>Gets the bytes written.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>Forgets what was written and gives the buffer back to the pool.</summary>
    public void ResetWrittenCount()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            Return(buffer, written: _written);
        }

        _written = 0;
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _written)
        {
            throw new InvalidOperationException("Cannot advance past the end of the buffer.");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Reserve(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        long size = Math.Max(MinimumSize, Math.Max((long)_written + needed, (long)_buffer.Length * 2));
        if (size > Array.MaxLength)
        {
            size = (long)_written + needed <= Array.MaxLength ? Array.MaxLength : throw new InvalidOperationException("The pending bytes would exceed the largest array.");
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent((int)size);
        _buffer.AsSpan(0, _written).CopyTo(larger);
        if (_buffer.Length > 0)
        {
            Return(_buffer, _written);
        }

        _buffer = larger;
    }

    /// <summary>Gives a buffer back to the shared pool with what was written in it cleared: the answer's text is nobody else's to read.</summary>
    private static void Return(byte[] buffer, int written)
    {
        buffer.AsSpan(0, written).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
