using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Protocol.Internal;

namespace OpenAIStreaming.Http.Internal;

/// <summary>Checks a response before its body is read as a stream, turning every non-stream answer into a typed error.</summary>
internal static class StreamingResponse
{
    /// <summary>Error bodies are read up to this many bytes.</summary>
    internal const int MaxErrorBodyBytes = 64 * 1024;

    private const int MaxQuotedBodyChars = 300;

    public static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-request-id", out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    /// <summary>
    /// Throws <see cref="OpenAIStreamException"/> for a non-success status (with the OpenAI error fields) and for a success
    /// status whose body is JSON instead of an event stream (never an empty stream).
    /// </summary>
    public static async ValueTask EnsureEventStreamAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        MediaTypeHeaderValue? contentType = response.Content.Headers.ContentType;
        bool isJson = contentType?.MediaType is { } mediaType
            && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        if (response.IsSuccessStatusCode && !isJson)
        {
            return;
        }

        byte[] body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        string? requestId = RequestIdOf(response);
        bool? shouldRetry = ShouldRetryHeader(response);
        if (OpenAIErrorReader.TryRead(body, out OpenAIErrorInfo error))
        {
            throw new OpenAIStreamException(
                string.IsNullOrEmpty(error.Message) ? $"The server answered {status} {response.ReasonPhrase}." : error.Message,
                status,
                error.Type,
                error.Code,
                error.Param,
                requestId,
                shouldRetry ?? (response.IsSuccessStatusCode ? error.IsRetryable(null) : OpenAIErrorInfo.IsRetryableStatus(status)));
        }

        if (response.IsSuccessStatusCode)
        {
            throw new OpenAIStreamProtocolException(
                $"The server answered a stream request with a {contentType?.MediaType} body instead of an event stream (was \"stream\": true sent?).",
                statusCode: status,
                requestId: requestId);
        }

        throw new OpenAIStreamException(
            $"The server answered {status} {response.ReasonPhrase}: {Quote(body)}",
            status,
            errorType: null,
            errorCode: null,
            param: null,
            requestId,
            shouldRetry ?? OpenAIErrorInfo.IsRetryableStatus(status));
    }

    private static bool? ShouldRetryHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-should-retry", out IEnumerable<string>? values)
            ? values.FirstOrDefault() switch
            {
                "true" => true,
                "false" => false,
                _ => null,
            }
            : null;

    private static string Quote(byte[] body)
    {
        string text = Encoding.UTF8.GetString(body).Trim();
        return text.Length <= MaxQuotedBodyChars ? text : string.Concat(text.AsSpan(0, MaxQuotedBodyChars), "…");
    }

    private static async ValueTask<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] buffer = new byte[MaxErrorBodyBytes];
            int total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            return buffer.AsSpan(0, total).ToArray();
        }
    }
}
