using System.Text;

namespace OpenAIStreaming.Sse;

/// <summary>
/// One dispatched server-sent event, as the WHATWG event-stream algorithm defines it.
/// </summary>
/// <remarks>
/// <see cref="Data"/> points into the reader's buffers and is valid only until the enumerator moves to the next event.
/// Copy it (or call <see cref="GetDataString"/>) to keep it longer. Reading events this way allocates nothing per event.
/// </remarks>
public readonly struct ServerSentEvent
{
    /// <summary>The event type used when an event has no <c>event:</c> field.</summary>
    public const string DefaultEventType = "message";

    private readonly string? _eventType;

    internal ServerSentEvent(string eventType, ReadOnlyMemory<byte> data, string? lastEventId, TimeSpan? reconnectionInterval)
    {
        _eventType = eventType;
        Data = data;
        LastEventId = lastEventId;
        ReconnectionInterval = reconnectionInterval;
    }

    /// <summary>Gets the event type: the value of the event's <c>event:</c> field, or <c>"message"</c>.</summary>
    public string EventType => _eventType ?? DefaultEventType;

    /// <summary>
    /// Gets the event's data as UTF-8 bytes: the values of its <c>data:</c> lines joined with <c>'\n'</c>.
    /// Valid only until the enumerator advances.
    /// </summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Gets the last event id: the most recent <c>id:</c> value of the stream (it persists across events), or <see langword="null"/> if none was sent.</summary>
    public string? LastEventId { get; }

    /// <summary>Gets the reconnection time the server asked for with its most recent valid <c>retry:</c> field, or <see langword="null"/> if none was sent.</summary>
    public TimeSpan? ReconnectionInterval { get; }

    /// <summary>Decodes <see cref="Data"/> as UTF-8; invalid sequences become U+FFFD.</summary>
    /// <returns>The data as a string.</returns>
    public string GetDataString() => Encoding.UTF8.GetString(Data.Span);

    /// <inheritdoc />
    public override string ToString() => $"{EventType}: {GetDataString()}";
}
