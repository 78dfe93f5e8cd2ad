using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Fallbacks and the circuit breaker over real sockets: a primary and a backup fake server on Kestrel, both on the test's
/// manual clock, read through the handler by this library's reader and by the official OpenAI SDK.
/// </summary>
public sealed class FallbackEndToEndTests
{
    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task NeverAnswers_TheFallbackAnswersRightAfterTheFirstTokenTimeout(StreamingClientKind kind)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(withBackup: true);
        h.Server.AddRule(new FaultRule(Fault.NeverAnswer()));

        Task<string> reading = h.StreamTextAsync(kind);
        await h.WaitForAttemptAsync(1, timers => timers.Contains(TimeSpan.FromSeconds(3)), "its first-token timer");
        h.Backup!.Requests.Should().BeEmpty();
        h.Clock.Advance(TimeSpan.FromSeconds(3));

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Server.Requests.Should().ContainSingle("a first-token miss goes to the fallback, not to a second wait on the primary");
        h.Backup.Requests.Should().ContainSingle().Which.Elapsed.Should().Be(TimeSpan.FromSeconds(3));
        h.ShouldHaveDisposedEveryResponse(1); // the hung attempt never produced a response
    }

    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task FirstTokenAfter20Seconds_TheFallbackAnswers(StreamingClientKind kind)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(withBackup: true);
        h.Server.AddRule(new FaultRule(Fault.SlowFirstToken(TimeSpan.FromSeconds(20))));

        Task<string> reading = h.StreamTextAsync(kind);
        await h.WaitForAttemptAsync(1, _ => h.Recorder.Responses.Count == 1, "its response headers");
        await h.WaitForRetryDelayAsync(TimeSpan.FromSeconds(3.5));
        h.Clock.Advance(TimeSpan.FromSeconds(3));

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Server.Requests.Should().ContainSingle();
        h.Backup!.Requests.Should().ContainSingle();
        h.ShouldHaveDisposedEveryResponse(2);
    }

    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task Persistent429_ThreeJitteredAttemptsThenTheFallbackAnswers(StreamingClientKind kind)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(withBackup: true);
        h.Server.AddRule(new FaultRule(Fault.Status(429)));

        Task<string> reading = h.StreamTextAsync(kind);
        var delays = new List<TimeSpan>();
        for (int retry = 0; retry < 2; retry++)
        {
            await h.WaitForAttemptAsync(retry + 1, timers => timers.Any(d => d < TimeSpan.FromSeconds(2)), "a backoff delay");
            TimeSpan delay = await h.WaitForRetryDelayAsync(TimeSpan.FromSeconds(2));
            delays.Add(delay);
            h.Clock.Advance(delay);
        }

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Server.Requests.Should().HaveCount(3, "one attempt plus MaxRetryAttempts (2)");
        delays[0].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(225)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(375));
        delays[1].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(750));
        h.Backup!.Requests.Should().ContainSingle();
        h.ShouldHaveDisposedEveryResponse(4);
    }

    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task OutageAcross20Requests_TheCircuitOpensTheFallbackServesAndThePrimaryServesAgainAfterItRecovers(StreamingClientKind kind)
    {
        var options = new OpenAIStreamingOptions();
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(options, withBackup: true);
        // 503 for the first 30 s of the server's clock, asking for a wait longer than MaxRetryAfter: no point waiting here.
        h.Server.AddRule(new FaultRule(Fault.Outage(TimeSpan.FromSeconds(30), retryAfter: TimeSpan.FromSeconds(120))));

        for (int i = 0; i < 20; i++)
        {
            (await h.StreamTextAsync(kind).WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        }

        h.Server.Requests.Should().HaveCount(options.CircuitBreaker.MinimumThroughput, "after that many failures the open circuit keeps requests off the primary");
        h.Backup!.Requests.Should().HaveCount(20, "the fallback served every request of the outage");

        h.Clock.Advance(TimeSpan.FromSeconds(31)); // the outage is over and the break has elapsed
        for (int i = 0; i < 3; i++)
        {
            (await h.StreamTextAsync(kind).WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        }

        h.Server.Requests.Should().HaveCount(options.CircuitBreaker.MinimumThroughput + 3, "the primary serves again");
        h.Backup.Requests.Should().HaveCount(20);
        h.ShouldHaveDisposedEveryResponse(options.CircuitBreaker.MinimumThroughput + 23);
    }

    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task ContextLengthExceeded_GoesToTheLargerContextModelOnly(StreamingClientKind kind)
    {
        var options = new OpenAIStreamingOptions();
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4o" });
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4.1", HasLargerContextWindow = true });
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(options);
        h.Server.AddRule(new FaultRule(Fault.Status(400, errorCode: "context_length_exceeded")) { Model = EndToEndHarness.Model });

        string text = await h.StreamTextAsync(kind).WaitAsync(ManualTimeProvider.SafetyTimeout);

        text.Should().Be(h.ExpectedTextOf("gpt-4.1"));
        h.Server.Requests.Select(r => r.Model).Should().Equal(EndToEndHarness.Model, "gpt-4.1");
        h.ShouldHaveDisposedEveryResponse(2);
    }
}
