namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>What a route's circuit said to an attempt.</summary>
internal enum Admission
{
    /// <summary>The circuit is closed: an ordinary attempt.</summary>
    Allowed,

    /// <summary>The circuit was open and this attempt is its one trial: its verdict closes or reopens it.</summary>
    Trial,

    /// <summary>
    /// The circuit refused, but the attempt was sent anyway (the last target that could answer is never refused): its
    /// success closes the circuit; its failure changes nothing (the circuit stays open, and opens no second time).
    /// </summary>
    Forced,

    /// <summary>The circuit refuses attempts now.</summary>
    Refused,
}
