namespace OpenAIStreaming.Tests.Support;

/// <summary>What a <see cref="ChunkedStream"/> does once all of its bytes have been read.</summary>
public enum StreamEnd
{
    /// <summary>Reads return 0: the body ended.</summary>
    Eof,

    /// <summary>Reads never complete until the caller's token is cancelled: the peer keeps the connection open.</summary>
    Hang,
}
