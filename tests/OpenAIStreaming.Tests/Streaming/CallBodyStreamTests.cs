using System.Text;
using OpenAIStreaming.Streaming.Internal;
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
}
