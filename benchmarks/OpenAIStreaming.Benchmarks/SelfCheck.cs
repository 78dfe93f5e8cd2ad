using System.Globalization;
using System.Text;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// Runs every reader once per chunk shape, outside BenchmarkDotNet, and checks that all of them return
/// exactly the generated text. A benchmark of a reader that loses or alters text would be meaningless.
/// </summary>
public static class SelfCheck
{
    public static async Task<bool> RunAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        bool ok = true;
        foreach (var shape in Enum.GetValues<ChunkShape>())
        {
            var data = ChatStreamGenerator.Generate(shape);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{shape}: {data.ChunkCount:N0} chunks, {data.Body.Length:N0} bytes, {data.AverageChunkBytes:N1} bytes/chunk on average, {data.ExpectedText.Length:N0} text chars, reads of at most {FixedReadSizeStream.DefaultMaxReadSize} bytes"));

            foreach (var reader in ChatTextReaders.Create(data))
            {
                ok &= await CheckAsync(reader, data, output);
            }
        }

        foreach (var shape in Enum.GetValues<ChunkShape>())
        {
            foreach (var pattern in Enum.GetValues<Live.ReadPattern>())
            {
                var live = new Live.LiveStreamBenchmarks { Shape = shape, Pattern = pattern };
                live.Setup();
                ok &= await live.CheckAsync(output);
            }
        }

        output.WriteLine(ok ? "Self-check passed: all readers return the identical text." : "SELF-CHECK FAILED: the readers do not agree (see above).");
        return ok;
    }

    private static async Task<bool> CheckAsync(IChatTextReader reader, ChatStreamData data, TextWriter output)
    {
        var text = new StringBuilder(data.ExpectedText.Length);
        string verdict;
        bool ok;
        try
        {
            int count = await reader.ReadAsync(text);
            string actual = text.ToString();
            ok = count == data.ExpectedText.Length && string.Equals(actual, data.ExpectedText, StringComparison.Ordinal);
            verdict = ok ? "identical" : $"DIFFERENT: returned {count:N0}, text {actual.Length:N0} chars, first difference at char {FirstDifference(actual, data.ExpectedText):N0}";
        }
#pragma warning disable CA1031 // A failing reader is reported, then the check fails.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            ok = false;
            verdict = $"FAILED: {ex.GetType().Name}: {ex.Message}";
        }

        var stream = data.LastOpened;
        string reads = stream is null
            ? "no stream opened"
            : $"{stream.ReadCount:N0} reads ({(double)data.Body.Length / Math.Max(1, stream.ReadCount):N0} bytes each on average), {stream.ZeroByteReadCount:N0} zero-byte reads";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {reader.Name,-16} {verdict,-10}  {reads}"));
        return ok;
    }

    private static int FirstDifference(string a, string b)
    {
        int length = Math.Min(a.Length, b.Length);
        for (int i = 0; i < length; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return length;
    }
}
