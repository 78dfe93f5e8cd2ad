using System.Text.Json;
using OpenAIStreaming.Internal;

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
        if (!JsonTopLevel.TryFind(json, "model"u8, ranges, out int objectStart))
        {
            return null;
        }

        if (ranges.Count == 0)
        {
            return JsonTopLevel.InsertFirst(json, objectStart, [.. "\"model\":"u8, .. value]);
        }

        var result = new List<byte>(json.Length + value.Length);
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
