using System.Runtime.CompilerServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Http.Internal;

/// <summary>
/// Sends a stream request and reads the typed updates. Owns the response: it is disposed on every exit (end, break,
/// exception, cancellation). A stream ends either complete (<c>[DONE]</c>, every choice finished, or a Responses terminal
/// event) or with a typed error; never with a silent truncation.
/// </summary>
internal static class TypedStreamReader
{
    public static async IAsyncEnumerable<ChatCompletionUpdate> ReadChatAsync(
        HttpClient httpClient,
        Func<HttpRequestMessage> createRequest,
        bool disposeRequest,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        HttpRequestMessage request = createRequest();
        HttpResponseMessage? response = null;
        try
        {
            (response, SseEventReader events, string? requestId) = await StreamingResponse.OpenAsync(httpClient, request, cancellationToken).ConfigureAwait(false);
            await using (events.ConfigureAwait(false))
            {
                using var decoder = new ChatChunkDecoder();
                var choices = new ChoiceFinishTracker();
                bool done = false;
                while (true)
                {
                    if (TryDecodeDataLine(events, decoder, out ChatCompletionUpdate framed))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        choices.Observe(framed.ChoiceIndex, framed.FinishReason is not null);
                        yield return framed;
                        continue;
                    }

                    if (!await events.MoveNextAsync(cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    ReadOnlySpan<byte> data = events.Current.Data.Span;
                    if (IsBlank(data))
                    {
                        continue; // an empty keep-alive event
                    }

                    if (decoder.Decode(data, events.CurrentIndex, requestId) == ChatChunkKind.Done)
                    {
                        done = true;
                        break;
                    }

                    List<ChatCompletionUpdate> updates = decoder.Updates;
                    for (int i = 0; i < updates.Count; i++)
                    {
                        ChatCompletionUpdate update = updates[i];
                        choices.Observe(update.ChoiceIndex, update.FinishReason is not null);
                        yield return update;
                    }
                }

                if (!done && !choices.AllFinished)
                {
                    throw Truncated(events, response, requestId, "without [DONE] and before every choice had a finish reason");
                }
            }
        }
        finally
        {
            Release(request, response, disposeRequest);
        }
    }

    public static async IAsyncEnumerable<ResponseStreamEvent> ReadResponsesAsync(
        HttpClient httpClient,
        Func<HttpRequestMessage> createRequest,
        bool disposeRequest,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        HttpRequestMessage request = createRequest();
        HttpResponseMessage? response = null;
        try
        {
            (response, SseEventReader events, string? requestId) = await StreamingResponse.OpenAsync(httpClient, request, cancellationToken).ConfigureAwait(false);
            await using (events.ConfigureAwait(false))
            {
                var decoder = new ResponseEventDecoder();
                bool terminal = false;
                while (!terminal && await events.MoveNextAsync(cancellationToken).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ReadOnlySpan<byte> data = events.Current.Data.Span;
                    if (IsBlank(data))
                    {
                        continue;
                    }

                    if (ChatChunkDecoder.IsDone(data))
                    {
                        break;
                    }

                    ResponseStreamEvent responseEvent = decoder.Decode(data, events.Current.EventType, events.CurrentIndex, requestId);
                    terminal = responseEvent.IsTerminal;
                    yield return responseEvent;
                }

                if (!terminal)
                {
                    throw Truncated(events, response, requestId, "without a terminal event (response.completed or response.incomplete)");
                }
            }
        }
        finally
        {
            Release(request, response, disposeRequest);
        }
    }

    /// <summary>The fused fast path: the next event, framed and decoded in one pass when it is a chunk of the previous chunk's shape.</summary>
    private static bool TryDecodeDataLine(SseEventReader events, ChatChunkDecoder decoder, out ChatCompletionUpdate update)
    {
        if (events.TryPeekDataLine(out ReadOnlySpan<byte> rest) && decoder.TryDecodeLine(rest, SseEventReader.DataLineEnd, out update, out int length))
        {
            events.ConsumeDataLine(length);
            return true;
        }

        update = default;
        return false;
    }

    private static OpenAIStreamProtocolException Truncated(SseEventReader events, HttpResponseMessage response, string? requestId, string missing) =>
        new(
            $"The stream ended after {events.EventCount} events {missing}: the answer is truncated.",
            events.EventCount,
            isRetryable: true,
            statusCode: (int)response.StatusCode,
            requestId: requestId);

    private static void Release(HttpRequestMessage request, HttpResponseMessage? response, bool disposeRequest)
    {
        response?.Dispose();
        if (disposeRequest)
        {
            request.Dispose();
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> data) => data.Trim(" \t\r\n"u8).IsEmpty;

    /// <summary>Which choices have been seen and which of them have finished.</summary>
    private sealed class ChoiceFinishTracker
    {
        private const int MaxTrackedChoices = 1024;
        private byte[] _states = new byte[4]; // 0 unseen, 1 seen, 2 finished
        private int _seen;
        private int _finished;

        public bool AllFinished => _seen > 0 && _seen == _finished;

        public void Observe(int index, bool finished)
        {
            if ((uint)index >= MaxTrackedChoices)
            {
                return;
            }

            if (index >= _states.Length)
            {
                Array.Resize(ref _states, Math.Max(index + 1, _states.Length * 2));
            }

            byte state = _states[index];
            if (state == 0)
            {
                _seen++;
                state = 1;
            }

            if (finished && state == 1)
            {
                _finished++;
                state = 2;
            }

            _states[index] = state;
        }
    }
}
