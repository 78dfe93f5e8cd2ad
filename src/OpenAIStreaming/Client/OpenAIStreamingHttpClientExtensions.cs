using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming;

/// <summary>
/// Streams Chat Completions and Responses from an OpenAI-compatible server through an <see cref="HttpClient"/> whose
/// <see cref="HttpClient.BaseAddress"/> is the API root (for example <c>https://api.openai.com/v1/</c>).
/// </summary>
/// <remarks>
/// The request body gets <c>"stream": true</c> whatever it said, is sent with
/// <see cref="HttpCompletionOption.ResponseHeadersRead"/>, and the answer is read as it arrives. A non-success status
/// becomes an <see cref="OpenAIStreamException"/> with the OpenAI error fields; a JSON body where a stream was asked for is
/// an error, never an empty stream; a stream that ends before its end marker is an
/// <see cref="OpenAIStreamProtocolException"/>. The response is disposed on every exit, including <c>break</c>.
/// Each enumeration sends the request again.
/// </remarks>
public static class OpenAIStreamingHttpClientExtensions
{
    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="requestJson">The request body as JSON text, for example <c>{"model":"gpt-4o","messages":[…]}</c>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(this HttpClient httpClient, string requestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(new StreamSender(httpClient), StreamCalls.Utf8(requestJson), cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="utf8RequestJson">The request body as UTF-8 JSON.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(this HttpClient httpClient, ReadOnlyMemory<byte> utf8RequestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(new StreamSender(httpClient), utf8RequestJson.Span, cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="request">The request body.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(this HttpClient httpClient, JsonNode request, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(new StreamSender(httpClient), StreamCalls.Utf8(request), cancellationToken);

    /// <summary>Streams a chat completion (<c>POST chat/completions</c>) from a request object serialized with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="request">The request.</param>
    /// <param name="typeInfo">The serialization metadata of <typeparamref name="TRequest"/>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk.</returns>
    /// <exception cref="ArgumentException">The request does not serialize to a JSON object.</exception>
    public static IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync<TRequest>(this HttpClient httpClient, TRequest request, JsonTypeInfo<TRequest> typeInfo, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(new StreamSender(httpClient), StreamCalls.Utf8(request, typeInfo), cancellationToken);

    /// <summary>Sends a prepared request (as it is: its URI, headers and body are not changed) and streams the chat completion it answers with.</summary>
    /// <param name="httpClient">The client.</param>
    /// <param name="request">The request; it must ask for a stream. The caller keeps ownership of it.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The updates, one per choice per chunk. Enumerate once: a request message cannot be sent twice.</returns>
    public static IAsyncEnumerable<ChatCompletionUpdate> StreamChatCompletionAsync(this HttpClient httpClient, HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        StreamCalls.Chat(new StreamSender(httpClient), request, cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="requestJson">The request body as JSON text, for example <c>{"model":"gpt-4o","input":"…"}</c>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(this HttpClient httpClient, string requestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(new StreamSender(httpClient), StreamCalls.Utf8(requestJson), cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="utf8RequestJson">The request body as UTF-8 JSON.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(this HttpClient httpClient, ReadOnlyMemory<byte> utf8RequestJson, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(new StreamSender(httpClient), utf8RequestJson.Span, cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>).</summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="request">The request body.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The body is not a JSON object.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(this HttpClient httpClient, JsonNode request, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(new StreamSender(httpClient), StreamCalls.Utf8(request), cancellationToken);

    /// <summary>Streams a response of the Responses API (<c>POST responses</c>) from a request object serialized with source-generated metadata.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="request">The request.</param>
    /// <param name="typeInfo">The serialization metadata of <typeparamref name="TRequest"/>.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The request does not serialize to a JSON object.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync<TRequest>(this HttpClient httpClient, TRequest request, JsonTypeInfo<TRequest> typeInfo, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(new StreamSender(httpClient), StreamCalls.Utf8(request, typeInfo), cancellationToken);

    /// <summary>Sends a prepared request (as it is) and streams the Responses API events it answers with.</summary>
    /// <param name="httpClient">The client.</param>
    /// <param name="request">The request; it must ask for a stream. The caller keeps ownership of it.</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events, up to and including the terminal one. Enumerate once: a request message cannot be sent twice.</returns>
    public static IAsyncEnumerable<ResponseStreamEvent> StreamResponseAsync(this HttpClient httpClient, HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        StreamCalls.Responses(new StreamSender(httpClient), request, cancellationToken);

    /// <summary>
    /// Streams a background response (<c>"background": true</c>) on from a checkpoint — one taken from a
    /// <see cref="ResponseStreamEvent.Checkpoint"/>, perhaps stored with <see cref="OpenAIStreamCheckpoint.ToJson"/> before
    /// the application restarted: <c>GET responses/{id}?stream=true&amp;starting_after=N</c> gives the events after the last
    /// one it delivered, with their own sequence numbers. Nothing is generated again. A stored response expires after some
    /// minutes; then the server's 404 is an <see cref="OpenAIStreamException"/>.
    /// </summary>
    /// <param name="httpClient">The client; its base address is the API root.</param>
    /// <param name="checkpoint">A checkpoint of a Responses stream (it has a response id and a sequence number).</param>
    /// <param name="cancellationToken">Cancels the request and the enumeration.</param>
    /// <returns>The events after the checkpoint, up to and including the terminal one.</returns>
    /// <exception cref="ArgumentException">The checkpoint is not of a Responses stream.</exception>
    public static IAsyncEnumerable<ResponseStreamEvent> ResumeResponseAsync(this HttpClient httpClient, OpenAIStreamCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
        StreamCalls.ResumeResponse(new StreamSender(httpClient), checkpoint, cancellationToken);
}
