using System.Text;

namespace OpenAIStreaming.Tests.Support;

public static class NewLineExtensions
{
    /// <summary>Rewrites every '\n' of <paramref name="lfText"/> as the given line ending.</summary>
    public static string Apply(this NewLine newLine, string lfText)
    {
        switch (newLine)
        {
            case NewLine.Lf:
                return lfText;
            case NewLine.CrLf:
                return lfText.Replace("\n", "\r\n", StringComparison.Ordinal);
            case NewLine.Cr:
                return lfText.Replace("\n", "\r", StringComparison.Ordinal);
            default:
                string[] cycle = ["\r", "\r\n", "\n"];
                var builder = new StringBuilder(lfText.Length * 2);
                int breaks = 0;
                foreach (char c in lfText)
                {
                    builder.Append(c == '\n' ? cycle[breaks++ % cycle.Length] : c.ToString());
                }

                return builder.ToString();
        }
    }
}
