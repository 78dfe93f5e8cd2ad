using System.Net;
using System.Text;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Tests.Handler.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Handler;

public sealed class OpenAIStreamingHandlerTimeoutTests
{
    private static readonly TimeSpan FirstToken = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Send_FirstTokenMiss_StartsAHedgeBesideTheAttemptAtOnceAndTheFirstContentWins()
    {
        using var h = new HandlerHarness();
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.Attempts[1].SentAt.Should().Be(FirstToken, "the hedge starts the moment the timer fires, without a retry delay");
        await ManualTimeProvider.WaitUntilAsync(() => silent.IsDisposed, "the losing attempt's body to be released");
        silent.WasCancelled.Should().BeTrue("the attempt that lost is cancelled");
    }

    [Fact]
    public async Task Send_FirstTokenMissBeforeHeaders_HedgesToo()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenHang().ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_SlowFirstToken_TheAttemptInFlightIsKeptAndWinsWhenItAnswersFirst()
    {
        using var h = new HandlerHarness();
        var slow = new ControlledStream();
        var hedge = new ControlledStream();
        h.Stub.ThenStream(slow).ThenStream(hedge);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 2 && hedge.PendingReads > 0, "the hedge beside the slow attempt");
        h.Time.Advance(TimeSpan.FromSeconds(2)); // 5 s: the first attempt still has not answered, and was never cut
        slow.Push(Healthy).Complete();

