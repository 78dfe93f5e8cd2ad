using Microsoft.Extensions.Options;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>The <c>[Range]</c> rules of <see cref="OpenAIStreamingOptions"/>, generated at compile time (trimming and AOT safe).</summary>
[OptionsValidator]
internal sealed partial class OpenAIStreamingOptionsAttributeValidator : IValidateOptions<OpenAIStreamingOptions>
{
}
