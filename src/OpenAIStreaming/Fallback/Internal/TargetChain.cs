using System.Net.Http.Headers;
using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Fallback.Internal;

/// <summary>
/// The targets of one call — the request as sent (index 0), then each fallback that can take it — and the request each
/// attempt sends to one of them: its address, its body (the <c>model</c> rewritten) and its headers.
/// </summary>
/// <remarks>
/// <b>No credential leaves its origin.</b> A target on the request's own origin (scheme, host and port) gets the request's
/// headers as they came. A target on another origin gets only the headers of <see cref="ForeignOriginHeaders"/> (content
/// negotiation, the user agent, the request id and attempt headers, trace context) plus the fallback's own
/// <see cref="OpenAIStreamingFallback.ApiKey"/> and <see cref="OpenAIStreamingFallback.Headers"/>: an unknown header might
/// carry a secret (<c>api-key</c>, <c>Ocp-Apim-Subscription-Key</c>, <c>x-api-key</c>, <c>Cookie</c>, …), so none is
/// carried. Its query string is the fallback address's own, plus the operation parameters of
/// <see cref="ForeignOriginQueryParameters"/>.
/// </remarks>
internal sealed class TargetChain
{
    /// <summary>The request headers carried to another origin; every other header stays with the request's own origin.</summary>
    internal static readonly string[] ForeignOriginHeaders =
    [
        "Accept", "Accept-Encoding", "Accept-Language", "User-Agent", "x-client-request-id", "x-attempt",
        "traceparent", "tracestate", "OpenAI-Beta", "Idempotency-Key",
    ];

    /// <summary>The prefix of the descriptive headers the official SDKs send (<c>x-stainless-lang</c>, <c>x-stainless-retry-count</c>, …): carried too.</summary>
    private const string SdkHeaderPrefix = "x-stainless-";

    /// <summary>The query parameters of OpenAI operations carried to another origin (as <c>?stream=true&amp;starting_after=N</c> of a resumed response).</summary>
    internal static readonly string[] ForeignOriginQueryParameters = ["stream", "starting_after", "include", "include[]", "include_obfuscation"];

    private readonly HttpRequestMessage _original;
    private readonly KeyValuePair<string, HeaderStringValues>[] _headers; // the values as they were: a header set later is a new value
    private readonly KeyValuePair<string, HeaderStringValues>[] _contentHeaders;
    private readonly KeyValuePair<string, object?>[] _requestOptions;
    private readonly Target _request;
    private readonly List<Target>? _fallbacks; // most calls have none

    /// <summary>
    /// Builds the chain for <paramref name="request"/>, whose buffered body is <paramref name="body"/> (empty when the body
    /// could not be buffered: then only the request itself is a target) and whose <c>model</c> is
    /// <paramref name="model"/>. Call it before any attempt header is set: the request's headers are captured as they came.
    /// </summary>
    public TargetChain(HttpRequestMessage request, ReadOnlyMemory<byte> body, string? model, IReadOnlyList<OpenAIStreamingFallback> fallbacks, bool isReplayable)
    {
        _original = request;
        _headers = Snapshot(request.Headers.NonValidated);
        _contentHeaders = request.Content is null ? [] : Snapshot(request.Content.Headers.NonValidated, skipContentLength: true);
        _requestOptions = ((ICollection<KeyValuePair<string, object?>>)request.Options).Count == 0 ? [] : [.. request.Options];
        _request = new Target(0, request.RequestUri, model, Fallback: null, ForeignOrigin: false, body, RouteKey.Of(request.RequestUri, model));
        if (!isReplayable || fallbacks.Count == 0)
        {
            return;
        }

        _fallbacks = new List<Target>(fallbacks.Count);

        foreach (OpenAIStreamingFallback fallback in fallbacks)
        {
            ReadOnlyMemory<byte> targetBody = body;
            if (fallback.Model is { } fallbackModel && request.Content is not null)
            {
                byte[]? rewritten = JsonModelRewriter.WithModel(body.Span, fallbackModel);
                if (rewritten is null)
                {
                    continue; // a model fallback cannot take a body that is not a JSON object
                }

                targetBody = rewritten;
            }

            Uri? uri = fallback.Endpoint is { } endpoint && request.RequestUri is { IsAbsoluteUri: true } original ? Rebase(original, endpoint) : request.RequestUri;
            string? targetModel = fallback.Model ?? model;
            _fallbacks.Add(new Target(Count, uri, targetModel, fallback, !Origin.Same(uri, request.RequestUri), targetBody, RouteKey.Of(uri, targetModel)));
        }
    }

