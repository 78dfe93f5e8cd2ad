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
        prefetch.CommittedLength.Should().Be(body.Length);
        prefetch.Source.Dispose();
    }
}
