using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Recovery.Internal;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A stream that breaks after the commit point — cut, reset, stalled, a retryable error event, a malformed event — is
/// recovered through the handler by replaying the request and verifying the replay against what was delivered: the typed
/// reader receives the canonical answer exactly once, over real sockets, whatever the position of the break and however the
/// bytes arrive. A replay that differs is never spliced: it restarts the answer or fails, as the divergence policy says.
/// </summary>
public sealed class RecoveryEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private const string Prompt = "Say hello";
    private const int Tokens = 60;
    private const string ChatRequest = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""";
    private static readonly FakeMessage[] Messages = [new("user", Prompt)];

    public enum Break
    {
        Cut,
        Reset,
        ServerErrorEvent,
        MalformedEvent,
    }

    public enum Bytes
    {
        ByteByByte,
        SplitCharacters,
        CrlfLineEndings,
    }

    public static TheoryData<int> EveryCutPosition => [.. Enumerable.Range(1, Tokens - 1)];

    public static TheoryData<Break, int> BreaksAtK
    {
        get
        {
            var data = new TheoryData<Break, int>();
            foreach (Break kind in Enum.GetValues<Break>())
            {
                foreach (int k in new[] { 2, 3, 17, 40, 59 })
                {
                    data.Add(kind, k);
                }
            }

            return data;
        }
    }

    public static TheoryData<Bytes, Break, int> BytesAndBreaks
    {
        get
        {
            var data = new TheoryData<Bytes, Break, int>();
            foreach (Bytes bytes in Enum.GetValues<Bytes>())
            {
                foreach (Break kind in Enum.GetValues<Break>())
                {
                    data.Add(bytes, kind, 5);
                    data.Add(bytes, kind, 41);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EveryCutPosition))]
    public async Task Stream_CutAfterKEvents_TheTypedReaderGetsTheCanonicalTextOnce(int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server);
    }

    [Theory]
    [MemberData(nameof(BreaksAtK))]
    public async Task Stream_BrokenAtK_IsRecoveredWithTheCanonicalTextOnce(Break kind, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server);
    }

    [Theory]
    [MemberData(nameof(BytesAndBreaks))]
    public async Task Stream_BrokenAtKWhileTheBytesArriveAwkwardly_IsRecoveredWithTheCanonicalTextOnce(Bytes bytes, Break kind, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(bytes switch
        {
            Bytes.ByteByByte => Fault.ByteByByte(),
            Bytes.SplitCharacters => Fault.SplitMultiByteCharacters(),
            _ => Fault.CrlfLineEndings(),
        }));
        server.AddRule(new FaultRule(FaultFor(kind, k)) { Attempts = AttemptSet.Only(1) });

        await ShouldRecoverWithOneReplayAsync(server);
    }

    [Fact]
    public async Task Stream_StalledAfterTheCommitPoint_IsRecoveredWhenTheIdleTimeoutFires()
    {
        var clock = new ManualTimeProvider();
        TimeSpan idle = new OpenAIStreamingOptions().IdleTimeout;
        await using FakeOpenAIServer server = await StartServerAsync(clock);
        server.AddRule(new FaultRule(Fault.StallAfterEvents(30, TimeSpan.FromMinutes(10))) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = Client(server, clock: clock);

        Task<Reading> run = Task.Run(() => ReadAsync(http));
        await ManualTimeProvider.WaitUntilAsync(
            () => clock.PendingDueTimes().Contains(idle) && server.Requests.Count == 1,
            $"the reader to wait after the stall (timers {string.Join(", ", clock.PendingDueTimes())})");
        clock.Advance(idle);

        Reading result = await run.WaitAsync(ManualTimeProvider.SafetyTimeout);
        result.Error.Should().BeNull();
        result.Text.Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Should().HaveCount(2);
        clock.Elapsed.Should().Be(idle, "the replay starts the moment the idle timeout fires");
    }

    [Fact]
    public async Task Stream_TheSameMalformedEventInTheReplay_IsSkippedAndTheStreamGoesOn()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.MalformedJson(20))); // every attempt: the replay reproduces the same bytes
        using HttpClient http = Client(server);

        Reading result = await ReadAsync(http);

        result.Error.Should().BeNull();
        string expected = server.GetExpectedText(Model, Messages);
        result.Text.Length.Should().BeLessThan(expected.Length, "the malformed event's token never reached anyone");
        result.Updates.Select(u => u.Text).Where(t => !string.IsNullOrEmpty(t)).Should().HaveCount(Tokens - 1, "one token event was malformed both times");
        result.FinishReason.Should().Be("stop");
        server.Requests.Should().HaveCount(2, "the identical malformed event in the replay is skipped, not replayed again");
    }

    [Fact]
    public async Task Stream_BreakingOnEveryAttempt_FailsTypedOnceTheRecoveriesAreSpent()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)));
        using HttpClient http = Client(server, recovery: new OpenAIStreamingRecoveryOptions { MaxRecoveries = 2 });

        Reading result = await ReadAsync(http);

        OpenAIStreamProtocolException error = result.Error.Should().BeOfType<OpenAIStreamProtocolException>().Which;
        error.IsRetryable.Should().BeTrue();
        server.Requests.Should().HaveCount(3, "the first attempt and two recoveries");
        string expected = server.GetExpectedText(Model, Messages);
        expected.Should().StartWith(result.Text, "what was delivered is the canonical prefix, once");
        result.Text.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Stream_RecoveryOff_ABreakIsTheTypedError()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = Client(server, recovery: new OpenAIStreamingRecoveryOptions { Enabled = false });

        Reading result = await ReadAsync(http);

        result.Error.Should().BeOfType<OpenAIStreamProtocolException>();
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Stream_ADivergentReplayUnderRestart_SignalsARestartThenTheNewAnswerFromItsStart()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.DivergeAfterToken(10)) { Attempts = AttemptSet.From(2) }); // the replay answers differently after token 10
        using HttpClient http = Client(server);

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
        using HttpClient http = Client(server, recovery: new OpenAIStreamingRecoveryOptions { OnDivergence = OpenAIStreamingDivergencePolicy.Fail });

        Reading result = await ReadAsync(http);

        OpenAIStreamDivergedException error = result.Error.Should().BeOfType<OpenAIStreamDivergedException>().Which;
        result.Restarts.Should().Be(0);
        OpenAIStreamCheckpointChoice choice = error.Checkpoint.Choices.Single();
        choice.Content.Chars.Should().Be(result.Text.Length);
        choice.Content.Utf8Bytes.Should().Be(Encoding.UTF8.GetByteCount(result.Text));
        choice.Content.Hash.Should().Be(StableHash.Append(StableHash.Empty, result.Text));
        server.GetExpectedText(Model, Messages).Should().StartWith(result.Text, "nothing of the divergent replay was delivered");
    }

    [Fact]
    public async Task Stream_Checkpoints_ComeEverySixteenContentUpdatesAndAtTheFinish_AndSurviveJson()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        using HttpClient http = Client(server);

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

    private static async Task ShouldRecoverWithOneReplayAsync(FakeOpenAIServer server)
    {
        using HttpClient http = Client(server);

        Reading result = await ReadAsync(http);

        result.Error.Should().BeNull();
        result.Text.Should().Be(server.GetExpectedText(Model, Messages), "nothing lost, nothing repeated");
        result.Restarts.Should().Be(0);
        server.Requests.Select(r => r.Attempt).Should().Equal([1, 2], "one replay");
    }

    private static Fault FaultFor(Break kind, int k) => kind switch
    {
        Break.Cut => Fault.CutAfterEvents(k),
        Break.Reset => Fault.ResetAfterEvents(k),
        Break.ServerErrorEvent => Fault.MidStreamError(k),
        _ => Fault.MalformedJson(k + 1), // 1-based: event number k + 1 is malformed, after k good ones
    };

    private static Task<FakeOpenAIServer> StartServerAsync(TimeProvider? clock = null) =>
        FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = Tokens, TimeProvider = clock ?? TimeProvider.System });

    private static HttpClient Client(FakeOpenAIServer server, OpenAIStreamingRecoveryOptions? recovery = null, TimeProvider? clock = null)
    {
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        if (recovery is not null)
        {
            options.Recovery = recovery;
        }

        var handler = new OpenAIStreamingHandler(options, clock ?? TimeProvider.System, loggerFactory: null, new Random(7)) { InnerHandler = new SocketsHttpHandler() };
        return new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
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
        return new Reading(choice?.Content ?? string.Empty, choice?.FinishReason, updates, updates.Count(u => u.IsRestart), error);
    }

    private sealed record Reading(string Text, string? FinishReason, List<ChatCompletionUpdate> Updates, int Restarts, Exception? Error);
}
