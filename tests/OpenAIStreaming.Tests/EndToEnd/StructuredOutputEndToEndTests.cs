using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Structured answers read over real sockets: the typed reader checks each tool call's arguments, and the content when the
/// request asks for JSON, as they stream; a choice that finishes as complete with JSON that is not complete and valid is a
/// typed error, and the accumulator says at every update how far the JSON and the code fences have come.
/// </summary>
public sealed class StructuredOutputEndToEndTests
{
    private const string JsonSchemaRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}}""";
    private const string JsonObjectRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}""";
    private const string TextRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}""";

    [Theory]
    [InlineData("chat-structured-output.sse")]
    [InlineData("chat-n3-structured-output.sse")]
    [InlineData("chat-json-text-181-events.sse")]
    public async Task Stream_ARecordedStructuredAnswer_IsCompleteJsonAndAValidPrefixAtEveryUpdate(string recording)
    {
        await using FakeOpenAIServer server = await ServeAsync(Recordings.Read(recording));
        using HttpClient http = Client(server);
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { CheckContentAsJson = true });

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(JsonSchemaRequest))
        {
            accumulator.Append(update);
            if (update.ChoiceIndex >= 0)
            {
                accumulator.GetProgress(update.ChoiceIndex).Content.Should().NotBe(JsonTextState.Invalid);
            }
        }

        accumulator.Build().Choices.Should().OnlyContain(c => c.ContentJson == JsonTextState.Complete && !c.InsideCodeFence);
    }

    [Theory]
    [InlineData("chat-tool-call.sse")]
    [InlineData("chat-tool-call-2.sse")]
    [InlineData("chat-tool-call-strict.sse")]
    [InlineData("chat-parallel-tool-calls.sse")]
    public async Task Stream_RecordedToolCalls_HaveCompleteJsonArguments(string recording)
    {
        await using FakeOpenAIServer server = await ServeAsync(Recordings.Read(recording));
        using HttpClient http = Client(server);
        var accumulator = new ChatCompletionAccumulator();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(TextRequest))
        {
            accumulator.Append(update);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.ToolCalls.Should().NotBeEmpty();
        choice.ToolCallArgumentsJson.Should().Be(JsonTextState.Complete);
        accumulator.GetProgress(0).ToolCallArguments.Should().Be(JsonTextState.Complete);
    }

    [Theory]
    [InlineData(JsonSchemaRequest)]
    [InlineData(JsonObjectRequest)]
    public async Task Stream_JsonAnswerCutShortButFinishedAsStop_IsATypedError(string request)
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(Content("{\"answer\":"), Content("[1,2"), Finish("stop")));
        using HttpClient http = Client(server);
        var texts = new List<string>();

        Exception? error = await Record(async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request))
            {
                texts.Add(update.Text ?? string.Empty);
            }
        });

        OpenAIStreamProtocolException typed = error.Should().BeOfType<OpenAIStreamProtocolException>().Which;
        typed.Message.Should().Contain("Choice 0 finished ('stop')").And.Contain("cut before its JSON value is complete (after 14 characters)");
        typed.IsRetryable.Should().BeFalse();
        string.Concat(texts).Should().Be("{\"answer\":[1,2", "the text came through; only the finish is refused");
    }

    [Fact]
    public async Task Stream_JsonAnswerThatIsNotJson_IsATypedErrorNamingWhere()
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(Content("{\"a\":1,"), Content("}"), Finish("stop")));
        using HttpClient http = Client(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(JsonObjectRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("not valid JSON. Expected a property name at character 7.");
    }

    [Fact]
    public async Task Stream_ToolCallArgumentsThatEndInvalid_AreATypedError()
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(ToolCall(0, "call_1", "get_weather", "{\"city\":"), ToolCall(0, null, null, "\"Paris\""), Finish("tool_calls")));
        using HttpClient http = Client(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(TextRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("the arguments of its tool call 0 is cut before its JSON value is complete");
    }

    [Fact]
    public async Task Stream_AToolCallThatStreamedNoArgumentsAtAll_IsNotAnError()
    {
        // Some compatible servers send no arguments for a function without parameters.
        await using FakeOpenAIServer server = await ServeAsync(Body(ToolCall(0, "call_1", "now", string.Empty), Finish("tool_calls")));
        using HttpClient http = Client(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(TextRequest)));

        error.Should().BeNull();
    }

    [Fact]
    public async Task Stream_TextAnswerThatIsNotJson_IsNotCheckedWithoutAJsonResponseFormat()
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(Content("{not json"), Finish("stop")));
        using HttpClient http = Client(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(TextRequest.Replace("}]}", "}],\"response_format\":{\"type\":\"text\"}}", StringComparison.Ordinal))));

        error.Should().BeNull();
    }

    [Theory]
    [InlineData("length")]
    [InlineData("content_filter")]
    public async Task Stream_JsonCutShortByItsFinishReason_IsNotAnError_TheProgressSaysSo(string finish)
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(Content("{\"answer\":[1,2"), Finish(finish)));
        using HttpClient http = Client(server);
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { CheckContentAsJson = true });

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(JsonSchemaRequest))
        {
            accumulator.Append(update);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.FinishReason.Should().Be(finish);
        choice.ContentJson.Should().Be(JsonTextState.ValidPrefix, "the finish reason says the answer is incomplete; the state says how");
    }

    [Fact]
    public async Task Stream_AStructuredOutputRefusal_IsNotAJsonError()
    {
        await using FakeOpenAIServer server = await ServeAsync(Recordings.Read("chat-refusal.sse"));
        using HttpClient http = Client(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(JsonSchemaRequest)));

        error.Should().BeNull();
    }

    [Fact]
    public async Task Stream_TextWithCodeFences_TheProgressFollowsTheFenceAtEveryUpdate()
    {
        await using FakeOpenAIServer server = await ServeAsync(Body(Content("Here:\n``"), Content("`cs\nvar x = 1;\n"), Content("```\nDone."), Finish("stop")));
        using HttpClient http = Client(server);
        var accumulator = new ChatCompletionAccumulator();
        var inside = new List<bool>();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(TextRequest))
        {
            accumulator.Append(update);
            if (!string.IsNullOrEmpty(update.Text))
            {
                inside.Add(accumulator.GetProgress(0).InsideCodeFence);
            }
        }

        inside.Should().Equal(false, true, false);
        accumulator.Build().Choices.Single().InsideCodeFence.Should().BeFalse();
    }

    private static string Content(string text) =>
        $$"""{"index":0,"delta":{"content":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"finish_reason":null}""";

    private static string ToolCall(int index, string? id, string? name, string arguments)
    {
        string head = id is null ? string.Empty : "\"id\":\"" + id + "\",\"type\":\"function\",";
        string function = name is null ? string.Empty : "\"name\":\"" + name + "\",";
        return "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" + index + "," + head + "\"function\":{" + function
            + "\"arguments\":" + System.Text.Json.JsonSerializer.Serialize(arguments) + "}}]},\"finish_reason\":null}";
    }

    private static string Finish(string reason) => $$"""{"index":0,"delta":{},"finish_reason":"{{reason}}"}""";

    private static byte[] Body(params string[] choices)
    {
        var body = new StringBuilder("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
        foreach (string choice in choices)
        {
            body.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[").Append(choice).Append("]}\n\n");
        }

        return Encoding.UTF8.GetBytes(body.Append("data: [DONE]\n\n").ToString());
    }

    private static async Task<FakeOpenAIServer> ServeAsync(byte[] body)
    {
        FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(body)));
        return server;
    }

    private static HttpClient Client(FakeOpenAIServer server) =>
        new(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };

    private static async Task DrainAsync(IAsyncEnumerable<ChatCompletionUpdate> updates)
    {
        await foreach (ChatCompletionUpdate update in updates)
        {
        }
    }

    private static async Task<Exception?> Record(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
