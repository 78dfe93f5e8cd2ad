using System.Globalization;
using Xunit.Abstractions;

namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// A deterministic way to cut a body into reads, and whether those reads complete synchronously or after a yield.
/// Serializable so that every chunking shows up as its own theory case.
/// </summary>
public sealed class Chunking : IXunitSerializable
{
    private const int DefaultMaxReadSize = 32;

    [Obsolete("For the xunit serializer only.")]
    public Chunking()
    {
        SplitOffsets = [];
    }

    private Chunking(ChunkingKind kind, bool asyncReads, int seed = 0, int maxReadSize = DefaultMaxReadSize, int[]? splitOffsets = null)
    {
        Kind = kind;
        AsyncReads = asyncReads;
        Seed = seed;
        MaxReadSize = maxReadSize;
        SplitOffsets = splitOffsets ?? [];
    }

    public ChunkingKind Kind { get; private set; }

    public bool AsyncReads { get; private set; }

    public int Seed { get; private set; }

    public int MaxReadSize { get; private set; }

    public int[] SplitOffsets { get; private set; }

    public static Chunking Whole(bool asyncReads = false) => new(ChunkingKind.Whole, asyncReads);

    public static Chunking OneByte(bool asyncReads = false) => new(ChunkingKind.OneByte, asyncReads);

    public static Chunking Fixed(int readSize, bool asyncReads = false) => new(ChunkingKind.Fixed, asyncReads, maxReadSize: readSize);

    public static Chunking Random(int seed, bool asyncReads = false, int maxReadSize = DefaultMaxReadSize) =>
        new(ChunkingKind.Random, asyncReads, seed, maxReadSize);

    /// <summary>Reads that end exactly at the given byte offsets (then the rest in one read).</summary>
    public static Chunking SplitAt(bool asyncReads, params int[] offsets) => new(ChunkingKind.SplitAt, asyncReads, splitOffsets: offsets);

    public IReadOnlyList<int> ReadSizes(int length)
    {
        var sizes = new List<int>();
        switch (Kind)
        {
            case ChunkingKind.Whole:
                sizes.Add(length);
                break;
            case ChunkingKind.OneByte:
                sizes.AddRange(Enumerable.Repeat(1, length));
                break;
            case ChunkingKind.Fixed:
                for (int done = 0; done < length; done += MaxReadSize)
                {
                    sizes.Add(Math.Min(MaxReadSize, length - done));
                }

                break;
            case ChunkingKind.Random:
                var random = new Random(Seed);
                for (int done = 0; done < length;)
                {
                    int size = Math.Min(random.Next(1, MaxReadSize + 1), length - done);
                    sizes.Add(size);
                    done += size;
                }

                break;
            case ChunkingKind.SplitAt:
                int previous = 0;
                foreach (int offset in SplitOffsets.Where(o => o > 0 && o < length).Order())
                {
                    sizes.Add(offset - previous);
                    previous = offset;
                }

                sizes.Add(length - previous);
                break;
            default:
                throw new InvalidOperationException($"Unknown chunking {Kind}.");
        }

        sizes.RemoveAll(s => s == 0);
        return sizes;
    }

    public ChunkedStream Open(ReadOnlyMemory<byte> data, StreamEnd end = StreamEnd.Eof) =>
        new(data, ReadSizes(data.Length), AsyncReads, end);

    public void Deserialize(IXunitSerializationInfo info)
    {
        Kind = info.GetValue<ChunkingKind>(nameof(Kind));
        AsyncReads = info.GetValue<bool>(nameof(AsyncReads));
        Seed = info.GetValue<int>(nameof(Seed));
        MaxReadSize = info.GetValue<int>(nameof(MaxReadSize));
        string offsets = info.GetValue<string>(nameof(SplitOffsets));
        SplitOffsets = offsets.Length == 0 ? [] : offsets.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    }

    public void Serialize(IXunitSerializationInfo info)
    {
        info.AddValue(nameof(Kind), Kind);
        info.AddValue(nameof(AsyncReads), AsyncReads);
        info.AddValue(nameof(Seed), Seed);
        info.AddValue(nameof(MaxReadSize), MaxReadSize);
        info.AddValue(nameof(SplitOffsets), string.Join(",", SplitOffsets));
    }

    public override string ToString()
    {
        string mode = AsyncReads ? "async" : "sync";
        return Kind switch
        {
            ChunkingKind.Whole => $"whole/{mode}",
            ChunkingKind.OneByte => $"1-byte/{mode}",
            ChunkingKind.Fixed => $"fixed {MaxReadSize}/{mode}",
            ChunkingKind.Random => $"random(seed {Seed}, max {MaxReadSize})/{mode}",
            _ => $"split at {string.Join(",", SplitOffsets)}/{mode}",
        };
    }
}
