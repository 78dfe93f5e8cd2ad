namespace OpenAIStreaming.Protocol.Internal;

/// <summary>The chunk-level fields of a Chat Completions chunk, shared by every update while they do not change.</summary>
internal sealed class ChatChunkHeader
{
    public static readonly ChatChunkHeader Empty = new(null, null, 0, null, null);

    public ChatChunkHeader(string? id, string? model, long created, string? systemFingerprint, string? serviceTier)
    {
        Id = id;
        Model = model;
        Created = created;
        SystemFingerprint = systemFingerprint;
        ServiceTier = serviceTier;
    }

    public string? Id { get; }

    public string? Model { get; }

    public long Created { get; }

    public string? SystemFingerprint { get; }

    public string? ServiceTier { get; }

    public bool Matches(string? id, string? model, long created, string? systemFingerprint, string? serviceTier) =>
        ReferenceEquals(Id, id) && ReferenceEquals(Model, model) && Created == created
        && ReferenceEquals(SystemFingerprint, systemFingerprint) && ReferenceEquals(ServiceTier, serviceTier);
}
