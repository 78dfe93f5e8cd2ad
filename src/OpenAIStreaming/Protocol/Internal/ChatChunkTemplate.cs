using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>
/// The fast path for the common chunk: the same bytes as the previous fully parsed chunk except for the JSON string
/// value of <c>delta.content</c> (and, in newer streams, of <c>obfuscation</c>).
/// </summary>
/// <remarks>
/// A chunk whose bytes equal the template's outside those string literals has the same JSON meaning as the template with
/// another content string, so its update is the template's update with the new text: exact, not a heuristic. Anything
/// else (another shape, an escape the fast decoder does not take, invalid text) goes to the full parser.
/// </remarks>
internal sealed class ChatChunkTemplate : IDisposable
{
    private const int MaxTemplateLength = 4096;
    private byte[]? _bytes;
    private int _length;
    private int _contentStart;
    private int _contentEnd;
    private int _skipStart = -1;
    private int _skipEnd;
    private bool _hasLineBreak;
    private ChatCompletionUpdate _update;

    public bool IsSet => _length > 0;

    public void Clear() => _length = 0;

    /// <summary>Remembers a fully parsed chunk. Positions are of the string literals, quotes included.</summary>
    public void Set(ReadOnlySpan<byte> data, int contentStart, int contentEnd, int skipStart, int skipEnd, in ChatCompletionUpdate update)
    {
        if (data.Length > MaxTemplateLength)
        {
            _length = 0;
            return;
        }

        if (_bytes is null || _bytes.Length < data.Length)
        {
            if (_bytes is not null)
            {
                ArrayPool<byte>.Shared.Return(_bytes);
            }

            _bytes = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, 512));
        }

        data.CopyTo(_bytes);
        _length = data.Length;
        _contentStart = contentStart;
        _contentEnd = contentEnd;
        _skipStart = skipStart;
        _skipEnd = skipEnd;
        _hasLineBreak = data.IndexOfAny((byte)'\r', (byte)'\n') >= 0;
        _update = update;
    }

    /// <summary>Matches <paramref name="data"/>, all of it, against the template.</summary>
    public bool TryMatch(ReadOnlySpan<byte> data, out ChatCompletionUpdate update) =>
        TryMatch(data, terminator: default, wholeData: true, out update, out _);

    /// <summary>
    /// Matches the start of <paramref name="text"/> against a template without CR or LF (so the matched chunk is one line of
    /// text) when <paramref name="terminator"/> follows the matched chunk; <paramref name="length"/> is the chunk's length.
    /// </summary>
    public bool TryMatchLine(ReadOnlySpan<byte> text, ReadOnlySpan<byte> terminator, out ChatCompletionUpdate update, out int length)
    {
        if (_hasLineBreak)
        {
            update = default;
            length = 0;
            return false;
        }

        return TryMatch(text, terminator, wholeData: false, out update, out length);
    }

    public void Dispose()
    {
        if (_bytes is not null)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = null;
        }

        _length = 0;
    }

    private bool TryMatch(ReadOnlySpan<byte> data, ReadOnlySpan<byte> terminator, bool wholeData, out ChatCompletionUpdate update, out int length)
    {
        update = default;
        length = 0;
        if (_length == 0)
        {
            return false;
        }

        ReadOnlySpan<byte> template = _bytes.AsSpan(0, _length);
        int dataPos = 0;
        int templatePos = 0;
        ReadOnlySpan<byte> content = default;

        // Holes in order of position: the content literal (captured) and the optional obfuscation literal (ignored).
        bool skipFirst = _skipStart >= 0 && _skipStart < _contentStart;
        for (int hole = 0; hole < 2; hole++)
        {
            bool isContent = hole == (skipFirst ? 1 : 0);
            int holeStart = isContent ? _contentStart : _skipStart;
            int holeEnd = isContent ? _contentEnd : _skipEnd;
            if (holeStart < 0)
            {
                continue;
            }

            int fixedLength = holeStart - templatePos;
            if (data.Length - dataPos < fixedLength || !data.Slice(dataPos, fixedLength).SequenceEqual(template.Slice(templatePos, fixedLength)))
            {
                return false;
            }

            dataPos += fixedLength;
            int literalEnd = FindStringLiteralEnd(data, dataPos);
            if (literalEnd < 0)
            {
                return false;
            }

            if (isContent)
            {
                content = data[dataPos..literalEnd];
            }
            else if (data[dataPos..literalEnd].IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0)
            {
                return false;
            }

            dataPos = literalEnd;
            templatePos = holeEnd;
        }

        ReadOnlySpan<byte> rest = data[dataPos..];
        ReadOnlySpan<byte> suffix = template[templatePos..];
        bool matched = wholeData
            ? rest.SequenceEqual(suffix)
            : rest.StartsWith(suffix) && rest[suffix.Length..].StartsWith(terminator);
        if (!matched || !TryDecodeLiteral(content, out string? text))
        {
            return false;
        }

        length = dataPos + suffix.Length;
        update = _update.WithText(text);
        return true;
    }

    /// <summary>Returns the index just after the closing quote of the string literal starting at <paramref name="start"/>, or −1.</summary>
    private static int FindStringLiteralEnd(ReadOnlySpan<byte> data, int start)
    {
        if (start >= data.Length || data[start] != (byte)'"')
        {
            return -1;
        }

        int position = start + 1;
        while (position < data.Length)
        {
            int found = data[position..].IndexOfAny((byte)'"', (byte)'\\');
            if (found < 0)
            {
                return -1;
            }

            position += found;
            if (data[position] == (byte)'"')
            {
                return position + 1;
            }

            position += 2; // a backslash and the character it escapes
        }

        return -1;
    }

    private static bool TryDecodeLiteral(ReadOnlySpan<byte> literal, out string text)
    {
        ReadOnlySpan<byte> inner = literal[1..^1];
        if (inner.IndexOf((byte)'\\') < 0)
        {
            if (inner.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || !Utf8.IsValid(inner))
            {
                text = string.Empty;
                return false;
            }

            text = inner.IsEmpty ? string.Empty : Encoding.UTF8.GetString(inner);
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(literal);
            reader.Read();
            text = reader.GetString()!;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            text = string.Empty;
            return false;
        }
    }
}
