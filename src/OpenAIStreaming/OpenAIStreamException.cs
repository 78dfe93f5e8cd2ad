namespace OpenAIStreaming;

/// <summary>
/// An OpenAI-compatible server reported an error, before the stream (an HTTP error status) or in the middle of it
/// (an error event), or the stream could not be read to a proper end.
/// </summary>
/// <remarks>
/// The properties carry the fields of the OpenAI error object (<c>{"error":{"message","type","param","code"}}</c>) so a
/// caller can branch on <see cref="ErrorCode"/> (for example <c>context_length_exceeded</c>) instead of parsing text.
/// </remarks>
public class OpenAIStreamException : Exception
{
    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The error message.</param>
    public OpenAIStreamException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The error message.</param>
    /// <param name="innerException">The cause.</param>
    public OpenAIStreamException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that carries the OpenAI error fields.</summary>
    /// <param name="message">The error message (OpenAI's <c>error.message</c> when there is one).</param>
    /// <param name="statusCode">The HTTP status code, or <see langword="null"/> for an error reported inside a stream.</param>
    /// <param name="errorType">OpenAI's <c>error.type</c>.</param>
    /// <param name="errorCode">OpenAI's <c>error.code</c> (integer codes are given as their decimal text).</param>
    /// <param name="param">OpenAI's <c>error.param</c>.</param>
    /// <param name="requestId">The server's request id (<c>x-request-id</c>).</param>
    /// <param name="isRetryable">Whether sending the request again may succeed.</param>
    /// <param name="eventIndex">The zero-based index of the server-sent event that carried or caused the error.</param>
    /// <param name="innerException">The cause, if any.</param>
    public OpenAIStreamException(
        string message,
        int? statusCode,
        string? errorType,
        string? errorCode,
        string? param,
        string? requestId,
        bool isRetryable,
        long? eventIndex = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
        ErrorCode = errorCode;
        Param = param;
        RequestId = requestId;
        IsRetryable = isRetryable;
        EventIndex = eventIndex;
    }

    /// <summary>Gets the HTTP status code, or <see langword="null"/> when the error arrived inside a 200 stream.</summary>
    public int? StatusCode { get; }

    /// <summary>Gets OpenAI's <c>error.type</c> (for example <c>invalid_request_error</c> or <c>server_error</c>).</summary>
    public string? ErrorType { get; }

    /// <summary>Gets OpenAI's <c>error.code</c> (for example <c>rate_limit_exceeded</c>); integer codes are given as text.</summary>
    public string? ErrorCode { get; }

    /// <summary>Gets OpenAI's <c>error.param</c>: the request parameter the error is about, if any.</summary>
    public string? Param { get; }

    /// <summary>Gets the server's request id (the <c>x-request-id</c> response header), if it sent one.</summary>
    public string? RequestId { get; }

    /// <summary>Gets a value indicating whether sending the same request again may succeed.</summary>
    public bool IsRetryable { get; }

    /// <summary>Gets the zero-based index of the server-sent event that carried or caused the error, if the error is tied to one.</summary>
    public long? EventIndex { get; }

    /// <summary>Gets a value indicating whether the error reports a response body that broke off (the connection closed or was reset, or its framing was corrupt).</summary>
    internal bool IsBrokenBody { get; init; }
}
