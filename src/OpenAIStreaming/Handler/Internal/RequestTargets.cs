using System.Net.Http.Headers;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// The targets of one call — the request as sent (index 0), then each fallback — and the switch of the request between
/// them: its address, its body (the <c>model</c> rewritten) and its credentials.
/// </summary>
internal sealed class RequestTargets
{
    private static readonly string[] CredentialHeaders = ["Authorization", "api-key"];

    private readonly HttpRequestMessage _request;
    private readonly IList<OpenAIStreamingFallback> _fallbacks;
    private readonly Uri? _originalUri;
    private readonly HttpContent? _originalContent;
    private readonly ReadOnlyMemory<byte> _body;
    private List<KeyValuePair<string, string[]>>? _originalCredentials;
    private readonly Dictionary<string, string[]?> _replacedHeaders = new(StringComparer.OrdinalIgnoreCase);

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
        bool sameHost = uri is null || _originalUri is null || Uri.Compare(uri, _originalUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

        if (!ReferenceEquals(_request.Content, _originalContent))
        {
            _request.Content?.Dispose();
        }

        _request.Content = content;
        _request.RequestUri = uri;
        RestoreReplacedHeaders();
        _originalCredentials ??= Capture(CredentialHeaders);
        foreach (string name in CredentialHeaders)
        {
            _request.Headers.Remove(name);
        }

        if (sameHost)
        {
            foreach (KeyValuePair<string, string[]> header in _originalCredentials)
            {
                _request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        if (fallback.ApiKey is { } apiKey)
        {
            _request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        foreach (KeyValuePair<string, string> header in fallback.Headers)
        {
            if (!IsCredential(header.Key) && !_replacedHeaders.ContainsKey(header.Key))
            {
                _replacedHeaders[header.Key] = _request.Headers.NonValidated.TryGetValues(header.Key, out HeaderStringValues values) ? [.. values] : null;
            }

            _request.Headers.Remove(header.Key);
            _request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return true;
    }

    /// <summary>
    /// The address of <paramref name="original"/>'s operation under <paramref name="endpoint"/>: the path after <c>/v1/</c>
    /// (or after <c>/openai/deployments/{name}/</c>, or <c>/openai/</c>) appended to the endpoint, with the endpoint's query
    /// string when it has one; else the request's — on another host without the parameters that may carry a secret (a
    /// name containing <c>key</c>, <c>token</c>, <c>sig</c>, <c>secret</c>, <c>password</c> or <c>auth</c>, as <c>?key=</c>).
    /// </summary>
    internal static Uri Rebase(Uri original, Uri endpoint)
    {
        string operation = OperationPath(original.AbsolutePath);
        bool sameHost = Uri.Compare(original, endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        string query = endpoint.Query.Length > 0 ? endpoint.Query : sameHost ? original.Query : WithoutSecrets(original.Query);
        string basePath = endpoint.GetLeftPart(UriPartial.Path);
        if (!basePath.EndsWith('/'))
        {
            basePath += "/";
        }

        return new Uri(basePath + operation + query);
    }

    private static readonly string[] SecretParameterParts = ["key", "token", "sig", "secret", "password", "auth"];

    private static string WithoutSecrets(string query)
    {
        if (query.Length <= 1)
        {
            return query;
        }

        string[] kept = Array.FindAll(
            query[1..].Split('&'),
            pair => !Array.Exists(SecretParameterParts, part => pair.Split('=')[0].Contains(part, StringComparison.OrdinalIgnoreCase)));
        return kept.Length == 0 ? string.Empty : "?" + string.Join('&', kept);
    }

    private static bool IsCredential(string name) =>
        Array.Exists(CredentialHeaders, c => c.Equals(name, StringComparison.OrdinalIgnoreCase));

    private List<KeyValuePair<string, string[]>> Capture(string[] names)
    {
        var captured = new List<KeyValuePair<string, string[]>>();
        foreach (string name in names)
        {
            if (_request.Headers.NonValidated.TryGetValues(name, out HeaderStringValues values))
            {
                captured.Add(new(name, [.. values]));
            }
        }

        return captured;
    }

    /// <summary>Puts back the request's own values of the headers an earlier fallback replaced (or removes them if it had none).</summary>
    private void RestoreReplacedHeaders()
    {
        foreach (KeyValuePair<string, string[]?> header in _replacedHeaders)
        {
            _request.Headers.Remove(header.Key);
            if (header.Value is not null)
            {
                _request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

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
