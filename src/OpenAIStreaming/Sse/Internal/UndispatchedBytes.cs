namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// The bytes a stream has sent since its last dispatched event, bounded by twice the maximum event size: an event's
/// fields, comments and blank lines cannot grow memory or burn time without bound, so a flood of keep-alives, blank lines
/// or white space that never completes an event ends in an error. <see cref="SseFramer"/> and
/// <see cref="SseEventBoundaryScanner"/> apply the same rule.
/// </summary>
internal struct UndispatchedBytes(int maxEventSize)
{
    private readonly long _max = 2L * maxEventSize;
    private long _count;

    /// <summary>Counts <paramref name="bytes"/> more; throws when the bound is passed.</summary>
    /// <exception cref="OpenAIStreamProtocolException">The stream has sent more than the bound without completing an event.</exception>
    public void Add(long bytes, long eventIndex, string? requestId)
    {
        _count += bytes;
        if (_count > _max)
        {
            throw new OpenAIStreamProtocolException(
                $"The stream sent more than {_max} bytes (twice the maximum event size) without completing an event.",
                eventIndex,
                requestId: requestId);
        }
    }

    /// <summary>An event was dispatched: start counting again.</summary>
    public void Reset() => _count = 0;
}
