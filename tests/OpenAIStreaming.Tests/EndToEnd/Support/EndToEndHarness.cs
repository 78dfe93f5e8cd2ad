using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd.Support;

/// <summary>
/// The fake OpenAI server on Kestrel (127.0.0.1, port 0) and an <see cref="HttpClient"/> with
/// <see cref="OpenAIStreamingHandler"/> over a <see cref="ResponseRecorder"/> over <see cref="SocketsHttpHandler"/>. One
/// <see cref="ManualTimeProvider"/> drives both sides: the handler's timeouts and retry delays, and the server's slow first
/// tokens and stalls. Nothing here waits on the wall clock except the safety limits that turn a hang into a failure.
/// </summary>
public sealed class EndToEndHarness : IAsyncDisposable
{
    public const string Model = "gpt-4o-mini";
    private const string Prompt = "Say hello";
    private static readonly FakeMessage[] Messages = [new("user", Prompt)];

    private int _updates;

    private EndToEndHarness(ManualTimeProvider clock, FakeOpenAIServer server, FakeOpenAIServer? backup, OpenAIStreamingOptions options, int seed)
    {
        Clock = clock;
        Server = server;
        Backup = backup;
        Recorder = new ResponseRecorder(new SocketsHttpHandler());
        Handler = new OpenAIStreamingHandler(options, clock, loggerFactory: null, new Random(seed)) { InnerHandler = Recorder };
        Http = new HttpClient(Handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    public ManualTimeProvider Clock { get; }

    public FakeOpenAIServer Server { get; }

    /// <summary>Gets the second server, on the same clock, that the handler falls back to (with its own key), if the test asked for one.</summary>
    public FakeOpenAIServer? Backup { get; }

    public ResponseRecorder Recorder { get; }

    public OpenAIStreamingHandler Handler { get; }

    public HttpClient Http { get; }

    /// <summary>Gets the number of updates the client has handed to the test so far.</summary>
    public int Updates => Volatile.Read(ref _updates);

    /// <summary>Gets what a healthy stream answers to the prompt both clients send.</summary>
    public string ExpectedText => Server.GetExpectedText(Model, Messages);

    /// <summary>
    /// Starts the server (and, with <paramref name="withBackup"/>, a backup server added as the last fallback endpoint) and
    /// builds the client; the handler's jitter is seeded with <paramref name="seed"/>.
    /// </summary>
    public static async Task<EndToEndHarness> StartAsync(OpenAIStreamingOptions? options = null, int seed = 7, bool withBackup = false)
    {
        var clock = new ManualTimeProvider();
        options ??= new OpenAIStreamingOptions();
        FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        FakeOpenAIServer? backup = null;
        if (withBackup)
        {
            backup = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
            options.Fallbacks.Add(new OpenAIStreamingFallback { Endpoint = backup.BaseAddress, ApiKey = "sk-backup" });
        }

        return new EndToEndHarness(clock, server, backup, options, seed);
    }

    /// <summary>What a healthy stream of <paramref name="model"/> answers to the prompt both clients send.</summary>
    public string ExpectedTextOf(string model) => Server.GetExpectedText(model, Messages);

    /// <summary>The type a client surfaces for an HTTP error status.</summary>
    public static Type HttpErrorType(StreamingClientKind kind) =>
        kind == StreamingClientKind.TypedReader ? typeof(OpenAIStreamException) : typeof(ClientResultException);

    /// <summary>The status, OpenAI error code and server request id carried by either client's HTTP error.</summary>
    public static HttpError ErrorOf(Exception error) => error switch
    {
        OpenAIStreamException typed => new HttpError(typed.StatusCode, typed.ErrorCode, typed.RequestId),
        ClientResultException sdk => new HttpError(sdk.Status, CodeOf(sdk.GetRawResponse()), RequestIdOf(sdk.GetRawResponse())),
        _ => throw new ArgumentException($"Not an HTTP error of either client: {error}", nameof(error)),
    };

    /// <summary>Streams the chat completion with <paramref name="kind"/>, off the test thread, and returns its text.</summary>
    public Task<string> StreamTextAsync(StreamingClientKind kind) =>
        Task.Run(() => kind == StreamingClientKind.TypedReader ? ReadTypedAsync() : ReadWithSdkAsync());

    /// <summary>Waits (bounded by <see cref="ManualTimeProvider.SafetyTimeout"/>) until <paramref name="task"/> fails, and returns the exception.</summary>
    public static async Task<Exception> FailureOf(Task task)
    {
        try
        {
            await task.WaitAsync(ManualTimeProvider.SafetyTimeout);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw;
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new InvalidOperationException("The call succeeded where it should have failed.");
    }

    /// <summary>Waits until the server has seen <paramref name="attempts"/> requests and <paramref name="condition"/> holds.</summary>
    public Task WaitForAttemptAsync(int attempts, Func<IReadOnlyList<TimeSpan>, bool> condition, string what) =>
        ManualTimeProvider.WaitUntilAsync(
            () => Server.Requests.Count >= attempts && condition(Clock.PendingDueTimes()),
            $"attempt {attempts} and {what} (server saw {Server.Requests.Count}; timers {string.Join(", ", Clock.PendingDueTimes())})");

    /// <summary>Waits until a timer due sooner than <paramref name="below"/> (a retry delay) is scheduled and returns how far off it is.</summary>
    public async Task<TimeSpan> WaitForRetryDelayAsync(TimeSpan below)
    {
        await ManualTimeProvider.WaitUntilAsync(() => Clock.PendingDueTimes().Any(d => d < below), $"a retry delay below {below} (timers {string.Join(", ", Clock.PendingDueTimes())})");
        return Clock.PendingDueTimes().First(d => d < below);
    }

    /// <summary>The <c>x-request-id</c> the server sent on the <paramref name="index"/>-th response (zero-based).</summary>
    public string ServerRequestId(int index) => Recorder.Responses[index].Headers.GetValues("x-request-id").Single();

    /// <summary>Every response the socket handler produced was disposed: retried ones by the handler, the returned one by the client.</summary>
    public void ShouldHaveDisposedEveryResponse(int expectedResponses)
    {
        IReadOnlyList<TrackingResponseMessage> responses = Recorder.Responses;
        responses.Should().HaveCount(expectedResponses);
        Enumerable.Range(0, responses.Count).Where(i => !responses[i].IsDisposed).Should().BeEmpty("every response is disposed (listed: the zero-based indexes of those that were not)");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync().AsTask().WaitAsync(ManualTimeProvider.SafetyTimeout);
        if (Backup is not null)
        {
            await Backup.DisposeAsync().AsTask().WaitAsync(ManualTimeProvider.SafetyTimeout);
        }
    }

    private async Task<string> ReadTypedAsync()
    {
        var accumulator = new ChatCompletionAccumulator();
        string request = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""";
        await foreach (ChatCompletionUpdate update in Http.StreamChatCompletionAsync(request))
        {
            accumulator.Append(update);
            Interlocked.Increment(ref _updates);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.FinishReason.Should().Be("stop");
        return choice.Content;
    }

    private async Task<string> ReadWithSdkAsync()
    {
        var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = Server.BaseAddress,
            Transport = new HttpClientPipelineTransport(Http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the handler retries; the SDK must not multiply attempts
            NetworkTimeout = Timeout.InfiniteTimeSpan, // the handler's timeouts govern, on the manual clock
        });

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(Prompt)]))
        {
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            Interlocked.Increment(ref _updates);
        }

        finish.Should().Be(ChatFinishReason.Stop);
        return text.ToString();
    }

    private static string? CodeOf(PipelineResponse? response)
    {
        if (response?.Content is not { } content)
        {
            return null;
        }

        using JsonDocument json = JsonDocument.Parse(content.ToMemory());
        return json.RootElement.GetProperty("error").GetProperty("code").GetString();
    }

    private static string? RequestIdOf(PipelineResponse? response) =>
        response is not null && response.Headers.TryGetValue("x-request-id", out string? id) ? id : null;
}
