using System.Text;
using System.Text.Json.Nodes;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;
using RichardSzalay.MockHttp;

namespace OpenAIStreaming.Tests.Client;

/// <summary>What the HttpClient extensions send: POST to <c>chat/completions</c> / <c>responses</c> relative to BaseAddress, <c>"stream": true</c> forced.</summary>
public sealed class RequestTests
{
    private const string MinimalChat =
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

    private const string MinimalResponses =
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"output\":[],\"usage\":null}}\n\n";

    public static TheoryData<RequestOverload, string> Requests
    {
        get
        {
            string[] bodies =
            [
                """{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"Hi"}],"temperature":0.2}""",
                """{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}""",
                """{"model":"gpt-4o","messages":[],"stream":true,"stream_options":{"include_usage":true}}""",
                // A nested "stream" key is not the request's stream flag and must stay as it was.
                """{"metadata":{"stream":"false"},"tools":[{"type":"function","function":{"name":"stream","parameters":{"type":"object","properties":{"stream":{"type":"boolean","default":false}}}}}],"model":"gpt-4o","stream":false}""",
                "{\n  \"model\" : \"gpt-4o\",\n  \"stream\" : false ,\n  \"messages\" : [ ]\n}\n",
                """{"stream":null,"model":"gpt-4o","input":"caf\u00e9 é 🙂"}""",
            ];
            var data = new TheoryData<RequestOverload, string>();
            foreach (RequestOverload overload in Enum.GetValues<RequestOverload>())
            {
                foreach (string body in bodies)
                {
                    data.Add(overload, body);
                }
            }

            return data;
        }
    }

