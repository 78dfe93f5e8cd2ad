using System.Net.Sockets;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// The one place that recognises a response body that broke off while it was read — the connection closed or was reset
/// before the body's end, its chunked framing or compression was corrupt — and turns it into the library's typed error.
/// Timeouts and the caller's cancellation are not breaks: they are reported as such by the code that owns their tokens.
/// </summary>
internal static class BrokenBody
{
    /// <summary>
    /// Whether <paramref name="exception"/>, thrown while a response body was being read, means the body broke off:
    /// an I/O or socket error (<see cref="System.Net.Http.HttpIOException"/> is one), corrupt compressed data, or the typed
    /// error a lower layer of this library already made of such a failure.
    /// </summary>
    public static bool Is(Exception exception) =>
        exception is IOException or SocketException or InvalidDataException
        || exception is OpenAIStreamException { IsBrokenBody: true };

    /// <summary>The error for a body that broke off after <paramref name="bytes"/> bytes were delivered, before any framing was known.</summary>
    public static OpenAIStreamProtocolException AfterBytes(Exception cause, long bytes, int? statusCode, string? requestId) =>
        new($"The response body broke off after {bytes} bytes: {cause.Message}", eventIndex: null, isRetryable: true, statusCode, requestId, cause)
        {
            IsBrokenBody = true,
        };

    /// <summary>
    /// The error for an event stream that broke off after <paramref name="events"/> events, <paramref name="missing"/> (for
    /// example "before [DONE] and before every choice had a finish reason (0 of 1 …): the answer is truncated").
    /// </summary>
    public static OpenAIStreamProtocolException AfterEvents(Exception cause, long events, string missing, int? statusCode, string? requestId) =>
        new($"The stream broke off after {events} events, {missing}. ({Describe(cause)})", events, isRetryable: true, statusCode, requestId, cause)
        {
            IsBrokenBody = true,
        };

    /// <summary>The transport failure under a typed wrapper, for messages.</summary>
    private static string Describe(Exception cause) =>
        cause is OpenAIStreamException { IsBrokenBody: true, InnerException: { } inner } ? inner.Message : cause.Message;
}
