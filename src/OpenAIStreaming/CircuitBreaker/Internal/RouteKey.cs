namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>
/// Names a route: the endpoint (scheme, host and port) and the model — or, on Azure, the deployment in the path, which is
/// the model there. One host serves many models, and an outage or a rate limit is usually one model's, so health is kept
/// per route, never per host alone.
/// </summary>
internal static class RouteKey
{
    private const string Deployments = "/openai/deployments/";

    /// <summary>The route of a request to <paramref name="uri"/> for <paramref name="model"/> (the body's top-level <c>model</c>).</summary>
    public static string Of(Uri? uri, string? model)
    {
        if (uri is not { IsAbsoluteUri: true })
        {
            return "(relative) " + (model ?? string.Empty);
        }

        // Scheme, host and port only: never the user information an address may carry (it would reach logs and metric tags).
        string endpoint = uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped).ToLowerInvariant();
        string path = uri.AbsolutePath;
        int deployments = path.IndexOf(Deployments, StringComparison.OrdinalIgnoreCase);
        if (deployments >= 0)
        {
            int start = deployments + Deployments.Length;
            int end = path.IndexOf('/', start);
            string deployment = end < 0 ? path[start..] : path[start..end];
            return endpoint + Deployments + deployment;
        }

        return model is null ? endpoint : endpoint + " " + model;
    }
}
