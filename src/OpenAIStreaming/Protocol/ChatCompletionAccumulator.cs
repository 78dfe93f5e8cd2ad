using System.Text;

namespace OpenAIStreaming.Protocol;

/// <summary>
/// Builds the final completion from streamed updates: text and refusal joined per choice, tool calls assembled by index
/// (id, type and name taken once, arguments joined), finish reasons and the last usage. As the text grows it follows, per
/// choice, the Markdown code fences of the content and whether each tool call's arguments (and, with
/// <see cref="ChatCompletionAccumulatorOptions.CheckContentAsJson"/>, the content) are valid JSON so far
/// (<see cref="GetProgress"/>): each character is looked at once, nothing is parsed again from the start.
/// </summary>
/// <remarks>
/// Fields that some servers repeat in every chunk (Ollama's <c>role</c>, a tool call's <c>id</c> or <c>name</c>) are taken
/// once, never concatenated. Everything it holds is bounded (<see cref="ChatCompletionAccumulatorOptions"/>). Not thread-safe.
/// </remarks>
public sealed class ChatCompletionAccumulator
{
    private readonly SortedDictionary<int, ChoiceBuilder> _choices = [];
    private readonly ChatCompletionAccumulatorOptions _options;
    private string? _id;
    private string? _model;
    private string? _systemFingerprint;
    private OpenAIUsage? _usage;
    private long _totalCharacters;

    /// <summary>Creates an accumulator with the default bounds.</summary>
    public ChatCompletionAccumulator()
        : this(new ChatCompletionAccumulatorOptions())
    {
    }

    /// <summary>Creates an accumulator with the given bounds.</summary>
    /// <param name="options">The bounds; they are copied, so later changes to the instance have no effect.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not positive.</exception>
    public ChatCompletionAccumulator(ChatCompletionAccumulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = new ChatCompletionAccumulatorOptions
        {
            MaxCharactersPerChoice = options.MaxCharactersPerChoice,
            MaxChoices = options.MaxChoices,
            MaxToolCallsPerChoice = options.MaxToolCallsPerChoice,
            MaxToolCallArgumentCharacters = options.MaxToolCallArgumentCharacters,
            MaxTotalCharacters = options.MaxTotalCharacters,
            CheckContentAsJson = options.CheckContentAsJson,
        };
    }

    /// <summary>Adds one update; a restart (<see cref="ChatCompletionUpdate.IsRestart"/>) discards everything added so far.</summary>
    /// <param name="update">The update, in stream order.</param>
    /// <exception cref="OpenAIStreamProtocolException">The update would take the completion past a bound of <see cref="ChatCompletionAccumulatorOptions"/>; nothing of it is added.</exception>
    public void Append(in ChatCompletionUpdate update)
    {
        if (update.IsRestart)
        {
            _choices.Clear();
            _id = _model = _systemFingerprint = null;
            _usage = null;
            _totalCharacters = 0;
            return;
        }

        if (string.IsNullOrEmpty(_id) && !string.IsNullOrEmpty(update.Id))
        {
            _id = update.Id;
        }

        if (string.IsNullOrEmpty(_model) && !string.IsNullOrEmpty(update.Model))
        {
            _model = update.Model;
        }

        if (!string.IsNullOrEmpty(update.SystemFingerprint))
        {
            _systemFingerprint = update.SystemFingerprint;
        }

        if (update.Usage is not null)
        {
            _usage = update.Usage;
        }

        if (update.ChoiceIndex < 0)
        {
            return;
        }

        long characters = Characters(update);
        if (_totalCharacters + characters > _options.MaxTotalCharacters)
        {
            throw LimitReached($"more than {_options.MaxTotalCharacters} characters in all (MaxTotalCharacters)");
        }

        if (!_choices.TryGetValue(update.ChoiceIndex, out ChoiceBuilder? choice))
        {
            if (_choices.Count >= _options.MaxChoices)
            {
                throw LimitReached($"more than {_options.MaxChoices} choices (MaxChoices)");
            }

            choice = new ChoiceBuilder(_options);
            _choices.Add(update.ChoiceIndex, choice);
        }

        choice.Append(update);
        _totalCharacters += characters;
    }

    /// <summary>
    /// Gets how far choice <paramref name="choiceIndex"/> has come, without building its text: whether its content ends
    /// inside a code fence, and whether its content (when checked) and its tool calls' arguments are valid JSON so far.
    /// </summary>
    /// <param name="choiceIndex">The choice index.</param>
    /// <returns>The choice's progress; a choice nothing was appended to has the progress of an empty text.</returns>
    public ChatChoiceProgress GetProgress(int choiceIndex) =>
        _choices.TryGetValue(choiceIndex, out ChoiceBuilder? choice)
            ? choice.Progress
            : new ChatChoiceProgress(false, _options.CheckContentAsJson ? JsonTextState.ValidPrefix : JsonTextState.NotChecked, JsonTextState.NotChecked);

    /// <summary>Builds the result from everything appended so far.</summary>
    /// <returns>The assembled completion.</returns>
    public ChatCompletionResult Build()
    {
        var choices = new List<ChatChoiceResult>(_choices.Count);
        foreach (KeyValuePair<int, ChoiceBuilder> pair in _choices)
        {
            choices.Add(pair.Value.Build(pair.Key));
        }

        return new ChatCompletionResult(_id, _model, _systemFingerprint, choices, _usage);
    }

    private static long Characters(in ChatCompletionUpdate update)
    {
        long characters = (long)(update.Text?.Length ?? 0) + (update.Refusal?.Length ?? 0);
        for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
        {
            ChatToolCallUpdate fragment = update.ToolCalls[i];
            characters += fragment.ArgumentsDelta?.Length ?? 0;
        }

        return characters;
    }

