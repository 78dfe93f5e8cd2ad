using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

public sealed record TestChatRequest(string Model, bool Stream);

[JsonSerializable(typeof(TestChatRequest))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
public sealed partial class TestJsonContext : JsonSerializerContext;

public sealed class StreamEntryPointTests
{
    private static readonly string Healthy = SseBody.Data(SseBody.Chunk("""{"role":"assistant","content":"ok"}"""), SseBody.Chunk("{}", "\"stop\""), "[DONE]");

    [Fact]
    public async Task StreamChatCompletionAsync_401WithPrettyPrintedError_ThrowsWithOpenAIFields()
    {
        const string body = "{\n    \"error\": {\n        \"message\": \"Incorrect API key provided: sk-wrong****-key.\",\n        \"type\": \"invalid_request_error\",\n        \"param\": null,\n        \"code\": \"invalid_api_key\"\n    }\n}\n";
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.Unauthorized, body);
        handler.ResponseHeaders["x-request-id"] = "req_c45bfc7515dca54ef87c667f8210af23";

        OpenAIStreamException error = await ThrowsAsync<OpenAIStreamException>(handler);

        error.StatusCode.Should().Be(401);
        error.ErrorType.Should().Be("invalid_request_error");
        error.ErrorCode.Should().Be("invalid_api_key");
        error.Param.Should().BeNull();
        error.Message.Should().StartWith("Incorrect API key provided");
        error.RequestId.Should().Be("req_c45bfc7515dca54ef87c667f8210af23");
        error.IsRetryable.Should().BeFalse();
        handler.Responses.Should().ContainSingle();
        handler.Bodies.Should().AllSatisfy(s => s.IsDisposed.Should().BeTrue());
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    public async Task StreamChatCompletionAsync_ErrorStatus_IsRetryableByStatus(HttpStatusCode status, bool retryable)
    {
        var handler = StubOpenAIHandler.WithBody(status, """{"error":{"message":"m","type":"t","param":null,"code":"c"}}""", "application/json");

        OpenAIStreamException error = await ThrowsAsync<OpenAIStreamException>(handler);

        error.IsRetryable.Should().Be(retryable);
        error.StatusCode.Should().Be((int)status);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ShouldRetryFalseHeader_OverridesStatus()
    {
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.TooManyRequests, """{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""", "application/json");
        handler.ResponseHeaders["x-should-retry"] = "false";

        (await ThrowsAsync<OpenAIStreamException>(handler)).IsRetryable.Should().BeFalse();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_OllamaStringError_UsesItAsMessage()
    {
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.NotFound, """{"error":"model not found"}""", "application/json");

        (await ThrowsAsync<OpenAIStreamException>(handler)).Message.Should().Be("model not found");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_NonJsonErrorBody_ThrowsWithStatusAndText()
    {
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.BadGateway, "<html>Bad gateway</html>", "text/html");

        OpenAIStreamException error = await ThrowsAsync<OpenAIStreamException>(handler);

        error.StatusCode.Should().Be(502);
        error.IsRetryable.Should().BeTrue();
        error.Message.Should().Contain("Bad gateway");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_200WithJsonCompletionBody_ThrowsInsteadOfEmptyStream()
    {
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.OK, """{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}""", "application/json");

        OpenAIStreamProtocolException error = await ThrowsAsync<OpenAIStreamProtocolException>(handler);

        error.Message.Should().Contain("stream");
        error.StatusCode.Should().Be(200);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_200WithJsonErrorBody_ThrowsWithErrorFields()
    {
        var handler = StubOpenAIHandler.WithBody(HttpStatusCode.OK, """{"error":{"message":"overloaded","type":"server_error","param":null,"code":"server_is_overloaded"}}""", "application/json");

        OpenAIStreamException error = await ThrowsAsync<OpenAIStreamException>(handler);

        error.ErrorCode.Should().Be("server_is_overloaded");
        error.IsRetryable.Should().BeTrue();
    }

    public static IEnumerable<object[]> BodyForms() =>
    [
        ["string"], ["utf8"], ["node"], ["typed"],
    ];

    [Theory]
    [MemberData(nameof(BodyForms))]
    public async Task StreamChatCompletionAsync_AnyBodyForm_ForcesStreamTrueAndKeepsOtherFields(string form)
    {
        var handler = StubOpenAIHandler.Sse(Healthy);
        using HttpClient http = handler.CreateClient("http://127.0.0.1:1/v1");
        const string json = """{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"hé"}],"n":1}""";
        IAsyncEnumerable<ChatCompletionUpdate> updates = form switch
        {
            "string" => http.StreamChatCompletionAsync(json),
            "utf8" => http.StreamChatCompletionAsync(System.Text.Encoding.UTF8.GetBytes(json)),
            "node" => http.StreamChatCompletionAsync(JsonNode.Parse(json)!),
            _ => http.StreamChatCompletionAsync(new TestChatRequest("gpt-4o", false), TestJsonContext.Default.TestChatRequest),
        };

        var texts = new List<string?>();
        await foreach (ChatCompletionUpdate update in updates)
        {
            texts.Add(update.Text);
        }

        texts.Should().Equal("ok", null);
        CapturedRequest sent = handler.Requests.Single();
        sent.RequestUri!.ToString().Should().Be("http://127.0.0.1:1/v1/chat/completions");
        sent.Method.Should().Be(HttpMethod.Post);
        JsonNode body = JsonNode.Parse(sent.Body)!;
        body["stream"]!.GetValue<bool>().Should().BeTrue();
        body["model"]!.GetValue<string>().Should().Be("gpt-4o");
        if (form != "typed")
        {
            body["messages"]![0]!["content"]!.GetValue<string>().Should().Be("hé");
            body["n"]!.GetValue<int>().Should().Be(1);
        }
    }

    [Fact]
    public async Task StreamResponseAsync_BodyWithoutStream_AddsStreamAndPostsToResponses()
    {
        var handler = StubOpenAIHandler.Sse(SseBody.Typed(("response.completed", """{"type":"response.completed","sequence_number":0,"response":{"id":"r","status":"completed"}}""")));
        using HttpClient http = handler.CreateClient("http://127.0.0.1:1/openai/v1/?api-version=2025-04-01");

        await foreach (ResponseStreamEvent e in http.StreamResponseAsync("""{"model":"gpt-4o","input":"x"}"""))
        {
            e.Kind.Should().Be(ResponseStreamEventKind.Completed);
        }

        handler.Requests.Single().RequestUri!.ToString().Should().Be("http://127.0.0.1:1/openai/v1/responses?api-version=2025-04-01");
        JsonNode.Parse(handler.Requests.Single().Body)!["stream"]!.GetValue<bool>().Should().BeTrue();
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("{\"model\":")]
    [InlineData("not json")]
    public void StreamChatCompletionAsync_BodyNotAJsonObject_ThrowsArgumentExceptionAtOnce(string json)
    {
        using HttpClient http = StubOpenAIHandler.Sse(Healthy).CreateClient();

        Action call = () => http.StreamChatCompletionAsync(json);

        call.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void StreamChatCompletionAsync_NoBaseAddress_ThrowsInvalidOperation()
    {
        using var http = new HttpClient(StubOpenAIHandler.Sse(Healthy));

        Action call = () => http.StreamChatCompletionAsync("{}");

        call.Should().Throw<InvalidOperationException>().WithMessage("*BaseAddress*");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_BreakAfterFirstUpdate_DisposesResponse()
    {
        var handler = StubOpenAIHandler.Sse(Healthy, Chunking.OneByte());
        using HttpClient http = handler.CreateClient();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("{}"))
        {
            break;
        }

        handler.Bodies.Should().ContainSingle().Which.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_NormalEndAndError_DisposeResponse()
    {
        var ok = StubOpenAIHandler.Sse(Healthy);
        using (HttpClient http = ok.CreateClient())
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("{}"))
            {
                update.Id.Should().Be("chatcmpl-1");
            }
        }

        var broken = StubOpenAIHandler.Sse(SseBody.Data("{oops"));
        await ThrowsAsync<OpenAIStreamProtocolException>(broken);

        ok.Bodies.Single().IsDisposed.Should().BeTrue();
        broken.Bodies.Single().IsDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_CallerCancels_ThrowsOperationCanceledAndDisposes()
    {
        var handler = StubOpenAIHandler.Sse(Healthy, Chunking.OneByte());
        using HttpClient http = handler.CreateClient();
        using var cts = new CancellationTokenSource();

        Func<Task> read = async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("{}", cts.Token))
            {
                await cts.CancelAsync();
            }
        };

        await read.Should().ThrowAsync<OperationCanceledException>();
        handler.Bodies.Single().IsDisposed.Should().BeTrue();
    }

    private static async Task<T> ThrowsAsync<T>(StubOpenAIHandler handler)
        where T : Exception
    {
        using HttpClient http = handler.CreateClient();
        Func<Task> read = async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("""{"model":"m"}"""))
            {
                _ = update;
            }
        };

        return (await read.Should().ThrowAsync<T>()).Which;
    }
}
