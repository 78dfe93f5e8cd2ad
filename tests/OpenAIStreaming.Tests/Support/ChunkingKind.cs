namespace OpenAIStreaming.Tests.Support;

/// <summary>How a <see cref="Chunking"/> splits a body into reads.</summary>
public enum ChunkingKind
{
    /// <summary>The whole body in one read.</summary>
    Whole,

    /// <summary>One byte per read (a trickle).</summary>
    OneByte,

    /// <summary>Reads of one fixed size.</summary>
    Fixed,

    /// <summary>Reads of random sizes from a fixed seed.</summary>
    Random,

    /// <summary>Reads that end exactly at the given offsets.</summary>
    SplitAt,
}
