using System.Text.Json;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>What an event means for the commit point of a stream.</summary>
internal enum EventContent
{
    /// <summary>Nothing a consumer would show: a role-only chunk, an empty <c>content</c>, an Azure prompt-filter chunk, a Responses bookkeeping event.</summary>
    None,

    /// <summary>
    /// Content: text, a refusal, reasoning or audio, a tool-call delta, a Responses output delta, a finish reason, a terminal
    /// or error event. Reasoning counts: a thinking model that streams its reasoning is answering, and a hedge beside it would
    /// only pay for a second answer.
    /// </summary>
    Content,

    /// <summary>Not a JSON object: the stream is broken (retried before the commit point like any other break).</summary>
    Malformed,
}

/// <summary>
/// Decides whether an event carries content — the commit point of a stream is its first such event. Works on the event's
/// bytes for Chat Completions, legacy completions and Responses alike, without allocating.
/// </summary>
internal static class ContentDetector
{
    /// <summary>Classifies the data of one event.</summary>
    public static EventContent Classify(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> trimmed = data.Trim(" \t\r\n"u8);
        if (trimmed.IsEmpty)
        {
            return EventContent.None;
        }

        if (trimmed.SequenceEqual("[DONE]"u8))
        {
            return EventContent.Content; // the terminal sentinel
        }

        try
        {
            var reader = new Utf8JsonReader(trimmed);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return EventContent.Malformed;
            }

            bool content = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    content |= ChoicesCarryContent(ref reader);
                }
                else if (reader.ValueTextEquals("type"u8) || reader.ValueTextEquals("object"u8))
                {
                    reader.Read();
                    content |= reader.TokenType == JsonTokenType.String && IsContentType(ref reader);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    content |= reader.TokenType is JsonTokenType.StartObject or JsonTokenType.String;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return reader.TokenType == JsonTokenType.EndObject ? (content ? EventContent.Content : EventContent.None) : EventContent.Malformed;
        }
        catch (JsonException)
        {
            return EventContent.Malformed;
        }
    }

    /// <summary>Responses events that commit: output deltas, terminal events and errors (chat's <c>"object":"error"</c> too).</summary>
    private static bool IsContentType(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("response.output_text.delta"u8)
        || reader.ValueTextEquals("response.refusal.delta"u8)
        || reader.ValueTextEquals("response.function_call_arguments.delta"u8)
        || reader.ValueTextEquals("response.custom_tool_call_input.delta"u8)
        || reader.ValueTextEquals("response.reasoning_text.delta"u8)
        || reader.ValueTextEquals("response.reasoning_summary_text.delta"u8)
        || reader.ValueTextEquals("response.audio.delta"u8)
        || reader.ValueTextEquals("response.audio.transcript.delta"u8)
        || reader.ValueTextEquals("response.completed"u8)
        || reader.ValueTextEquals("response.incomplete"u8)
        || reader.ValueTextEquals("response.failed"u8)
        || reader.ValueTextEquals("error"u8);

    private static bool ChoicesCarryContent(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return false;
        }

        bool content = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    content |= DeltaCarriesContent(ref reader);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read(); // legacy completions
                    content |= IsNonEmpty(ref reader);
                }
                else if (reader.ValueTextEquals("finish_reason"u8))
                {
                    reader.Read();
                    content |= reader.TokenType != JsonTokenType.Null;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        return content;
    }

    private static bool DeltaCarriesContent(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        bool content = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("refusal"u8)
                || reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
            {
                reader.Read();
                content |= IsNonEmpty(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8) || reader.ValueTextEquals("audio"u8))
            {
                reader.Read();
                content |= reader.TokenType is JsonTokenType.StartObject || (reader.TokenType == JsonTokenType.StartArray && HasElement(ref reader));
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return content;
    }

    /// <summary>A value that is text: a non-empty string, or anything else but null (decoded as text by the readers).</summary>
    private static bool IsNonEmpty(ref Utf8JsonReader reader)
    {
        bool nonEmpty = reader.TokenType switch
        {
            JsonTokenType.String => reader.HasValueSequence ? reader.ValueSequence.Length > 0 : reader.ValueSpan.Length > 0,
            JsonTokenType.Null => false,
            _ => true,
        };
        reader.Skip();
        return nonEmpty;
    }

    /// <summary>Whether the array the reader is on has an element; the reader stays on the array's start.</summary>
    private static bool HasElement(ref Utf8JsonReader reader)
    {
        Utf8JsonReader copy = reader;
        return copy.Read() && copy.TokenType != JsonTokenType.EndArray;
    }
}
