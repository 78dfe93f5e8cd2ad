using BenchmarkDotNet.Attributes;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// One generated gpt-4o chat stream (20,000 chunks, 4 KiB reads) read into text deltas by this library
/// and by its peers. Each benchmark consumes the whole stream and returns the number of text characters.
/// </summary>
[MemoryDiagnoser]
public class ChatStreamBenchmarks
{
    private OpenAIStreamingReader _openAIStreaming = null!;
    private SseParserReader _sseParser = null!;
    private NaiveReader _naive = null!;
    private OfficialSdkReader _officialSdk = null!;

    [Params(ChunkShape.Current2025, ChunkShape.Recorded2024)]
    public ChunkShape Shape { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var data = ChatStreamGenerator.Generate(Shape);
        _openAIStreaming = new OpenAIStreamingReader(data);
        _sseParser = new SseParserReader(data);
        _naive = new NaiveReader(data);
        _officialSdk = new OfficialSdkReader(data);
    }

    [Benchmark(Description = "OpenAIStreaming")]
    public Task<int> OpenAIStreaming() => _openAIStreaming.ReadAsync(sink: null);

    [Benchmark(Baseline = true, Description = "SseParser+Utf8JsonReader")]
    public Task<int> SseParser() => _sseParser.ReadAsync(sink: null);

    [Benchmark(Description = "Naive ReadLine+JsonDocument")]
    public Task<int> Naive() => _naive.ReadAsync(sink: null);

    [Benchmark(Description = "OpenAI SDK 2.15")]
    public Task<int> OfficialSdk() => _officialSdk.ReadAsync(sink: null);
}
