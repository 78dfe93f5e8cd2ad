using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Writes through Kestrel: unbuffered, flushed after every write. Used by every stream that ends normally.</summary>
internal sealed class KestrelSink(HttpContext context) : IStreamSink
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(cancellationToken).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await context.Response.Body.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task WritePaddingAsync(CancellationToken cancellationToken) => WriteAsync(SinkBytes.BlankLines, cancellationToken);

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task BreakAsync(CancellationToken cancellationToken)
    {
        context.Abort();
        return Task.CompletedTask;
    }

    public Task ResetAsync(CancellationToken cancellationToken) => BreakAsync(cancellationToken);

    /// <summary>Kestrel frames every write itself, so the best it can do is break the connection.</summary>
    public Task MalformedChunkAsync(CancellationToken cancellationToken) => BreakAsync(cancellationToken);
}
