using System.Security.Cryptography;
using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>What stays the same across one response's events: id, creation time, model, and the optional extras.</summary>
internal sealed class RenderContext
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private readonly DeterministicRandom? _obfuscation;

    public RenderContext(string idPrefix, string model, long created, bool includeUsage, bool obfuscation)
    {
        Id = idPrefix + RandomNumberGenerator.GetString(Alphanumeric, 29);
        Model = model;
        Created = created;
        IncludeUsage = includeUsage;
        Fingerprint = "fp_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model)))[..10];
        _obfuscation = obfuscation ? new DeterministicRandom(DeterministicRandom.SeedFrom(Id)) : null;
    }

    public string Id { get; }

    public string Model { get; }

    public long Created { get; }

    public bool IncludeUsage { get; }

    public string Fingerprint { get; }

    public bool AzureContentFilter { get; init; }

    /// <summary>A random padding string, or <see langword="null"/> when obfuscation is off.</summary>
    public string? NextObfuscation() => _obfuscation?.NextId(_obfuscation.Next(1, 16));
}
