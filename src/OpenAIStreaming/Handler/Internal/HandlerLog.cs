using Microsoft.Extensions.Logging;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>The handler's log messages. Never the request or response content, never a header value other than the request ids.</summary>
internal static partial class HandlerLog
{
    [LoggerMessage(1, LogLevel.Information, "Retrying request {ClientRequestId}: attempt {Attempt} failed ({Reason}); next attempt in {DelayMs} ms.")]
    public static partial void Retrying(ILogger logger, string clientRequestId, int attempt, string reason, double delayMs);

    [LoggerMessage(2, LogLevel.Warning, "Not retrying request {ClientRequestId}: the server asked to wait {RequestedMs} ms, more than the {AllowedMs} ms allowed (MaxRetryAfter or the time left of TotalTimeout).")]
    public static partial void RetryAfterTooLong(ILogger logger, string clientRequestId, double requestedMs, double allowedMs);

    [LoggerMessage(3, LogLevel.Warning, "Not retrying request {ClientRequestId}: the retry budget is exhausted.")]
    public static partial void RetryBudgetExhausted(ILogger logger, string clientRequestId);

    [LoggerMessage(4, LogLevel.Warning, "Request {ClientRequestId}: moving from {From} to {To} ({Reason}).")]
    public static partial void FallingBack(ILogger logger, string clientRequestId, string from, string to, string reason);

    [LoggerMessage(5, LogLevel.Warning, "The circuit for {Endpoint} opened after repeated failures; requests skip it for {BreakMs} ms.")]
    public static partial void CircuitOpened(ILogger logger, string endpoint, double breakMs);

    [LoggerMessage(6, LogLevel.Information, "The circuit for {Endpoint} closed: the endpoint answers again.")]
    public static partial void CircuitClosed(ILogger logger, string endpoint);

    [LoggerMessage(8, LogLevel.Information, "Request {ClientRequestId}: attempt {Attempt} starts beside the one in flight ({Reason}).")]
    public static partial void Hedging(ILogger logger, string clientRequestId, int attempt, string reason);

    [LoggerMessage(7, LogLevel.Warning, "The inner handler followed a redirect to {Host}; the answer was refused. Set AllowAutoRedirect = false on the primary handler.")]
    public static partial void RedirectedAway(ILogger logger, string host);
}
