namespace OpenAIStreaming.Protocol;

/// <summary>
/// One streamed fragment of a tool call. The first fragment of a call carries its id, type and function name; later
/// fragments carry only the index and a piece of the arguments. Assemble them with <see cref="ChatCompletionAccumulator"/>.
/// </summary>
/// <param name="Index">The position of the call in the message's tool calls.</param>
/// <param name="Id">The call id (first fragment only).</param>
/// <param name="Type">The call type, <c>"function"</c> (first fragment only).</param>
/// <param name="FunctionName">The function name (first fragment only).</param>
/// <param name="ArgumentsDelta">A piece of the JSON arguments; valid JSON only once all pieces are joined.</param>
public sealed record ChatToolCallUpdate(int Index, string? Id, string? Type, string? FunctionName, string? ArgumentsDelta);
