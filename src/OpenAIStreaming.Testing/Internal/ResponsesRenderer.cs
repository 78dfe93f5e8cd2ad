using System.Security.Cryptography;
using System.Text.Json;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Writes Responses API answers: <c>event:</c> + <c>data:</c> events with gap-free
/// <c>sequence_number</c>s from 0, a text message or function calls, and the terminal event; no <c>[DONE]</c>.
/// </summary>
internal sealed class ResponsesRenderer
{
    private const string ServerErrorMessage = "An error occurred while processing your request.";

    private readonly RenderContext _context;
    private readonly AnswerChoice _choice;
    private readonly Answer _answer;
    private readonly bool _background;
    private readonly string _messageId = "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    private readonly List<SseEvent> _events = [];

    private ResponsesRenderer(RenderContext context, Answer answer, bool background)
    {
        _context = context;
        _answer = answer;
        _choice = answer.Choices[0];
        _background = background;
    }

    private string FinalStatus => _choice.FinishReason == "length" ? "incomplete" : "completed";

    public static ResponsesResult Render(RenderContext context, Answer answer, bool background)
    {
        var renderer = new ResponsesRenderer(context, answer, background);
        return renderer.Build();
    }

    private ResponsesResult Build()
    {
        string firstStatus = _background ? "queued" : "in_progress";
        Add("response.created", w => WriteResponse(w, firstStatus, completedOutput: false, error: null));
        if (_background)
        {
            Add("response.queued", w => WriteResponse(w, "queued", completedOutput: false, error: null));
        }

        Add("response.in_progress", w => WriteResponse(w, "in_progress", completedOutput: false, error: null));
        if (_choice.ToolCalls.Count > 0)
        {
            AddFunctionCalls();
        }
        else
        {
            AddMessage();
        }

        Add("response." + FinalStatus, w => WriteResponse(w, FinalStatus, completedOutput: true, error: null));
        var plan = new StreamPlan(_events, ErrorEvents) { Endless = EndlessDelta };
        return new ResponsesResult(
            _context.Id,
            plan,
            JsonText.Build(w => WriteResponseObject(w, FinalStatus, completedOutput: true, error: null)),
            JsonText.Build(w => WriteResponseObject(w, firstStatus, completedOutput: false, error: null)));
    }

    private void AddMessage()
    {
        string text = _choice.Text;
        Add("response.output_item.added", w =>
        {
            w.WriteNumber("output_index", 0);
            w.WritePropertyName("item");
            WriteMessageItem(w, completed: false);
        });
        Add("response.content_part.added", w =>
        {
            WritePartPosition(w);
            w.WritePropertyName("part");
            WriteTextPart(w, string.Empty);
        });
        foreach (string token in _choice.Tokens)
        {
            Add("response.output_text.delta", w =>
            {
                WritePartPosition(w);
                w.WriteText("delta", token);
                w.WriteStartArray("logprobs");
                w.WriteEndArray();
                if (_context.NextObfuscation() is { } padding)
                {
                    w.WriteString("obfuscation", padding);
                }
            });
        }

        Add("response.output_text.done", w =>
        {
            WritePartPosition(w);
            w.WriteText("text", text);
            w.WriteStartArray("logprobs");
            w.WriteEndArray();
        });
        Add("response.content_part.done", w =>
        {
            WritePartPosition(w);
            w.WritePropertyName("part");
            WriteTextPart(w, text);
        });
        Add("response.output_item.done", w =>
        {
            w.WriteNumber("output_index", 0);
            w.WritePropertyName("item");
            WriteMessageItem(w, completed: true);
        });
    }

    private void AddFunctionCalls()
    {
        for (int index = 0; index < _choice.ToolCalls.Count; index++)
        {
            ToolCallPlan call = _choice.ToolCalls[index];
            int outputIndex = index;
            Add("response.output_item.added", w =>
            {
                w.WriteNumber("output_index", outputIndex);
                w.WritePropertyName("item");
                WriteFunctionItem(w, call, completed: false);
            });
            foreach (string fragment in call.Fragments)
            {
                Add("response.function_call_arguments.delta", w =>
                {
                    w.WriteString("item_id", FunctionItemId(call));
                    w.WriteNumber("output_index", outputIndex);
                    w.WriteText("delta", fragment);
                });
            }

            Add("response.function_call_arguments.done", w =>
            {
                w.WriteString("item_id", FunctionItemId(call));
                w.WriteText("name", call.Name);
                w.WriteNumber("output_index", outputIndex);
                w.WriteText("arguments", call.Arguments);
            });
            Add("response.output_item.done", w =>
            {
                w.WriteNumber("output_index", outputIndex);
                w.WritePropertyName("item");
                WriteFunctionItem(w, call, completed: true);
            });
        }
    }

