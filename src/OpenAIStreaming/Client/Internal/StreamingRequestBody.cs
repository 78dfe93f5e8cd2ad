using System.Buffers;
using System.Text.Json;

namespace OpenAIStreaming.Client.Internal;

/// <summary>Rewrites a request body so it asks for a stream: <c>"stream": true</c>, every other property kept as sent.</summary>
internal static class StreamingRequestBody
{
    private const int MaxKeptWriterBytes = 64 * 1024; // a thread keeps its writer's buffer up to this size between calls

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>Returns the body with <c>"stream"</c> set to true (in place when present, appended otherwise).</summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static byte[] ForceStream(ReadOnlySpan<byte> json, string paramName) => ForceStream(json, paramName, includeUsage: false, out _, out _);

    /// <summary>
    /// Returns the body with <c>"stream"</c> set to true and, when <paramref name="includeUsage"/> is set and the body sets no
    /// <c>stream_options</c>, <c>"stream_options":{"include_usage":true}</c> appended (its bytes, with the comma before them,
    /// in <paramref name="usage"/>; empty when not added). Says whether the body asks for a JSON answer: a
    /// <c>response_format</c> whose <c>type</c> is <c>json_object</c> or <c>json_schema</c>. One pass, one array: the
    /// writer and its buffer are the thread's own, kept between calls.
    /// </summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static byte[] ForceStream(ReadOnlySpan<byte> json, string paramName, bool includeUsage, out bool asksForJson, out Range usage)
    {
        asksForJson = false;
        usage = default;
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        Utf8JsonWriter writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException("The request body must be a JSON object.", paramName);
            }

            writer.WriteStartObject();
            bool wroteStream = false;
            bool setsStreamOptions = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isStream = reader.ValueTextEquals("stream"u8);
                bool isFormat = !isStream && reader.ValueTextEquals("response_format"u8);
                setsStreamOptions |= !isStream && !isFormat && reader.ValueTextEquals("stream_options"u8);
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

            if (includeUsage && !setsStreamOptions)
            {
                writer.Flush();
                int start = buffer.WrittenCount; // the comma before the property is written with it
                writer.WritePropertyName("stream_options"u8);
                writer.WriteStartObject();
                writer.WriteBoolean("include_usage"u8, true);
                writer.WriteEndObject();
                writer.Flush();
                usage = start..buffer.WrittenCount;
            }

            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The request body is not valid JSON: {ex.Message}", paramName, ex);
        }
        finally
        {
            writer.Flush(); // what a body that failed part-way left in the writer, so that it is cleared too
            buffer.Clear(); // the thread keeps the buffer, not the request it held
            if (buffer.Capacity > MaxKeptWriterBytes)
            {
                t_buffer = null; // a large body's buffer is not kept for the thread's life
                t_writer = null;
            }
        }
    }

    /// <summary>The body without the bytes of <paramref name="range"/>: the request as it was asked, before the usage was added.</summary>
    public static byte[] Without(byte[] body, Range range)
    {
        (int offset, int length) = range.GetOffsetAndLength(body.Length);
        return [.. body.AsSpan(0, offset), .. body.AsSpan(offset + length)];
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
