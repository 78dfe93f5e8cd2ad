using System.Text.Json.Nodes;

namespace OpenAIStreaming.Tests.Support;

/// <summary>One entry of <c>Recordings/expected.json</c>.</summary>
public sealed record RecordingExpectation(string Id, string Model, int DataEvents, JsonObject Usage, IReadOnlyList<ExpectedChoice> Choices);

public sealed record ExpectedChoice(int Index, string Content, string? Refusal, string FinishReason, IReadOnlyList<ExpectedToolCall> ToolCalls);

public sealed record ExpectedToolCall(int Index, string Id, string Name, string Arguments);
