using System.IO.Pipelines;

namespace OpenAIStreaming.Sse.Internal;

/// <summary>Creates the <see cref="PipeReader"/> every reader of this library uses over a response stream.</summary>
internal static class PipeReaders
{
    /// <summary>The size of the buffers rented from the pool for each read.</summary>
    internal const int BufferSize = 4096;

    /// <summary>
    /// Creates a reader with zero-byte reads, so a stream that is idle between tokens holds no rented buffer.
    /// </summary>
    public static PipeReader Create(Stream stream, bool leaveOpen) =>
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: BufferSize, minimumReadSize: 1024, leaveOpen: leaveOpen, useZeroByteReads: true));
}
