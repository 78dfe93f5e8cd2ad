using OpenAIStreaming.Tests.Handler.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// What the handler and the wrapper client both promise once a stream has started: the idle timeout on every read, the total
/// timeout over the call, the caller's cancellation kept apart from both, and the body disposed on every exit. Each of them
/// runs these tests through its own harness.
/// </summary>
public abstract class StreamProtectionContract
{
    protected static readonly TimeSpan Idle = TimeSpan.FromSeconds(8);

    protected abstract IStreamProtectionHarness CreateHarness(OpenAIStreamingOptions? options = null);

    [Fact]
    public async Task Read_StallMidStream_ThrowsIdleTimeoutThroughTheReader()
    {
        using IStreamProtectionHarness h = CreateHarness(new OpenAIStreamingOptions { Recovery = { Enabled = false } });
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(Idle);
        h.Time.Advance(Idle);

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
        error.Timeout.Should().Be(Idle);
        error.IsRetryable.Should().BeTrue();
        h.Stub.Attempts.Should().ContainSingle("with recovery off, nothing is retried after the commit point");
        body.IsDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0, "the total-timeout timer ends with the response");
    }

    [Fact]
    public async Task Read_SlowButSteadyStream_IsNotCutByIdleButByTotal()
    {
        using IStreamProtectionHarness h = CreateHarness(new OpenAIStreamingOptions { TotalTimeout = TimeSpan.FromSeconds(10) });
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);

        Task<string> run = h.StreamTextAsync();
        await h.Time.WaitForTimerDueInAsync(Idle);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        int waits = body.Waits;
        body.Push(": still thinking\n\n");
        await ManualTimeProvider.WaitUntilAsync(() => body.Waits > waits, "the next read to wait"); // its idle timeout runs from here
        h.Time.Advance(TimeSpan.FromSeconds(5));

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(TimeSpan.FromSeconds(10));
        h.Time.Elapsed.Should().Be(TimeSpan.FromSeconds(10));
        body.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_CallerCancelsBeforeTheFirstEvent_ThrowsOperationCanceledNotTimeout()
    {
        using IStreamProtectionHarness h = CreateHarness();
        var silent = new ControlledStream();
        h.Stub.ThenStream(silent);
        using var caller = new CancellationTokenSource();

        Task<string> run = h.StreamTextAsync(caller.Token);
        await ManualTimeProvider.WaitUntilAsync(() => silent.PendingReads > 0, "the first event to be awaited");
        await caller.CancelAsync();

        OperationCanceledException error = (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OperationCanceledException>()).Which;
        error.Should().NotBeAssignableTo<OpenAIStreamException>();
        error.CancellationToken.Should().Be(caller.Token);
        h.Stub.Attempts.Should().ContainSingle();
        silent.IsDisposed.Should().BeTrue();
        h.Time.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task Read_CallerCancelsMidStream_ThrowsOperationCanceledNotTimeout()
    {
        using IStreamProtectionHarness h = CreateHarness();
        var body = new ControlledStream().Push(FirstEvent);
        h.Stub.ThenStream(body);
        using var caller = new CancellationTokenSource();

        Task<string> run = h.StreamTextAsync(caller.Token);
        await h.Time.WaitForTimerDueInAsync(Idle);
        await caller.CancelAsync();

        (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OperationCanceledException>())
            .Which.Should().NotBeAssignableTo<OpenAIStreamException>();
        body.IsDisposed.Should().BeTrue();
    }
}
