namespace OpenAIStreaming.Testing;

/// <summary>A request as the fake server sees it, given to <see cref="FaultRule.When"/> predicates.</summary>
public sealed class FakeRequest
{
    internal FakeRequest(string method, string path, string query, IReadOnlyDictionary<string, string> headers, string body, string? model, bool isStreaming, string logicalRequestId, int attempt)
    {
        Method = method;
        Path = path;
        Query = query;
        Headers = headers;
        Body = body;
        Model = model;
        IsStreaming = isStreaming;
        LogicalRequestId = logicalRequestId;
        Attempt = attempt;
    }

    /// <summary>Gets the HTTP method.</summary>
    public string Method { get; }

    /// <summary>Gets the path, e.g. <c>/v1/chat/completions</c>.</summary>
    public string Path { get; }

    /// <summary>Gets the query string including its <c>?</c>, or an empty string.</summary>
    public string Query { get; }

    /// <summary>Gets the request headers (case-insensitive names; repeated headers joined with <c>", "</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Gets the request body as text.</summary>
    public string Body { get; }

    /// <summary>Gets the <c>model</c> field of the JSON body, or <see langword="null"/>.</summary>
    public string? Model { get; }

    /// <summary>Gets a value indicating whether the body asks for a stream (<c>"stream": true</c>, or <c>?stream=true</c> on a GET).</summary>
    public bool IsStreaming { get; }

    /// <summary>Gets the key attempts are counted under: the <see cref="FakeOpenAIHeaders.ClientRequestId"/> header if sent, else <c>sha256:</c> and a hash of method, path and body.</summary>
    public string LogicalRequestId { get; }

    /// <summary>Gets the 1-based attempt number of this request within its logical request.</summary>
    public int Attempt { get; }
}
