using System.Buffers;
using System.Buffers.Text;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Sse.Internal;

/// <summary>
/// The WHATWG event-stream interpretation over bytes: splits lines on LF, CR or CRLF, strips a leading BOM, applies the
/// <c>event</c>/<c>data</c>/<c>id</c>/<c>retry</c> fields and dispatches an event on each blank line.
/// </summary>
/// <remarks>
/// <para>The framer consumes complete lines from the front of a buffer. Event data of a single <c>data:</c> line that lies in
/// one buffer segment is handed out without copying; anything else is assembled in one pooled buffer. Before the caller
/// releases its buffer (<see cref="PrepareForRelease"/>) a borrowed line is copied, so nothing refers to released memory.</para>
/// <para>A CR that ends the available bytes ends the line at once (so the event is not delayed); an LF that then starts the
/// next read is recognised as the second half of that CRLF and skipped. A line without a terminator stays in the caller's
/// buffer; the framer remembers how much of it has been searched so a long line delivered in small reads is scanned once.</para>
/// </remarks>
internal sealed class SseFramer : IDisposable
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const int BomLength = 3;

    private readonly int _maxEventSize;
    private readonly string? _requestId;
    private readonly Utf8StringCache _eventTypes = new(16, strict: false); // the event-stream rules decode with replacement

    private bool _bomChecked;
    private bool _skipLeadingLf;
    private bool _lastLineEndedWithCrLf; // the terminator of the last line consumed was CR LF (else LF, or a lone CR)
    private long _searched;
    private UndispatchedBytes _undispatched; // complete lines consumed since the last dispatch

    // The event being assembled.
    private ReadOnlyMemory<byte> _borrowedData;
    private bool _hasBorrowedData;
    private byte[]? _dataBuffer;
    private int _dataLength;
    private bool _hasData;
    private string? _eventType;

    private byte[]? _lineBuffer;
    private byte[]? _lastEventIdBytes;
    private string? _lastEventId;
    private TimeSpan? _reconnectionInterval;

    public SseFramer(int maxEventSize, string? requestId = null)
    {
        _maxEventSize = maxEventSize;
        _undispatched = new UndispatchedBytes(maxEventSize);
        _requestId = requestId;
    }

    /// <summary>Gets the number of events dispatched so far.</summary>
    public long EventCount { get; private set; }


    /// <summary>
    /// Gets whether the framer stands between events with nothing pending (no field of an event, no half CRLF), so an event
    /// made of one <c>data: </c> line and a blank line is framed as its value alone. The line at the front may have been
    /// searched in part before (it arrived in pieces): a caller that frames it does so from its start.
    /// </summary>
    public bool IsBetweenEvents => _bomChecked && !_skipLeadingLf && !_hasData && _eventType is null;

    /// <summary>
    /// Gets whether the last line consumed ended with CR LF, as every line of a stream that uses CRLF line ends does: a
    /// caller that frames the next event itself expects the same line ends (and leaves any other to the framer).
    /// </summary>
    public bool LastLineEndedWithCrLf => _lastLineEndedWithCrLf;

    /// <summary>Counts <paramref name="count"/> events framed before this framer took over the stream, so indexes go on from them.</summary>
    public void SkipEvents(int count) => EventCount += count;

    /// <summary>Counts an event a caller framed itself while <see cref="IsBetweenEvents"/>, after the same size check.</summary>
    public void CountFramedEvent(int dataLength)
    {
        CheckSize(dataLength);
        _searched = 0;
        _undispatched.Reset();
        EventCount++;
    }

    /// <summary>
    /// Consumes lines from the front of <paramref name="buffer"/> until an event is dispatched (returns true) or no complete
    /// line is left (returns false; <paramref name="buffer"/> then holds only the unterminated rest).
    /// </summary>
    public bool TryReadEvent(ref ReadOnlySequence<byte> buffer, bool isFinalBlock, out ServerSentEvent sseEvent)
    {
        if (!_bomChecked && !TrySkipBom(ref buffer, isFinalBlock))
        {
            sseEvent = default;
            return false;
        }

        while (!buffer.IsEmpty)
        {
            if (_skipLeadingLf)
            {
                _skipLeadingLf = false;
                if (buffer.FirstSpan[0] == Lf)
                {
                    _lastLineEndedWithCrLf = true; // the CR that ended the last segment, and this LF
                    buffer = buffer.Slice(1);
                    continue;
                }
            }

            // Lines inside the first segment are framed with an offset; the sequence is sliced once.
            int offset = 0;
            if (_searched < buffer.First.Length && TryReadEventInSegment(buffer.First, ref offset, out sseEvent, out _))
            {
                buffer = buffer.Slice(offset);
                return true;
            }

            if (offset > 0)
            {
                buffer = buffer.Slice(offset);
                continue;
            }

            // The line at the front crosses into the next segment, ends with a CR at the segment's end, or is incomplete.
            bool dispatched;
            if (!TryReadMultiSegmentLine(ref buffer, out dispatched))
            {
                break;
            }

            if (dispatched)
            {
                sseEvent = Dispatch();
                return true;
            }
        }

        sseEvent = default;
        return false;
    }

    /// <summary>
    /// The fast path: frames the complete lines of one buffer segment from <paramref name="offset"/> until an event is
    /// dispatched (true). Returns false when the rest of the segment holds no complete line, or a line ends with a CR at
    /// the segment's end, or the framer is in a state only <see cref="TryReadEvent"/> handles; <paramref name="offset"/>
    /// then points just after the last line consumed. <paramref name="needsMore"/> tells the first case: the rest is the
    /// start of a line, searched to its end (which is remembered), so only more bytes can go on.
    /// </summary>
    public bool TryReadEventInSegment(ReadOnlyMemory<byte> segment, ref int offset, out ServerSentEvent sseEvent, out bool needsMore)
    {
        ReadOnlySpan<byte> span = segment.Span;
        needsMore = false;
        if (_bomChecked && !_skipLeadingLf && offset + _searched >= span.Length)
        {
            needsMore = true; // nothing new since the last search
        }
        else if (_bomChecked && !_skipLeadingLf)
        {
            // The line at the front may have been searched before (it was incomplete): its search goes on from there.
            int searchFrom = offset + (int)_searched;

            // The usual event is one "data: " line and a blank line, with no field pending: frame it in one step.
            // Same result as the line-by-line rules below, which handle everything else.
            if (!_hasData && _eventType is null && span.Length - offset > 6 && span.Slice(offset, 6).SequenceEqual("data: "u8))
            {
                int valueStart = offset + 6;
                int from = Math.Max(valueStart, searchFrom);
                int end = span.Slice(from).IndexOfAny(Cr, Lf);
                if (end < 0)
                {
                    _searched = span.Length - offset;
                    needsMore = true;
                    sseEvent = default;
                    return false;
                }
                else
                {
                    end += from;
                    int terminatorLength = EventEndAt(span, end);
                    if (terminatorLength > 0)
                    {
                        CheckSize(end - valueStart);
                        _searched = 0;
                        _borrowedData = segment[valueStart..end];
                        _hasBorrowedData = true;
                        _hasData = true;
                        _lastLineEndedWithCrLf = terminatorLength == 4;
                        offset = end + terminatorLength;
                        sseEvent = Dispatch();
                        return true;
                    }
                }
            }

            while (offset < span.Length)
            {
                int index = span.Slice(searchFrom).IndexOfAny(Cr, Lf);
                if (index < 0)
                {
                    _searched = span.Length - offset;
                    needsMore = true;
                    break;
                }

                index += searchFrom;
                int next = index + 1;
                if (span[index] == Cr)
                {
                    if (next == span.Length)
                    {
                        break; // whether an LF follows is for the next segment to tell
                    }

                    if (span[next] == Lf)
                    {
                        next++;
                    }
                }

                _lastLineEndedWithCrLf = next - index == 2;
                _searched = 0;
                _undispatched.Add(next - offset, EventCount, _requestId);
                bool dispatched = ProcessLine(segment[offset..index], borrowed: true);
                offset = next;
                searchFrom = next;
                if (dispatched)
                {
                    sseEvent = Dispatch();
                    return true;
                }
            }

            needsMore |= offset == span.Length; // every line consumed: the next one has not arrived
        }

        sseEvent = default;
        return false;
    }

    /// <summary>
    /// The length of the line end and blank line at <paramref name="end"/> of <paramref name="span"/> that end a one-line
    /// event: 2 for LF LF, 4 for CR LF CR LF; 0 for anything else (other line ends, or not all of it in the span), which
    /// the line-by-line rules frame.
    /// </summary>
    private static int EventEndAt(ReadOnlySpan<byte> span, int end)
    {
        ReadOnlySpan<byte> rest = span[end..];
        return rest.StartsWith("\n\n"u8) ? 2 : rest.StartsWith("\r\n\r\n"u8) ? 4 : 0;
    }

    /// <summary>
    /// Whether <paramref name="rest"/>, what is left of a segment after the last event framed, is only the start of a line,
    /// so nothing can be framed before more bytes come; when it is, its search is remembered as done. Reads nothing.
    /// </summary>
    public bool TryMarkIncompleteLine(ReadOnlySpan<byte> rest)
    {
        if (!_bomChecked || _skipLeadingLf || _searched > rest.Length || rest[(int)_searched..].IndexOfAny(Cr, Lf) >= 0)
        {
            return false;
        }

        _searched = rest.Length;
        return true;
    }

    /// <summary>
    /// Called when <see cref="TryReadEvent"/> returned false and before the caller releases the consumed part of its buffer:
    /// copies borrowed data into the framer's own buffer and enforces the size limit on the unterminated line.
    /// </summary>
    public void PrepareForRelease(long remaining)
    {
        if (_hasBorrowedData)
        {
            ReadOnlySpan<byte> data = _borrowedData.Span;
            _hasBorrowedData = false;
            _borrowedData = default;
            _dataLength = 0;
            Append(data);
        }

        if (remaining > _maxEventSize + 8 || (_hasData && _dataLength + remaining > _maxEventSize + 8))
        {
            throw TooLarge();
        }
    }

    public void Dispose()
    {
        ReturnBuffer(ref _dataBuffer);
        ReturnBuffer(ref _lineBuffer);
    }

    private static void ReturnBuffer(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private bool TrySkipBom(ref ReadOnlySequence<byte> buffer, bool isFinalBlock)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (buffer.Length < BomLength && !isFinalBlock)
        {
            Span<byte> head = stackalloc byte[BomLength];
            int length = (int)buffer.Length;
            buffer.CopyTo(head);
            if (head[..length].SequenceEqual(bom[..length]))
            {
                return false;
            }
        }

        _bomChecked = true;
        if (buffer.Length >= BomLength)
        {
            Span<byte> head = stackalloc byte[BomLength];
            buffer.Slice(0, BomLength).CopyTo(head);
            if (head.SequenceEqual(bom))
            {
                buffer = buffer.Slice(BomLength);
            }
        }

        return true;
    }

    private bool TryReadMultiSegmentLine(ref ReadOnlySequence<byte> buffer, out bool dispatched)
    {
        dispatched = false;
        long offset = 0;
        long terminator = -1;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            ReadOnlySpan<byte> span = segment.Span;
            long start = Math.Max(0, _searched - offset);
            if (start < span.Length)
            {
                int index = span.Slice((int)start).IndexOfAny(Cr, Lf);
                if (index >= 0)
                {
                    terminator = offset + start + index;
                    break;
                }
            }

            offset += span.Length;
        }

        if (terminator < 0)
        {
            _searched = buffer.Length;
            return false;
        }

        _searched = 0;
        if (terminator > _maxEventSize + 8)
        {
            throw TooLarge();
        }

        int lineLength = (int)terminator;
        EnsureCapacity(ref _lineBuffer, lineLength);
        ReadOnlySequence<byte> rest = buffer.Slice(terminator);
        buffer.Slice(0, lineLength).CopyTo(_lineBuffer);
        long consumed = terminator + 1;
        _lastLineEndedWithCrLf = false;
        if (rest.FirstSpan[0] == Cr)
        {
            if (rest.Length > 1)
            {
                if (rest.Slice(1).FirstSpan[0] == Lf)
                {
                    consumed++;
                    _lastLineEndedWithCrLf = true;
                }
            }
            else
            {
                _skipLeadingLf = true;
            }
        }

        _undispatched.Add(consumed, EventCount, _requestId);
        dispatched = ProcessLine(_lineBuffer.AsMemory(0, lineLength), borrowed: false);
        buffer = buffer.Slice(consumed);
        return true;
    }

    /// <summary>Applies one line; returns true when it is a blank line that dispatches an event with data.</summary>
    private bool ProcessLine(ReadOnlyMemory<byte> line, bool borrowed)
    {
        ReadOnlySpan<byte> span = line.Span;
        if (span.IsEmpty)
        {
            if (_hasData)
            {
                return true;
            }

            _eventType = null;
            return false;
        }

        int colon = span.IndexOf((byte)':');
        if (colon == 0)
        {
            return false; // comment
        }

        ReadOnlySpan<byte> name;
        int valueStart;
        if (colon < 0)
        {
            name = span;
            valueStart = span.Length;
        }
        else
        {
            name = span[..colon];
            valueStart = colon + 1;
            if (valueStart < span.Length && span[valueStart] == (byte)' ')
            {
                valueStart++;
            }
        }

        ReadOnlySpan<byte> value = span[valueStart..];
        switch (name.Length)
        {
            case 4 when name.SequenceEqual("data"u8):
                AddData(line[valueStart..], borrowed);
                break;
            case 5 when name.SequenceEqual("event"u8):
                _eventType = value.IsEmpty ? null : _eventTypes.Get(value); // an empty type means "message"
                break;
            case 2 when name.SequenceEqual("id"u8):
                SetLastEventId(value);
                break;
            case 5 when name.SequenceEqual("retry"u8):
                SetRetry(value);
                break;
        }

        return false;
    }

    private void AddData(ReadOnlyMemory<byte> value, bool borrowed)
    {
        if (!_hasData)
        {
            _hasData = true;
            if (borrowed)
            {
                CheckSize(value.Length);
                _borrowedData = value;
                _hasBorrowedData = true;
                return;
            }

            _dataLength = 0;
            Append(value.Span);
            return;
        }

        if (_hasBorrowedData)
        {
            ReadOnlySpan<byte> previous = _borrowedData.Span;
            _hasBorrowedData = false;
            _borrowedData = default;
            _dataLength = 0;
            Append(previous);
        }

        CheckSize(_dataLength + 1 + value.Length);
        Append("\n"u8);
        Append(value.Span);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        CheckSize(_dataLength + bytes.Length);
        EnsureCapacity(ref _dataBuffer, _dataLength + bytes.Length);
        bytes.CopyTo(_dataBuffer.AsSpan(_dataLength));
        _dataLength += bytes.Length;
    }

    private void CheckSize(long size)
    {
        if (size > _maxEventSize)
        {
            throw TooLarge();
        }
    }

    private static void EnsureCapacity([System.Diagnostics.CodeAnalysis.NotNull] ref byte[]? buffer, int size)
    {
        if (buffer is not null && buffer.Length >= size)
        {
            return;
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(size, Math.Max(256, (buffer?.Length ?? 0) * 2)));
        if (buffer is not null)
        {
            buffer.AsSpan().CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
        }

        buffer = larger;
    }

    private void SetLastEventId(ReadOnlySpan<byte> value)
    {
        if (value.Contains((byte)0))
        {
            return;
        }

        if (_lastEventIdBytes is not null && value.SequenceEqual(_lastEventIdBytes))
        {
            return;
        }

        _lastEventIdBytes = value.ToArray();
        _lastEventId = System.Text.Encoding.UTF8.GetString(value);
    }

    private void SetRetry(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return;
        }

        // Digits only; a value too large for a TimeSpan is clamped rather than ignored.
        if (!Utf8Parser.TryParse(value, out long milliseconds, out int consumed) || consumed != value.Length || milliseconds > (long)TimeSpan.MaxValue.TotalMilliseconds)
        {
            milliseconds = (long)TimeSpan.MaxValue.TotalMilliseconds;
        }

        _reconnectionInterval = TimeSpan.FromMilliseconds(milliseconds);
    }

    private ServerSentEvent Dispatch()
    {
        ReadOnlyMemory<byte> data = _hasBorrowedData ? _borrowedData : _dataBuffer.AsMemory(0, _dataLength);
        var sseEvent = new ServerSentEvent(_eventType ?? ServerSentEvent.DefaultEventType, data, _lastEventId, _reconnectionInterval);
        _hasBorrowedData = false;
        _borrowedData = default;
        _hasData = false;
        _dataLength = 0;
        _eventType = null;
        _undispatched.Reset();
        EventCount++;
        return sseEvent;
    }

    private OpenAIStreamProtocolException TooLarge() =>
        new($"A server-sent event is larger than the maximum event size of {_maxEventSize} bytes.", eventIndex: EventCount, requestId: _requestId);
}
