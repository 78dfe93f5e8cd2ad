using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>The faults that change which events a stream carries and how they are framed into bytes.</summary>
internal static class StreamFaults
{
    /// <summary>Applies mid-stream error, malformed JSON and missing <c>[DONE]</c> to the healthy events.</summary>
    public static IReadOnlyList<SseEvent> Apply(StreamPlan plan, IReadOnlyList<Fault> faults)
    {
        List<SseEvent> events = [.. plan.Events];
        if (Find(faults, FaultKind.MidStreamError) is { } error)
        {
            int keep = Math.Clamp(error.Events, 0, events.Count);
            events = [.. events.Take(keep), .. plan.ErrorEvents(keep, error.ErrorShape)];
        }

        if (Find(faults, FaultKind.MalformedJson) is { } malformed && malformed.Events >= 1 && malformed.Events <= events.Count)
        {
            SseEvent broken = events[malformed.Events - 1];
            events[malformed.Events - 1] = broken with { Data = Truncate(broken.Data) };
        }

        if (Find(faults, FaultKind.MissingDone) is not null)
        {
            events.RemoveAll(e => e.IsDone);
        }

        return events;
    }

    /// <summary>Frames each event as bytes: optional keep-alive comment, <c>event:</c> line, <c>data:</c> line, blank line; LF, CRLF or CR.</summary>
    public static List<byte[]> Frame(IReadOnlyList<SseEvent> events, IReadOnlyList<Fault> faults) => Frame(events, faults, first: 0);

    /// <summary>Frames events that come after <paramref name="first"/> others in the stream (which counts for the keep-alive period).</summary>
    public static List<byte[]> Frame(IReadOnlyList<SseEvent> events, IReadOnlyList<Fault> faults, int first)
    {
        string eol = Find(faults, FaultKind.CrlfLineEndings) is not null ? "\r\n" : Find(faults, FaultKind.CrLineEndings) is not null ? "\r" : "\n";
        Fault? keepAlive = Find(faults, FaultKind.KeepAliveComments);
        int every = Math.Max(1, keepAlive?.Events ?? 1);
        var framed = new List<byte[]>(events.Count);
        var text = new StringBuilder();
        for (int i = 0; i < events.Count; i++)
        {
            text.Clear();
            if (keepAlive is not null && (first + i) % every == 0)
            {
                text.Append(':').Append(keepAlive.Text ?? " keep-alive").Append(eol).Append(eol);
            }

            if (events[i].EventName is { } name)
            {
                text.Append("event: ").Append(name).Append(eol);
            }

            text.Append("data: ").Append(events[i].Data).Append(eol).Append(eol);
            framed.Add(Encoding.UTF8.GetBytes(text.ToString()));
        }

        return framed;
    }

    /// <summary>Cuts a recorded body after each blank line (LF LF, CR CR or CRLF CRLF), bytes unchanged, so that per-event faults apply to it.</summary>
    public static List<byte[]> SplitRecorded(ReadOnlyMemory<byte> body)
    {
        var segments = new List<byte[]>();
        ReadOnlySpan<byte> span = body.Span;
        int start = 0;
        for (int i = 1; i < span.Length; i++)
        {
            bool blank = (span[i] == '\n' && span[i - 1] == '\n')
                || (span[i] == '\r' && span[i - 1] == '\r' && (i + 1 >= span.Length || span[i + 1] != '\n'))
                || (span[i] == '\n' && i >= 3 && span[(i - 3)..(i + 1)].SequenceEqual("\r\n\r\n"u8));
            if (blank)
            {
                segments.Add(span[start..(i + 1)].ToArray());
                start = i + 1;
            }
        }

        if (start < span.Length)
        {
            segments.Add(span[start..].ToArray());
        }

        return segments;
    }

    public static Fault? Find(IReadOnlyList<Fault> faults, FaultKind kind)
    {
        foreach (Fault fault in faults)
        {
            if (fault.Kind == kind)
            {
                return fault;
            }
        }

        return null;
    }

    /// <summary>
    /// Cuts the JSON short: just inside a non-empty <c>content</c> string when there is one, so that every response to the
    /// same request breaks the same way there (only the id, time and padding before it differ); otherwise at its middle.
    /// </summary>
    private static string Truncate(string data)
    {
        const string Content = "\"content\":\"";
        int content = data.IndexOf(Content, StringComparison.Ordinal);
        int cut = content >= 0 && content + Content.Length + 1 < data.Length && data[content + Content.Length] != '"'
            ? content + Content.Length + 1
            : Math.Max(1, data.Length / 2);
        if (char.IsLowSurrogate(data[cut]))
        {
            cut--;
        }

        return data[..cut];
    }
}
