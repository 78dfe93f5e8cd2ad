using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Health per route over real sockets: one fake server (one endpoint) serving several models, the handler and the server on
/// one manual clock. A model that fails opens its own circuit and no other; a break after the commit point counts against
/// its route; the only target of a chain is never refused.
/// </summary>
public sealed class RouteHealthEndToEndTests
{
    private const string ModelA = "model-a";
    private const string ModelB = "model-b";

    [Fact]
    public async Task OneModelAnswers503_ItsCircuitOpensAndTheOtherModelOnTheSameEndpointIsUntouched()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        await using var h = await RouteHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.Status(503)) { Model = ModelA });

        for (int i = 0; i < 30; i++)
        {
            Exception? a = await h.FailureOfAsync(ModelA);
            a.Should().BeOfType<OpenAIStreamException>().Which.StatusCode.Should().Be(503, "A's own error comes back, never a refusal: it is its chain's only target");
            (await h.StreamAsync(ModelB)).Should().Be(h.ExpectedText(ModelB), "B's requests, interleaved, all succeed");
        }

        Exception? badRequest = await h.FailureOfAsync(ModelB, fault: "status=400");
        badRequest.Should().BeOfType<OpenAIStreamException>().Which.StatusCode.Should().Be(400, "B's 400 comes back as B's 400");

        h.IsRefusing(ModelA).Should().BeTrue("A's circuit opened");
        h.IsRefusing(ModelB).Should().BeFalse("B's circuit never opened");
        h.Openings().Should().OnlyContain(route => route.EndsWith(" " + ModelA, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneModelNeverAnswers_ItsCircuitOpensAndTheOtherModelIsUntouched()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0, ConnectTimeout = TimeSpan.FromSeconds(1), FirstTokenTimeout = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(2), TotalTimeout = TimeSpan.FromSeconds(3) };
        options.CircuitBreaker.MinimumThroughput = 4;
        options.CircuitBreaker.SamplingDuration = TimeSpan.FromMinutes(2);
        await using var h = await RouteHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.NeverAnswer()) { Model = ModelA });

        for (int i = 0; i < 30; i++)
        {
            int before = h.Server.Requests.Count;
            Task<string> silent = h.StreamAsync(ModelA);
            await ManualTimeProvider.WaitUntilAsync(() => h.Server.Requests.Count > before, "A's request at the server");
            await h.Clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(3)); // the total timeout of the call
            h.Clock.Advance(TimeSpan.FromSeconds(3));
            (await RouteHarness.FailureOf(silent)).Should().BeOfType<OpenAIStreamTimeoutException>()
                .Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
            (await h.StreamAsync(ModelB)).Should().Be(h.ExpectedText(ModelB));
        }

        h.IsRefusing(ModelA).Should().BeTrue("a silent server cut by the total timeout counts against its route");
        h.IsRefusing(ModelB).Should().BeFalse();
    }

    [Fact]
    public async Task ABreakAfterTheCommitPoint_CountsAgainstItsRoute()
    {
        // Every failure must count for the circuit to open at a ratio of 1: a stream's verdict waits for its body, so a
        // stream that committed and then broke off is one failure, never a success followed by a failure.
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 3;
        options.CircuitBreaker.FailureRatio = 1.0;
        await using var h = await RouteHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.CutAfterEvents(4)) { Model = ModelA });

        for (int i = 0; i < 3; i++)
        {
            (await h.FailureOfAsync(ModelA)).Should().BeOfType<OpenAIStreamProtocolException>("the stream committed, then broke off");
        }

        h.Openings().Should().ContainSingle().Which.Should().EndWith(" " + ModelA);
        h.IsRefusing(ModelA).Should().BeTrue();
        (await h.StreamAsync(ModelB)).Should().Be(h.ExpectedText(ModelB));
        h.IsRefusing(ModelB).Should().BeFalse();
    }

    [Fact]
    public async Task ATrialStreamThatBreaksAfterItsFirstContent_DoesNotCloseTheCircuit()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        await using var h = await RouteHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.CutAfterEvents(4)) { Model = ModelA });
        for (int i = 0; i < 2; i++)
        {
            (await h.FailureOfAsync(ModelA)).Should().BeOfType<OpenAIStreamProtocolException>();
        }

        h.IsRefusing(ModelA).Should().BeTrue();
        h.Clock.Advance(options.CircuitBreaker.BreakDuration);

        (await h.FailureOfAsync(ModelA)).Should().BeOfType<OpenAIStreamProtocolException>("the trial committed, then broke off");

        h.IsRefusing(ModelA).Should().BeTrue("the trial's stream broke: the circuit opened again");
        h.Openings().Should().HaveCount(2);
    }

    [Fact]
    public async Task TheOnlyTargetWithAnOpenCircuit_IsStillSentAndAnswersOnceTheServerHasRecovered()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        await using var h = await RouteHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.Outage(TimeSpan.FromSeconds(10))) { Model = ModelA });
        for (int i = 0; i < 2; i++)
        {
            (await h.FailureOfAsync(ModelA)).Should().BeOfType<OpenAIStreamException>().Which.StatusCode.Should().Be(503);
        }

        h.IsRefusing(ModelA).Should().BeTrue();
        h.Clock.Advance(TimeSpan.FromSeconds(10)); // the outage is over; the circuit's break is not

        (await h.StreamAsync(ModelA)).Should().Be(h.ExpectedText(ModelA), "the last target that could answer is never refused");
        h.Server.Requests.Should().HaveCount(3);
        h.IsRefusing(ModelA).Should().BeFalse("the request was the circuit's trial, and its success closed it");
    }

    /// <summary>A fake server and a handler on one manual clock, with the handler's metrics recorded.</summary>
    private sealed class RouteHarness : IAsyncDisposable
    {
        private static readonly FakeMessage[] Messages = [new("user", "Say hello")];
        private readonly MeasurementRecorder _meters = new();
        private readonly OpenAIStreamingHandler _handler;
        private readonly HttpClient _http;

        private RouteHarness(ManualTimeProvider clock, FakeOpenAIServer server, OpenAIStreamingOptions options)
        {
            Clock = clock;
            Server = server;
            _handler = new OpenAIStreamingHandler(options, clock, loggerFactory: null, meterFactory: _meters) { InnerHandler = new SocketsHttpHandler() };
            _http = new HttpClient(_handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        }

        public ManualTimeProvider Clock { get; }

        public FakeOpenAIServer Server { get; }

        public static async Task<RouteHarness> StartAsync(OpenAIStreamingOptions options)
        {
            var clock = new ManualTimeProvider();
            FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
            return new RouteHarness(clock, server, options);
        }

        public static async Task<Exception?> FailureOf(Task task)
        {
            try
            {
                await task.WaitAsync(ManualTimeProvider.SafetyTimeout);
                return null;
            }
            catch (TimeoutException) when (!task.IsCompleted)
            {
                throw;
            }
            catch (Exception ex)
            {
                return ex;
            }
        }

        public string ExpectedText(string model) => Server.GetExpectedText(model, Messages);

        public Task<string> StreamAsync(string model, string? fault = null) => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, "chat/completions"))
            {
                Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}],"stream":true}""", Encoding.UTF8, "application/json"),
            };
            if (fault is not null)
            {
                request.Headers.Add("x-fake-fault", fault);
            }

            var text = new StringBuilder();
            await foreach (ChatCompletionUpdate update in _http.StreamChatCompletionAsync(request))
            {
                text.Append(update.Text);
            }

            return text.ToString();
        });

        public Task<Exception?> FailureOfAsync(string model, string? fault = null) => FailureOf(StreamAsync(model, fault));

        public bool IsRefusing(string model) => _handler.SharedState.IsRefusing($"{Server.BaseAddress.GetLeftPart(UriPartial.Authority)} {model}");

        public IEnumerable<string> Openings() =>
            _meters.Of("openaistreaming.circuit_breaker.openings").Select(m => (string)m.Tag("openaistreaming.route")!);

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            _meters.Dispose();
            await Server.DisposeAsync().AsTask().WaitAsync(ManualTimeProvider.SafetyTimeout);
        }
    }
}
