using System.Text.Json;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// Recovery by continuation: a chat request sent again with the text already delivered as its final assistant message,
/// for a server that continues such a prefill (vLLM's <c>continue_final_message</c>, Anthropic-compatible endpoints).
/// Only for what a prefill can carry: one choice of text — no tools, no JSON <c>response_format</c>, no <c>n</c> above 1.
/// </summary>
internal static class Continuation
{
    private static ReadOnlySpan<byte> Flags => "\"continue_final_message\":true,\"add_generation_prompt\":false"u8;

    /// <summary>Whether a chat request body can be continued: a <c>messages</c> array, no tools, no JSON answer, one choice.</summary>
    public static bool IsEligible(ReadOnlySpan<byte> body)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            JsonElement root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("messages", out JsonElement messages) && messages.ValueKind == JsonValueKind.Array
                && !HasItems(root, "tools") && !HasItems(root, "functions")
                && !(root.TryGetProperty("response_format", out JsonElement format) && format.ValueKind == JsonValueKind.Object
                    && format.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String && type.GetString() is "json_object" or "json_schema")
                && !(root.TryGetProperty("n", out JsonElement n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out int count) && count > 1);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The body with <paramref name="delivered"/> appended to <c>messages</c> as an assistant message and the flags that ask
    /// for it to be continued; null when the body has no <c>messages</c> array.
    /// </summary>
    public static byte[]? Body(ReadOnlySpan<byte> body, string delivered)
    {
        var found = new List<(int Start, int End)>(1);
        if (!JsonTopLevel.TryFind(body, "messages"u8, found, out int objectStart) || found.Count != 1 || body[found[0].Start] != (byte)'[')
        {
            return null;
        }

        (int start, int end) = found[0];
        int close = end - 1; // the array's ']'
        bool empty = body[(start + 1)..close].Trim(" \t\r\n"u8).IsEmpty;
        var message = new System.Buffers.ArrayBufferWriter<byte>(delivered.Length + 64);
        // Relaxed escaping: the text goes to an API, not into HTML, and stays as compact as it came (no \uXXXX for every
        // non-ASCII character).
        using (var writer = new Utf8JsonWriter(message, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, "assistant"u8);
            writer.WriteString("content"u8, delivered);
            writer.WriteEndObject();
        }

        byte[] withMessage = [.. body[..close], .. (empty ? ""u8 : ","u8), .. message.WrittenSpan, .. body[close..]];
        return JsonTopLevel.InsertFirst(withMessage, objectStart, Flags);
    }

    private static bool HasItems(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0;
}
