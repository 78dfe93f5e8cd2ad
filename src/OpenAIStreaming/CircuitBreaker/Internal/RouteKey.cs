namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>
/// Names a route: the endpoint (scheme, host and port) and the model — or, on Azure, the deployment in the path, which is
/// the model there. One host serves many models, and an outage or a rate limit is usually one model's, so health is kept
/// per route, never per host alone.
/// </summary>
internal static class RouteKey
{
    private const string Deployments = "/openai/deployments/";

    private const int Slots = 8; // routes remembered at once: a request's own and its fallbacks', several models on one address

    /// <summary>
    /// The routes last named, by model: nearly every call of an application goes to one of a few routes. Only an address
    /// with no user information and no query is kept (either may hold a credential, and a static outlives every client).
    /// </summary>
    private static readonly Entry?[] s_recent = new Entry?[Slots];

    /// <summary>The route of a request to <paramref name="uri"/> for <paramref name="model"/> (the body's top-level <c>model</c>).</summary>
    public static string Of(Uri? uri, string? model)
    {
        if (uri is not { IsAbsoluteUri: true })
        {
            return "(relative) " + (model ?? string.Empty);
        }

        string address = uri.OriginalString;
        int slot = (int)((uint)((model?.GetHashCode() ?? 0) ^ address.Length) % Slots);
        if (Volatile.Read(ref s_recent[slot]) is { } recent
            && string.Equals(recent.Address, address, StringComparison.Ordinal)
            && (recent.IsDeployment || string.Equals(recent.Model, model, StringComparison.Ordinal)))
        {
            return recent.Route;
        }

        (string endpoint, bool isDeployment) = EndpointOf(uri);
        string route = isDeployment || model is null ? endpoint : endpoint + " " + model;
        if (address.AsSpan().IndexOfAny('?', '#') < 0 && uri.UserInfo.Length == 0)
        {
            Volatile.Write(ref s_recent[slot], new Entry(address, isDeployment, model, route));
        }

        return route;
    }

    /// <summary>The endpoint (scheme, host and port) or, on Azure, the endpoint and its deployment, which is the route whatever the model.</summary>
    private static (string Endpoint, bool IsDeployment) EndpointOf(Uri uri)
    {
        // Scheme, host and port only: never the user information an address may carry (it would reach logs and metric tags).
        string endpoint = uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped).ToLowerInvariant();
        string path = uri.AbsolutePath;
        int deployments = path.IndexOf(Deployments, StringComparison.OrdinalIgnoreCase);
        if (deployments >= 0)
        {
            int start = deployments + Deployments.Length;
            int end = path.IndexOf('/', start);
            string deployment = end < 0 ? path[start..] : path[start..end];
            return (endpoint + Deployments + deployment, true);
        }

        return (endpoint, false);
    }

    private sealed record Entry(string Address, bool IsDeployment, string? Model, string Route);
}