    /// <summary>Gets the number of targets: the request itself plus the fallbacks that can take it.</summary>
    public int Count => 1 + (_fallbacks?.Count ?? 0);

    /// <summary>Gets target <paramref name="index"/>.</summary>
    public Target this[int index] => index == 0 ? _request : _fallbacks is { } fallbacks ? fallbacks[index - 1] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>
    /// The request for attempt <paramref name="attempt"/> (1-based, across the whole call) on <paramref name="target"/>. The
    /// first attempt on the request's own target is the request itself; every other attempt gets a fresh copy built from the
    /// request as it came (so attempts can run side by side), with the target's address, body and headers.
    /// </summary>
    public HttpRequestMessage CreateRequest(Target target, int attempt) => CreateRequest(target, attempt, body: null);

    /// <summary>A fresh request to <paramref name="target"/> as <see cref="CreateRequest(Target, int)"/> builds it, with <paramref name="body"/> as its body.</summary>
    public HttpRequestMessage CreateRequest(Target target, int attempt, ReadOnlyMemory<byte>? body)
    {
        HttpRequestMessage request;
        if (attempt == 1 && target.Index == 0 && body is null)
        {
            request = _original;
        }
        else
        {
            request = new HttpRequestMessage(_original.Method, target.Uri)
            {
                Version = _original.Version,
                VersionPolicy = _original.VersionPolicy,
            };
            if (_original.Content is not null)
            {
                var content = Streaming.Internal.BufferedContent.Of(body ?? target.Body);
                foreach (KeyValuePair<string, HeaderStringValues> header in _contentHeaders)
                {
                    Add(content.Headers, header);
                }

                request.Content = content;
            }

            CopyHeadersAndOptions(request, target);
        }

        AddFallbackCredentials(request, target);
        return request;
    }

