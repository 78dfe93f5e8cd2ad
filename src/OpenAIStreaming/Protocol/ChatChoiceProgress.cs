namespace OpenAIStreaming.Protocol;

/// <summary>How far one streamed choice has come (<see cref="ChatCompletionAccumulator.GetProgress"/>).</summary>
/// <param name="InsideCodeFence">Whether the content so far ends inside a Markdown code fence: render the block as unfinished.</param>
/// <param name="Content">Whether the content is valid JSON so far (<see cref="JsonTextState.NotChecked"/> unless <see cref="ChatCompletionAccumulatorOptions.CheckContentAsJson"/> is set).</param>
/// <param name="ToolCallArguments">The tool calls' arguments taken together: <see cref="JsonTextState.Invalid"/> if one is invalid, <see cref="JsonTextState.ValidPrefix"/> if one is not complete yet, <see cref="JsonTextState.Complete"/> when all are, <see cref="JsonTextState.NotChecked"/> without tool calls.</param>
public readonly record struct ChatChoiceProgress(bool InsideCodeFence, JsonTextState Content, JsonTextState ToolCallArguments);
