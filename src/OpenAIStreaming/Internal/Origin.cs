namespace OpenAIStreaming.Internal;

/// <summary>The origin of an address (scheme, host and port): what credentials and state are scoped to.</summary>
internal static class Origin
{
    /// <summary>Whether two addresses share an origin; a relative or missing address counts as the same.</summary>
    public static bool Same(Uri? a, Uri? b) =>
        a is not { IsAbsoluteUri: true } || b is not { IsAbsoluteUri: true }
        || Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
