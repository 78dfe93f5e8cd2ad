using System.Runtime.CompilerServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// Sends a stream request and reads the typed updates. Owns the response: it is disposed on every exit (end, break,
/// exception, cancellation). A stream ends either complete (<c>[DONE]</c>, every choice finished, or a Responses terminal
/// event) or with a typed error; never with a silent truncation.
/// </summary>
internal static class TypedStreamReader
{
    /// <summary>The chat stream: see <see cref="ChatUpdateEnumerator"/>. <paramref name="contentIsJson"/>: the request asks for a JSON answer, whose content must end as valid JSON.</summary>
    public static IAsyncEnumerable<ChatCompletionUpdate> ReadChatAsync(
        StreamSender sender,
        Func<HttpRequestMessage> createRequest,
        bool disposeRequest,
        CancellationToken cancellationToken,
        bool contentIsJson = false) =>
        new ChatUpdateStream(sender, createRequest, disposeRequest, cancellationToken) { ContentIsJson = contentIsJson };

    public static async IAsyncEnumerable<ResponseStreamEvent> ReadResponsesAsync(
        StreamSender sender,
        Func<HttpRequestMessage> createRequest,
        bool disposeRequest,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        HttpRequestMessage request = createRequest();
        HttpResponseMessage? response = null;
        try
        {
            SseEventReader events;
            string? requestId;
            CallContext? call;
            try
            {
                (response, events, requestId, call) = await StreamingResponse.OpenAsync(sender, request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (BrokenBody.Is(ex) && !cancellationToken.IsCancellationRequested)
            {
                var typed = ex as OpenAIStreamException;
                throw BrokenBody.AfterEvents(ex, typed?.EventIndex ?? 0, ResponsesTruncated, typed?.StatusCode, typed?.RequestId);
            }

            var cursor = new ResponsesCursor(events, response, requestId, call);
            await using (cursor.ConfigureAwait(false))
            {
                while (true)
                {
                    ResponseStreamEvent? next;
                    try
                    {
                        next = await cursor.NextAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        call?.ReportReaderEnd(ex);
                        throw;
                    }

                    if (next is not { } responseEvent)
                    {
                        break;
                    }

                    yield return responseEvent;
                }

                call?.ReportReaderEnd(error: null);
            }
        }
        finally
        {
            Release(request, response, disposeRequest);
        }
    }

    internal const string ResponsesTruncated = "before its terminal event (response.completed or response.incomplete): the answer is truncated";

    /// <summary>The next event of a Responses stream; a body that breaks off is a typed error naming how far it got.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal static async ValueTask<bool> NextEventAsync(SseEventReader events, HttpResponseMessage response, string? requestId, CancellationToken cancellationToken)
    {
        try
        {
            return await events.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (BrokenBody.Is(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw BrokenBody.AfterEvents(ex, events.EventCount, ResponsesTruncated, (int)response.StatusCode, requestId);
        }
    }

    internal static OpenAIStreamProtocolException Truncated(SseEventReader events, HttpResponseMessage response, string? requestId, string missing) =>
        new(
            $"The stream ended after {events.EventCount} events {missing}: the answer is truncated.",
            events.EventCount,
            isRetryable: true,
            statusCode: (int)response.StatusCode,
            requestId: requestId);

    internal static void Release(HttpRequestMessage? request, HttpResponseMessage? response, bool disposeRequest)
    {
        response?.Dispose();
        if (disposeRequest)
        {
            request?.Dispose();
        }
    }

    internal static bool IsBlank(ReadOnlySpan<byte> data) => data.Trim(" \t\r\n"u8).IsEmpty;
}
