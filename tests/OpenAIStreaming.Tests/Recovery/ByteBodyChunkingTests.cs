using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Recovery;

/// <summary>
/// A reader of the raw bytes (as the official SDK is) through the handler gets the server's events exactly as they were
/// sent, however the body arrives (whole, byte by byte, in random pieces, synchronously or not) and whatever its own read
/// size: the fused path that passes a chunk on while accounting for its text holds for every read pattern.
/// </summary>
public sealed class ByteBodyChunkingTests
{
    private static readonly string[] Texts = ["Hello", " world", "", "\\n", "a\\\"b", "\\u00e9t\\u00e9", "\\ud83d\\ude00", "日本語", "🙂 café", "data: x"];

    public static TheoryData<Chunking, int> Cases
    {
        get
        {
            var data = new TheoryData<Chunking, int>();
            foreach (Chunking chunking in Chunkings.Standard)
            {
                foreach (int readSize in new[] { 1, 100, 4096 })
                {
                    data.Add(chunking, readSize);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ReadAsync_ThroughTheHandler_ReturnsTheEventsAsSent(Chunking chunking, int readSize)
    {
        using var http = ThroughHandler(chunking);
        using HttpResponseMessage response = await SendAsync(http);
        await using Stream stream = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        byte[] buffer = new byte[readSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        Encoding.UTF8.GetString(received.ToArray()).Should().Be(Body);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(100)]
    public async Task ReadAsync_EachReadWithItsOwnTokenCancelledAfterIt_ReturnsTheEventsAsSent(int readSize)
    {
        // The official SDK reads with a new linked token per read and cancels it once the read is done: a read must never
        // outlive the call that started it, or that cancellation would break the stream.
        using var http = ThroughHandler(Chunking.Fixed(64, asyncReads: true));
        using HttpResponseMessage response = await SendAsync(http);
        await using Stream stream = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        byte[] buffer = new byte[readSize];
        while (true)
        {
            using var perRead = new CancellationTokenSource();
            int read = await stream.ReadAsync(buffer, perRead.Token);
            await perRead.CancelAsync();
            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        Encoding.UTF8.GetString(received.ToArray()).Should().Be(Body);
    }

    [Fact]
    public async Task ReadAsync_EveryEventHandedOut_HoldsNoBufferBetweenReads()
    {
        // A stream read as fast as it comes (a read per event, each taking all of it) keeps no buffer of its own while it
        // waits for the next event: with thousands of streams open, a kilobyte each adds up.
        using var http = ThroughHandler(Chunking.Fixed(64, asyncReads: true));
        using HttpResponseMessage response = await SendAsync(http);
        await using Stream stream = await response.Content.ReadAsStreamAsync();
        object pending = stream.GetType().GetProperty("Out", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(stream)!;
        System.Reflection.FieldInfo held = pending.GetType().GetField("_buffer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        int reads = 0;
        for (int read; (read = await stream.ReadAsync(buffer)) > 0; reads++)
        {
            received.Write(buffer, 0, read);
            held.GetValue(pending).Should().BeOfType<byte[]>().Which.Should().BeEmpty($"read {reads} took everything written");
        }

        Encoding.UTF8.GetString(received.ToArray()).Should().Be(Body);
        reads.Should().BeGreaterThan(1);
    }

    private static string Body => SseBody.Chat([.. Texts.Select(t => SseBody.Chunk($$"""{"content":"{{t}}"}""")), SseBody.Chunk("{}", "\"stop\"")]);

    private static HttpClient ThroughHandler(Chunking chunking) =>
        new(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = StubOpenAIHandler.Sse(Body, chunking) })
        {
            BaseAddress = StubOpenAIHandler.BaseAddress,
        };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}""", Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };

        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
