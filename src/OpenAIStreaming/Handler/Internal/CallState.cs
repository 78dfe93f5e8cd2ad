using Polly;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>The state of one call through the handler, shared by its attempts and the retry strategy's callbacks.</summary>
internal sealed class CallState
{
    public static readonly ResiliencePropertyKey<CallState> Key = new("OpenAIStreaming.Call");

    public CallState(HttpRequestMessage request, RequestSettings settings, bool isStream, bool isReplayable, string clientRequestId, long startTimestamp, CancellationTokenSource totalCts, CancellationToken callerToken)
    {
        Request = request;
        Settings = settings;
        IsStream = isStream;
        IsReplayable = isReplayable;
        ClientRequestId = clientRequestId;
        StartTimestamp = startTimestamp;
        CallerToken = callerToken;
        TotalCts = totalCts;
    }

    public HttpRequestMessage Request { get; }

    public RequestSettings Settings { get; }

    public bool IsStream { get; }

    public bool IsReplayable { get; }

    public string ClientRequestId { get; }

    public long StartTimestamp { get; }

    public CancellationToken CallerToken { get; }

    public CancellationTokenSource TotalCts { get; }

    /// <summary>Gets or sets the number of attempts started.</summary>
    public int Attempts { get; set; }

    /// <summary>Gets or sets the number of attempts started against the current target.</summary>
    public int AttemptsInTarget { get; set; }

    /// <summary>Gets or sets a value indicating whether the current attempt holds a retry-budget token reserved when its first-token timer was armed.</summary>
    public bool ReservedRetry { get; set; }

    /// <summary>Gets or sets the delay chosen by the retry predicate for the next attempt.</summary>
    public TimeSpan NextDelay { get; set; }

    /// <summary>Gets or sets the prefetched body of the latest attempt's response, if it was a stream.</summary>
    public FirstEventPrefetch? Prefetch { get; set; }

    /// <summary>Gets or sets the response the prefetch belongs to.</summary>
    public HttpResponseMessage? PrefetchOwner { get; set; }

    /// <summary>Gets or sets a value indicating whether a fallback target remains after the current one (so no attempt of the current target is the last of the call).</summary>
    public bool HasNextTarget { get; set; }

    /// <summary>Gets or sets the circuit breaker of the current target's endpoint, if breakers are on.</summary>
    public ResiliencePipeline<HttpResponseMessage>? Breaker { get; set; }

    /// <summary>Whether <paramref name="response"/> is a stream that ended before its first event (so nothing was delivered).</summary>
    public bool EndedBeforeFirstEvent(HttpResponseMessage response) => ReferenceEquals(PrefetchOwner, response) && Prefetch is { Ended: true };

    public bool IsCancelled => CallerToken.IsCancellationRequested || TotalCts.IsCancellationRequested;
}
