using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using BenchmarkDotNet.Attributes;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks.Live;

/// <summary>
/// The 20,000-chunk chat streams of <see cref="ChatStreamGenerator"/> (both shapes), read the way users read them: in large reads and
/// as a live stream (one event per read, or each event split across two reads), directly and through
/// <see cref="OpenAIStreamingHandler"/> (default options: timeouts armed, recovery on), beside the runtime's
/// <see cref="SseParser"/>, the naive reader and the official SDK, in one run.
/// </summary>
[MemoryDiagnoser]
public class LiveStreamBenchmarks
{
    private ChatStreamData _data = null!;
    private int[] _ends = null!;
    private PatternReader _sseParser = null!;
    private OpenAIStreamingReader _typed = null!;
    private OpenAIStreamingReader _typedHandler = null!;
    private OfficialSdkReader _sdk = null!;
    private OfficialSdkReader _sdkHandler = null!;

    [Params(ChunkShape.Current2025, ChunkShape.Recorded2024)]
    public ChunkShape Shape { get; set; }

    [Params(ReadPattern.Reads4KiB, ReadPattern.EventPerRead, ReadPattern.EventSplitInTwo, ReadPattern.Reads100B)]
    public ReadPattern Pattern { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = ChatStreamGenerator.Generate(Shape);
        _ends = PatternStream.ReadEnds(_data.Body, Pattern);
        _sseParser = new PatternReader(this);
        _typed = new OpenAIStreamingReader(new PatternHandler(this));
        _typedHandler = new OpenAIStreamingReader(ThroughHandler());
        _sdk = new OfficialSdkReader(new PatternHandler(this));
        _sdkHandler = new OfficialSdkReader(ThroughHandler());
    }

    [Benchmark(Baseline = true, Description = "SseParser+Utf8JsonReader")]
    public Task<int> SseParser() => _sseParser.ReadAsync();

    [Benchmark(Description = "Naive ReadLine+JsonDocument")]
    public Task<int> Naive() => NaiveReader.ReadAsync(Open(), sink: null);

    [Benchmark(Description = "OpenAIStreaming typed")]
    public Task<int> Typed() => _typed.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAIStreaming typed, handler")]
    public Task<int> TypedThroughHandler() => _typedHandler.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAI SDK")]
    public Task<int> Sdk() => _sdk.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAI SDK, handler")]
    public Task<int> SdkThroughHandler() => _sdkHandler.ReadAsync(sink: null);

    /// <summary>Runs every contender once and checks that each extracts the expected text.</summary>
    public async Task<bool> CheckAsync(TextWriter output)
    {
        int expected = _data.ExpectedText.Length;
        int[] got = [await SseParser(), await Naive(), await Typed(), await TypedThroughHandler(), await Sdk(), await SdkThroughHandler()];
        bool ok = got.All(n => n == expected);
        output.WriteLine($"live {Shape} {Pattern}: {(ok ? "all readers agree" : "MISMATCH " + string.Join(", ", got) + " vs " + expected)}");
        return ok;
    }

    private PatternStream Open() => new(_data.Body, _ends);

    private OpenAIStreamingHandler ThroughHandler() => new(new OpenAIStreamingOptions()) { InnerHandler = new PatternHandler(this) };

    private sealed class PatternHandler(LiveStreamBenchmarks owner) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new StreamContent(owner.Open());
            content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
        }
    }

    private sealed class PatternReader(LiveStreamBenchmarks owner)
    {
        private static readonly SseItemParser<string?> ItemParser = static (_, data) => SseParserReader.ParseContent(data);

        public async Task<int> ReadAsync()
        {
            int total = 0;
            using Stream stream = owner.Open();
            await foreach (SseItem<string?> item in System.Net.ServerSentEvents.SseParser.Create(stream, ItemParser).EnumerateAsync())
            {
                total += item.Data?.Length ?? 0;
            }

            return total;
        }
    }
}
