using System.Text.Json;

namespace OpenAIStreaming.Fallback.Internal;

/// <summary>Rewrites the top-level <c>model</c> of a JSON request body, leaving every other byte as it was.</summary>
internal static class JsonModelRewriter
{
    /// <summary>
    /// Returns <paramref name="json"/> with its top-level <c>model</c> value replaced by <paramref name="model"/> (every
    /// occurrence, should the object repeat the key), or with <c>"model"</c> added first when it has none; null when the body
    /// is not a JSON object.
    /// </summary>
    public static byte[]? WithModel(ReadOnlySpan<byte> json, string model)
    {
        byte[] value = System.Text.Encoding.UTF8.GetBytes($"\"{JsonEncodedText.Encode(model).Value}\"");
        var ranges = new List<(int Start, int End)>(1);
        int objectStart;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            objectStart = (int)reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isModel = reader.ValueTextEquals("model"u8);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (isModel)
                {
                    ranges.Add((start, (int)reader.BytesConsumed));
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        var result = new List<byte>(json.Length + value.Length + 9);
        if (ranges.Count == 0)
        {
            // {"model":"x", then the rest of the object (no comma when the object is empty).
            ReadOnlySpan<byte> rest = json[(objectStart + 1)..];
            result.AddRange(json[..(objectStart + 1)]);
            result.AddRange("\"model\":"u8);
            result.AddRange(value);
            if (!rest.TrimStart(" \t\r\n"u8).StartsWith("}"u8))
            {
                result.Add((byte)',');
            }

            result.AddRange(rest);
            return [.. result];
        }

        int copied = 0;
        foreach ((int start, int end) in ranges)
        {
            result.AddRange(json[copied..start]);
            result.AddRange(value);
            copied = end;
        }

        result.AddRange(json[copied..]);
        return [.. result];
    }
}
