using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// The handler's retry and timeout rules over real sockets, for the typed reader and for the official OpenAI SDK (2.15) reading
/// through the handler. The fake server and the handler share one manual clock, so every delay and timeout is asserted at
/// the exact fake time it fires.
/// </summary>
/// <remarks>
/// What the SDK surfaces: an HTTP error status the handler hands back (429 after the retries or with a too-long
/// <c>Retry-After</c>, 400) becomes the SDK's own <see cref="System.ClientModel.ClientResultException"/> with that status, the
/// OpenAI error body and the server's <c>x-request-id</c> in its raw response. The handler's timeouts are not wrapped: the
/// <see cref="OpenAIStreamTimeoutException"/> thrown from <c>SendAsync</c> (total) or from a body read (idle) reaches the
/// SDK's caller as it is, not wrapped by <c>HttpClientPipelineTransport</c> or the SDK's enumerator.
/// </remarks>
public sealed class HandlerFaultEndToEndTests
{
    private static readonly TimeSpan FirstToken = OpenAIStreamingOptions.Interactive.FirstTokenTimeout;
    private static readonly TimeSpan Idle = OpenAIStreamingOptions.Interactive.IdleTimeout;
    private static readonly TimeSpan Total = OpenAIStreamingOptions.Interactive.TotalTimeout;
    private static readonly TimeSpan BelowAnyTimeout = TimeSpan.FromSeconds(1); // every backoff here is at most 750 ms; every timeout is longer

    public static TheoryData<StreamingClientKind> Clients => new() { StreamingClientKind.TypedReader, StreamingClientKind.OfficialSdk };

    public static TheoryData<StreamingClientKind, string> ServerDelays => Cross(["retry-after-ms", "Retry-After"]);

    public static TheoryData<StreamingClientKind, string> NonRetryableCodes => Cross(["content_policy_violation", "context_length_exceeded"]);

    [Theory]
    [MemberData(nameof(ServerDelays))]
    public async Task Stream_429WithServerDelay_SecondAttemptExactlyThatMuchLaterAndTheAnswerIsComplete(StreamingClientKind client, string header)
    {
        (Fault fault, TimeSpan asked) = header == "retry-after-ms"
            ? (Fault.Status(429, retryAfterMs: TimeSpan.FromMilliseconds(1500)), TimeSpan.FromMilliseconds(1500))
            : (Fault.Status(429, retryAfter: TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(2));
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(fault) { Attempts = AttemptSet.Only(1) });

        Task<string> run = h.StreamTextAsync(client);
        await h.WaitForAttemptAsync(1, due => due.Contains(asked), "the retry delay the server asked for");
        h.Server.Requests.Should().HaveCount(1, "nothing is re-sent before the clock moves");
        h.Clock.Advance(asked);

        (await run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Recorder.Responses[0].Headers.Contains(header).Should().BeTrue("the server asked for the delay in that header");
        h.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
        (h.Server.Requests[1].Elapsed - h.Server.Requests[0].Elapsed).Should().Be(asked, "the second attempt is sent exactly when the asked delay is over");
        h.ShouldHaveDisposedEveryResponse(2);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_Persistent429WithoutRetryAfter_ThreeAttemptsWithJitteredBackoffThenA429Error(StreamingClientKind client)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.Status(429)));

        Task<string> run = h.StreamTextAsync(client);
        var delays = new List<TimeSpan>();
        for (int retry = 0; retry < 2; retry++)
        {
            await h.WaitForAttemptAsync(retry + 1, _ => true, "the attempt");
            TimeSpan delay = await h.WaitForRetryDelayAsync(BelowAnyTimeout);
            double nominal = 300 * Math.Pow(2, retry);
            delay.TotalMilliseconds.Should().BeInRange(nominal * 0.75, nominal * 1.25, "retry {0} waits RetryBaseDelay * 2^{0} ± RetryJitter", retry);
            delays.Add(delay);
            h.Clock.Advance(delay);
        }

