using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// Where a reader of a Responses stream is in the response it reads now (the first one, a resumed one, or a replay's own):
/// its id and the sequence number of the last event read, passed on or skipped. A resume asks for what follows it; after
/// a resume the events up to it come again and are dropped.
/// </summary>
internal struct ResponsesPosition
{
    private bool _resumed;

    /// <summary>Gets the id of the response being read.</summary>
    public string? ResponseId { get; private set; }

    /// <summary>Gets the sequence number of the last event read from it.</summary>
    public long? Sequence { get; private set; }

    /// <summary>Whether <paramref name="e"/> was read before a resume began (its sequence number is not past the last one read).</summary>
    public readonly bool ReadBefore(in ResponseStreamEvent e) => _resumed && e.SequenceNumber <= Sequence;

    /// <summary>Moves past <paramref name="e"/>.</summary>
    public void Read(in ResponseStreamEvent e)
    {
        ResponseId = e.ResponseId ?? ResponseId;
        Sequence = e.SequenceNumber ?? Sequence;
    }

    /// <summary>A recovery's body is read from now on: the same response resumed, or a replay from its beginning.</summary>
    public void Recovered(bool resumed)
    {
        _resumed = resumed;
        if (!resumed)
        {
            ResponseId = null;
            Sequence = null;
        }
    }
}
