using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.DependencyInjection;

/// <summary>
/// Inside an application that adds Microsoft.Extensions.Http.Resilience's standard handler to every client, as .NET Aspire's
/// service defaults do (<c>ConfigureHttpClientDefaults(b =&gt; b.AddStandardResilienceHandler())</c>): with the real package,
/// the fake server on real sockets and one manual clock for the server, the handler and the standard handler's Polly
/// pipeline. <c>AddOpenAIStreaming()</c> takes that handler out of its client's chain, so its 10-second attempt timeout,
/// 30-second total and three retries neither cut nor multiply this handler's calls.
/// </summary>
public sealed class StandardResilienceCompositionTests
{
    private const string Prompt = "Say hello";
    private static readonly FakeMessage[] Messages = [new("user", Prompt)];

    [Fact]
    public async Task AspireDefaults_AFirstTokenAfter20Seconds_CompletesAt20Seconds()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.SlowFirstToken(TimeSpan.FromSeconds(20))));
        await using ServiceProvider provider = Aspire(clock, server, o => o.FirstTokenTimeout = TimeSpan.FromSeconds(30));
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");

        Task<string> run = StreamAsync(http, "gpt-4o-mini");
        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 1 && clock.PendingDueTimes().Contains(TimeSpan.FromSeconds(20)), "the server's slow first token");
        clock.Advance(TimeSpan.FromSeconds(20));

        (await run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(server.GetExpectedText("gpt-4o-mini", Messages));
        clock.Elapsed.Should().Be(TimeSpan.FromSeconds(20));
        server.Requests.Should().ContainSingle("no attempt timeout cut the call, so nothing was retried");
    }

    [Fact]
    public async Task AspireDefaults_A90SecondStream_Completes()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock, TokenCount = 60, TokenGap = TimeSpan.FromSeconds(1.5) });
        await using ServiceProvider provider = Aspire(clock, server, o =>
        {
            o.FirstTokenTimeout = TimeSpan.FromSeconds(60); // no hedge: this test drives the clock by the server's 1.5 s gaps
            o.IdleTimeout = TimeSpan.FromSeconds(30);
            o.TotalTimeout = TimeSpan.FromMinutes(10);
        });
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");

        int updates = 0;
        Task<string> run = StreamAsync(http, "gpt-4o-mini", onUpdate: () => Interlocked.Increment(ref updates));
        for (int sent = 0; !run.IsCompleted && clock.Elapsed < TimeSpan.FromMinutes(3); sent++)
        {
            // The clock moves only once the client has read what the server sent (the role chunk, then one token a step),
            // so the clock never runs ahead of the reading.
            int read = sent == 0 ? 0 : sent + 1;
            await ManualTimeProvider.WaitUntilAsync(
                () => run.IsCompleted || (Volatile.Read(ref updates) >= read && clock.PendingDueTimes().Any(d => d == TimeSpan.FromSeconds(1.5))),
                "the client to read the last token and the server's next token gap");
            if (!run.IsCompleted)
            {
                clock.Advance(TimeSpan.FromSeconds(1.5));
            }
        }

        (await run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(server.GetExpectedText("gpt-4o-mini", Messages));
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(88), "the stream ran for about 90 seconds of the clock");
        server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task AspireDefaults_APersistent503_IsSentAtMostMaxRetryAttemptsPlusOneTimes()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.Status(503)));
        await using ServiceProvider provider = Aspire(clock, server, o => o.RetryBaseDelay = TimeSpan.Zero);
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");

        Exception? error = null;
        try
        {
            await StreamAsync(http, "gpt-4o-mini").WaitAsync(ManualTimeProvider.SafetyTimeout);
        }
        catch (OpenAIStreamException ex)
        {
            error = ex;
        }

        error.Should().BeOfType<OpenAIStreamException>().Which.StatusCode.Should().Be(503);
        server.Requests.Should().HaveCount(OpenAIStreamingOptions.Interactive.MaxRetryAttempts + 1, "the standard handler's retries do not multiply this handler's");
    }

    [Fact]
    public async Task AspireDefaults_TheStreamingClientHasNoResilienceHandlerAndEveryOtherClientKeepsItsOwn()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        await using ServiceProvider provider = Aspire(clock, server, configure: null, extraClient: "other");
        var handlers = provider.GetRequiredService<IHttpMessageHandlerFactory>();

        Chain(handlers.CreateHandler("openai")).Should().Contain(nameof(OpenAIStreamingHandler)).And.NotContain("ResilienceHandler");
        Chain(handlers.CreateHandler("other")).Should().Contain("ResilienceHandler");
    }

    [Fact]
    public async Task WithoutTheComposition_TheStandardHandlerCutsA20SecondFirstToken()
    {
        // The control: the same handler added by hand, inside the standard handler, on the same clock. The standard
        // handler's 10-second attempt timeout cuts the wait for the first content, and its retries multiply the attempts —
        // which is what AddOpenAIStreaming() prevents.
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.SlowFirstToken(TimeSpan.FromSeconds(20))));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.ConfigureHttpClientDefaults(b => b.AddStandardResilienceHandler());
        services.AddHttpClient("by-hand", c => c.BaseAddress = server.BaseAddress)
            .AddHttpMessageHandler(() => new OpenAIStreamingHandler(new OpenAIStreamingOptions { FirstTokenTimeout = TimeSpan.FromSeconds(30), MaxRetryAttempts = 0 }, clock));
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("by-hand");

        using var caller = new CancellationTokenSource();
        Task<string> run = StreamAsync(http, "gpt-4o-mini", cancellationToken: caller.Token);
        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 1 && clock.PendingDueTimes().Contains(TimeSpan.FromSeconds(10)), "the standard handler's attempt timeout");
        clock.Advance(TimeSpan.FromSeconds(10));
        await ManualTimeProvider.WaitUntilAsync(() => clock.PendingDueTimes().Any(d => d < TimeSpan.FromSeconds(5)), "the standard handler's retry delay");
        clock.Advance(clock.PendingDueTimes().First(d => d < TimeSpan.FromSeconds(5)));

        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 2, "the standard handler's retry after its attempt timeout");
        run.IsCompleted.Should().BeFalse("the answer the first attempt was waiting for was thrown away at 10 s");
        await caller.CancelAsync(); // end the call, so the standard handler's pipeline can be disposed
        await FluentActions.Awaiting(() => run.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().ThrowAsync<OperationCanceledException>();
    }

    private static ServiceProvider Aspire(ManualTimeProvider clock, FakeOpenAIServer server, Action<OpenAIStreamingOptions>? configure, string? extraClient = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.ConfigureHttpClientDefaults(b => b.AddStandardResilienceHandler());
        IHttpClientBuilder builder = services.AddHttpClient("openai", c => c.BaseAddress = server.BaseAddress);
        if (configure is null)
        {
            builder.AddOpenAIStreaming();
        }
        else
        {
            builder.AddOpenAIStreaming(configure);
        }

        if (extraClient is not null)
        {
            services.AddHttpClient(extraClient);
        }

        return services.BuildServiceProvider();
    }

    private static Task<string> StreamAsync(HttpClient http, string model, Action? onUpdate = null, CancellationToken cancellationToken = default) => Task.Run(async () =>
    {
        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync($$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""", cancellationToken))
        {
            text.Append(update.Text);
            onUpdate?.Invoke();
        }

        return text.ToString();
    });

    private static List<string> Chain(HttpMessageHandler handler)
    {
        var names = new List<string>();
        for (HttpMessageHandler? h = handler; h is not null; h = (h as DelegatingHandler)?.InnerHandler)
        {
            names.Add(h.GetType().Name);
        }

        return names;
    }
}
