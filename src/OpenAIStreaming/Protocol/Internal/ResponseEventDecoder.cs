using System.Text;
using System.Text.Json;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>
/// Decodes Responses API events from the event bytes with <see cref="Utf8JsonReader"/>. One instance per stream (it caches
/// repeating strings: event types, item ids, response ids).
/// </summary>
internal sealed class ResponseEventDecoder
{
    private readonly Utf8StringCache _strings = new(64);

    /// <summary>Decodes one event. <c>error</c> and <c>response.failed</c> throw <see cref="OpenAIStreamException"/>.</summary>
    /// <param name="data">The event data.</param>
    /// <param name="sseEventType">The SSE <c>event:</c> name, used when the JSON has no <c>type</c>.</param>
    /// <param name="eventIndex">The index of the event in the stream.</param>
    /// <param name="requestId">The server's request id, for errors.</param>
    public ResponseStreamEvent Decode(ReadOnlySpan<byte> data, string sseEventType, long eventIndex, string? requestId) =>
        Decode(data, sseEventType, eventIndex, requestId, withText: true);

    /// <summary>
    /// Checks one event as <see cref="Decode(ReadOnlySpan{byte}, string, long, string?)"/> does (the same errors for a
    /// malformed event, an <c>error</c> or <c>response.failed</c>) and reads its kind, sequence number and response id, but
    /// not its text (<see cref="ResponseStreamEvent.Delta"/>, <see cref="ResponseStreamEvent.Text"/> and
    /// <see cref="ResponseStreamEvent.Json"/> stay null): for passing events on without a string per event.
    /// </summary>
    public ResponseStreamEvent Scan(ReadOnlySpan<byte> data, string sseEventType, long eventIndex, string? requestId) =>
        Decode(data, sseEventType, eventIndex, requestId, withText: false);

    private ResponseStreamEvent Decode(ReadOnlySpan<byte> data, string sseEventType, long eventIndex, string? requestId, bool withText)
    {
        try
        {
            return DecodeCore(data, sseEventType, eventIndex, requestId, withText);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new OpenAIStreamProtocolException(
                $"Event {eventIndex} of the stream is not a valid Responses event: {ex.Message}",
                eventIndex,
                isRetryable: true,
                requestId: requestId,
                innerException: ex);
        }
    }

    /// <summary>
    /// Decodes the top-level <c>delta</c> string of an event into <paramref name="buffer"/> (grown when too short), without
    /// making a string; the number of characters written, or -1 when the event has no such string.
    /// </summary>
    public static int CopyDelta(ReadOnlySpan<byte> data, ref char[] buffer)
    {
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return -1;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isDelta = reader.ValueTextEquals("delta"u8);
            reader.Read();
            if (isDelta && reader.TokenType == JsonTokenType.String)
            {
                int most = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length; // as many chars as bytes at most
                if (buffer.Length < most)
                {
                    buffer = new char[Math.Max(most, buffer.Length * 2)];
                }

                return reader.CopyString(buffer);
            }

            reader.Skip();
        }

