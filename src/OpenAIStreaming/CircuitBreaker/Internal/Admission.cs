namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>What a route's circuit said to an attempt.</summary>
internal enum Admission
{
    /// <summary>The circuit is closed: an ordinary attempt.</summary>
    Allowed,

    /// <summary>The circuit was open and this attempt is its one trial: its verdict closes or reopens it.</summary>
    Trial,

    /// <summary>The circuit refuses attempts now.</summary>
    Refused,
}
