using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Recovery.Internal;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.EndToEnd.Support.RecoveryHarness;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A stream that breaks after the commit point — cut, reset, stalled, a retryable error event, a malformed event — is
/// recovered through the handler by replaying the request and verifying the replay against what was delivered: the typed
/// reader and the official SDK reading the bytes through the handler receive the canonical answer exactly once, over real
/// sockets, whatever the position of the break and however the bytes arrive. A replay that differs is never spliced: on the
/// typed path it restarts the answer or fails, as the divergence policy says; on the byte path it ends with an error.
/// </summary>
public sealed class RecoveryEndToEndTests
{

    public static TheoryData<Reader, int> EveryCutPosition
    {
        get
        {
            var data = new TheoryData<Reader, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (int k in Enumerable.Range(1, Tokens - 1))
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
                    if (kind == Break.Cut)
                    {
                        continue; // every cut position has its own theory
                    }

                    foreach (int k in Enumerable.Range(1, Tokens - 1))
                    {
                        data.Add(reader, kind, k);
                    }
                }
            }

            return data;
        }
    }

    public static TheoryData<Reader, Bytes, Break, int> BytesAndBreaks
    {
        get
        {
            var data = new TheoryData<Reader, Bytes, Break, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (Bytes bytes in Enum.GetValues<Bytes>())
                {
                    foreach (Break kind in Enum.GetValues<Break>())
                    {
                        foreach (int k in Enumerable.Range(1, Tokens - 1))
                        {
                            data.Add(reader, bytes, kind, k);
                        }
                    }
                }
            }

            return data;
        }
    }

    public static TheoryData<Reader> Readers => [.. Enum.GetValues<Reader>()];

    [Theory]
    [MemberData(nameof(EveryCutPosition))]
    public async Task Stream_CutAfterKEvents_TheReaderGetsTheCanonicalTextOnce(Reader reader, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server, reader);
    }

    [Theory]
    [MemberData(nameof(BreaksAtK))]
    public async Task Stream_BrokenAtK_IsRecoveredWithTheCanonicalTextOnce(Reader reader, Break kind, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server, reader);
    }

    [Theory]
    [MemberData(nameof(BytesAndBreaks))]
    public async Task Stream_BrokenAtKWhileTheBytesArriveAwkwardly_IsRecoveredWithTheCanonicalTextOnce(Reader reader, Bytes bytes, Break kind, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(bytes switch
        {
            Bytes.ByteByByte => Fault.ByteByByte(),
            Bytes.SplitCharacters => Fault.SplitMultiByteCharacters(),
            _ => Fault.CrlfLineEndings(),
        }));
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server, reader);
    }

    public static TheoryData<Reader, int> EveryStallPosition
    {
        get
        {
            var data = new TheoryData<Reader, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (int k in Enumerable.Range(2, Tokens - 2)) // from the first token on: a stall before it is the first-token timer's
                {
                    data.Add(reader, k);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EveryStallPosition))]
    public async Task Stream_StalledAfterTheCommitPoint_IsRecoveredWhenTheIdleTimeoutFires(Reader reader, int k)
    {
        var clock = new ManualTimeProvider();
        TimeSpan idle = new OpenAIStreamingOptions().IdleTimeout;
        await using FakeOpenAIServer server = await StartStallingServerAsync(clock, k, AttemptSet.Only(1));
        using HttpClient http = HandlerClient(server, clock: clock);

        Task<Reading> run = Task.Run(() => ReadAsync(http, reader));
        int idleTimeouts = await AdvanceUntilRecoveredAsync(clock, server, idle, requests: 1);

        Reading result = await run.WaitAsync(ManualTimeProvider.SafetyTimeout);
        result.Error.Should().BeNull();
        result.Text.Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Should().HaveCount(2);
        clock.Elapsed.Should().Be(idleTimeouts * idle, "the replay starts the moment an idle timeout fires");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_TheReplayStallsToo_ItsIdleTimeoutFiresAndItIsRecoveredAgain(Reader reader)
    {
        // The idle watch follows the body being read: a replay that stalls is cut by the idle timeout like the first attempt.
        var clock = new ManualTimeProvider();
        TimeSpan idle = new OpenAIStreamingOptions().IdleTimeout;
        await using FakeOpenAIServer server = await StartStallingServerAsync(clock, 5, AttemptSet.Range(1, 2));
        using HttpClient http = HandlerClient(server, clock: clock);

        Task<Reading> run = Task.Run(() => ReadAsync(http, reader));
        for (int stalled = 1; stalled <= 2; stalled++)
        {
            await AdvanceUntilRecoveredAsync(clock, server, idle, requests: stalled);
        }

        Reading result = await run.WaitAsync(ManualTimeProvider.SafetyTimeout);
        result.Error.Should().BeNull();
        result.Text.Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Should().HaveCount(3, "the first attempt and its replay stalled; the second replay answered");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_TheSameMalformedEventInTwoAttempts_IsReplayedAgainNeverSkipped(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.MalformedJson(20)) { Attempts = AttemptSet.Range(1, 2) }); // it holds a token: skipping it would lose it

        await ShouldRecoverAsync(server, reader, replays: 2);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_AMalformedEventThatHoldsNothingReproducedByTheReplay_IsSkippedAndCounted(Reader reader)
    {
        // The same bytes on every attempt: the first breaks at the malformed event; the replay reproduces it at the same
        // place with the text before it verified, and it holds no content, so it is skipped and the stream goes on.
        static string Chunk(string delta, string finish = "null") =>
            $$"""data: {"id":"chatcmpl-m","object":"chat.completion.chunk","created":1,"model":"{{Model}}","choices":[{"index":0,"delta":{{delta}},"finish_reason":{{finish}}}]}""" + "\n\n";
        string body = Chunk("""{"role":"assistant","content":""}""") + Chunk("""{"content":"Hello"}""") + Chunk("""{"content":" there"}""")
            + """data: {"id":"chatcmpl-m","object":"chat.completion.chunk","choices":[""" + "\n\n" // malformed, and nothing in it
            + Chunk("""{"content":"!"}""") + Chunk("{}", "\"stop\"") + "data: [DONE]\n\n";
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes(body))));
        using var meters = new MeasurementRecorder();
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        using var http = new HttpClient(new OpenAIStreamingHandler(options, TimeProvider.System, loggerFactory: null, meterFactory: meters) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };

        Reading result = await ReadAsync(http, reader);

        result.Error.Should().BeNull();
        result.Text.Should().Be("Hello there!", "nothing lost, nothing repeated");
        server.Requests.Should().HaveCount(2, "the stream and its replay");
        meters.Of("openaistreaming.recoveries").Select(m => m.Tag("openaistreaming.recovery.outcome")).Should().Equal("replayed", "malformed_event_skipped");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_AMalformedEventWithContentOnEveryAttempt_FailsTypedWithACleanPrefix(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.MalformedJson(20)));
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader);

        OpenAIStreamProtocolException error = result.Error.Should().BeOfType<OpenAIStreamProtocolException>().Which;
        error.Message.Should().Contain("not a valid JSON chunk");
        server.GetExpectedText(Model, Messages).Should().StartWith(result.Text);
        result.Tokens.Should().Be(18, "the tokens before the malformed event, once");
        server.Requests.Should().HaveCount(4, "the first attempt and three recoveries");
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_BreakingOnEveryAttempt_FailsTypedOnceTheRecoveriesAreSpent(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)));
        using HttpClient http = HandlerClient(server, recovery: new OpenAIStreamingRecoveryOptions { MaxRecoveries = 2 });

        Reading result = await ReadAsync(http, reader);

        OpenAIStreamProtocolException error = result.Error.Should().BeOfType<OpenAIStreamProtocolException>().Which;
        error.IsRetryable.Should().BeTrue();
        server.Requests.Should().HaveCount(3, "the first attempt and two recoveries");
        string expected = server.GetExpectedText(Model, Messages);
        expected.Should().StartWith(result.Text, "what was delivered is the canonical prefix, once");
        result.Text.Should().NotBeEmpty();
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Stream_RecoveryOff_ABreakIsTheTypedError(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server, recovery: new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http, reader);

        result.Error.Should().BeOfType<OpenAIStreamProtocolException>();
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Stream_ADivergentReplayUnderRestart_SignalsARestartThenTheNewAnswerFromItsStart()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) }); // the replay answers differently after token 10
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http);

        result.Error.Should().BeNull();
        result.Restarts.Should().Be(1);
        int restart = result.Updates.FindIndex(u => u.IsRestart);
        List<string> before = [.. result.Updates.Take(restart).Select(u => u.Text).OfType<string>()];
        List<string> after = [.. result.Updates.Skip(restart + 1).Select(u => u.Text).OfType<string>()];
        string.Concat(before).Should().Be(server.GetExpectedText(Model, Messages)[..string.Concat(before).Length], "the first answer, as far as it got");
        after.Take(10).Should().Equal(before.Take(10), "the new answer is delivered from its beginning, not spliced onto the old one");
        string.Concat(after).Should().NotStartWith(string.Concat(before));
        result.Text.Should().Be(string.Concat(after), "the accumulator discarded the first answer at the restart");
        result.Updates[restart].Checkpoint!.Choices.Single().Content.Chars.Should().Be(string.Concat(before).Length);
        result.FinishReason.Should().Be("stop");
    }

    [Fact]
    public async Task Stream_ADivergentReplayUnderFail_ThrowsDivergedWithTheCheckpointOfWhatWasDelivered()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) });
        using HttpClient http = HandlerClient(server, recovery: new OpenAIStreamingRecoveryOptions { OnDivergence = OpenAIStreamingDivergencePolicy.Fail });

        Reading result = await ReadAsync(http);

        OpenAIStreamDivergedException error = result.Error.Should().BeOfType<OpenAIStreamDivergedException>().Which;
        result.Restarts.Should().Be(0);
        OpenAIStreamCheckpointChoice choice = error.Checkpoint.Choices.Single();
        choice.Content.Chars.Should().Be(result.Text.Length);
        choice.Content.Utf8Bytes.Should().Be(Encoding.UTF8.GetByteCount(result.Text));
        choice.Content.Hash.Should().Be(StableHash.Append(StableHash.Empty, result.Text));
        server.GetExpectedText(Model, Messages).Should().StartWith(result.Text, "nothing of the divergent replay was delivered");
        error.PartialResult!.Choices.Single().Content.Should().Be(result.Text, "the exception hands over what was delivered");
        error.PartialResult.Choices.Single().FinishReason.Should().BeNull();
    }

    [Fact]
    public async Task Stream_ADivergentReplayOnTheBytePathUnderFail_CarriesWhatTheSdkWasGiven()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) });
        using HttpClient http = HandlerClient(server, recovery: new OpenAIStreamingRecoveryOptions { OnDivergence = OpenAIStreamingDivergencePolicy.Fail });

        Reading result = await ReadAsync(http, Reader.Sdk);

        OpenAIStreamDivergedException error = result.Error.Should().BeOfType<OpenAIStreamDivergedException>().Which;
        error.PartialResult!.Choices.Single().Content.Should().Be(result.Text);
    }

    [Fact]
    public async Task Stream_ADivergentReplayUnderRestartOnTheBytePath_KeepsNoCopyOfTheText()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) });
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, Reader.Sdk);

        result.Error.Should().BeOfType<OpenAIStreamDivergedException>().Which.PartialResult.Should().BeNull("only Fail asks for a copy of what was delivered");
    }

    [Fact]
    public async Task Stream_ADivergentReplayOnTheBytePath_EndsWithAnErrorTheSdkThrows_NeverASplice()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) });
        using HttpClient http = HandlerClient(server); // Restart cannot be said in bytes: the byte path fails instead

        Reading result = await ReadAsync(http, Reader.Sdk);

        OpenAIStreamDivergedException error = result.Error.Should().BeOfType<OpenAIStreamDivergedException>().Which;
        error.Checkpoint.Choices.Single().Content.Chars.Should().Be(result.Text.Length);
        server.GetExpectedText(Model, Messages).Should().StartWith(result.Text, "nothing of the divergent replay was passed on");
        result.Tokens.Should().Be(29, "the 29 tokens after the role chunk, and nothing after them");
    }

    [Fact]
    public async Task Stream_RecoveryOff_AnErrorEventMakesTheSdkThrowInsteadOfEndingQuietly()
    {
        // The official .NET SDK ends a stream quietly on `data: {"error":…}`: through the handler it throws the typed error.
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.MidStreamError(20)));
        using HttpClient http = HandlerClient(server, recovery: new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http, Reader.Sdk);

        OpenAIStreamException error = result.Error.Should().BeOfType<OpenAIStreamException>().Which;
        error.ErrorType.Should().Be("server_error");
        error.IsRetryable.Should().BeTrue();
        result.Tokens.Should().Be(19, "the tokens before the error event");
    }

    [Fact]
    public async Task Stream_ReadSynchronously_GetsTheBodyAsItIs()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        using HttpClient http = HandlerClient(server);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent(ChatRequest.Replace("]}", "],\"stream\":true}", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };

        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Stream stream = await response.Content.ReadAsStreamAsync();
        string body = await Task.Run(() =>
        {
            using var reader = new StreamReader(stream); // synchronous reads of the body
            return reader.ReadToEnd();
        }).WaitAsync(ManualTimeProvider.SafetyTimeout);

        body.Should().EndWith("data: [DONE]\n\n");
        body.Split("\n\n").Count(e => e.Contains("\"content\":\"", StringComparison.Ordinal)).Should().BeGreaterThanOrEqualTo(Tokens);
    }

    [Fact]
    public async Task Stream_Checkpoints_ComeEverySixteenContentUpdatesAndAtTheFinish_AndSurviveJson()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http);

        result.Error.Should().BeNull();
        List<OpenAIStreamCheckpoint> checkpoints = [.. result.Updates.Select(u => u.Checkpoint).OfType<OpenAIStreamCheckpoint>()];
        checkpoints.Select(c => c.Updates).Should().StartWith([16L, 32L, 48L]);
        OpenAIStreamCheckpoint last = checkpoints[^1];
        last.Choices.Single().FinishReason.Should().Be("stop");
        last.Choices.Single().Content.Chars.Should().Be(result.Text.Length);
        last.Route.Should().Contain(Model);
        OpenAIStreamCheckpoint copy = OpenAIStreamCheckpoint.FromJson(last.ToJson());
        copy.Hash.Should().Be(last.Hash);
        copy.Choices.Should().BeEquivalentTo(last.Choices);
    }

    [Fact]
    public async Task Stream_Recovered_TheUsageChunkSaysWhatEveryAttemptStreamed()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) }); // the role chunk and 29 tokens
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http);

        result.Error.Should().BeNull();
        ChatCompletionUpdate usage = result.Updates.Single(u => u.Usage is not null);
        IReadOnlyList<OpenAIStreamAttempt> attempts = usage.Checkpoint!.Attempts;
        attempts.Select(a => a.Number).Should().Equal(1, 2);
        attempts[0].ContentUpdates.Should().Be(29, "the tokens of the broken attempt");
        attempts[0].Usage.Should().BeNull("a broken attempt never sends its usage");
        attempts[1].ContentUpdates.Should().Be(Tokens + 1, "the replay streamed every token again, and the finish");
        attempts[1].Usage.Should().BeSameAs(usage.Usage);
        attempts.Select(a => a.RequestId).Should().OnlyHaveUniqueItems().And.AllSatisfy(id => id.Should().StartWith("req_"));
        OpenAIStreamCheckpoint copy = OpenAIStreamCheckpoint.FromJson(usage.Checkpoint.ToJson());
        copy.Attempts.Should().HaveCount(2);
        copy.Attempts[1].Usage!.OutputTokens.Should().Be(usage.Usage!.OutputTokens);
        copy.Attempts[0].Should().BeEquivalentTo(attempts[0]);
    }

    [Fact]
    public async Task Stream_NotRecovered_CheckpointsListNoAttempts()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http);

        result.Updates.Select(u => u.Checkpoint).OfType<OpenAIStreamCheckpoint>().Should().OnlyContain(c => c.Attempts.Count == 0);
        result.Updates.Single(u => u.Usage is not null).Checkpoint.Should().BeNull();
    }

    public static TheoryData<bool, int> StructuredCuts => new()
    {
        { false, 3 }, { false, 6 }, { false, 12 }, { true, 3 }, { true, 6 }, { true, 12 },
    };

    [Theory]
    [MemberData(nameof(StructuredCuts))]
    public async Task Stream_ToolCallsCutAfterK_AreRecoveredWithTheSameArgumentsOnBothPaths(bool bytePath, int k)
    {
        // Two parallel tool calls, their arguments in fragments of 1 to 6 characters: replayed and checked per call.
        string request = ChatRequest.Replace("]}", """],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}],"tool_choice":"required"}""", StringComparison.Ordinal);
        await using FakeOpenAIServer clean = await StartServerAsync();
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });
        using HttpClient cleanHttp = HandlerClient(clean);
        using HttpClient http = HandlerClient(server);

        string expected = await ReadRawAsync(cleanHttp, request);
        string recovered = bytePath ? await ReadRawAsync(http, request) : await ReadTypedAsync(http, request);

        recovered.Should().Be(expected).And.Contain("get_weather").And.Contain("get_time");
        server.Requests.Should().HaveCount(2, "the stream and its replay");
    }

    [Theory]
    [MemberData(nameof(StructuredCuts))]
    public async Task Stream_TwoChoicesCutAfterK_AreRecoveredPerChoiceOnBothPaths(bool bytePath, int k)
    {
        string request = ChatRequest.Replace("]}", "],\"n\":2}", StringComparison.Ordinal);
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k * 5)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = HandlerClient(server);

        string recovered = bytePath ? await ReadRawAsync(http, request) : await ReadTypedAsync(http, request);

        recovered.Should().Be(
            $"[0] {server.GetExpectedText(Model, Messages, choiceIndex: 0)} stop\n[1] {server.GetExpectedText(Model, Messages, choiceIndex: 1)} stop\n");
        server.Requests.Should().HaveCount(2);
    }

    /// <summary>Reads a chat stream with the typed reader: per choice its text and tool calls, and its finish reason.</summary>
    private static async Task<string> ReadTypedAsync(HttpClient http, string request)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        var accumulator = new ChatCompletionAccumulator();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request, guard.Token))
        {
            accumulator.Append(update);
        }

        return Describe(accumulator.Build());
    }

    /// <summary>Reads a chat stream's raw body through the handler (as any byte reader does) and assembles it the same way.</summary>
    private static async Task<string> ReadRawAsync(HttpClient http, string request)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        using var message = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent(request.Replace("}]", "}],\"stream\":true", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, guard.Token);
        string body = await response.Content.ReadAsStringAsync(guard.Token);

        // The bytes as a reader got them, parsed by the plain typed reader (no handler, nothing to recover).
        using HttpClient parse = StubOpenAIHandler.Sse(body).CreateClient();
        var accumulator = new ChatCompletionAccumulator();
        var ids = new HashSet<string>();
        await foreach (ChatCompletionUpdate update in parse.StreamChatCompletionAsync(request, guard.Token))
        {
            accumulator.Append(update);
            if (update.Id is { } id)
            {
                ids.Add(id);
            }
        }

        ids.Should().ContainSingle("the byte path passes a replay on under the first response's id");
        return Describe(accumulator.Build());
    }

    private static string Describe(ChatCompletionResult result)
    {
        var text = new StringBuilder();
        foreach (ChatChoiceResult choice in result.Choices)
        {
            text.Append($"[{choice.Index}] {choice.Content}");
            foreach (OpenAIStreaming.Protocol.ChatToolCall call in choice.ToolCalls)
            {
                text.Append($" {call.Id}:{call.FunctionName}({call.Arguments})");
            }

            text.Append($" {choice.FinishReason}\n");
        }

        return text.ToString();
    }

    private static Task ShouldRecoverWithOneReplayAsync(FakeOpenAIServer server, Reader reader) => ShouldRecoverAsync(server, reader, replays: 1);

    private static async Task ShouldRecoverAsync(FakeOpenAIServer server, Reader reader, int replays)
    {
        using HttpClient http = HandlerClient(server);

        Reading result = await ReadAsync(http, reader);

        result.Error.Should().BeNull();
        result.Text.Should().Be(server.GetExpectedText(Model, Messages), "nothing lost, nothing repeated");
        result.Restarts.Should().Be(0);
        server.Requests.Select(r => r.Attempt).Should().Equal(Enumerable.Range(1, replays + 1), "{0} replay(s)", replays);
    }

    private static Task<Reading> ReadAsync(HttpClient http, Reader reader) =>
        reader == Reader.Typed ? ReadAsync(http) : ReadWithSdkAsync(http);

    private static async Task<Reading> ReadWithSdkAsync(HttpClient http)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = http.BaseAddress,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
        var text = new StringBuilder();
        string? finish = null;
        int tokens = 0;
        Exception? error = null;
        try
        {
            await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(Prompt)], cancellationToken: guard.Token))
            {
                foreach (ChatMessageContentPart part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                    tokens += part.Text.Length > 0 ? 1 : 0;
                }

                finish ??= update.FinishReason?.ToString();
            }
        }
        catch (OpenAIStreamException ex)
        {
            error = ex;
        }

        guard.IsCancellationRequested.Should().BeFalse("the stream ended by itself");
        if (error is null)
        {
            finish.Should().Be(nameof(ChatFinishReason.Stop), "a stream that ends without an error is complete");
        }

        return new Reading(text.ToString(), finish is null ? null : "stop", [], 0, error) { Tokens = tokens };
    }

    private static async Task<Reading> ReadAsync(HttpClient http)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        var accumulator = new ChatCompletionAccumulator();
        var updates = new List<ChatCompletionUpdate>();
        Exception? error = null;
        try
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, guard.Token))
            {
                updates.Add(update);
                accumulator.Append(update);
            }
        }
        catch (OpenAIStreamException ex)
        {
            error = ex;
        }

        guard.IsCancellationRequested.Should().BeFalse("the stream ended by itself");
        ChatCompletionResult built = accumulator.Build();
        ChatChoiceResult? choice = built.Choices.SingleOrDefault();
        return new Reading(choice?.Content ?? string.Empty, choice?.FinishReason, updates, updates.Count(u => u.IsRestart), error)
        {
            Tokens = updates.Count(u => !string.IsNullOrEmpty(u.Text)),
        };
    }

    private sealed record Reading(string Text, string? FinishReason, List<ChatCompletionUpdate> Updates, int Restarts, Exception? Error)
    {
        public int Tokens { get; init; }
    }
}
