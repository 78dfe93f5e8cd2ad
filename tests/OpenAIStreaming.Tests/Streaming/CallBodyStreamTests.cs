using System.Text;
using OpenAIStreaming.Streaming.Internal;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Streaming;

/// <summary>The body stream a call serves: nearly free per read.</summary>
public sealed class CallBodyStreamTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadAsync_ManyReadsWithACancellableToken_AllocateNothingPerRead(bool eventStreamLimits)
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
        byte[] buffer = new byte[chunk.Length];
        for (int i = 0; i < 100; i++)
        {
            (await stream.ReadAsync(buffer, consumer.Token)).Should().Be(chunk.Length); // warm up
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        long total = 0;
        for (int i = 100; i < Reads; i++)
        {
            total += await stream.ReadAsync(buffer, consumer.Token);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        total.Should().Be((long)chunk.Length * (Reads - 100));
        allocated.Should().BeLessThan(Reads / 10, "a read allocates nothing (a few bytes in all, from the runtime, are tolerated)");
    }
}
