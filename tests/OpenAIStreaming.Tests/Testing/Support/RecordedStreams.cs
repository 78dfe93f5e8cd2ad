namespace OpenAIStreaming.Tests.Testing.Support;

/// <summary>
/// A real api.openai.com chat stream (gpt-4o-2024-08-06, 2024-09-26, finish_reason "length"), byte for byte:
/// <c>Recordings/chat-finish-length.sse</c>, from openai-python's test data (Apache-2.0).
/// Kept inline so the fake-server tests read as specifications.
/// </summary>
public static class RecordedStreams
{
    private static readonly string[] FinishLengthEvents =
    [
        """data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}""",
        """data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{"content":"{\""},"logprobs":null,"finish_reason":null}]}""",
        """data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}""",
        """data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[],"usage":{"prompt_tokens":79,"completion_tokens":1,"total_tokens":80,"completion_tokens_details":{"reasoning_tokens":0}}}""",
        """data: [DONE]""",
    ];

    /// <summary>The body: each event followed by a blank line (LF LF).</summary>
    public static string FinishLength { get; } = string.Concat(FinishLengthEvents.Select(e => e + "\n\n"));

    /// <summary>The number of <c>data:</c> events, <c>[DONE]</c> included.</summary>
    public static int FinishLengthEventCount => FinishLengthEvents.Length;
}
