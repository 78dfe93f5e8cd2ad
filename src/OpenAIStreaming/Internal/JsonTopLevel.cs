using System.Text.Json;

namespace OpenAIStreaming.Internal;

/// <summary>Finds and adds top-level properties of a JSON object request body, leaving every other byte as it was.</summary>
internal static class JsonTopLevel
{
    /// <summary>
    /// Finds where the values of the top-level property <paramref name="name"/> are (every occurrence, should the object
    /// repeat the key); false when the body is not a JSON object. <paramref name="objectStart"/> is the offset of its <c>{</c>.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, List<(int Start, int End)> values, out int objectStart)
    {
        objectStart = 0;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            objectStart = (int)reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool found = reader.ValueTextEquals(name);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (found)
                {
                    values.Add((start, (int)reader.BytesConsumed));
                }
            }

            return reader.TokenType == JsonTokenType.EndObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The body with <paramref name="property"/> (<c>"name":value</c>) added as the object's first property (no comma when the object is empty).</summary>
    public static byte[] InsertFirst(ReadOnlySpan<byte> json, int objectStart, ReadOnlySpan<byte> property)
    {
        ReadOnlySpan<byte> rest = json[(objectStart + 1)..];
        bool empty = rest.TrimStart(" \t\r\n"u8).StartsWith("}"u8);
        byte[] result = new byte[json.Length + property.Length + (empty ? 0 : 1)];
        json[..(objectStart + 1)].CopyTo(result);
        int at = objectStart + 1;
        property.CopyTo(result.AsSpan(at));
        at += property.Length;
        if (!empty)
        {
            result[at++] = (byte)',';
        }

        rest.CopyTo(result.AsSpan(at));
        return result;
    }
}
