using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Handler.Support;

/// <summary>An <see cref="OpenAIStreamingHandler"/> over a <see cref="ScriptedHandler"/>, driven by a <see cref="ManualTimeProvider"/>.</summary>
public sealed class HandlerHarness : IStreamProtectionHarness
{
    public const string ChatRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}""";

    /// <summary>What the typed reader sends for <see cref="ChatRequest"/>: it asks for the usage.</summary>
    public const string SentChatRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""";

    public static readonly string Healthy = SseBody.Data(
        SseBody.Chunk("""{"role":"assistant","content":"ok"}"""),
        SseBody.Chunk("{}", "\"stop\""),
        "[DONE]");

    public static readonly string FirstEvent = SseBody.Data(SseBody.Chunk("""{"role":"assistant","content":"o"}"""));

    public static readonly string RestOfAnswer = SseBody.Data(SseBody.Chunk("""{"content":"k"}"""), SseBody.Chunk("{}", "\"stop\""), "[DONE]");

    public HandlerHarness(OpenAIStreamingOptions? options = null, int seed = 7, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        Time = new ManualTimeProvider();
        Stub = new ScriptedHandler(Time);
        Options = options ?? new OpenAIStreamingOptions();
        Handler = new OpenAIStreamingHandler(Options, Time, loggerFactory: null, new Random(seed), sharedState: null, meterFactory) { InnerHandler = Stub };
        Client = new HttpClient(Handler) { BaseAddress = new Uri("http://127.0.0.1/v1/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public ManualTimeProvider Time { get; }

    public ScriptedHandler Stub { get; }

    public OpenAIStreamingOptions Options { get; }

    public OpenAIStreamingHandler Handler { get; }

    public HttpClient Client { get; }

    /// <summary>Streams a chat completion through the typed reader and returns its text.</summary>
    public Task<string> StreamTextAsync(CancellationToken cancellationToken = default) => Task.Run(async () =>
    {
        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in Client.StreamChatCompletionAsync(ChatRequest, cancellationToken))
        {
            text.Append(update.Text);
        }

        return text.ToString();
    });

    /// <summary>Waits until a retry delay (any timer due sooner than <paramref name="below"/>) is scheduled and returns its length.</summary>
    public async Task<TimeSpan> WaitForDelayAsync(TimeSpan below)
    {
        await ManualTimeProvider.WaitUntilAsync(() => Time.PendingDueTimes().Any(d => d < below), $"a timer due within {below}");
        return Time.PendingDueTimes().First(d => d < below);
    }

    public static Task<T> Within<T>(Task<T> task) => task.WaitAsync(ManualTimeProvider.SafetyTimeout);

    public void Dispose()
    {
        Client.Dispose();
    }
}
