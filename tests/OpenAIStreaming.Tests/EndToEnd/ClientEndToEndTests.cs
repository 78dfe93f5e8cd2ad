using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// <see cref="OpenAIStreamingClient"/> over real sockets: the fake OpenAI server on Kestrel and a plain HttpClient without
/// the handler. Where time matters, one manual clock drives both the server's faults and the client's timeouts.
/// </summary>
public sealed class ClientEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private const string ChatRequest = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"Say hello"}]}""";
    private static readonly FakeMessage[] Messages = [new("user", "Say hello")];
    private static readonly TimeSpan FirstToken = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Wrapper_HealthyStream_DeliversTheCompleteAnswer()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions());
        using CancellationTokenSource guard = HangGuard.Start();

        var accumulator = new ChatCompletionAccumulator();
        await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest, guard.Token))
        {
            accumulator.Append(update);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.Content.Should().Be(server.GetExpectedText(Model, Messages));
        choice.FinishReason.Should().Be("stop");
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Wrapper_OverAClientThatAlreadyHasTheHandler_StillStreams()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(503)) { Attempts = AttemptSet.Only(1) });
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        using var http = new HttpClient(new OpenAIStreamingHandler(options) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, options);
        using CancellationTokenSource guard = HangGuard.Start();

        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest, guard.Token))
        {
            text.Append(update.Text);
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Select(r => r.Attempt).Should().Equal([1, 2], "the handler inside still retries; the wrapper adds none");
    }

    [Fact]
    public async Task Wrapper_StallMidStream_ThrowsIdleTimeoutAfterTheDeliveredUpdates()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.StallAfterEvents(3, TimeSpan.FromMinutes(10))));
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions { Recovery = { Enabled = false } }, clock);
        int delivered = 0;

        Task reading = Task.Run(async () =>
        {
            await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest))
            {
                Interlocked.Increment(ref delivered);
            }
        });
        await ManualTimeProvider.WaitUntilAsync(() => Volatile.Read(ref delivered) == 3 || reading.IsCompleted, "three updates before the stall");
        await clock.WaitForTimerDueInAsync(Idle);
        clock.Advance(Idle);

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => reading.WaitAsync(ManualTimeProvider.SafetyTimeout))
            .Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
        error.Timeout.Should().Be(Idle);
        error.RequestId.Should().StartWith("req_");
        delivered.Should().Be(3);
    }

    [Theory]
    [InlineData("cut")]
    [InlineData("reset")]
    [InlineData("error")]
    public async Task Wrapper_BrokenAfterTheCommitPoint_IsRecoveredWithTheCanonicalTextOnce(string how)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(how switch
        {
            "cut" => Fault.CutAfterEvents(5),
            "reset" => Fault.ResetAfterEvents(5),
            _ => Fault.MidStreamError(5),
        }) { Attempts = AttemptSet.Only(1) });
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions());
        using CancellationTokenSource guard = HangGuard.Start();
        var text = new StringBuilder();

        await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest, guard.Token))
        {
            text.Append(update.Text);
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, Messages), "nothing lost, nothing repeated");
        server.Requests.Should().HaveCount(2, "the stream and its replay; log: {0}", string.Join(" / ", server.Requests.Select(r => $"{r.Method} {r.Attempt} {string.Join(",", r.Faults)}")));
    }

    [Fact]
    public async Task Wrapper_StalledOnce_IsRecoveredWhenTheIdleTimeoutFires()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.StallAfterEvents(10, TimeSpan.FromMinutes(10))) { Attempts = AttemptSet.Only(1) });
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions(), clock);

        Task<string> reading = Task.Run(async () =>
        {
            var text = new StringBuilder();
            await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest))
            {
                text.Append(update.Text);
            }

            return text.ToString();
        });
        await ManualTimeProvider.WaitUntilAsync(() => clock.PendingDueTimes().Contains(Idle) && server.Requests.Count == 1, "the reader to wait after the stall");
        clock.Advance(Idle);

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Wrapper_BackgroundResponseCut_IsResumedWithoutASecondGeneration()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(20)) { Attempts = AttemptSet.Only(1) });
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions());
        using CancellationTokenSource guard = HangGuard.Start();
        var sequences = new List<long>();
        var text = new StringBuilder();

        await foreach (ResponseStreamEvent e in client.StreamResponseAsync($$"""{"model":"{{Model}}","input":"Say hello","background":true}""", guard.Token))
        {
            sequences.Add(e.SequenceNumber ?? -1);
            text.Append(e.Kind == ResponseStreamEventKind.OutputTextDelta ? e.Delta : null);
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, Messages));
        sequences.Should().Equal(Enumerable.Range(0, sequences.Count).Select(i => (long)i), "every event once, in order");
        server.Requests.Select(r => r.Method).Should().Equal("POST", "GET");
        server.Requests[1].Query.Should().Be("?stream=true&starting_after=19");
    }

    [Fact]
    public async Task Wrapper_ServerNeverAnswers_ThrowsFirstTokenTimeout()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.NeverAnswer()));
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions(), clock);

        Task reading = Task.Run(async () =>
        {
            await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(ChatRequest))
            {
            }
        });
        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 1, "the request to reach the server");
        await clock.WaitForTimerDueInAsync(FirstToken);
        clock.Advance(FirstToken);

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => reading.WaitAsync(ManualTimeProvider.SafetyTimeout))
            .Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.FirstToken);
        error.Timeout.Should().Be(FirstToken);
        server.Requests.Should().ContainSingle("the wrapper makes one attempt");
    }

    [Fact]
    public async Task Wrapper_ServerNeverAnswersAndNoFirstTokenLimit_ThrowsTotalTimeout()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.NeverAnswer()));
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var options = new OpenAIStreamingOptions { TotalTimeout = TimeSpan.FromSeconds(30) };
        var client = new OpenAIStreamingClient(http, options, clock);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions"))
        {
            Content = new StringContent(ChatRequest.Replace("}]}", "}],\"stream\":true}", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        request.Options.Set(OpenAIStreamingRequestOptions.FirstTokenTimeout, Timeout.InfiniteTimeSpan);

        Task reading = Task.Run(async () =>
        {
            await foreach (ChatCompletionUpdate update in client.StreamChatCompletionAsync(request))
            {
            }
        });
        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 1, "the request to reach the server");
        await clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => reading.WaitAsync(ManualTimeProvider.SafetyTimeout))
            .Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(30));
    }
}
