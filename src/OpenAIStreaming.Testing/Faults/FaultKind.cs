namespace OpenAIStreaming.Testing;

/// <summary>What a <see cref="Fault"/> does to a request. The header and model-name token for each kind is given in brackets.</summary>
public enum FaultKind
{
    /// <summary>[<c>status=N</c>] Answers with HTTP status <see cref="Fault.StatusCode"/> and an OpenAI-shaped error body, optionally with <c>Retry-After</c> / <c>retry-after-ms</c>.</summary>
    Status,

    /// <summary>[<c>reset</c>] Aborts the connection before any response byte is written.</summary>
    ResetBeforeHeaders,

    /// <summary>[<c>hang</c>] Accepts the request and never answers, until the client gives up or the server stops.</summary>
    NeverAnswer,

    /// <summary>[<c>slow-first-token=T</c>] Sends the headers, then waits <see cref="Fault.Duration"/> before the first event.</summary>
    SlowFirstToken,

    /// <summary>[<c>cut=K</c>] Writes <see cref="Fault.Events"/> events, then aborts the connection (no terminating chunk, no <c>[DONE]</c>).</summary>
    CutAfterEvents,

    /// <summary>[<c>stall=K;for=T</c>] Writes <see cref="Fault.Events"/> events, waits <see cref="Fault.Duration"/>, then aborts the connection.</summary>
    StallAfterEvents,

    /// <summary>[<c>error=K;shape=nested|flat|failed</c>] Writes <see cref="Fault.Events"/> events, then an error event (chat: <c>data: {"error":…}</c> then <c>[DONE]</c>; Responses: see <see cref="Fault.ErrorShape"/>), then ends the body.</summary>
    MidStreamError,

    /// <summary>[<c>malformed=K</c>] Event number <see cref="Fault.Events"/> (1-based) carries truncated, invalid JSON.</summary>
    MalformedJson,

    /// <summary>[<c>no-done</c>] Omits the <c>data: [DONE]</c> sentinel; the body still ends cleanly.</summary>
    MissingDone,

    /// <summary>[<c>bytewise;pause=T</c>] Writes and flushes every byte of the body separately, waiting <see cref="Fault.Duration"/> after each.</summary>
    ByteByByte,

    /// <summary>[<c>split-utf8;pause=T</c>] Splits every multi-byte UTF-8 character across two flushed writes, waiting <see cref="Fault.Duration"/> in between.</summary>
    SplitMultiByteCharacters,

    /// <summary>[<c>crlf</c>] Ends every SSE line with CR LF.</summary>
    CrlfLineEndings,

    /// <summary>[<c>cr</c>] Ends every SSE line with a lone CR.</summary>
    CrLineEndings,

    /// <summary>[<c>keepalive;every=N;text=…</c>] Writes a comment line (<see cref="Fault.Text"/>, default <c>: keep-alive</c>) and a blank line before every <see cref="Fault.Events"/>-th event.</summary>
    KeepAliveComments,

    /// <summary>[<c>azure-filter</c>] Chat only: adds Azure's prompt-filter frame first, <c>content_filter_results</c> on every choice, and a delta-less annotation chunk after the finish chunk.</summary>
    AzureContentFilter,

    /// <summary>[<c>outage=T</c>] Answers 503 (with <c>Retry-After</c>) until <see cref="Fault.Duration"/> has passed since the server started.</summary>
    Outage,

    /// <summary>[<c>reject-prefill</c>] Answers 400 when the last chat message has the role <c>assistant</c>; other requests are served normally.</summary>
    RejectAssistantPrefill,

    /// <summary>[<c>slow-read;chunk=N;pause=T</c>] Reads the request body <see cref="Fault.ChunkSize"/> bytes at a time, waiting <see cref="Fault.Duration"/> between reads. It is chosen before the body is read, so only the header and rules without <see cref="FaultRule.Model"/> or <see cref="FaultRule.When"/> select it, and their attempts count only when the request carries the client request id header.</summary>
    SlowRequestRead,

    /// <summary>[<c>diverge=N</c>] The answer's tokens are the usual ones up to token <see cref="Fault.Events"/> (exclusive), then depend on the attempt number, so a re-sent request diverges.</summary>
    DivergeAfterToken,

    /// <summary>(programmatic only) Answers 200 <c>text/event-stream</c> with <see cref="Fault.Body"/> verbatim, one write per SSE event.</summary>
    ReplayBody,

    /// <summary>[<c>redirect=N;to=URL</c>] Answers status <see cref="Fault.StatusCode"/> (301, 302, 303, 307 or 308; 0 means 307) with a <c>Location</c> header set to <see cref="Fault.Location"/> and a small JSON body, and nothing else.</summary>
    Redirect,

    /// <summary>[<c>endless=K</c>] On a chat, completions or Responses stream: the first <see cref="Fault.Events"/> events of the healthy stream, then content deltas (text <c>" more"</c>, never a finish reason) forever, as fast as the client takes them, until the client goes away or the server stops.</summary>
    EndlessEvents,

    /// <summary>[<c>endless-line=K</c>] On a stream: <see cref="Fault.Events"/> events, then <c>data: {"id":"</c> followed by the byte <c>a</c> forever, with no line break. Instead of a non-stream JSON answer: a 200 <c>application/json</c> body <c>{"id":"</c> followed by <c>a</c> forever. Ends when the client goes away or the server stops.</summary>
    EndlessLine,

    /// <summary>[<c>whitespace</c>] Answers 200 <c>text/plain</c> with a body of ASCII white space (spaces, tabs, LF, CR LF) forever, until the client goes away or the server stops.</summary>
    WhitespaceBody,

    /// <summary>[<c>gzip;corrupt=K</c>] Sends the body (stream, JSON or error) with <c>Content-Encoding: gzip</c>, a stream flushed per write so each event can be decoded as it comes. With <see cref="Fault.CorruptAfterEvents"/> K: after the K-th event, about 64 KiB of empty deflate blocks (they decode to nothing and keep the K events out of the decoder's input buffer that meets the error), then bytes that are not deflate data (0xFF), then the body ends; a non-stream body is garbage from its start.</summary>
    GzipBody,

    /// <summary>[<c>bad-chunk=K</c>] On a stream: <see cref="Fault.Events"/> events, 64 KiB of blank lines (no SSE event; they keep the K events out of the read that meets the error, which the client drops), then a malformed HTTP/1.1 chunk header (<c>zz</c>) straight on the socket, then the connection closes.</summary>
    MalformedChunk,

    /// <summary>[<c>reset-after=K</c>] Writes <see cref="Fault.Events"/> events, then resets the connection (TCP RST: no terminating chunk, no FIN).</summary>
    ResetAfterEvents,
}
