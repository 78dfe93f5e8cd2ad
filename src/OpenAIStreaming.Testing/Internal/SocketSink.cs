using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Writes the HTTP/1.1 response (head and chunks) straight to the connection's socket. Kestrel's abort drops
/// output it has not sent yet, so a stream that must break after K events writes here instead: once a send
/// completes the bytes are in the kernel, and <see cref="BreakAsync"/> half-closes the socket (FIN after the data,
/// no terminating chunk), then holds the request until the client has gone or the server stops. The same socket
/// carries framing Kestrel would never write, such as a malformed chunk header.
/// </summary>
internal sealed class SocketSink(HttpContext context, Socket socket, TimeProvider timeProvider) : IStreamSink
{
    /// <summary>A socket sink when Kestrel exposes the socket, else a <see cref="KestrelSink"/>.</summary>
    public static IStreamSink For(HttpContext context, TimeProvider timeProvider) =>
        context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket
            ? new SocketSink(context, socket, timeProvider)
            : new KestrelSink(context);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        HttpResponse response = context.Response;
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.StatusCode} {ReasonPhrase(response.StatusCode)}\r\n");
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in response.Headers)
        {
            foreach (string? value in header.Value)
            {
                head.Append(header.Key).Append(": ").Append(value).Append("\r\n");
            }
        }

        head.Append("Transfer-Encoding: chunked\r\n\r\n");
        await SendAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        byte[] size = Encoding.ASCII.GetBytes(bytes.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
        byte[] chunk = new byte[size.Length + bytes.Length + 2];
        size.CopyTo(chunk, 0);
        bytes.Span.CopyTo(chunk.AsSpan(size.Length));
        chunk[^2] = (byte)'\r';
        chunk[^1] = (byte)'\n';
        await SendAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

    public Task WritePaddingAsync(CancellationToken cancellationToken) => WriteAsync(SinkBytes.BlankLines, cancellationToken);

    /// <summary>Sends the terminating chunk, then closes like <see cref="BreakAsync"/>: Kestrel must not write after the bytes sent here.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await SendAsync(SinkBytes.LastChunk, cancellationToken).ConfigureAwait(false);
        await BreakAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task MalformedChunkAsync(CancellationToken cancellationToken)
    {
        await SendAsync(SinkBytes.MalformedChunkHeader, cancellationToken).ConfigureAwait(false);
        await BreakAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task ResetAsync(CancellationToken cancellationToken)
    {
        socket.LingerState = new LingerOption(enable: true, seconds: 0); // closing with a zero linger sends RST, not FIN
        socket.Close();
        await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, cancellationToken).ConfigureAwait(false);
    }

    public async Task BreakAsync(CancellationToken cancellationToken)
    {
        socket.Shutdown(SocketShutdown.Send);
        await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    private static string ReasonPhrase(int status) => status == 200 ? "OK" : ReasonPhrases.GetReasonPhrase(status);
}
