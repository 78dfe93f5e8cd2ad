namespace OpenAIStreaming.Benchmarks;

/// <summary>Which wire shape the generated chat chunks have (key order and spelling as api.openai.com sends them).</summary>
public enum ChunkShape
{
    /// <summary>2025 captures: <c>service_tier</c>, <c>"usage":null</c> and a random <c>obfuscation</c> on every chunk.</summary>
    Current2025,

    /// <summary>2024 recordings (tests/OpenAIStreaming.Tests/Recordings): no <c>service_tier</c>, no <c>usage</c>, no <c>obfuscation</c>.</summary>
    Recorded2024,
}
