using System.Buffers;
using System.Text.Json;

namespace OpenAIStreaming.Client.Internal;

/// <summary>Rewrites a request body so it asks for a stream: <c>"stream": true</c>, every other property kept as sent.</summary>
internal static class StreamingRequestBody
{
    /// <summary>Returns the body with <c>"stream"</c> set to true (in place when present, appended otherwise).</summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static byte[] ForceStream(ReadOnlySpan<byte> json, string paramName) => ForceStream(json, paramName, out _);

    /// <summary>
    /// Returns the body with <c>"stream"</c> set to true, and says whether it asks for a JSON answer: a
    /// <c>response_format</c> whose <c>type</c> is <c>json_object</c> or <c>json_schema</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static byte[] ForceStream(ReadOnlySpan<byte> json, string paramName, out bool asksForJson)
    {
        asksForJson = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException("The request body must be a JSON object.", paramName);
            }

            var buffer = new ArrayBufferWriter<byte>(json.Length + 16);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                bool wroteStream = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isStream = reader.ValueTextEquals("stream"u8);
                    bool isFormat = !isStream && reader.ValueTextEquals("response_format"u8);
                    if (reader.ValueIsEscaped)
                    {
                        writer.WritePropertyName(reader.GetString()!);
                    }
                    else
                    {
                        writer.WritePropertyName(reader.ValueSpan);
                    }

                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    if (isStream)
                    {
                        writer.WriteBooleanValue(true);
                        wroteStream = true;
                    }
                    else
                    {
                        ReadOnlySpan<byte> value = json[start..(int)reader.BytesConsumed];
                        asksForJson |= isFormat && IsJsonFormat(value);
                        writer.WriteRawValue(value, skipInputValidation: true);
                    }
                }

                if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                {
                    throw new ArgumentException("The request body must be a single JSON object.", paramName);
                }

                if (!wroteStream)
                {
                    writer.WriteBoolean("stream"u8, true);
                }

                writer.WriteEndObject();
            }

            return buffer.WrittenSpan.ToArray();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The request body is not valid JSON: {ex.Message}", paramName, ex);
        }
    }

    /// <summary>Whether a <c>response_format</c> value is an object whose <c>type</c> is <c>json_object</c> or <c>json_schema</c>.</summary>
    private static bool IsJsonFormat(ReadOnlySpan<byte> value)
    {
        var reader = new Utf8JsonReader(value, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isType = reader.ValueTextEquals("type"u8);
            reader.Read();
            if (isType && reader.TokenType == JsonTokenType.String)
            {
                return reader.ValueTextEquals("json_object"u8) || reader.ValueTextEquals("json_schema"u8);
            }

            reader.Skip();
        }

        return false;
    }
}
