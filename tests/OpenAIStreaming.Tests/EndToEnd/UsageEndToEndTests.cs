using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Streaming.Internal;
using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// The usage of a chat stream: this library's reader asks for it unless the body sets <c>stream_options</c> itself; the
/// handler asks for it on every chat stream when <see cref="OpenAIStreamingOptions.IncludeUsage"/> is on.
/// </summary>
public sealed class UsageEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private const string Request = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"Say hello"}]}""";

    [Theory]
    [InlineData("""{"a":1}""", """{"stream_options":{"include_usage":true},"a":1}""")]
    [InlineData("""{}""", """{"stream_options":{"include_usage":true}}""")]
    [InlineData(" { } ", """ {"stream_options":{"include_usage":true} } """)]
    [InlineData("{\n  \"a\": [1]\n}", "{\"stream_options\":{\"include_usage\":true},\n  \"a\": [1]\n}")]
    public void Add_ABodyWithoutStreamOptions_GetsIncludeUsageAndKeepsEveryOtherByte(string body, string expected) =>
        Encoding.UTF8.GetString(IncludeUsage.Add(Encoding.UTF8.GetBytes(body))!).Should().Be(expected);

    [Theory]
    [InlineData("""{"stream_options":{"include_usage":false}}""")]
    [InlineData("""{"a":1,"stream_options":{}}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"a":""")]
    [InlineData("not json")]
    public void Add_ABodyThatSetsStreamOptionsOrIsNotAnObject_IsLeftAlone(string body) =>
        IncludeUsage.Add(Encoding.UTF8.GetBytes(body)).Should().BeNull();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TypedReader_AsksForTheUsageByDefault(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using HttpClient http = Client(server, throughHandler, new OpenAIStreamingOptions());
        OpenAIUsage? usage = null;

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(Request))
        {
            usage ??= update.Usage;
        }

        usage.Should().NotBeNull();
        usage!.OutputTokens.Should().BeGreaterThan(0);
        server.Requests.Single().Body.Should().Contain("\"include_usage\":true");
    }

    [Fact]
    public async Task TypedReader_ABodyThatTurnsUsageOff_IsRespected()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using HttpClient http = Client(server, throughHandler: true, new OpenAIStreamingOptions { IncludeUsage = true });
        var updates = new List<ChatCompletionUpdate>();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(Request.Replace("]}", "],\"stream_options\":{\"include_usage\":false}}", StringComparison.Ordinal)))
        {
            updates.Add(update);
        }

        updates.Should().NotContain(u => u.Usage != null);
        server.Requests.Single().Body.Should().Contain("\"include_usage\":false");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TypedReader_AServerThatRefusesStreamOptions_GetsTheBodyAsItCame(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(400, "unsupported_stream_options")) { When = request => request.Body.Contains("stream_options", StringComparison.Ordinal) });
        using HttpClient http = Client(server, throughHandler, new OpenAIStreamingOptions());
        var text = new StringBuilder();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(Request))
        {
            text.Append(update.Text);
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, [new FakeMessage("user", "Say hello")]));
        server.Requests.Should().HaveCount(2);
        server.Requests[1].Body.Should().NotContain("stream_options");
    }

    [Fact]
    public async Task TypedReader_ABodyThatSetsItsOwnStreamOptions_IsRefusedAsItIs()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(400, "unsupported_stream_options")) { When = request => request.Body.Contains("stream_options", StringComparison.Ordinal) });
        using HttpClient http = Client(server, throughHandler: false, new OpenAIStreamingOptions());

        Func<Task> read = async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(Request.Replace("]}", "],\"stream_options\":{\"include_usage\":true}}", StringComparison.Ordinal)))
            {
            }
        };

        (await read.Should().ThrowAsync<OpenAIStreamException>()).Which.Param.Should().Be("stream_options", "the caller asked for it: the error is theirs");
        server.Requests.Should().ContainSingle();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RawBodyThroughTheHandler_GetsTheUsageChunkOnlyWithIncludeUsage(bool includeUsage)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using HttpClient http = Client(server, throughHandler: true, new OpenAIStreamingOptions { IncludeUsage = includeUsage });
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent(Request.Replace("]}", "],\"stream\":true}", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };

        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string body = await response.Content.ReadAsStringAsync();

        body.Contains("\"usage\":{", StringComparison.Ordinal).Should().Be(includeUsage);
        body.Should().EndWith("data: [DONE]\n\n");
    }

    [Fact]
    public async Task OfficialSdkThroughTheHandler_GetsTheUsage()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using HttpClient http = Client(server, throughHandler: true, new OpenAIStreamingOptions { IncludeUsage = true });
        var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = http.BaseAddress,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
        ChatTokenUsage? usage = null;

        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage("Say hello")]))
        {
            usage ??= update.Usage;
        }

        usage.Should().NotBeNull();
        usage!.OutputTokenCount.Should().BeGreaterThan(0);
    }

    private static HttpClient Client(FakeOpenAIServer server, bool throughHandler, OpenAIStreamingOptions options) =>
        throughHandler
            ? new HttpClient(new OpenAIStreamingHandler(options) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = server.BaseAddress }
            : new HttpClient { BaseAddress = server.BaseAddress };
}
