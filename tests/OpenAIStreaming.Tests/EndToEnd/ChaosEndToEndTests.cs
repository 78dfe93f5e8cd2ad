using OpenAIStreaming.Chaos;
using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A bounded chaos run (the full one is <c>--chaos</c> in the benchmarks project): streams with random faults before and
/// after their commit point — statuses, cuts, resets, stalls, error events, malformed events, byte-level faults — from a
/// fixed seed, over real sockets. Every stream ends with exactly the canonical text: nothing lost, repeated or garbled, no
/// hang, no error.
/// </summary>
public sealed class ChaosEndToEndTests
{
    private const int Streams = 2000;
    private const int Tokens = 24;

    [Theory]
    [InlineData(ChaosReader.Typed)]
    [InlineData(ChaosReader.Sdk)]
    public async Task Chaos_StreamsWithRandomFaults_AllEndWithExactlyTheCanonicalText(ChaosReader reader)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = Tokens });
        using var http = new HttpClient(new OpenAIStreamingHandler(ChaosSettings.HandlerOptions()) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var settings = new ChaosSettings(Streams, Seed: 20_261_206, Concurrency: 32, StreamTimeout: TimeSpan.FromSeconds(60));

        ChaosReport report = await ChaosRun.RunAsync(http, settings, reader, Tokens, (model, prompt) => server.GetExpectedText(model, [new FakeMessage("user", prompt)]));

        report.Exact.Should().Be(Streams, "{0}; {1}", report, string.Join(" | ", report.Examples));
        report.BrokenAfterFirstContent.Should().BeGreaterThan(Streams / 2, "most streams of the plan break after their first content");
        server.Requests.Count.Should().BeGreaterThan(Streams + (int)report.BrokenAfterFirstContent, "every planned break cost an attempt: the faults applied");
        Enumerable.Range(0, Streams).Select(i => ChaosPlan.Create(settings.Seed, i, Tokens))
            .Should().Equal(Enumerable.Range(0, Streams).Select(i => ChaosPlan.Create(settings.Seed, i, Tokens)), "the same seed gives every stream the same faults (its model names them)");
    }
}