        Exception error = await EndToEndHarness.FailureOf(run);
        error.Should().BeOfType(EndToEndHarness.HttpErrorType(client));
        EndToEndHarness.ErrorOf(error).Should().Be(new HttpError(429, "rate_limit_exceeded", h.ServerRequestId(2)), "the last attempt's error is reported");
        h.Recorder.Responses.Should().OnlyContain(r => r.Headers.RetryAfter == null && !r.Headers.Contains("retry-after-ms"), "the server never said how long to wait");
        delays.Should().NotContain([TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(600)], "the delays are spread by the jitter");
        h.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2, 3);
        h.Server.Requests.Select(r => r.Elapsed).Should().Equal(TimeSpan.Zero, delays[0], delays[0] + delays[1]);
        h.Clock.PendingDueTimes().Should().NotContain(d => d < BelowAnyTimeout, "no further retry is scheduled after the last attempt");
        h.ShouldHaveDisposedEveryResponse(3);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_ResetBeforeHeadersOnce_RetriesAndTheAnswerIsComplete(StreamingClientKind client)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.ResetBeforeHeaders()) { Attempts = AttemptSet.Only(1) });

        Task<string> run = h.StreamTextAsync(client);
        TimeSpan delay = await h.WaitForRetryDelayAsync(BelowAnyTimeout);
        delay.TotalMilliseconds.Should().BeInRange(225, 375);
        h.Clock.Advance(delay);

        (await run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
        h.ShouldHaveDisposedEveryResponse(1);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_ServerAcceptsAndNeverAnswers_OneHedgeThenTheTotalTimeoutExactlyWhenItRunsOut(StreamingClientKind client)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.NeverAnswer()));

        Task<string> run = h.StreamTextAsync(client);
        await h.WaitForAttemptAsync(1, due => due.Contains(FirstToken), "its first-token timer");
        h.Clock.Advance(FirstToken);
        await h.WaitForAttemptAsync(2, due => due.Contains(FirstToken), "the hedge beside it, with its own first-token timer");
        for (int i = 0; i < 10; i++)
        {
            h.Clock.Advance(FirstToken); // every later miss finds two attempts in flight already
        }

        h.Server.Requests.Should().HaveCount(2, "at most two attempts are in flight, and neither is ever cut");
        TimeSpan left = Total - h.Clock.Elapsed;
        h.Clock.Advance(left - TimeSpan.FromTicks(1));
        run.IsCompleted.Should().BeFalse();
        h.Clock.Advance(TimeSpan.FromTicks(1));

        Exception error = await EndToEndHarness.FailureOf(run);
        h.Clock.Elapsed.Should().Be(Total);
        OpenAIStreamTimeoutException timeout = error.Should().BeOfType<OpenAIStreamTimeoutException>().Which;
        timeout.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        timeout.Timeout.Should().Be(Total);
        h.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
        h.Server.Requests.Select(r => r.Elapsed).Should().Equal(TimeSpan.Zero, FirstToken);
        h.ShouldHaveDisposedEveryResponse(0);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_FirstTokenAfter6Seconds_TheFirstAttemptAnswersAt6SecondsAndItsOneHedgeIsCancelled(StreamingClientKind client)
    {
        TimeSpan slow = TimeSpan.FromSeconds(6);
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.SlowFirstToken(slow)));

        Task<string> run = h.StreamTextAsync(client);
        await h.WaitForAttemptAsync(1, due => h.Recorder.Responses.Count == 1 && due.Contains(FirstToken) && due.Contains(slow), "its headers, its first-token timer and the server's slow first token");
        h.Clock.Advance(FirstToken);
        await h.WaitForAttemptAsync(2, due => h.Recorder.Responses.Count == 2 && due.Contains(FirstToken), "the hedge's headers and the server's slow first token for it");
        h.Clock.Advance(slow - FirstToken);

        (await run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);
        h.Clock.Elapsed.Should().Be(slow, "the first attempt's answer arrives when the server sends it, as without the library");
        h.Server.Requests.Select(r => r.Attempt).Should().Equal([1, 2], "one hedge, and nothing else");
        h.ShouldHaveDisposedEveryResponse(2);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_StallMidStream_IdleTimeoutFiresWhenTheClockPassesItAndNotBefore(StreamingClientKind client)
    {
        const int EventsBeforeStall = 3;
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(new OpenAIStreamingOptions { Recovery = { Enabled = false } });
        h.Server.AddRule(new FaultRule(Fault.StallAfterEvents(EventsBeforeStall, TimeSpan.FromMinutes(5))));

        Task<string> run = h.StreamTextAsync(client);
        await ManualTimeProvider.WaitUntilAsync(
            () => h.Updates == EventsBeforeStall && h.Clock.PendingDueTimes().Contains(Idle),
            $"the client to wait for the event after the {EventsBeforeStall} sent (updates {h.Updates}; timers {string.Join(", ", h.Clock.PendingDueTimes())})");

        h.Clock.Advance(Idle - TimeSpan.FromTicks(1));
        h.Clock.PendingDueTimes().Should().Contain(TimeSpan.FromTicks(1), "the idle timer has not fired just under the idle timeout");
        run.IsCompleted.Should().BeFalse();
        h.Clock.Advance(TimeSpan.FromTicks(1));

        Exception error = await EndToEndHarness.FailureOf(run);
        h.Clock.Elapsed.Should().Be(Idle, "the stall began at time zero and the idle timeout fires as the clock reaches it (within idle + 10 %)");
        OpenAIStreamTimeoutException timeout = error.Should().BeOfType<OpenAIStreamTimeoutException>().Which;
        timeout.Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
        timeout.Timeout.Should().Be(Idle);
        timeout.RequestId.Should().Be(h.ServerRequestId(0));
        h.Server.Requests.Should().ContainSingle("with recovery off, nothing is retried after the first event reached the client");
        h.ShouldHaveDisposedEveryResponse(1);
    }

    [Theory]
    [MemberData(nameof(NonRetryableCodes))]
    public async Task Stream_400WithANonRetryableCode_OneAttemptAndTheCodeReachesTheCaller(StreamingClientKind client, string code)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.Status(400, errorCode: code)));

        Exception error = await EndToEndHarness.FailureOf(h.StreamTextAsync(client));

        error.Should().BeOfType(EndToEndHarness.HttpErrorType(client));
        EndToEndHarness.ErrorOf(error).Should().Be(new HttpError(400, code, h.ServerRequestId(0)));
        h.Server.Requests.Should().ContainSingle();
        h.Clock.Elapsed.Should().Be(TimeSpan.Zero);
        h.ShouldHaveDisposedEveryResponse(1);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Stream_RetryAfter100000Seconds_FailsAtOnceWithThe429AndTheServersRequestId(StreamingClientKind client)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync();
        h.Server.AddRule(new FaultRule(Fault.Status(429, retryAfter: TimeSpan.FromSeconds(100_000))));

        Exception error = await EndToEndHarness.FailureOf(h.StreamTextAsync(client));

        error.Should().BeOfType(EndToEndHarness.HttpErrorType(client));
        HttpError reported = EndToEndHarness.ErrorOf(error);
        reported.Should().Be(new HttpError(429, "rate_limit_exceeded", h.ServerRequestId(0)));
        reported.RequestId.Should().StartWith("req_");
        h.Clock.Elapsed.Should().Be(TimeSpan.Zero, "the handler does not wait when the server asks for longer than MaxRetryAfter");
        h.Server.Requests.Should().ContainSingle();
        h.ShouldHaveDisposedEveryResponse(1);
    }

    private static TheoryData<StreamingClientKind, string> Cross(string[] values)
    {
        var data = new TheoryData<StreamingClientKind, string>();
        foreach (StreamingClientKind client in Enum.GetValues<StreamingClientKind>())
        {
            foreach (string value in values)
            {
                data.Add(client, value);
            }
        }

        return data;
    }
}
