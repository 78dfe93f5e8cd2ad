using System.Text;
using System.Text.Json;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Reads the fields of a request body that shape the answer, for each endpoint's request format.</summary>
internal static class RequestReader
{
    public static string? Model(JsonElement root) => String(root, "model");

    public static bool Stream(JsonElement root) => Bool(root, "stream") ?? false;

    public static bool IncludeUsage(JsonElement root) =>
        root.TryGetProperty("stream_options", out JsonElement options) && options.ValueKind == JsonValueKind.Object && (Bool(options, "include_usage") ?? false);

    public static bool IncludeObfuscation(JsonElement root) =>
        !root.TryGetProperty("stream_options", out JsonElement options) || options.ValueKind != JsonValueKind.Object || (Bool(options, "include_obfuscation") ?? true);

    public static bool Background(JsonElement root) => Bool(root, "background") ?? false;

    public static AnswerRequest ForChat(JsonElement root, string model) => new(model, ChatMessages(root))
    {
        Seed = Long(root, "seed"),
        Choices = Math.Clamp(Int(root, "n") ?? 1, 1, 128),
        MaxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens"),
        Tools = Tools(root),
        ToolChoice = ToolChoice(root),
        ParallelToolCalls = Bool(root, "parallel_tool_calls") ?? true,
    };

    public static AnswerRequest ForCompletions(JsonElement root, string model) =>
        new(model, [new FakeMessage("user", Text(root.TryGetProperty("prompt", out JsonElement prompt) ? prompt : default))])
        {
            Seed = Long(root, "seed"),
            Choices = Math.Clamp(Int(root, "n") ?? 1, 1, 128),
            MaxTokens = Int(root, "max_tokens"),
        };

    public static AnswerRequest ForResponses(JsonElement root, string model) => new(model, ResponseMessages(root))
    {
        MaxTokens = Int(root, "max_output_tokens"),
        Tools = Tools(root),
        ToolChoice = ToolChoice(root),
        ParallelToolCalls = Bool(root, "parallel_tool_calls") ?? true,
    };

    /// <summary>
    /// Whether the request asks for its final assistant message to be continued rather than answered
    /// (<c>"continue_final_message": true</c>, as vLLM has it) and that message is the last one.
    /// </summary>
    public static bool ContinuesFinalMessage(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && (Bool(root, "continue_final_message") ?? false) && EndsWithAssistantMessage(root);

    /// <summary>Whether the conversation (chat <c>messages</c> or Responses <c>input</c>) ends with an assistant message.</summary>
    public static bool EndsWithAssistantMessage(JsonElement root)
    {
        JsonElement list = root.TryGetProperty("messages", out JsonElement messages) ? messages
            : root.TryGetProperty("input", out JsonElement input) ? input : default;
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return false;
        }

        return String(list[list.GetArrayLength() - 1], "role") == "assistant";
    }

    private static List<FakeMessage> ChatMessages(JsonElement root)
    {
        var messages = new List<FakeMessage>();
        if (root.TryGetProperty("messages", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement message in list.EnumerateArray())
            {
                messages.Add(new FakeMessage(String(message, "role") ?? "user", Text(message.TryGetProperty("content", out JsonElement c) ? c : default)));
            }
        }

        return messages;
    }

    private static List<FakeMessage> ResponseMessages(JsonElement root)
    {
        var messages = new List<FakeMessage>();
        if (String(root, "instructions") is { } instructions)
        {
            messages.Add(new FakeMessage("system", instructions));
        }

        if (!root.TryGetProperty("input", out JsonElement input))
        {
            return messages;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            messages.Add(new FakeMessage("user", input.GetString() ?? string.Empty));
            return messages;
        }

        if (input.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in input.EnumerateArray())
            {
                string role = String(item, "role") ?? (String(item, "type") == "function_call_output" ? "tool" : "user");
                JsonElement content = item.TryGetProperty("content", out JsonElement c) ? c : item.TryGetProperty("output", out JsonElement o) ? o : default;
                messages.Add(new FakeMessage(role, Text(content)));
            }
        }

        return messages;
    }

    private static string Text(JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString() ?? string.Empty;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (JsonElement part in content.EnumerateArray())
                {
                    text.Append(part.ValueKind == JsonValueKind.String ? part.GetString() : String(part, "text"));
                }

                return text.ToString();
            default:
                return string.Empty;
        }
    }

    private static List<ToolSpec> Tools(JsonElement root)
    {
        var tools = new List<ToolSpec>();
        if (!root.TryGetProperty("tools", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
        {
            return tools;
        }

        foreach (JsonElement tool in list.EnumerateArray())
        {
            JsonElement function = tool.TryGetProperty("function", out JsonElement f) && f.ValueKind == JsonValueKind.Object ? f : tool;
            if (String(function, "name") is not { } name)
            {
                continue;
            }

            var parameters = new List<(string, string)>();
            if (function.TryGetProperty("parameters", out JsonElement schema) && schema.ValueKind == JsonValueKind.Object
                && schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in properties.EnumerateObject())
                {
                    parameters.Add((property.Name, property.Value.ValueKind == JsonValueKind.Object ? String(property.Value, "type") ?? "string" : "string"));
                }
            }

            tools.Add(new ToolSpec(name, parameters));
        }

        return tools;
    }

    private static string ToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out JsonElement choice))
        {
            return "auto";
        }

        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() ?? "auto";
        }

        if (choice.ValueKind == JsonValueKind.Object)
        {
            JsonElement function = choice.TryGetProperty("function", out JsonElement f) && f.ValueKind == JsonValueKind.Object ? f : choice;
            return String(function, "name") ?? "auto";
        }

        return "auto";
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static bool? Bool(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    private static int? Int(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n : null;

    private static long? Long(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) ? n : null;
}
