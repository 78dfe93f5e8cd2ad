using System.Text.Json;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Writes legacy <c>/v1/completions</c> answers: <c>text_completion</c> chunks and the non-streaming object.</summary>
internal static class CompletionsRenderer
{
    public static StreamPlan Stream(RenderContext context, Answer answer)
    {
        var events = new List<SseEvent>();
        int longest = answer.Choices.Max(c => c.Tokens.Count);
        for (int step = 0; step < longest; step++)
        {
            foreach (AnswerChoice choice in answer.Choices.Where(c => step < c.Tokens.Count))
            {
                events.Add(Chunk(context, w => WriteChoice(w, choice.Index, choice.Tokens[step], null)));
            }
        }

        foreach (AnswerChoice choice in answer.Choices)
        {
            events.Add(Chunk(context, w => WriteChoice(w, choice.Index, string.Empty, choice.FinishReason)));
        }

        if (context.IncludeUsage)
        {
            events.Add(new SseEvent(null, Document(context, static _ => { }, answer)));
        }

        events.Add(SseEvent.Done);
        return new StreamPlan(events, ChatRenderer.ErrorEvents)
        {
            Endless = _ => Chunk(context, static w => WriteChoice(w, 0, EndlessBodies.Token, null)),
        };
    }

    public static string Complete(RenderContext context, Answer answer) => Document(
        context,
        w =>
        {
            foreach (AnswerChoice choice in answer.Choices)
            {
                WriteChoice(w, choice.Index, choice.Text, choice.FinishReason);
            }
        },
        answer);

    private static SseEvent Chunk(RenderContext context, Action<Utf8JsonWriter> writeChoices) =>
        new(null, Document(context, writeChoices, null));

    /// <summary>One completion object; <paramref name="usage"/> null writes <c>usage:null</c> only when the stream asked for usage.</summary>
    private static string Document(RenderContext context, Action<Utf8JsonWriter> writeChoices, Answer? usage) => JsonText.Build(w =>
    {
        w.WriteStartObject();
        w.WriteString("id", context.Id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", context.Created);
        w.WriteStartArray("choices");
        writeChoices(w);
        w.WriteEndArray();
        w.WriteText("model", context.Model);
        w.WriteString("system_fingerprint", context.Fingerprint);
        if (usage is not null)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", usage.PromptTokens);
            w.WriteNumber("completion_tokens", usage.CompletionTokens);
            w.WriteNumber("total_tokens", usage.PromptTokens + usage.CompletionTokens);
            w.WriteEndObject();
        }
        else if (context.IncludeUsage)
        {
            w.WriteNull("usage");
        }

        w.WriteEndObject();
    });

    private static void WriteChoice(Utf8JsonWriter w, int index, string text, string? finishReason)
    {
        w.WriteStartObject();
        w.WriteText("text", text);
        w.WriteNumber("index", index);
        w.WriteNull("logprobs");
        w.WriteText("finish_reason", finishReason);
        w.WriteEndObject();
    }
}
