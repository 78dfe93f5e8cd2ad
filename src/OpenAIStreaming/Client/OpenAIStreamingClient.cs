using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming;

/// <summary>
/// Applies the reader-level protections — first-token, idle and total timeouts, and typed errors — to an
/// <see cref="System.Net.Http.HttpClient"/> that was built without <see cref="OpenAIStreamingHandler"/> (for example one a
/// framework or another library hands you). The streaming methods are those of
/// <see cref="OpenAIStreamingHttpClientExtensions"/>, with the same request rules, results and errors.
/// </summary>
/// <remarks>
/// <para><b>One attempt to the first content.</b> The wrapper sits outside the client's handlers: before the first content
/// there are no retries, no <c>Retry-After</c> handling and no fallbacks (use <see cref="OpenAIStreamingHandler"/> for
/// those). After it, a stream that breaks is recovered as through the handler (<see cref="OpenAIStreamingOptions.Recovery"/>):
/// a chat stream is sent again and checked against what was delivered, a background Responses stream is resumed — at most
/// <see cref="OpenAIStreamingRecoveryOptions.MaxRecoveries"/> times.</para>
/// <para><b>Timeouts</b> (from <see cref="OpenAIStreamingOptions"/>, or per request from
/// <see cref="OpenAIStreamingRequestOptions"/> set on a request passed as <see cref="HttpRequestMessage"/>):
/// <list type="bullet">
/// <item><description>First token: from sending until the first event that carries content (text, a refusal, reasoning, a
/// tool-call delta, a finish, a terminal or error event — not a role-only chunk or a keep-alive). Because there is no later
/// attempt to move to, a miss fails the call with <see cref="OpenAIStreamTimeoutException"/> of kind
/// <see cref="OpenAIStreamTimeoutKind.FirstToken"/> — unlike the handler, whose first-token timeout never cuts its last
/// attempt. Set it to the longest you are willing to wait for a first token (for a reasoning model, minutes), or to
/// <see cref="Timeout.InfiniteTimeSpan"/> per request.</description></item>
/// <item><description>Idle: every read of the body after the first content (kind <see cref="OpenAIStreamTimeoutKind.Idle"/>).</description></item>
/// <item><description>Total: the whole call, body included (kind <see cref="OpenAIStreamTimeoutKind.Total"/>).</description></item>
/// </list>
/// Each fired timeout names its kind and configured value. Your own cancellation stays an
/// <see cref="OperationCanceledException"/> on your token. The response is disposed on every exit, including
/// <c>break</c>. <see cref="OpenAIStreamingOptions.ConnectTimeout"/> and the retry options are not used: the connect
/// timeout belongs to the client's primary handler (<see cref="SocketsHttpHandler.ConnectTimeout"/>).
/// <see cref="HttpClient.Timeout"/> still bounds the wait for the response headers and surfaces as the client reports it;
/// set it to <see cref="Timeout.InfiniteTimeSpan"/> to let <see cref="OpenAIStreamingOptions.TotalTimeout"/> govern.</para>
/// <para>The client is not owned: it is never disposed or changed. One instance may be shared by concurrent calls. Over a
/// client that already contains <see cref="OpenAIStreamingHandler"/> the wrapper still works but is redundant; its
/// first-token timeout would then bound the handler's whole retry chain, so call the extension methods on that client
/// instead.</para>
/// </remarks>
/// <example>
/// <code>
/// var streaming = new OpenAIStreamingClient(existingHttpClient, OpenAIStreamingOptions.Interactive);
/// await streaming.WarmUpAsync();
/// await foreach (ChatCompletionUpdate update in streaming.StreamChatCompletionAsync(requestJson, ct)) Console.Write(update.Text);
/// </code>
/// </example>
public sealed class OpenAIStreamingClient
{
    private readonly ProtectedStreamSender _sender;

    /// <summary>Wraps <paramref name="httpClient"/>; time is measured with <see cref="TimeProvider.System"/>.</summary>
    /// <param name="httpClient">The client; its base address is the API root (for example <c>https://api.openai.com/v1/</c>). It is not disposed.</param>
    /// <param name="options">The options; they are validated and copied, so later changes to the instance have no effect.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options break a rule.</exception>
    public OpenAIStreamingClient(HttpClient httpClient, OpenAIStreamingOptions options)
        : this(httpClient, options, TimeProvider.System)
    {
    }

    /// <summary>Wraps <paramref name="httpClient"/>, measuring every timeout with <paramref name="timeProvider"/>.</summary>
    /// <param name="httpClient">The client; its base address is the API root. It is not disposed.</param>
    /// <param name="options">The options; they are validated and copied, so later changes to the instance have no effect.</param>
    /// <param name="timeProvider">The clock of every timeout (a fake one in tests).</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options break a rule.</exception>
    public OpenAIStreamingClient(HttpClient httpClient, OpenAIStreamingOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _sender = new ProtectedStreamSender(httpClient, options.Clone(), timeProvider);
    }

