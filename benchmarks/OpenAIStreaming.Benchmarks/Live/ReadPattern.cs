namespace OpenAIStreaming.Benchmarks.Live;

/// <summary>How the body reaches the reader: in large reads, or as a live stream that a reader keeps up with.</summary>
public enum ReadPattern
{
    /// <summary>4 KiB per read: a body that arrived faster than it is read.</summary>
    Reads4KiB,

    /// <summary>One event per read: a server that flushes each token, read by a client that keeps up.</summary>
    EventPerRead,

    /// <summary>Each event in two reads, split in its middle: the same, with events cut by segment boundaries.</summary>
    EventSplitInTwo,

    /// <summary>100 bytes per read: events cut at arbitrary places, most of them across two or three reads.</summary>
    Reads100B,
}
