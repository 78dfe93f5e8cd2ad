namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// Follows the event boundaries of a server-sent event byte stream as it passes, without copying or decoding it: where
/// each event ends (the blank line after at least one <c>data</c> line, per the WHATWG rules: LF, CR or CRLF, a CR at the
/// end of one read and its LF at the start of the next being one line break) and how many bytes have passed since the last
/// event. It bounds a stream for readers that are not this library's (the official SDK reading through the handler): no
/// more than the maximum event size of data in one event (the values of its <c>data</c> lines joined by line feeds), and
/// no more than twice that from one event to the end of the next (<see cref="UndispatchedBytes"/>), as
/// <see cref="SseFramer"/> enforces for this library's own readers.
/// </summary>
internal sealed class SseEventBoundaryScanner
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    private readonly string? _requestId;
    private readonly int _maxEventSize;
    private bool _pendingCr;
    private int _bomMatched;
    private bool _bomChecked;
    private long _lineLength;
    private int _prefixMatched; // how much of "data:" the current line starts with; -1 when it is not a data line
    private bool _dataValueSpace; // the current data line's value starts with the space that is not part of it
    private bool _eventHasData;
    private long _eventDataBytes;
    private UndispatchedBytes _undispatched;

    public SseEventBoundaryScanner(int maxEventSize, string? requestId)
    {
        _undispatched = new UndispatchedBytes(maxEventSize);
        _maxEventSize = maxEventSize;
        _requestId = requestId;
    }

    /// <summary>Gets the number of complete events seen so far.</summary>
    public long EventCount { get; private set; }

    /// <summary>
    /// Follows <paramref name="bytes"/>, the next bytes of the stream. Returns the offset just after the last event that
    /// ends in them, or −1 when none does.
    /// </summary>
    /// <exception cref="OpenAIStreamProtocolException">The stream has sent more than the bound without completing an event.</exception>
    public int Scan(ReadOnlySpan<byte> bytes)
    {
        int boundary = -1;
        int i = 0;
        if (!_bomChecked)
        {
            i = SkipBom(bytes);
        }

        if (_pendingCr && i < bytes.Length)
        {
            _pendingCr = false;
            if (bytes[i] == Lf)
            {
                i++; // the second half of a CRLF split across reads
            }
        }

        while (i < bytes.Length)
        {
            int found = bytes[i..].IndexOfAny(Cr, Lf);
            int end = found < 0 ? bytes.Length : i + found;
            MatchLineStart(bytes[i..end]);
            if (found < 0)
            {
                Count(end - i);
                break;
            }

            int next = end + 1;
            if (bytes[end] == Cr)
            {
                if (next < bytes.Length)
                {
                    if (bytes[next] == Lf)
                    {
                        next++;
                    }
                }
                else
                {
                    _pendingCr = true;
                }
            }

            Count(next - i);
            if (EndLine())
            {
                boundary = next;
            }

            i = next;
        }

        return boundary;
    }

    private int SkipBom(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        int i = 0;
        while (i < bytes.Length && _bomMatched < bom.Length && bytes[i] == bom[_bomMatched])
        {
            _bomMatched++;
            i++;
        }

        if (_bomMatched == bom.Length || i < bytes.Length)
        {
            _bomChecked = true; // a whole BOM was skipped, or the stream does not start with one
        }

        return i;
    }

    /// <summary>Follows the first bytes of a line, which say whether it is a <c>data</c> line (<c>data</c> alone, or <c>data:</c>…).</summary>
    private void MatchLineStart(ReadOnlySpan<byte> content)
    {
        ReadOnlySpan<byte> prefix = "data:"u8;
        for (int j = 0; j < content.Length && _prefixMatched >= 0 && _prefixMatched < prefix.Length && _lineLength + j == _prefixMatched; j++)
        {
            _prefixMatched = content[j] == prefix[_prefixMatched] ? _prefixMatched + 1 : -1;
        }

        long spaceAt = prefix.Length - _lineLength;
        if (_prefixMatched == prefix.Length && spaceAt >= 0 && spaceAt < content.Length)
        {
            _dataValueSpace = content[(int)spaceAt] == (byte)' ';
        }

        _lineLength += content.Length;
    }

    /// <summary>Ends the current line; returns whether it was the blank line that ends an event.</summary>
    private bool EndLine()
    {
        bool blank = _lineLength == 0;
        bool isData = _prefixMatched == 5 || (_prefixMatched == 4 && _lineLength == 4);
        long value = _prefixMatched == 5 ? _lineLength - 5 - (_dataValueSpace ? 1 : 0) : 0;
        _lineLength = 0;
        _prefixMatched = 0;
        _dataValueSpace = false;
        if (isData)
        {
            _eventDataBytes += (_eventHasData ? 1 : 0) + value; // lines after the first are joined by a line feed
            _eventHasData = true;
            if (_eventDataBytes > _maxEventSize)
            {
                throw new OpenAIStreamProtocolException(
                    $"A server-sent event is larger than the maximum event size of {_maxEventSize} bytes.", EventCount, requestId: _requestId);
            }

            return false;
        }

        if (blank && _eventHasData)
        {
            _eventHasData = false;
            _eventDataBytes = 0;
            _undispatched.Reset();
            EventCount++;
            return true;
        }

        return false;
    }

    private void Count(long bytes) => _undispatched.Add(bytes, EventCount, _requestId);
}
