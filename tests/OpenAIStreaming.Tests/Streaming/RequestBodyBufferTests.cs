using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Tests.Streaming;

/// <summary>The request body, buffered once so every attempt can send it: written once, bounded as it is written, held once.</summary>
public sealed class RequestBodyBufferTests
{
    private const string Body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    public static TheoryData<string> InMemoryContents => ["bytes", "string", "memory"];

    [Theory]
    [MemberData(nameof(InMemoryContents))]
    public async Task PrepareAsync_ContentInMemory_IsReplacedByTheOneCopyWithItsHeaders(string kind)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Body);
        HttpContent content = kind switch
        {
            "bytes" => new ByteArrayContent(bytes),
            "string" => new StringContent(Body, Encoding.UTF8, "application/json"),
            _ => new ReadOnlyMemoryContent(bytes),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = content };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: 1024, CancellationToken.None);

        request.Content.Should().BeOfType<BufferedContent>("the copy is sent, so an open stream holds the body once");
        request.Content!.Headers.ContentType.Should().Be(content.Headers.ContentType);
        result.IsReplayable.Should().BeTrue();
        result.IsStream.Should().BeTrue();
        result.Model.Should().Be("gpt-4o");
        Encoding.UTF8.GetString(result.Body.Span).Should().Be(Body);
        (await request.Content.ReadAsStringAsync()).Should().Be(Body);
        (await request.Content.ReadAsStringAsync()).Should().Be(Body, "the copy can be sent again");
    }

    [Fact]
    public async Task PrepareAsync_TheLibrarysOwnBody_IsReadInPlaceAndKept()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Body);
        var content = BufferedContent.Json(bytes);
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = content };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: 1024, CancellationToken.None);

        request.Content.Should().BeSameAs(content, "a body already in memory that the handler can read is neither copied nor replaced");
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(result.Body, out ArraySegment<byte> segment).Should().BeTrue();
        segment.Array.Should().BeSameAs(bytes);
        result.IsReplayable.Should().BeTrue();
        result.IsStream.Should().BeTrue();
        result.Model.Should().Be("gpt-4o");
        request.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        request.Content.Headers.ContentLength.Should().Be(bytes.Length);
        (await request.Content.ReadAsStringAsync()).Should().Be(Body);
    }

    [Fact]
    public async Task PrepareAsync_TheLibrarysOwnBodyOverTheLimit_IsNotReplayable()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = BufferedContent.Json(Encoding.UTF8.GetBytes(Body)) };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: Body.Length - 1, CancellationToken.None);

        result.IsReplayable.Should().BeFalse();
        (await request.Content!.ReadAsStringAsync()).Should().Be(Body, "the request goes as it came");
    }

    [Fact]
    public async Task PrepareAsync_ContentWrittenOnDemand_IsWrittenOnceAndReplacedByTheCopyWithItsHeaders()
    {
        var content = new CountingContent(Encoding.UTF8.GetBytes(Body), knownLength: false);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        content.Headers.Add("Content-Language", "en");
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = content };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: 1024, CancellationToken.None);

        content.Serializations.Should().Be(1, "the content writes itself into the buffer once, not into a buffer of its own first");
        request.Content.Should().NotBeSameAs(content);
        request.Content!.Headers.ContentType!.ToString().Should().Be("application/json; charset=utf-8");
        request.Content.Headers.ContentLanguage.Should().Equal("en");
        request.Content.Headers.ContentLength.Should().Be(Encoding.UTF8.GetByteCount(Body));
        (await request.Content.ReadAsStringAsync()).Should().Be(Body);
        (await request.Content.ReadAsStringAsync()).Should().Be(Body, "the copy can be sent again");
        Encoding.UTF8.GetString(result.Body.Span).Should().Be(Body);
    }

    [Theory]
    [InlineData(150)] // a chat request as the official SDK writes it: no Content-Length
    [InlineData(3_000)]
    [InlineData(100_000)]
    public async Task PrepareAsync_ContentOfUnknownLength_KeepsLittleRoomPastTheBody(int size)
    {
        // An open stream holds its request body for its whole life (a replay sends it again): not a buffer grown for it.
        byte[] bytes = Encoding.UTF8.GetBytes("\"" + new string('x', size - 2) + "\"");
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = new CountingContent(bytes, knownLength: false) };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: 1 << 20, CancellationToken.None);

        result.Body.ToArray().Should().Equal(bytes);
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(result.Body, out ArraySegment<byte> kept).Should().BeTrue();
        kept.Array!.Length.Should().BeLessThanOrEqualTo(size + Math.Max(256, size / 8));
    }

    [Theory]
    [InlineData(100, true)] // exactly the limit
    [InlineData(101, false)] // one byte over
    public async Task PrepareAsync_ContentOfUnknownLength_IsBoundedAsItIsWritten(int size, bool fits)
    {
        byte[] bytes = Encoding.UTF8.GetBytes("\"" + new string('x', size - 2) + "\"");
        var content = new CountingContent(bytes, knownLength: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = content };

        Func<Task<RequestBodyBuffer.Result>> prepare = () => RequestBodyBuffer.PrepareAsync(request, maxBytes: 100, CancellationToken.None).AsTask();

        if (fits)
        {
            (await prepare()).Body.Length.Should().Be(100);
        }
        else
        {
            (await prepare.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*MaxRequestBodyBytes (100 bytes)*");
        }
    }

    [Fact]
    public async Task PrepareAsync_ContentLengthAboveTheLimit_IsNotReadAndNotReplayable()
    {
        var content = new CountingContent(new byte[200], knownLength: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/chat/completions") { Content = content };

        RequestBodyBuffer.Result result = await RequestBodyBuffer.PrepareAsync(request, maxBytes: 100, CancellationToken.None);

        result.IsReplayable.Should().BeFalse();
        content.Serializations.Should().Be(0);
        request.Content.Should().BeSameAs(content, "it is sent once, as it came");
    }

    /// <summary>A content that writes its bytes when asked (as the official SDK's does), in small pieces, counting how often.</summary>
    private sealed class CountingContent(byte[] bytes, bool knownLength) : HttpContent
    {
        public int Serializations { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            Serializations++;
            for (int i = 0; i < bytes.Length; i += 7)
            {
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return knownLength;
        }
    }
}
