using System.Text.Json;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Writes chat completions: the 2025 chunk shape of api.openai.com, and the non-streaming object.</summary>
internal static class ChatRenderer
{
    public static StreamPlan Stream(RenderContext context, Answer answer)
    {
        var events = new List<SseEvent>();
        if (context.AzureContentFilter)
        {
            events.Add(new SseEvent(null, PromptFilterFrame()));
        }

        foreach (AnswerChoice choice in answer.Choices)
        {
            events.Add(Chunk(context, choice.Index, w => WriteRoleDelta(w, choice), null));
        }

        var pieces = answer.Choices.Select(DeltaWriters).ToList();
        for (int step = 0; pieces.Any(p => step < p.Count); step++)
        {
            for (int index = 0; index < pieces.Count; index++)
            {
                if (step < pieces[index].Count)
                {
                    events.Add(Chunk(context, index, pieces[index][step], null));
                }
            }
        }

        foreach (AnswerChoice choice in answer.Choices)
        {
            events.Add(Chunk(context, choice.Index, static w => { }, choice.FinishReason));
            if (context.AzureContentFilter)
            {
                events.Add(new SseEvent(null, AnnotationFrame(choice)));
            }
        }

        if (context.IncludeUsage)
        {
            events.Add(new SseEvent(null, JsonText.Build(w =>
            {
                WriteHeader(w, context);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                w.WritePropertyName("usage");
                WriteUsage(w, answer);
                WriteObfuscation(w, context);
                w.WriteEndObject();
            })));
        }

        events.Add(SseEvent.Done);
        return new StreamPlan(events, ErrorEvents)
        {
            Endless = _ => Chunk(context, 0, static w => w.WriteString("content", EndlessBodies.Token), null),
        };
    }

