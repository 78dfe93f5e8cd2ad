using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Tests.Streaming;

/// <summary>The read up to a stream's first content: bounded by twice the event size, whatever the pool hands out.</summary>
public sealed class FirstContentPrefetchTests
{
    [Theory]
    [InlineData(5_000)] // a bound that is not a power of two: the pool's arrays are longer than asked for
    [InlineData(4_096)]
    public async Task ReadAsync_EventsWithoutContent_StopsAtTwiceTheEventSize(int maxEventSize)
    {
        const string RoleChunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n";
        byte[] body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(RoleChunk, 1_000)));
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new MemoryStream(body)) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");

        FirstContentPrefetch prefetch = await FirstContentPrefetch.ReadAsync(response, maxEventSize, CancellationToken.None);

        prefetch.End.Should().Be(PrefetchEnd.Bound);
        prefetch.Length.Should().Be(2 * maxEventSize);
        prefetch.Buffer.Should().HaveCount(prefetch.Length, "what is kept for the stream's life is an exact copy");
        prefetch.Buffer.Should().Equal(body.Take(prefetch.Length));
        prefetch.Source.Dispose();
    }

    [Fact]
    public async Task ReadAsync_FirstContent_KeepsExactlyTheBytesRead()
    {
        string text = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
        byte[] body = Encoding.UTF8.GetBytes(text);
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new MemoryStream(body)) };

        FirstContentPrefetch prefetch = await FirstContentPrefetch.ReadAsync(response, 1024 * 1024, CancellationToken.None);

        prefetch.End.Should().Be(PrefetchEnd.Content);
        prefetch.Events.Should().HaveCount(2);
        prefetch.Buffer.Should().Equal(body);
        foreach (PrefetchedEvent e in prefetch.Events)
        {
            System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e.Data, out ArraySegment<byte> segment).Should().BeTrue();
            segment.Array.Should().BeSameAs(prefetch.Buffer, "an event's data is kept once: it points into the copy of the bytes read");
        }
        prefetch.CommittedLength.Should().Be(body.Length);
        prefetch.Source.Dispose();
    }

    [Theory]
    [InlineData(1)] // every event arrives in reads of its own
    [InlineData(7)]
    [InlineData(100_000)]
    public async Task ReadAsync_EventsReadBeforeTheBufferGrows_KeepTheirBytesAfterItsPooledArraysAreReused(int readSize)
    {
        // The role chunk is framed from the first buffer; a long keep-alive comment then makes the buffer grow twice, and
        // the arrays it leaves go back to the pool. The events kept must not point into them.
        string role = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n";
        string padding = ": " + new string('x', 3_000) + "\n\n";
        string content = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
        byte[] body = Encoding.UTF8.GetBytes(role + padding + content);
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new Support.ChunkedStream(body, [readSize], asyncReads: true)) };

        FirstContentPrefetch prefetch = await FirstContentPrefetch.ReadAsync(response, 1024 * 1024, CancellationToken.None);

        prefetch.End.Should().Be(PrefetchEnd.Content);
        foreach (PrefetchedEvent e in prefetch.Events)
        {
            // Never an array that went back to the pool (another rent would overwrite it): the copy, or the event's own.
            if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e.Data, out ArraySegment<byte> segment) && segment.Count < segment.Array!.Length)
            {
                segment.Array.Should().BeSameAs(prefetch.Buffer);
            }
        }

        prefetch.Events.Select(e => Encoding.UTF8.GetString(e.Data.Span)).Should().Equal(
            "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}",
            "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}");
        prefetch.Buffer.Should().Equal(body);
        prefetch.Source.Dispose();
    }

    [Fact]
    public async Task ReadAsync_WhileTheFirstBytesAreAwaited_HoldsNoBuffer()
    {
        // A model can take seconds to its first token and a busy client waits on thousands of streams at once: the wait is
        // a zero-byte read, and a buffer is taken only once bytes are there.
        var body = new Handler.Support.ControlledStream();
        var recording = new ReadSizeRecordingStream(body);
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(recording) };

        Task<FirstContentPrefetch> reading = FirstContentPrefetch.ReadAsync(response, 1024 * 1024, CancellationToken.None).AsTask();
        await WaitUntilAsync(() => body.PendingReads == 1);

        recording.ReadSizes.Should().Equal([0], "the read waiting for the first bytes asks for none");
        body.Push("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
        FirstContentPrefetch prefetch = await reading.WaitAsync(TimeSpan.FromSeconds(30));

        prefetch.End.Should().Be(PrefetchEnd.Content);
        recording.ReadSizes.Should().HaveCount(2).And.Subject.Last().Should().BePositive("bytes are read into a buffer once they are there");
        Encoding.UTF8.GetString(prefetch.Events.Single().Data.Span).Should().Be("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}");
        prefetch.Source.Dispose();
    }

    [Fact]
    public async Task ReadAsync_BodyBreaksWhileTheFirstBytesAreAwaited_IsARetryableBreakBeforeContent()
    {
        var body = new BreakingStream();
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) };

        Func<Task> reading = () => FirstContentPrefetch.ReadAsync(response, 1024 * 1024, CancellationToken.None).AsTask();

        OpenAIStreamProtocolException error = (await reading.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which;
        error.IsRetryable.Should().BeTrue();
        error.IsBrokenBody.Should().BeTrue();
        error.EventIndex.Should().Be(0, "no event arrived before the break");
        body.IsDisposed.Should().BeTrue("the broken body is released");
    }

    [Fact]
    public async Task ReadAsync_BodyEndsWhileTheFirstBytesAreAwaited_EndedWithNothingRead()
    {
        var body = new Handler.Support.ControlledStream();
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) };

        Task<FirstContentPrefetch> reading = FirstContentPrefetch.ReadAsync(response, 1024 * 1024, CancellationToken.None).AsTask();
        await WaitUntilAsync(() => body.PendingReads == 1);
        body.Complete();
        FirstContentPrefetch prefetch = await reading.WaitAsync(TimeSpan.FromSeconds(30));

        prefetch.End.Should().Be(PrefetchEnd.Ended, "a body that ends before any content can be sent again");
        prefetch.Committed.Should().BeFalse();
        prefetch.Events.Should().BeEmpty();
        prefetch.Length.Should().Be(0);
        prefetch.Source.Dispose();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>Passes reads through to another stream and records how many bytes each asked for.</summary>
    private sealed class ReadSizeRecordingStream(Stream inner) : AsyncReadOnlyStream
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<int> _sizes = new();

        public IReadOnlyList<int> ReadSizes => [.. _sizes];

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _sizes.Enqueue(buffer.Length);
            return inner.ReadAsync(buffer, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A body whose connection is reset before any byte arrives.</summary>
    private sealed class BreakingStream : AsyncReadOnlyStream
    {
        public bool IsDisposed { get; private set; }

        protected override void Dispose(bool disposing)
        {
            IsDisposed = true;
            base.Dispose(disposing);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            throw new IOException("The connection was reset.", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset));
        }
    }

    /// <summary>A stream read only asynchronously, through <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    private abstract class AsyncReadOnlyStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
