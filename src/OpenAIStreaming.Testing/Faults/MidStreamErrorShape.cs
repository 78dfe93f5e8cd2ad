namespace OpenAIStreaming.Testing;

/// <summary>How a <see cref="FaultKind.MidStreamError"/> looks on a Responses API stream. Chat and completions streams always use <c>data: {"error":…}</c>.</summary>
public enum MidStreamErrorShape
{
    /// <summary>[<c>shape=nested</c>] <c>event: error</c> with <c>{"type":"error","sequence_number":N,"error":{…}}</c>, as OpenAI and Azure send it.</summary>
    Nested,

    /// <summary>[<c>shape=flat</c>] <c>event: error</c> with <c>{"type":"error","code":…,"message":…,"param":null,"sequence_number":N}</c>, as the spec defines it.</summary>
    Flat,

    /// <summary>[<c>shape=failed</c>] <c>event: response.failed</c> with <c>response.status:"failed"</c> and <c>response.error</c>.</summary>
    ResponseFailed,
}