    private IReadOnlyList<SseEvent> ErrorEvents(int sent, MidStreamErrorShape shape)
    {
        return shape switch
        {
            MidStreamErrorShape.Flat => [Event("error", sent, w =>
            {
                w.WriteString("code", "server_error");
                w.WriteString("message", ServerErrorMessage);
                w.WriteNull("param");
            })],
            MidStreamErrorShape.ResponseFailed => [Event("response.failed", sent, w => WriteResponse(w, "failed", completedOutput: false, error: "server_error"))],
            _ => [new SseEvent("error", JsonText.Build(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "error");
                w.WriteNumber("sequence_number", sent);
                w.WriteStartObject("error");
                w.WriteString("type", "server_error");
                w.WriteString("code", "server_error");
                w.WriteString("message", ServerErrorMessage);
                w.WriteNull("param");
                w.WriteEndObject();
                w.WriteEndObject();
            }))],
        };
    }

    /// <summary>One more text delta of the message, with the next sequence number.</summary>
    private SseEvent EndlessDelta(int sent) => Event("response.output_text.delta", sent, w =>
    {
        WritePartPosition(w);
        w.WriteString("delta", EndlessBodies.Token);
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        if (_context.NextObfuscation() is { } padding)
        {
            w.WriteString("obfuscation", padding);
        }
    });

    private void Add(string type, Action<Utf8JsonWriter> writeFields) => _events.Add(Event(type, _events.Count, writeFields));

    private static SseEvent Event(string type, int sequenceNumber, Action<Utf8JsonWriter> writeFields) => new(type, JsonText.Build(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteNumber("sequence_number", sequenceNumber);
        writeFields(w);
        w.WriteEndObject();
    }));

    private void WriteResponse(Utf8JsonWriter w, string status, bool completedOutput, string? error)
    {
        w.WritePropertyName("response");
        WriteResponseObject(w, status, completedOutput, error);
    }

    private void WriteResponseObject(Utf8JsonWriter w, string status, bool completedOutput, string? error)
    {
        w.WriteStartObject();
        w.WriteString("id", _context.Id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", _context.Created);
        w.WriteString("status", status);
        w.WriteBoolean("background", _background);
        if (error is null)
        {
            w.WriteNull("error");
        }
        else
        {
            w.WriteStartObject("error");
            w.WriteString("code", error);
            w.WriteString("message", ServerErrorMessage);
            w.WriteEndObject();
        }

        if (status == "incomplete")
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", "max_output_tokens");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details");
        }

        w.WriteNull("instructions");
        w.WriteNull("max_output_tokens");
        w.WriteText("model", _context.Model);
        w.WriteStartArray("output");
        if (completedOutput)
        {
            WriteCompletedOutput(w);
        }

        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls", true);
        w.WriteNull("previous_response_id");
        w.WriteStartObject("reasoning");
        w.WriteNull("effort");
        w.WriteNull("summary");
        w.WriteEndObject();
        w.WriteString("service_tier", FakeDefaults.ServiceTier);
        w.WriteBoolean("store", true);
        w.WriteNumber("temperature", 1.0);
        w.WriteStartObject("text");
        w.WriteStartObject("format");
        w.WriteString("type", "text");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("tool_choice", "auto");
        w.WriteStartArray("tools");
        w.WriteEndArray();
        w.WriteNumber("top_p", 1.0);
        w.WriteString("truncation", "disabled");
        if (completedOutput)
        {
            WriteUsage(w);
        }
        else
        {
            w.WriteNull("usage");
        }

        w.WriteNull("user");
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void WriteCompletedOutput(Utf8JsonWriter w)
    {
        if (_choice.ToolCalls.Count == 0)
        {
            WriteMessageItem(w, completed: true);
            return;
        }

        foreach (ToolCallPlan call in _choice.ToolCalls)
        {
            WriteFunctionItem(w, call, completed: true);
        }
    }

    private void WriteUsage(Utf8JsonWriter w)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", _answer.PromptTokens);
        w.WriteStartObject("input_tokens_details");
        w.WriteNumber("cached_tokens", 0);
        w.WriteEndObject();
        w.WriteNumber("output_tokens", _answer.CompletionTokens);
        w.WriteStartObject("output_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteEndObject();
        w.WriteNumber("total_tokens", _answer.PromptTokens + _answer.CompletionTokens);
        w.WriteEndObject();
    }

    private void WritePartPosition(Utf8JsonWriter w)
    {
        w.WriteString("item_id", _messageId);
        w.WriteNumber("output_index", 0);
        w.WriteNumber("content_index", 0);
    }

    private void WriteMessageItem(Utf8JsonWriter w, bool completed)
    {
        w.WriteStartObject();
        w.WriteString("id", _messageId);
        w.WriteString("type", "message");
        w.WriteString("status", completed ? "completed" : "in_progress");
        w.WriteStartArray("content");
        if (completed)
        {
            WriteTextPart(w, _choice.Text);
        }

        w.WriteEndArray();
        w.WriteString("role", "assistant");
        w.WriteEndObject();
    }

    private static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        w.WriteText("text", text);
        w.WriteEndObject();
    }

    private static string FunctionItemId(ToolCallPlan call) => "fc_" + call.Id["call_".Length..];

    private static void WriteFunctionItem(Utf8JsonWriter w, ToolCallPlan call, bool completed)
    {
        w.WriteStartObject();
        w.WriteString("id", FunctionItemId(call));
        w.WriteString("type", "function_call");
        w.WriteString("status", completed ? "completed" : "in_progress");
        w.WriteText("arguments", completed ? call.Arguments : string.Empty);
        w.WriteString("call_id", call.Id);
        w.WriteText("name", call.Name);
        w.WriteEndObject();
    }
}
