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
        if (options.CircuitBreaker is null)
        {
            builder.AddError("CircuitBreaker must not be null.", nameof(OpenAIStreamingOptions.CircuitBreaker));
        }

        if (options.Recovery is null)
        {
            builder.AddError("Recovery must not be null.", nameof(OpenAIStreamingOptions.Recovery));
        }

        for (int i = 0; i < options.Fallbacks.Count; i++)
        {
            CheckFallback(builder, options.Fallbacks[i], $"{nameof(OpenAIStreamingOptions.Fallbacks)}[{i}]");
        }

        foreach (KeyValuePair<string, IList<OpenAIStreamingFallback>> pair in options.ModelFallbacks)
        {
            string path = $"{nameof(OpenAIStreamingOptions.ModelFallbacks)}[{pair.Key}]";
            if (string.IsNullOrWhiteSpace(pair.Key))
            {
                builder.AddError($"{nameof(OpenAIStreamingOptions.ModelFallbacks)} has a blank model name.", nameof(OpenAIStreamingOptions.ModelFallbacks));
            }

            if (pair.Value is null)
            {
                builder.AddError($"{path} must not be null.", path);
                continue;
            }

            for (int i = 0; i < pair.Value.Count; i++)
            {
                CheckFallback(builder, pair.Value[i], $"{path}[{i}]");
            }
        }

        return builder.Build();
    }

    /// <summary>Checks the fallbacks a request sets (<see cref="OpenAIStreamingRequestOptions.Fallbacks"/>).</summary>
    /// <exception cref="ArgumentException">A fallback breaks a rule.</exception>
    public static void CheckRequestFallbacks(HttpRequestOptions requestOptions)
    {
        if (!requestOptions.TryGetValue(OpenAIStreamingRequestOptions.Fallbacks, out IReadOnlyList<OpenAIStreamingFallback>? fallbacks) || fallbacks is null)
        {
            return;
        }

        var builder = new ValidateOptionsResultBuilder();
        for (int i = 0; i < fallbacks.Count; i++)
        {
            CheckFallback(builder, fallbacks[i], $"{OpenAIStreamingRequestOptions.Fallbacks.Key}[{i}]");
        }

        ValidateOptionsResult result = builder.Build();
        if (result.Failed)
        {
            throw new ArgumentException(result.FailureMessage, nameof(requestOptions));
        }
    }

    /// <summary>Checks one fallback.</summary>
    internal static void CheckFallback(ValidateOptionsResultBuilder builder, OpenAIStreamingFallback? fallback, string path)
    {
        if (fallback is null)
        {
            builder.AddError($"{path} must not be null.", path);
            return;
        }

        if (string.IsNullOrWhiteSpace(fallback.Model) && fallback.Endpoint is null)
        {
            builder.AddError($"{path} must name a Model, an Endpoint, or both.", path);
        }

        if (fallback.Model is { } model && string.IsNullOrWhiteSpace(model))
        {
            builder.AddError($"{path}.Model must not be blank.", path);
        }

        if (fallback.Endpoint is { } endpoint
            && (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            builder.AddError($"{path}.Endpoint must be an absolute http or https address.", path);
        }

        if (fallback.ApiKey is { } key && (key.Length == 0 || key.AsSpan().ContainsAny('\r', '\n')))
        {
            builder.AddError($"{path}.ApiKey must be non-empty and contain no line breaks.", path);
        }

        foreach (KeyValuePair<string, string> header in fallback.Headers)
        {
            if (string.IsNullOrWhiteSpace(header.Key) || header.Value is null || header.Value.AsSpan().ContainsAny('\r', '\n'))
            {
                builder.AddError($"{path}.Headers has an invalid header '{header.Key}' (a name is required; values must not contain line breaks).", path);
            }
        }
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
