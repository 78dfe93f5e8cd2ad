using System.Runtime.InteropServices;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// A request body held in memory whose bytes the handler can read without copying them: the body of this library's own
/// requests, and the buffered copy the handler puts in place of a request's content. Every attempt can send it again.
/// </summary>
internal sealed class BufferedContent : ByteArrayContent
{
    private BufferedContent(ArraySegment<byte> body)
        : base(body.Array!, body.Offset, body.Count)
    {
        Body = body;
    }

    /// <summary>Gets the bytes sent.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Content over <paramref name="body"/>, not copied when it lies in an array (as every body the handler buffers does).</summary>
    public static BufferedContent Of(ReadOnlyMemory<byte> body) =>
        new(MemoryMarshal.TryGetArray(body, out ArraySegment<byte> segment) ? segment : new ArraySegment<byte>(body.ToArray()));

    /// <summary>A JSON body: <c>Content-Type: application/json</c>, kept as text until something asks for it parsed.</summary>
    public static BufferedContent Json(byte[] body)
    {
        var content = new BufferedContent(new ArraySegment<byte>(body));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        return content;
    }
}
