namespace OpenAIStreaming.Testing.Internal;

/// <summary>The fixed byte runs the sinks and endless bodies write.</summary>
internal static class SinkBytes
{
    /// <summary>The size of a padding run: larger than any client read buffer that could hold the bytes before and after it.</summary>
    public const int PaddingSize = 64 * 1024;

    /// <summary>64 KiB of LF: blank lines, which no SSE parser turns into an event.</summary>
    public static readonly byte[] BlankLines = Filled((byte)'\n', PaddingSize);

    /// <summary>A malformed HTTP/1.1 chunk header line: <c>zz</c> is no hexadecimal size.</summary>
    public static readonly byte[] MalformedChunkHeader = "zz\r\n"u8.ToArray();

    /// <summary>The terminating chunk of a chunked body, without trailers.</summary>
    public static readonly byte[] LastChunk = "0\r\n\r\n"u8.ToArray();

    /// <summary>
    /// About 64 KiB of empty stored deflate blocks (<c>00 00 00 FF FF</c>, each what a sync flush ends with): valid after any
    /// flush, decoded to nothing.
    /// </summary>
    public static readonly byte[] EmptyDeflateBlocks = EmptyBlocks(PaddingSize / 5);

    /// <summary>Bytes that are not deflate data: <c>FF</c> starts a block of the reserved type 3, and is no gzip magic number either.</summary>
    public static readonly byte[] NotDeflate = Filled(0xFF, 64);

    /// <summary>16 KiB of the byte <c>a</c>.</summary>
    public static readonly byte[] Letters = Filled((byte)'a', 16 * 1024);

    /// <summary>4 KiB of ASCII white space: spaces, tabs, LF and CR LF.</summary>
    public static readonly byte[] WhiteSpace = Repeated("  \t \n\t\r\n"u8, 4 * 1024);

    private static byte[] Filled(byte value, int length)
    {
        byte[] bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    private static byte[] Repeated(ReadOnlySpan<byte> pattern, int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = pattern[i % pattern.Length];
        }

        return bytes;
    }

    private static byte[] EmptyBlocks(int count)
    {
        byte[] bytes = new byte[count * 5];
        for (int i = 0; i < count; i++)
        {
            bytes[(i * 5) + 3] = 0xFF;
            bytes[(i * 5) + 4] = 0xFF;
        }

        return bytes;
    }
}
