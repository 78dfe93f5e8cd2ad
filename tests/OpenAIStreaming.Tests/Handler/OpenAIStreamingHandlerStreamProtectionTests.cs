using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Handler;

/// <summary>The stream protections the handler shares with <see cref="OpenAIStreamingClient"/>, run through the handler.</summary>
public sealed class OpenAIStreamingHandlerStreamProtectionTests : StreamProtectionContract
{
    protected override IStreamProtectionHarness CreateHarness(OpenAIStreamingOptions? options = null) => new HandlerHarness(options);
}
