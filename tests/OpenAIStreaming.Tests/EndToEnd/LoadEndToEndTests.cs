using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Load through the client an application gets from <c>AddOpenAIStreaming()</c>, defaults untouched, over real sockets: the
/// fake server holds every first token until all the streams have arrived, so a stream that queued inside the client (for a
/// pooled connection, behind a cap below the load) would never arrive and the test would fail. The handler runs on its own
/// manual clock, which only moves if it must.
/// </summary>
[Collection(nameof(MemoryMeasuredCollection))]
public sealed class LoadEndToEndTests
{
    private const int Streams = 2_000;
    private static readonly TimeSpan LoadLimit = TimeSpan.FromSeconds(120);
    private static readonly FakeMessage[] Messages = [new("user", "Say hello")];

    [Fact]
    public async Task TwoThousandConcurrentStreams_ThroughTheDefaults_AllArriveAtOnceAndCompleteWithNoTimerRetryOrCircuit()
    {
        var serverClock = new ManualTimeProvider();
        var clientClock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions
        {
            TimeProvider = serverClock,
            TimeToFirstToken = TimeSpan.FromSeconds(1),
            TokenCount = 8,
        });
        using var meters = new MeasurementRecorder();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clientClock);
        services.AddSingleton<IMeterFactory>(meters);
        services.AddHttpClient("openai", c => c.BaseAddress = server.BaseAddress).AddOpenAIStreaming();
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");
        using var guard = new CancellationTokenSource(LoadLimit);

        Task<string>[] streams = [.. Enumerable.Range(0, Streams).Select(_ => Task.Run(() => ReadAsync(http, guard.Token)))];
        await WaitAsync(() => server.Requests.Count == Streams, guard.Token);

        // Every first token at once. The server logs a request a moment before it starts waiting for the first token, so
        // the clock moves on again until every stream has ended, in case a wait began after the first move. Only the
        // server's clock moves: the handler's stays still, so none of its timers can fire.
        Task<string[]> all = Task.WhenAll(streams);
        do
        {
            serverClock.Advance(TimeSpan.FromSeconds(1));
        }
        while (await Task.WhenAny(all, Task.Delay(50, guard.Token)) != all);

        string[] answers = await all.WaitAsync(LoadLimit);

        answers.Should().AllBe(server.GetExpectedText("gpt-4o-mini", Messages), "every stream completed with the whole answer");
        server.Requests.Should().HaveCount(Streams).And.OnlyContain(r => r.Attempt == 1, "nothing was retried or hedged");
        clientClock.Elapsed.Should().Be(TimeSpan.Zero, "no timer of the handler had to fire");
        meters.Of("openaistreaming.timeouts").Should().BeEmpty("no first-token or other timer fired");
        meters.Of("openaistreaming.retries").Should().BeEmpty();
        meters.Of("openaistreaming.hedges").Should().BeEmpty();
        meters.Of("openaistreaming.circuit_breaker.openings").Should().BeEmpty();
    }

    private static async Task<string> ReadAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}""", cancellationToken))
        {
            text.Append(update.Text);
        }

        return text.ToString();
    }

    private static async Task WaitAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }
}
