using System.Buffers;
using System.Text.Json;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;
using System.Runtime.CompilerServices;

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
internal sealed class RecoveringResponsesBodyStream(CallContext call, IBodyOpener open, int maxEventSize, string? requestId, int statusCode)
    : RecoveringBodyStream(call, open, maxEventSize, requestId, statusCode)
{
    private readonly ResponseEventDecoder _decoder = new();
    private readonly ResponsesDelivery? _delivery = call.Recovery is null ? null : new ResponsesDelivery(keepText: call.Recovery.OnDivergence == OpenAIStreamingDivergencePolicy.Fail);
    private List<(byte[] Replayed, byte[] First)>? _ids; // after a replay: its response and item ids, and the first ones to write instead
    private const int MaxKeptDeltaChars = 16 * 1024; // a thread keeps its delta buffer up to this size

    [ThreadStatic]
    private static char[]? t_delta; // a text delta, decoded for the ledger without a string, within one call: the thread's, not each stream's
    private ResponsesPosition _live; // the response being read (a replay's own, after one): what a resume asks for
    private Exception? _break;
    private ServerSentEvent? _serverError; // the server's own error or response.failed event: passed on as it is if not recovered
    private Exception? _serverErrorFailure;

    /// <summary>Takes the next event, and those after it already buffered while they fit in <paramref name="room"/> bytes, and writes what of them goes to the reader.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || Call.CallerToken.IsCancellationRequested)
        {
            throw; // the reader's or the caller's own cancellation: no verdict, nothing written
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

        if (_delivery is { Replaying: true })
        {
            ProcessReplayed(current, events.CurrentIndex);
            return;
        }

        ResponseStreamEvent scanned = Read(current, events.CurrentIndex, withText: false);
        if (_live.ReadBefore(scanned))
        {
            return; // passed on before the break
        }

        _live.Read(scanned);
        if (_delivery is not null)
        {
            if (scanned.Kind is ResponseStreamEventKind.RefusalDelta or ResponseStreamEventKind.FunctionCallArgumentsDelta)
            {
                scanned = Read(current, events.CurrentIndex, withText: true); // their delta, as a string: rare
            }

            char[] delta = t_delta ??= new char[256];
            int chars = scanned.Kind == ResponseStreamEventKind.OutputTextDelta ? ResponseEventDecoder.CopyDelta(data, ref delta) : 0;
            _delivery.Delivered(scanned, delta.AsSpan(0, Math.Max(chars, 0)));
            t_delta = delta.Length <= MaxKeptDeltaChars ? delta : null;
        }

        EventOutput.WriteEvent(Out, current);
        EndIfTerminal(scanned);
    }

    /// <summary>Decodes an event (its texts too, or only what forwarding needs); a server's error event is kept for the reader.</summary>
    private ResponseStreamEvent Read(in ServerSentEvent current, long eventIndex, bool withText)
    {
        try
        {
            return withText
                ? _decoder.Decode(current.Data.Span, current.EventType, eventIndex, RequestId)
                : _decoder.Scan(current.Data.Span, current.EventType, eventIndex, RequestId);
        }
        catch (OpenAIStreamException error) when (error is not OpenAIStreamProtocolException)
        {
            _serverError = new ServerSentEvent(current.EventType, current.Data.ToArray(), current.LastEventId, current.ReconnectionInterval);
            _serverErrorFailure = error;
            throw;
        }
    }

    private void EndIfTerminal(in ResponseStreamEvent e)
    {
        if (e.IsTerminal)
        {
            Ended = true;
            Call.ReportReaderEnd(error: null);
        }
    }

    /// <summary>
    /// An event of a replay: passed on only when it holds something not delivered (<see cref="ResponsesDelivery"/>), with the
    /// first response's id and item ids written over the replay's, and a delta cut to its new part.
    /// </summary>
    private void ProcessReplayed(in ServerSentEvent current, long eventIndex)
    {
        ReadOnlySpan<byte> data = current.Data.Span;
        ResponseStreamEvent e = Read(current, eventIndex, withText: true);
        if (_live.ReadBefore(e))
        {
            return;
        }

        _live.Read(e);
        ResponsesDelivery delivery = _delivery!;
        MapId(e.ResponseId, delivery.ResponseId);
        MapId(e.ItemId, delivery.ItemId(e.OutputIndex));
        switch (delivery.Replayed(e, out string? delta))
        {
            case ReplayStep.Skip:
                return;
            case ReplayStep.Diverged:
                Call.Metrics?.Recovery("diverged");
                throw RecoveryRules.Diverged(delivery, Call.Route, RequestId, _break);
            default:
                break;
        }

        byte[] json = delta is not null && !string.Equals(delta, e.Delta, StringComparison.Ordinal) ? WithDelta(data, delta) : data.ToArray();
        foreach ((byte[] replayed, byte[] first) in _ids ?? [])
        {
            json = Replace(json, replayed, first);
        }

        delivery.Delivered(e.WithIdentity(e.ResponseId is null ? null : delivery.ResponseId, delivery.ItemId(e.OutputIndex) ?? e.ItemId, delta ?? e.Delta), delta ?? e.Delta);
        EventOutput.WriteEvent(Out, new ServerSentEvent(current.EventType, json, current.LastEventId, current.ReconnectionInterval));
        EndIfTerminal(e);
    }

    /// <summary>Remembers that the replay's <paramref name="replayed"/> id stands for the first response's <paramref name="first"/>.</summary>
    private void MapId(string? replayed, string? first)
    {
        if (replayed is null || first is null || replayed == first)
        {
            return;
        }

        byte[] from = System.Text.Encoding.UTF8.GetBytes($"\"{replayed}\"");
        if ((_ids ??= []).Exists(pair => pair.Replayed.AsSpan().SequenceEqual(from)))
        {
            return;
        }

        _ids.Add((from, System.Text.Encoding.UTF8.GetBytes($"\"{first}\"")));
    }

    private static byte[] WithDelta(ReadOnlySpan<byte> data, string delta)
    {
        System.Text.Json.Nodes.JsonNode node = System.Text.Json.Nodes.JsonNode.Parse(data)!;
        node["delta"] = delta;
        return System.Text.Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private static byte[] Replace(byte[] json, byte[] from, byte[] to)
    {
        int at = json.AsSpan().IndexOf(from);
        if (at < 0)
        {
            return json;
        }

        var result = new List<byte>(json.Length + 16);
        ReadOnlySpan<byte> rest = json;
        while (at >= 0)
        {
            result.AddRange(rest[..at]);
            result.AddRange(to);
            rest = rest[(at + from.Length)..];
            at = rest.IndexOf(from);
        }

        result.AddRange(rest);
        return [.. result];
    }

    /// <summary>The events ended before the terminal event: a break.</summary>
    private void EndOfEvents() =>
        throw new OpenAIStreamProtocolException(
            $"The stream ended after {Events!.EventCount} events without a terminal event (response.completed or response.incomplete): the answer is truncated.",
            Events.EventCount,
            isRetryable: true,
            statusCode: StatusCode,
            requestId: RequestId);

    /// <summary>
    /// A break after the commit point: a background response is resumed after the last event read; any other — or one no
    /// longer stored — is sent again and checked against what was delivered; when neither brings an answer, the stream ends
    /// with the error event.
    /// </summary>
    private async ValueTask OnFailureAsync(Exception failure, CancellationToken cancellationToken)
    {
        if (_delivery is null || !Call.CanRecover || !RecoveryRules.IsRecoverable(failure))
        {
            Fail(failure);
            return;
        }

        _break ??= failure;
        if (await _delivery.RecoverAsync(Call, _live.ResponseId, _live.Sequence, failure, cancellationToken).ConfigureAwait(false) is not var (body, resumed))
        {
            Fail(failure);
            return;
        }

        await ReadFromAsync(body).ConfigureAwait(false);
        _live.Recovered(resumed);
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

        if (ReferenceEquals(failure, _serverErrorFailure) && _serverError is { } serverError)
        {
            EventOutput.WriteEvent(Out, serverError); // the server's own error or response.failed, as it sent it
        }
        else
        {
            WriteError(error);
        }

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
            json.WriteNumber("sequence_number", (_delivery?.LastSequence ?? _live.Sequence ?? -1) + 1);
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
