using System.Globalization;

namespace OpenAIStreaming;

/// <summary>
/// One of the layered timeouts of <see cref="OpenAIStreamingHandler"/> fired. The caller's own cancellation is never reported
/// this way: it stays an <see cref="OperationCanceledException"/> on the caller's token.
/// </summary>
public sealed class OpenAIStreamTimeoutException : OpenAIStreamException
{
    /// <summary>Creates a timeout exception.</summary>
    /// <param name="kind">Which timeout fired.</param>
    /// <param name="timeout">The configured value of that timeout.</param>
    /// <param name="requestId">The server's request id (<c>x-request-id</c>), when a response had arrived.</param>
    /// <param name="innerException">The cancellation or I/O error the timeout caused, if any.</param>
    public OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind kind, TimeSpan timeout, string? requestId = null, Exception? innerException = null)
        : base(
            DescribeTimeout(kind, timeout),
            statusCode: null,
            errorType: "timeout",
            errorCode: null,
            param: null,
            requestId,
            isRetryable: kind != OpenAIStreamTimeoutKind.Total,
            eventIndex: null,
            innerException)
    {
        Kind = kind;
        Timeout = timeout;
    }

    /// <summary>Gets which timeout fired.</summary>
    public OpenAIStreamTimeoutKind Kind { get; }

    /// <summary>Gets the configured value of the timeout that fired.</summary>
    public TimeSpan Timeout { get; }

    private static string DescribeTimeout(OpenAIStreamTimeoutKind kind, TimeSpan timeout)
    {
        string value = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        return kind switch
        {
            OpenAIStreamTimeoutKind.Connect => $"The connection to the server was not established within the connect timeout of {value} s.",
            OpenAIStreamTimeoutKind.FirstToken => $"The server sent no event within the first-token timeout of {value} s.",
            OpenAIStreamTimeoutKind.Idle => $"The stream was silent for longer than the idle timeout of {value} s.",
            _ => $"The call did not complete within the total timeout of {value} s.",
        };
    }
}
