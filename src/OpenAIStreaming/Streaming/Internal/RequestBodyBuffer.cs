using System.Net.Http.Headers;
using System.Text.Json;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// Buffers a request body once (bounded) so every attempt can send it, and reads from it whether the request asks for a
/// stream (<c>"stream": true</c> at the top level of a JSON object; the <c>Accept</c> header is never consulted).
/// </summary>
internal static class RequestBodyBuffer
{
    /// <summary>The first buffer for a body of unknown length (as the official SDK sends): most chat requests are smaller.</summary>
    private const int InitialUnknownLength = 1024;

    /// <summary>The room past the body a kept buffer may have; more is trimmed, as an open stream holds the body for its whole life.</summary>
    private const int MaxKeptSlack = 256;

    /// <summary>
    /// The outcome of <see cref="PrepareAsync"/>: whether the body can be sent again, whether it asks for a stream, the
    /// buffered bytes (empty when there is no body or it was too large to buffer), its top-level <c>model</c>, and whether it
    /// asks for a background response (<c>"background": true</c>, which the server keeps and can stream again).
    /// </summary>
    public readonly record struct Result(bool IsReplayable, bool IsStream, ReadOnlyMemory<byte> Body = default, string? Model = null, bool IsBackground = false);

    public static async ValueTask<Result> PrepareAsync(HttpRequestMessage request, int maxBytes, CancellationToken cancellationToken)
    {
        HttpContent? content = request.Content;
        if (content is null)
        {
            return new Result(IsReplayable: true, IsStream: false);
        }

        ReadOnlyMemory<byte> body;
        if (content is BufferedContent buffered)
        {
            body = buffered.Body; // this library's own body, or one buffered before: read in place, nothing copied
            if (body.Length > maxBytes)
            {
                return new Result(IsReplayable: false, IsStream: false);
            }

            return Inspected(body);
        }

        if (content.Headers.ContentLength > maxBytes)
        {
            return new Result(IsReplayable: false, IsStream: false);
        }

        // The content writes itself into the buffer (as it would onto the connection), bounded as it writes: no second
        // copy, as reading it as a stream would first buffer a body that is not in memory, without a bound.
        var buffer = new BoundedBuffer((int)Math.Min(content.Headers.ContentLength ?? InitialUnknownLength, maxBytes) + 1, maxBytes);
        await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        body = buffer.Kept();

        // The copy replaces the content even when that is in memory and could be sent again: an open stream then holds
        // its body once (the response keeps the request), not twice.
        Replace(request, body);
        return Inspected(body);
    }

    private static Result Inspected(ReadOnlyMemory<byte> body)
    {
        (bool isStream, string? model, bool isBackground) = Inspect(body.Span);
        return new Result(IsReplayable: true, isStream, body, model, isBackground);
    }

    /// <summary>Makes <paramref name="body"/> the request's content, with the content headers it had (but its own length).</summary>
    public static void Replace(HttpRequestMessage request, ReadOnlyMemory<byte> body)
    {
        HttpContent content = request.Content!;
        var replacement = BufferedContent.Of(body);
        foreach (KeyValuePair<string, HeaderStringValues> header in content.Headers.NonValidated)
        {
            if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        request.Content = replacement;
        content.Dispose();
    }

    /// <summary>Whether the body is a JSON object whose top-level <c>stream</c> property is <c>true</c>.</summary>
    public static bool AsksForStream(ReadOnlySpan<byte> json) => Inspect(json).IsStream;

    /// <summary>
    /// Reads the top level of a JSON object body in one pass: whether its <c>stream</c> property is <c>true</c>, its
    /// <c>model</c>, and whether its <c>background</c> property is <c>true</c> (the last occurrence of each wins, as in most
    /// JSON parsers); false and null when it is not a JSON object.
    /// </summary>
    public static (bool IsStream, string? Model, bool IsBackground) Inspect(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (false, null, false);
            }

            bool isStream = false, isBackground = false;
            string? model = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isStreamProperty = reader.ValueTextEquals("stream"u8);
                bool isModelProperty = !isStreamProperty && reader.ValueTextEquals("model"u8);
                bool isBackgroundProperty = !isStreamProperty && !isModelProperty && reader.ValueTextEquals("background"u8);
                reader.Read();
                if (isStreamProperty)
                {
                    isStream = reader.TokenType == JsonTokenType.True;
                }
                else if (isBackgroundProperty)
                {
                    isBackground = reader.TokenType == JsonTokenType.True;
                }
                else if (isModelProperty)
                {
                    model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return (isStream, model, isBackground);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return (false, null, false);
        }
    }

    /// <summary>A write-only stream into one growing array, refusing more than the limit (with one byte over, to tell).</summary>
    private sealed class BoundedBuffer(int initialSize, int maxBytes) : Stream
    {
        private byte[] _buffer = new byte[initialSize];
        private int _length;

        public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

        /// <summary>The bytes written, in an array with little room past them: copied once more when the buffer grew well past the body.</summary>
        public ReadOnlyMemory<byte> Kept() =>
            _buffer.Length - _length > Math.Max(MaxKeptSlack, _length / 8) ? _buffer.AsSpan(0, _length).ToArray() : Written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if ((long)_length + buffer.Length > maxBytes)
            {
                throw new InvalidOperationException(
                    $"The request body is larger than MaxRequestBodyBytes ({maxBytes} bytes), so it cannot be buffered for retries. Raise the limit or send a Content-Length.");
            }

            if (_length + buffer.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, (int)Math.Min(Math.Max((long)_buffer.Length * 2, (long)_length + buffer.Length), maxBytes));
            }

            buffer.CopyTo(_buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }

            try
            {
                Write(buffer.Span);
                return ValueTask.CompletedTask;
            }
            catch (Exception ex)
            {
                return ValueTask.FromException(ex);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
