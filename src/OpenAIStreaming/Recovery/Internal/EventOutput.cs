using System.Buffers;
using OpenAIStreaming.Sse;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>How the recovering bodies write the events they pass on, and the error that ends one that cannot be completed.</summary>
internal static class EventOutput
{
    public static ReadOnlySpan<byte> DataPrefix => "data: "u8;

    /// <summary>Writes an event as it came (<c>event:</c> when named, one <c>data:</c> line per line of data); with <paramref name="replaceId"/>, its top-level <c>id</c> is that one.</summary>
    public static void WriteEvent(IBufferWriter<byte> output, in ServerSentEvent current, string? replaceId = null)
    {
        if (current.EventType != ServerSentEvent.DefaultEventType)
        {
            output.Write("event: "u8);
            WriteUtf8(output, current.EventType);
            output.Write("\n"u8);
        }

        ReadOnlySpan<byte> data = current.Data.Span;
        output.Write(DataPrefix);
        if (replaceId is not null && TryFindId(data, out int start, out int end))
        {
            output.Write(data[..start]);
            WriteUtf8(output, replaceId);
            data = data[end..];
        }

        while (data.IndexOf((byte)'\n') is var newline and >= 0)
        {
            output.Write(data[..(newline + 1)]);
            output.Write(DataPrefix);
            data = data[(newline + 1)..];
        }

        output.Write(data);
        output.Write("\n\n"u8);
    }

    /// <summary>The <c>code</c> of the error event written for <paramref name="error"/>.</summary>
    public static string ErrorCode(Exception error) =>
        (error as OpenAIStreamException)?.ErrorCode ?? error switch
        {
            OpenAIStreamDivergedException => "stream_diverged",
            OpenAIStreamTimeoutException => "stream_timeout",
            OpenAIStreamProtocolException => "stream_broken",
            _ => "stream_error",
        };

    /// <summary>The <c>type</c> of the error event written for <paramref name="error"/>.</summary>
    public static string ErrorType(Exception error) => (error as OpenAIStreamException)?.ErrorType ?? "server_error";

    public static void WriteUtf8(IBufferWriter<byte> output, string text)
    {
        Span<byte> target = output.GetSpan(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(System.Text.Encoding.UTF8.GetBytes(text, target));
    }

    /// <summary>Finds the value of the top-level <c>"id"</c> string (between its quotes), as OpenAI writes it first.</summary>
    private static bool TryFindId(ReadOnlySpan<byte> data, out int start, out int end)
    {
        start = end = 0;
        int at = data.IndexOf("\"id\":\""u8);
        if (at < 0)
        {
            return false;
        }

        start = at + 6;
        int length = data[start..].IndexOf((byte)'"');
        end = start + length;
        return length >= 0 && data[start..end].IndexOf((byte)'\\') < 0;
    }
}
