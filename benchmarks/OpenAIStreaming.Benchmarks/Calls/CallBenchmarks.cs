using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OpenAIStreaming.Benchmarks.Live;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks.Calls;

/// <summary>
/// The cost of one whole call rather than one chunk: a 60-token answer (the load run's size) read one event per read, from
/// request to the end of the stream, without a network (the headers arrive asynchronously, the body's reads complete at once), so what a call costs the client beside its bytes shows (the
/// request, the response, the handler's per-call state, the reader's buffers). What the load run measures per stream,
/// less the sockets.
/// </summary>
[MemoryDiagnoser]
public class CallBenchmarks
{
    private const int Tokens = 60;
    private const int WarmupCalls = 3_000;

    private ChatStreamData _data = null!;
    private int[] _ends = null!;
    private HttpClient _raw = null!;
    private OpenAIStreamingReader _typed = null!;
    private OpenAIStreamingReader _typedHandler = null!;
    private OpenAIStreamingReader _typedDi = null!;
    private ServiceProvider _services = null!;
    private OfficialSdkReader _sdk = null!;
    private OfficialSdkReader _sdkHandler = null!;

    [Params(ChunkShape.Current2025)]
    public ChunkShape Shape { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = ChatStreamGenerator.Generate(Shape, Tokens, withToolCall: false);
        _ends = PatternStream.ReadEnds(_data.Body, ReadPattern.EventPerRead);
        _raw = new HttpClient(new PatternHandler(this)) { BaseAddress = new Uri("http://localhost/v1/") };
        _typed = new OpenAIStreamingReader(new PatternHandler(this));
        _typedHandler = new OpenAIStreamingReader(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = new PatternHandler(this) });
        var services = new ServiceCollection();
        services.AddHttpClient("openai", c => c.BaseAddress = new Uri("http://localhost/v1/")).AddOpenAIStreaming().ConfigurePrimaryHttpMessageHandler(() => new PatternHandler(this));
        _services = services.BuildServiceProvider();
        _typedDi = new OpenAIStreamingReader(_services.GetRequiredService<IHttpClientFactory>().CreateClient("openai"));
        _sdk = new OfficialSdkReader(new PatternHandler(this));
        _sdkHandler = new OfficialSdkReader(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = new PatternHandler(this) });

        // A call runs each per-call method once: thousands of calls before measuring, so tiered compilation has promoted them
        // all (a short run would otherwise measure the JIT, and more of it for the contender with more code).
        for (int i = 0; i < WarmupCalls; i++)
        {
            Raw().GetAwaiter().GetResult();
            Typed().GetAwaiter().GetResult();
            TypedThroughHandler().GetAwaiter().GetResult();
            TypedThroughFactory().GetAwaiter().GetResult();
            Sdk().GetAwaiter().GetResult();
            SdkThroughHandler().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "HttpClient+SseParser")]
    public async Task<int> Raw()
    {
        int total = 0;
        using var content = new ByteArrayContent("{}"u8.ToArray());
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = content };
        using var response = await _raw.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        await foreach (SseItem<string?> item in SseParser.Create(stream, static (_, data) => SseParserReader.ParseContent(data)).EnumerateAsync())
        {
            total += item.Data?.Length ?? 0;
        }

        return total;
    }

    [Benchmark(Description = "OpenAIStreaming typed")]
    public Task<int> Typed() => _typed.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAIStreaming typed, handler")]
    public Task<int> TypedThroughHandler() => _typedHandler.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAIStreaming typed, AddOpenAIStreaming()")]
    public Task<int> TypedThroughFactory() => _typedDi.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAI SDK")]
    public Task<int> Sdk() => _sdk.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAI SDK, handler")]
    public Task<int> SdkThroughHandler() => _sdkHandler.ReadAsync(sink: null);

    private sealed class PatternHandler(CallBenchmarks owner) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Yield(); // as over a network, the headers arrive after the send has returned: a stream's first-token timer is armed
            var content = new StreamContent(new PatternStream(owner._data.Body, owner._ends));
            content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
        }
    }
}