    private static OpenAIStreamProtocolException LimitReached(string what) =>
        new($"The streamed completion has {what}; the accumulator stops there rather than grow without bound.");

    private sealed class ChoiceBuilder(ChatCompletionAccumulatorOptions options)
    {
        private readonly StringBuilder _content = new();
        private readonly SortedDictionary<int, ToolCallBuilder> _toolCalls = [];
        private readonly MarkdownFenceTracker _fences = new();
        private readonly JsonStreamValidator? _contentJson = options.CheckContentAsJson ? new JsonStreamValidator() : null;
        private StringBuilder? _refusal;
        private string? _role;
        private string? _finishReason;

        public void Append(in ChatCompletionUpdate update)
        {
            CheckBounds(update);
            _role ??= update.Role;
            _content.Append(update.Text);
            _fences.Append(update.Text);
            _contentJson?.Append(update.Text);
            if (update.Refusal is not null)
            {
                (_refusal ??= new StringBuilder()).Append(update.Refusal);
            }

            if (update.FinishReason is not null)
            {
                _finishReason = update.FinishReason;
            }

            for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
            {
                ChatToolCallUpdate fragment = update.ToolCalls[i];
                if (!_toolCalls.TryGetValue(fragment.Index, out ToolCallBuilder? call))
                {
                    call = new ToolCallBuilder();
                    _toolCalls.Add(fragment.Index, call);
                }

                call.Append(fragment);
            }
        }

        /// <summary>Checks the whole update before any of it is added, so a failed update changes nothing.</summary>
        private void CheckBounds(in ChatCompletionUpdate update)
        {
            long characters = (long)_content.Length + (_refusal?.Length ?? 0) + (update.Text?.Length ?? 0) + (update.Refusal?.Length ?? 0);
            if (characters > options.MaxCharactersPerChoice)
            {
                throw LimitReached($"more than {options.MaxCharactersPerChoice} characters in one choice (MaxCharactersPerChoice)");
            }

            int newCalls = 0;
            for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
            {
                ChatToolCallUpdate fragment = update.ToolCalls[i];
                if (_toolCalls.TryGetValue(fragment.Index, out ToolCallBuilder? call))
                {
                    if ((long)call.ArgumentsLength + (fragment.ArgumentsDelta?.Length ?? 0) > options.MaxToolCallArgumentCharacters)
                    {
                        throw LimitReached($"tool-call arguments longer than {options.MaxToolCallArgumentCharacters} characters (MaxToolCallArgumentCharacters)");
                    }
                }
                else if (_toolCalls.Count + ++newCalls > options.MaxToolCallsPerChoice)
                {
                    throw LimitReached($"more than {options.MaxToolCallsPerChoice} tool calls in one choice (MaxToolCallsPerChoice)");
                }
                else if ((fragment.ArgumentsDelta?.Length ?? 0) > options.MaxToolCallArgumentCharacters)
                {
                    throw LimitReached($"tool-call arguments longer than {options.MaxToolCallArgumentCharacters} characters (MaxToolCallArgumentCharacters)");
                }
            }
        }

        public ChatChoiceProgress Progress => new(_fences.IsInsideFence, _contentJson?.State ?? JsonTextState.NotChecked, ToolCallsState());

        /// <summary>The worst state of the tool calls' arguments: invalid if one is, a prefix if one is not complete yet.</summary>
        private JsonTextState ToolCallsState()
        {
            if (_toolCalls.Count == 0)
            {
                return JsonTextState.NotChecked;
            }

            JsonTextState worst = JsonTextState.Complete;
            foreach (ToolCallBuilder call in _toolCalls.Values)
            {
                JsonTextState state = call.ArgumentsJson;
                if (state == JsonTextState.Invalid)
                {
                    return state;
                }

                if (state == JsonTextState.ValidPrefix)
                {
                    worst = state;
                }
            }

            return worst;
        }

        public ChatChoiceResult Build(int index)
        {
            var calls = new List<ChatToolCall>(_toolCalls.Count);
            foreach (KeyValuePair<int, ToolCallBuilder> pair in _toolCalls)
            {
                calls.Add(pair.Value.Build(pair.Key));
            }

            string? refusal = _refusal is { Length: > 0 } ? _refusal.ToString() : null;
            return new ChatChoiceResult(index, _role, _content.ToString(), refusal, _finishReason, calls)
            {
                InsideCodeFence = _fences.IsInsideFence,
                ContentJson = _contentJson?.State ?? JsonTextState.NotChecked,
                ToolCallArgumentsJson = ToolCallsState(),
            };
        }
    }

    private sealed class ToolCallBuilder
    {
        private readonly StringBuilder _arguments = new();
        private readonly JsonStreamValidator _argumentsJson = new();
        private string? _id;

        public int ArgumentsLength => _arguments.Length;

        public JsonTextState ArgumentsJson => _argumentsJson.State;
        private string? _type;
        private string? _name;

        public void Append(ChatToolCallUpdate fragment)
        {
            _id ??= string.IsNullOrEmpty(fragment.Id) ? null : fragment.Id;
            _type ??= string.IsNullOrEmpty(fragment.Type) ? null : fragment.Type;
            _name ??= string.IsNullOrEmpty(fragment.FunctionName) ? null : fragment.FunctionName;
            _arguments.Append(fragment.ArgumentsDelta);
            _argumentsJson.Append(fragment.ArgumentsDelta);
        }

        public ChatToolCall Build(int index) => new(index, _id, _type, _name, _arguments.ToString());
    }
}
