using System.Text;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// Generates a deterministic gpt-4o chat completion stream: a role chunk, content chunks whose tokens
/// mix ASCII words, accented words, CJK and emoji (surrogate pairs), by default a tool call whose arguments (a JSON object
/// of the same tokens) come one piece per chunk in the last tenth of the chunks, a <c>delta:{}</c> chunk with its finish
/// reason, then <c>data: [DONE]</c>. Key order and spelling follow 2025 captures of api.openai.com or
/// tests/OpenAIStreaming.Tests/Recordings/chat-text.sse and chat-tool-call.sse (2024).
/// </summary>
public static class ChatStreamGenerator
{
    public const int DefaultChunkCount = 20_000;

    private const int Seed = 20_250_703;

    private static readonly string[] AsciiWords =
    [
        " the", " of", " and", " to", " a", " in", " is", " that", " for", " it", " as", " with", " on", " this",
        " stream", " reader", " token", " buffer", " server", " client", " event", " parser", " bytes", " chunk",
        " latency", " model", " response", " request", " pipeline", " memory", " allocation", " throughput",
        " we", " can", " will", " should", " each", " every", " when", " then", " because", " without",
        "ing", "ed", "s", "ly", "tion", "er", " HTTP", " JSON", " UTF", "-8", " API", " 4", "096", " 2025",
    ];

    private static readonly string[] Punctuation = [".", ",", ":", ";", "!", "?", " (", ")", " -", "'s", "```", " =>", " {", " }"];

    // Tokens that JSON must escape: newlines, quotes, backslashes, tabs.
    private static readonly string[] Escaped = ["\n", "\n\n", ".\n\n", " \"", "\"", "\",", " \\", "\\n", "\t", ":\n"];

    private static readonly string[] Accented =
    [
        " café", " niño", " über", "é", " señor", " déjà", " vu", " naïve", " Zürich", " año", "ñ", "ü", " façade", " crème", " brûlée",
    ];

    private static readonly string[] Cjk = ["漢字", "日本語", "中文", "的", "是", "一", "流", "東京", "。", "、", "データ", "ストリーム", "서울", "한국어"];

    private static readonly string[] Emoji = ["🙂", "🚀", " 👍", "🎉", " ✨", "🔥", "😀😀", " 🇯🇵", "👩‍💻"];

    private static readonly (int Percent, string[] Tokens)[] TokenMix =
    [
        (68, AsciiWords),
        (10, Punctuation),
        (5, Escaped),
        (7, Accented),
        (6, Cjk),
        (4, Emoji),
    ];

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Generates <paramref name="chunkCount"/> chunks; with <paramref name="withToolCall"/>, the last tenth before the finish chunk is a tool call.</summary>
    public static ChatStreamData Generate(ChunkShape shape, int chunkCount = DefaultChunkCount, bool withToolCall = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkCount, 2);
        int toolCallChunks = withToolCall ? (chunkCount - 2) / 10 : 0;
        int firstToolCallChunk = toolCallChunks >= 3 ? chunkCount - 1 - toolCallChunks : int.MaxValue;
        var arguments = new StringBuilder(); // the tool call's arguments as sent: JSON text
        var random = new Random(Seed);
        string id = "chatcmpl-" + RandomString(random, 29);
        string head = shape == ChunkShape.Current2025
            ? $$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":"""
            : $$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":""";

        var body = new StringBuilder(chunkCount * 300);
        var text = new StringBuilder(chunkCount * 6);
        for (int i = 0; i < chunkCount; i++)
        {
            body.Append(head);
            if (i == 0)
            {
                body.Append("""{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]""");
            }
            else if (i == chunkCount - 1)
            {
                body.Append(firstToolCallChunk == int.MaxValue ? """{},"logprobs":null,"finish_reason":"stop"}]""" : """{},"logprobs":null,"finish_reason":"tool_calls"}]""");
            }
            else if (i == firstToolCallChunk)
            {
                body.Append("""{"tool_calls":[{"index":0,"id":"call_""").Append(RandomString(random, 24))
                    .Append("\",\"type\":\"function\",\"function\":{\"name\":\"search_documents\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]");
            }
            else if (i > firstToolCallChunk)
            {
                // One piece of the arguments per chunk: the object's opening, then one JSON-escaped token each, then its end.
                var piece = new StringBuilder();
                if (i == firstToolCallChunk + 1)
                {
                    piece.Append("{\"query\": \"");
                }
                else if (i == chunkCount - 2)
                {
                    piece.Append("\"}");
                }
                else
                {
                    AppendJsonEscaped(piece, NextToken(random));
                }

                arguments.Append(piece);
                body.Append("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"");
                AppendJsonEscaped(body, piece.ToString());
                body.Append("\"}}]},\"logprobs\":null,\"finish_reason\":null}]");
            }
            else
            {
                string token = NextToken(random);
                text.Append(token);
                body.Append("{\"content\":\"");
                AppendJsonEscaped(body, token);
                body.Append("\"},\"logprobs\":null,\"finish_reason\":null}]");
            }

            if (shape == ChunkShape.Current2025)
            {
                body.Append(",\"usage\":null,\"obfuscation\":\"").Append(RandomString(random, random.Next(1, 13))).Append('"');
            }

            body.Append("}\n\n");
        }

        body.Append("data: [DONE]\n\n");
        return new ChatStreamData(shape, Encoding.UTF8.GetBytes(body.ToString()), chunkCount, text.Append(arguments).ToString());
    }

    private static string NextToken(Random random)
    {
        int roll = random.Next(100);
        foreach (var (percent, tokens) in TokenMix)
        {
            if (roll < percent)
            {
                return tokens[random.Next(tokens.Length)];
            }

            roll -= percent;
        }

        throw new InvalidOperationException("TokenMix percentages must add up to 100.");
    }

    private static string RandomString(Random random, int length)
    {
        return string.Create(length, random, static (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = IdAlphabet[r.Next(IdAlphabet.Length)];
            }
        });
    }

    /// <summary>JSON string escaping as OpenAI does it: raw UTF-8 for non-ASCII, escapes for quotes, backslashes and controls.</summary>
    private static void AppendJsonEscaped(StringBuilder builder, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case < ' ': builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }
    }
}
