using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd.Support;

/// <summary>How a stream breaks after its commit point, in the recovery tests of both APIs.</summary>
public enum Break
{
    Cut,
    Reset,
    ServerErrorEvent,
    MalformedEvent,
}

/// <summary>Who reads the stream in a recovery test: this library's typed reader, or the official SDK reading the bytes through the handler.</summary>
public enum Reader
{
    Typed,
    Sdk,
}

/// <summary>How the server writes a stream's bytes, besides breaking it, in a recovery test.</summary>
public enum Bytes
{
    ByteByByte,
    SplitCharacters,
    CrlfLineEndings,
}

/// <summary>The request, the fake server, the faults and the client through the handler that the recovery tests of both APIs share.</summary>
internal static class RecoveryHarness
{
    public const string Model = "gpt-4o-mini";
    public const string Prompt = "Say hello";
    public const int Tokens = 60;
    public const string ChatRequest = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""";
    public static readonly FakeMessage[] Messages = [new("user", Prompt)];

    /// <summary>The fault that breaks a stream in the way of <paramref name="kind"/> after <paramref name="k"/> good events.</summary>
    public static Fault FaultFor(Break kind, int k) => kind switch
    {
        Break.Cut => Fault.CutAfterEvents(k),
        Break.Reset => Fault.ResetAfterEvents(k),
        Break.ServerErrorEvent => Fault.MidStreamError(k),
        _ => Fault.MalformedJson(k + 1), // 1-based: event number k + 1 is malformed, after k good ones
    };

    /// <summary>The fake server, answering <paramref name="tokens"/> content tokens, on <paramref name="clock"/> (the system clock by default).</summary>
    public static Task<FakeOpenAIServer> StartServerAsync(TimeProvider? clock = null, int tokens = Tokens) =>
        FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = tokens, TimeProvider = clock ?? TimeProvider.System });

    /// <summary>A fake server on <paramref name="clock"/> whose <paramref name="attempts"/> stall for ten minutes after <paramref name="events"/> events.</summary>
    public static async Task<FakeOpenAIServer> StartStallingServerAsync(TimeProvider clock, int events, AttemptSet attempts)
    {
        FakeOpenAIServer server = await StartServerAsync(clock);
        server.AddRule(new FaultRule(Fault.StallAfterEvents(events, Stall)) { Attempts = attempts });
        return server;
    }

    /// <summary>How long a stalling server (<see cref="StartStallingServerAsync"/>) stalls.</summary>
    public static readonly TimeSpan Stall = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Once <paramref name="server"/> has stalled on its request number <paramref name="requests"/> and the reader's idle timer
    /// is set, advances <paramref name="clock"/> by <paramref name="idle"/> until the recovery's request comes (at most three
    /// times); returns how many idle timeouts it advanced. The idle timer is set by the first read that waits, early in the
    /// stream: when it fires while the reader is still taking the events before the stall (no read waiting), it stands down,
    /// and the read that then waits sets it again, one more idle timeout to advance.
    /// </summary>
    public static async Task<int> AdvanceUntilRecoveredAsync(ManualTimeProvider clock, FakeOpenAIServer server, TimeSpan idle, int requests)
    {
        await ManualTimeProvider.WaitUntilAsync(
            () => server.Requests.Count == requests && clock.PendingDueTimes().Contains(Stall) && clock.PendingDueTimes().Contains(idle),
            $"request {requests} to stall with the idle timer set (timers {string.Join(", ", clock.PendingDueTimes())})");
        int idleTimeouts = 0;
        do
        {
            clock.Advance(idle);
            idleTimeouts++;
            await ManualTimeProvider.WaitUntilAsync(
                () => server.Requests.Count > requests || clock.PendingDueTimes().Contains(idle),
                $"the recovery after request {requests}, or the idle timer set again (timers {string.Join(", ", clock.PendingDueTimes())})");
        }
        while (server.Requests.Count == requests && idleTimeouts < 3);

        return idleTimeouts;
    }

    /// <summary>
    /// An HttpClient to <paramref name="server"/> through the handler, retries 1 ms apart, with <paramref name="recovery"/>
    /// when given. On the system clock the first-token timeout is 30 s rather than 3 s: these tests count the requests a
    /// recovery sends, and a replay or resume that a busy test machine delays past 3 s would be hedged (hedging has tests
    /// of its own).
    /// </summary>
    public static HttpClient HandlerClient(FakeOpenAIServer server, OpenAIStreamingRecoveryOptions? recovery = null, TimeProvider? clock = null)
    {
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        if (clock is null)
        {
            options.FirstTokenTimeout = TimeSpan.FromSeconds(30);
        }

        if (recovery is not null)
        {
            options.Recovery = recovery;
        }

        var handler = new OpenAIStreamingHandler(options, clock ?? TimeProvider.System, loggerFactory: null, new Random(7)) { InnerHandler = new SocketsHttpHandler() };
        return new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }
}
