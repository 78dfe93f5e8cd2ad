using System.Text.Json.Nodes;

namespace OpenAIStreaming.Tests.Support;

/// <summary>Frames JSON payloads the way OpenAI does on the wire (protocol.md §1.4 and §3.1).</summary>
public static class SseBodies
{
    public const string Done = "data: [DONE]\n\n";

    /// <summary><c>data: {json}\n\n</c> per payload, nothing else.</summary>
    public static string Data(params string[] payloads) => string.Concat(payloads.Select(p => $"data: {p}\n\n"));

    /// <summary>A Chat Completions body: the chunks, then <c>data: [DONE]</c>.</summary>
    public static string Chat(params string[] chunks) => Data(chunks) + Done;

    /// <summary>A Responses body: <c>event: {type}\ndata: {json}\n\n</c> per event, no <c>[DONE]</c>.</summary>
    public static string Responses(params string[] events) =>
        string.Concat(events.Select(e => $"event: {(string?)JsonNode.Parse(e)!["type"]}\ndata: {e}\n\n"));
}
