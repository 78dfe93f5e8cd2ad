namespace OpenAIStreaming.Fallback.Internal;

/// <summary>One target of a call: where an attempt goes and what it sends.</summary>
/// <param name="Index">The position in the chain: 0 for the request itself, then the fallbacks in order.</param>
/// <param name="Uri">The address.</param>
/// <param name="Model">The model asked for (the body's <c>model</c>), when known.</param>
/// <param name="Fallback">The fallback this target comes from; null for the request itself.</param>
/// <param name="ForeignOrigin">Whether the address is on another origin than the request's (so only allow-listed headers go there).</param>
/// <param name="Body">The body to send (the request's, with the model rewritten for a model fallback).</param>
/// <param name="Route">The route whose health this target's attempts report to (an endpoint and a model).</param>
internal sealed record Target(int Index, Uri? Uri, string? Model, OpenAIStreamingFallback? Fallback, bool ForeignOrigin, ReadOnlyMemory<byte> Body, string Route)
{
    /// <summary>Gets a value indicating whether this target may take a request rejected for its context length.</summary>
    public bool HasLargerContextWindow => Fallback?.HasLargerContextWindow == true;

    /// <summary>Describes the target for logs (host and model; never a credential).</summary>
    public override string ToString() => Fallback is null ? "primary" : Fallback.ToString();
}
