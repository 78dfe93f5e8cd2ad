using System.Text;

namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>One way of reading a chat completion stream into its text deltas.</summary>
public interface IChatTextReader
{
    string Name { get; }

    /// <summary>Reads the whole stream once and returns the number of text characters; appends the text to <paramref name="sink"/> when given.</summary>
    Task<int> ReadAsync(StringBuilder? sink);
}
