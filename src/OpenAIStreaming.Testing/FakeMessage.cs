namespace OpenAIStreaming.Testing;

/// <summary>A conversation message as the answer generator sees it: a role and its text.</summary>
/// <param name="Role">The role, e.g. <c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>.</param>
/// <param name="Content">The text content (text parts of an array content joined without separator).</param>
public sealed record FakeMessage(string Role, string Content);
