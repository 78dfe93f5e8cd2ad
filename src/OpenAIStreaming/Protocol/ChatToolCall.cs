namespace OpenAIStreaming.Protocol;

/// <summary>A tool call assembled from its streamed fragments.</summary>
/// <param name="Index">The position of the call in the message's tool calls.</param>
/// <param name="Id">The call id.</param>
/// <param name="Type">The call type, normally <c>"function"</c>.</param>
/// <param name="FunctionName">The function to call.</param>
/// <param name="Arguments">The JSON arguments: every fragment joined in order.</param>
public sealed record ChatToolCall(int Index, string? Id, string? Type, string? FunctionName, string Arguments);
