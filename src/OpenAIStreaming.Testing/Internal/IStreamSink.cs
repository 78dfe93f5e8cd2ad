namespace OpenAIStreaming.Testing.Internal;

/// <summary>Where a stream's bytes go: through Kestrel, or straight to the socket when the connection is to be broken.</summary>
internal interface IStreamSink
{
    /// <summary>Sends the status line and headers.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="bytes"/> as one flushed write.</summary>
    Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>Ends the connection without the terminating chunk, after every byte written so far has reached the client.</summary>
    Task BreakAsync(CancellationToken cancellationToken);
}
