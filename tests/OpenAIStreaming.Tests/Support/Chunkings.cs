namespace OpenAIStreaming.Tests.Support;

/// <summary>Theory data: the chunkings every parser case runs under, optionally crossed with the line-ending styles.</summary>
public static class Chunkings
{
    /// <summary>Whole, one byte per read and three random splits, each with synchronous and asynchronous reads.</summary>
    public static IReadOnlyList<Chunking> Standard { get; } =
    [
        Chunking.Whole(),
        Chunking.Whole(asyncReads: true),
        Chunking.OneByte(),
        Chunking.OneByte(asyncReads: true),
        Chunking.Random(seed: 1),
        Chunking.Random(seed: 2, asyncReads: true),
        Chunking.Random(seed: 3, maxReadSize: 5),
        Chunking.Random(seed: 4, asyncReads: true, maxReadSize: 3),
    ];

    public static TheoryData<Chunking> All => new(Standard);

    /// <summary>Every standard chunking × every line-ending style.</summary>
    public static TheoryData<Chunking, NewLine> WithNewLines => CrossedWith(Enum.GetValues<NewLine>());

    /// <summary>Every standard chunking × every entry point (Stream, PipeReader, HttpContent).</summary>
    public static TheoryData<Chunking, SseEntryPoint> WithEntryPoints => CrossedWith(Enum.GetValues<SseEntryPoint>());

    /// <summary>Synchronous and asynchronous reads, for tests that choose their own split points.</summary>
    public static TheoryData<bool> SyncAndAsync => new() { false, true };

    private static TheoryData<Chunking, T> CrossedWith<T>(IEnumerable<T> values)
    {
        var data = new TheoryData<Chunking, T>();
        foreach (Chunking chunking in Standard)
        {
            foreach (T value in values)
            {
                data.Add(chunking, value);
            }
        }

        return data;
    }
}
