namespace OpenAIStreaming;

/// <summary>
/// One entry of <see cref="OpenAIStreamingOptions.Fallbacks"/>: where a request goes when its primary target cannot answer
/// — another model (the <c>model</c> of the JSON body is rewritten), another endpoint (a base address with its own
/// credentials), or both.
/// </summary>
/// <remarks>
/// <para>Fallbacks are tried in order, each with its own retries, when the target before it has used up its retries, missed
/// the first-token timeout, or has an open circuit. A <c>context_length_exceeded</c> error moves the request only to a
/// fallback with <see cref="HasLargerContextWindow"/> set. The consumer sees the answering model in the stream's
/// <c>model</c> field, as the server reports it.</para>
/// <para><b>Credentials.</b> When <see cref="Endpoint"/> names another origin (scheme, host or port differ from the
/// request's), the request carries only an allow-list of its headers there (<c>Accept</c>, <c>Accept-Encoding</c>,
/// <c>Accept-Language</c>, <c>User-Agent</c>, <c>x-client-request-id</c>, <c>x-attempt</c>, <c>x-stainless-*</c>,
/// <c>traceparent</c>, <c>tracestate</c>, <c>OpenAI-Beta</c>, <c>Idempotency-Key</c>): no <c>Authorization</c>,
/// <c>api-key</c>, <c>Ocp-Apim-Subscription-Key</c>, cookie or any other header that might hold a secret.
/// <see cref="ApiKey"/> and <see cref="Headers"/> supply the fallback's own. Its query string is this address's own plus
/// the request's <c>stream</c>, <c>starting_after</c> and <c>include</c> parameters.</para>
/// </remarks>
/// <example>
/// <code>
/// options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "gpt-4o-mini" });
/// options.Fallbacks.Add(new OpenAIStreamingFallback { Endpoint = new Uri("https://backup.example.com/v1/"), ApiKey = backupKey });
/// </code>
/// </example>
public sealed class OpenAIStreamingFallback
{
    /// <summary>Gets or sets the model to ask for instead (the body's top-level <c>model</c>); <see langword="null"/> keeps the request's.</summary>
    public string? Model { get; set; }

    /// <summary>
    /// Gets or sets the base address to send to instead (for example <c>https://backup.example.com/v1/</c>);
    /// <see langword="null"/> keeps the request's. The operation path of the request (what follows <c>/v1/</c>, or follows
    /// <c>/openai/deployments/{name}/</c> on Azure, for example <c>chat/completions</c>) is appended to it; a query string
    /// on this address replaces the request's.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Gets or sets the key sent to <see cref="Endpoint"/> as <c>Authorization: Bearer {ApiKey}</c>. It is never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Gets the extra headers sent with this fallback's requests (for example Azure's <c>api-key</c>). Their values are never logged.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets a value indicating whether this target has a larger context window than the ones before it, so a
    /// request rejected with <c>context_length_exceeded</c> may be sent to it. Other fallbacks are skipped for that error.
    /// </summary>
    public bool HasLargerContextWindow { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether this target continues a final assistant message (a prefill) instead of
    /// answering it — vLLM with <c>continue_final_message</c>, Anthropic-compatible endpoints — so a stream from it that
    /// breaks can be recovered by continuation (<see cref="OpenAIStreamingRecoveryOptions.ContinueWithAssistantPrefill"/>).
    /// </summary>
    public bool AcceptsAssistantPrefill { get; set; }

    /// <summary>Creates a copy of this fallback.</summary>
    /// <returns>A new instance with the same values and its own copy of <see cref="Headers"/>.</returns>
    public OpenAIStreamingFallback Clone()
    {
        var copy = new OpenAIStreamingFallback { Model = Model, Endpoint = Endpoint, ApiKey = ApiKey, HasLargerContextWindow = HasLargerContextWindow, AcceptsAssistantPrefill = AcceptsAssistantPrefill };
        foreach (KeyValuePair<string, string> header in Headers)
        {
            copy.Headers[header.Key] = header.Value;
        }

        return copy;
    }

    /// <summary>Returns a description for logs: the endpoint's host and the model, never a key or header value.</summary>
    /// <returns>For example <c>backup.example.com gpt-4o-mini</c>.</returns>
    public override string ToString() =>
        $"{Endpoint?.Authority ?? "(same endpoint)"} {Model ?? "(same model)"}";
}
