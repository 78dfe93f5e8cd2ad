using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// The one code path behind every typed streaming entry point (the <see cref="HttpClient"/> extensions and
/// <see cref="OpenAIStreamingClient"/>): the body becomes UTF-8 JSON with <c>"stream": true</c>, the endpoint is resolved
/// against the client's base address, and the typed reader sends through the given <see cref="StreamSender"/>.
/// </summary>
internal static class StreamCalls
{
    private const string ChatCompletionsPath = "chat/completions";
    private const string ResponsesPath = "responses";

    /// <summary>Streams a chat completion; each enumeration sends the request again.</summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ChatCompletionUpdate> Chat(StreamSender sender, ReadOnlySpan<byte> utf8RequestJson, CancellationToken cancellationToken)
    {
        Uri uri = EndpointUri(sender.HttpClient, ChatCompletionsPath);

        // The usage of the answer is asked for unless the body says otherwise; a server that refuses stream_options (older
        // Azure API versions, strict validators) gets the body as it came, which is this one without those bytes.
        byte[] body = StreamingRequestBody.ForceStream(utf8RequestJson, nameof(utf8RequestJson), includeUsage: true, out bool asksForJson, out Range usage);
        bool addedUsage = usage.Start.Value != usage.End.Value;
        return new ChatUpdateStream(sender, () => CreateRequest(sender.HttpClient, uri, body), disposeRequest: true, cancellationToken)
        {
            ContentIsJson = asksForJson,
            CreateRequestAsAsked = addedUsage ? () => CreateRequest(sender.HttpClient, uri, StreamingRequestBody.Without(body, usage)) : null,
        };
    }

    /// <summary>Sends a prepared request as it is and streams its chat completion; the caller keeps ownership of the request.</summary>
    public static IAsyncEnumerable<ChatCompletionUpdate> Chat(StreamSender sender, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return TypedStreamReader.ReadChatAsync(sender, () => request, disposeRequest: false, cancellationToken);
    }

    /// <summary>Streams a response of the Responses API; each enumeration sends the request again.</summary>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> Responses(StreamSender sender, ReadOnlySpan<byte> utf8RequestJson, CancellationToken cancellationToken)
    {
        (Uri uri, byte[] body) = Prepare(sender, ResponsesPath, utf8RequestJson);
        return TypedStreamReader.ReadResponsesAsync(sender, () => CreateRequest(sender.HttpClient, uri, body), disposeRequest: true, cancellationToken);
    }

    /// <summary>Sends a prepared request as it is and streams its Responses events; the caller keeps ownership of the request.</summary>
    public static IAsyncEnumerable<ResponseStreamEvent> Responses(StreamSender sender, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return TypedStreamReader.ReadResponsesAsync(sender, () => request, disposeRequest: false, cancellationToken);
    }

    /// <summary>
    /// Streams a stored (background) response on from a checkpoint: <c>GET responses/{id}?stream=true&amp;starting_after=N</c>,
    /// the events after the last one the checkpoint delivered.
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint has no response id or sequence number (it is not of a Responses stream).</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> ResumeResponse(StreamSender sender, OpenAIStreamCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.ResponseId is not { } responseId || checkpoint.SequenceNumber is not { } after)
        {
            throw new ArgumentException("The checkpoint names no response and sequence number: only a checkpoint of a Responses stream can be resumed.", nameof(checkpoint));
        }

        Uri uri = Fallback.Internal.TargetChain.ResumeUri(EndpointUri(sender.HttpClient, ResponsesPath), responseId, after);
        return TypedStreamReader.ReadResponsesAsync(
            sender,
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = sender.HttpClient.DefaultRequestVersion, VersionPolicy = sender.HttpClient.DefaultVersionPolicy };
                request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
                return request;
            },
            disposeRequest: true,
            cancellationToken);
    }

    /// <summary>The request body as UTF-8.</summary>
    public static byte[] Utf8(string requestJson)
    {
        ArgumentNullException.ThrowIfNull(requestJson);
        return Encoding.UTF8.GetBytes(requestJson);
    }

    /// <summary>The request body as UTF-8 JSON.</summary>
    public static byte[] Utf8(JsonNode request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            request.WriteTo(writer);
        }

        return stream.ToArray();
    }

    /// <summary>The request serialized with source-generated metadata (trimming and AOT safe).</summary>
    public static byte[] Utf8<TRequest>(TRequest request, JsonTypeInfo<TRequest> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return JsonSerializer.SerializeToUtf8Bytes(request, typeInfo);
    }

    private static (Uri Uri, byte[] Body) Prepare(StreamSender sender, string path, ReadOnlySpan<byte> utf8RequestJson) =>
        (EndpointUri(sender.HttpClient, path), StreamingRequestBody.ForceStream(utf8RequestJson, nameof(utf8RequestJson)));

    /// <summary>The last endpoint built: nearly every call of an application joins the same base address and path.</summary>
    private static EndpointEntry? s_lastEndpoint;

    /// <summary>Joins the base address and the path, tolerating a base address without its trailing slash.</summary>
    private static Uri EndpointUri(HttpClient httpClient, string path)
    {
        Uri baseAddress = httpClient.BaseAddress
            ?? throw new InvalidOperationException(
                "HttpClient.BaseAddress must be set to the API root (for example https://api.openai.com/v1/), or pass an HttpRequestMessage.");
        if (Volatile.Read(ref s_lastEndpoint) is { } last && ReferenceEquals(last.Path, path)
            && (ReferenceEquals(last.BaseAddress, baseAddress) || string.Equals(last.BaseAddress.OriginalString, baseAddress.OriginalString, StringComparison.Ordinal)))
        {
            return last.Uri; // a Uri is immutable: requests can share it
        }

        var builder = new UriBuilder(baseAddress);
        builder.Path = builder.Path.EndsWith('/') ? builder.Path + path : builder.Path + "/" + path;
        Uri uri = builder.Uri; // the base address's query (for example Azure's api-version) is kept
        if (baseAddress.UserInfo.Length == 0) // credentials in an address are not kept past the call
        {
            Volatile.Write(ref s_lastEndpoint, new EndpointEntry(baseAddress, path, uri));
        }

        return uri;
    }

    private sealed record EndpointEntry(Uri BaseAddress, string Path, Uri Uri);

    /// <summary>
    /// The POST, with the client's default HTTP version and policy (a request built by hand would otherwise be HTTP/1.1
    /// whatever the client is set to, and miss the HTTP/2 connection a warm-up opened).
    /// </summary>
    private static HttpRequestMessage CreateRequest(HttpClient httpClient, Uri uri, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = Streaming.Internal.BufferedContent.Json(body),
            Version = httpClient.DefaultRequestVersion,
            VersionPolicy = httpClient.DefaultVersionPolicy,
        };
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        return request;
    }
}
