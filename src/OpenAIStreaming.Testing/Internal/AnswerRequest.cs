namespace OpenAIStreaming.Testing.Internal;

/// <summary>Everything in a request that decides the answer.</summary>
internal sealed record AnswerRequest(string Model, IReadOnlyList<FakeMessage> Messages)
{
    public long? Seed { get; init; }

    public int Choices { get; init; } = 1;

    public int? MaxTokens { get; init; }

    public IReadOnlyList<ToolSpec> Tools { get; init; } = [];

    /// <summary>Gets <c>none</c>, <c>auto</c>, <c>required</c> or the name of the forced function.</summary>
    public string ToolChoice { get; init; } = "auto";

    public bool ParallelToolCalls { get; init; } = true;
}

/// <summary>A function tool offered by the request: its name and its parameters' names and JSON types.</summary>
internal sealed record ToolSpec(string Name, IReadOnlyList<(string Name, string Type)> Parameters);