    public static string Complete(RenderContext context, Answer answer) => JsonText.Build(w =>
    {
        w.WriteStartObject();
        w.WriteString("id", context.Id);
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", context.Created);
        w.WriteText("model", context.Model);
        w.WriteStartArray("choices");
        foreach (AnswerChoice choice in answer.Choices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", choice.Index);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteText("content", choice.ToolCalls.Count > 0 ? null : choice.Text);
            w.WriteNull("refusal");
            if (choice.ToolCalls.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (ToolCallPlan call in choice.ToolCalls)
                {
                    w.WriteStartObject();
                    w.WriteString("id", call.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteText("name", call.Name);
                    w.WriteText("arguments", call.Arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("annotations");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", choice.FinishReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WritePropertyName("usage");
        WriteUsage(w, answer);
        w.WriteString("service_tier", FakeDefaults.ServiceTier);
        w.WriteString("system_fingerprint", context.Fingerprint);
        w.WriteEndObject();
    });

    /// <summary>How chat and completions streams report a mid-stream failure: <c>data: {"error":{…}}</c>, then <c>data: [DONE]</c>.</summary>
    public static IReadOnlyList<SseEvent> ErrorEvents(int sent, MidStreamErrorShape shape) => [new SseEvent(null, ErrorEnvelope()), SseEvent.Done];

    private static string ErrorEnvelope() => JsonText.Build(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteText("message", FakeDefaults.ServerErrorMessage);
        w.WriteString("type", "server_error");
        w.WriteNull("param");
        w.WriteNull("code");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static List<Action<Utf8JsonWriter>> DeltaWriters(AnswerChoice choice)
    {
        var writers = new List<Action<Utf8JsonWriter>>();
        foreach (string token in choice.Tokens)
        {
            writers.Add(w => w.WriteText("content", token));
        }

        for (int call = 0; call < choice.ToolCalls.Count; call++)
        {
            ToolCallPlan plan = choice.ToolCalls[call];
            int callIndex = call;
            writers.Add(w => WriteToolCall(w, callIndex, plan, null));
            foreach (string fragment in plan.Fragments)
            {
                writers.Add(w => WriteToolCall(w, callIndex, null, fragment));
            }
        }

        return writers;
    }

    private static void WriteToolCall(Utf8JsonWriter w, int index, ToolCallPlan? first, string? fragment)
    {
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        if (first is not null)
        {
            w.WriteString("id", first.Id);
            w.WriteString("type", "function");
        }

        w.WriteStartObject("function");
        if (first is not null)
        {
            w.WriteText("name", first.Name);
        }

        w.WriteText("arguments", fragment ?? string.Empty);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void WriteRoleDelta(Utf8JsonWriter w, AnswerChoice choice)
    {
        w.WriteString("role", "assistant");
        if (choice.ToolCalls.Count > 0)
        {
            w.WriteNull("content");
        }
        else
        {
            w.WriteString("content", string.Empty);
        }

        w.WriteNull("refusal");
    }

    private static SseEvent Chunk(RenderContext context, int index, Action<Utf8JsonWriter> writeDelta, string? finishReason) =>
        new(null, JsonText.Build(w =>
        {
            WriteHeader(w, context);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", index);
            w.WriteStartObject("delta");
            writeDelta(w);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            if (finishReason is null)
            {
                w.WriteNull("finish_reason");
            }
            else
            {
                w.WriteString("finish_reason", finishReason);
            }

            if (context.AzureContentFilter)
            {
                w.WritePropertyName("content_filter_results");
                WriteFilterResults(w);
            }

            w.WriteEndObject();
            w.WriteEndArray();
            if (context.IncludeUsage)
            {
                w.WriteNull("usage");
            }

            WriteObfuscation(w, context);
            w.WriteEndObject();
        }));

    private static void WriteHeader(Utf8JsonWriter w, RenderContext context)
    {
        w.WriteStartObject();
        w.WriteString("id", context.Id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", context.Created);
        w.WriteText("model", context.Model);
        w.WriteString("service_tier", FakeDefaults.ServiceTier);
        w.WriteString("system_fingerprint", context.Fingerprint);
    }

    private static void WriteObfuscation(Utf8JsonWriter w, RenderContext context)
    {
        if (context.NextObfuscation() is { } padding)
        {
            w.WriteString("obfuscation", padding);
        }
    }

    private static void WriteUsage(Utf8JsonWriter w, Answer answer)
    {
        w.WriteStartObject();
        w.WriteNumber("prompt_tokens", answer.PromptTokens);
        w.WriteNumber("completion_tokens", answer.CompletionTokens);
        w.WriteNumber("total_tokens", answer.PromptTokens + answer.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", 0);
        w.WriteNumber("audio_tokens", 0);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteNumber("audio_tokens", 0);
        w.WriteNumber("accepted_prediction_tokens", 0);
        w.WriteNumber("rejected_prediction_tokens", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string PromptFilterFrame() => JsonText.Build(w =>
    {
        WriteEmptyIdentity(w);
        w.WriteStartArray("prompt_filter_results");
        w.WriteStartObject();
        w.WriteNumber("prompt_index", 0);
        w.WritePropertyName("content_filter_results");
        WriteFilterResults(w);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartArray("choices");
        w.WriteEndArray();
        w.WriteNull("usage");
        w.WriteEndObject();
    });

    private static string AnnotationFrame(AnswerChoice choice) => JsonText.Build(w =>
    {
        int length = choice.Text.Length;
        WriteEmptyIdentity(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", choice.Index);
        w.WriteNull("finish_reason");
        w.WritePropertyName("content_filter_results");
        WriteFilterResults(w);
        w.WriteStartObject("content_filter_offsets");
        w.WriteNumber("check_offset", length);
        w.WriteNumber("start_offset", 0);
        w.WriteNumber("end_offset", length);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("usage");
        w.WriteEndObject();
    });

    private static void WriteEmptyIdentity(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", string.Empty);
        w.WriteString("object", string.Empty);
        w.WriteNumber("created", 0);
        w.WriteString("model", string.Empty);
    }

    private static void WriteFilterResults(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (string category in (string[])["hate", "self_harm", "sexual", "violence"])
        {
            w.WriteStartObject(category);
            w.WriteBoolean("filtered", false);
            w.WriteString("severity", "safe");
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}
