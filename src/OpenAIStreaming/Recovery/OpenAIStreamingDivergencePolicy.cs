namespace OpenAIStreaming;

/// <summary>What a recovered stream does when the replayed answer is not the one already delivered.</summary>
public enum OpenAIStreamingDivergencePolicy
{
    /// <summary>
    /// Start over: this library's reader yields an update whose <see cref="Protocol.ChatCompletionUpdate.IsRestart"/> is
    /// true (discard what you have shown), then the new answer from its beginning. A reader of the raw body (the official
    /// SDK) cannot be told to discard, so there the stream ends with an error event and a
    /// <see cref="OpenAIStreamDivergedException"/>.
    /// </summary>
    Restart,

    /// <summary>End the stream with an <see cref="OpenAIStreamDivergedException"/> carrying the checkpoint of what was delivered.</summary>
    Fail,
}
