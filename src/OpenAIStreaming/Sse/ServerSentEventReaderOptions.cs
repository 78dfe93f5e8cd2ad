using System.ComponentModel.DataAnnotations;

namespace OpenAIStreaming.Sse;

/// <summary>Options for reading a server-sent event stream.</summary>
public sealed class ServerSentEventReaderOptions
{
    /// <summary>The default maximum event size: 1 MiB.</summary>
    public const int DefaultMaxEventSize = 1024 * 1024;

    /// <summary>Gets shared options with every value at its default. Do not modify.</summary>
    public static ServerSentEventReaderOptions Default { get; } = new();

    /// <summary>
    /// Gets or sets the largest event the reader accepts, in bytes of event data (the values of its <c>data:</c> lines
    /// joined with <c>'\n'</c>); a single line of any field longer than this is rejected too. A larger event fails the
    /// stream with <see cref="OpenAIStreamProtocolException"/> instead of growing memory without bound.
    /// </summary>
    /// <value>The default is 1 MiB (1,048,576 bytes).</value>
    [Range(16, int.MaxValue / 2)]
    public int MaxEventSize { get; set; } = DefaultMaxEventSize;
}
