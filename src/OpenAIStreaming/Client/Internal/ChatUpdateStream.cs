using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Client.Internal;

/// <summary>A chat stream request; each enumeration (<see cref="ChatUpdateEnumerator"/>) sends it again.</summary>
internal sealed class ChatUpdateStream : IAsyncEnumerable<ChatCompletionUpdate>
{
    public ChatUpdateStream(StreamSender sender, Func<HttpRequestMessage> createRequest, bool disposeRequest, CancellationToken cancellationToken)
    {
        Sender = sender;
        CreateRequest = createRequest;
        DisposeRequest = disposeRequest;
        CancellationToken = cancellationToken;
    }

    /// <summary>Gets how the request is sent (plain, or with the reader-level timeouts of <see cref="OpenAIStreamingClient"/>).</summary>
    public StreamSender Sender { get; }

    /// <summary>Gets the request factory, called once per enumeration.</summary>
    public Func<HttpRequestMessage> CreateRequest { get; }

    /// <summary>Gets whether the enumeration disposes the request it sent (false when the caller owns it).</summary>
    public bool DisposeRequest { get; }

    /// <summary>
    /// Gets the request as the caller asked for it, when <see cref="CreateRequest"/> added <c>stream_options.include_usage</c>
    /// to it: sent instead when the server refuses that option.
    /// </summary>
    public Func<HttpRequestMessage>? CreateRequestAsAsked { get; init; }

    /// <summary>Gets a value indicating whether the request asks for a JSON answer (<c>response_format</c> <c>json_object</c> or <c>json_schema</c>): its content is checked as JSON.</summary>
    public bool ContentIsJson { get; init; }

    /// <summary>Gets the token of the call, combined with the one given to <see cref="GetAsyncEnumerator"/>.</summary>
    public CancellationToken CancellationToken { get; }

    public IAsyncEnumerator<ChatCompletionUpdate> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new ChatUpdateEnumerator(this, cancellationToken);
}
