namespace OpenAIStreaming;

/// <summary>Which of the layered timeouts of <see cref="OpenAIStreamingHandler"/> fired.</summary>
public enum OpenAIStreamTimeoutKind
{
    /// <summary>The connection (TCP and TLS) could not be established within <see cref="OpenAIStreamingOptions.ConnectTimeout"/>.</summary>
    Connect,

    /// <summary>No complete server-sent event arrived within <see cref="OpenAIStreamingOptions.FirstTokenTimeout"/> of sending.</summary>
    FirstToken,

    /// <summary>A read of the stream body waited longer than <see cref="OpenAIStreamingOptions.IdleTimeout"/> for data.</summary>
    Idle,

    /// <summary>The whole call, retries and body included, took longer than <see cref="OpenAIStreamingOptions.TotalTimeout"/>.</summary>
    Total,
}
