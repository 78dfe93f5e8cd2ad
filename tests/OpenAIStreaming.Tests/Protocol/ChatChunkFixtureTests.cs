using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

public sealed class ChatChunkFixtureTests
{
    [Fact]
    public async Task StreamChatCompletionAsync_TextWithObfuscationAndUsage_YieldsDeltasThenUsage()
    {
        string body = SseBody.Data(
            SseBody.Chunk("""{"role":"assistant","content":"","refusal":null}"""),
            SseBody.Chunk("""{"content":"Hel"}""", extra: ""","obfuscation":"abc" """.Trim()),
            SseBody.Chunk("""{"content":"lo é\n\"🙂\""}""", extra: ""","obfuscation":"zz" """.Trim()),
            SseBody.Chunk("""{"content":"\u00e9\ud83d\ude42"}""", extra: ""","obfuscation":"q" """.Trim()),
            SseBody.Chunk("{}", "\"stop\""),
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":{"reasoning_tokens":2}}}""",
            "[DONE]");

        List<ChatCompletionUpdate> updates = await ReadAsync(body);

        updates.Select(u => u.Text).Should().Equal("", "Hel", "lo é\n\"🙂\"", "é🙂", null, null);
        updates[^1].ChoiceIndex.Should().Be(-1);
        updates[^1].Usage!.TotalTokens.Should().Be(7);
        updates[^1].Usage!.CachedInputTokens.Should().Be(1);
        updates[^1].Usage!.ReasoningTokens.Should().Be(2);
        updates[^2].FinishReason.Should().Be("stop");
        updates.Should().AllSatisfy(u => u.Id.Should().Be("chatcmpl-1"));
        updates[1].ServiceTier.Should().Be("default");
        updates[1].Created.Should().Be(1751568164);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_RepeatedChunkShapes_DecodeEachTextExactly()
    {
        // The same shape many times exercises the byte-template fast path, including escapes and a change of shape.
        string[] texts = ["a", "\\\"", "b\\n", "\\u00e9", "", "🙂", "x\\\\y"];
        var chunks = new List<string> { SseBody.Chunk("""{"role":"assistant","content":""}""") };
        foreach (string text in texts)
        {
            chunks.Add(SseBody.Chunk($$"""{"content":"{{text}}"}"""));
        }

        chunks.Add(SseBody.Chunk("""{"content":"tail","refusal":null}"""));
        chunks.Add(SseBody.Chunk("""{"content":"end"}""", index: 0, extra: ""","x":1"""));
        chunks.Add(SseBody.Chunk("{}", "\"length\""));
        chunks.Add("[DONE]");

        List<ChatCompletionUpdate> updates = await ReadAsync(SseBody.Data([.. chunks]));

        updates.Select(u => u.Text).Should().Equal("", "a", "\"", "b\n", "é", "", "🙂", "x\\y", "tail", "end", null);
        updates[^1].FinishReason.Should().Be("length");
    }

    [Fact]
    public async Task Accumulator_ParallelToolCallsAndN3_AssemblesByIndex()
    {
        string body = SseBody.Data(
            SseBody.Chunk("""{"role":"assistant","content":null}"""),
            SseBody.Chunk("""{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}"""),
            SseBody.Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}"""),
            SseBody.Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"ty\": 1}"}}]}"""),
            SseBody.Chunk("""{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":""}}]}"""),
            SseBody.Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}"""),
            SseBody.Chunk("""{"role":"assistant","content":"x"}""", index: 1),
            SseBody.Chunk("""{"role":"assistant","content":"y"}""", index: 2),
            SseBody.Chunk("{}", "\"tool_calls\""),
            SseBody.Chunk("{}", "\"stop\"", index: 1),
            SseBody.Chunk("{}", "\"stop\"", index: 2),
            "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Choices.Select(c => c.Index).Should().Equal(0, 1, 2);
        result.Choices[0].ToolCalls.Should().Equal(
            new ChatToolCall(0, "call_a", "function", "f", "{\"city\": 1}"),
            new ChatToolCall(1, "call_b", "function", "g", "{}"));
        result.Choices[0].FinishReason.Should().Be("tool_calls");
        result.Choices[1].Content.Should().Be("x");
        result.Choices[2].Content.Should().Be("y");
    }

    [Fact]
    public async Task Accumulator_RefusalStream_AssemblesRefusal()
    {
        string body = SseBody.Data(
            SseBody.Chunk("""{"role":"assistant","content":null,"refusal":""}"""),
            SseBody.Chunk("""{"refusal":"I'm"}"""),
            SseBody.Chunk("""{"refusal":" sorry"}"""),
            SseBody.Chunk("{}", "\"stop\""),
            "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Choices[0].Refusal.Should().Be("I'm sorry");
        result.Choices[0].Content.Should().BeEmpty();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_AzurePromptFilterAndAnnotationChunks_AreTolerated()
    {
        string filter = """{"id":"","object":"","created":0,"model":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],"choices":[],"usage":null}""";
        string annotation = """{"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":null,"content_filter_results":{},"content_filter_offsets":{"check_offset":1,"start_offset":0,"end_offset":5}}],"usage":null}""";
        string body = SseBody.Data(filter, SseBody.Chunk("""{"role":"assistant","content":"Hi"}"""), annotation, SseBody.Chunk("{}", "\"stop\""), annotation, "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Id.Should().Be("chatcmpl-1");
        result.Model.Should().Be("gpt-4o-2024-08-06");
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Hi");
        result.Choices[0].FinishReason.Should().Be("stop");
    }

    [Fact]
    public async Task Accumulator_VllmContinuousUsage_KeepsLastNotSum()
    {
        string Usage(int n) => $$""","usage":{"prompt_tokens":5,"completion_tokens":{{n}},"total_tokens":{{5 + n}}}""";
        string chunk(string delta, string finish, int n) =>
            $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{{delta}},"finish_reason":{{finish}}}]{{Usage(n)}}}""";
        string body = SseBody.Data(chunk("""{"role":"assistant","content":""}""", "null", 0), chunk("""{"content":"a"}""", "null", 1), chunk("""{"content":"b"}""", "null", 2), chunk("{}", "\"stop\"", 2), "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Usage!.TotalTokens.Should().Be(7);
        result.Choices[0].Content.Should().Be("ab");
    }

    [Fact]
    public async Task Accumulator_OllamaRepeatedRoleAndWholeToolCall_TakesFieldsOnce()
    {
        string chunk(string delta, string finish = "null") =>
            $$"""{"id":"chatcmpl-12","object":"chat.completion.chunk","created":1,"model":"llama3","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{{delta}},"finish_reason":{{finish}}}]}""";
        string body = SseBody.Data(
            chunk("""{"role":"assistant","content":"Hi"}"""),
            chunk("""{"role":"assistant","content":" there"}"""),
            chunk("""{"role":"assistant","content":"","tool_calls":[{"id":"call_1","index":0,"type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}"""),
            chunk("""{"role":"assistant","content":""}""", "\"tool_calls\""),
            "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Choices[0].Role.Should().Be("assistant");
        result.Choices[0].Content.Should().Be("Hi there");
        result.Choices[0].ToolCalls.Should().Equal(new ChatToolCall(0, "call_1", "function", "f", "{\"a\":1}"));
    }

    [Fact]
    public async Task StreamChatCompletionAsync_LlamaCppKeepAlivesAndTimings_AreTolerated()
    {
        string body = ":\n\n: keep-alive\n\n" + SseBody.Data(
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"timings":{"predicted_ms":1.5}}""") + ":\n\n" + SseBody.Data("[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Choices[0].Content.Should().Be("ok");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_LegacyCompletionsWithSpacedJson_YieldsText()
    {
        string body = SseBody.Data(
            """{"id": "cmpl-1", "object": "text_completion", "created": 1681970252, "choices": [{"text": "Hello", "index": 0, "logprobs": null, "finish_reason": null}], "model": "ada"}""",
            """{"id": "cmpl-1", "object": "text_completion", "created": 1681970252, "choices": [{"text": "!", "index": 0, "logprobs": null, "finish_reason": "stop"}], "model": "ada"}""",
            "[DONE]");

        ChatCompletionResult result = Accumulate(await ReadAsync(body));

        result.Choices[0].Content.Should().Be("Hello!");
        result.Model.Should().Be("ada");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_MidStreamErrorEvent_DeliversPrefixThenThrows()
    {
        string body = SseBody.Data(
            SseBody.Chunk("""{"role":"assistant","content":"partial"}"""),
            """{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""",
            "[DONE]");
        var updates = new List<ChatCompletionUpdate>();

        Func<Task> read = async () =>
        {
            using HttpClient http = new BodyHandler(body).CreateClient();
            await foreach (ChatCompletionUpdate u in http.StreamChatCompletionAsync("{}"))
            {
                updates.Add(u);
            }
        };

        OpenAIStreamException error = (await read.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.Message.Should().Be("The server had an error");
        error.ErrorType.Should().Be("server_error");
        error.IsRetryable.Should().BeTrue();
        error.StatusCode.Should().BeNull();
        error.EventIndex.Should().Be(1);
        updates.Should().ContainSingle().Which.Text.Should().Be("partial");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_VllmIntegerErrorCode_IsGivenAsText()
    {
        string body = SseBody.Data("""{"error":{"message":"bad","type":"BadRequestError","param":null,"code":400}}""", "[DONE]");

        Func<Task> read = () => ReadAsync(body);

        OpenAIStreamException error = (await read.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.ErrorCode.Should().Be("400");
        error.ErrorType.Should().Be("BadRequestError");
        error.IsRetryable.Should().BeFalse();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_MalformedJsonEvent_ThrowsWithEventIndexAndNoPartialGarbage()
    {
        string body = SseBody.Data(SseBody.Chunk("""{"content":"a"}"""), SseBody.Chunk("""{"content":"b"}"""), """{"id":"c","choices":[{"index":0,"delta":{"content":"garbage"}""", "[DONE]");
        var texts = new List<string?>();

        Func<Task> read = async () =>
        {
            using HttpClient http = new BodyHandler(body, ReadPattern.Trickle).CreateClient();
            await foreach (ChatCompletionUpdate u in http.StreamChatCompletionAsync("{}"))
            {
                texts.Add(u.Text);
            }
        };

        (await read.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which.EventIndex.Should().Be(2);
        texts.Should().Equal("a", "b");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_EndWithoutDoneOrFinish_ThrowsTruncated()
    {
        string body = SseBody.Data(SseBody.Chunk("""{"role":"assistant","content":"a"}"""), SseBody.Chunk("""{"content":"b"}"""));

        Func<Task> read = () => ReadAsync(body);

        OpenAIStreamProtocolException error = (await read.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which;
        error.IsRetryable.Should().BeTrue();
        error.Message.Should().Contain("truncated");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_FinishWithoutDone_CompletesNormally()
    {
        string body = SseBody.Data(SseBody.Chunk("""{"role":"assistant","content":"a"}"""), SseBody.Chunk("{}", "\"stop\""));

        List<ChatCompletionUpdate> updates = await ReadAsync(body);

        updates.Should().HaveCount(2);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_EmptyBody_ThrowsTruncated()
    {
        Func<Task> read = () => ReadAsync(string.Empty);

        await read.Should().ThrowAsync<OpenAIStreamProtocolException>();
    }

    internal static async Task<List<ChatCompletionUpdate>> ReadAsync(string body)
    {
        using HttpClient http = new BodyHandler(body, ReadPattern.Random(7)).CreateClient();
        var updates = new List<ChatCompletionUpdate>();
        await foreach (ChatCompletionUpdate u in http.StreamChatCompletionAsync("""{"model":"m"}"""))
        {
            updates.Add(u);
        }

        return updates;
    }

    private static ChatCompletionResult Accumulate(List<ChatCompletionUpdate> updates)
    {
        var accumulator = new ChatCompletionAccumulator();
        foreach (ChatCompletionUpdate update in updates)
        {
            accumulator.Append(update);
        }

        return accumulator.Build();
    }
}
