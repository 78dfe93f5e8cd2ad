namespace OpenAIStreaming.Testing.Internal;

/// <summary>One SSE event before framing: an optional <c>event:</c> name and the single-line <c>data:</c> value.</summary>
internal sealed record SseEvent(string? EventName, string Data)
{
    public const string DoneData = "[DONE]";

    public static SseEvent Done { get; } = new(null, DoneData);

    public bool IsDone => Data == DoneData;
}
