using System.Globalization;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>The fields of an OpenAI error object, from whichever shape the server used.</summary>
internal readonly record struct OpenAIErrorInfo(string? Message, string? Type, string? Code, string? Param)
{
    private static readonly HashSet<string> RetryableKinds = new(StringComparer.OrdinalIgnoreCase)
    {
        "server_error", "rate_limit_exceeded", "server_is_overloaded", "overloaded", "overloaded_error", "slow_down", "internal_error",
        "service_unavailable", "timeout", "api_error", "InternalServerError", "ServiceUnavailableError",
    };

    /// <summary>Whether a request that failed this way may succeed when sent again.</summary>
    /// <param name="statusCode">The HTTP status, when the error came with one.</param>
    public bool IsRetryable(int? statusCode)
    {
        if (statusCode is int status)
        {
            return IsRetryableStatus(status);
        }

        if (Code is not null && int.TryParse(Code, NumberStyles.None, CultureInfo.InvariantCulture, out int numericCode))
        {
            return IsRetryableStatus(numericCode);
        }

        return (Code is not null && RetryableKinds.Contains(Code)) || (Type is not null && RetryableKinds.Contains(Type));
    }

    /// <summary>408, 409, 429 and 5xx: the statuses the official SDKs retry.</summary>
    public static bool IsRetryableStatus(int status) => status is 408 or 409 or 429 || status >= 500;

    /// <summary>Creates the exception for this error.</summary>
    public OpenAIStreamException ToException(int? statusCode, string? requestId, long? eventIndex, string fallbackMessage) =>
        new(
            string.IsNullOrEmpty(Message) ? fallbackMessage : Message,
            statusCode,
            Type,
            Code,
            Param,
            requestId,
            IsRetryable(statusCode),
            eventIndex);
}
