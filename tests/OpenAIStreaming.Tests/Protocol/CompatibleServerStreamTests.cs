using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>Quirks of OpenAI-compatible servers: Azure, vLLM, Ollama, llama.cpp.</summary>
public sealed class CompatibleServerStreamTests
{
    private const string AzurePromptFilterChunk =
        """{"id":"","object":"","created":0,"model":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"choices":[],"usage":null}""";

    private static string AzureAnnotationChunk(string finishReason) =>
        $$$"""{"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":{{{finishReason}}},"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"check_offset":506,"start_offset":44,"end_offset":571}}],"usage":null}""";

    private static string AzureChunk(string delta, string finishReason = "null") =>
        $$$"""{"id":"chatcmpl-AZ1","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4o-2024-11-20","system_fingerprint":"fp_az","choices":[{"index":0,"delta":{{{delta}}},"finish_reason":{{{finishReason}}},"logprobs":null,"content_filter_results":{}}],"usage":null}""";

    private static readonly string[] AzurePlainChunks =
    [
        AzureChunk("""{"role":"assistant","content":""}"""),
        AzureChunk("""{"content":"Hello"}"""),
        AzureChunk("""{"content":" world"}"""),
        AzureChunk("{}", "\"stop\""),
    ];

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_AzurePromptFilterAndAnnotationChunks_ResultSameAsWithoutThem(Chunking chunking)
    {
        string plain = SseBody.Chat(AzurePlainChunks);
        string azure = SseBody.Chat(
            AzurePromptFilterChunk,
            AzurePlainChunks[0],
            AzurePlainChunks[1],
            AzureAnnotationChunk("null"),
            AzurePlainChunks[2],
            AzurePlainChunks[3],
            AzureAnnotationChunk("null"),
            AzureAnnotationChunk("null"));

        var (_, expected) = await StubOpenAIHandler.Sse(plain, chunking).ChatAsync();
        var (updates, result) = await StubOpenAIHandler.Sse(azure, chunking).ChatAsync();

        result.Should().BeEquivalentTo(expected);
        result.Id.Should().Be("chatcmpl-AZ1", "the empty id of Azure's filter frames is not the completion's id");
        result.Model.Should().Be("gpt-4o-2024-11-20");
        result.Choices.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Content = "Hello world", FinishReason = "stop", Role = "assistant" });
        updates[0].ChoiceIndex.Should().Be(-1, "the prompt-filter frame has \"choices\":[]");
        updates[0].Usage.Should().BeNull();
        updates.Should().HaveCount(8);
        new[] { updates[3], updates[6], updates[7] }
            .Should().OnlyContain(u => u.ChoiceIndex == 0 && u.Text == null && u.FinishReason == null && u.Role == null && u.ToolCalls.Count == 0);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_AzureContentFilterFinishOnAnnotationChunk_FinishReasonIsContentFilter(Chunking chunking)
    {
        string body = SseBody.Chat(
            AzurePromptFilterChunk,
            AzurePlainChunks[0],
            AzurePlainChunks[1],
            AzureAnnotationChunk("\"content_filter\""));

        var (_, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        result.Choices.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Content = "Hello", FinishReason = "content_filter" });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_VllmContinuousUsageOnEveryChunk_KeepsTheLastUsageAndDoesNotSum(Chunking chunking)
    {
        static string Chunk(string delta, string finish, int completionTokens, string extra = "") =>
            $$$"""{"id":"chatcmpl-vllm","object":"chat.completion.chunk","created":1736000000,"model":"Qwen/Qwen2.5-7B-Instruct",{{{extra}}}"choices":[{"index":0,"delta":{{{delta}}},"logprobs":null,"finish_reason":{{{finish}}},"stop_reason":null}],"usage":{{{Usage(completionTokens)}}}}""";

        static string Usage(int completionTokens) =>
            $$"""{"prompt_tokens":10,"total_tokens":{{10 + completionTokens}},"completion_tokens":{{completionTokens}}}""";

        string body = SseBody.Chat(
            Chunk("""{"role":"assistant","content":""}""", "null", 0),
            Chunk("""{"content":"Hi"}""", "null", 1),
            Chunk("""{"content":" there"}""", "null", 2),
            Chunk("""{"content":""}""", "\"stop\"", 3, "\"system_fingerprint\":\"fp_vllm\","),
            """{"id":"chatcmpl-vllm","object":"chat.completion.chunk","created":1736000000,"model":"Qwen/Qwen2.5-7B-Instruct","choices":[],"usage":{"prompt_tokens":10,"total_tokens":13,"completion_tokens":3}}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Usage?.OutputTokens).Should().Equal(0, 1, 2, 3, 3);
        result.Usage.Should().NotBeNull();
        result.Usage!.InputTokens.Should().Be(10);
        result.Usage.OutputTokens.Should().Be(3);
        result.Usage.TotalTokens.Should().Be(13);
        result.SystemFingerprint.Should().Be("fp_vllm", "vLLM stamps system_fingerprint only on the terminal chunk");
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Hi there");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_OllamaRoleInEveryChunkAndWholeToolCalls_RoleNotRepeatedAndCallsIntact(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"chatcmpl-512","object":"chat.completion.chunk","created":1736000001,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"},"finish_reason":null}]}""",
            """{"id":"chatcmpl-512","object":"chat.completion.chunk","created":1736000001,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":" check."},"finish_reason":null}]}""",
            """{"id":"chatcmpl-512","object":"chat.completion.chunk","created":1736000001,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_x1","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_x2","index":1,"type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]},"finish_reason":null}]}""",
            """{"id":"chatcmpl-512","object":"chat.completion.chunk","created":1736000001,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"tool_calls"}]}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Should().OnlyContain(u => u.Role == "assistant");
        updates[2].ToolCalls.Should().Equal(
            new ChatToolCallUpdate(0, "call_x1", "function", "get_weather", "{\"city\":\"Paris\"}"),
            new ChatToolCallUpdate(1, "call_x2", "function", "get_time", "{\"tz\":\"CET\"}"));
        ChatChoiceResult choice = result.Choices.Should().ContainSingle().Subject;
        choice.Role.Should().Be("assistant");
        choice.Content.Should().Be("Let me check.");
        choice.FinishReason.Should().Be("tool_calls");
        choice.ToolCalls.Should().Equal(
            new ChatToolCall(0, "call_x1", "function", "get_weather", "{\"city\":\"Paris\"}"),
            new ChatToolCall(1, "call_x2", "function", "get_time", "{\"tz\":\"CET\"}"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_ToolCallIdAndNameRepeatedInEveryFragment_NotConcatenated(Chunking chunking)
    {
        // MiniMax via NIM: the Python helper would produce "get_weatherget_weather".
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"ty\":\"Oslo\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");

        var (_, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        result.Choices.Should().ContainSingle().Which.ToolCalls.Should().Equal(
            new ChatToolCall(0, "call_1", "function", "get_weather", "{\"city\":\"Oslo\"}"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_LlamaCppKeepAlivesTimingsAndUsageOnLastChoiceChunk_Tolerated(Chunking chunking)
    {
        string body =
            ":\n\n"
            + SseBody.Data("""{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1736000002,"id":"chatcmpl-llama","model":"qwen2.5-7b","system_fingerprint":"b5000-abc","object":"chat.completion.chunk"}""")
            + ":\n"
            + SseBody.Data("""{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],"created":1736000002,"id":"chatcmpl-llama","model":"qwen2.5-7b","system_fingerprint":"b5000-abc","object":"chat.completion.chunk"}""")
            + ":\n\n:\n\n"
            + SseBody.Data("""{"choices":[{"finish_reason":null,"index":0,"delta":{"content":" there"}}],"created":1736000002,"id":"chatcmpl-llama","model":"qwen2.5-7b","system_fingerprint":"b5000-abc","object":"chat.completion.chunk"}""")
            + SseBody.Chat("""{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1736000002,"id":"chatcmpl-llama","model":"qwen2.5-7b","system_fingerprint":"b5000-abc","object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":7,"total_tokens":9},"timings":{"prompt_n":7,"prompt_ms":12.5,"prompt_per_second":560.0,"predicted_n":2,"predicted_ms":30.1,"predicted_per_second":66.4}}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Should().HaveCount(4);
        updates[^1].ChoiceIndex.Should().Be(0);
        updates[^1].FinishReason.Should().Be("stop");
        updates[^1].Usage.Should().NotBeNull("llama.cpp before PR #15444 put usage on the last choice chunk");
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Hi there");
        result.Usage!.InputTokens.Should().Be(7);
        result.Usage.OutputTokens.Should().Be(2);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_UsageWithNullDetails_NullDetailCounts(Chunking chunking)
    {
        const string usage = """{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":null,"completion_tokens_details":null}""";
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""",
            $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{{usage}}}""");

        var (_, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        result.Usage.Should().NotBeNull();
        result.Usage!.InputTokens.Should().Be(12);
        result.Usage.OutputTokens.Should().Be(3);
        result.Usage.CachedInputTokens.Should().BeNull();
        result.Usage.ReasoningTokens.Should().BeNull();
        result.Usage.Json.Should().Be(usage);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_VllmNamedToolChoiceWithoutType_CallStillAssembled(Chunking chunking)
    {
        // vLLM #16340 omitted "type":"function" for a named tool_choice, and ends with "stop".
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"chatcmpl-tool-1","function":{"name":"get_weather","arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Rome\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""");

        var (_, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        ChatToolCall call = result.Choices.Should().ContainSingle().Which.ToolCalls.Should().ContainSingle().Subject;
        call.Should().BeEquivalentTo(new { Index = 0, Id = "chatcmpl-tool-1", FunctionName = "get_weather", Arguments = "{\"city\":\"Rome\"}" });
        result.Choices[0].FinishReason.Should().Be("stop");
    }
}
