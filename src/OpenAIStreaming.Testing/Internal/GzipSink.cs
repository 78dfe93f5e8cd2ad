using System.IO.Compression;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Compresses what is written with gzip before handing it to the sink below, with a sync flush after every write so the
/// client can decode each event as it arrives; can also turn the compressed data to garbage part-way.
/// </summary>
internal sealed class GzipSink : IStreamSink, IAsyncDisposable
{
    private readonly IStreamSink _inner;
    private readonly MemoryStream _compressed = new();
    private readonly GZipStream _gzip;
    private bool _written;

    public GzipSink(IStreamSink inner)
    {
        _inner = inner;
        _gzip = new GZipStream(_compressed, CompressionLevel.Optimal, leaveOpen: true);
    }

    /// <summary>The gzip file of <paramref name="body"/>, or (<paramref name="corrupt"/>) bytes that are no gzip data at all.</summary>
    public static byte[] Compress(byte[] body, bool corrupt)
    {
        if (corrupt)
        {
            return SinkBytes.NotDeflate;
        }

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(body);
        }

        return compressed.ToArray();
    }

    public Task StartAsync(CancellationToken cancellationToken) => _inner.StartAsync(cancellationToken);

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        await _gzip.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await _gzip.FlushAsync(cancellationToken).ConfigureAwait(false);
        _written = true;
        await SendCompressedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Empty stored blocks, written past the compressor: valid right after the sync flush that ends every write (before the first write there is no gzip header yet, so nothing is sent).</summary>
    public Task WritePaddingAsync(CancellationToken cancellationToken) =>
        _written ? _inner.WriteAsync(SinkBytes.EmptyDeflateBlocks, cancellationToken) : Task.CompletedTask;

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await _gzip.DisposeAsync().ConfigureAwait(false);
        await SendCompressedAsync(cancellationToken).ConfigureAwait(false);
        await _inner.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Padding (when anything was sent), then bytes that are not deflate data, then the normal end of the body.</summary>
    public async Task CorruptAsync(CancellationToken cancellationToken)
    {
        await WritePaddingAsync(cancellationToken).ConfigureAwait(false);
        await _inner.WriteAsync(SinkBytes.NotDeflate, cancellationToken).ConfigureAwait(false);
        await _inner.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task BreakAsync(CancellationToken cancellationToken) => _inner.BreakAsync(cancellationToken);

    public Task ResetAsync(CancellationToken cancellationToken) => _inner.ResetAsync(cancellationToken);

    public Task MalformedChunkAsync(CancellationToken cancellationToken) => _inner.MalformedChunkAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _gzip.DisposeAsync().ConfigureAwait(false);
        await _compressed.DisposeAsync().ConfigureAwait(false);
    }

    private async Task SendCompressedAsync(CancellationToken cancellationToken)
    {
        if (_compressed.Length == 0)
        {
            return;
        }

        ReadOnlyMemory<byte> bytes = _compressed.GetBuffer().AsMemory(0, (int)_compressed.Length);
        await _inner.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        _compressed.SetLength(0);
    }
}
