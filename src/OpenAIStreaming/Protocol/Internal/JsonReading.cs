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

    /// <summary>Reads a string value; numbers and booleans are given as their text; null, objects and arrays as null.</summary>
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

    private static string? SkipAndReturnNull(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }
}
