using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>The bodies that never end: each an endless sequence of writes, which the writer sends until the request is cancelled.</summary>
internal static class EndlessBodies
{
    /// <summary>The content of every endless delta.</summary>
    public const string Token = " more";

    /// <summary>How many bytes of framed events go into one write.</summary>
    private const int EventBatchBytes = 16 * 1024;

    /// <summary>Events from <paramref name="next"/> (given the number of events sent before it), framed like the rest of the stream, about 16 KiB per write.</summary>
    public static IEnumerable<byte[]> Events(Func<int, SseEvent> next, int sent, IReadOnlyList<Fault> faults)
    {
        using var bytes = new MemoryStream(EventBatchBytes + 1024);
        while (true)
        {
            bytes.SetLength(0);
            while (bytes.Length < EventBatchBytes)
            {
                bytes.Write(StreamFaults.Frame([next(sent)], faults, sent)[0]);
                sent++;
            }

            yield return bytes.ToArray();
        }
    }

    /// <summary><paramref name="prefix"/>, then the byte <c>a</c> forever in 16 KiB writes, never a line break.</summary>
    public static IEnumerable<byte[]> Line(string prefix)
    {
        yield return Encoding.UTF8.GetBytes(prefix);
        while (true)
        {
            yield return SinkBytes.Letters;
        }
    }

    /// <summary>ASCII white space forever, in 4 KiB writes.</summary>
    public static IEnumerable<byte[]> WhiteSpace()
    {
        while (true)
        {
            yield return SinkBytes.WhiteSpace;
        }
    }
}
