namespace OpenAIStreaming;

/// <summary>
/// The server's answer broke the streaming protocol: a malformed JSON event, an event larger than the configured maximum,
/// a non-streaming body on a stream request, or a stream that ended before its terminal event.
/// </summary>
public sealed class OpenAIStreamProtocolException : OpenAIStreamException
{
    /// <summary>Creates a protocol exception.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="eventIndex">The zero-based index of the offending server-sent event, if the error is tied to one.</param>
    /// <param name="isRetryable">Whether sending the same request again may succeed (true for a truncated stream).</param>
    /// <param name="statusCode">The HTTP status code of the response, if known.</param>
    /// <param name="requestId">The server's request id (<c>x-request-id</c>), if known.</param>
    /// <param name="innerException">The cause, if any.</param>
    public OpenAIStreamProtocolException(
        string message,
        long? eventIndex = null,
        bool isRetryable = false,
        int? statusCode = null,
        string? requestId = null,
        Exception? innerException = null)
        : base(message, statusCode, errorType: null, errorCode: null, param: null, requestId, isRetryable, eventIndex, innerException)
    {
    }
}
