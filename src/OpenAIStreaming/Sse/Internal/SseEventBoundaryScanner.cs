namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// Follows the event boundaries of a server-sent event byte stream as it passes, without copying or decoding it: where
/// each event ends (the blank line after at least one <c>data</c> line, per the WHATWG rules: LF, CR or CRLF, a CR at the
/// end of one read and its LF at the start of the next being one line break) and how many bytes have passed since the last
/// event. It bounds a stream for readers that are not this library's (the official SDK reading through the handler): no
/// more than the maximum event size of data in one event (the values of its <c>data</c> lines joined by line feeds), and
/// no more than twice that from one event to the end of the next (<see cref="UndispatchedBytes"/>), as
/// <see cref="SseFramer"/> enforces for this library's own readers. It also notes whether the stream sent its end: a
/// <c>data: [DONE]</c> event (Chat Completions) or a terminal Responses event (<c>response.completed</c>,
/// <c>response.incomplete</c>, <c>response.failed</c>, <c>error</c>).
/// </summary>
internal sealed class SseEventBoundaryScanner
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const int LineHeadSize = 32;

    private readonly string? _requestId;
    private readonly int _maxEventSize;
    private bool _pendingCr;
    private int _bomMatched;
    private bool _bomChecked;
    private readonly byte[] _lineHead = new byte[LineHeadSize]; // the first bytes of the current line, enough to know what it is
    private long _lineLength;
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

    /// <summary>Gets a value indicating whether the stream sent its end: <c>[DONE]</c> or a terminal Responses event.</summary>
    public bool SawEnd { get; private set; }

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

    /// <summary>Keeps the first bytes of the current line (what kind of line it is shows there).</summary>
    private void MatchLineStart(ReadOnlySpan<byte> content)
    {
        if (_lineLength < LineHeadSize)
        {
            int take = (int)Math.Min(content.Length, LineHeadSize - _lineLength);
            content[..take].CopyTo(_lineHead.AsSpan((int)_lineLength));
        }

        _lineLength += content.Length;
    }

    /// <summary>Ends the current line; returns whether it was the blank line that ends an event.</summary>
    private bool EndLine()
    {
        long length = _lineLength;
        ReadOnlySpan<byte> head = _lineHead.AsSpan(0, (int)Math.Min(length, LineHeadSize));
        _lineLength = 0;
        if (length >= 4 && head.StartsWith("data"u8) && (length == 4 || head[4] == (byte)':'))
        {
            // The value: after "data:" and the one space that may follow it.
            bool space = length > 5 && head[5] == (byte)' ';
            long value = length <= 5 ? 0 : length - 5 - (space ? 1 : 0);
            if (value == 6 && head[(space ? 6 : 5)..].StartsWith("[DONE]"u8))
            {
                SawEnd = true;
            }

            _eventDataBytes += (_eventHasData ? 1 : 0) + value; // lines after the first are joined by a line feed
            _eventHasData = true;
            if (_eventDataBytes > _maxEventSize)
            {
                throw new OpenAIStreamProtocolException(
                    $"A server-sent event is larger than the maximum event size of {_maxEventSize} bytes.", EventCount, requestId: _requestId);
            }

            return false;
        }

        if (length > 6 && length <= LineHeadSize && head.StartsWith("event:"u8) && IsTerminalEventType(head[6..].TrimStart((byte)' ')))
        {
            SawEnd = true;
        }

        if (length == 0 && _eventHasData)
        {
            _eventHasData = false;
            _eventDataBytes = 0;
            _undispatched.Reset();
            EventCount++;
            return true;
        }

        return false;
    }

    private static bool IsTerminalEventType(ReadOnlySpan<byte> type) =>
        type.SequenceEqual("response.completed"u8) || type.SequenceEqual("response.incomplete"u8)
        || type.SequenceEqual("response.failed"u8) || type.SequenceEqual("error"u8);

    private void Count(long bytes) => _undispatched.Add(bytes, EventCount, _requestId);
}
