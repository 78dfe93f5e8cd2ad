using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// What a body the handler serves may hold: an error body is cut off quietly after <see cref="CutAfterBytes"/> (its status
/// says what matters); a success body that is not an event stream fails with a typed error past
/// <see cref="FailAfterBytes"/>; an event stream's events are bounded by <see cref="MaxEventSize"/> on the byte path.
/// </summary>
internal readonly record struct BodyLimits(long CutAfterBytes, long FailAfterBytes, int? MaxEventSize)
{
    public static BodyLimits For(HttpResponseMessage response, bool isEventStream, OpenAIStreamingOptions options) =>
        !response.IsSuccessStatusCode ? new(options.MaxErrorBodyBytes, long.MaxValue, null)
        : isEventStream ? new(long.MaxValue, long.MaxValue, options.MaxEventSize)
        : new(long.MaxValue, options.MaxResponseBodyBytes ?? long.MaxValue, null);

    /// <summary>A scanner that follows the events of the body, when it is an event stream.</summary>
    public SseEventBoundaryScanner? CreateScanner(string? requestId) =>
        MaxEventSize is int max ? new SseEventBoundaryScanner(max, requestId) : null;
}