    private static IAsyncEnumerable<ChatCompletionUpdate> SendChat(HttpClient http, RequestOverload overload, string json, CancellationToken ct) =>
        overload switch
        {
            RequestOverload.JsonString => http.StreamChatCompletionAsync(json, ct),
            RequestOverload.Utf8Bytes => http.StreamChatCompletionAsync(new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(json)), ct),
            _ => http.StreamChatCompletionAsync(JsonNode.Parse(json)!, ct),
        };

    private static IAsyncEnumerable<ResponseStreamEvent> SendResponse(HttpClient http, RequestOverload overload, string json, CancellationToken ct) =>
        overload switch
        {
            RequestOverload.JsonString => http.StreamResponseAsync(json, ct),
            RequestOverload.Utf8Bytes => http.StreamResponseAsync(new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(json)), ct),
            _ => http.StreamResponseAsync(JsonNode.Parse(json)!, ct),
        };

    private static void ShouldBeStreamingVersionOf(CapturedRequest sent, string originalJson, string path)
    {
        sent.Method.Should().Be(HttpMethod.Post);
        sent.RequestUri.Should().Be(new Uri(StubOpenAIHandler.BaseAddress, path));
        sent.ContentType.Should().Be("application/json");
        JsonObject body = JsonNode.Parse(sent.Body).Should().BeOfType<JsonObject>().Subject;
        JsonNode? stream = body["stream"];
        stream.Should().NotBeNull("\"stream\" must be present");
        stream!.GetValueKind().Should().Be(System.Text.Json.JsonValueKind.True, $"the sent body was {sent.Body}");
        var original = JsonNode.Parse(originalJson)!.AsObject();
        original.Remove("stream");
        body.Remove("stream");
        if (path == "chat/completions" && !original.ContainsKey("stream_options"))
        {
            // The chat reader asks for the usage of the answer unless the body sets stream_options itself.
            JsonNode.DeepEquals(body["stream_options"], JsonNode.Parse("""{"include_usage":true}""")).Should().BeTrue($"the sent body was {sent.Body}");
            body.Remove("stream_options");
        }

        JsonNode.DeepEquals(body, original).Should().BeTrue($"every other field is preserved; sent {sent.Body}");
    }

    /// <summary>Runs <paramref name="call"/> against a stub answering <paramref name="sseBody"/> and returns the one request it sent.</summary>
    private static async Task<CapturedRequest> SendAsync<T>(string sseBody, Func<HttpClient, CancellationToken, IAsyncEnumerable<T>> call)
    {
        var stub = StubOpenAIHandler.Sse(sseBody);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();

        var captured = await call(http, guard.Token).CaptureAsync();

        captured.Error.Should().BeNull();
        return stub.Requests.Should().ContainSingle().Subject;
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task StreamChatCompletionAsync_JsonBody_PostsToChatCompletionsWithStreamForcedTrue(RequestOverload overload, string json)
    {
        CapturedRequest sent = await SendAsync(MinimalChat, (http, ct) => SendChat(http, overload, json, ct));

        ShouldBeStreamingVersionOf(sent, json, "chat/completions");
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task StreamResponseAsync_JsonBody_PostsToResponsesWithStreamForcedTrue(RequestOverload overload, string json)
    {
        CapturedRequest sent = await SendAsync(MinimalResponses, (http, ct) => SendResponse(http, overload, json, ct));

        ShouldBeStreamingVersionOf(sent, json, "responses");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)]
    [InlineData(true)]
    public async Task StreamChatCompletionAsync_TypedRequest_SerializedWithTypeInfoAndStreamForcedTrue(bool? stream)
    {
        var request = new TypedChatRequest("gpt-4o", [new TypedMessage("user", "Hi")], stream, 0.5);
        string serialized = System.Text.Json.JsonSerializer.Serialize(request, TypedRequestJsonContext.Default.TypedChatRequest);

        CapturedRequest sent = await SendAsync(MinimalChat, (http, ct) => http.StreamChatCompletionAsync(request, TypedRequestJsonContext.Default.TypedChatRequest, ct));

        ShouldBeStreamingVersionOf(sent, serialized, "chat/completions");
        sent.Body.Should().Contain("\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]", "the type info's naming policy is used");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)]
    public async Task StreamResponseAsync_TypedRequest_SerializedWithTypeInfoAndStreamForcedTrue(bool? stream)
    {
        var request = new TypedChatRequest("gpt-4o", [new TypedMessage("user", "Hi")], stream);
        string serialized = System.Text.Json.JsonSerializer.Serialize(request, TypedRequestJsonContext.Default.TypedChatRequest);

        CapturedRequest sent = await SendAsync(MinimalResponses, (http, ct) => http.StreamResponseAsync(request, TypedRequestJsonContext.Default.TypedChatRequest, ct));

        ShouldBeStreamingVersionOf(sent, serialized, "responses");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_HttpRequestMessage_SentAsIs()
    {
        const string body = """{"messages":[{"role":"user","content":"Hi"}],"stream":true,"max_tokens":5}""";
        var stub = StubOpenAIHandler.Sse(MinimalChat);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        var uri = new Uri("http://azure.test/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("api-key", "test-key");

        var updates = await http.StreamChatCompletionAsync(request, guard.Token).CaptureAsync();

        updates.Error.Should().BeNull();
        updates.Items.Should().ContainSingle().Which.Text.Should().Be("ok");
        CapturedRequest sent = stub.Requests.Should().ContainSingle().Subject;
        sent.RequestUri.Should().Be(uri);
        sent.Body.Should().Be(body);
        sent.Headers.GetValues("api-key").Should().Equal("test-key");
    }

    [Fact]
    public async Task StreamResponseAsync_HttpRequestMessage_SentAsIs()
    {
        const string body = """{"model":"gpt-4o","input":"Hi","stream":true}""";
        var stub = StubOpenAIHandler.Sse(MinimalResponses);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        var uri = new Uri("http://other.test/v2/responses?x=1");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

        var events = await http.StreamResponseAsync(request, guard.Token).CaptureAsync();

        events.Error.Should().BeNull();
        events.Items.Should().ContainSingle().Which.Kind.Should().Be(ResponseStreamEventKind.Completed);
        CapturedRequest sent = stub.Requests.Should().ContainSingle().Subject;
        sent.RequestUri.Should().Be(uri);
        sent.Body.Should().Be(body);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_BaseAddressWithPath_RequestsChatCompletionsUnderIt()
    {
        using var mock = new MockHttpMessageHandler();
        mock.Expect(HttpMethod.Post, "http://127.0.0.1:5000/openai/v1/chat/completions")
            .Respond("text/event-stream", MinimalChat);
        using var http = new HttpClient(mock) { BaseAddress = new Uri("http://127.0.0.1:5000/openai/v1/") };
        using CancellationTokenSource guard = HangGuard.Start();

        var updates = await http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, guard.Token).CaptureAsync();

        updates.Error.Should().BeNull();
        updates.Items.Should().ContainSingle().Which.Text.Should().Be("ok");
        mock.VerifyNoOutstandingExpectation();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ClientsWithDifferentBaseAddressesInTurn_EachRequestsItsOwnEndpoint()
    {
        string[] bases = ["http://127.0.0.1:5000/openai/v1/", "http://127.0.0.1:5001/v1", "http://127.0.0.1:5000/openai/v1/?api-version=1", "http://user:secret@127.0.0.1:5000/openai/v1/"];
        string[] expected = ["http://127.0.0.1:5000/openai/v1/chat/completions", "http://127.0.0.1:5001/v1/chat/completions", "http://127.0.0.1:5000/openai/v1/chat/completions?api-version=1", "http://user:secret@127.0.0.1:5000/openai/v1/chat/completions"];
        using CancellationTokenSource guard = HangGuard.Start();
        for (int round = 0; round < 2; round++) // the second round meets endpoints built before
        {
            for (int call = 0; call < 2 * bases.Length; call++) // each base address twice in a row, as a new Uri each time
            {
                int i = call / 2;
                Uri? sent = null;
                using var http = new HttpClient(new CallbackHandler(request =>
                {
                    sent = request.RequestUri;
                    var content = new StringContent(MinimalChat);
                    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
                    return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content, RequestMessage = request };
                })) { BaseAddress = new Uri(bases[i]) };

                var updates = await http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, guard.Token).CaptureAsync();

                updates.Error.Should().BeNull();
                sent!.OriginalString.Should().Be(new Uri(expected[i]).OriginalString, $"base address {bases[i]}");
                sent.UserInfo.Should().Be(new Uri(expected[i]).UserInfo);
            }
        }
    }

    private sealed class CallbackHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(respond(request));
    }

    [Fact]
    public async Task StreamResponseAsync_BaseAddressWithPath_RequestsResponsesUnderIt()
    {
        using var mock = new MockHttpMessageHandler();
        mock.Expect(HttpMethod.Post, "http://127.0.0.1:5000/openai/v1/responses")
            .Respond("text/event-stream", MinimalResponses);
        using var http = new HttpClient(mock) { BaseAddress = new Uri("http://127.0.0.1:5000/openai/v1/") };
        using CancellationTokenSource guard = HangGuard.Start();

        var events = await http.StreamResponseAsync(StreamingCalls.ResponsesRequest, guard.Token).CaptureAsync();

        events.Error.Should().BeNull();
        events.Items.Should().ContainSingle();
        mock.VerifyNoOutstandingExpectation();
    }

    [Theory]
    [InlineData("text/event-stream")]
    [InlineData("text/event-stream; charset=utf-8")]
    [InlineData("TEXT/EVENT-STREAM;charset=UTF-8")]
    public async Task StreamChatCompletionAsync_EventStreamContentTypeVariants_Accepted(string contentType)
    {
        var stub = StubOpenAIHandler.Respond(System.Net.HttpStatusCode.OK, Encoding.UTF8.GetBytes(MinimalChat), contentType, null, StreamEnd.Eof);

        var captured = await stub.CaptureChatAsync();

        captured.Error.Should().BeNull();
        captured.Items.Should().ContainSingle().Which.Text.Should().Be("ok");
    }
}
