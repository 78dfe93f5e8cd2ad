using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>
/// The fast path for the common chunk: the same bytes as the previous fully parsed chunk except for the JSON string
/// value of <c>delta.content</c> — or, for a chunk of a tool call's arguments, of its <c>function.arguments</c> — (and, in
/// newer streams, of <c>obfuscation</c>).
/// </summary>
/// <remarks>
/// A chunk whose bytes equal the template's outside those string literals has the same JSON meaning as the template with
/// another content string, so its update is the template's update with the new text: exact, not a heuristic. Anything
/// else (another shape, an escape the fast decoder does not take, invalid text) goes to the full parser.
/// </remarks>
internal sealed class ChatChunkTemplate : IDisposable
{
    private const int MaxTemplateLength = 4096;
    private const int MaxStackChars = 512;

    // What ends a run of plain string bytes: a quote, a backslash, a control character (and, first, any non-ASCII byte).
    private static readonly SearchValues<byte> AsciiLiteralStops = CreateStops(nonAscii: true);
    private static readonly SearchValues<byte> LiteralStops = CreateStops(nonAscii: false);
    private byte[]? _bytes;
    private int _length;
    private int _contentStart;
    private int _contentEnd;
    private int _skipStart = -1;
    private int _skipEnd;
    private bool _hasLineBreak;
    private bool _isArguments; // the literal that varies is the one tool call's arguments, not the content
    private ChatCompletionUpdate _update;

    public bool IsSet => _length > 0;

    public void Clear()
    {
        _length = 0;
        _isArguments = false;
    }

    /// <summary>Remembers a fully parsed chunk. Positions are of the string literals, quotes included.</summary>
    public void Set(ReadOnlySpan<byte> data, int contentStart, int contentEnd, int skipStart, int skipEnd, in ChatCompletionUpdate update, bool isArguments = false)
    {
        if (data.Length > MaxTemplateLength)
        {
            Clear();
            return;
        }

        _isArguments = isArguments;

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
    public bool TryMatch(ReadOnlySpan<byte> data, out ChatCompletionUpdate update)
    {
        if (TryMatch(data, terminator: default, wholeData: true, out string? text, out _))
        {
            update = WithValue(text);
            return true;
        }

        update = default;
        return false;
    }

    /// <summary>
    /// Matches the start of <paramref name="text"/> against a template without CR or LF (so the matched chunk is one line of
    /// text) when <paramref name="terminator"/> follows the matched chunk; <paramref name="length"/> is the chunk's length.
    /// The chunk's update is <see cref="WithValue"/> of <paramref name="content"/>.
    /// </summary>
    public bool TryMatchLine(ReadOnlySpan<byte> text, ReadOnlySpan<byte> terminator, [NotNullWhen(true)] out string? content, out int length)
    {
        if (_hasLineBreak)
        {
            content = null;
            length = 0;
            return false;
        }

        return TryMatch(text, terminator, wholeData: false, out content, out length);
    }

    /// <summary>Gets whether the literal that varies is a tool call's arguments (<see cref="WithValue"/> makes a new tool call update).</summary>
    public bool IsArguments => _isArguments;

    /// <summary>The update of a chunk matched by <c>TryMatchLine</c>: the template's with another content (or arguments).</summary>
    public ChatCompletionUpdate WithValue(string value) => _isArguments ? _update.WithArgumentsDelta(value) : _update.WithText(value);

    public void Dispose()
    {
        if (_bytes is not null)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = null;
        }

        _length = 0;
    }

    /// <summary>
    /// <see cref="TryMatchLine(ReadOnlySpan{byte}, ReadOnlySpan{byte}, out string?, out int)"/> with the content decoded into
    /// <paramref name="destination"/> (<paramref name="written"/> chars) instead of a string: false as well when it does not fit.
    /// </summary>
    public bool TryMatchLine(ReadOnlySpan<byte> text, ReadOnlySpan<byte> terminator, Span<char> destination, out int written, out int length)
    {
        written = 0;
        if (_hasLineBreak || _isArguments || !TryMatchLiteral(text, terminator, wholeData: false, out ReadOnlySpan<byte> literal, out LiteralKind kind, out length))
        {
            length = 0;
            return false;
        }

        if (!TryDecodeLiteral(literal, kind, destination, out written))
        {
            length = 0;
            return false;
        }

        return true;
    }

    private bool TryMatch(ReadOnlySpan<byte> data, ReadOnlySpan<byte> terminator, bool wholeData, [NotNullWhen(true)] out string? text, out int length)
    {
        text = null;
        if (!TryMatchLiteral(data, terminator, wholeData, out ReadOnlySpan<byte> literal, out LiteralKind kind, out length) || !TryDecodeLiteral(literal, kind, out text))
        {
            text = null;
            length = 0;
            return false;
        }

        return true;
    }

    /// <summary>Matches the data against the template; on a match, gives the content's string literal (quotes included) and what it holds.</summary>
    private bool TryMatchLiteral(ReadOnlySpan<byte> data, ReadOnlySpan<byte> terminator, bool wholeData, out ReadOnlySpan<byte> literal, out LiteralKind contentKind, out int length)
    {
        literal = default;
        contentKind = LiteralKind.Ascii;
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
            int literalEnd = FindStringLiteralEnd(data, dataPos, out LiteralKind kind);
            if (literalEnd < 0)
            {
                return false;
            }

            if (isContent)
            {
                content = data[dataPos..literalEnd];
                contentKind = kind;
            }

            dataPos = literalEnd;
            templatePos = holeEnd;
        }

