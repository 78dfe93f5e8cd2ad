using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>Faults that play a hostile or broken server: redirects, bodies that never end, gzip (valid or corrupt), malformed chunk framing.</summary>
public sealed class HostileServerFaultTests
{
    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(303)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task Redirect_ClientNotFollowing_SeesTheStatusTheLocationAndASmallJsonBody(int status)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, $"redirect={status};to=http://127.0.0.1:1234/v1/chat/completions")), timeout.Token);
        string body = await response.Content.ReadAsStringAsync(timeout.Token);

        ((int)response.StatusCode).Should().Be(status);
        response.Headers.Location.Should().Be(new Uri("http://127.0.0.1:1234/v1/chat/completions"));
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        body.Should().Be("""{"location":"http://127.0.0.1:1234/v1/chat/completions"}""");
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Redirect_FromCodeWithDefaultFollowing_IsFollowedOnceThenTheSecondAttemptIsServed()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Redirect(307, new Uri(server.BaseAddress, "chat/completions"))) { Attempts = AttemptSet.Only(1) });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody()), timeout.Token);
        List<string> data = await ReadAllDataAsync(response, timeout.Token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        ChatText(data).Should().Be(server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
        server.Requests.Select(r => (r.Attempt, r.Faults.Count)).Should().Equal((1, 1), (2, 0));
    }

    [Fact]
    public void Redirect_FactoryWithANonRedirectStatus_Throws()
    {
        Action create = () => Fault.Redirect(200, new Uri("http://127.0.0.1:1/"));

        create.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task EndlessEvents_KHealthyEventsThenContentChunksForever_StopsWhenTheClientLeaves_ServerStaysHealthy()
    {
        using var finished = new FinishedRequests();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(finished));
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { LoggerFactory = loggers });
        using var timeout = new CancellationTokenSource(TestTimeout);

        var data = new List<string>();
        using (HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "endless=3")), timeout.Token))
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8))
        {
            while (data.Count < 5_000 && await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line["data: ".Length..]);
                }
            }
        }

        await finished.WaitAsync(1, timeout.Token);
        List<string> next = await fake.DataAsync("chat/completions", ChatBody());

        data.Should().HaveCount(5_000);
        string expected = fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]);
        ChatText(data.Take(3)).Should().Be(ChatText(next.Take(3)), "the first K events are the healthy ones");
        data[0].Should().Contain("\"role\":\"assistant\"");
        foreach (string chunk in data.Skip(3))
        {
            using var doc = JsonDocument.Parse(chunk);
            doc.RootElement.GetProperty("object").GetString().Should().Be("chat.completion.chunk");
            JsonElement choice = doc.RootElement.GetProperty("choices")[0];
            choice.GetProperty("delta").GetProperty("content").GetString().Should().Be(" more");
            choice.GetProperty("finish_reason").ValueKind.Should().Be(JsonValueKind.Null);
        }

        JsonDocument.Parse(data[^1]).RootElement.GetProperty("id").GetString().Should().Be(JsonDocument.Parse(data[0]).RootElement.GetProperty("id").GetString());
        ChatText(next).Should().Be(expected);
        next[^1].Should().Be("[DONE]");
    }

    [Fact]
    public async Task EndlessEvents_OnAResponsesStream_TextDeltasWithGapFreeSequenceNumbers()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var timeout = new CancellationTokenSource(TestTimeout);

        var data = new List<string>();
        using (HttpResponseMessage response = await SendAsync(fake.Client, Post("responses", """{"model":"gpt-4o-mini","input":"hi","stream":true}""", (FakeOpenAIHeaders.Fault, "endless=5")), timeout.Token))
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8))
        {
            while (data.Count < 500 && await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line["data: ".Length..]);
                }
            }
        }

        data.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("sequence_number").GetInt32()).Should().Equal(Enumerable.Range(0, 500));
        data.Skip(5).Should().OnlyContain(d => d.Contains("\"type\":\"response.output_text.delta\"") && d.Contains("\"delta\":\" more\""));
    }

    [Fact]
    public async Task EndlessLine_Stream_KEventsThenADataLineThatNeverEnds()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var timeout = new CancellationTokenSource(TestTimeout);

        byte[] received;
        using (HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "endless-line=2")), timeout.Token))
        {
            received = await ReadAtLeastAsync(response, 1024 * 1024, timeout.Token);
        }

        string text = Encoding.UTF8.GetString(received);
        string[] events = text.Split("\n\n");
        events.Should().HaveCount(3, "two whole events, then the line that never ends");
        events[0].Should().StartWith("data: {\"id\":\"chatcmpl-");
        events[1].Should().StartWith("data: {\"id\":\"chatcmpl-");
        events[2].Should().StartWith("data: {\"id\":\"aaaa");
        events[2]["data: {\"id\":\"".Length..].Should().MatchRegex("^a+$");
        events[2].Should().NotContainAny("\r", "\n");
        received.Length.Should().BeGreaterThanOrEqualTo(1024 * 1024);
    }

    [Fact]
    public async Task EndlessLine_NonStream_JsonBodyThatNeverEnds()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(stream: false), (FakeOpenAIHeaders.Fault, "endless-line=0")), timeout.Token);
        byte[] received = await ReadAtLeastAsync(response, 1024 * 1024, timeout.Token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        response.Content.Headers.ContentLength.Should().BeNull();
        Encoding.ASCII.GetString(received, 0, 7).Should().Be("{\"id\":\"");
        received.Skip(7).Should().OnlyContain(b => b == (byte)'a');
    }

    [Fact]
    public async Task WhitespaceBody_TextPlainOfWhiteSpaceOnly()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "whitespace")), timeout.Token);
        byte[] received = await ReadAtLeastAsync(response, 64 * 1024, timeout.Token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/plain");
        received.Should().OnlyContain(b => b == ' ' || b == '\t' || b == '\n' || b == '\r');
        received.Should().Contain([(byte)' ', (byte)'\t', (byte)'\n', (byte)'\r']);
        Encoding.ASCII.GetString(received).Replace("\r\n", "", StringComparison.Ordinal).Should().NotContain("\r", "every CR is followed by LF");
    }

    [Fact]
    public async Task GzipBody_DecompressingClient_GetsTheSameEventsAsWithoutGzip_OnTheWireItIsGzip()
    {
        // No obfuscation padding and a clock that stands still: two answers differ only in their completion id.
        var options = new FakeOpenAIServerOptions { IncludeObfuscation = false, TimeProvider = new ManualTimeProvider() };
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(options);
        using var decompressing = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };
        using var raw = new HttpClient { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage plain = await SendAsync(raw, Post("chat/completions", ChatBody()), timeout.Token);
        string plainBody = await plain.Content.ReadAsStringAsync(timeout.Token);
        using HttpResponseMessage gzipped = await SendAsync(decompressing, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "gzip")), timeout.Token);
        string decoded = await gzipped.Content.ReadAsStringAsync(timeout.Token);
        using HttpResponseMessage onTheWire = await SendAsync(raw, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "gzip")), timeout.Token);
        byte[] wire = await onTheWire.Content.ReadAsByteArrayAsync(timeout.Token);

        decoded.Should().Be(plainBody.Replace(Id(plainBody), Id(decoded), StringComparison.Ordinal));
        ChatText(decoded.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]))
            .Should().Be(server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
        onTheWire.Content.Headers.ContentEncoding.Should().Equal("gzip");
        onTheWire.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        wire[..2].Should().Equal(0x1F, 0x8B);
        Encoding.UTF8.GetString(Gunzip(wire)).Should().EndWith("data: [DONE]\n\n");

        static string Id(string body) => JsonDocument.Parse(body.Split("\n\n")[0]["data: ".Length..]).RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task GzipBody_FlushedPerEvent_TheClientDecodesAnEventWhileTheServerWaitsForTheNext()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock, TokenGap = TimeSpan.FromSeconds(1) });
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "gzip")), timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
        string? first = await reader.ReadLineAsync(timeout.Token); // the clock has not moved: only the first event was written
        await ManualTimeProvider.WaitUntilAsync(() => clock.ActiveTimers == 1, "the server waiting for the gap before the second event");
        Task<string> rest = reader.ReadToEndAsync(timeout.Token);
        bool restWaited = !rest.IsCompleted;
        await clock.AdvanceUntilAsync(rest, TimeSpan.FromSeconds(1), timeout.Token);

        first.Should().StartWith("data: {\"id\":\"chatcmpl-").And.Contain("\"role\":\"assistant\"");
        restWaited.Should().BeTrue("the second event is only written after the gap on the server clock");
        (await rest).Should().EndWith("data: [DONE]\n\n");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task GzipBody_CorruptAfterK_DecompressingClientReadsKEventsThenInvalidDataException(int k)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, $"gzip;corrupt={k}")), timeout.Token);
        var data = new List<string>();
        Func<Task> read = () => ReadDataAsync(response, data, timeout.Token);

        (await read.Should().ThrowExactlyAsync<InvalidDataException>())
            .Which.Message.Should().Be("The archive entry was compressed using an unsupported compression method.");
        data.Should().HaveCount(k);
        server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]).Should().StartWith(ChatText(data));
    }

    [Fact]
    public async Task GzipBody_CorruptOnTheWire_KEventsThenEmptyDeflateBlocksThenFFBytes()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "gzip;corrupt=3"));
        byte[] wire = await response.Content.ReadAsByteArrayAsync();

        // gzip(3 events, sync-flushed) + 64 KiB of empty stored blocks + 64 × FF; the valid part decodes to the 3 events (GZipStream reports no error for a missing end).
        wire[^64..].Should().OnlyContain(b => b == 0xFF);
        wire[^(64 + 65_540)..^64].Should().Equal(Enumerable.Range(0, 13_108).SelectMany(_ => new byte[] { 0x00, 0x00, 0x00, 0xFF, 0xFF }));
        string decoded = Encoding.UTF8.GetString(Gunzip(wire[..^64]));
        decoded.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(3).And.OnlyContain(e => e.StartsWith("data: {\"id\":\"chatcmpl-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GzipBody_WithStatus500_ErrorBodyIsGzip_AndCorruptFromItsStart()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };
        using var raw = new HttpClient { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage error = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "status=500, gzip")), timeout.Token);
        string errorBody = await error.Content.ReadAsStringAsync(timeout.Token);
        using HttpResponseMessage corrupt = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "status=500,gzip;corrupt=0")), timeout.Token);
        Func<Task> readCorrupt = () => corrupt.Content.ReadAsStringAsync(timeout.Token);
        using HttpResponseMessage wire = await SendAsync(raw, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "status=500,gzip;corrupt=0")), timeout.Token);
        byte[] wireBytes = await wire.Content.ReadAsByteArrayAsync(timeout.Token);

        error.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        ErrorOf(errorBody).GetProperty("type").GetString().Should().Be("server_error");
        corrupt.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await readCorrupt.Should().ThrowExactlyAsync<InvalidDataException>();
        wire.Content.Headers.ContentEncoding.Should().Equal("gzip");
        wire.Content.Headers.ContentLength.Should().Be(64);
        wireBytes.Should().OnlyContain(b => b == 0xFF);
    }

    [Fact]
    public async Task MalformedChunk_PlainClientReadsKEventsThenHttpIOException()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "bad-chunk=3")), timeout.Token);
        var data = new List<string>();
        Func<Task> read = () => ReadDataAsync(response, data, timeout.Token);

        HttpIOException error = (await read.Should().ThrowExactlyAsync<HttpIOException>()).Which;
        error.HttpRequestError.Should().Be(HttpRequestError.InvalidResponse);
        error.Message.Should().Be("Received chunk header length could not be parsed: '7A-7A'. (InvalidResponse)");
        data.Should().HaveCount(3);
        data.Should().OnlyContain(d => d.StartsWith("{\"id\":\"chatcmpl-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MalformedChunk_UnderGzip_DecompressingClientReadsKEventsThenHttpIOException()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip }) { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "gzip,bad-chunk=2")), timeout.Token);
        var data = new List<string>();
        Func<Task> read = () => ReadDataAsync(response, data, timeout.Token);

        await read.Should().ThrowExactlyAsync<HttpIOException>();
        data.Should().HaveCount(2);
    }

    /// <summary>Reads at least <paramref name="count"/> bytes of the body, then stops (the caller disposes the response).</summary>
    private static async Task<byte[]> ReadAtLeastAsync(HttpResponseMessage response, int count, CancellationToken cancellationToken)
    {
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (received.Length < count)
        {
            int read = await body.ReadAsync(buffer, cancellationToken);
            read.Should().BePositive("the body never ends");
            received.Write(buffer, 0, read);
        }

        return received.ToArray();
    }

    private static byte[] Gunzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var decoded = new MemoryStream();
        gzip.CopyTo(decoded);
        return decoded.ToArray();
    }

    /// <summary>Counts the server's "Request finished" log entries (ASP.NET Core hosting), so a test can wait until a request's handler has returned.</summary>
    private sealed class FinishedRequests : ILoggerProvider, ILogger
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
        private int _count;

        public ILogger CreateLogger(string categoryName) => categoryName == "Microsoft.AspNetCore.Hosting.Diagnostics" ? this : NullLogger.Instance;

        public Task WaitAsync(int count, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_count >= count)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, signal));
                return signal.Task.WaitAsync(cancellationToken);
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!formatter(state, exception).StartsWith("Request finished", StringComparison.Ordinal))
            {
                return;
            }

            lock (_gate)
            {
                _count++;
                foreach ((int count, TaskCompletionSource signal) in _waiters.Where(w => w.Count <= _count).ToList())
                {
                    signal.TrySetResult();
                    _waiters.Remove((count, signal));
                }
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed class NullLogger : ILogger
    {
        public static readonly NullLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
