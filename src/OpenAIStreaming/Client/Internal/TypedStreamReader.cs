using System.Runtime.CompilerServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
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

    /// <summary>
    /// Reads a Responses stream event by event; throws a typed error for a stream that breaks off or ends before its terminal
    /// event. A background response that breaks (through the handler, with recovery on) is streamed again from the event
    /// after the last one delivered, by its sequence number: nothing is generated again, and no event comes twice.
    /// </summary>
    private sealed class ResponsesCursor(SseEventReader events, HttpResponseMessage response, string? requestId, CallContext? call) : IAsyncDisposable
    {
        private readonly ResponseEventDecoder _decoder = new();
        private readonly Recovery.Internal.DeliveryLedger? _ledger = call?.Recovery is null ? null : new Recovery.Internal.DeliveryLedger();
        private SseEventReader _events = events;
        private string? _requestId = requestId;
        private string? _responseId;
        private long? _lastSequence;
        private bool _terminal;
        private bool _resumed;

        /// <summary>The next event, or null when the stream ended with its terminal event.</summary>
        public async ValueTask<ResponseStreamEvent?> NextAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                ResponseStreamEvent? next;
                try
                {
                    next = await NextCoreAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (MayResume(ex, cancellationToken))
                {
                    await ResumeAsync(ex, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (next is { } responseEvent)
                {
                    if (_resumed && responseEvent.SequenceNumber <= _lastSequence)
                    {
                        continue; // delivered before the break
                    }

                    _lastSequence = responseEvent.SequenceNumber ?? _lastSequence;
                    _responseId ??= responseEvent.ResponseId;
                    if (_ledger is not null && Record(responseEvent))
                    {
                        return responseEvent.WithCheckpoint(_ledger.Snapshot(call!.Route, sequenceNumber: _lastSequence));
                    }
                }

                return next;
            }
        }

        public ValueTask DisposeAsync() => _events.DisposeAsync();

        /// <summary>
        /// Records what an event delivered, each output item as a choice (by <c>output_index</c>): its text, refusal or
        /// function-argument delta. Returns whether a checkpoint is due: every interval of such events, and at the end.
        /// </summary>
        private bool Record(in ResponseStreamEvent e)
        {
            int item = e.OutputIndex ?? 0;
            var header = new ChatChunkHeader(_responseId, null, 0, null, null);
            ChatCompletionUpdate? update = e.Kind switch
            {
                ResponseStreamEventKind.OutputTextDelta => new ChatCompletionUpdate(header, item, null, e.Delta, null, null, null, null),
                ResponseStreamEventKind.RefusalDelta => new ChatCompletionUpdate(header, item, null, null, e.Delta, null, null, null),
                ResponseStreamEventKind.FunctionCallArgumentsDelta => new ChatCompletionUpdate(header, item, null, null, null, [new ChatToolCallUpdate(0, null, null, null, e.Delta)], null, null),
                _ => null,
            };
            if (update is { } delivered && _ledger!.Record(delivered))
            {
                return _ledger.ContentUpdates % call!.Recovery!.CheckpointInterval == 0;
            }

            return e.IsTerminal;
        }

        private async ValueTask<ResponseStreamEvent?> NextCoreAsync(CancellationToken cancellationToken)
        {
            while (!_terminal && await NextEventAsync(_events, response, _requestId, cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                ReadOnlyMemory<byte> data = _events.Current.Data;
                if (IsBlank(data.Span))
                {
                    continue;
                }

                if (ChatChunkDecoder.IsDone(data.Span))
                {
                    break;
                }

                ResponseStreamEvent responseEvent = _decoder.Decode(data.Span, _events.Current.EventType, _events.CurrentIndex, _requestId);
                _terminal = responseEvent.IsTerminal;
                return responseEvent;
            }

            if (!_terminal)
            {
                throw Truncated(_events, response, _requestId, "without a terminal event (response.completed or response.incomplete)");
            }

            return null;
        }

        private bool MayResume(Exception failure, CancellationToken cancellationToken) =>
            call is { CanResume: true }
            && _responseId is not null
            && _lastSequence is not null
            && !_terminal
            && !cancellationToken.IsCancellationRequested
            && Recovery.Internal.RecoveryRules.IsRecoverable(failure);

        /// <summary>Streams the stored response again after the last event delivered; when that fails, the break is what the caller sees.</summary>
        private async ValueTask ResumeAsync(Exception failure, CancellationToken cancellationToken)
        {
            ReplayedBody resumed;
            try
            {
                resumed = await call!.ResumeAsync(_responseId!, _lastSequence!.Value, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                call!.Metrics?.Recovery("failed");
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                throw;
            }

            call.Metrics?.Recovery("resumed");
            SseEventReader old = _events;
            _events = new SseEventReader(PipeReaders.Create(resumed.Remainder, leaveOpen: false), options: null, resumed.RequestId, resumed.Events);
            await old.DisposeAsync().ConfigureAwait(false);
            _requestId = resumed.RequestId ?? _requestId;
            _resumed = true;
        }
    }

    private const string ResponsesTruncated = "before its terminal event (response.completed or response.incomplete): the answer is truncated";

    /// <summary>The next event of a Responses stream; a body that breaks off is a typed error naming how far it got.</summary>
    private static async ValueTask<bool> NextEventAsync(SseEventReader events, HttpResponseMessage response, string? requestId, CancellationToken cancellationToken)
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
