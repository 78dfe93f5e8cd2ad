using System.Buffers;
using System.Text.Json;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// The body of a Responses stream as the official SDK, or any reader of the raw bytes, reads it through the handler: the
/// server's events passed on whole, one event at a time, each checked on the way (its JSON, its kind, its
/// <c>sequence_number</c>). A stream ends cleanly only after its terminal event (<c>response.completed</c>,
/// <c>response.incomplete</c>); a body that breaks off, stalls, carries a malformed event or a retryable error, or ends
/// before its terminal event is a break. A break of a background response (<c>"background": true</c>) is resumed: the
/// stored response is streamed again from the event after the last one passed on (<c>starting_after</c>), so the reader
/// sees one stream with every event once, and nothing is generated again.
/// </summary>
/// <remarks>
/// A stream that cannot be resumed (not a background response, recovery off or used up, the stored response gone) ends
/// with an OpenAI-shaped <c>error</c> event carrying both the flat and the nested error fields, and then the next read
/// fails with the typed exception: a reader never takes a truncated answer for a complete one.
/// </remarks>
internal sealed class RecoveringResponsesBodyStream(CallContext call, Func<bool, (IReadOnlyList<PrefetchedEvent> Events, Stream Body)> open, int maxEventSize, string? requestId, int statusCode)
    : RecoveringBodyStream(call, open, maxEventSize, requestId, statusCode)
{
    private readonly ResponseEventDecoder _decoder = new();
    private string? _responseId;
    private long? _lastSequence;
    private bool _resumed;

    /// <summary>Takes the next event, and those after it already buffered while they fit in <paramref name="room"/> bytes, and writes what of them goes to the reader.</summary>
    protected override async ValueTask StepAsync(int room, CancellationToken cancellationToken)
    {
        try
        {
            SseEventReader events = Events!;
            if (!await events.MoveNextAsync(cancellationToken).ConfigureAwait(false))
            {
                EndOfEvents();
                return;
            }

            Process(events);
            while (!Ended && Out.WrittenCount < room && events.TryMoveNextBuffered())
            {
                Process(events);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // the reader's own cancellation: no verdict, nothing written
        }
        catch (Exception ex)
        {
            await OnFailureAsync(ex, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Process(SseEventReader events)
    {
        ServerSentEvent current = events.Current;
        ReadOnlySpan<byte> data = current.Data.Span;
        if (TypedStreamReader.IsBlank(data))
        {
            return; // an empty keep-alive event
        }

        if (ChatChunkDecoder.IsDone(data))
        {
            EndOfEvents(); // not sent by the Responses API; it ends the events all the same
            return;
        }

        ResponseStreamEvent scanned = _decoder.Scan(data, current.EventType, events.CurrentIndex, RequestId);
        if (_resumed && scanned.SequenceNumber <= _lastSequence)
        {
            return; // passed on before the break
        }

        _lastSequence = scanned.SequenceNumber ?? _lastSequence;
        _responseId ??= scanned.ResponseId;
        EventOutput.WriteEvent(Out, current);
        if (scanned.IsTerminal)
        {
            Ended = true;
            Call.ReportReaderEnd(error: null);
        }
    }

    /// <summary>The events ended before the terminal event: a break.</summary>
    private void EndOfEvents() =>
        throw new OpenAIStreamProtocolException(
            $"The stream ended after {Events!.EventCount} events without a terminal event (response.completed or response.incomplete): the answer is truncated.",
            Events.EventCount,
            isRetryable: true,
            statusCode: StatusCode,
            requestId: RequestId);

    private async ValueTask OnFailureAsync(Exception failure, CancellationToken cancellationToken)
    {
        if (Call.CanResume && _responseId is not null && _lastSequence is long after && RecoveryRules.IsRecoverable(failure))
        {
            ReplayedBody resumed;
            try
            {
                resumed = await Call.ResumeAsync(_responseId, after, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Call.Metrics?.Recovery("failed");
                Fail(failure);
                return;
            }

            Call.Metrics?.Recovery("resumed");
            await ReadFromAsync(resumed).ConfigureAwait(false);
            _resumed = true;
            return;
        }

        Fail(failure);
    }

    /// <summary>Ends the stream with an <c>error</c> event, and makes the next read throw the typed error.</summary>
    private void Fail(Exception failure)
    {
        Exception error = failure;
        if (BrokenBody.Is(failure) && failure is not OpenAIStreamException { IsBrokenBody: false })
        {
            var typed = failure as OpenAIStreamException;
            error = BrokenBody.AfterEvents(
                failure,
                Events?.EventCount ?? 0,
                "before its terminal event (response.completed or response.incomplete): the answer is truncated",
                typed?.StatusCode ?? StatusCode,
                RequestId ?? typed?.RequestId);
        }

        WriteError(error);
        Failure = error;
        Call.ReportReaderEnd(error);
    }

    /// <summary>The <c>error</c> event of the Responses API, with the flat fields and the nested <c>error</c> object both.</summary>
    private void WriteError(Exception error)
    {
        string code = EventOutput.ErrorCode(error);
        string type = EventOutput.ErrorType(error);
        Out.Write("event: error\n"u8);
        Out.Write(EventOutput.DataPrefix);
        using (var json = new Utf8JsonWriter(Out))
        {
            json.WriteStartObject();
            json.WriteString("type", "error");
            json.WriteString("code", code);
            json.WriteString("message", error.Message);
            json.WriteNull("param");
            json.WriteNumber("sequence_number", (_lastSequence ?? -1) + 1);
            json.WriteStartObject("error");
            json.WriteString("type", type);
            json.WriteString("code", code);
            json.WriteString("message", error.Message);
            json.WriteNull("param");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        Out.Write("\n\n"u8);
    }
}
