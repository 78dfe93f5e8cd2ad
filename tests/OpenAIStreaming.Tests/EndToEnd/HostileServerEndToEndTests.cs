using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A hostile or broken server on real sockets can neither exhaust the client nor pull credentials out of it: redirects,
/// fallbacks to another origin, endless events and lines, white space forever, corrupt framing and compression, stalled
/// warm-up answers and out-of-range indexes each end bounded in memory and time, with a typed error, and nothing reaches a
/// second origin that should not. Memory is asserted with a generous margin, in a collection that runs alone.
/// </summary>
[Collection(nameof(MemoryMeasuredCollection))]
public sealed class HostileServerEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private const string Prompt = "Say hello";
    private const string ChatRequest = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""";
    private const long Megabyte = 1024 * 1024;
    private static readonly FakeMessage[] Messages = [new("user", Prompt)];

    // 1. Redirects

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task Redirect_ThroughTheRegisteredClient_IsATypedErrorAndNothingReachesTheOtherOrigin(int status)
    {
        await using FakeOpenAIServer elsewhere = await FakeOpenAIServer.StartAsync();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Redirect(status, new Uri(elsewhere.BaseAddress, "chat/completions"))));
        var services = new ServiceCollection();
        services.AddHttpClient("openai", c =>
        {
            c.BaseAddress = server.BaseAddress;
            c.DefaultRequestHeaders.Add("api-key", "sk-secret");
            c.DefaultRequestHeaders.Add("Ocp-Apim-Subscription-Key", "sub-secret");
        }).AddOpenAIStreaming();
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        OpenAIStreamException typed = error.Should().BeOfType<OpenAIStreamException>().Subject;
        typed.ErrorCode.Should().Be("redirect");
        typed.StatusCode.Should().Be(status);
        typed.Message.Should().Contain(elsewhere.BaseAddress.Authority, "the error names where the server tried to send the request");
        elsewhere.Requests.Should().BeEmpty("no header, key or prompt reaches the other origin");
        server.Requests.Should().ContainSingle("a redirect is not retried");
    }

    [Fact]
    public async Task Redirect_SdkThroughTheHandler_SeesTheStatusAndNothingReachesTheOtherOrigin()
    {
        await using FakeOpenAIServer elsewhere = await FakeOpenAIServer.StartAsync();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Redirect(307, new Uri(elsewhere.BaseAddress, "chat/completions"))));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingOptions());

        Exception? error = await Record(() => SdkChatAsync(server, http));

        error.Should().BeOfType<ClientResultException>().Which.Status.Should().Be(307);
        elsewhere.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Redirect_FollowedByAPrimaryHandlerOfYourOwn_TheOtherOriginsAnswerIsRefused(bool throughHandler)
    {
        await using FakeOpenAIServer elsewhere = await FakeOpenAIServer.StartAsync();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Redirect(307, new Uri(elsewhere.BaseAddress, "chat/completions"))));
        var following = new SocketsHttpHandler(); // AllowAutoRedirect is on by default
        using HttpClient http = throughHandler
            ? new HttpClient(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = following }) { BaseAddress = server.BaseAddress }
            : new HttpClient(following) { BaseAddress = server.BaseAddress };

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        OpenAIStreamException typed = error.Should().BeOfType<OpenAIStreamException>().Subject;
        typed.ErrorCode.Should().Be("redirect");
        typed.Message.Should().Contain(elsewhere.BaseAddress.Authority).And.Contain("AllowAutoRedirect");
    }

    // 2. A fallback on another origin

    [Fact]
    public async Task Fallback_OnAnotherOrigin_CarriesOnlyAllowListedHeadersItsOwnKeyAndNoSecretQueryParameter()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        await using FakeOpenAIServer backup = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(503)));
        var seen = new ConcurrentQueue<FakeRequest>();
        backup.AddRule(new FaultRule(Fault.MissingDone()) { When = request => { seen.Enqueue(request); return false; } });
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.Fallbacks.Add(new OpenAIStreamingFallback { Endpoint = new Uri(backup.BaseAddress, "?api-version=2025-01-01"), ApiKey = "sk-backup" });
        using HttpClient http = HandlerClient(server, options);
        using HttpRequestMessage request = Secretive(new Uri(server.BaseAddress, "chat/completions?api-version=2024-10-21&code=fn-secret&sas=sig-secret&stream=true"));

        string text = await CollectTextAsync(http.StreamChatCompletionAsync(request));

        text.Should().Be(backup.GetExpectedText(Model, Messages));
        FakeRequest received = seen.Should().ContainSingle().Subject;
        received.Headers["Authorization"].Should().Be("Bearer sk-backup", "the fallback's own key, never the primary's");
        foreach (string secret in SecretHeaders)
        {
            received.Headers.Should().NotContainKey(secret, "{0} may hold a secret and stays with its origin", secret);
        }

        received.Headers.Should().ContainKeys("User-Agent", "Accept", "x-client-request-id", "x-attempt");
        received.Query.Should().Be("?api-version=2025-01-01&stream=true", "the fallback address's own parameters plus OpenAI's operation parameters");
    }

    [Fact]
    public async Task Fallback_OnTheSameOrigin_KeepsEveryHeader()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(503)) { Model = Model });
        var seen = new ConcurrentQueue<FakeRequest>();
        server.AddRule(new FaultRule(Fault.MissingDone()) { Model = "gpt-4o", When = request => { seen.Enqueue(request); return false; } });
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4o" });
        using HttpClient http = HandlerClient(server, options);
        using HttpRequestMessage request = Secretive(new Uri(server.BaseAddress, "chat/completions"));

        await CollectTextAsync(http.StreamChatCompletionAsync(request));

        FakeRequest received = seen.Should().ContainSingle().Subject;
        received.Headers.Should().ContainKeys(SecretHeaders);
        received.Headers["Authorization"].Should().Be("Bearer sk-primary");
    }

    // 3. The accumulator and the indexes

    [Fact]
    public async Task EndlessEvents_TheAccumulatorStopsAtItsBoundInBoundedMemory()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.EndlessEvents(2)));
        using HttpClient http = DirectClient(server);
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxCharactersPerChoice = 500_000 });
        await using PeakMemory memory = PeakMemory.Start();

        Exception? error = await Record(async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest))
            {
                accumulator.Append(update);
            }
        });

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxCharactersPerChoice");
        accumulator.Build().Choices.Single().Content.Length.Should().BeLessThanOrEqualTo(500_000);
        memory.PeakGrowth.Should().BeLessThan(128 * Megabyte);
    }

    [Theory]
    [InlineData("""{"index":2147483647,"delta":{"content":"x"},"finish_reason":null}""")]
    [InlineData("""{"index":-1,"delta":{"content":"x"},"finish_reason":null}""")]
    [InlineData("""{"index":0,"delta":{"tool_calls":[{"index":2147483647,"function":{"arguments":"{}"}}]},"finish_reason":null}""")]
    [InlineData("""{"index":0,"delta":{"content":{"nested":"x"}},"finish_reason":null}""")]
    public async Task OutOfRangeIndexOrTextThatIsNotText_IsATypedErrorOnRealSockets(string choice)
    {
        string chunk = $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{choice}}]}""";
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes($"data: {chunk}\n\ndata: [DONE]\n\n"))));
        using HttpClient http = DirectClient(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.EventIndex.Should().Be(0);
    }

    [Fact]
    public async Task ChoiceAtTheLastIndexBegunAndNeverFinished_IsATruncationOnRealSockets()
    {
        // Index 1023 is the last one tracked: its finish is checked like choice 0's, so a body that ends without it fails.
        string chunk = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":1023,"delta":{"content":"x"},"finish_reason":null}]}""";
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"))));
        using HttpClient http = DirectClient(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("finish reason");
    }

    [Theory]
    [InlineData("id")]
    [InlineData("model")]
    public async Task InvalidUtf8InAnIdentifier_IsATypedErrorOnRealSockets(string field)
    {
        // The same bytes that fail the stream in "content" fail it in the identifiers too, rather than becoming U+FFFD.
        byte[] head = Encoding.UTF8.GetBytes($$"""data: {"{{field}}":"a""");
        byte[] tail = Encoding.UTF8.GetBytes("\",\"object\":\"chat.completion.chunk\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        byte[] body = [.. head, 0xFF, 0xFE, .. tail];
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(body)));
        using HttpClient http = DirectClient(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.EventIndex.Should().Be(0);
    }

    // 4. and 5. What the handler bounds for every reader, and white space forever

    [Fact]
    public async Task EndlessLine_SdkThroughTheHandler_FailsAtTheEventBoundInBoundedMemory()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.EndlessLine(1)));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingOptions());
        await using PeakMemory memory = PeakMemory.Start();

        Exception? error = await Record(() => SdkChatAsync(server, http));

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("maximum event size");
        memory.PeakGrowth.Should().BeLessThan(64 * Megabyte, "the handler stops the SDK's reader at twice the 1 MiB event limit");
    }

    [Fact]
    public async Task OversizedEvent_AnEventStreamTheRequestDidNotAskFor_IsBoundedPerEvent()
    {
        // A request without "stream": true answered with an event stream anyway: the body is an event stream, so its events are
        // bounded like a stream's (1.5 MiB of data in one event passes the 2 MiB byte bound but not the 1 MiB event bound).
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes($"data: {new string('x', 3 * (int)Megabyte / 2)}\n\n"))));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingOptions());

        Exception? error = await Record(async () =>
        {
            using HttpResponseMessage response = await http.PostAsync("chat/completions", new StringContent(ChatRequest, Encoding.UTF8, "application/json"));
            await response.Content.ReadAsByteArrayAsync();
        });

        error.Should().BeOfType<OpenAIStreamProtocolException>().Which.Message.Should().Contain("maximum event size");
    }

    [Fact]
    public async Task EndlessLine_NonStreamBodyThroughTheHandlerWithALimit_FailsAtTheLimit()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.EndlessLine(0)));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingOptions { MaxResponseBodyBytes = 1024 * 1024 });
        await using PeakMemory memory = PeakMemory.Start();

        Exception? error = await Record(async () =>
        {
            using HttpResponseMessage response = await http.PostAsync("chat/completions", new StringContent(ChatRequest, Encoding.UTF8, "application/json"));
        });

        OpenAIStreamProtocolException typed = error.Should().BeOfType<OpenAIStreamProtocolException>().Subject;
        typed.Message.Should().Contain("MaxResponseBodyBytes");
        typed.StatusCode.Should().Be(200);
        memory.PeakGrowth.Should().BeLessThan(64 * Megabyte);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WhiteSpaceForever_TypedReader_EndsWithATypedErrorInBoundedMemory(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.WhitespaceBody()));
        using HttpClient http = throughHandler ? HandlerClient(server, new OpenAIStreamingOptions()) : DirectClient(server);
        await using PeakMemory memory = PeakMemory.Start();

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        error.Should().BeOfType<OpenAIStreamProtocolException>();
        memory.PeakGrowth.Should().BeLessThan(64 * Megabyte);
    }

    [Fact]
    public async Task WhiteSpaceForever_SdkThroughTheHandler_EndsWithATypedError()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.WhitespaceBody()));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingOptions());

        Exception? error = await Record(() => SdkChatAsync(server, http));

        error.Should().BeOfType<OpenAIStreamProtocolException>();
    }

    // 7. Transport and decoding failures are typed

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MalformedChunkHeader_IsATypedRetryableError(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.MalformedChunk(3)));
        using HttpClient http = throughHandler ? HandlerClient(server, new OpenAIStreamingOptions { MaxRetryAttempts = 0 }) : DirectClient(server);

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        OpenAIStreamProtocolException typed = error.Should().BeOfType<OpenAIStreamProtocolException>().Subject;
        typed.IsRetryable.Should().BeTrue();
        typed.EventIndex.Should().Be(3);
        typed.RequestId.Should().StartWith("req_");
    }

    [Fact]
    public async Task CorruptGzipMidStream_ThroughTheLibrarysPrimaryHandler_IsATypedRetryableError()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.GzipBody(corruptAfterEvents: 3)));
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        using var http = new HttpClient(new OpenAIStreamingHandler(options) { InnerHandler = OpenAIStreamingHandler.CreatePrimaryHandler(options) }) { BaseAddress = server.BaseAddress };

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        OpenAIStreamProtocolException typed = error.Should().BeOfType<OpenAIStreamProtocolException>().Subject;
        typed.IsRetryable.Should().BeTrue();
        typed.InnerException!.Message.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task CorruptGzipBeforeTheFirstEvent_IsRetriedLikeAReset()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.GzipBody(corruptAfterEvents: 0)) { Attempts = AttemptSet.Only(1) });
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        using var http = new HttpClient(new OpenAIStreamingHandler(options) { InnerHandler = OpenAIStreamingHandler.CreatePrimaryHandler(options) }) { BaseAddress = server.BaseAddress };

        string text = await CollectTextAsync(http.StreamChatCompletionAsync(ChatRequest));

        text.Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CorruptGzipOnAnErrorBody_StillReportsTheStatus(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(400)));
        server.AddRule(new FaultRule(Fault.GzipBody(corruptAfterEvents: 0)));
        var options = new OpenAIStreamingOptions();
        using HttpClient http = throughHandler
            ? new HttpClient(new OpenAIStreamingHandler(options) { InnerHandler = OpenAIStreamingHandler.CreatePrimaryHandler(options) }) { BaseAddress = server.BaseAddress }
            : new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };

        Exception? error = await Record(() => DrainAsync(http.StreamChatCompletionAsync(ChatRequest)));

        OpenAIStreamException typed = error.Should().BeOfType<OpenAIStreamException>().Subject;
        typed.StatusCode.Should().Be(400, "an unreadable error body still yields the error of its status");
        typed.RequestId.Should().StartWith("req_");
    }

    private static readonly string[] SecretHeaders =
        ["api-key", "Ocp-Apim-Subscription-Key", "x-api-key", "Cookie", "X-Goog-Api-Key", "OpenAI-Organization", "OpenAI-Project"];

    private static HttpRequestMessage Secretive(Uri uri)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new StringContent(ChatRequest.Replace("]}", "],\"stream\":true}", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "sk-primary");
        request.Headers.Add("api-key", "azure-primary");
        request.Headers.Add("Ocp-Apim-Subscription-Key", "apim-primary");
        request.Headers.Add("x-api-key", "x-primary");
        request.Headers.Add("Cookie", "session=primary");
        request.Headers.Add("X-Goog-Api-Key", "goog-primary");
        request.Headers.Add("OpenAI-Organization", "org-primary");
        request.Headers.Add("OpenAI-Project", "proj-primary");
        request.Headers.Add("User-Agent", "tests/1.0");
        request.Headers.Add("Accept", "text/event-stream");
        return request;
    }

    private static HttpClient DirectClient(FakeOpenAIServer server) =>
        new(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };

    private static HttpClient HandlerClient(FakeOpenAIServer server, OpenAIStreamingOptions options) =>
        new(new OpenAIStreamingHandler(options) { InnerHandler = OpenAIStreamingHandler.CreatePrimaryHandler(options) })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };

    private static async Task DrainAsync<T>(IAsyncEnumerable<T> stream)
    {
        await foreach (T item in stream)
        {
        }
    }

    private static async Task<string> CollectTextAsync(IAsyncEnumerable<ChatCompletionUpdate> stream)
    {
        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in stream)
        {
            text.Append(update.Text);
        }

        return text.ToString();
    }

    private static async Task SdkChatAsync(FakeOpenAIServer server, HttpClient http)
    {
        var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = server.BaseAddress,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(Prompt)]))
        {
        }
    }

    private static async Task<Exception?> Record(Func<Task> action)
    {
        try
        {
            await Task.Run(action).WaitAsync(TimeSpan.FromSeconds(60));
            return null;
        }
        catch (TimeoutException)
        {
            throw;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
