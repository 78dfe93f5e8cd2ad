using Microsoft.Extensions.Options;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// All rules of <see cref="OpenAIStreamingOptions"/>: the <c>[Range]</c> attributes and the cross-field rules (each of the
/// connect, first-token and idle timeouts at most the total timeout). Every failure is reported, not only the first.
/// </summary>
internal sealed class OpenAIStreamingOptionsValidator : IValidateOptions<OpenAIStreamingOptions>
{
    public static readonly OpenAIStreamingOptionsValidator Instance = new();

    private static readonly OpenAIStreamingOptionsAttributeValidator Attributes = new();

    public ValidateOptionsResult Validate(string? name, OpenAIStreamingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new ValidateOptionsResultBuilder();
        builder.AddResult(Attributes.Validate(name, options));
        CheckAtMostTotal(builder, options, nameof(OpenAIStreamingOptions.ConnectTimeout), options.ConnectTimeout);
        CheckAtMostTotal(builder, options, nameof(OpenAIStreamingOptions.FirstTokenTimeout), options.FirstTokenTimeout);
        CheckAtMostTotal(builder, options, nameof(OpenAIStreamingOptions.IdleTimeout), options.IdleTimeout);
        return builder.Build();
    }

    private static void CheckAtMostTotal(ValidateOptionsResultBuilder builder, OpenAIStreamingOptions options, string property, TimeSpan value)
    {
        if (value > options.TotalTimeout)
        {
            builder.AddError(
                $"{property} ({value}) must not exceed TotalTimeout ({options.TotalTimeout}).",
                property);
        }
    }
}
