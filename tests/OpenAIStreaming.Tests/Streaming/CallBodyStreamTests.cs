using System.Text;
using OpenAIStreaming.Streaming.Internal;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Streaming;

/// <summary>The body stream a call serves: nearly free per read.</summary>
public sealed class CallBodyStreamTests
{
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public async Task ReadAsync_ManyReads_AllocateNothingPerRead(bool eventStreamLimits, bool cancellableToken)
    {
        // One event per read, as a client that keeps up with a live stream reads: the idle timer is re-armed on one timer
        // and the consumer's token linked by a registration, so no CancellationTokenSource (or task) is made per read.
        byte[] chunk = Encoding.UTF8.GetBytes("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
        const int Reads = 20_000;
        byte[] body = new byte[chunk.Length * Reads];
        for (int i = 0; i < Reads; i++)
        {
            chunk.CopyTo(body, i * chunk.Length);
        }

        var clock = new ManualTimeProvider();
        var options = new OpenAIStreamingOptions();
        using var call = new CallContext(RequestSettings.For(options, new HttpRequestOptions()), clock, metrics: null, clientRequestId: null, CancellationToken.None);
        var limits = new BodyLimits(long.MaxValue, long.MaxValue, eventStreamLimits ? options.MaxEventSize : null);
        using var stream = new CallBodyStream(new MemoryStream(body), prefix: null, 0, 0, options.IdleTimeout, call, limits, requestId: null, statusCode: 200, reportsEnd: true);
        using var consumer = new CancellationTokenSource();
        CancellationToken token = cancellableToken ? consumer.Token : CancellationToken.None;
        byte[] buffer = new byte[chunk.Length];
        for (int i = 0; i < 100; i++)
        {
            (await stream.ReadAsync(buffer, token)).Should().Be(chunk.Length); // warm up
        }

        // Three rounds, the least counted: a one-time allocation of the runtime on this thread (a pool or a tier-up while
        // other tests run beside this one) is not a per-read cost, and does not recur in every round.
        const int ReadsPerRound = (Reads - 100) / 3;
        long least = long.MaxValue;
        long total = 0;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < ReadsPerRound; i++)
            {
                total += await stream.ReadAsync(buffer, token);
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        total.Should().Be((long)chunk.Length * ReadsPerRound * 3);
        least.Should().BeLessThan(ReadsPerRound / 10, "a read allocates nothing (a few bytes in all, from the runtime, are tolerated)");
    }

    [Theory]
    [InlineData(2, "prefix-live")] // part of what was prefetched is served first
    [InlineData(9, "live")] // the reader took every prefetched byte as events: nothing of it is left to serve
    public async Task ReadAsync_PrefixReadWhole_IsNotKeptByTheOpenStream(int prefixStart, string expected)
    {
        // Once what was read before the commit point is served, an open stream no longer holds it (with thousands of
        // streams open, a few hundred bytes each add up).
        var clock = new ManualTimeProvider();
        var options = new OpenAIStreamingOptions();
        using var call = new CallContext(RequestSettings.For(options, new HttpRequestOptions()), clock, metrics: null, clientRequestId: null, CancellationToken.None);
        (CallBodyStream stream, WeakReference prefix) = Create();
        using (stream)
        {
            byte[] buffer = new byte[4];
            var read = new List<byte>();
            for (int n; (n = await stream.ReadAsync(buffer)) > 0;)
            {
                read.AddRange(buffer[..n]);
            }

            Encoding.UTF8.GetString([.. read]).Should().Be(expected, "the rest of the prefix first, then the live body");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            prefix.IsAlive.Should().BeFalse("nothing of the prefix is left to read");
        }

        (CallBodyStream, WeakReference) Create()
        {
            byte[] bytes = Encoding.UTF8.GetBytes("xxprefix-");
            var limits = new BodyLimits(long.MaxValue, long.MaxValue, null);
            var body = new CallBodyStream(new MemoryStream(Encoding.UTF8.GetBytes("live")), bytes, prefixStart, bytes.Length, options.IdleTimeout, call, limits, requestId: null, statusCode: 200, reportsEnd: false);
            return (body, new WeakReference(bytes));
        }
    }
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(8);

    private static async Task<T> FailureOf<T>(Task<int> read)
        where T : Exception =>
        (await FluentActions.Awaiting(() => read.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<T>()).Which;

    [Fact]
    public async Task ReadAsync_AWaitingRead_IsWatchedByTheCallsOneTimer()
    {
        // An open stream holds one timer for the idle and the total timeout, and no registration of its own on the call:
        // with thousands of streams open, each timer and registration is an object every collection traces.
        var open = new OpenBody(TimeSpan.FromSeconds(45));
        using (open)
        {
            Task<int> read = await open.ReadThatWaitsAsync();

            open.Clock.PendingDueTimes().Should().Equal([Idle], "one timer, due when the idle timeout of the waiting read runs out");
            open.Clock.Advance(Idle);

            (await FailureOf<OpenAIStreamTimeoutException>(read)).Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
            open.Clock.PendingDueTimes().Should().Equal([TimeSpan.FromSeconds(45) - Idle], "the timer goes on watching the total timeout");
        }

        open.Clock.ActiveTimers.Should().Be(0, "the call's end releases its timer");
    }

    [Fact]
    public async Task ReadAsync_TotalTimeoutDueBeforeTheIdleTimeout_FailsAsTheTotalTimeout()
    {
        using var open = new OpenBody(TimeSpan.FromSeconds(10));
        open.Clock.Advance(TimeSpan.FromSeconds(5));

        Task<int> read = await open.ReadThatWaitsAsync();
        open.Clock.PendingDueTimes().Should().Equal([TimeSpan.FromSeconds(5)], "the total timeout runs out 3 s before the idle timeout would");
        open.Clock.Advance(TimeSpan.FromSeconds(5));

        (await FailureOf<OpenAIStreamTimeoutException>(read)).Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        open.Source.WasCancelled.Should().BeTrue("the call cancels the read in progress");
        open.Clock.ActiveTimers.Should().Be(0);
    }

    [Fact]
    public async Task ReadAsync_IdleTimeout_IsMeasuredFromTheReadThatWaits()
    {
        using var open = new OpenBody(TimeSpan.FromSeconds(45));

        Task<int> first = await open.ReadThatWaitsAsync();
        open.Clock.Advance(TimeSpan.FromSeconds(6));
        open.Source.Push("data: {}\n\n");
        (await first.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().BePositive();

        Task<int> second = await open.ReadThatWaitsAsync();
        open.Clock.Advance(TimeSpan.FromSeconds(2)); // the timer set by the first read fires: the second has waited 2 s of 8
        second.IsCompleted.Should().BeFalse();
        open.Clock.PendingDueTimes().Should().Equal([TimeSpan.FromSeconds(6)]);
        open.Clock.Advance(TimeSpan.FromSeconds(6));

        (await FailureOf<OpenAIStreamTimeoutException>(second)).Kind.Should().Be(OpenAIStreamTimeoutKind.Idle);
        open.Clock.Elapsed.Should().Be(TimeSpan.FromSeconds(14));
    }

    [Fact]
    public async Task ReadAsync_CallerCancelsTheCall_CancelsTheReadInProgress()
    {
        // The call's cancellation reaches the body being read without a registration of the body's on the call's token.
        using var caller = new CancellationTokenSource();
        using var open = new OpenBody(TimeSpan.FromSeconds(45), caller.Token);

        Task<int> read = await open.ReadThatWaitsAsync();
        await caller.CancelAsync();

        (await FailureOf<OperationCanceledException>(read)).CancellationToken.Should().Be(caller.Token);
        open.Source.WasCancelled.Should().BeTrue();
    }

    [Fact]
    public async Task ReadAsync_BodyOpenedAfterTheCallWasCancelled_FailsAtOnce()
    {
        var clock = new ManualTimeProvider();
        using var caller = new CancellationTokenSource();
        var settings = RequestSettings.For(new OpenAIStreamingOptions(), new HttpRequestOptions());
        using var call = new CallContext(settings, clock, metrics: null, clientRequestId: null, caller.Token);
        await caller.CancelAsync();
        using var body = new CallBodyStream(new ControlledStream(), prefix: null, 0, 0, Idle, call, new BodyLimits(long.MaxValue, long.MaxValue, null), requestId: null, statusCode: 200, reportsEnd: false);

        (await FailureOf<OperationCanceledException>(body.ReadAsync(new byte[64]).AsTask())).CancellationToken.Should().Be(caller.Token);
    }

    /// <summary>A call with the idle timeout <see cref="Idle"/> and the total timeout given, and its body over a source the test feeds.</summary>
    private sealed class OpenBody : IDisposable
    {
        public OpenBody(TimeSpan total, CancellationToken callerToken = default)
        {
            var settings = RequestSettings.For(new OpenAIStreamingOptions { IdleTimeout = Idle, TotalTimeout = total }, new HttpRequestOptions());
            Call = new CallContext(settings, Clock, metrics: null, clientRequestId: null, callerToken);
            Body = new CallBodyStream(Source, prefix: null, 0, 0, Idle, Call, new BodyLimits(long.MaxValue, long.MaxValue, null), requestId: null, statusCode: 200, reportsEnd: false);
        }

        public ManualTimeProvider Clock { get; } = new();

        public ControlledStream Source { get; } = new();

        public CallContext Call { get; }

        public CallBodyStream Body { get; }

        /// <summary>Starts a read and returns it once it waits for the source.</summary>
        public async Task<Task<int>> ReadThatWaitsAsync()
        {
            int waiting = Source.PendingReads;
            Task<int> read = Body.ReadAsync(new byte[64]).AsTask();
            await ManualTimeProvider.WaitUntilAsync(() => Source.PendingReads > waiting, "the read to wait");
            return read;
        }

        public void Dispose()
        {
            Body.Dispose();
            Call.Dispose();
        }
    }
}
