using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI.Responses;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.EndToEnd.Support.RecoveryHarness;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A background Responses stream (<c>"background": true</c>) that breaks after the commit point — cut, reset, stalled, a
/// retryable error event, a malformed event — is resumed through the handler from the event after the last one delivered
/// (<c>GET /v1/responses/{id}?stream=true&amp;starting_after=N</c>): the typed reader and the official SDK reading the bytes
/// through the handler get every event once, over real sockets, and the server's log shows one generation. A stream that
/// cannot be resumed ends with a typed error — on the byte path after an <c>error</c> event — never as a short success.
/// </summary>
public sealed class ResponsesRecoveryEndToEndTests
{

    // A background stream's events: created, queued, in_progress, output_item.added, content_part.added, 60 deltas,
    // output_text.done, content_part.done, output_item.done, completed. The first delta (event 6) is the commit point.
    private const int EventsBeforeContent = 5;
    private const int AllEvents = EventsBeforeContent + Tokens + 4;

    // A stream that is not a background one has no response.queued event.
    private const int ForegroundBeforeContent = EventsBeforeContent - 1;
    private const int ForegroundAll = AllEvents - 1;
    private const string BackgroundRequest = $$"""{"model":"{{Model}}","input":"{{Prompt}}","stream":true,"background":true}""";
    private const string ForegroundRequest = $$"""{"model":"{{Model}}","input":"{{Prompt}}","stream":true}""";

