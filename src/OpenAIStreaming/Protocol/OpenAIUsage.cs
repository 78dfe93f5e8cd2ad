namespace OpenAIStreaming.Protocol;

/// <summary>
/// Token usage reported by the server: the <c>usage</c> object of a Chat Completions chunk or a Responses terminal event.
/// </summary>
public sealed class OpenAIUsage
{
    internal OpenAIUsage(int? inputTokens, int? outputTokens, int? totalTokens, int? cachedInputTokens, int? reasoningTokens, string json)
    {
        InputTokens = inputTokens;
        OutputTokens = outputTokens;
        TotalTokens = totalTokens;
        CachedInputTokens = cachedInputTokens;
        ReasoningTokens = reasoningTokens;
        Json = json;
    }

    /// <summary>Gets the prompt tokens (<c>prompt_tokens</c>, or <c>input_tokens</c> in the Responses API).</summary>
    public int? InputTokens { get; }

    /// <summary>Gets the generated tokens (<c>completion_tokens</c>, or <c>output_tokens</c> in the Responses API).</summary>
    public int? OutputTokens { get; }

    /// <summary>Gets <c>total_tokens</c>.</summary>
    public int? TotalTokens { get; }

    /// <summary>Gets the prompt tokens served from the cache (<c>prompt_tokens_details.cached_tokens</c> or <c>input_tokens_details.cached_tokens</c>).</summary>
    public int? CachedInputTokens { get; }

    /// <summary>Gets the reasoning tokens (<c>completion_tokens_details.reasoning_tokens</c> or <c>output_tokens_details.reasoning_tokens</c>).</summary>
    public int? ReasoningTokens { get; }

    /// <summary>Gets the usage object exactly as the server sent it, including fields this type does not name.</summary>
    public string Json { get; }
}
