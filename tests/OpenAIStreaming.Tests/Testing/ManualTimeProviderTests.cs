using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>The manual clock the fake-server and handler tests drive time with.</summary>
public sealed class ManualTimeProviderTests
{
    [Fact]
    public async Task Delay_CompletesOnlyWhenTheClockReachesItsDueTime()
    {
        var clock = new ManualTimeProvider();

        Task delay = Task.Delay(TimeSpan.FromSeconds(10), clock);
        clock.Advance(TimeSpan.FromSeconds(9));
        bool early = delay.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(1));

        early.Should().BeFalse();
        await delay.WaitAsync(TimeSpan.FromSeconds(10));
        clock.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public void Advance_FiresTimersInDueOrder_AndSeesTheTimeAtWhichEachIsDue()
    {
        var clock = new ManualTimeProvider();
        var fired = new List<(string Name, TimeSpan At)>();
        using ITimer late = clock.CreateTimer(_ => fired.Add(("late", clock.GetUtcNow() - clock.Start)), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using ITimer early = clock.CreateTimer(_ => fired.Add(("early", clock.GetUtcNow() - clock.Start)), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(5));

        fired.Should().Equal(("early", TimeSpan.FromSeconds(1)), ("late", TimeSpan.FromSeconds(3)));
        (clock.GetUtcNow() - clock.Start).Should().Be(TimeSpan.FromSeconds(5));
        clock.GetElapsedTime(0).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void PeriodicTimer_FiresOncePerPeriod_ChangeAndDisposeStopIt()
    {
        var clock = new ManualTimeProvider();
        int ticks = 0;
        ITimer timer = clock.CreateTimer(_ => Interlocked.Increment(ref ticks), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        clock.Advance(TimeSpan.FromSeconds(3.5));
        int afterThree = ticks;
        timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        clock.Advance(TimeSpan.FromSeconds(5));
        int afterStop = ticks;
        timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        timer.Dispose();
        clock.Advance(TimeSpan.FromSeconds(5));

        afterThree.Should().Be(3);
        afterStop.Should().Be(3);
        ticks.Should().Be(3);
        timer.Change(TimeSpan.Zero, TimeSpan.Zero).Should().BeFalse();
    }

    [Fact]
    public async Task CancellationTokenSourceWithDelay_CancelsWhenTheClockAdvances()
    {
        var clock = new ManualTimeProvider();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1), clock);

        bool before = cts.IsCancellationRequested;
        Task waiting = clock.WaitForActiveTimersAsync(1);
        await waiting;
        clock.Advance(TimeSpan.FromMinutes(1));

        before.Should().BeFalse();
        cts.IsCancellationRequested.Should().BeTrue();
    }

    [Fact]
    public async Task WaitForActiveTimersAsync_CompletesWhenAnotherThreadStartsWaiting()
    {
        var clock = new ManualTimeProvider();
        Task waiting = clock.WaitForActiveTimersAsync(1);
        bool before = waiting.IsCompleted;

        Task delay = Task.Run(() => Task.Delay(TimeSpan.FromSeconds(1), clock));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(10));

        before.Should().BeFalse();
    }

    [Fact]
    public async Task ConcurrentDelaysAndAdvances_AllDelaysComplete()
    {
        var clock = new ManualTimeProvider();
        Task[] delays = Enumerable.Range(1, 200).Select(i => Task.Run(() => Task.Delay(TimeSpan.FromMilliseconds(i), clock))).ToArray();
        Task all = Task.WhenAll(delays);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        int steps = await clock.AdvanceUntilAsync(all, TimeSpan.FromMilliseconds(50), timeout.Token);

        steps.Should().BeGreaterThan(0);
        all.IsCompletedSuccessfully.Should().BeTrue();
    }
}
