using System.Text;
using System.Text.Json.Nodes;

namespace OpenAIStreaming.Tests.Support;

/// <summary>Builds event-stream bodies for fixtures, framed the way OpenAI does on the wire.</summary>
public static class SseBody
{
    public const string Done = "data: [DONE]\n\n";

    /// <summary>A chat body: one <c>data:</c> event per JSON chunk.</summary>
    public static string Data(params string[] chunks)
    {
        var body = new StringBuilder();
        foreach (string chunk in chunks)
        {
            body.Append("data: ").Append(chunk).Append("\n\n");
        }

        return body.ToString();
    }

    /// <summary>A Responses body: <c>event:</c> named after the JSON's type, then <c>data:</c>.</summary>
    public static string Typed(params (string Type, string Json)[] events)
    {
        var body = new StringBuilder();
        foreach ((string type, string json) in events)
        {
            body.Append("event: ").Append(type).Append('\n').Append("data: ").Append(json).Append("\n\n");
        }

        return body.ToString();
    }

    /// <summary>A 2025-shape chat chunk with one choice.</summary>
    public static string Chunk(string delta, string finish = "null", int index = 0, string extra = "") =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":{{index}},"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}],"usage":null{{extra}}}""";

    /// <summary>A Chat Completions body: the chunks, then <c>data: [DONE]</c>.</summary>
    public static string Chat(params string[] chunks) => Data(chunks) + Done;

    /// <summary>A Responses body: <c>event:</c> named after each JSON's <c>type</c>, then <c>data:</c>; no <c>[DONE]</c>.</summary>
    public static string Responses(params string[] events) =>
        Typed(events.Select(e => ((string)JsonNode.Parse(e)!["type"]!, e)).ToArray());
}