        return -1;
    }

    private static ResponseStreamEventKind KindOf(string type) => type switch
    {
        "response.created" => ResponseStreamEventKind.Created,
        "response.in_progress" => ResponseStreamEventKind.InProgress,
        "response.queued" => ResponseStreamEventKind.Queued,
        "response.output_item.added" => ResponseStreamEventKind.OutputItemAdded,
        "response.output_item.done" => ResponseStreamEventKind.OutputItemDone,
        "response.content_part.added" => ResponseStreamEventKind.ContentPartAdded,
        "response.content_part.done" => ResponseStreamEventKind.ContentPartDone,
        "response.output_text.delta" => ResponseStreamEventKind.OutputTextDelta,
        "response.output_text.done" => ResponseStreamEventKind.OutputTextDone,
        "response.refusal.delta" => ResponseStreamEventKind.RefusalDelta,
        "response.refusal.done" => ResponseStreamEventKind.RefusalDone,
        "response.function_call_arguments.delta" => ResponseStreamEventKind.FunctionCallArgumentsDelta,
        "response.function_call_arguments.done" => ResponseStreamEventKind.FunctionCallArgumentsDone,
        "response.completed" => ResponseStreamEventKind.Completed,
        "response.incomplete" => ResponseStreamEventKind.Incomplete,
        "response.failed" => ResponseStreamEventKind.Failed,
        "error" => ResponseStreamEventKind.Error,
        _ => ResponseStreamEventKind.Other,
    };

    private ResponseStreamEvent DecodeCore(ReadOnlySpan<byte> data, string sseEventType, long eventIndex, string? requestId, bool withText)
    {
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The event data is not a JSON object.");
        }

        string? type = null, itemId = null, delta = null, text = null;
        long? sequenceNumber = null;
        int? outputIndex = null, contentIndex = null;
        ResponseObject response = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonReading.NameIs(ref reader, "type"u8))
            {
                reader.Read();
                type = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "sequence_number"u8))
            {
                reader.Read();
                sequenceNumber = JsonReading.GetInt64OrNull(ref reader);
            }
            else if (!withText && (JsonReading.NameIs(ref reader, "delta"u8) || JsonReading.NameIs(ref reader, "text"u8) || JsonReading.NameIs(ref reader, "arguments"u8) || JsonReading.NameIs(ref reader, "refusal"u8)))
            {
                reader.Read();
                reader.Skip();
            }
            else if (JsonReading.NameIs(ref reader, "delta"u8))
            {
                reader.Read();
                delta = JsonReading.GetTextOrJson(ref reader, data, "delta");
            }
            else if (JsonReading.NameIs(ref reader, "text"u8) || JsonReading.NameIs(ref reader, "arguments"u8) || JsonReading.NameIs(ref reader, "refusal"u8))
            {
                reader.Read();
                text = JsonReading.GetTextOrJson(ref reader, data, "text");
            }
            else if (JsonReading.NameIs(ref reader, "item_id"u8))
            {
                reader.Read();
                itemId = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "output_index"u8))
            {
                reader.Read();
                outputIndex = JsonReading.GetInt32OrNull(ref reader);
            }
            else if (JsonReading.NameIs(ref reader, "content_index"u8))
            {
                reader.Read();
                contentIndex = JsonReading.GetInt32OrNull(ref reader);
            }
            else if (JsonReading.NameIs(ref reader, "response"u8))
            {
                reader.Read();
                response = ReadResponse(ref reader, data);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("The event data has content after its JSON object.");
        }

        type ??= sseEventType;
        ResponseStreamEventKind kind = KindOf(type);
        if (kind is ResponseStreamEventKind.Error or ResponseStreamEventKind.Failed)
        {
            OpenAIErrorInfo error = OpenAIErrorReader.TryRead(data, out OpenAIErrorInfo info) ? info : new OpenAIErrorInfo(null, "server_error", null, null);
            string fallback = kind == ResponseStreamEventKind.Failed ? "The response failed." : "The server reported an error in the middle of the stream.";
            throw error.ToException(statusCode: null, requestId, eventIndex, fallback);
        }

        bool isDelta = kind is ResponseStreamEventKind.OutputTextDelta or ResponseStreamEventKind.RefusalDelta or ResponseStreamEventKind.FunctionCallArgumentsDelta;
        return new ResponseStreamEvent(
            type,
            kind,
            sequenceNumber,
            response.Id,
            response.Status,
            response.Model,
            itemId,
            outputIndex,
            contentIndex,
            delta,
            text,
            response.IncompleteReason,
            response.Usage,
            isDelta || !withText ? null : Encoding.UTF8.GetString(data));
    }

    private ResponseObject ReadResponse(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        ResponseObject response = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return response;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonReading.NameIs(ref reader, "id"u8))
            {
                reader.Read();
                response.Id = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "status"u8))
            {
                reader.Read();
                response.Status = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "model"u8))
            {
                reader.Read();
                response.Model = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "usage"u8))
            {
                reader.Read();
                response.Usage = UsageReader.Read(ref reader, data);
            }
            else if (JsonReading.NameIs(ref reader, "incomplete_details"u8))
            {
                reader.Read();
                response.IncompleteReason = ReadIncompleteReason(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return response;
    }

    private string? ReadIncompleteReason(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        string? reason = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isReason = JsonReading.NameIs(ref reader, "reason"u8);
            reader.Read();
            if (isReason)
            {
                reason = JsonReading.GetCachedString(ref reader, _strings);
            }
            else
            {
                reader.Skip();
            }
        }

        return reason;
    }

    private struct ResponseObject
    {
        public string? Id;
        public string? Status;
        public string? Model;
        public string? IncompleteReason;
        public OpenAIUsage? Usage;
    }
}