    public static TheoryData<Reader, int> EveryCutPosition
    {
        get
        {
            var data = new TheoryData<Reader, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                for (int k = EventsBeforeContent + 1; k < AllEvents; k++)
                {
                    data.Add(reader, k);
                }
            }

            return data;
        }
    }

    public static TheoryData<Reader, Break, int> BreaksAtK
    {
        get
        {
            var data = new TheoryData<Reader, Break, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (Break kind in Enum.GetValues<Break>())
                {
                    foreach (int k in new[] { 6, 7, 30, 64, 68 })
                    {
                        data.Add(reader, kind, k);
                    }
                }
            }

            return data;
        }
    }

    public static TheoryData<Reader, Bytes, Break> BytesAndBreaks
    {
        get
        {
            var data = new TheoryData<Reader, Bytes, Break>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (Bytes bytes in Enum.GetValues<Bytes>())
                {
                    foreach (Break kind in Enum.GetValues<Break>())
                    {
                        data.Add(reader, bytes, kind);
                    }
                }
            }

            return data;
        }
    }

    public static TheoryData<Reader> Readers => [.. Enum.GetValues<Reader>()];

    [Theory]
    [MemberData(nameof(EveryCutPosition))]
    public async Task Stream_BackgroundCutAfterKEvents_ResumesAfterTheLastEventWithoutASecondGeneration(Reader reader, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader);

        ShouldBeTheWholeAnswerOnce(server, result);
        ShouldHaveResumedOnce(server, startingAfter: k - 1);
    }

    [Theory]
    [MemberData(nameof(BreaksAtK))]
    public async Task Stream_BackgroundBrokenAtK_IsResumedWithEveryEventOnce(Reader reader, Break kind, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader);

        ShouldBeTheWholeAnswerOnce(server, result);
        ShouldHaveResumedOnce(server, startingAfter: k - 1, kind);
    }

    [Theory]
    [MemberData(nameof(BytesAndBreaks))]
    public async Task Stream_BackgroundBrokenWhileTheBytesArriveAwkwardly_IsResumedWithEveryEventOnce(Reader reader, Bytes bytes, Break kind)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(bytes switch
        {
            Bytes.ByteByByte => Fault.ByteByByte(),
            Bytes.SplitCharacters => Fault.SplitMultiByteCharacters(),
            _ => Fault.CrlfLineEndings(),
        }));
        server.AddRule(new FaultRule(FaultFor(kind, 20)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader);

        ShouldBeTheWholeAnswerOnce(server, result);
        ShouldHaveResumedOnce(server, startingAfter: 19, kind);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_BackgroundStalledAfterTheCommitPoint_IsResumedWhenTheIdleTimeoutFires(Reader reader)
    {
        var clock = new ManualTimeProvider();
        TimeSpan idle = new OpenAIStreamingOptions().IdleTimeout;
        await using FakeOpenAIServer server = await StartStallingServerAsync(clock, 30, AttemptSet.Only(1));
        using HttpClient http = HandlerClient(server, clock: clock);

        Task<Reading> run = Task.Run(() => ReadAsync(http, reader));
        int idleTimeouts = await AdvanceUntilRecoveredAsync(clock, server, idle, requests: 1);

        Reading result = await run.WaitAsync(ManualTimeProvider.SafetyTimeout);
        ShouldBeTheWholeAnswerOnce(server, result);
        ShouldHaveResumedOnce(server, startingAfter: 29);
        clock.Elapsed.Should().Be(idleTimeouts * idle, "the resume starts the moment an idle timeout fires");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_BackgroundBreakingOnEveryAttempt_FailsTypedOnceTheRecoveriesAreSpent(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(8))); // every resumed stream breaks after 8 events too
        using HttpClient http = HandlerClient(server, new OpenAIStreamingRecoveryOptions { MaxRecoveries = 2 });

        Reading result = await ReadAsync(http, reader);

        result.Error.Should().BeOfType<OpenAIStreamProtocolException>().Which.IsRetryable.Should().BeTrue();
        server.Requests.Should().HaveCount(3, "the first attempt and two resumes");
        server.Requests.Count(r => r.Method == "POST").Should().Be(1);
        result.Sequences.Should().Equal(Enumerable.Range(0, 8 + 8 + 8).Select(i => (long)i), "every event delivered once, in order, up to the last break");
    }

    public static TheoryData<Reader, Break, int> ForegroundBreaks
    {
        get
        {
            var data = new TheoryData<Reader, Break, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (Break kind in Enum.GetValues<Break>())
                {
                    foreach (int k in new[] { ForegroundBeforeContent + 1, 20, ForegroundBeforeContent + Tokens, ForegroundAll - 1 })
                    {
                        data.Add(reader, kind, k);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ForegroundBreaks))]
    public async Task Stream_ForegroundBrokenAtK_IsReplayedAndVerified_EveryEventOnceUnderTheFirstIds(Reader reader, Break kind, int k)
    {
        // A response that is not a background one is not stored: it is sent again, and the replay checked against what
        // was delivered; what follows goes on under the first response's id and sequence numbers.
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader, background: false);

        result.Error.Should().BeNull();
        result.Text.ToString().Should().Be(server.GetExpectedText(Model, Messages), "nothing lost, nothing repeated");
        result.Sequences.Should().Equal(Enumerable.Range(0, ForegroundAll).Select(i => (long)i), "every event once, in order");
        result.ResponseIds.Distinct().Should().ContainSingle("the events carry the first response's id");
        server.Requests.Select(r => r.Method).Should().Equal("POST", "POST");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_ForegroundDivergentReplay_FailsDivergedNeverSpliced(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader, background: false);

        result.Error.Should().BeOfType<OpenAIStreamDivergedException>();
        server.GetExpectedText(Model, Messages).Should().StartWith(result.Text.ToString(), "nothing of the divergent replay was delivered");
        result.Text.Length.Should().BeGreaterThan(0);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_ForegroundCutWithRecoveryOff_IsATypedErrorOnBothPaths_NeverAShortSuccess(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(20)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server, new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http, reader, background: false);

        OpenAIStreamProtocolException error = result.Error.Should().BeOfType<OpenAIStreamProtocolException>().Which;
        error.Message.Should().Contain("terminal event");
        result.Sequences.Should().Equal(Enumerable.Range(0, 20).Select(i => (long)i));
        server.Requests.Should().ContainSingle();
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_BackgroundResponseNoLongerStored_IsReplayedInstead(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(20)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.Status(404)) { Attempts = AttemptSet.Only(2) }); // the resume: expired

        using HttpClient http = HandlerClient(server);
        Reading result = await ReadAsync(http, reader);

        ShouldBeTheWholeAnswerOnce(server, result);
        server.Requests.Select(r => r.Method).Should().Equal("POST", "GET", "POST");
    }

    [Fact]
    public async Task Stream_ABreakThatIsNotRecovered_EndsTheRawBodyWithAnErrorEventWithTheFlatAndTheNestedFields()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(20)));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingRecoveryOptions { Enabled = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, "responses") { Content = new StringContent(ForegroundRequest, Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Stream body = await response.Content.ReadAsStreamAsync();
        var read = new MemoryStream();
        var buffer = new byte[4096];
        Exception? error = null;
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                read.Write(buffer, 0, n);
            }
        }
        catch (OpenAIStreamException ex)
        {
            error = ex;
        }

        error.Should().BeOfType<OpenAIStreamProtocolException>("the read after the error event throws the typed error");
        string[] events = Encoding.UTF8.GetString(read.ToArray()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        events.Should().HaveCount(21, "the 20 events that came, then the error event");
        string last = events[^1];
        last.Should().StartWith("event: error\ndata: ");
        using var json = System.Text.Json.JsonDocument.Parse(last["event: error\ndata: ".Length..]);
        json.RootElement.GetProperty("type").GetString().Should().Be("error");
        json.RootElement.GetProperty("code").GetString().Should().Be("stream_broken");
        json.RootElement.GetProperty("message").GetString().Should().Contain("terminal event");
        json.RootElement.GetProperty("sequence_number").GetInt64().Should().Be(20);
        json.RootElement.GetProperty("error").GetProperty("code").GetString().Should().Be("stream_broken");
        json.RootElement.GetProperty("error").GetProperty("message").GetString().Should().Contain("terminal event");
    }

    [Fact]
    public async Task Stream_AResponseFailedEventThatIsNotRecovered_ReachesTheSdkAsTheServerSentIt()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.MidStreamError(20, MidStreamErrorShape.ResponseFailed)));
        using HttpClient http = HandlerClient(server, new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http, Reader.Sdk);

        result.EndedWith.Should().Be("StreamingResponseFailedUpdate", "the server's own response.failed, not a made-up error event");
        result.Error.Should().BeOfType<OpenAIStreamException>();
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_BackgroundWithRecoveryOff_ABreakIsTheTypedError(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(20)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server, new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http, reader);

        result.Error.Should().BeOfType<OpenAIStreamProtocolException>();
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Stream_Checkpoints_ComeEverySixteenDeltasAndAtTheEnd_WithTheResponseIdAndSequenceNumber()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        using HttpClient http = HandlerClient(server);
        var text = new StringBuilder();
        var checkpoints = new List<(long Sequence, OpenAIStreamCheckpoint Checkpoint, string Text)>();

        await foreach (ResponseStreamEvent e in http.StreamResponseAsync(BackgroundRequest))
        {
            text.Append(e.Kind == ResponseStreamEventKind.OutputTextDelta ? e.Delta : null);
            if (e.Checkpoint is { } checkpoint)
            {
                checkpoints.Add((e.SequenceNumber!.Value, checkpoint, text.ToString()));
            }
        }

        checkpoints.Select(c => c.Checkpoint.Updates).Should().Equal(16, 32, 48, 60);
        checkpoints[^1].Sequence.Should().Be(AllEvents - 1, "the terminal event carries the last one");
        foreach ((long sequence, OpenAIStreamCheckpoint checkpoint, string delivered) in checkpoints)
        {
            checkpoint.SequenceNumber.Should().Be(sequence);
            checkpoint.ResponseId.Should().StartWith("resp_");
            checkpoint.Choices.Single().Content.Chars.Should().Be(delivered.Length);
            checkpoint.Choices.Single().Content.Hash.Should().Be(OpenAIStreaming.Recovery.Internal.StableHash.Append(OpenAIStreaming.Recovery.Internal.StableHash.Empty, delivered));
        }
    }

    [Fact]
    public async Task ResumeResponseAsync_FromAStoredCheckpointAfterARestart_StreamsTheRestWithoutASecondGeneration()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        var text = new StringBuilder();
        string stored;
        using (HttpClient first = HandlerClient(server))
        {
            OpenAIStreamCheckpoint? checkpoint = null;
            await foreach (ResponseStreamEvent e in first.StreamResponseAsync(BackgroundRequest))
            {
                text.Append(e.Kind == ResponseStreamEventKind.OutputTextDelta ? e.Delta : null);
                if (e.Checkpoint is { } taken)
                {
                    checkpoint = taken;
                    break; // the application stops here, and only the stored checkpoint survives
                }
            }

            stored = checkpoint!.ToJson();
        }

        using HttpClient second = HandlerClient(server);
        var sequences = new List<long>();
        bool completed = false;
        await foreach (ResponseStreamEvent e in second.ResumeResponseAsync(OpenAIStreamCheckpoint.FromJson(stored)))
        {
            sequences.Add(e.SequenceNumber!.Value);
            text.Append(e.Kind == ResponseStreamEventKind.OutputTextDelta ? e.Delta : null);
            completed |= e.IsTerminal;
        }

        completed.Should().BeTrue();
        text.ToString().Should().Be(server.GetExpectedText(Model, Messages));
        sequences[0].Should().Be(EventsBeforeContent + 16, "the event after the sixteenth delta");
        server.Requests.Select(r => r.Method).Should().Equal("POST", "GET");
    }

    [Fact]
    public void ResumeResponseAsync_ACheckpointOfAChatStream_IsAnArgumentError()
    {
        using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:1/v1/") };
        var chat = new OpenAIStreamCheckpoint(1, [], responseId: "chatcmpl-1");

        FluentActions.Invoking(() => http.ResumeResponseAsync(chat)).Should().Throw<ArgumentException>().WithMessage("*Responses stream*");
    }

    private static void ShouldBeTheWholeAnswerOnce(FakeOpenAIServer server, Reading result)
    {
        result.Error.Should().BeNull();
        result.Text.ToString().Should().Be(server.GetExpectedText(Model, Messages), "nothing lost, nothing repeated");
        result.Sequences.Should().Equal(Enumerable.Range(0, AllEvents).Select(i => (long)i), "every event once, in order");
        result.Completed.Should().BeTrue();
    }

    private static void ShouldHaveResumedOnce(FakeOpenAIServer server, int startingAfter, Break kind = Break.Cut)
    {
        server.Requests.Should().HaveCount(2);
        if (kind == Break.ServerErrorEvent)
        {
            // The server itself reported the failure: its stored response holds it too, so the request is sent again.
            server.Requests.Select(r => r.Method).Should().Equal("POST", "POST");
            return;
        }

        if (kind == Break.Reset && server.Requests.All(r => r.Method == "POST"))
        {
            // A reset makes the client's kernel drop what had arrived and was not read yet: here that reached back before
            // the first content, so the handler sent the request again before anything was delivered.
            return;
        }

        server.Requests.Count(r => r.Method == "POST").Should().Be(1, "the answer was generated once");
        FakeRequestLogEntry resume = server.Requests.Single(r => r.Method == "GET");
        resume.Path.Should().StartWith("/v1/responses/resp_");
        resume.Query.Should().StartWith("?stream=true&starting_after=");
        long after = long.Parse(resume.Query["?stream=true&starting_after=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        if (kind == Break.Reset)
        {
            // What had arrived but was not read when the reset came is dropped by the client's kernel: the resume starts
            // after the last event the reader got.
            after.Should().BeInRange(EventsBeforeContent, startingAfter);
        }
        else
        {
            after.Should().Be(startingAfter);
        }
    }

    private static async Task<Reading> ReadAsync(HttpClient http, Reader reader, bool background = true)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        var result = new Reading();
        try
        {
            if (reader == Reader.Typed)
            {
                await foreach (ResponseStreamEvent e in http.StreamResponseAsync(background ? BackgroundRequest : ForegroundRequest, guard.Token))
                {
                    result.Sequences.Add(e.SequenceNumber ?? -1);
                    if (e.ResponseId is { } id)
                    {
                        result.ResponseIds.Add(id);
                    }

                    result.Text.Append(e.Kind == ResponseStreamEventKind.OutputTextDelta ? e.Delta : null);
                    result.Completed |= e.Kind == ResponseStreamEventKind.Completed;
                }
            }
            else
            {
#pragma warning disable OPENAI001 // the Responses client is marked experimental in SDK 2.15
                var client = new ResponsesClient(new ApiKeyCredential("sk-test"), new ResponsesClientOptions
                {
                    Endpoint = http.BaseAddress,
                    Transport = new HttpClientPipelineTransport(http),
                    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    NetworkTimeout = Timeout.InfiniteTimeSpan,
                });
                var options = new CreateResponseOptions(Model, [ResponseItem.CreateUserMessageItem(Prompt)]) { StreamingEnabled = true, BackgroundModeEnabled = background ? true : null };
                await foreach (StreamingResponseUpdate update in await client.CreateResponseStreamingAsync(options, guard.Token))
                {
                    if (update is StreamingResponseErrorUpdate or StreamingResponseFailedUpdate)
                    {
                        result.EndedWith = update.GetType().Name;
                        continue; // the error event that ends a stream the handler could not complete: the next read throws
                    }

                    result.Sequences.Add(update.SequenceNumber);
                    switch (update)
                    {
                        case StreamingResponseCreatedUpdate created:
                            result.ResponseIds.Add(created.Response.Id);
                            break;
                        case StreamingResponseCompletedUpdate completed:
                            result.ResponseIds.Add(completed.Response.Id);
                            break;
                    }

                    result.Text.Append((update as StreamingResponseOutputTextDeltaUpdate)?.Delta);
                    result.Completed |= update is StreamingResponseCompletedUpdate;
                }
#pragma warning restore OPENAI001
            }
        }
        catch (OpenAIStreamException ex)
        {
            result.Error = ex;
        }

        guard.IsCancellationRequested.Should().BeFalse("the stream ended by itself");
        if (result.Error is null)
        {
            result.Completed.Should().BeTrue("a stream that ends without an error is complete");
        }

        return result;
    }

    private sealed class Reading
    {
        public StringBuilder Text { get; } = new();

        public List<long> Sequences { get; } = [];

        public List<string> ResponseIds { get; } = [];

        public string? EndedWith { get; set; }

        public bool Completed { get; set; }

        public Exception? Error { get; set; }

        public override string ToString() => Text.ToString();
    }
}
