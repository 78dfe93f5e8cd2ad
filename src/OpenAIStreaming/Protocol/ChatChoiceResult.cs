namespace OpenAIStreaming.Protocol;

/// <summary>One choice of a streamed completion, assembled by <see cref="ChatCompletionAccumulator"/>.</summary>
public sealed class ChatChoiceResult
{
    internal ChatChoiceResult(int index, string? role, string content, string? refusal, string? finishReason, IReadOnlyList<ChatToolCall> toolCalls)
    {
        Index = index;
        Role = role;
        Content = content;
        Refusal = refusal;
        FinishReason = finishReason;
        ToolCalls = toolCalls;
    }

    /// <summary>Gets the choice index.</summary>
    public int Index { get; }

    /// <summary>Gets the role of the message (normally <c>"assistant"</c>), taken once.</summary>
    public string? Role { get; }

    /// <summary>Gets the full text: every content delta joined in order; empty when none was streamed.</summary>
    public string Content { get; }

    /// <summary>Gets the full refusal text, or <see langword="null"/> when no refusal text was streamed.</summary>
    public string? Refusal { get; }

    /// <summary>Gets the finish reason, or <see langword="null"/> if the stream did not deliver one for this choice.</summary>
    public string? FinishReason { get; }

    /// <summary>Gets the tool calls, ordered by index, with their arguments assembled.</summary>
    public IReadOnlyList<ChatToolCall> ToolCalls { get; }

    /// <summary>Gets a value indicating whether the content ends inside a Markdown code fence (one was opened and not closed).</summary>
    public bool InsideCodeFence { get; init; }

    /// <summary>Gets whether the content is valid JSON (<see cref="JsonTextState.NotChecked"/> unless <see cref="ChatCompletionAccumulatorOptions.CheckContentAsJson"/> is set).</summary>
    public JsonTextState ContentJson { get; init; }

    /// <summary>
    /// Gets whether the tool calls' arguments are valid JSON, taken together: <see cref="JsonTextState.Invalid"/> if one is
    /// invalid, <see cref="JsonTextState.ValidPrefix"/> if one is not complete, <see cref="JsonTextState.Complete"/> when all
    /// are, <see cref="JsonTextState.NotChecked"/> without tool calls.
    /// </summary>
    public JsonTextState ToolCallArgumentsJson { get; init; }
}
