using OpenAIStreaming.Tests.Handler.Support;

namespace OpenAIStreaming.Tests.Support;

/// <summary>A protected stream under test (the handler, or the wrapper client) over a scripted transport and a manual clock.</summary>
public interface IStreamProtectionHarness : IDisposable
{
    ManualTimeProvider Time { get; }

    ScriptedHandler Stub { get; }

    /// <summary>Streams a chat completion through the typed reader and returns its text.</summary>
    Task<string> StreamTextAsync(CancellationToken cancellationToken = default);
}
