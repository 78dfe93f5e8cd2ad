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
    public async Task Send_FirstTokenMissOnFirstAttempt_RetriesAndCompletes()
    {
        using var h = new HandlerHarness();
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent).ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        h.Time.Advance(await h.WaitForDelayAsync(FirstToken));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        silent.WasCancelled.Should().BeTrue("the first-token timeout aborts the silent attempt");
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_FirstTokenMissBeforeHeaders_IsRetriedToo()
    {
        using var h = new HandlerHarness();
        h.Stub.ThenHang().ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        h.Time.Advance(await h.WaitForDelayAsync(FirstToken));

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_LastAttempt_IsNeverCutByTheFirstTokenTimeout()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRetryAttempts = 1 });
        var first = new ControlledStream();
        var last = new ControlledStream();
        h.Stub.ThenStream(first).ThenStream(last);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(FirstToken);
        h.Time.Advance(FirstToken);
        h.Time.Advance(await h.WaitForDelayAsync(FirstToken));
        await ManualTimeProvider.WaitUntilAsync(() => last.PendingReads > 0, "the last attempt to wait for its first event");

        h.Time.PendingDueTimes().Should().ContainSingle("only the total timeout bounds the last attempt");
        h.Time.Advance(TimeSpan.FromSeconds(20));
        run.IsCompleted.Should().BeFalse();

        last.Push(Healthy).Complete();
        (await Within(run)).Should().Be("ok");
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
    public async Task Read_StallMidStream_RawStreamReadThrowsIdleTimeoutNotIOException()
    {
        using var h = new HandlerHarness();
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

        (await FluentActions.Awaiting(() => read.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<OpenAIStreamTimeoutException>())
            .Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
    }

    [Fact]
    public async Task Read_PerRequestIdleTimeout_OverridesTheOptions()
    {
        using var h = new HandlerHarness();
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

        (await FluentActions.Awaiting(() => read.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<OpenAIStreamTimeoutException>())
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
        error.Timeout.Should().Be(TimeSpan.FromSeconds(2));
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
