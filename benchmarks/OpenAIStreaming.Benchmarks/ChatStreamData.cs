namespace OpenAIStreaming.Benchmarks;

/// <summary>A generated <c>text/event-stream</c> body and the text a correct reader extracts from it.</summary>
public sealed class ChatStreamData
{
    public ChatStreamData(ChunkShape shape, byte[] body, int chunkCount, string expectedText)
    {
        Shape = shape;
        Body = body;
        ChunkCount = chunkCount;
        ExpectedText = expectedText;
    }

    public ChunkShape Shape { get; }

    /// <summary>The whole response body: the chunks, then <c>data: [DONE]</c>.</summary>
    public byte[] Body { get; }

    /// <summary>JSON chunks in the body (role chunk, content chunks, finish chunk; <c>[DONE]</c> not counted).</summary>
    public int ChunkCount { get; }

    /// <summary>All <c>delta.content</c> values concatenated.</summary>
    public string ExpectedText { get; }

    /// <summary>The most recent stream handed out by <see cref="Open"/>, for read statistics.</summary>
    public FixedReadSizeStream? LastOpened { get; private set; }

    public double AverageChunkBytes => (double)Body.Length / ChunkCount;

    /// <summary>A fresh stream over <see cref="Body"/> that returns at most 4 KiB per read.</summary>
    public FixedReadSizeStream Open()
    {
        var stream = new FixedReadSizeStream(Body);
        LastOpened = stream;
        return stream;
    }
}
