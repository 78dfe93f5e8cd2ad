using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>What both readers that recover a chat stream — the typed one and the byte body — decide the same way.</summary>
internal static class RecoveryRules
{
    /// <summary>
    /// Whether a failure after the commit point is a break a replay can heal: the body broke off, stalled past the idle
    /// timeout, was malformed or ended short, or the server reported a retryable error in it. Never a divergence, the total
    /// timeout, a bound of this library, or the caller's cancellation.
    /// </summary>
    public static bool IsRecoverable(Exception failure) => failure switch
    {
        OpenAIStreamDivergedException => false,
        OpenAIStreamTimeoutException timeout => timeout.Kind == OpenAIStreamTimeoutKind.Idle,
        OpenAIStreamProtocolException protocol => protocol.IsRetryable,
        OpenAIStreamException server => server.IsBrokenBody || (server.IsRetryable && server.StatusCode is null),
        OperationCanceledException => false,
        _ => BrokenBody.Is(failure),
    };

    /// <summary>
    /// What identifies a malformed event across responses to the same request: its place in the stream and its bytes,
    /// apart from the response's id, time and padding.
    /// </summary>
    public static (long EventIndex, ulong DataHash) MalformedIdentity(long eventIndex, ReadOnlySpan<byte> data) =>
        (eventIndex, StableHash.OfEventWithoutResponseFields(data));

    /// <summary>
    /// Whether a malformed event's bytes hold nothing a reader would miss: no text, refusal, tool call, arguments,
    /// reasoning, audio, finish reason, usage or error field. Only such an event may be skipped when a replay reproduces
    /// it; one that holds any of them would be lost, so it stays a break.
    /// </summary>
    public static bool CarriesNothing(ReadOnlySpan<byte> data) =>
        data.IndexOf("\"content\":"u8) < 0
        && data.IndexOf("\"refusal\":"u8) < 0
        && data.IndexOf("\"tool_calls\":"u8) < 0
        && data.IndexOf("\"function_call\":"u8) < 0
        && data.IndexOf("\"arguments\":"u8) < 0
        && data.IndexOf("\"reasoning"u8) < 0
        && data.IndexOf("\"audio\":"u8) < 0
        && data.IndexOf("\"finish_reason\":\""u8) < 0
        && data.IndexOf("\"usage\":{"u8) < 0
        && data.IndexOf("\"error\":"u8) < 0;

    /// <summary>The error for a replayed Responses stream that differs from what was delivered.</summary>
    public static OpenAIStreamDivergedException Diverged(ResponsesDelivery delivery, string? route, string? requestId, Exception? cause) =>
        new(
            $"The stream broke and was sent again, but the new answer differs from the one delivered ({delivery.Divergence}).",
            delivery.Ledger.Snapshot(route, sequenceNumber: delivery.LastSequence),
            requestId,
            cause,
            delivery.Ledger.PartialResult());
}
