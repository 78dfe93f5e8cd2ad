using System.IO.Pipelines;

namespace OpenAIStreaming.Sse.Internal;

/// <summary>Creates the <see cref="PipeReader"/> every reader of this library uses over a response stream.</summary>
internal static class PipeReaders
{
    /// <summary>The size of the buffers rented from the pool for each read.</summary>
    internal const int BufferSize = 4096;

    /// <summary>
    /// Creates a reader with one contiguous buffer and zero-byte reads (see <see cref="StreamBufferReader"/>): a read the
    /// stream completes at once costs no more than the stream's own read, and a stream that is idle between tokens holds no
    /// rented buffer.
    /// </summary>
    public static PipeReader Create(Stream stream, bool leaveOpen) => new StreamBufferReader(stream, BufferSize, leaveOpen);
}
