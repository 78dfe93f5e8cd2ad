using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks;

/// <summary>
/// Runs every reader a number of times before an in-process run, so that tiered compilation has promoted the hot
/// methods before the first benchmark is measured (otherwise the first benchmark pays for it on a busy machine).
/// </summary>
public static class ReaderWarmup
{
    public static async Task RunAsync(int rounds)
    {
        foreach (var shape in Enum.GetValues<ChunkShape>())
        {
            var readers = ChatTextReaders.Create(ChatStreamGenerator.Generate(shape));
            for (int round = 0; round < rounds; round++)
            {
                foreach (var reader in readers)
                {
                    await reader.ReadAsync(sink: null);
                }
            }
        }
    }
}
