using System.Text;

namespace OpenAIStreaming.Protocol;

/// <summary>
/// Builds the final completion from streamed updates: text and refusal joined per choice, tool calls assembled by index
/// (id, type and name taken once, arguments joined), finish reasons and the last usage.
/// </summary>
/// <remarks>
/// Fields that some servers repeat in every chunk (Ollama's <c>role</c>, a tool call's <c>id</c> or <c>name</c>) are taken
/// once, never concatenated. Not thread-safe.
/// </remarks>
public sealed class ChatCompletionAccumulator
{
    private readonly SortedDictionary<int, ChoiceBuilder> _choices = [];
    private string? _id;
    private string? _model;
    private string? _systemFingerprint;
    private OpenAIUsage? _usage;

    /// <summary>Adds one update.</summary>
    /// <param name="update">The update, in stream order.</param>
    public void Append(in ChatCompletionUpdate update)
    {
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

        if (!_choices.TryGetValue(update.ChoiceIndex, out ChoiceBuilder? choice))
        {
            choice = new ChoiceBuilder();
            _choices.Add(update.ChoiceIndex, choice);
        }

        choice.Append(update);
    }

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

    private sealed class ChoiceBuilder
    {
        private readonly StringBuilder _content = new();
        private readonly SortedDictionary<int, ToolCallBuilder> _toolCalls = [];
        private StringBuilder? _refusal;
        private string? _role;
        private string? _finishReason;

        public void Append(in ChatCompletionUpdate update)
        {
            _role ??= update.Role;
            _content.Append(update.Text);
            if (update.Refusal is not null)
            {
                (_refusal ??= new StringBuilder()).Append(update.Refusal);
            }

            if (update.FinishReason is not null)
            {
                _finishReason = update.FinishReason;
            }

            foreach (ChatToolCallUpdate fragment in update.ToolCalls)
            {
                if (!_toolCalls.TryGetValue(fragment.Index, out ToolCallBuilder? call))
                {
                    call = new ToolCallBuilder();
                    _toolCalls.Add(fragment.Index, call);
                }

                call.Append(fragment);
            }
        }

        public ChatChoiceResult Build(int index)
        {
            var calls = new List<ChatToolCall>(_toolCalls.Count);
            foreach (KeyValuePair<int, ToolCallBuilder> pair in _toolCalls)
            {
                calls.Add(pair.Value.Build(pair.Key));
            }

            string? refusal = _refusal is { Length: > 0 } ? _refusal.ToString() : null;
            return new ChatChoiceResult(index, _role, _content.ToString(), refusal, _finishReason, calls);
        }
    }

    private sealed class ToolCallBuilder
    {
        private readonly StringBuilder _arguments = new();
        private string? _id;
        private string? _type;
        private string? _name;

        public void Append(ChatToolCallUpdate fragment)
        {
            _id ??= string.IsNullOrEmpty(fragment.Id) ? null : fragment.Id;
            _type ??= string.IsNullOrEmpty(fragment.Type) ? null : fragment.Type;
            _name ??= string.IsNullOrEmpty(fragment.FunctionName) ? null : fragment.FunctionName;
            _arguments.Append(fragment.ArgumentsDelta);
        }

        public ChatToolCall Build(int index) => new(index, _id, _type, _name, _arguments.ToString());
    }
}
