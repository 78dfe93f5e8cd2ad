using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Client.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Client;

/// <summary>The reader-level protections of <see cref="OpenAIStreamingClient"/> over an HttpClient without the handler.</summary>
public sealed class OpenAIStreamingClientTests : StreamProtectionContract
{
    private static readonly TimeSpan FirstToken = TimeSpan.FromSeconds(3);

    private static readonly string HealthyResponses = SseBody.Responses(
        """{"type":"response.output_text.delta","sequence_number":0,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"ok"}""",
        """{"type":"response.completed","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"completed","model":"m","output":[],"usage":null}}""");

    public enum Overload
    {
        JsonString,
        Utf8Bytes,
        JsonNode,
        TypeInfo,
        RequestMessage,
    }

    protected override IStreamProtectionHarness CreateHarness(OpenAIStreamingOptions? options = null) => new ClientHarness(options);

    [Theory]
    [InlineData(Overload.JsonString)]
    [InlineData(Overload.Utf8Bytes)]
    [InlineData(Overload.JsonNode)]
    [InlineData(Overload.TypeInfo)]
    [InlineData(Overload.RequestMessage)]
    public async Task StreamChatCompletionAsync_EveryOverload_StreamsAStreamRequestToChatCompletions(Overload overload)
    {
        using var h = new ClientHarness();
        h.Stub.ThenSse(Healthy);
        using HttpRequestMessage request = Request("chat/completions");

        string text = await Within(Task.Run(() => ClientHarness.TextOf(ChatCall(h.Client, overload, request))));

        text.Should().Be("ok");
        AttemptRecord sent = h.Stub.Attempts.Should().ContainSingle().Subject;
        JsonNode.Parse(sent.Body)!["stream"]!.GetValue<bool>().Should().BeTrue();
        h.Stub.AllBodiesDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0, "the total-timeout timer ends with the response");
    }

    [Theory]
    [InlineData(Overload.JsonString)]
    [InlineData(Overload.Utf8Bytes)]
    [InlineData(Overload.JsonNode)]
    [InlineData(Overload.TypeInfo)]
    [InlineData(Overload.RequestMessage)]
    public async Task StreamResponseAsync_EveryOverload_DeliversEventsUpToTheTerminalOne(Overload overload)
    {
        using var h = new ClientHarness();
        h.Stub.ThenSse(HealthyResponses);
        using HttpRequestMessage request = Request("responses");
        var kinds = new List<ResponseStreamEventKind>();

        await Within(Task.Run(async () =>
        {
            await foreach (ResponseStreamEvent e in ResponsesCall(h.Client, overload, request))
            {
                kinds.Add(e.Kind);
            }
        }));

        kinds.Should().Equal(ResponseStreamEventKind.OutputTextDelta, ResponseStreamEventKind.Completed);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamChatCompletionAsync_ClientDefaultsToHttp2_TheStreamRequestUsesItLikeTheWarmUp(bool throughWrapper)
    {
        // A client set to HTTP/2 warms an HTTP/2 connection; the stream must go over that connection, not HTTP/1.1.
        using var h = new ClientHarness();
        h.Http.DefaultRequestVersion = HttpVersion.Version20;
        h.Http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrHigher;
        var sent = new List<(Version Version, HttpVersionPolicy Policy)>();
        h.Stub.Then((request, _) =>
        {
            sent.Add((request.Version, request.VersionPolicy));
            return Task.FromResult(h.Stub.Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(Healthy)), "text/event-stream", []));
        });

        IAsyncEnumerable<ChatCompletionUpdate> updates = throughWrapper ? h.Client.StreamChatCompletionAsync(ChatRequest) : h.Http.StreamChatCompletionAsync(ChatRequest);
        (await Within(Task.Run(() => ClientHarness.TextOf(updates)))).Should().Be("ok");

        sent.Should().Equal((HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrHigher));
    }

    [Fact]
    public async Task StreamChatCompletionAsync_HeadersButNoEvent_ThrowsFirstTokenTimeoutAfterOneAttempt()
    {
        using var h = new ClientHarness();
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);

        OpenAIStreamTimeoutException error = await TimeoutOf(run);
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.FirstToken);
        error.Timeout.Should().Be(FirstToken);
        h.Stub.Attempts.Should().ContainSingle("the wrapper never retries");
        silent.WasCancelled.Should().BeTrue();
        silent.IsDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_NoHeaders_ThrowsFirstTokenTimeout()
    {
        using var h = new ClientHarness();
        h.Stub.ThenHang();

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);

        (await TimeoutOf(run)).Kind.Should().Be(OpenAIStreamTimeoutKind.FirstToken);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_AfterTheFirstEvent_TheFirstTokenTimerNoLongerCounts()
    {
        using var h = new ClientHarness();
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(Idle);
        h.Time.Advance(TimeSpan.FromSeconds(5)); // past the first-token timeout, within the idle timeout
        body.Push(RestOfAnswer).Complete();

        (await Within(run)).Should().Be("ok");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_FirstTokenEqualToTotal_ReportsTheTotalTimeout()
    {
        using var h = new ClientHarness(new OpenAIStreamingOptions { FirstTokenTimeout = TimeSpan.FromSeconds(10), TotalTimeout = TimeSpan.FromSeconds(10) });
        h.Stub.ThenHang();

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimersAsync(2);
        h.Time.Advance(TimeSpan.FromSeconds(10));

        (await TimeoutOf(run)).Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_PerRequestOverrides_ReplaceTheOptions()
    {
        using var h = new ClientHarness();
        h.Stub.ThenHang();
        using HttpRequestMessage request = Request("chat/completions");
        request.Options.Set(OpenAIStreamingRequestOptions.FirstTokenTimeout, Timeout.InfiniteTimeSpan);
        request.Options.Set(OpenAIStreamingRequestOptions.TotalTimeout, TimeSpan.FromSeconds(20));

        Task<string> run = Task.Run(() => ClientHarness.TextOf(h.Client.StreamChatCompletionAsync(request)));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(20));
        h.Time.PendingDueTimes().Should().ContainSingle("no first-token timer runs when it is overridden to infinite");
        h.Time.Advance(TimeSpan.FromSeconds(20));

        OpenAIStreamTimeoutException error = await TimeoutOf(run);
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task StreamChatCompletionAsync_BreakAfterTheFirstUpdate_DisposesTheResponseAndStopsEveryTimer()
    {
        using var h = new ClientHarness();
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);

        await Within(Task.Run(async () =>
        {
            await foreach (ChatCompletionUpdate update in h.Client.StreamChatCompletionAsync(ChatRequest))
            {
                update.Text.Should().Be("o");
                break;
            }
        }));

        body.IsDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ErrorStatus_ThrowsTypedErrorWithItsCode()
    {
        using var h = new ClientHarness();
        h.Stub.ThenStatus(429, """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""", ("x-request-id", "req_429"));

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>()).Which;

        error.Should().NotBeOfType<OpenAIStreamTimeoutException>();
        error.StatusCode.Should().Be(429);
        error.ErrorCode.Should().Be("rate_limit_exceeded");
        error.RequestId.Should().Be("req_429");
        error.IsRetryable.Should().BeTrue();
        h.Stub.Attempts.Should().ContainSingle();
        h.Stub.AllBodiesDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_200WithAJsonBody_IsAnErrorNotAnEmptyStream()
    {
        using var h = new ClientHarness();
        h.Stub.ThenStatus(200, """{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""");

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamProtocolException>()).Which;

        error.StatusCode.Should().Be(200);
        error.Message.Should().Contain("JSON body");
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_SameClientTwice_SendsTwiceAndLeavesTheCallersHttpClientUsable()
    {
        using var h = new ClientHarness();
        h.Stub.ThenSse(Healthy).ThenSse(Healthy).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");
        (await Within(h.StreamTextAsync())).Should().Be("ok");
        (await Within(Task.Run(() => ClientHarness.TextOf(h.Http.StreamChatCompletionAsync(ChatRequest))))).Should().Be("ok");

        h.Stub.Attempts.Should().HaveCount(3);
    }

    [Fact]
    public async Task WarmUpAsync_ServerNeverAnswers_ThrowsTotalTimeout()
    {
        using var h = new ClientHarness(new OpenAIStreamingOptions { TotalTimeout = TimeSpan.FromSeconds(20) });
        h.Stub.ThenHang();

        Task run = h.Client.WarmUpAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(20));
        h.Time.Advance(TimeSpan.FromSeconds(20));

        OpenAIStreamTimeoutException error = await TimeoutOf(run);
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(20));
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task WarmUpAsync_CallerCancels_ThrowsOperationCanceledOnTheCallersToken()
    {
        using var h = new ClientHarness();
        h.Stub.ThenHang();
        using var caller = new CancellationTokenSource();

        Task run = h.Client.WarmUpAsync(cancellationToken: caller.Token);
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 1, "the warm-up request");
        await caller.CancelAsync();

        (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OperationCanceledException>())
            .Which.CancellationToken.Should().Be(caller.Token);
    }

    [Fact]
    public async Task Constructor_CopiesTheOptions_LaterChangesHaveNoEffect()
    {
        var options = new OpenAIStreamingOptions();
        var time = new ManualTimeProvider();
        var stub = new ScriptedHandler(time).ThenHang();
        using var http = new HttpClient(stub) { BaseAddress = new Uri("http://127.0.0.1/v1/") };
        var client = new OpenAIStreamingClient(http, options, time);
        options.FirstTokenTimeout = TimeSpan.FromSeconds(30);

        Task<string> run = Task.Run(() => ClientHarness.TextOf(client.StreamChatCompletionAsync(ChatRequest)));
        await time.WaitForTimerDueInAsync(FirstToken);
        time.Advance(FirstToken);

        (await TimeoutOf(run)).Timeout.Should().Be(FirstToken);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsOptionsValidationException()
    {
        using var http = new HttpClient();
        var options = new OpenAIStreamingOptions { IdleTimeout = TimeSpan.FromMinutes(2), TotalTimeout = TimeSpan.FromMinutes(1) };

        FluentActions.Invoking(() => new OpenAIStreamingClient(http, options)).Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("IdleTimeout");
    }

    [Fact]
    public void Constructor_NullArguments_Throw()
    {
        using var http = new HttpClient();
        FluentActions.Invoking(() => new OpenAIStreamingClient(null!, new OpenAIStreamingOptions())).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => new OpenAIStreamingClient(http, null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => new OpenAIStreamingClient(http, new OpenAIStreamingOptions(), null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void StreamChatCompletionAsync_NoBaseAddress_ThrowsAtTheCall()
    {
        using var http = new HttpClient();
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions());

        FluentActions.Invoking(() => client.StreamChatCompletionAsync(ChatRequest)).Should().Throw<InvalidOperationException>()
            .Which.Message.Should().Contain("BaseAddress");
    }

    private static HttpRequestMessage Request(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("http://127.0.0.1/v1/" + path))
        {
            Content = new StringContent(path == "responses" ? """{"model":"gpt-4o","input":"hi","stream":true}""" : ChatRequest, Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    private static IAsyncEnumerable<ChatCompletionUpdate> ChatCall(OpenAIStreamingClient client, Overload overload, HttpRequestMessage request) =>
        overload switch
        {
            Overload.JsonString => client.StreamChatCompletionAsync(ChatRequest),
            Overload.Utf8Bytes => client.StreamChatCompletionAsync(Encoding.UTF8.GetBytes(ChatRequest)),
            Overload.JsonNode => client.StreamChatCompletionAsync(JsonNode.Parse(ChatRequest)!),
            Overload.TypeInfo => client.StreamChatCompletionAsync(new TypedChatRequest("gpt-4o", [new TypedMessage("user", "hi")]), TypedRequestJsonContext.Default.TypedChatRequest),
            _ => client.StreamChatCompletionAsync(request),
        };

    private static IAsyncEnumerable<ResponseStreamEvent> ResponsesCall(OpenAIStreamingClient client, Overload overload, HttpRequestMessage request)
    {
        const string json = """{"model":"gpt-4o","input":"hi"}""";
        return overload switch
        {
            Overload.JsonString => client.StreamResponseAsync(json),
            Overload.Utf8Bytes => client.StreamResponseAsync(Encoding.UTF8.GetBytes(json)),
            Overload.JsonNode => client.StreamResponseAsync(JsonNode.Parse(json)!),
            Overload.TypeInfo => client.StreamResponseAsync(new TypedChatRequest("gpt-4o", [new TypedMessage("user", "hi")]), TypedRequestJsonContext.Default.TypedChatRequest),
            _ => client.StreamResponseAsync(request),
        };
    }

    private static async Task<OpenAIStreamTimeoutException> TimeoutOf(Task run) =>
        (await FluentActions.Awaiting(() => run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;

    private static Task Within(Task task) => task.WaitAsync(ManualTimeProvider.SafetyTimeout);

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(ManualTimeProvider.SafetyTimeout);
}
