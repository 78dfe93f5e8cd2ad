namespace OpenAIStreaming.Tests.Support;

/// <summary>A copy of what a <c>ServerSentEvent</c> carried, taken before the enumerator advanced.</summary>
public sealed record SseRecord(string EventType, string Data, string? LastEventId = null, TimeSpan? ReconnectionInterval = null)
{
    public static SseRecord Message(string data, string? lastEventId = null, TimeSpan? reconnectionInterval = null) =>
        new("message", data, lastEventId, reconnectionInterval);
}
