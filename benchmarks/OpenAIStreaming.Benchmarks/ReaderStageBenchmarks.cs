using BenchmarkDotNet.Attributes;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// Where OpenAIStreaming's time goes, stage by stage, on the same stream as <see cref="Live.LiveStreamBenchmarks"/>:
/// the pipe reads alone, SSE framing over them, and chunk decoding of the already-framed events.
/// </summary>
[MemoryDiagnoser]
public class ReaderStageBenchmarks
{
    private ChatStreamData _data = null!;
    private byte[][] _events = null!;

    [Params(ChunkShape.Current2025, ChunkShape.Recorded2024)]
    public ChunkShape Shape { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = ChatStreamGenerator.Generate(Shape);
        var events = new List<byte[]>();
        var reader = new SseEventReader(PipeReaders.Create(_data.Open(), leaveOpen: false), options: null);
        while (reader.MoveNextAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult())
        {
            events.Add(reader.Current.Data.ToArray());
        }

        _events = [.. events];
    }

    [Benchmark(Baseline = true, Description = "pipe reads only")]
    public async Task<long> PipeReads()
    {
        var pipe = PipeReaders.Create(_data.Open(), leaveOpen: false);
        long bytes = 0;
        while (true)
        {
            var result = await pipe.ReadAsync();
            bytes += result.Buffer.Length;
            pipe.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await pipe.CompleteAsync();
        return bytes;
    }

    [Benchmark(Description = "pipe + SSE framing")]
    public async Task<long> Framing()
    {
        var reader = new SseEventReader(PipeReaders.Create(_data.Open(), leaveOpen: false), options: null);
        long bytes = 0;
        while (await reader.MoveNextAsync(CancellationToken.None))
        {
            bytes += reader.Current.Data.Length;
        }

        await reader.DisposeAsync();
        return bytes;
    }

    [Benchmark(Description = "chunk decoding only")]
    public long Decoding()
    {
        using var decoder = new ChatChunkDecoder();
        long characters = 0;
        for (int i = 0; i < _events.Length; i++)
        {
            if (decoder.Decode(_events[i], i, requestId: null) == ChatChunkKind.Chunk)
            {
                characters += decoder.Updates[0].Text?.Length ?? 0;
            }
        }

        return characters;
    }
}
