using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Fallbacks and the circuit breaker over real sockets: a primary and a backup fake server on Kestrel, both on the test's
/// manual clock, read through the handler by this library's reader and by the official OpenAI SDK.
/// </summary>
public sealed class FallbackEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private static readonly FakeMessage[] Messages = [new("user", "Say hello")];

    public enum Reader
    {
        Typed,
        OfficialSdk,
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.OfficialSdk)]
    public async Task NeverAnswers_TheFallbackAnswersRightAfterTheFirstTokenTimeout(Reader reader)
    {
        await using var servers = await Servers.StartAsync();
        servers.Primary.AddRule(new FaultRule(Fault.NeverAnswer()));
        using HttpClient http = servers.CreateClient(new OpenAIStreamingOptions());

        Task<string> reading = ReadAsync(reader, http, servers.Primary.BaseAddress);
        await ManualTimeProvider.WaitUntilAsync(() => servers.Primary.Requests.Count == 1, "the primary attempt to arrive");
        await servers.Clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(3));
        servers.Backup.Requests.Should().BeEmpty();
        servers.Clock.Advance(TimeSpan.FromSeconds(3));

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(servers.Backup.GetExpectedText(Model, Messages));
        servers.Primary.Requests.Should().ContainSingle("a first-token miss goes to the fallback, not to a second wait on the primary");
        servers.Backup.Requests.Should().ContainSingle().Which.Elapsed.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.OfficialSdk)]
    public async Task FirstTokenAfter20Seconds_TheFallbackAnswers(Reader reader)
    {
        await using var servers = await Servers.StartAsync();
        servers.Primary.AddRule(new FaultRule(Fault.SlowFirstToken(TimeSpan.FromSeconds(20))));
        using HttpClient http = servers.CreateClient(new OpenAIStreamingOptions());

        Task<string> reading = ReadAsync(reader, http, servers.Primary.BaseAddress);
        await ManualTimeProvider.WaitUntilAsync(() => servers.Primary.Requests.Count == 1, "the primary attempt");
        await servers.Clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(3));
        servers.Clock.Advance(TimeSpan.FromSeconds(3));

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(servers.Backup.GetExpectedText(Model, Messages));
        servers.Backup.Requests.Should().ContainSingle();
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.OfficialSdk)]
    public async Task Persistent429_ThreeJitteredAttemptsThenTheFallbackAnswers(Reader reader)
    {
        await using var servers = await Servers.StartAsync();
        servers.Primary.AddRule(new FaultRule(Fault.Status(429)));
        using HttpClient http = servers.CreateClient(new OpenAIStreamingOptions());

        Task<string> reading = ReadAsync(reader, http, servers.Primary.BaseAddress);
        var delays = new List<TimeSpan>();
        for (int retry = 0; retry < 2; retry++)
        {
            await ManualTimeProvider.WaitUntilAsync(() => servers.Primary.Requests.Count == retry + 1 && servers.Clock.PendingDueTimes().Any(d => d < TimeSpan.FromSeconds(2)), "a backoff delay");
            TimeSpan delay = servers.Clock.PendingDueTimes().First(d => d < TimeSpan.FromSeconds(2));
            delays.Add(delay);
            servers.Clock.Advance(delay);
        }

        (await reading.WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(servers.Backup.GetExpectedText(Model, Messages));
        servers.Primary.Requests.Should().HaveCount(3, "one attempt plus MaxRetryAttempts (2)");
        delays[0].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(225)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(375));
        delays[1].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(750));
        servers.Backup.Requests.Should().ContainSingle();
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.OfficialSdk)]
    public async Task OutageAcross20Requests_TheCircuitOpensTheFallbackServesAndThePrimaryServesAgainAfterItRecovers(Reader reader)
    {
        await using var servers = await Servers.StartAsync();
        // 503 for the first 30 s of the server's clock, asking for a wait longer than MaxRetryAfter: no point waiting here.
        servers.Primary.AddRule(new FaultRule(Fault.Outage(TimeSpan.FromSeconds(30), retryAfter: TimeSpan.FromSeconds(120))));
        var options = new OpenAIStreamingOptions();
        using HttpClient http = servers.CreateClient(options);
        string expected = servers.Backup.GetExpectedText(Model, Messages);

        for (int i = 0; i < 20; i++)
        {
            (await ReadAsync(reader, http, servers.Primary.BaseAddress).WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(expected);
        }

        servers.Primary.Requests.Should().HaveCount(options.CircuitBreaker.MinimumThroughput, "after that many failures the open circuit keeps requests off the primary");
        servers.Backup.Requests.Should().HaveCount(20, "the fallback served every request of the outage");

        servers.Clock.Advance(TimeSpan.FromSeconds(31)); // the outage is over and the break has elapsed
        for (int i = 0; i < 3; i++)
        {
            (await ReadAsync(reader, http, servers.Primary.BaseAddress).WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(expected);
        }

        servers.Primary.Requests.Should().HaveCount(options.CircuitBreaker.MinimumThroughput + 3, "the primary serves again");
        servers.Backup.Requests.Should().HaveCount(20);
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.OfficialSdk)]
    public async Task ContextLengthExceeded_GoesToTheLargerContextModelOnly(Reader reader)
    {
        await using var servers = await Servers.StartAsync();
        servers.Primary.AddRule(new FaultRule(Fault.Status(400, errorCode: "context_length_exceeded")) { Model = Model });
        var options = new OpenAIStreamingOptions();
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4o" });
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4.1", HasLargerContextWindow = true });
        using HttpClient http = servers.CreateClient(options, addBackup: false);

        string text = await ReadAsync(reader, http, servers.Primary.BaseAddress).WaitAsync(ManualTimeProvider.SafetyTimeout);

        text.Should().Be(servers.Primary.GetExpectedText("gpt-4.1", Messages));
        servers.Primary.Requests.Select(r => r.Model).Should().Equal(Model, "gpt-4.1");
    }

    private static Task<string> ReadAsync(Reader reader, HttpClient http, Uri endpoint) =>
        Task.Run(() => reader == Reader.Typed ? ReadTypedAsync(http) : ReadWithSdkAsync(http, endpoint));

    private static async Task<string> ReadTypedAsync(HttpClient http)
    {
        var accumulator = new ChatCompletionAccumulator();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"Say hello"}]}"""))
        {
            accumulator.Append(update);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.FinishReason.Should().Be("stop");
        return choice.Content;
    }

    private static async Task<string> ReadWithSdkAsync(HttpClient http, Uri endpoint)
    {
        var client = new ChatClient(Model, new ApiKeyCredential("sk-primary"), new OpenAIClientOptions
        {
            Endpoint = endpoint,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the handler retries; the SDK must not multiply attempts
        });
        var text = new StringBuilder();
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage("Say hello")]))
        {
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        return text.ToString();
    }

    /// <summary>The primary and the backup server, both on one manual clock.</summary>
    private sealed class Servers : IAsyncDisposable
    {
        private Servers(ManualTimeProvider clock, FakeOpenAIServer primary, FakeOpenAIServer backup)
        {
            Clock = clock;
            Primary = primary;
            Backup = backup;
        }

        public ManualTimeProvider Clock { get; }

        public FakeOpenAIServer Primary { get; }

        public FakeOpenAIServer Backup { get; }

        public static async Task<Servers> StartAsync()
        {
            var clock = new ManualTimeProvider();
            FakeOpenAIServer primary = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
            FakeOpenAIServer backup = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
            return new Servers(clock, primary, backup);
        }

        /// <summary>A client whose handler falls back to the backup server (with its own key), unless told not to.</summary>
        public HttpClient CreateClient(OpenAIStreamingOptions options, bool addBackup = true)
        {
            if (addBackup)
            {
                options.Fallbacks.Add(new OpenAIStreamingFallback { Endpoint = Backup.BaseAddress, ApiKey = "sk-backup" });
            }

            return new HttpClient(new OpenAIStreamingHandler(options, Clock) { InnerHandler = new SocketsHttpHandler() })
            {
                BaseAddress = Primary.BaseAddress,
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }

        public async ValueTask DisposeAsync()
        {
            await Primary.DisposeAsync();
            await Backup.DisposeAsync();
        }
    }
}
