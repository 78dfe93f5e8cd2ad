using System.Globalization;
using System.Net;
using System.Text;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Handler;

public sealed class OpenAIStreamingHandlerRetryTests
{
    private const string RateLimitBody = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
    // Below the 3 s first-token timer that every stream attempt starts with, so waiting for "a timer due within Short" finds
    // the retry delay (at most 750 ms for the first two retries) and never that timer, whatever the machine's load.
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Send_429WithRetryAfterSeconds_WaitsExactlyThatLongOnTheClock()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(429, RateLimitBody, ("Retry-After", "2")).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2));
        h.Stub.Attempts.Should().HaveCount(1, "the second attempt waits for the clock");
        h.Time.Advance(TimeSpan.FromSeconds(2));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.Attempts[1].SentAt.Should().Be(TimeSpan.FromSeconds(2));
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_RetryAfterMs_TakesPrecedenceOverRetryAfter()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(429, RateLimitBody, ("retry-after-ms", "1500"), ("Retry-After", "30")).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(1500));
        h.Time.Advance(TimeSpan.FromMilliseconds(1500));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts[1].SentAt.Should().Be(TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public async Task Send_RetryAfterHttpDate_WaitsUntilThatDateOnTheClock()
    {
        using var h = new HandlerHarness();
        string date = (h.Time.GetUtcNow() + TimeSpan.FromSeconds(4)).ToString("r", CultureInfo.InvariantCulture);
        h.Stub.ThenStatus(503, RateLimitBody, ("Retry-After", date)).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(4));
        h.Time.Advance(TimeSpan.FromSeconds(4));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts[1].SentAt.Should().Be(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Send_Persistent429_MakesOnePlusMaxRetryAttemptsWithJitteredBackoffThenSurfaces429()
    {
        using var h = new HandlerHarness();
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 429, new TrackedMemoryStream(Encoding.UTF8.GetBytes(RateLimitBody)), "application/json", [("x-request-id", "req_42")]));

        Task<string> run = h.StreamTextAsync();
        for (int retry = 0; retry < 2; retry++)
        {
            TimeSpan delay = await h.WaitForDelayAsync(Short);
            double nominal = 300 * Math.Pow(2, retry);
            delay.TotalMilliseconds.Should().BeInRange(nominal * 0.75, nominal * 1.25);
            h.Time.Advance(delay);
        }

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.StatusCode.Should().Be(429);
        error.ErrorCode.Should().Be("rate_limit_exceeded");
        error.RequestId.Should().Be("req_42");
        h.Stub.Attempts.Should().HaveCount(3);
        string clientRequestId = h.Stub.Attempts.Select(a => a.ClientRequestId).Distinct().Should().ContainSingle().Which!;
        Guid.TryParseExact(clientRequestId, "D", out Guid id).Should().BeTrue("the id is a UUID in its usual form");
        id.Version.Should().Be(4);
        id.Variant.Should().BeInRange(8, 0xB, "the RFC 9562 variant");
        h.Stub.Attempts.Select(a => a.Attempt).Should().Equal("1", "2", "3");
        h.Stub.Attempts.Select(a => a.RetryCount).Should().Equal("0", "1", "2");
        h.Stub.Attempts.Select(a => a.Body).Distinct().Should().ContainSingle("the buffered body is sent again unchanged");
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_CallerClientRequestId_IsKeptOnEveryAttempt()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(500).ThenSse(Healthy);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-client-request-id", "mine-1");

        Task<HttpResponseMessage> send = h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        h.Time.Advance(await h.WaitForDelayAsync(Short));
        using HttpResponseMessage response = await Within(send);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        h.Stub.Attempts.Select(a => a.ClientRequestId).Should().Equal("mine-1", "mine-1");
    }

    [Fact]
    public async Task Send_500Once_RetriesAndCompletes()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(500, """{"error":{"message":"boom","type":"server_error","param":null,"code":null}}""").ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(Short));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_ConnectionResetOnce_RetriesAndCompletes()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenThrow(new HttpRequestException(HttpRequestError.ConnectionError, "Connection reset by peer")).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(Short));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_ResetAfterHeadersBeforeFirstEvent_RetriesAndCompletes()
    {
        using var h = new HandlerHarness();
        h.Stub.Then((request, _) => Task.FromResult(h.Stub.Respond(request, 200, new FailingStream(), "text/event-stream", []))).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(Short));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_EmptyStreamBody_IsRetriedBecauseNothingWasDelivered()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenSse(": keep-alive\n\n").ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(Short));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Theory]
    [InlineData(400, "context_length_exceeded")]
    [InlineData(400, "content_policy_violation")]
    [InlineData(401, "invalid_api_key")]
    [InlineData(403, "unsupported_country_region_territory")]
    [InlineData(404, "model_not_found")]
    [InlineData(422, "unprocessable")]
    public async Task Send_NonRetryableStatus_OneAttemptAndTheCodeReachesTheCaller(int status, string code)
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(status, $$$"""{"error":{"message":"no","type":"invalid_request_error","param":"messages","code":"{{{code}}}"}}""", ("x-request-id", "req_1"));

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>()).Which;

        error.StatusCode.Should().Be(status);
        error.ErrorCode.Should().Be(code);
        error.RequestId.Should().Be("req_1");
        error.IsRetryable.Should().BeFalse();
        h.Stub.Attempts.Should().ContainSingle();
        h.Time.Elapsed.Should().Be(TimeSpan.Zero);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_RetryAfterLongerThanMaxRetryAfter_FailsAtOnceWithTheServersError()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(429, RateLimitBody, ("Retry-After", "100000"), ("x-request-id", "req_quota"));

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>()).Which;

        error.StatusCode.Should().Be(429);
        error.ErrorCode.Should().Be("rate_limit_exceeded");
        error.RequestId.Should().Be("req_quota");
        h.Stub.Attempts.Should().ContainSingle();
        h.Time.Elapsed.Should().Be(TimeSpan.Zero, "a 27-hour Retry-After is never waited");
    }

    [Fact]
    public async Task Send_CallerCancelsDuringTheRetryDelay_EndsAtOnceWithoutTheRetry()
    {
        // The call's cancellation reaches the runner while it waits for a retry: the wait ends, and nothing more is sent.
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(429, RateLimitBody, ("Retry-After", "2")).ThenSse(Healthy);
        using var caller = new CancellationTokenSource();

        Task<string> run = h.StreamTextAsync(caller.Token);
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2));
        await caller.CancelAsync();

        (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OperationCanceledException>())
            .Which.Should().NotBeAssignableTo<OpenAIStreamException>();
        h.Stub.Attempts.Should().ContainSingle("the retry is never sent");
        await ManualTimeProvider.WaitUntilAsync(() => h.Time.ActiveTimers == 0, "the call's timers to be released");
        h.Time.Elapsed.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public async Task Send_RetryAfterLongerThanTheTotalTimeoutLeft_FailsAtOnce()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { TotalTimeout = TimeSpan.FromSeconds(10) });
        h.Stub.ThenStatus(503, RateLimitBody, ("Retry-After", "20"));

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>()).Which;

        error.StatusCode.Should().Be(503);
        h.Stub.Attempts.Should().ContainSingle();
        h.Time.Elapsed.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public async Task Send_ShouldRetryFalse_IsNotRetried()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(429, """{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""", ("x-should-retry", "false"));

        OpenAIStreamException error = (await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>()).Which;

        error.ErrorCode.Should().Be("insufficient_quota");
        h.Stub.Attempts.Should().ContainSingle();
    }

    [Fact]
    public async Task Send_ShouldRetryTrue_RetriesEvenA400()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(400, RateLimitBody, ("x-should-retry", "true")).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(Short));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_NonStreamRequest_GetsTheSamePreCommitRetries()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(502).ThenStatus(200, """{"id":"chatcmpl-1","choices":[]}""");

        Task<HttpResponseMessage> send = h.Client.PostAsync("chat/completions", new StringContent("""{"model":"gpt-4o","stream":false}""", Encoding.UTF8, "application/json"));
        await h.Time.WaitForTimersAsync(2);
        h.Time.PendingDueTimes().Should().NotContain(TimeSpan.FromSeconds(3), "a non-stream request has no first-token timer");
        h.Time.Advance(await h.WaitForDelayAsync(Short));
        using HttpResponseMessage response = await Within(send);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("chatcmpl-1");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_PerRequestMaxRetryAttempts_OverridesTheOptions()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenStatus(503).ThenSse(Healthy);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Options.Set(OpenAIStreamingRequestOptions.MaxRetryAttempts, 0);

        using HttpResponseMessage response = await Within(h.Client.SendAsync(request));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        h.Stub.Attempts.Should().ContainSingle();
    }

    [Fact]
    public async Task Send_ManyConcurrentFailingRequests_RetryBudgetBoundsTheRetries()
    {
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.Zero, RetryBudgetRatio = 0.2, RetryBudgetMinRetriesPerSecond = 1 };
        options.CircuitBreaker.Enabled = false; // the breaker would stop this storm too; here the budget alone must bound it
        using var h = new HandlerHarness(options);
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 503, new TrackedMemoryStream([]), "application/json", []));

        const int requests = 50;
        HttpResponseMessage[] responses = await Within(Task.WhenAll(Enumerable.Range(0, requests).Select(_ =>
            h.Client.PostAsync("chat/completions", new StringContent("""{"model":"m"}""", Encoding.UTF8, "application/json")))));

        responses.Should().AllSatisfy(r => r.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable));
        int retries = h.Stub.Attempts.Count - requests;
        retries.Should().BeLessThanOrEqualTo((int)(requests * 0.2) + 1, "20 % of the traffic plus a floor of one per second");
        retries.Should().BeGreaterThan(0);
        foreach (HttpResponseMessage response in responses)
        {
            response.Dispose();
        }

        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_ContentLengthAboveMaxRequestBodyBytes_IsSentOnceWithoutRetries()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRequestBodyBytes = 1024 });
        h.Stub.ThenStatus(503);
        string big = "{\"model\":\"m\",\"stream\":true,\"pad\":\"" + new string('x', 2000) + "\"}";

        using HttpResponseMessage response = await Within(h.Client.PostAsync("chat/completions", new StringContent(big, Encoding.UTF8, "application/json")));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        h.Stub.Attempts.Should().ContainSingle().Which.Body.Should().Be(big);
    }

    /// <summary>A body whose first read fails like a connection reset.</summary>
    private sealed class FailingStream : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(new IOException("Connection reset by peer"));
    }

    [Fact]
    public async Task Send_OneRetryTokenLeftForTwoSilentStreams_OnlyOneHedgesAndTheOtherKeepsWaiting()
    {
        var options = new OpenAIStreamingOptions { RetryBudgetRatio = 0, RetryBudgetMinRetriesPerSecond = 1 };
        options.CircuitBreaker.Enabled = false;
        using var h = new HandlerHarness(options);
        h.Stub.ThenHang().ThenHang().ThenSse(Healthy);

        Task<string> first = h.StreamTextAsync();
        Task<string> second = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 2, "both first attempts");
        await h.Time.WaitForTimerDueInAsync(options.FirstTokenTimeout);
        h.Time.Advance(options.FirstTokenTimeout);

        Task<string> answered = await Within(Task.WhenAny(first, second));
        (await answered).Should().Be("ok", "the one hedge the budget allows answered");
        h.Stub.Attempts.Should().HaveCount(3, "the budget had one token: the other call's attempt is kept, not joined by a hedge");
        (first.IsCompleted && second.IsCompleted).Should().BeFalse("the other call is still waiting for its first content, never cut");
    }
}
