using System.Diagnostics;
using System.Globalization;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// A rough comparison for a machine shared with other work: the readers take turns, one whole stream each, many times,
/// and each one's fastest and median stream are reported. Load that comes and goes hits every reader alike, and the
/// fastest run of each is the least disturbed one, so the ratios hold up better than a quick BenchmarkDotNet run's.
/// Not a replacement for the BenchmarkDotNet table (no statistics, no allocation column).
/// </summary>
public static class PairedRun
{
    public static async Task RunAsync(TextWriter output, int rounds)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Paired run: every reader once per round, in turn, {rounds} rounds after 40 warm-up rounds; ns/chunk."));
        foreach (var shape in Enum.GetValues<ChunkShape>())
        {
            var data = ChatStreamGenerator.Generate(shape);
            IChatTextReader[] readers = [new OpenAIStreamingReader(data), new SseParserReader(data)];
            for (int round = 0; round < 40; round++)
            {
                foreach (var reader in readers)
                {
                    await reader.ReadAsync(sink: null);
                }
            }

            var times = readers.Select(_ => new List<double>(rounds)).ToArray();
            for (int round = 0; round < rounds; round++)
            {
                for (int i = 0; i < readers.Length; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    await readers[i].ReadAsync(sink: null);
                    times[i].Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / data.ChunkCount);
                }
            }

            double ourMin = times[0].Min(), baseMin = times[1].Min(), ourMedian = Median(times[0]), baseMedian = Median(times[1]);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{shape,-13} {readers[0].Name} min {ourMin,6:F1} median {ourMedian,6:F1} | {readers[1].Name} min {baseMin,6:F1} median {baseMedian,6:F1} | ratio min {ourMin / baseMin:F2} median {ourMedian / baseMedian:F2}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