        ReadOnlySpan<byte> rest = data[dataPos..];
        ReadOnlySpan<byte> suffix = template[templatePos..];
        bool matched = wholeData
            ? rest.SequenceEqual(suffix)
            : rest.StartsWith(suffix) && rest[suffix.Length..].StartsWith(terminator);
        if (!matched)
        {
            return false;
        }

        literal = content;
        length = dataPos + suffix.Length;
        return true;
    }

    /// <summary>
    /// The length of the escape whose backslash precedes <paramref name="escaped"/> (backslash included): 2 for
    /// <c>\" \\ \/ \b \f \n \r \t</c>, 6 for <c>\u</c> and four hex digits, 0 for anything JSON does not allow — so a
    /// literal the fast path accepts is one <see cref="System.Text.Json.Utf8JsonReader"/> accepts too.
    /// </summary>
    private static int EscapeLength(ReadOnlySpan<byte> escaped)
    {
        if (escaped.IsEmpty)
        {
            return 0;
        }

        switch (escaped[0])
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                return 2;
            case (byte)'u' when escaped.Length >= 5 && !escaped[1..5].ContainsAnyExcept(HexDigits):
                return 6;
            default:
                return 0;
        }
    }

    /// <summary>
    /// Returns the index just after the closing quote of the string literal starting at <paramref name="start"/>, or −1
    /// when there is none or the literal holds a raw control character or an escape JSON does not allow (never valid JSON). <paramref name="kind"/> tells
    /// what the literal holds, so it is decoded without another scan.
    /// </summary>
    private static int FindStringLiteralEnd(ReadOnlySpan<byte> data, int start, out LiteralKind kind)
    {
        kind = LiteralKind.Ascii;
        if (start >= data.Length || data[start] != (byte)'"')
        {
            return -1;
        }

        int position = start + 1;
        int found = data[position..].IndexOfAny(AsciiLiteralStops);
        while (found >= 0)
        {
            position += found;
            byte stop = data[position];
            if (stop == (byte)'"')
            {
                return position + 1;
            }

            if (stop < 0x20)
            {
                return -1;
            }

            if (stop == (byte)'\\')
            {
                kind = LiteralKind.Escaped;
                int length = EscapeLength(data[(position + 1)..]);
                if (length == 0)
                {
                    return -1; // not a JSON escape: the general parser reports it
                }

                position += length;
            }
            else if (kind == LiteralKind.Ascii)
            {
                kind = LiteralKind.Utf8; // the first byte of a non-ASCII character; from here only quotes, escapes and controls stop
            }

            found = position < data.Length ? data[position..].IndexOfAny(LiteralStops) : -1;
        }

        return -1;
    }

    private static bool TryDecodeLiteral(ReadOnlySpan<byte> literal, LiteralKind kind, [NotNullWhen(true)] out string? text)
    {
        ReadOnlySpan<byte> inner = literal[1..^1];
        if (kind == LiteralKind.Ascii)
        {
            text = inner.IsEmpty ? string.Empty : Encoding.Latin1.GetString(inner); // ASCII: every byte is its char
            return true;
        }

        if (kind == LiteralKind.Utf8)
        {
            if (inner.Length <= MaxStackChars)
            {
                Span<char> chars = stackalloc char[inner.Length];
                if (Utf8.ToUtf16(inner, chars, out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
                {
                    text = string.Empty;
                    return false;
                }

                text = new string(chars[..written]);
                return true;
            }

            if (!Utf8.IsValid(inner))
            {
                text = string.Empty;
                return false;
            }

            text = Encoding.UTF8.GetString(inner);
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

    /// <summary>Decodes a string literal (quotes included) into <paramref name="destination"/>; false when it does not fit or is not valid.</summary>
    private static bool TryDecodeLiteral(ReadOnlySpan<byte> literal, LiteralKind kind, Span<char> destination, out int written)
    {
        ReadOnlySpan<byte> inner = literal[1..^1];
        written = 0;
        if (inner.Length > destination.Length)
        {
            return false; // an unescaped literal has at least as many bytes as chars; an escaped one too
        }

        if (kind == LiteralKind.Ascii)
        {
            return System.Text.Ascii.ToUtf16(inner, destination, out written) == OperationStatus.Done;
        }

        if (kind == LiteralKind.Utf8)
        {
            return Utf8.ToUtf16(inner, destination, out _, out written, replaceInvalidSequences: false) == OperationStatus.Done;
        }

        try
        {
            var reader = new Utf8JsonReader(literal);
            reader.Read();
            written = reader.CopyString(destination);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    private static SearchValues<byte> CreateStops(bool nonAscii)
    {
        var stops = new List<byte> { (byte)'"', (byte)'\\' };
        for (int b = 0; b < 0x20; b++)
        {
            stops.Add((byte)b);
        }

        for (int b = 0x80; nonAscii && b <= 0xFF; b++)
        {
            stops.Add((byte)b);
        }

        return SearchValues.Create(stops.ToArray());
    }

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    /// <summary>What a string literal holds, as far as decoding it goes.</summary>
    private enum LiteralKind
    {
        /// <summary>Only ASCII characters that need no escape.</summary>
        Ascii,

        /// <summary>Raw UTF-8 (to validate), no escape.</summary>
        Utf8,

        /// <summary>At least one escape: decoded by the JSON reader.</summary>
        Escaped,
    }
}