    /// <summary>
    /// The request that streams the stored (background) response <paramref name="responseId"/> again from the event after
    /// sequence number <paramref name="after"/>, on <paramref name="target"/> (the one that was streaming it):
    /// <c>GET {operation}/{id}?stream=true&amp;starting_after={after}</c> with the target's headers and no body.
    /// </summary>
    public HttpRequestMessage CreateResumeRequest(Target target, string responseId, long after)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, ResumeUri(target.Uri!, responseId, after))
        {
            Version = _original.Version,
            VersionPolicy = _original.VersionPolicy,
        };
        CopyHeadersAndOptions(request, target);
        AddFallbackCredentials(request, target);
        return request;
    }

    /// <summary>
    /// <c>{operation}/{id}?stream=true&amp;starting_after={after}</c>, keeping the operation's own query (an Azure
    /// <c>api-version</c>); the id is escaped, so it can only name a response under the operation.
    /// </summary>
    /// <exception cref="ArgumentException">The id is empty, <c>.</c> or <c>..</c> (a path would take it as a step, not a name).</exception>
    internal static Uri ResumeUri(Uri operation, string responseId, long after)
    {
        if (responseId is "" or "." or "..")
        {
            throw new ArgumentException($"'{responseId}' is not a response id.", nameof(responseId));
        }

        string parameters = "stream=true&starting_after=" + after.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string query = operation.Query.Length > 1 ? operation.Query + "&" + parameters : "?" + parameters;
        return new Uri(operation.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + Uri.EscapeDataString(responseId) + query);
    }

    private void CopyHeadersAndOptions(HttpRequestMessage request, Target target)
    {
        foreach (KeyValuePair<string, HeaderStringValues> header in _headers)
        {
            if (!target.ForeignOrigin || MayCrossOrigin(header.Key))
            {
                Add(request.Headers, header);
            }
        }

        foreach (KeyValuePair<string, object?> option in _requestOptions)
        {
            ((IDictionary<string, object?>)request.Options)[option.Key] = option.Value;
        }
    }

    private static void AddFallbackCredentials(HttpRequestMessage request, Target target)
    {
        if (target.Fallback is not { } fallback)
        {
            return;
        }

        if (fallback.ApiKey is { } apiKey)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        foreach (KeyValuePair<string, string> header in fallback.Headers)
        {
            request.Headers.Remove(header.Key);
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    /// <summary>The fallbacks of a call: the request's own list when it sets one, else those of its model followed by those for every request.</summary>
    public static IReadOnlyList<OpenAIStreamingFallback> Resolve(OpenAIStreamingOptions options, HttpRequestOptions requestOptions, string? model)
    {
        if (requestOptions.TryGetValue(OpenAIStreamingRequestOptions.Fallbacks, out IReadOnlyList<OpenAIStreamingFallback>? own) && own is not null)
        {
            return own;
        }

        if (model is not null && options.ModelFallbacks.TryGetValue(model, out IList<OpenAIStreamingFallback>? forModel) && forModel.Count > 0)
        {
            return options.Fallbacks.Count == 0 ? [.. forModel] : [.. forModel, .. options.Fallbacks];
        }

        return (IReadOnlyList<OpenAIStreamingFallback>)options.Fallbacks;
    }

    /// <summary>Whether a request header may go to another origin.</summary>
    internal static bool MayCrossOrigin(string name) =>
        name.StartsWith(SdkHeaderPrefix, StringComparison.OrdinalIgnoreCase)
        || Array.Exists(ForeignOriginHeaders, allowed => allowed.Equals(name, StringComparison.OrdinalIgnoreCase));

    private static KeyValuePair<string, HeaderStringValues>[] Snapshot(HttpHeadersNonValidated headers, bool skipContentLength = false)
    {
        if (headers.Count == 0)
        {
            return [];
        }

        var snapshot = new KeyValuePair<string, HeaderStringValues>[headers.Count];
        int count = 0;
        foreach (KeyValuePair<string, HeaderStringValues> header in headers)
        {
            if (!skipContentLength || !header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                snapshot[count++] = header;
            }
        }

        return count == snapshot.Length ? snapshot : snapshot[..count];
    }

    private static void Add(HttpHeaders headers, KeyValuePair<string, HeaderStringValues> header)
    {
        if (header.Value.Count == 1)
        {
            headers.TryAddWithoutValidation(header.Key, header.Value.ToString()); // one value: its own string, nothing joined
        }
        else
        {
            headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    /// <summary>
    /// The address of <paramref name="original"/>'s operation under <paramref name="endpoint"/>: the path after <c>/v1/</c>
    /// (or after <c>/openai/deployments/{name}/</c>, or <c>/openai/</c>) appended to the endpoint. The query string is the
    /// endpoint's when it has one, else the request's on the same origin; on another origin it is the endpoint's plus only
    /// the request's parameters of <see cref="ForeignOriginQueryParameters"/> (a parameter such as <c>?key=</c>,
    /// <c>?code=</c> or <c>?sas=</c> may hold a secret and stays behind).
    /// </summary>
    internal static Uri Rebase(Uri original, Uri endpoint)
    {
        string operation = OperationPath(original.AbsolutePath);
        string query = Origin.Same(original, endpoint)
            ? (endpoint.Query.Length > 0 ? endpoint.Query : original.Query)
            : Join(endpoint.Query, OperationParameters(original.Query));
        string basePath = endpoint.GetLeftPart(UriPartial.Path);
        if (!basePath.EndsWith('/'))
        {
            basePath += "/";
        }

        return new Uri(basePath + operation + query);
    }

    private static string OperationParameters(string query)
    {
        if (query.Length <= 1)
        {
            return string.Empty;
        }

        string[] kept = Array.FindAll(
            query[1..].Split('&'),
            pair => Array.Exists(ForeignOriginQueryParameters, name => Uri.UnescapeDataString(pair.Split('=')[0]).Equals(name, StringComparison.OrdinalIgnoreCase)));
        return string.Join('&', kept);
    }

    private static string Join(string endpointQuery, string parameters) =>
        (endpointQuery.Length > 1, parameters.Length > 0) switch
        {
            (true, true) => endpointQuery + "&" + parameters,
            (true, false) => endpointQuery,
            (false, true) => "?" + parameters,
            _ => string.Empty,
        };

    private static string OperationPath(string path)
    {
        int v1 = path.IndexOf("/v1/", StringComparison.Ordinal);
        if (v1 >= 0)
        {
            return path[(v1 + 4)..];
        }

        const string Deployments = "/openai/deployments/";
        int deployments = path.IndexOf(Deployments, StringComparison.Ordinal);
        if (deployments >= 0)
        {
            int slash = path.IndexOf('/', deployments + Deployments.Length);
            if (slash >= 0)
            {
                return path[(slash + 1)..];
            }
        }

        const string Azure = "/openai/";
        int azure = path.IndexOf(Azure, StringComparison.Ordinal);
        return azure >= 0 ? path[(azure + Azure.Length)..] : path.TrimStart('/');
    }
}
