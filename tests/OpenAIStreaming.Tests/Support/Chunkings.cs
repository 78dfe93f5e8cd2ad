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

    public static TheoryData<Chunking> All
    {
        get
        {
            var data = new TheoryData<Chunking>();
            foreach (Chunking chunking in Standard)
            {
                data.Add(chunking);
            }

            return data;
        }
    }

    /// <summary>Every standard chunking × every line-ending style.</summary>
    public static TheoryData<Chunking, NewLine> WithNewLines
    {
        get
        {
            var data = new TheoryData<Chunking, NewLine>();
            foreach (Chunking chunking in Standard)
            {
                foreach (NewLine newLine in Enum.GetValues<NewLine>())
                {
                    data.Add(chunking, newLine);
                }
            }

            return data;
        }
    }

    /// <summary>Every standard chunking × every entry point (Stream, PipeReader, HttpContent).</summary>
    public static TheoryData<Chunking, SseEntryPoint> WithEntryPoints
    {
        get
        {
            var data = new TheoryData<Chunking, SseEntryPoint>();
            foreach (Chunking chunking in Standard)
            {
                foreach (SseEntryPoint entryPoint in Enum.GetValues<SseEntryPoint>())
                {
                    data.Add(chunking, entryPoint);
                }
            }

            return data;
        }
    }

    /// <summary>Synchronous and asynchronous reads, for tests that choose their own split points.</summary>
    public static TheoryData<bool> SyncAndAsync => new() { false, true };
}
