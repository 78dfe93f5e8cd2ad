namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>
/// Names a route: the endpoint (scheme, host and port) and the model — or, on Azure, the deployment in the path, which is
/// the model there. One host serves many models, and an outage or a rate limit is usually one model's, so health is kept
/// per route, never per host alone.
/// </summary>
internal static class RouteKey
{
    private const string Deployments = "/openai/deployments/";

    /// <summary>The last address named and the model asked for: nearly every call of an application goes to the same route.</summary>
    private static Entry? s_last;

    /// <summary>The route of a request to <paramref name="uri"/> for <paramref name="model"/> (the body's top-level <c>model</c>).</summary>
    public static string Of(Uri? uri, string? model)
    {
        if (uri is not { IsAbsoluteUri: true })
        {
            return "(relative) " + (model ?? string.Empty);
        }

        Entry? last = Volatile.Read(ref s_last);
        if (last is null || !string.Equals(last.Address, uri.OriginalString, StringComparison.Ordinal))
        {
            last = null;
        }
        else if (last.IsDeployment || string.Equals(last.Model, model, StringComparison.Ordinal))
        {
            return last.Route;
        }

        (string endpoint, bool isDeployment) = last is null ? EndpointOf(uri) : (last.Endpoint, last.IsDeployment);
        string route = isDeployment || model is null ? endpoint : endpoint + " " + model;
        if (uri.UserInfo.Length == 0) // an address with credentials is not kept past the call
        {
            Volatile.Write(ref s_last, new Entry(uri.OriginalString, endpoint, isDeployment, model, route));
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

    private sealed record Entry(string Address, string Endpoint, bool IsDeployment, string? Model, string Route);
}
