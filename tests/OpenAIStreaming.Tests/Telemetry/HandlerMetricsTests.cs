using OpenAIStreaming.Protocol;
using System.Text;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Telemetry;

/// <summary>The handler's instruments on the <c>OpenAIStreaming</c> meter, recorded through the caller's <c>IMeterFactory</c>.</summary>
public sealed class HandlerMetricsTests
{
    private static readonly string[] SafeTags = ["server.address", "server.port", "error.type", "openaistreaming.timeout.kind", "openaistreaming.endpoint"];

    [Fact]
    public async Task RetryThenAnswer_CountsTheRetryByStatusAndRecordsTheTimeToTheFirstEvent()
    {
        using var meters = new MeasurementRecorder();
        using var h = new HandlerHarness(meterFactory: meters);
        h.Stub.ThenStatus(503, null, ("Retry-After", "2")).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2));
        h.Time.Advance(TimeSpan.FromSeconds(2));
        (await Within(run)).Should().Be("ok");

        RecordedMeasurement retry = meters.Of("openaistreaming.retries").Should().ContainSingle().Which;
        retry.Value.Should().Be(1);
        retry.Tag("error.type").Should().Be("503");
        retry.Tag("server.address").Should().Be("127.0.0.1");
        RecordedMeasurement firstEvent = meters.Of("openaistreaming.time_to_first_event").Should().ContainSingle().Which;
        firstEvent.Value.Should().Be(2.0, "seconds from the start of the call, the retry's wait included");
        meters.Measurements.SelectMany(m => m.Tags.Keys).Should().OnlyContain(k => SafeTags.Contains(k), "no content, key or header value is ever a tag");
    }

    [Fact]
    public async Task FirstTokenMissWithAFallback_CountsTheMissAndTheHedge()
    {
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions();
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4o-mini" });
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.ThenHang().ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 1, "the primary attempt");
        await h.Time.WaitForTimerDueInAsync(options.FirstTokenTimeout);
        h.Time.Advance(options.FirstTokenTimeout);
        (await Within(run)).Should().Be("ok");

        meters.Of("openaistreaming.timeouts").Should().ContainSingle().Which.Tag("openaistreaming.timeout.kind").Should().Be("first_token");
        meters.Of("openaistreaming.hedges").Should().ContainSingle("the fallback started beside the silent primary");
        meters.Of("openaistreaming.fallbacks").Should().BeEmpty("no target failed: the primary was kept, not abandoned");
        meters.Of("openaistreaming.retries").Should().BeEmpty();
    }

    [Fact]
    public async Task FirstTokenMissOnABackgroundRequest_IsNotHedged()
    {
        // A background response runs on, and is billed, on the server whether or not it is read: no attempt beside it.
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions();
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.ThenHang().ThenSse(Healthy);
        using var caller = new CancellationTokenSource();

        Task run = Task.Run(async () =>
        {
            await foreach (ChatCompletionUpdate update in h.Client.StreamChatCompletionAsync(ChatRequest.Replace("}]", "}],\"background\":true", StringComparison.Ordinal), caller.Token))
            {
            }
        });
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 1, "the first attempt");
        await h.Time.WaitForTimerDueInAsync(options.FirstTokenTimeout);
        h.Time.Advance(options.FirstTokenTimeout);
        await ManualTimeProvider.WaitUntilAsync(() => meters.Of("openaistreaming.timeouts").Count == 1, "the first-token miss to be handled");

        meters.Of("openaistreaming.hedges").Should().BeEmpty("the attempt in flight is kept, and nothing starts beside it");
        h.Stub.Attempts.Should().ContainSingle();
        await caller.CancelAsync();
        await FluentActions.Awaiting(() => run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task IdleTimeout_IsCountedOnceEvenWhenTheConsumerReadsAgain()
    {
        using var meters = new MeasurementRecorder();
        using var h = new HandlerHarness(new OpenAIStreamingOptions { Recovery = { Enabled = false } }, meterFactory: meters);
        h.Stub.ThenStream(new ControlledStream().Push(FirstEvent));

        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await Within(h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        Stream stream = await response.Content.ReadAsStreamAsync();
        byte[] buffer = new byte[4096];
        (await stream.ReadAsync(buffer)).Should().Be(FirstEvent.Length, "the prefetched first event is replayed");
        Task<int> read = stream.ReadAsync(buffer).AsTask();
        await h.Time.WaitForTimerDueInAsync(h.Options.IdleTimeout);
        h.Time.Advance(h.Options.IdleTimeout);
        (await read.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().BePositive("the error event that ends the body");
        await FluentActions.Awaiting(() => stream.ReadAsync(buffer).AsTask()).Should().ThrowAsync<OpenAIStreamTimeoutException>();
        await FluentActions.Awaiting(() => stream.ReadAsync(buffer).AsTask()).Should().ThrowAsync<OpenAIStreamTimeoutException>();

        meters.Of("openaistreaming.timeouts").Should().ContainSingle().Which.Tag("openaistreaming.timeout.kind").Should().Be("idle");
    }

    [Fact]
    public async Task NeverAnswers_CountsTheFirstTokenMissAndTheTotalTimeoutOnceEach()
    {
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0, TotalTimeout = TimeSpan.FromSeconds(10) };
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.ThenHang();

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(10));
        await h.Time.WaitForTimerDueInAsync(options.FirstTokenTimeout);
        h.Time.Advance(TimeSpan.FromSeconds(10));

        (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        meters.Of("openaistreaming.timeouts").Select(m => m.Tag("openaistreaming.timeout.kind")).Should().Equal("first_token", "total");
    }

    [Fact]
    public async Task CallerCancelsBeforeTheFirstTokenTimeout_CountsNoTimeout()
    {
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.ThenHang();
        using var cancel = new CancellationTokenSource();

        Task<string> run = h.StreamTextAsync(cancel.Token);
        await h.Time.WaitForTimerDueInAsync(options.FirstTokenTimeout);
        h.Time.Advance(options.FirstTokenTimeout - TimeSpan.FromMilliseconds(1));
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OperationCanceledException>();
        h.Time.Advance(TimeSpan.FromSeconds(1)); // past the first-token deadline of the cancelled attempt

        meters.Of("openaistreaming.timeouts").Should().BeEmpty("the attempt was no longer waiting for its first token");
    }

    [Fact]
    public async Task Outage_CountsTheCircuitOpeningOfTheRoute()
    {
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 500, new TrackedMemoryStream([]), "application/json", []));

        for (int i = 0; i < 3; i++)
        {
            await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>();
        }

        // Two failures open the circuit; the third request, with no other target, is sent anyway (the last target is never
        // refused), fails, and leaves the circuit open: one opening.
        meters.Of("openaistreaming.circuit_breaker.openings").Select(m => m.Tag("openaistreaming.route")).Should().Equal("http://127.0.0.1 gpt-4o");
    }
}
