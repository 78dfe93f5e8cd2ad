namespace OpenAIStreaming;

/// <summary>Names and addresses used by the dependency-injection registration.</summary>
public static class OpenAIStreamingDefaults
{
    /// <summary>The name of the <see cref="HttpClient"/> that <c>IServiceCollection.AddOpenAIStreaming</c> registers: <c>"OpenAIStreaming"</c>.</summary>
    public const string HttpClientName = "OpenAIStreaming";

    /// <summary>The base address of that client when none is configured: <c>https://api.openai.com/v1/</c>.</summary>
    public static readonly Uri BaseAddress = new("https://api.openai.com/v1/");
}
