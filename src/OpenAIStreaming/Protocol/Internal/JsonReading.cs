using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>Small, allocation-aware helpers over <see cref="Utf8JsonReader"/> shared by the decoders.</summary>
internal static class JsonReading
{
    /// <summary>Whether the current property name is <paramref name="name"/> (handles escaped names).</summary>
    public static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        reader.ValueIsEscaped ? reader.ValueTextEquals(name) : reader.ValueSpan.SequenceEqual(name);

    /// <summary>Reads a string through a cache (repeating values allocate once); numbers are given as their text; null as null.</summary>
    public static string? GetCachedString(ref Utf8JsonReader reader, Utf8StringCache cache) => reader.TokenType switch
    {
        JsonTokenType.String when !reader.ValueIsEscaped => cache.Get(reader.ValueSpan),
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => cache.Get(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => SkipAndReturnNull(ref reader),
    };

    /// <summary>The largest choice index and tool-call index a chunk may carry (OpenAI allows at most 128 choices).</summary>
    public const int MaxIndex = 1023;

    /// <summary>
    /// Reads a text field of an answer: a string (invalid UTF-8 is an error, as in every field); a number or boolean as its
    /// text; null as null. An object or an array is an error: text is never dropped silently.
    /// </summary>
    /// <exception cref="JsonException">The value is an object or an array.</exception>
    public static string? GetText(ref Utf8JsonReader reader, string field) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => null,
        _ => throw new JsonException($"'{field}' is a JSON {Describe(reader.TokenType)}, not a string."),
    };

    /// <summary>
    /// Reads a value that is text or JSON, such as a tool call's <c>arguments</c>: a string as it is; an object or an array
    /// (some compatible servers send arguments unencoded) as its JSON text; a number or boolean as its text; null as null.
    /// </summary>
    public static string? GetTextOrJson(ref Utf8JsonReader reader, ReadOnlySpan<byte> data, string field)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return GetText(ref reader, field);
        }

        int start = (int)reader.TokenStartIndex;
        reader.Skip();
        ReadOnlySpan<byte> json = data[start..(int)reader.BytesConsumed];
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw new InvalidOperationException($"'{field}' is not valid UTF-8.");
        }

        return Encoding.UTF8.GetString(json);
    }

    /// <summary>
    /// Reads a choice or tool-call index: an integer from 0 to <see cref="MaxIndex"/>; null gives
    /// <paramref name="fallback"/> (the position). Anything else — negative, too large, not an integer — is an error.
    /// </summary>
    /// <exception cref="JsonException">The index is out of range or not an integer.</exception>
    public static int GetIndex(ref Utf8JsonReader reader, int fallback, string field)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return fallback;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) && value is >= 0 and <= MaxIndex)
        {
            return value;
        }

        string text = reader.TokenType is JsonTokenType.Number or JsonTokenType.String ? Encoding.UTF8.GetString(reader.ValueSpan) : Describe(reader.TokenType);
        throw new JsonException($"'{field}' is {text}: an index must be an integer from 0 to {MaxIndex}.");
    }

    /// <summary>Reads a string value; numbers and booleans are given as their text; null, objects and arrays as null (for error bodies, read as leniently as possible).</summary>
    public static string? GetLenientString(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => SkipAndReturnNull(ref reader),
    };

    /// <summary>Reads an integer; null, non-integers and other kinds give null.</summary>
    public static int? GetInt32OrNull(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value))
        {
            return value;
        }

        reader.Skip();
        return null;
    }

    /// <summary>Reads a 64-bit integer; null and other kinds give null.</summary>
    public static long? GetInt64OrNull(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value))
        {
            return value;
        }

        if (reader.TokenType == JsonTokenType.Number && Utf8Parser.TryParse(reader.ValueSpan, out double number, out _))
        {
            return (long)number;
        }

        reader.Skip();
        return null;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        _ => token.ToString().ToLowerInvariant(),
    };

    private static string? SkipAndReturnNull(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }
}
