namespace OpenAIStreaming.Testing.Internal;

/// <summary>The four fields of an OpenAI error object.</summary>
internal sealed record OpenAIError(string Message, string? Type, string? Param, string? Code)
{
    /// <summary>The body as api.openai.com writes it: <c>{"error":{…}}</c> pretty-printed with four spaces and a final newline.</summary>
    public string ToJson() => JsonText.Build(
        w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteText("message", Message);
            w.WriteText("type", Type);
            w.WriteText("param", Param);
            w.WriteText("code", Code);
            w.WriteEndObject();
            w.WriteEndObject();
        },
        indented: true) + "\n";
}
