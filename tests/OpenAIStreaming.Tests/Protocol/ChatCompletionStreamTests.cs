using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>Chat Completions chunks in the shapes api.openai.com sends, decoded per update and assembled.</summary>
public sealed class ChatCompletionStreamTests
{
    // The 2025 shape with "usage":null on every chunk, "obfuscation", and an include_usage chunk.
    private const string TextStream2025 =
        """
        data: {"id":"chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"YhS7A"}

        data: {"id":"chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{"content":"Struct"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"kq3"}

        data: {"id":"chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{"content":"ured"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Zf0x1u"}

        data: {"id":"chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}],"usage":null,"obfuscation":"a"}

        data: {"id":"chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[],"usage":{"prompt_tokens":1420,"completion_tokens":100,"total_tokens":1520,"prompt_tokens_details":{"cached_tokens":1280,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":""}

        data: [DONE]


        """;

    private const string UsageJson2025 =
        """{"prompt_tokens":1420,"completion_tokens":100,"total_tokens":1520,"prompt_tokens_details":{"cached_tokens":1280,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}""";

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_TextStream2025Shape_DecodesEveryUpdate(Chunking chunking)
    {
        var (updates, _) = await StubOpenAIHandler.Sse(TextStream2025, chunking).ChatAsync();

        updates.Should().HaveCount(5);
        updates.Should().OnlyContain(u =>
            u.Id == "chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb" && u.Model == "gpt-4o-2024-08-06" && u.Created == 1751568164
            && u.ServiceTier == "default" && u.SystemFingerprint == "fp_07871e2ad8" && u.ToolCalls.Count == 0);
        updates.Select(u => u.ChoiceIndex).Should().Equal(0, 0, 0, 0, -1);
        updates.Select(u => u.Role).Should().Equal("assistant", null, null, null, null);
        updates.Select(u => u.Text).Should().Equal(string.Empty, "Struct", "ured", null, null);
        updates.Select(u => u.Refusal).Should().OnlyContain(r => r == null);
        updates.Select(u => u.FinishReason).Should().Equal(null, null, null, "length", null);
        updates.Take(4).Should().OnlyContain(u => u.Usage == null, "\"usage\":null is no usage");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_IncludeUsageChunk_YieldsUpdateWithoutChoiceCarryingUsage(Chunking chunking)
    {
        var (updates, result) = await StubOpenAIHandler.Sse(TextStream2025, chunking).ChatAsync();

        ChatCompletionUpdate last = updates[^1];
        last.ChoiceIndex.Should().Be(-1);
        last.Text.Should().BeNull();
        last.FinishReason.Should().BeNull();
        last.Usage.Should().NotBeNull();
        last.Usage!.InputTokens.Should().Be(1420);
        last.Usage.OutputTokens.Should().Be(100);
        last.Usage.TotalTokens.Should().Be(1520);
        last.Usage.CachedInputTokens.Should().Be(1280);
        last.Usage.ReasoningTokens.Should().Be(0);
        last.Usage.Json.Should().Be(UsageJson2025);
        result.Usage.Should().NotBeNull();
        result.Usage!.Json.Should().Be(UsageJson2025);
        result.Choices.Should().ContainSingle();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_TextStream2025Shape_AssemblesContentAndIdentity(Chunking chunking)
    {
        var (_, result) = await StubOpenAIHandler.Sse(TextStream2025, chunking).ChatAsync();

        result.Id.Should().Be("chatcmpl-BpJBM4XqgLRpLxmTeun39ESCNhQwb");
        result.Model.Should().Be("gpt-4o-2024-08-06");
        result.SystemFingerprint.Should().Be("fp_07871e2ad8");
        ChatChoiceResult choice = result.Choices.Should().ContainSingle().Subject;
        choice.Index.Should().Be(0);
        choice.Role.Should().Be("assistant");
        choice.Content.Should().Be("Structured");
        choice.Refusal.Should().BeNull();
        choice.FinishReason.Should().Be("length");
        choice.ToolCalls.Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_RefusalStream_DeliversRefusalDeltas(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"chatcmpl-r","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-r","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"refusal":"I'm"},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-r","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"refusal":" sorry"},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-r","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Refusal).Should().Equal(string.Empty, "I'm", " sorry", null);
        updates.Select(u => u.Text).Should().OnlyContain(t => t == null);
        ChatChoiceResult choice = result.Choices.Should().ContainSingle().Subject;
        choice.Refusal.Should().Be("I'm sorry");
        choice.Content.Should().BeEmpty();
        choice.FinishReason.Should().Be("stop");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ParallelToolCalls_FragmentsDeliveredAndAssembledByIndex(Chunking chunking)
    {
        // id/type/name only in the first fragment; arguments split at arbitrary points.
        string body = SseBody.Chat(
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_JMW1whyEaYG438VE1OIflxA2","type":"function","function":{"name":"GetWeatherArgs","arguments":""}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Edinburgh\"}"}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_DNYTawLBoN8fj3KN6qU9N1Ou","type":"function","function":{"name":"get_stock_price","arguments":""}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"ti"}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"cker\": \"AAPL\"}"}}]},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}""",
            """{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1727346170,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":149,"completion_tokens":60,"total_tokens":209,"completion_tokens_details":{"reasoning_tokens":0}}}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.ToolCalls.Count).Should().Equal(0, 1, 1, 1, 1, 1, 1, 0, 0);
        updates[1].ToolCalls.Should().Equal(new ChatToolCallUpdate(0, "call_JMW1whyEaYG438VE1OIflxA2", "function", "GetWeatherArgs", string.Empty));
        updates[2].ToolCalls.Should().Equal(new ChatToolCallUpdate(0, null, null, null, "{\"ci"));
        updates[4].ToolCalls.Should().Equal(new ChatToolCallUpdate(1, "call_DNYTawLBoN8fj3KN6qU9N1Ou", "function", "get_stock_price", string.Empty));
        updates[6].ToolCalls.Should().Equal(new ChatToolCallUpdate(1, null, null, null, "cker\": \"AAPL\"}"));
        ChatChoiceResult choice = result.Choices.Should().ContainSingle().Subject;
        choice.Content.Should().BeEmpty();
        choice.FinishReason.Should().Be("tool_calls");
        choice.ToolCalls.Should().Equal(
            new ChatToolCall(0, "call_JMW1whyEaYG438VE1OIflxA2", "function", "GetWeatherArgs", "{\"city\": \"Edinburgh\"}"),
            new ChatToolCall(1, "call_DNYTawLBoN8fj3KN6qU9N1Ou", "function", "get_stock_price", "{\"ticker\": \"AAPL\"}"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_ToolCallFragmentsInterleavedAcrossIndexes_AssembledByIndex(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"b","arguments":"[1"}},{"index":0,"id":"call_a","type":"function","function":{"name":"a","arguments":"{"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}},{"index":1,"function":{"arguments":",2"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"]"}}]},"finish_reason":"tool_calls"}]}""");

        var (_, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        result.Choices.Should().ContainSingle().Which.ToolCalls.Should().Equal(
            new ChatToolCall(0, "call_a", "function", "a", "{}"),
            new ChatToolCall(1, "call_b", "function", "b", "[1,2]"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task Build_ThreeChoicesInterleaved_AssemblesEachChoiceOrderedByIndex(Chunking chunking)
    {
        static string Chunk(int index, string delta, string finish = "null") =>
            $$"""{"id":"chatcmpl-n3","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":{{index}},"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}]}""";

        // Choice 1 shows up first, so "ordered by index" cannot come from arrival order.
        string body = SseBody.Chat(
            Chunk(1, """{"role":"assistant","content":""}"""),
            Chunk(0, """{"role":"assistant","content":""}"""),
            Chunk(2, """{"role":"assistant","content":""}"""),
            Chunk(1, """{"content":"B1"}"""),
            Chunk(0, """{"content":"A1"}"""),
            Chunk(2, """{"content":"C1"}"""),
            Chunk(0, """{"content":" A2"}"""),
            Chunk(1, """{"content":" B2"}"""),
            Chunk(0, "{}", "\"stop\""),
            Chunk(2, """{"content":" C2"}"""),
            Chunk(2, "{}", "\"length\""),
            Chunk(1, "{}", "\"stop\""),
            """{"id":"chatcmpl-n3","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":79,"completion_tokens":42,"total_tokens":121}}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.ChoiceIndex).Should().Equal(1, 0, 2, 1, 0, 2, 0, 1, 0, 2, 2, 1, -1);
        result.Choices.Select(c => (c.Index, c.Role, c.Content, c.FinishReason)).Should().Equal(
            (0, "assistant", "A1 A2", "stop"),
            (1, "assistant", "B1 B2", "stop"),
            (2, "assistant", "C1 C2", "length"));
        result.Usage!.TotalTokens.Should().Be(121);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_LegacyCompletionsWithJsonDumpsSpacing_TextDecoded(Chunking chunking)
    {
        // Legacy completions (dd-cassettes completion_streamed.yaml): object "text_completion", choices[].text, ", " and ": " spacing.
        string body = SseBody.Chat(
            """{"id": "cmpl-77HaOi08g0u94sH0MNxN07pXHBJ2i", "object": "text_completion", "created": 1681970252, "choices": [{"text": "!", "index": 0, "logprobs": null, "finish_reason": null}], "model": "ada"}""",
            """{"id": "cmpl-77HaOi08g0u94sH0MNxN07pXHBJ2i", "object": "text_completion", "created": 1681970252, "choices": [{"text": " Hello", "index": 0, "logprobs": null, "finish_reason": null}], "model": "ada"}""",
            """{"id": "cmpl-77HaOi08g0u94sH0MNxN07pXHBJ2i", "object": "text_completion", "created": 1681970252, "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}], "model": "ada"}""");
        var stub = StubOpenAIHandler.Sse(body, chunking);
        using CancellationTokenSource guard = HangGuard.Start();
        using HttpClient http = stub.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "completions")
        {
            Content = new StringContent("""{"model":"ada","prompt":"Say","stream":true}""", System.Text.Encoding.UTF8, "application/json"),
        };

        var captured = await http.StreamChatCompletionAsync(request, guard.Token).CaptureAsync();

        captured.Error.Should().BeNull();
        captured.Items.Select(u => u.Text).Should().Equal("!", " Hello", string.Empty);
        captured.Items.Should().OnlyContain(u => u.Id == "cmpl-77HaOi08g0u94sH0MNxN07pXHBJ2i" && u.Model == "ada" && u.Created == 1681970252);
        ChatChoiceResult choice = StreamingCalls.Accumulate(captured.Items).Choices.Should().ContainSingle().Subject;
        choice.Content.Should().Be("! Hello");
        choice.FinishReason.Should().Be("length");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_WhitespaceAndReorderedKeys_DecodedTheSame(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{ "choices" : [ { "finish_reason" : null , "delta" : { "content" : "Hi" , "role" : "assistant" } , "index" : 0 } ] , "model" : "m1" , "id" : "chatcmpl-ws" , "created" : 7 , "object" : "chat.completion.chunk" }""",
            """{"choices":[{"delta":{"content":" there"},"index":0,"finish_reason":null}],"model":"m1","id":"chatcmpl-ws","created":7}""",
            """{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"id":"chatcmpl-ws","model":"m1","created":7}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => (u.Id, u.Model, u.Created)).Should().AllBeEquivalentTo(("chatcmpl-ws", "m1", 7L));
        updates[0].Role.Should().Be("assistant");
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Hi there");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_EscapeHeavyContent_DecodesExactly(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Line1\nLine2"},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" \"quoted\" caf\u00e9"},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" \ud83d\ude42 tab\t back\\slash \/ \u0041\r\n"},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"raw é漢🙂"},"finish_reason":"stop"}]}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Text).Should().Equal("Line1\nLine2", " \"quoted\" café", " 🙂 tab\t back\\slash / A\r\n", "raw é漢🙂");
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Line1\nLine2 \"quoted\" café 🙂 tab\t back\\slash / A\r\nraw é漢🙂");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_UnknownFieldsAtEveryLevel_Tolerated(Chunking chunking)
    {
        // OpenRouter/vLLM extras, logprobs whose "content" is an array of tokens, nested unknown objects and arrays.
        string body = SseBody.Chat(
            """{"id":"c","provider":"OpenAI","object":"chat.completion.chunk","created":1,"model":"m","metrics":{"a":[1,2,{"b":null,"content":"no"}],"c":true},"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"thinking...","reasoning_details":[{"type":"text","text":"x"}]},"logprobs":null,"finish_reason":null,"native_finish_reason":null}],"prompt_token_ids":[1,2,3]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.01,"bytes":[72,105],"top_logprobs":[{"token":"Hello","logprob":-4.5,"bytes":null}]}],"refusal":null},"finish_reason":null,"token_ids":[9906]}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop","stop_reason":null,"native_finish_reason":"STOP"}],"future":{"deeply":{"nested":[[[]]]}}}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Text).Should().Equal(string.Empty, "Hi", null);
        ChatChoiceResult choice = result.Choices.Should().ContainSingle().Subject;
        choice.Content.Should().Be("Hi");
        choice.FinishReason.Should().Be("stop");
        choice.Refusal.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_DataAfterDone_IgnoredAndNeverParsed(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""")
            + "data: this is not json\n\ndata: {\"id\":\"late\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n";

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Should().ContainSingle();
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("ok");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_BodyStaysOpenAfterDone_EndsAtDoneWithoutWaitingForEndOfBody(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking, StreamEnd.Hang).CaptureChatAsync();

        captured.Error.Should().BeNull("[DONE] ends the stream; the body staying open must not hang the reader");
        captured.Items.Should().ContainSingle().Which.Text.Should().Be("ok");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_TwoChoicesInOneChunk_OneUpdatePerChoice(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"id":"c2","object":"chat.completion.chunk","created":4102444800,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"A"},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}]}""",
            """{"id":"c2","object":"chat.completion.chunk","created":4102444800,"model":"m","choices":[{"index":1,"delta":{},"finish_reason":"stop"},{"index":0,"delta":{"content":"!"},"finish_reason":"length"}]}""");

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => (u.ChoiceIndex, u.Text, u.FinishReason)).Should().Equal((0, "A", null), (1, "B", null), (1, null, "stop"), (0, "!", "length"));
        updates.Should().OnlyContain(u => u.Id == "c2" && u.Created == 4102444800L, "created is a long (Unix seconds after 2038 do not fit an int)");
        result.Choices.Select(c => (c.Index, c.Content, c.FinishReason)).Should().Equal((0, "A!", "length"), (1, "B", "stop"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_OnlyDone_CompletesWithoutUpdates(Chunking chunking)
    {
        var captured = await StubOpenAIHandler.Sse(SseBody.Done, chunking).CaptureChatAsync();

        captured.Error.Should().BeNull("[DONE] is a proper end of stream");
        captured.Items.Should().BeEmpty();
        StreamingCalls.Accumulate(captured.Items).Choices.Should().BeEmpty();
    }
}
