using System.Globalization;
using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Makes the answer a pure function of (server seed, model, messages, request seed, choice index):
/// a re-sent request yields the same tokens. Tokens mix ASCII, accented Latin, CJK and emoji, and every
/// answer holds at least one multi-byte character so that split-character faults always have something to split.
/// </summary>
internal static class AnswerGenerator
{
    private static readonly string[] AsciiTokens =
    [
        " the", " quick", " stream", " of", " tokens", " arrives", " on", " time", " and", " in", " order", ",", ".",
        " test", " server", " answer", " data", " flows", " again", " here", " with", " every", " chunk", " byte",
    ];

    private static readonly string[] MultiByteTokens =
    [
        " café", " über", " naïve", " Größe", " déjà", " señal", " 漢字", " 日本語", " 你好", " 한국어", " 🙂", " 🚀", " 🎉", " ñandú",
    ];

    public static Answer Generate(AnswerRequest request, long serverSeed, int? divergeAfterToken, int attempt, int tokenCount)
    {
        ulong baseSeed = DeterministicRandom.SeedFrom(Key(request, serverSeed));
        int count = request.MaxTokens is { } max && max < tokenCount ? Math.Max(max, 1) : tokenCount;
        string textFinish = count < tokenCount ? "length" : "stop";
        var choices = new AnswerChoice[request.Choices];
        for (int index = 0; index < choices.Length; index++)
        {
            ulong choiceSeed = baseSeed ^ ((ulong)index * 0xD1B54A32D192ED03UL);
            List<ToolCallPlan> calls = PlanToolCalls(request, new DeterministicRandom(choiceSeed ^ 0x7F4A7C15UL));
            choices[index] = calls.Count > 0
                ? new AnswerChoice(index, [], calls, "tool_calls")
                : new AnswerChoice(index, Tokens(choiceSeed, count, divergeAfterToken, attempt), [], textFinish);
        }

        return new Answer(choices, PromptTokens(request.Messages));
    }

    private static string Key(AnswerRequest request, long serverSeed)
    {
        var key = new StringBuilder();
        key.Append(CultureInfo.InvariantCulture, $"{serverSeed}\u0000{request.Model}\u0000{request.Seed}\u0000");
        foreach (FakeMessage message in request.Messages)
        {
            key.Append(message.Role).Append('\u001f').Append(message.Content).Append('\u001e');
        }

        return key.ToString();
    }

    private static string[] Tokens(ulong seed, int count, int? divergeAfterToken, int attempt)
    {
        var random = new DeterministicRandom(seed);
        var diverged = new DeterministicRandom(seed ^ ((ulong)attempt * 0x9E3779B97F4A7C15UL) ^ 0xA5A5A5A5UL);
        int multiByteAt = Math.Min(1, count - 1);
        var tokens = new string[count];
        for (int i = 0; i < count; i++)
        {
            ulong mainDraw = random.Next();
            ulong draw = divergeAfterToken is { } n && i >= n ? diverged.Next() : mainDraw;
            string[] pool = i == multiByteAt || draw % 4 == 0 ? MultiByteTokens : AsciiTokens;
            string token = pool[(int)((draw >> 8) % (ulong)pool.Length)];
            tokens[i] = i == 0 ? token.TrimStart() : token;
        }

        return tokens;
    }

    private static List<ToolCallPlan> PlanToolCalls(AnswerRequest request, DeterministicRandom random)
    {
        if (request.Tools.Count == 0 || request.ToolChoice == "none")
        {
            return [];
        }

        List<ToolSpec> chosen = request.ToolChoice is "auto" or "required"
            ? [.. request.Tools.Take(request.ParallelToolCalls ? 2 : 1)]
            : [.. request.Tools.Where(t => t.Name == request.ToolChoice).Take(1)];
        var calls = new List<ToolCallPlan>(chosen.Count);
        foreach (ToolSpec tool in chosen)
        {
            string id = "call_" + random.NextId(24);
            string arguments = Arguments(tool, random);
            calls.Add(new ToolCallPlan(id, tool.Name, arguments, Fragment(arguments, random)));
        }

        return calls;
    }

    private static string Arguments(ToolSpec tool, DeterministicRandom random) => JsonText.Build(writer =>
    {
        writer.WriteStartObject();
        foreach ((string name, string type) in tool.Parameters)
        {
            switch (type)
            {
                case "integer":
                    writer.WriteNumber(name, random.Next(100));
                    break;
                case "number":
                    writer.WriteNumber(name, random.Next(1000) / 10.0);
                    break;
                case "boolean":
                    writer.WriteBoolean(name, random.Next(2) == 0);
                    break;
                default:
                    writer.WriteText(name, string.Concat(Tokens(random.Next(), 3, null, 0)));
                    break;
            }
        }

        writer.WriteEndObject();
    });

    private static string[] Fragment(string arguments, DeterministicRandom random)
    {
        var fragments = new List<string>();
        int start = 0;
        while (start < arguments.Length)
        {
            int end = Math.Min(arguments.Length, start + random.Next(1, 7));
            if (end < arguments.Length && char.IsLowSurrogate(arguments[end]))
            {
                end++;
            }

            fragments.Add(arguments[start..end]);
            start = end;
        }

        return [.. fragments];
    }

    private static int PromptTokens(IReadOnlyList<FakeMessage> messages)
    {
        int tokens = 3;
        foreach (FakeMessage message in messages)
        {
            tokens += 4 + ((message.Content.Length + 3) / 4);
        }

        return tokens;
    }
}
