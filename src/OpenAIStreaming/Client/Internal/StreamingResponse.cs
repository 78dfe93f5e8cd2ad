using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Internal;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>Checks a response before its body is read as a stream, turning every non-stream answer into a typed error.</summary>
internal static class StreamingResponse
{
    /// <summary>Error bodies are read up to this many bytes.</summary>
    internal const int MaxErrorBodyBytes = 64 * 1024;

    private const int MaxQuotedBodyChars = 300;

    /// <summary>
    /// The server's request id (<c>x-request-id</c>), read as it came: the validating read would keep a parsed entry in
    /// the response's headers, which an open stream keeps for its whole life, and allocate on every call.
    /// </summary>
    public static string? RequestIdOf(HttpResponseMessage response)
    {
        if (response.Headers.NonValidated.TryGetValues("x-request-id", out HeaderStringValues values))
        {
            foreach (string value in values)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Whether a body is JSON (<c>application/json</c> or <c>…+json</c>): such a body holds no event to wait for.</summary>
    public static bool IsJson(HttpContent content)
    {
        ReadOnlySpan<char> mediaType = MediaTypeOf(content);
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether a body is labelled as an event stream (<c>text/event-stream</c>).</summary>
    public static bool IsEventStream(HttpContent content) =>
        MediaTypeOf(content).Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The media type of a body's <c>Content-Type</c> (what comes before its parameters), empty when it has none. The
    /// header is read as it came, not parsed: parsing it would add a parsed value, its parameters and their strings to
    /// the response's headers, which an open stream keeps for its whole life.
    /// </summary>
    public static ReadOnlySpan<char> MediaTypeOf(HttpContent content)
    {
        if (!content.Headers.NonValidated.TryGetValues("Content-Type", out HeaderStringValues values))
        {
            return default;
        }

        foreach (string value in values)
        {
            ReadOnlySpan<char> mediaType = value.AsSpan();
            int parameters = mediaType.IndexOf(';');
            return (parameters < 0 ? mediaType : mediaType[..parameters]).Trim();
        }

        return default;
    }

    /// <summary>
    /// Sends the request and opens its event stream: a non-success status becomes an <see cref="OpenAIStreamException"/>
    /// with the OpenAI error fields, and a success whose body is JSON instead of an event stream (whatever its label)
    /// becomes an error too, never an empty stream. The caller owns (and disposes) the returned response. When the response
    /// comes from this library's handler or wrapper, the events it read before the commit point are taken as it framed them,
    /// and <c>Call</c> is the call to tell how the stream ended (<see cref="CallContext.ReportReaderEnd"/>).
    /// </summary>
    public static async ValueTask<(HttpResponseMessage Response, SseEventReader Events, string? RequestId, CallContext? Call)> OpenAsync(
        StreamSender sender,
        HttpRequestMessage request,
        CancellationToken cancellationToken)
    {
        Uri? sent = request.RequestUri;
        HttpResponseMessage response = await sender.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            string? requestId = RequestIdOf(response);
            ThrowIfRedirectedAway(sent, response);

            if (!response.IsSuccessStatusCode)
            {
                byte[] body = await ReadBoundedAsync(response.Content, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
                throw ErrorFromBody(response, body, requestId);
            }

            IReadOnlyList<PrefetchedEvent> framedBefore = [];
            CallContext? call = null;
            Stream stream;
            if (response.Content is CallContent content)
            {
                (framedBefore, stream) = await content.OpenEventsAsync(cancellationToken).ConfigureAwait(false);
                call = content.Call;
            }
            else
            {
                stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            }

            PipeReader pipe = PipeReaders.Create(stream, leaveOpen: false);
            try
            {
                if (framedBefore.Count == 0 && !IsEventStream(response.Content))
                {
                    await ThrowIfJsonBodyAsync(pipe, response, requestId, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                await pipe.CompleteAsync().ConfigureAwait(false);
                if (BrokenBody.Is(ex) && ex is not OpenAIStreamException && !cancellationToken.IsCancellationRequested)
                {
                    throw BrokenBody.AfterBytes(ex, 0, (int)response.StatusCode, requestId);
                }

                throw;
            }

            return (response, new SseEventReader(pipe, options: null, requestId, framedBefore), requestId, call);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses an answer from another origin than the request was sent to: the client followed a redirect (its primary
    /// handler has <c>AllowAutoRedirect</c> on). Content this library's handler produced was checked there already.
    /// </summary>
    public static void ThrowIfRedirectedAway(Uri? sent, HttpResponseMessage response)
    {
        if (response.Content is not IVouchedContent
            && response.RequestMessage?.RequestUri is { } answered
            && !Origin.Same(sent, answered))
        {
            throw RedirectedAway(answered, response);
        }
    }

    /// <summary>The error for an answer that came from another origin than the request was sent to. The answer is not used.</summary>
    public static OpenAIStreamException RedirectedAway(Uri answered, HttpResponseMessage response) =>
        new(
            $"The request was redirected to another server ({answered.Authority}) by a handler that follows redirects; its answer is not used. OpenAI-style APIs do not redirect: set AllowAutoRedirect = false on the primary handler (OpenAIStreamingHandler.CreatePrimaryHandler does).",
            statusCode: null,
            errorType: "redirect",
            errorCode: "redirect",
            param: null,
            RequestIdOf(response),
            isRetryable: false);

    /// <summary>
    /// A body that starts with <c>{</c> is JSON, never an event stream (an SSE line starting with <c>{</c> would be an
    /// ignored field): read it (bounded) and throw its error. Anything else is left in the pipe for the SSE reader. Leading
    /// white space is looked through for at most <see cref="MaxLeadingWhiteSpace"/> bytes, and its complete lines are
    /// consumed as they are scanned (blank lines and lines of spaces mean nothing to the event-stream rules), so a body of
    /// endless white space is neither buffered nor rescanned: the SSE reader's own bounds take over.
    /// </summary>
    private static async ValueTask ThrowIfJsonBodyAsync(PipeReader pipe, HttpResponseMessage response, string? requestId, CancellationToken cancellationToken)
    {
        long skipped = 0;
        while (true)
        {
            ReadResult result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            int first = FirstNonWhiteSpace(buffer);
            if (first == '{')
            {
                if (result.IsCompleted || buffer.Length >= MaxErrorBodyBytes)
                {
                    byte[] body = buffer.Slice(0, Math.Min(buffer.Length, MaxErrorBodyBytes)).ToArray();
                    pipe.AdvanceTo(buffer.Start);
                    throw ErrorFromBody(response, body, requestId);
                }

                pipe.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            if (first >= 0 || result.IsCompleted)
            {
                pipe.AdvanceTo(buffer.Start);
                return;
            }

            SequencePosition consumed = AfterLastLineBreak(buffer);
            skipped += buffer.Slice(buffer.Start, consumed).Length;
            if (skipped + buffer.Slice(consumed).Length >= MaxLeadingWhiteSpace)
            {
                pipe.AdvanceTo(consumed);
                return; // not JSON as far as anyone can tell: the event-stream reader and its bounds take over
            }

            pipe.AdvanceTo(consumed, buffer.End);
        }
    }

    /// <summary>How much leading white space the JSON check looks through before it leaves the body to the SSE reader.</summary>
    internal const int MaxLeadingWhiteSpace = 4096;

    private static SequencePosition AfterLastLineBreak(in ReadOnlySequence<byte> buffer)
    {
        SequencePosition after = buffer.Start;
        long offset = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            int index = segment.Span.LastIndexOfAny((byte)'\r', (byte)'\n');
            if (index >= 0)
            {
                after = buffer.GetPosition(offset + index + 1);
            }

            offset += segment.Length;
        }

        return after;
    }

    private static int FirstNonWhiteSpace(in ReadOnlySequence<byte> buffer)
    {
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            int index = segment.Span.IndexOfAnyExcept(" \t\r\n"u8);
            if (index >= 0)
            {
                return segment.Span[index];
            }
        }

        return -1;
    }

    internal static OpenAIStreamException ErrorFromBody(HttpResponseMessage response, byte[] body, string? requestId)
    {
        int status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            string target = response.Headers.Location is { } location
                ? $"a redirect to {(location.IsAbsoluteUri ? location.Authority : "another path on the same server")}"
                : "a redirect";
            return new OpenAIStreamException(
                $"The server answered {status} {response.ReasonPhrase}, {target}. OpenAI-style APIs do not redirect, so the request (and the credentials in its headers) was not sent there.",
                status,
                errorType: "redirect",
                errorCode: "redirect",
                param: null,
                requestId,
                isRetryable: false);
        }

        bool? shouldRetry = FailureClassifier.ShouldRetryHeader(response);
        if (OpenAIErrorReader.TryRead(body, out OpenAIErrorInfo error))
        {
            return new OpenAIStreamException(
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
            return new OpenAIStreamProtocolException(
                $"The server answered a stream request with a JSON body ({(MediaTypeOf(response.Content) is { IsEmpty: false } mediaType ? mediaType.ToString() : "no content type")}) instead of an event stream (was \"stream\": true sent?).",
                statusCode: status,
                requestId: requestId);
        }

        return new OpenAIStreamException(
            $"The server answered {status} {response.ReasonPhrase}: {Quote(body)}",
            status,
            errorType: null,
            errorCode: null,
            param: null,
            requestId,
            shouldRetry ?? OpenAIErrorInfo.IsRetryableStatus(status));
    }

    private static string Quote(byte[] body)
    {
        string text = Encoding.UTF8.GetString(body).Trim();
        return text.Length <= MaxQuotedBodyChars ? text : string.Concat(text.AsSpan(0, MaxQuotedBodyChars), "…");
    }

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> of a (error) body; the rest is left unread. A body that breaks off gives
    /// what arrived before the break, so an error is still reported from its status.
    /// </summary>
    internal static async ValueTask<byte[]> ReadBoundedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[maxBytes];
        int total = 0;
        try
        {
            Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                }
            }
        }
        catch (Exception ex) when (BrokenBody.Is(ex) && !cancellationToken.IsCancellationRequested)
        {
            // The error's status and headers have arrived; its body is what it is.
        }

        return buffer.AsSpan(0, total).ToArray();
    }
}
