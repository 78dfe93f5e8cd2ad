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
}
