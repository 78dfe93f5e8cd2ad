using System.ComponentModel.DataAnnotations;

namespace OpenAIStreaming;

/// <summary>
/// How <see cref="OpenAIStreamingHandler"/> heals a chat stream that breaks after its first content: a reset or I/O error,
/// an idle timeout, a retryable error event from the server (<c>server_error</c>, <c>overloaded</c>, 5xx codes), a
/// malformed event, or an end without a finish reason. The request is sent again (to the same target, or the next of its
/// chain), the regenerated answer is checked against what was already delivered (its length and a stable hash per choice),
/// what was delivered is skipped, and the stream goes on: nothing is lost or repeated. A background Responses stream
/// (<c>"background": true</c>) that breaks is resumed instead: the server streams the stored response again from the event
/// after the last one delivered (<c>starting_after</c>), and nothing is generated again.
/// </summary>
/// <remarks>
/// <para>Recoveries draw from the retry budget and end with the total timeout. A replay of a request with a
/// <c>temperature</c> above 0 and no <c>seed</c> usually produces another answer: <see cref="OnDivergence"/> decides what
/// then happens, and two different answers are never spliced together.</para>
/// <para>Through this library's reader (<c>StreamChatCompletionAsync</c>) the consumer sees one stream; a checkpoint of what
/// was delivered comes on every <see cref="CheckpointInterval"/>-th update that carries content and on each finish
/// (<see cref="Protocol.ChatCompletionUpdate.Checkpoint"/>).</para>
/// </remarks>
public sealed class OpenAIStreamingRecoveryOptions
{
    /// <summary>Gets or sets a value indicating whether broken streams are recovered.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets how many times one stream may be recovered.</summary>
    /// <value>The default is 3.</value>
    [Range(1, 10)]
    public int MaxRecoveries { get; set; } = 3;

    /// <summary>Gets or sets how many events apart the checkpoints handed to the consumer are (one also comes at each finish).</summary>
    /// <value>The default is 16.</value>
    [Range(1, 1_000_000)]
    public int CheckpointInterval { get; set; } = 16;

    /// <summary>Gets or sets what happens when the replayed answer differs from what was already delivered.</summary>
    /// <value>The default is <see cref="OpenAIStreamingDivergencePolicy.Restart"/>.</value>
    public OpenAIStreamingDivergencePolicy OnDivergence { get; set; } = OpenAIStreamingDivergencePolicy.Restart;

    /// <summary>
    /// Gets or sets a value indicating whether the request's own endpoint continues a final assistant message (a prefill)
    /// instead of answering it — vLLM with <c>continue_final_message</c>, Anthropic-compatible endpoints. Then a broken chat
    /// stream (one choice, text only, no tools and no JSON <c>response_format</c>) is recovered by continuation first: the
    /// request is sent again with the delivered text as a final assistant message (and <c>"continue_final_message": true,
    /// "add_generation_prompt": false</c>), and only what follows it is streamed — nothing is regenerated or checked. A target
    /// that refuses it is recovered by replay instead, and its refusal is never the caller's error. For a fallback, set
    /// <see cref="OpenAIStreamingFallback.AcceptsAssistantPrefill"/>.
    /// </summary>
    /// <value>The default is <see langword="false"/>: OpenAI's own API does not continue a prefill.</value>
    public bool ContinueWithAssistantPrefill { get; set; }

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>A new instance with the same values.</returns>
    public OpenAIStreamingRecoveryOptions Clone() => (OpenAIStreamingRecoveryOptions)MemberwiseClone();
}
