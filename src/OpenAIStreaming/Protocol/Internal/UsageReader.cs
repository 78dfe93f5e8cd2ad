using System.Text;
using System.Text.Json;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>Reads a <c>usage</c> object of either API (chat names and Responses names) into <see cref="OpenAIUsage"/>.</summary>
internal static class UsageReader
{
    /// <summary>Reads a usage object from its JSON text.</summary>
    public static OpenAIUsage? Parse(string json)
    {
        byte[] data = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(data);
        reader.Read();
        return Read(ref reader, data);
    }

    /// <summary>Reads the usage object the reader is positioned on (its start token); returns null for a JSON null.</summary>
    public static OpenAIUsage? Read(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        int start = (int)reader.TokenStartIndex;
        int? input = null, output = null, total = null, cached = null, reasoning = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonReading.NameIs(ref reader, "prompt_tokens"u8) || JsonReading.NameIs(ref reader, "input_tokens"u8))
            {
                reader.Read();
                input = JsonReading.GetInt32OrNull(ref reader);
            }
            else if (JsonReading.NameIs(ref reader, "completion_tokens"u8) || JsonReading.NameIs(ref reader, "output_tokens"u8))
            {
                reader.Read();
                output = JsonReading.GetInt32OrNull(ref reader);
            }
            else if (JsonReading.NameIs(ref reader, "total_tokens"u8))
            {
                reader.Read();
                total = JsonReading.GetInt32OrNull(ref reader);
            }
            else if (JsonReading.NameIs(ref reader, "prompt_tokens_details"u8) || JsonReading.NameIs(ref reader, "input_tokens_details"u8))
            {
                reader.Read();
                cached = ReadDetail(ref reader, "cached_tokens"u8) ?? cached;
            }
            else if (JsonReading.NameIs(ref reader, "completion_tokens_details"u8) || JsonReading.NameIs(ref reader, "output_tokens_details"u8))
            {
                reader.Read();
                reasoning = ReadDetail(ref reader, "reasoning_tokens"u8) ?? reasoning;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        int end = (int)reader.BytesConsumed;
        return new OpenAIUsage(input, output, total, cached, reasoning, Encoding.UTF8.GetString(data[start..end]));
    }

    private static int? ReadDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        int? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool wanted = JsonReading.NameIs(ref reader, name);
            reader.Read();
            if (wanted)
            {
                value = JsonReading.GetInt32OrNull(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return value;
    }
}
