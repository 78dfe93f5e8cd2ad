namespace OpenAIStreaming.Protocol;

/// <summary>One event of a Responses API stream (<c>POST /responses</c> with <c>"stream": true</c>).</summary>
public readonly struct ResponseStreamEvent
{
    private readonly OpenAIStreamCheckpoint? _checkpoint;

    internal ResponseStreamEvent(
        string type,
        ResponseStreamEventKind kind,
        long? sequenceNumber,
        string? responseId,
        string? status,
        string? model,
        string? itemId,
        int? outputIndex,
        int? contentIndex,
        string? delta,
        string? text,
        string? incompleteReason,
        OpenAIUsage? usage,
        string? json,
        OpenAIStreamCheckpoint? checkpoint = null)
    {
        _checkpoint = checkpoint;
        Type = type;
        Kind = kind;
        SequenceNumber = sequenceNumber;
        ResponseId = responseId;
        Status = status;
        Model = model;
        ItemId = itemId;
        OutputIndex = outputIndex;
        ContentIndex = contentIndex;
        Delta = delta;
        Text = text;
        IncompleteReason = incompleteReason;
        Usage = usage;
        Json = json;
    }

    /// <summary>Gets the event type (the JSON <c>type</c>, for example <c>response.output_text.delta</c>).</summary>
    public string Type { get; }

    /// <summary>Gets the typed kind of the event; <see cref="ResponseStreamEventKind.Other"/> for types without one.</summary>
    public ResponseStreamEventKind Kind { get; }

    /// <summary>Gets <c>sequence_number</c>: 0 for the first event, one more for each event after it.</summary>
    public long? SequenceNumber { get; }

    /// <summary>Gets <c>response.id</c>, on lifecycle events that carry the response object.</summary>
    public string? ResponseId { get; }

    /// <summary>Gets <c>response.status</c> (<c>in_progress</c>, <c>completed</c>, <c>incomplete</c>, …), on lifecycle events.</summary>
    public string? Status { get; }

    /// <summary>Gets <c>response.model</c>, on lifecycle events.</summary>
    public string? Model { get; }

    /// <summary>Gets <c>item_id</c>.</summary>
    public string? ItemId { get; }

    /// <summary>Gets <c>output_index</c>.</summary>
    public int? OutputIndex { get; }

    /// <summary>Gets <c>content_index</c>.</summary>
    public int? ContentIndex { get; }

    /// <summary>Gets <c>delta</c>: the text, refusal or function-argument piece of a <c>*.delta</c> event.</summary>
    public string? Delta { get; }

    /// <summary>Gets the full text of a <c>*.done</c> event (<c>text</c>, <c>refusal</c> or <c>arguments</c>).</summary>
    public string? Text { get; }

    /// <summary>Gets <c>response.incomplete_details.reason</c> (for example <c>max_output_tokens</c>).</summary>
    public string? IncompleteReason { get; }

    /// <summary>Gets <c>response.usage</c>, on the terminal event.</summary>
    public OpenAIUsage? Usage { get; }

    /// <summary>Gets the event's JSON exactly as sent, for every event except the <c>*.delta</c> events (where it is <see langword="null"/>, to keep the hot path free of copies).</summary>
    public string? Json { get; }

    /// <summary>
    /// Gets a checkpoint of everything delivered up to and including this event, when this event carries one: through
    /// <see cref="OpenAIStreamingHandler"/> or <see cref="OpenAIStreamingClient"/> with recovery on, every
    /// <see cref="OpenAIStreamingRecoveryOptions.CheckpointInterval"/>-th event with a text, refusal or argument delta, and
    /// the terminal event. Per output item (as a choice, by <c>output_index</c>) it holds the text, refusal and function
    /// arguments delivered, with the response id and this event's sequence number: store it (<see cref="OpenAIStreamCheckpoint.ToJson"/>)
    /// to stream a background response on from there later (<c>ResumeResponseAsync</c>).
    /// </summary>
    public OpenAIStreamCheckpoint? Checkpoint => _checkpoint;

    /// <summary>Gets a value indicating whether this is a terminal event (<c>response.completed</c> or <c>response.incomplete</c>).</summary>
    public bool IsTerminal => Kind is ResponseStreamEventKind.Completed or ResponseStreamEventKind.Incomplete;

    /// <summary>This event under another response id, item id and delta (a replayed event passed on as part of the first response).</summary>
    internal ResponseStreamEvent WithIdentity(string? responseId, string? itemId, string? delta) =>
        new(Type, Kind, SequenceNumber, responseId, Status, Model, itemId, OutputIndex, ContentIndex, delta, Text, IncompleteReason, Usage, Json, _checkpoint);

    internal ResponseStreamEvent WithCheckpoint(OpenAIStreamCheckpoint checkpoint) =>
        new(Type, Kind, SequenceNumber, ResponseId, Status, Model, ItemId, OutputIndex, ContentIndex, Delta, Text, IncompleteReason, Usage, Json, checkpoint);

    /// <inheritdoc />
    public override string ToString() => $"{SequenceNumber}: {Type} {Delta}";
}
