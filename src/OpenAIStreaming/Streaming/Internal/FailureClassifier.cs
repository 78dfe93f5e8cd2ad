using System.Net.Http.Headers;
using OpenAIStreaming.Protocol.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The one place that decides what a failed attempt means: whether sending the request again may succeed, and whether the
/// failure says its route (endpoint and model) is unhealthy.
/// </summary>
internal static class FailureClassifier
{
    /// <summary>
    /// Whether an attempt that failed with <paramref name="exception"/> (not cancelled) may succeed if sent again: a
    /// connection that could not be made or broke before the commit point, a connect timeout, an event stream that was
    /// malformed before its first content. Not an error the server would give again, nor a timeout of the whole call.
    /// </summary>
    public static bool IsRetryable(Exception exception) => exception switch
    {
        OpenAIStreamTimeoutException timeout => timeout.Kind == OpenAIStreamTimeoutKind.Connect,
        OpenAIStreamException { IsBrokenBody: true } => true,
        OpenAIStreamProtocolException { IsRetryable: true, EventIndex: not null } => true,
        OpenAIStreamException => false,
        HttpRequestException or IOException => true,
        _ => false,
    };

    /// <summary>Whether an error status may succeed if sent again: <c>x-should-retry</c> when the server sends it, else the status.</summary>
    public static bool IsRetryable(HttpResponseMessage response) =>
        ShouldRetryHeader(response) ?? OpenAIErrorInfo.IsRetryableStatus((int)response.StatusCode);

    /// <summary>
    /// Whether a failure says the route is unhealthy: a connection failure, a break or a malformed stream, a connect timeout.
    /// The caller's cancellation, a lost hedge, a time budget that ran out or a server-reported error are not.
    /// </summary>
    public static bool CountsAgainstRoute(Exception exception) => IsRetryable(exception);

    /// <summary>Whether a status says the route is unhealthy: 408 and 5xx. Never 400, 401, 403, 404, 422 or 429 (a rate limit belongs to a key).</summary>
    public static bool CountsAgainstRoute(int status) => status is 408 || status >= 500;

    /// <summary>
    /// Whether a server's error (a status or an error event in the stream) is a rate limit or a quota: it belongs to a key,
    /// not to the route's health.
    /// </summary>
    public static bool IsRateLimit(OpenAIStreamException error) =>
        error.StatusCode == 429
        || Contains(error.ErrorCode, "rate_limit") || Contains(error.ErrorType, "rate_limit")
        || Contains(error.ErrorCode, "quota") || Contains(error.ErrorType, "quota");

    private static bool Contains(string? text, string value) => text?.Contains(value, StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The server's <c>x-should-retry</c> answer (<c>true</c> or <c>false</c>, any case), or null when it sent none.</summary>
    public static bool? ShouldRetryHeader(HttpResponseMessage response)
    {
        if (response.Headers.NonValidated.TryGetValues("x-should-retry", out HeaderStringValues values))
        {
            foreach (string value in values)
            {
                if (value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
        }

        return null;
    }
}
