using OpenAIStreaming.Handler.Internal;

namespace OpenAIStreaming.Tests.Handler;

/// <summary>What a call's runner waits on: no signal is lost, whether it comes before, during or racing the wait.</summary>
public sealed class WakeSignalTests
{
    [Fact]
    public async Task WaitAsync_SetBefore_CompletesAtOnceAndConsumesIt()
    {
        var signal = new WakeSignal();
        signal.Set();
        signal.Set(); // several sets before a wait are one wake

        ValueTask first = signal.WaitAsync();
        first.IsCompleted.Should().BeTrue();
        await first;
        ValueTask second = signal.WaitAsync();
        second.IsCompleted.Should().BeFalse("the signal was consumed by the first wait");
        signal.Set();
        await second;
    }

    [Fact]
    public async Task WaitAsync_SetWhileWaiting_Completes()
    {
        var signal = new WakeSignal();
        ValueTask wait = signal.WaitAsync();
        wait.IsCompleted.Should().BeFalse();

        signal.Set();

        wait.IsCompleted.Should().BeTrue();
        await wait;
        ValueTask next = signal.WaitAsync();
        next.IsCompleted.Should().BeFalse("the set woke the waiter and was not kept");
        signal.Set();
        await next;
    }

    [Fact]
    public async Task WaitAsync_SetFromOtherThreads_NoWakeIsLost()
    {
        var signal = new WakeSignal();
        const int Producers = 4;
        const int SetsEach = 20_000;
        int produced = 0;
        var start = new ManualResetEventSlim();
        Task[] producers = Enumerable.Range(0, Producers).Select(_ => Task.Run(() =>
        {
            start.Wait();
            for (int i = 0; i < SetsEach; i++)
            {
                Interlocked.Increment(ref produced);
                signal.Set();
            }
        })).ToArray();

        start.Set();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a lost wake would wait forever: fail instead
        while (Volatile.Read(ref produced) < Producers * SetsEach)
        {
            await signal.WaitAsync().AsTask().WaitAsync(timeout.Token);
        }

        await Task.WhenAll(producers);
        Volatile.Read(ref produced).Should().Be(Producers * SetsEach);
    }
}
