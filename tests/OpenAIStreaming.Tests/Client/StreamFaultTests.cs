using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

/// <summary>
/// Faults inside a 200 event stream: malformed JSON, an oversize event, truncation. Each ends in a typed
/// <see cref="OpenAIStreamProtocolException"/> after every good update before it was delivered — never a silent end.
/// </summary>
public sealed class StreamFaultTests
{
    private static string Chunk(string delta, string finish = "null", int index = 0) =>
        $$$"""{"id":"chatcmpl-f","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","choices":[{"index":{{{index}}},"delta":{{{delta}}},"logprobs":null,"finish_reason":{{{finish}}}}],"usage":null}""";

    private static readonly string[] GoodChunks =
    [
        Chunk("""{"role":"assistant","content":""}"""),
        Chunk("""{"content":"Hel"}"""),
        Chunk("""{"content":"lo"}"""),
        Chunk("{}", "\"stop\""),
    ];

    public static TheoryData<int, string, Chunking> MalformedCases
    {
        get
        {
            string[] malformed =
            [
                """{"id":"chatcmpl-f","choices":[{"index":0,"delta":{"content":"he""",
                "not json at all",
                """{"id":}""",
                """{"id":"chatcmpl-f","choices":[{"index":0,"delta":{"content":"a\q"}}]}""",
            ];
            var data = new TheoryData<int, string, Chunking>();
            foreach (int index in new[] { 0, 2 })
            {
                foreach (string json in malformed)
                {
                    data.Add(index, json, Chunking.Whole());
                    data.Add(index, json, Chunking.OneByte(asyncReads: true));
                    data.Add(index, json, Chunking.Random(seed: 8));
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public async Task StreamChatCompletionAsync_MalformedJsonAtEventK_ThrowsWithEventIndexAfterDeliveringEventsBeforeK(int k, string malformed, Chunking chunking)
    {
        string[] chunks = [.. GoodChunks.Take(k), malformed, .. GoodChunks.Skip(k)];

        var captured = await StubOpenAIHandler.Sse(SseBody.Chat(chunks), chunking).CaptureChatAsync();

        captured.Items.Should().HaveCount(k, "exactly the updates before the malformed event are delivered");
        captured.Items.Select(u => u.Text).Should().Equal(new[] { string.Empty, "Hel" }.Take(k));
        var error = captured.ErrorShouldBe<OpenAIStreamProtocolException>();
        error.EventIndex.Should().Be(k);
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_MalformedJsonAtEventK_ThrowsWithEventIndexAfterDeliveringEventsBeforeK(Chunking chunking)
    {
        string body =
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
            + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
            + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"delta\":\n\n"
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\"}}\n\n";

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureResponsesAsync();

        captured.Items.Select(e => e.Kind).Should().Equal(ResponseStreamEventKind.Created, ResponseStreamEventKind.OutputTextDelta);
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamChatCompletionAsync_EventLargerThanOneMebibyte_ThrowsProtocolExceptionAfterEarlierUpdates(bool asyncReads)
    {
        string huge = Chunk($$"""{"content":"{{new string('x', 1024 * 1024)}}"}""");
        string body = SseBody.Chat(GoodChunks[0], GoodChunks[1], huge, GoodChunks[3]);

        var captured = await StubOpenAIHandler.Sse(body, Chunking.Random(seed: 4, asyncReads, maxReadSize: 8192)).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal(string.Empty, "Hel");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().RequestId.Should().Be(StubOpenAIHandler.RequestId);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_EndsWithoutDoneOrFinishReason_ThrowsRetryableTruncation(Chunking chunking)
    {
        string body = SseBody.Data(GoodChunks[0], GoodChunks[1], GoodChunks[2]);

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal(string.Empty, "Hel", "lo");
        var error = captured.ErrorShouldBe<OpenAIStreamProtocolException>();
        error.IsRetryable.Should().BeTrue("a truncated stream may succeed when tried again");
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_CutInsideAnEvent_ThrowsTruncationAfterCompleteEvents(Chunking chunking)
    {
        string body = SseBody.Data(GoodChunks[0], GoodChunks[1]) + "data: " + GoodChunks[2][..40];

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal(string.Empty, "Hel");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().IsRetryable.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_EmptyEventStream_ThrowsTruncation(Chunking chunking)
    {
        var captured = await StubOpenAIHandler.Sse(string.Empty, chunking).CaptureChatAsync();

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().IsRetryable.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_OneOfTwoChoicesUnfinishedAndNoDone_ThrowsTruncation(Chunking chunking)
    {
        string body = SseBody.Data(
            Chunk("""{"role":"assistant","content":"A"}"""),
            Chunk("""{"role":"assistant","content":"B"}""", index: 1),
            Chunk("{}", "\"stop\""));

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().HaveCount(3);
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().IsRetryable.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_FinishReasonButNoDone_CompletesNormally(Chunking chunking)
    {
        var (updates, result) = await StubOpenAIHandler.Sse(SseBody.Data(GoodChunks), chunking).ChatAsync();

        updates.Should().HaveCount(4);
        result.Choices.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Content = "Hello", FinishReason = "stop" });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_DoneButNoFinishReason_CompletesNormally(Chunking chunking)
    {
        var (updates, result) = await StubOpenAIHandler.Sse(SseBody.Chat(GoodChunks[0], GoodChunks[1]), chunking).ChatAsync();

        updates.Should().HaveCount(2);
        result.Choices.Should().ContainSingle().Which.Content.Should().Be("Hel");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_EndsWithoutTerminalEvent_ThrowsTruncation(Chunking chunking)
    {
        string body = SseBody.Responses(
            """{"type":"response.created","sequence_number":0,"response":{"id":"resp_t","object":"response","status":"in_progress","model":"gpt-4o","output":[],"usage":null}}""",
            """{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}""",
            """{"type":"response.output_text.done","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hi","logprobs":[]}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureResponsesAsync();

        captured.Items.Should().HaveCount(3);
        captured.ErrorShouldBe<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_EmptyEventStream_ThrowsTruncation(Chunking chunking)
    {
        var captured = await StubOpenAIHandler.Sse(string.Empty, chunking).CaptureResponsesAsync();

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_MalformedJsonAfterCommentsAndFieldOnlyBlocks_EventIndexCountsDispatchedEventsOnly(Chunking chunking)
    {
        // Comments, keep-alives and id/retry-only blocks dispatch nothing, so they are not events and take no index.
        string body = ": ping\n\n:\n" + SseBody.Data(GoodChunks[0]) + "id: 5\n\nretry: 100\n\n: keep-alive\n\n" + SseBody.Data(GoodChunks[1], "{broken", GoodChunks[2]);

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().HaveCount(2);
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(2);
    }
}
