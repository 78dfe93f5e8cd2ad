using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// JSON output helpers. OpenAI writes non-ASCII text as raw UTF-8 (not <c>\uXXXX</c>), which the built-in
/// encoders do not do for every character (emoji), so string values are escaped here and written raw.
/// </summary>
internal static class JsonText
{
    public static void WriteText(this Utf8JsonWriter writer, string name, string? value)
    {
        writer.WritePropertyName(name);
        writer.WriteTextValue(value);
    }

    public static void WriteTextValue(this Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteRawValue(Quote(value), skipInputValidation: true);
    }

    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case < ' ':
                    text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    break;
                case >= '\uD800' and <= '\uDFFF' when !IsPaired(value, i):
                    text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        return text.Append('"').ToString();
    }

    /// <summary>Writes a JSON document with <paramref name="write"/> and returns its compact text.</summary>
    public static string Build(Action<Utf8JsonWriter> write) => Build(write, indented: false);

    /// <summary>Writes a JSON document with <paramref name="write"/>, optionally pretty-printed with four spaces like OpenAI's error bodies.</summary>
    public static string Build(Action<Utf8JsonWriter> write, bool indented)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, IndentSize = 4, SkipValidation = false }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool IsPaired(string value, int i) =>
        char.IsHighSurrogate(value[i])
            ? i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
            : i > 0 && char.IsHighSurrogate(value[i - 1]);
}