    /// <summary>Gets the wrapped client.</summary>
    public HttpClient HttpClient => _sender.HttpClient;

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="requestJson">The request body as JSON text, for example <c>{"model":"gpt-4o","messages":[…]}</c>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(string requestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(_sender, StreamCalls.Utf8(requestJson), cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="utf8RequestJson">The request body as UTF-8 JSON.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(ReadOnlyMemory<byte> utf8RequestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(_sender, utf8RequestJson.Span, cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="request">The request body.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(JsonNode request, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(_sender, StreamCalls.Utf8(request), cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>) from a request object serialized with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <param name="request">The request.</param>
    /// <param name="typeInfo">The serialization metadata of <typeparamref name="TRequest"/>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The request does not serialize to a JSON object.</exception>
    public IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync<TRequest>(TRequest request, JsonTypeInfo<TRequest> typeInfo, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(_sender, StreamCalls.Utf8(request, typeInfo), cancellationToken);

    /// <summary>Sends a prepared request (as it is: its URI, headers and body are not changed) and streams the chat completion it answers with.</summary>
    /// <param name="request">The request; it must ask for a stream. Its <see cref="HttpRequestMessage.Options"/> may override the timeouts (<see cref="OpenAIStreamingRequestOptions"/>). The caller keeps ownership of it.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Enumerate once: a request message cannot be sent twice.</returns>
    public IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(_sender, request, cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="requestJson">The request body as JSON text, for example <c>{"model":"gpt-4o","input":"…"}</c>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(string requestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(_sender, StreamCalls.Utf8(requestJson), cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="utf8RequestJson">The request body as UTF-8 JSON.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(ReadOnlyMemory<byte> utf8RequestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(_sender, utf8RequestJson.Span, cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="request">The request body.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(JsonNode request, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(_sender, StreamCalls.Utf8(request), cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>) from a request object serialized with source-generated metadata.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <param name="request">The request.</param>
    /// <param name="typeInfo">The serialization metadata of <typeparamref name="TRequest"/>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Each enumeration sends the request again.</returns>
    /// <exception cref="ArgumentException">The request does not serialize to a JSON object.</exception>
    public IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync<TRequest>(TRequest request, JsonTypeInfo<TRequest> typeInfo, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(_sender, StreamCalls.Utf8(request, typeInfo), cancellationToken);

    /// <summary>Sends a prepared request (as it is) and streams the Responses API events it answers with.</summary>
    /// <param name="request">The request; it must ask for a stream. Its <see cref="HttpRequestMessage.Options"/> may override the timeouts. The caller keeps ownership of it.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Enumerate once: a request message cannot be sent twice.</returns>
    public IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(_sender, request, cancellationToken);

    /// <summary>
    /// Streams a background response on from a checkpoint, as
    /// <see cref="OpenAIStreamingHttpClientExtensions.ResumeResponseAsync(HttpClient, OpenAIStreamCheckpoint, CancellationToken)"/>
    /// does, under this client's timeouts.
    /// </summary>
    /// <param name="checkpoint">A checkpoint of a Responses stream (it has a response id and a sequence number).</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events after the checkpoint, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The checkpoint is not of a Responses stream.</exception>
    public IAsyncEnumerable<ResponseStreamEvent> ResumeResponseAsync(OpenAIStreamCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
        StreamCalls.ResumeResponse(_sender, checkpoint, cancellationToken);

    /// <summary>
    /// Opens <paramref name="connections"/> pooled connections to the client's base address before the first request, as
    /// <see cref="OpenAIStreamingWarmUpExtensions.WarmUpAsync(HttpClient, int, CancellationToken)"/> does, bounded by
    /// <see cref="OpenAIStreamingOptions.TotalTimeout"/>.
    /// </summary>
    /// <param name="connections">How many connections to open (at least 1).</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <returns>A task that completes when every connection has answered and is idle in the pool.</returns>
    /// <exception cref="HttpRequestException">A connection could not be opened (<see cref="HttpRequestException.HttpRequestError"/> says why).</exception>
    /// <exception cref="OpenAIStreamTimeoutException">The warm-up took longer than the total timeout.</exception>
    public Task WarmUpAsync(int connections = 1, CancellationToken cancellationToken = default) =>
        _sender.RunWithinTotalTimeoutAsync(token => OpenAIStreamingWarmUpExtensions.WarmUpAsync(HttpClient, uri: null, connections, _sender.TimeProvider, token), cancellationToken);

    /// <summary>
    /// Opens <paramref name="connections"/> pooled connections to the server of <paramref name="uri"/>, as
    /// <see cref="OpenAIStreamingWarmUpExtensions.WarmUpAsync(HttpClient, Uri, int, CancellationToken)"/> does, bounded by
    /// <see cref="OpenAIStreamingOptions.TotalTimeout"/>.
    /// </summary>
    /// <param name="uri">The address to request (relative to the base address, or absolute).</param>
    /// <param name="connections">How many connections to open (at least 1).</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <returns>A task that completes when every connection has answered and is idle in the pool.</returns>
    /// <exception cref="HttpRequestException">A connection could not be opened.</exception>
    /// <exception cref="OpenAIStreamTimeoutException">The warm-up took longer than the total timeout.</exception>
    public Task WarmUpAsync(Uri uri, int connections = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return _sender.RunWithinTotalTimeoutAsync(token => OpenAIStreamingWarmUpExtensions.WarmUpAsync(HttpClient, uri, connections, _sender.TimeProvider, token), cancellationToken);
    }
}
