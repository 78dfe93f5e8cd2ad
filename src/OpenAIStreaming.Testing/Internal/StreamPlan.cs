namespace OpenAIStreaming.Testing.Internal;

/// <summary>The healthy events of a stream, plus how this endpoint reports an error that happens after <c>k</c> events.</summary>
/// <param name="Events">The events, terminal event and <c>[DONE]</c> included.</param>
/// <param name="ErrorEvents">Given the number of events already sent and the shape, the events that report a mid-stream failure.</param>
internal sealed record StreamPlan(IReadOnlyList<SseEvent> Events, Func<int, MidStreamErrorShape, IReadOnlyList<SseEvent>> ErrorEvents)
{
    /// <summary>Gets, given the number of events already sent, one more content delta for an endless stream; <see langword="null"/> when the endpoint has none.</summary>
    public Func<int, SseEvent>? Endless { get; init; }
}
