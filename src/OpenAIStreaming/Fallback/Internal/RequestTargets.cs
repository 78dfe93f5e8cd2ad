using System.Net.Http.Headers;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Fallback.Internal;

/// <summary>
/// The targets of one call — the request as sent (index 0), then each fallback — and the switch of the request between
/// them: its address, its body (the <c>model</c> rewritten) and its headers.
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
internal sealed class RequestTargets
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

    private readonly HttpRequestMessage _request;
    private readonly IList<OpenAIStreamingFallback> _fallbacks;
    private readonly Uri? _originalUri;
    private readonly HttpContent? _originalContent;
    private readonly ReadOnlyMemory<byte> _body;
    private List<KeyValuePair<string, string[]>>? _originalHeaders;

    public RequestTargets(HttpRequestMessage request, ReadOnlyMemory<byte> body, IList<OpenAIStreamingFallback> fallbacks)
    {
        _request = request;
        _fallbacks = fallbacks;
        _originalUri = request.RequestUri;
        _originalContent = request.Content;
        _body = body;
    }

    /// <summary>Gets the number of targets: the request itself plus the fallbacks.</summary>
    public int Count => _fallbacks.Count + 1;

    /// <summary>Whether target <paramref name="index"/> may take a request rejected for its context length.</summary>
    public bool HasLargerContextWindow(int index) => index > 0 && _fallbacks[index - 1].HasLargerContextWindow;

    /// <summary>
    /// Whether a target after <paramref name="index"/> could still be tried: one with a larger context window when
    /// <paramref name="needsLargerContext"/>, and none whose endpoint <paramref name="isBlocked"/> says is refusing requests.
    /// </summary>
    public bool HasTargetAfter(int index, bool needsLargerContext, Func<Uri?, bool> isBlocked)
    {
        for (int i = index + 1; i < Count; i++)
        {
            if ((!needsLargerContext || HasLargerContextWindow(i)) && !isBlocked(AddressOf(i)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The address target <paramref name="index"/> sends to.</summary>
    public Uri? AddressOf(int index) =>
        index > 0 && _fallbacks[index - 1].Endpoint is { } endpoint && _originalUri is not null ? Rebase(_originalUri, endpoint) : _originalUri;

    /// <summary>Describes target <paramref name="index"/> for logs (host and model; never a credential).</summary>
    public string Describe(int index) => index == 0 ? "primary" : _fallbacks[index - 1].ToString();

    /// <summary>
    /// Points the request at target <paramref name="index"/>. False when the target cannot take this request (a model
    /// fallback for a body that is not a JSON object).
    /// </summary>
    public bool TryApply(int index)
    {
        if (index == 0)
        {
            return true; // the request is only ever moved forward, so the primary is always the request as it came
        }

        OpenAIStreamingFallback fallback = _fallbacks[index - 1];
        HttpContent? content = _originalContent;
        if (fallback.Model is { } model && _originalContent is not null)
        {
            byte[]? rewritten = JsonModelRewriter.WithModel(_body.Span, model);
            if (rewritten is null)
            {
                return false;
            }

            content = new ByteArrayContent(rewritten);
            foreach (KeyValuePair<string, HeaderStringValues> header in _originalContent.Headers.NonValidated)
            {
                if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
        }

        Uri? uri = AddressOf(index);
        if (!ReferenceEquals(_request.Content, _originalContent))
        {
            _request.Content?.Dispose();
        }

        _request.Content = content;
        _request.RequestUri = uri;
        RestoreHeaders(foreignOrigin: !Origin.Same(uri, _originalUri));
        if (fallback.ApiKey is { } apiKey)
        {
            _request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        foreach (KeyValuePair<string, string> header in fallback.Headers)
        {
            _request.Headers.Remove(header.Key);
            _request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return true;
    }

    /// <summary>Whether a request header may go to another origin.</summary>
    internal static bool MayCrossOrigin(string name) =>
        name.StartsWith(SdkHeaderPrefix, StringComparison.OrdinalIgnoreCase)
        || Array.Exists(ForeignOriginHeaders, allowed => allowed.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Puts back the request's own headers as they came (every one of them, or on another origin only those that may cross),
    /// undoing whatever an earlier target set.
    /// </summary>
    private void RestoreHeaders(bool foreignOrigin)
    {
        _originalHeaders ??= [.. Snapshot(_request.Headers)];
        _request.Headers.Clear();
        foreach (KeyValuePair<string, string[]> header in _originalHeaders)
        {
            if (!foreignOrigin || MayCrossOrigin(header.Key))
            {
                _request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

    private static IEnumerable<KeyValuePair<string, string[]>> Snapshot(HttpRequestHeaders headers)
    {
        foreach (KeyValuePair<string, HeaderStringValues> header in headers.NonValidated)
        {
            yield return new(header.Key, [.. header.Value]);
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
