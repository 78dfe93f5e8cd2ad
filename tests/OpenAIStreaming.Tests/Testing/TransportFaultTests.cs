using System.Text;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>Faults in how the bytes travel: timing, write boundaries, line endings, comments.</summary>
public sealed class TransportFaultTests
{
    [Fact]
    public async Task SlowFirstToken_HeadersArriveAtOnce_FirstEventOnlyAfterTheDelayOnTheServerClock()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "slow-first-token=20s")), timeout.Token);
        Stream body = await response.Content.ReadAsStreamAsync(timeout.Token);
        byte[] buffer = new byte[16];
        Task<int> firstRead = body.ReadAsync(buffer, timeout.Token).AsTask();
        await clock.WaitForActiveTimersAsync(1, timeout.Token);
        clock.Advance(TimeSpan.FromSeconds(19));
        bool waiting = !firstRead.IsCompleted && clock.ActiveTimers == 1;
        clock.Advance(TimeSpan.FromSeconds(1));

        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        waiting.Should().BeTrue();
        (await firstRead).Should().BeGreaterThan(0);
        Encoding.UTF8.GetString(buffer).Should().StartWith("data: {");
    }

    [Fact]
    public async Task ByteByByte_EveryByteIsASeparateFlushedWrite()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock, TokenCount = 2 });
        using var timeout = new CancellationTokenSource(TestTimeout);
        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "bytewise;pause=1ms")), timeout.Token);
        Stream body = await response.Content.ReadAsStreamAsync(timeout.Token);

        var reads = new List<byte[]>();
        for (int i = 0; i < 40; i++)
        {
            await clock.WaitForActiveTimersAsync(1, timeout.Token);
            byte[] buffer = new byte[1024];
            int read = await body.ReadAsync(buffer, timeout.Token);
            reads.Add(buffer[..read]);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        reads.Should().OnlyContain(r => r.Length == 1, "the server waits on the clock after every single byte");
        Encoding.UTF8.GetString(reads.SelectMany(r => r).ToArray()).Should().StartWith("data: {\"id\":\"chatcmpl-");
    }

    [Fact]
    public async Task SplitMultiByteCharacters_ACharactersBytesArriveInSeparateReads()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        using var timeout = new CancellationTokenSource(TestTimeout);
        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "split-utf8;pause=5ms")), timeout.Token);
        Stream body = await response.Content.ReadAsStreamAsync(timeout.Token);

        // The fake.Server writes up to and including the lead byte of the first multi-byte character, then waits on the clock.
        await clock.WaitForActiveTimersAsync(1, timeout.Token);
        var received = new List<byte>();
        byte[] buffer = new byte[64 * 1024];
        while (received.Count == 0 || received[^1] < 0xC0)
        {
            int read = await body.ReadAsync(buffer, timeout.Token);
            read.Should().BePositive();
            received.AddRange(buffer[..read]);
        }

        bool serverStillWaiting = clock.ActiveTimers == 1;
        Task<List<byte[]>> reading = ReadChunksAsync(body, timeout.Token);
        await clock.AdvanceUntilAsync(reading, TimeSpan.FromMilliseconds(5), timeout.Token);
        List<byte[]> chunks = [received.ToArray(), .. await reading];

        serverStillWaiting.Should().BeTrue("the rest of the character is only written after the pause");
        received[^1].Should().BeGreaterThanOrEqualTo(0xC0, "what the client holds ends with a lead byte, mid-character");
        chunks[1][0].Should().BeInRange(0x80, 0xBF, "the next read starts with the continuation bytes");
        string text = Encoding.UTF8.GetString(chunks.SelectMany(c => c).ToArray());
        ChatText(text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList())
            .Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
    }

    [Theory]
    [InlineData("crlf", "\r\n")]
    [InlineData("cr", "\r")]
    public async Task LineEndings_EveryLineEndsWithTheChosenSequence(string fault, string eol)
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        string body = await fake.BodyAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, fault));

        body.Should().EndWith("data: [DONE]" + eol + eol);
        body.Replace(eol, "\u0001", StringComparison.Ordinal).Should().NotContainAny("\r", "\n");
        body.Split(eol + eol, StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(1 + 12 + 1 + 1);
    }

    [Fact]
    public async Task LineEndings_CrlfOnResponses_AppliesToEventAndDataLines()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("responses", """{"model":"gpt-4o-mini","input":"hi","stream":true}""", (FakeOpenAIHeaders.Fault, "crlf"));
        string body = await response.Content.ReadAsStringAsync();

        body.Should().StartWith("event: response.created\r\ndata: {").And.EndWith("}\r\n\r\n");
        body.Replace("\r\n", "", StringComparison.Ordinal).Should().NotContainAny("\r", "\n");
    }

    [Fact]
    public async Task KeepAliveComments_CommentAndBlankLineBeforeEveryNthEvent()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        string body = await fake.BodyAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "keepalive;every=2;text= OPENROUTER PROCESSING"));

        body.Should().StartWith(": OPENROUTER PROCESSING\n\ndata: {");
        int events = body.Split("\n\n").Count(e => e.StartsWith("data: ", StringComparison.Ordinal));
        int comments = body.Split("\n\n").Count(e => e == ": OPENROUTER PROCESSING");
        events.Should().Be(15);
        comments.Should().Be(8);
    }
}
