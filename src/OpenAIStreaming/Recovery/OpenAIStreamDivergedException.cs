namespace OpenAIStreaming;

/// <summary>
/// A broken stream was sent again to recover it, and the answer that came back differs from what had already been
/// delivered, so the two cannot be joined. <see cref="Checkpoint"/> describes what was delivered.
/// </summary>
public sealed class OpenAIStreamDivergedException : OpenAIStreamException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What diverged.</param>
    /// <param name="checkpoint">What had been delivered when the stream broke.</param>
    /// <param name="requestId">The server's request id of the replay, when known.</param>
    /// <param name="innerException">The break that started the recovery.</param>
    /// <param name="partialResult">The answer as delivered before the break, when it was kept.</param>
    public OpenAIStreamDivergedException(string message, OpenAIStreamCheckpoint checkpoint, string? requestId = null, Exception? innerException = null, Protocol.ChatCompletionResult? partialResult = null)
        : base(message, statusCode: null, errorType: "stream_diverged", errorCode: "stream_diverged", param: null, requestId, isRetryable: false, innerException: innerException)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Checkpoint = checkpoint;
        PartialResult = partialResult;
    }

    /// <summary>Gets what had been delivered when the stream broke: the partial answer's length and hash per choice.</summary>
    public OpenAIStreamCheckpoint Checkpoint { get; }

    /// <summary>
    /// Gets the answer as it was delivered before the break — per choice its text, refusal, tool calls and finish reason —
    /// when <see cref="OpenAIStreamingRecoveryOptions.OnDivergence"/> is <see cref="OpenAIStreamingDivergencePolicy.Fail"/>
    /// (only then does the handler keep a copy of what it delivers) and it was not longer than
    /// <see cref="Protocol.ChatCompletionAccumulatorOptions.DefaultMaxTotalCharacters"/>; null otherwise.
    /// </summary>
    public Protocol.ChatCompletionResult? PartialResult { get; }
}
