using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using OpenAIStreaming.Sse;

namespace OpenAIStreaming.Tests.Support;

/// <summary>Runs <c>ReadServerSentEventsAsync</c> over bytes cut by a <see cref="Chunking"/> and copies every event out.</summary>
public static class SseReading
{
    public static Task<List<SseRecord>> ReadAllAsync(
        string text,
        Chunking chunking,
        ServerSentEventReaderOptions? options = null,
        SseEntryPoint entryPoint = SseEntryPoint.Stream) =>
        ReadAllAsync(Encoding.UTF8.GetBytes(text), chunking, options, entryPoint);

    public static Task<List<SseRecord>> ReadAllAsync(
        byte[] bytes,
        Chunking chunking,
        ServerSentEventReaderOptions? options = null,
        SseEntryPoint entryPoint = SseEntryPoint.Stream) =>
        ReadAllAsync(bytes, chunking, Copy, options, entryPoint);

    /// <summary>Reads every event and maps it with <paramref name="copy"/> while it is still valid.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(
        byte[] bytes,
        Chunking chunking,
        Func<ServerSentEvent, T> copy,
        ServerSentEventReaderOptions? options = null,
        SseEntryPoint entryPoint = SseEntryPoint.Stream)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        await using ChunkedStream stream = chunking.Open(bytes);
        var items = new List<T>();
        await foreach (ServerSentEvent e in ReadAsync(stream, entryPoint, options, guard.Token))
        {
            items.Add(copy(e));
        }

        return items;
    }

    /// <summary>Reads to the end or to the first exception, copying each event; the body may hang at its end.</summary>
    public static async Task<Captured<SseRecord>> CaptureAsync(
        string text,
        Chunking chunking,
        ServerSentEventReaderOptions? options,
        StreamEnd end = StreamEnd.Eof)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        await using ChunkedStream stream = chunking.Open(Encoding.UTF8.GetBytes(text), end);
        return await ReadAsync(stream, SseEntryPoint.Stream, options, guard.Token).CaptureAsync(Copy);
    }

    /// <summary>Enumerates the events of <paramref name="stream"/> through the chosen entry point.</summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(
        Stream stream,
        SseEntryPoint entryPoint,
        ServerSentEventReaderOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        switch (entryPoint)
        {
            case SseEntryPoint.Stream:
                await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(options, cancellationToken))
                {
                    yield return e;
                }

                break;
            case SseEntryPoint.PipeReader:
                PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
                try
                {
                    await foreach (ServerSentEvent e in reader.ReadServerSentEventsAsync(options, cancellationToken))
                    {
                        yield return e;
                    }
                }
                finally
                {
                    await reader.CompleteAsync();
                }

                break;
            default:
                using (var content = new StreamContent(stream))
                {
                    content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream") { CharSet = "utf-8" };
                    await foreach (ServerSentEvent e in content.ReadServerSentEventsAsync(options, cancellationToken))
                    {
                        yield return e;
                    }
                }

                break;
        }
    }

    /// <summary>Copies an event, checking on the way that <c>GetDataString()</c> is the UTF-8 decoding of <c>Data</c>.</summary>
    public static SseRecord Copy(ServerSentEvent e)
    {
        string data = e.GetDataString();
        data.Should().Be(Encoding.UTF8.GetString(e.Data.Span), "GetDataString() decodes Data as UTF-8");
        return new SseRecord(e.EventType, data, e.LastEventId, e.ReconnectionInterval);
    }
}