        (await Within(run)).Should().Be("ok");
        await ManualTimeProvider.WaitUntilAsync(() => hedge.IsDisposed, "the hedge that lost to be released");
        hedge.WasCancelled.Should().BeTrue();
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_AHedgeThatFailsFastBesideASilentAttempt_IsRetried()
    {
        using var h = new HandlerHarness();
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent).ThenStatus(503, "{}").ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 2, "the hedge");
        h.Time.Advance(await h.WaitForDelayAsync(TimeSpan.FromSeconds(1))); // the hedge's 503 waits its backoff, then is retried

        (await Within(run)).Should().Be("ok", "the hedge's 503 is retried as any failure would be, rather than waiting on the silent attempt");
        h.Stub.Attempts.Should().HaveCount(3);
        h.Time.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Send_ATotalTimeoutShorterThanTheFirstTokenTimeout_DoesNotCountAgainstTheRoute()
    {
        // The caller's own short budget ran out: the server was not given the time the first-token timeout allows.
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        using var h = new HandlerHarness(options, meterFactory: meters);
        h.Stub.Fallback = async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };

        for (int i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
            request.Options.Set(OpenAIStreamingRequestOptions.TotalTimeout, TimeSpan.FromSeconds(1));
            Task<HttpResponseMessage> send = h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(1));
            h.Time.Advance(TimeSpan.FromSeconds(1));
            (await FluentActions.Awaiting(() => Within(send)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        }

        meters.Of("openaistreaming.circuit_breaker.openings").Should().BeEmpty();
    }

    [Fact]
    public async Task Send_SilentServer_AtMostTwoAttemptsInFlightUntilTheTotalTimeout()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { TotalTimeout = TimeSpan.FromSeconds(30) });
        h.Stub.Fallback = async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 2, "the hedge");
        for (int i = 0; i < 8; i++)
        {
            h.Time.Advance(FirstToken); // every later first-token timer finds two attempts in flight already
        }

        h.Stub.Attempts.Should().HaveCount(2, "at most two attempts are in flight, and neither was cut");
        h.Time.Advance(TimeSpan.FromSeconds(30) - h.Time.Elapsed);

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_LastAttemptSilentUntilTheTotalTimeout_ThrowsTotalTimeout()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRetryAttempts = 0, TotalTimeout = TimeSpan.FromSeconds(30) });
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30));
        h.Time.Advance(TimeSpan.FromSeconds(30));

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(30));
        error.IsRetryable.Should().BeFalse();
        silent.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Read_StallMidStream_RawStreamEndsWithAnErrorEventThenThrowsIdleTimeoutNotIOException()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { Recovery = { Enabled = false } });
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);

        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await Within(h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        Stream stream = await response.Content.ReadAsStreamAsync();
        byte[] buffer = new byte[64 * 1024];
        int replayed = await stream.ReadAsync(buffer);
        Encoding.UTF8.GetString(buffer, 0, replayed).Should().Be(FirstEvent, "the prefetched first event is replayed byte for byte");

        Task<int> read = stream.ReadAsync(buffer).AsTask();
        await h.Time.WaitForTimerDueInAsync(Idle);
        h.Time.Advance(Idle);

        int errorEvent = await read.WaitAsync(ManualTimeProvider.SafetyTimeout);
        Encoding.UTF8.GetString(buffer, 0, errorEvent).Should().StartWith("data: {\"error\":{").And.Contain("\"code\":\"stream_timeout\"").And.EndWith("\n\n");
        (await FluentActions.Awaiting(() => stream.ReadAsync(buffer).AsTask()).Should().ThrowAsync<OpenAIStreamTimeoutException>())
            .Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Read_SendCancelledAfterTheResponseIsReturned_TheBodyReadsOn(bool throughInvoker)
    {
        // As with HttpClient's own token: the send's cancellation ends with the send, and the body's reads take their own.
        // Through an HttpMessageInvoker the send's token stays live; an HttpClient without a timeout hands the handler the
        // token of its CancelPendingRequests, which stays live too.
        using var h = new HandlerHarness(new OpenAIStreamingOptions { Recovery = { Enabled = false } });
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);
        using var invoker = new HttpMessageInvoker(h.Handler, disposeHandler: false);
        using var sendToken = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };

        using HttpResponseMessage response = await Within(throughInvoker
            ? invoker.SendAsync(request, sendToken.Token)
            : h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        Stream stream = await response.Content.ReadAsStreamAsync();
        Task<string> text = new StreamReader(stream).ReadToEndAsync();
        await ManualTimeProvider.WaitUntilAsync(() => body.PendingReads > 0, "the read after the first event to wait");
        if (throughInvoker)
        {
            await sendToken.CancelAsync();
        }
        else
        {
            h.Client.CancelPendingRequests();
        }

        body.Push(RestOfAnswer).Complete();

        (await Within(text)).Should().Be(FirstEvent + RestOfAnswer);
        body.WasCancelled.Should().BeFalse();
    }

    [Fact]
    public async Task Read_PerRequestIdleTimeout_OverridesTheOptions()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { Recovery = { Enabled = false } });
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Options.Set(OpenAIStreamingRequestOptions.IdleTimeout, TimeSpan.FromSeconds(1));

        using HttpResponseMessage response = await Within(h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        Stream stream = await response.Content.ReadAsStreamAsync();
        _ = await stream.ReadAsync(new byte[4096]);
        Task<int> read = stream.ReadAsync(new byte[4096]).AsTask();
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(1));
        h.Time.Advance(TimeSpan.FromSeconds(1));

        (await read.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().BePositive("the error event that ends the body");
        (await FluentActions.Awaiting(() => stream.ReadAsync(new byte[4096]).AsTask()).Should().ThrowAsync<OpenAIStreamTimeoutException>())
            .Which.Timeout.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Send_ConnectTimeoutFromThePrimaryHandler_IsRetriedAndReportedAsConnectWhenFinal()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRetryAttempts = 1 });
        static Exception ConnectTimeout() => new TaskCanceledException("The connection attempt timed out.", new TimeoutException());
        h.Stub.ThenThrow(ConnectTimeout()).ThenThrow(ConnectTimeout());

        Task<string> run = h.StreamTextAsync();
        h.Time.Advance(await h.WaitForDelayAsync(FirstToken));

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Connect);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(10));
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_NonSuccessBody_IsCutAtMaxErrorBodyBytes()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxErrorBodyBytes = 1024, MaxRetryAttempts = 0 });
        h.Stub.ThenStatus(400, new string('e', 5000));

        using HttpResponseMessage response = await Within(h.Client.PostAsync("chat/completions", new StringContent("{}", Encoding.UTF8, "application/json")));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsByteArrayAsync()).Should().HaveCount(1024);
    }
}
