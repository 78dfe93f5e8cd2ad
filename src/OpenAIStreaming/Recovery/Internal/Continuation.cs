using System.Text.Json;
using System.Text.Json.Nodes;

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
    /// for it to be continued (set to those values, whatever the body said); null when the body has no <c>messages</c> array.
    /// </summary>
    public static byte[]? Body(ReadOnlySpan<byte> body, string delivered)
    {
        JsonObject? request;
        try
        {
            request = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }

        if (request?["messages"] is not JsonArray messages)
        {
            return null;
        }

        messages.Add((JsonNode)new JsonObject { ["role"] = "assistant", ["content"] = delivered });
        request.Remove("continue_final_message");
        request.Remove("add_generation_prompt");
        request.Insert(0, "continue_final_message", true);
        request.Insert(1, "add_generation_prompt", false);

        // Relaxed escaping: the text goes to an API, not into HTML, and stays as compact as it came.
        var output = new System.Buffers.ArrayBufferWriter<byte>(body.Length + delivered.Length + 128);
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            request.WriteTo(writer);
        }

        return output.WrittenSpan.ToArray();
    }

    private static bool HasItems(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0;
}
