namespace OpenAIStreaming.Testing.Internal;

/// <summary>Where a stream's bytes go: through Kestrel, or straight to the socket when the connection is to be broken; optionally through gzip.</summary>
internal interface IStreamSink
{
    /// <summary>Sends the status line and headers.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="bytes"/> as one flushed write.</summary>
    Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>
    /// Sends about 64 KiB that carry no content (blank lines; empty deflate blocks under gzip), so that what was written
    /// before is in the client's hands before what comes next: a reader that meets a framing or decoding error drops the
    /// good bytes it took in with the bad ones in the same read.
    /// </summary>
    Task WritePaddingAsync(CancellationToken cancellationToken);

    /// <summary>Ends the body normally.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);

    /// <summary>Ends the connection without the terminating chunk, after every byte written so far has reached the client.</summary>
    Task BreakAsync(CancellationToken cancellationToken);

    /// <summary>Resets the connection (TCP RST) after every byte written so far has been sent.</summary>
    Task ResetAsync(CancellationToken cancellationToken);

    /// <summary>Sends a malformed chunk header (<c>zz</c>), then ends the connection like <see cref="BreakAsync"/>.</summary>
    Task MalformedChunkAsync(CancellationToken cancellationToken);
}
