namespace OpenAIStreaming.Tests.Support;

/// <summary>A request type for the <c>JsonTypeInfo&lt;TRequest&gt;</c> overloads.</summary>
public sealed record TypedChatRequest(string Model, IReadOnlyList<TypedMessage> Messages, bool? Stream = null, double? Temperature = null);

public sealed record TypedMessage(string Role, string Content);
