namespace OpenAIStreaming.Protocol.Internal;

/// <summary>
/// What the typed chat reader checks of a structured answer as it streams: each tool call's arguments, and the content when
/// the request asked for JSON (<c>response_format</c> <c>json_object</c> or <c>json_schema</c>), piece by piece with
/// <see cref="JsonStreamValidator"/>. A choice that finishes as complete (<c>stop</c> or <c>tool_calls</c>) with such a
/// text that is not one complete, valid JSON value is a typed error. A choice cut short by its finish reason (<c>length</c>,
/// <c>content_filter</c>) is not: its finish reason already says the text is incomplete. Nor is a tool call that streamed no
/// arguments at all (some servers send none for a function without parameters).
/// </summary>
internal sealed class StructuredOutputCheck(bool contentIsJson)
{
    private readonly Dictionary<int, JsonStreamValidator> _content = [];
    private readonly Dictionary<(int Choice, int Call), JsonStreamValidator> _arguments = [];
    private readonly HashSet<int> _refused = [];

    /// <summary>Gets a value indicating whether the content is checked as JSON.</summary>
    public bool ChecksContent => contentIsJson;

    /// <summary>Checks the content text of choice <paramref name="choice"/> (the fused path's updates carry only text).</summary>
    public void Text(int choice, string text)
    {
        if (contentIsJson && choice >= 0)
        {
            Validator(_content, choice).Append(text);
        }
    }

    /// <summary>Checks one update; throws the typed error when it finishes a choice whose JSON did not end valid and complete.</summary>
    public void Observe(in ChatCompletionUpdate update, long eventIndex, string? requestId)
    {
        if (update.IsRestart)
        {
            _content.Clear();
            _arguments.Clear();
            _refused.Clear();
            return;
        }

        int choice = update.ChoiceIndex;
        if (choice < 0)
        {
            return;
        }

        if (!string.IsNullOrEmpty(update.Text))
        {
            Text(choice, update.Text);
        }

        if (!string.IsNullOrEmpty(update.Refusal))
        {
            _refused.Add(choice); // a structured-output refusal comes instead of the JSON content
        }

        for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
        {
            ChatToolCallUpdate fragment = update.ToolCalls[i];
            JsonStreamValidator arguments = Validator(_arguments, (choice, fragment.Index));
            if (!string.IsNullOrEmpty(fragment.ArgumentsDelta))
            {
                arguments.Append(fragment.ArgumentsDelta);
            }
        }

        if (update.FinishReason is "stop" or "tool_calls")
        {
            CheckFinished(choice, update.FinishReason, eventIndex, requestId);
        }
    }

    private void CheckFinished(int choice, string finishReason, long eventIndex, string? requestId)
    {
        if (contentIsJson && finishReason == "stop" && !_refused.Contains(choice) && _arguments.Keys.All(key => key.Choice != choice))
        {
            JsonStreamValidator? content = _content.GetValueOrDefault(choice);
            if (content?.State != JsonTextState.Complete)
            {
                throw Invalid("its content (asked for as JSON)", content, choice, finishReason, eventIndex, requestId);
            }
        }

        foreach (KeyValuePair<(int Choice, int Call), JsonStreamValidator> pair in _arguments)
        {
            if (pair.Key.Choice == choice && pair.Value.Length > 0 && pair.Value.State != JsonTextState.Complete) // no arguments at all: a call without parameters, as some servers send it
            {
                throw Invalid($"the arguments of its tool call {pair.Key.Call}", pair.Value, choice, finishReason, eventIndex, requestId);
            }
        }
    }

    private static OpenAIStreamProtocolException Invalid(string what, JsonStreamValidator? validator, int choice, string finishReason, long eventIndex, string? requestId)
    {
        string why = validator switch
        {
            null or { Length: 0 } => "empty, which is not JSON.",
            { State: JsonTextState.Invalid } => $"not valid JSON. {validator.Error}",
            _ => $"cut before its JSON value is complete (after {validator.Length} characters).",
        };
        return new($"Choice {choice} finished ('{finishReason}'), but {what} is {why}", eventIndex, isRetryable: false, requestId: requestId);
    }

    private static JsonStreamValidator Validator<TKey>(Dictionary<TKey, JsonStreamValidator> validators, TKey key)
        where TKey : notnull
    {
        if (!validators.TryGetValue(key, out JsonStreamValidator? validator))
        {
            validator = new JsonStreamValidator();
            validators.Add(key, validator);
        }

        return validator;
    }
}
