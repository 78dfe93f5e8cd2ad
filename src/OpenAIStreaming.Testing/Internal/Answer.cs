namespace OpenAIStreaming.Testing.Internal;

/// <summary>The generated answer to one request: one plan per choice plus token counts.</summary>
internal sealed record Answer(IReadOnlyList<AnswerChoice> Choices, int PromptTokens)
{
    public int CompletionTokens
    {
        get
        {
            int total = 0;
            foreach (AnswerChoice choice in Choices)
            {
                total += choice.CompletionTokens;
            }

            return total;
        }
    }
}

/// <summary>One choice: either text tokens or tool calls, and how it finishes.</summary>
internal sealed record AnswerChoice(int Index, IReadOnlyList<string> Tokens, IReadOnlyList<ToolCallPlan> ToolCalls, string FinishReason)
{
    public string Text => string.Concat(Tokens);

    public int CompletionTokens
    {
        get
        {
            int total = Tokens.Count;
            foreach (ToolCallPlan call in ToolCalls)
            {
                total += call.Fragments.Count;
            }

            return total;
        }
    }
}

/// <summary>A tool call: its id, function name, full arguments and how they are split into fragments.</summary>
internal sealed record ToolCallPlan(string Id, string Name, string Arguments, IReadOnlyList<string> Fragments);
