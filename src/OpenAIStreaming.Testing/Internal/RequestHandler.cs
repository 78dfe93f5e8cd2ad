using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>
/// Serves every request: reads it, counts its attempt, picks its faults (rules, <c>x-fake-fault</c> header,
/// <c>fault:</c> model), logs it, applies the faults that act before the response, then routes it.
/// </summary>
internal sealed class RequestHandler(FakeOpenAIServerOptions options, long startTimestamp, CancellationToken stopping)
{
    private readonly TimeProvider _time = options.TimeProvider;
    private readonly RequestLog _log = new();
    private readonly ConcurrentDictionary<string, ResponsesResult> _stored = new(StringComparer.Ordinal);
    private readonly Lock _rulesGate = new();
    private List<FaultRule> _rules = [.. options.Rules];

    public FakeRequestLogEntry[] Requests => _log.Snapshot();

    public void AddRule(FaultRule rule)
    {
        lock (_rulesGate)
        {
            _rules = [.. _rules, rule];
        }
    }

    public void ClearRules()
    {
        lock (_rulesGate)
        {
            _rules = [];
        }
    }

    public async Task HandleAsync(HttpContext context)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            await HandleCoreAsync(context, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            context.Abort();
        }
        catch (IOException)
        {
            context.Abort();
        }
    }

    private async Task HandleCoreAsync(HttpContext context, CancellationToken cancellationToken)
    {
        long arrival = _time.GetTimestamp();
        HttpRequest request = context.Request;
        Dictionary<string, string> headers = CopyHeaders(request.Headers);
        string? clientId = headers.GetValueOrDefault(options.ClientRequestIdHeader);

        IReadOnlyList<FaultRule> headerRules;
        try
        {
            headerRules = headers.TryGetValue(FakeOpenAIHeaders.Fault, out string? spec) ? FaultRule.Parse(spec) : [];
        }
        catch (FormatException ex)
        {
            await WriteErrorAsync(context, arrival, 400, new OpenAIError(ex.Message, "invalid_request_error", FakeOpenAIHeaders.Fault, null), null, cancellationToken).ConfigureAwait(false);
            return;
        }

        FaultRule? slowRead = SelectSlowRead(request, headers, clientId, headerRules);
        byte[] body = await ReadBodyAsync(request, slowRead?.Fault, cancellationToken).ConfigureAwait(false);
        string bodyText = Encoding.UTF8.GetString(body);

        using JsonDocument? document = TryParse(body);
        if (body.Length > 0 && document is null)
        {
            await WriteErrorAsync(context, arrival, 400, new OpenAIError("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", "invalid_request_error", null, null), null, cancellationToken).ConfigureAwait(false);
            return;
        }

        JsonElement root = document?.RootElement ?? default;
        string? model = root.ValueKind == JsonValueKind.Object ? RequestReader.Model(root) : null;
        string key = clientId ?? "sha256:" + Sha256($"{request.Method} {request.Path}{request.QueryString}\n{bodyText}");
        int attempt = _log.NextAttempt(key);
        bool streaming = root.ValueKind == JsonValueKind.Object ? RequestReader.Stream(root) : request.Query["stream"] == "true";
        var fake = new FakeRequest(request.Method, request.Path.Value ?? string.Empty, request.QueryString.Value ?? string.Empty, headers, bodyText, model, streaming, key, attempt);

        List<Fault> faults;
        try
        {
            faults = SelectFaults(fake, headerRules, slowRead);
        }
        catch (FormatException ex)
        {
            await WriteErrorAsync(context, arrival, 400, new OpenAIError(ex.Message, "invalid_request_error", "model", null), null, cancellationToken).ConfigureAwait(false);
            return;
        }

        _log.Add(new FakeRequestLogEntry(
            attempt, key, _time.GetElapsedTime(startTimestamp, arrival), fake.Method, fake.Path, fake.Query, model, faults,
            LoggedHeaders(headers), Sha256(body), bodyText));

        var call = new Call(context, arrival, fake, root, faults, cancellationToken);
        if (!await ApplyPreResponseFaultsAsync(call).ConfigureAwait(false))
        {
            await RouteAsync(call).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Picks a slow-read rule before the body is read: only rules that do not look at the body (no model, no predicate)
    /// qualify, and their attempts are checked only when the client request id header tells which attempt this is.
    /// </summary>
    private FaultRule? SelectSlowRead(HttpRequest request, Dictionary<string, string> headers, string? clientId, IReadOnlyList<FaultRule> headerRules)
    {
        List<FaultRule> rules;
        lock (_rulesGate)
        {
            rules = _rules;
        }

        int attempt = clientId is null ? 0 : _log.PeekNextAttempt(clientId);
        var preview = new FakeRequest(request.Method, request.Path.Value ?? string.Empty, request.QueryString.Value ?? string.Empty, headers, string.Empty, null, false, clientId ?? string.Empty, attempt);
        return rules.Concat(headerRules).FirstOrDefault(rule => rule.Fault.Kind == FaultKind.SlowRequestRead
            && rule.Model is null && rule.When is null
            && (clientId is null || rule.Attempts.Contains(attempt))
            && rule.MatchesIgnoringAttempts(preview));
    }

    private List<Fault> SelectFaults(FakeRequest request, IReadOnlyList<FaultRule> headerRules, FaultRule? slowRead)
    {
        IReadOnlyList<FaultRule> modelRules = request.Model is { } model && model.StartsWith(FakeOpenAIHeaders.ModelPrefix, StringComparison.Ordinal)
            ? FaultRule.Parse(model[FakeOpenAIHeaders.ModelPrefix.Length..])
            : [];
        List<FaultRule> rules;
        lock (_rulesGate)
        {
            rules = _rules;
        }

        var faults = new List<Fault>();
        foreach (FaultRule rule in rules.Concat(headerRules).Concat(modelRules))
        {
            bool applies = rule.Fault.Kind == FaultKind.SlowRequestRead ? ReferenceEquals(rule, slowRead) : rule.Matches(request);
            if (applies)
            {
                faults.Add(rule.Fault);
            }
        }

        return faults;
    }

    /// <summary>Applies reset, hang, outage, status, redirect, white-space body and prefill rejection; returns whether the request has been dealt with.</summary>
    private async Task<bool> ApplyPreResponseFaultsAsync(Call call)
    {
        foreach (Fault fault in call.Faults)
        {
            switch (fault.Kind)
            {
                case FaultKind.ResetBeforeHeaders:
                    call.Context.Abort();
                    return true;
                case FaultKind.NeverAnswer:
                    await Task.Delay(Timeout.InfiniteTimeSpan, _time, call.CancellationToken).ConfigureAwait(false);
                    return true;
                case FaultKind.Status:
                    int status = fault.StatusCode == 0 ? 500 : fault.StatusCode;
                    await WriteErrorAsync(call, status, ErrorCatalog.For(status, fault.ErrorCode, call.Request.Model, fault.RetryAfter ?? fault.RetryAfterMs), fault).ConfigureAwait(false);
                    return true;
                case FaultKind.Outage:
                    TimeSpan left = fault.Duration - _time.GetElapsedTime(startTimestamp, call.Arrival);
                    if (left > TimeSpan.Zero)
                    {
                        int outageStatus = fault.StatusCode == 0 ? 503 : fault.StatusCode;
                        Fault withRetry = fault.RetryAfter is null ? fault with { RetryAfter = TimeSpan.FromSeconds(Math.Ceiling(left.TotalSeconds)) } : fault;
                        await WriteErrorAsync(call, outageStatus, ErrorCatalog.For(outageStatus, fault.ErrorCode, call.Request.Model), withRetry).ConfigureAwait(false);
                        return true;
                    }

                    break;
                case FaultKind.Redirect:
                    await WriteRedirectAsync(call, fault).ConfigureAwait(false);
                    return true;
                case FaultKind.WhitespaceBody:
                    await WriteBodyAsync(call, "text/plain", [], EndlessBodies.WhiteSpace(), rateLimits: false).ConfigureAwait(false);
                    return true;
                case FaultKind.RejectAssistantPrefill when call.Root.ValueKind == JsonValueKind.Object && RequestReader.EndsWithAssistantMessage(call.Root):
                    await WriteErrorAsync(call, 400, ErrorCatalog.AssistantPrefill(), null).ConfigureAwait(false);
                    return true;
                default:
                    break;
            }
        }

        return false;
    }

    private Task RouteAsync(Call call)
    {
        string method = call.Request.Method;
        string path = call.Request.Path.TrimEnd('/');
        if (StreamFaults.Find(call.Faults, FaultKind.ReplayBody) is { } replay)
        {
            return WriteStreamAsync(call, StreamFaults.SplitRecorded(replay.Body), endless: null, rateLimits: true);
        }

        return (method, path) switch
        {
            ("POST", "/v1/chat/completions") => ChatAsync(call),
            ("POST", "/v1/completions") => CompletionsAsync(call),
            ("POST", "/v1/responses") => ResponsesAsync(call),
            ("GET", "/v1/models") => WriteJsonAsync(call, ModelList(), rateLimits: false),
            ("GET", _) when path.StartsWith("/v1/models/", StringComparison.Ordinal) => ModelAsync(call, path["/v1/models/".Length..]),
            ("GET", _) when path.StartsWith("/v1/responses/", StringComparison.Ordinal) => RetrieveResponseAsync(call, path["/v1/responses/".Length..]),
            _ => WriteErrorAsync(call, 404, new OpenAIError($"Invalid URL ({method} {call.Request.Path})", "invalid_request_error", null, null), null),
        };
    }

    private Task ChatAsync(Call call)
    {
        if (RequireModel(call) is { } missing)
        {
            return missing;
        }

        if (!call.Root.TryGetProperty("messages", out JsonElement messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return WriteErrorAsync(call, 400, new OpenAIError("Missing required parameter: 'messages'.", "invalid_request_error", "messages", "missing_required_parameter"), null);
        }

        AnswerRequest request = RequestReader.ForChat(call.Root, call.Request.Model!);
        Answer answer = RequestReader.ContinuesFinalMessage(call.Root) && request.Messages.Count > 0
            ? Continue(Generate(call, request with { Messages = [.. request.Messages.Take(request.Messages.Count - 1)] }), request.Messages[^1].Content)
            : Generate(call, request);
        if (!call.Request.IsStreaming)
        {
            return WriteJsonAsync(call, ChatRenderer.Complete(NewContext(call, "chatcmpl-"), answer), rateLimits: true);
        }

        var streamContext = new RenderContext("chatcmpl-", call.Request.Model!, Created(), RequestReader.IncludeUsage(call.Root), options.IncludeObfuscation && RequestReader.IncludeObfuscation(call.Root))
        {
            AzureContentFilter = StreamFaults.Find(call.Faults, FaultKind.AzureContentFilter) is not null,
        };
        return WritePlanAsync(call, ChatRenderer.Stream(streamContext, answer), rateLimits: true);
    }

    private Task CompletionsAsync(Call call)
    {
        if (RequireModel(call) is { } missing)
        {
            return missing;
        }

        Answer answer = Generate(call, RequestReader.ForCompletions(call.Root, call.Request.Model!));
        var context = new RenderContext("cmpl-", call.Request.Model!, Created(), call.Request.IsStreaming && RequestReader.IncludeUsage(call.Root), obfuscation: false);
        return call.Request.IsStreaming
            ? WritePlanAsync(call, CompletionsRenderer.Stream(context, answer), rateLimits: true)
            : WriteJsonAsync(call, CompletionsRenderer.Complete(context, answer), rateLimits: true);
    }

    private Task ResponsesAsync(Call call)
    {
        if (RequireModel(call) is { } missing)
        {
            return missing;
        }

        Answer answer = Generate(call, RequestReader.ForResponses(call.Root, call.Request.Model!));
        bool background = RequestReader.Background(call.Root);
        var context = new RenderContext("resp_", call.Request.Model!, Created(), includeUsage: false, options.IncludeObfuscation && RequestReader.IncludeObfuscation(call.Root));
        ResponsesResult result = ResponsesRenderer.Render(context, answer, background);
        if (background)
        {
            _stored[result.Id] = result;
        }

        if (call.Request.IsStreaming)
        {
            return WritePlanAsync(call, result.Plan, rateLimits: false);
        }

        return WriteJsonAsync(call, background ? result.QueuedJson : result.FinalJson, rateLimits: false);
    }

    private Task RetrieveResponseAsync(Call call, string id)
    {
        if (!_stored.TryGetValue(id, out ResponsesResult? result))
        {
            return WriteErrorAsync(call, 404, new OpenAIError($"Response with id '{id}' not found.", "invalid_request_error", null, null), null);
        }

        if (!call.Request.IsStreaming)
        {
            return WriteJsonAsync(call, result.FinalJson, rateLimits: false);
        }

        string? after = call.Context.Request.Query["starting_after"];
        int skip = after is not null && int.TryParse(after, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? Math.Max(n + 1, 0) : 0;
        StreamPlan full = result.Plan;
        var resumed = new StreamPlan([.. full.Events.Skip(skip)], (sent, shape) => full.ErrorEvents(sent + skip, shape))
        {
            Endless = full.Endless is { } endless ? sent => endless(sent + skip) : null,
        };
        return WritePlanAsync(call, resumed, rateLimits: false);
    }

    private Task ModelAsync(Call call, string id) => options.Models.Contains(id)
        ? WriteJsonAsync(call, JsonText.Build(w => WriteModel(w, id)), rateLimits: false)
        : WriteErrorAsync(call, 404, ErrorCatalog.For(404, "model_not_found", id), null);

    private string ModelList() => JsonText.Build(w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (string id in options.Models)
        {
            WriteModel(w, id);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void WriteModel(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteText("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", 1_715_367_049);
        w.WriteString("owned_by", "system");
        w.WriteEndObject();
    }

    private Task? RequireModel(Call call) => call.Request.Model is null
        ? WriteErrorAsync(call, 400, new OpenAIError("you must provide a model parameter", "invalid_request_error", null, null), null)
        : null;

    private Answer Generate(Call call, AnswerRequest request)
    {
        int tokens = call.Request.Headers.TryGetValue(FakeOpenAIHeaders.Tokens, out string? text)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : options.TokenCount;
        Fault? diverge = StreamFaults.Find(call.Faults, FaultKind.DivergeAfterToken);
        return AnswerGenerator.Generate(request, options.Seed, diverge?.Events, call.Request.Attempt, tokens);
    }

    /// <summary>
    /// The answer to a conversation whose last message is the assistant's own beginning (<c>continue_final_message</c>, as
    /// vLLM has it): what the answer to the conversation without it holds after that beginning. A beginning that is not
    /// the start of that answer gets the whole answer.
    /// </summary>
    private static Answer Continue(Answer answer, string prefill)
    {
        var choices = new List<AnswerChoice>(answer.Choices.Count);
        foreach (AnswerChoice choice in answer.Choices)
        {
            if (choice.ToolCalls.Count > 0 || !choice.Text.StartsWith(prefill, StringComparison.Ordinal))
            {
                choices.Add(choice);
                continue;
            }

            var rest = new List<string>(choice.Tokens.Count);
            int at = 0;
            foreach (string token in choice.Tokens)
            {
                int end = at + token.Length;
                if (end > prefill.Length)
                {
                    rest.Add(at >= prefill.Length ? token : token[(prefill.Length - at)..]); // a token the beginning ends inside: its rest
                }

                at = end;
            }

            choices.Add(choice with { Tokens = rest });
        }

        return answer with { Choices = choices };
    }

    private RenderContext NewContext(Call call, string prefix) =>
        new(prefix, call.Request.Model!, Created(), includeUsage: false, obfuscation: false);

    private long Created() => _time.GetUtcNow().ToUnixTimeSeconds();

    private Task WritePlanAsync(Call call, StreamPlan plan, bool rateLimits) =>
        WriteStreamAsync(call, StreamFaults.Frame(StreamFaults.Apply(plan, call.Faults), call.Faults), plan.Endless, rateLimits);

    /// <summary>Writes an SSE stream; an endless line or endless events keep its first K events and add their tail.</summary>
    private Task WriteStreamAsync(Call call, List<byte[]> segments, Func<int, SseEvent>? endless, bool rateLimits)
    {
        IEnumerable<byte[]>? tail = null;
        if (StreamFaults.Find(call.Faults, FaultKind.EndlessLine) is { } line)
        {
            segments = [.. segments.Take(line.Events)];
            tail = EndlessBodies.Line("data: {\"id\":\"");
        }
        else if (endless is not null && StreamFaults.Find(call.Faults, FaultKind.EndlessEvents) is { } events)
        {
            segments = [.. segments.Take(events.Events)];
            tail = EndlessBodies.Events(endless, segments.Count, call.Faults);
        }

        return WriteBodyAsync(call, FakeDefaults.EventStreamContentType, segments, tail, rateLimits);
    }

    /// <summary>Answers 200 with <paramref name="segments"/> and then <paramref name="tail"/>, through the <see cref="EventStreamWriter"/>.</summary>
    private async Task WriteBodyAsync(Call call, string contentType, IReadOnlyList<byte[]> segments, IEnumerable<byte[]>? tail, bool rateLimits)
    {
        HttpResponse response = call.Context.Response;
        response.StatusCode = 200;
        response.ContentType = contentType;
        ApplyHeaders(call, rateLimits);
        ApplyContentEncoding(response, call.Faults);
        var timing = new StreamTiming(options.TimeToFirstToken, options.TokenGap, options.Jitter, DeterministicRandom.SeedFrom(call.Request.LogicalRequestId));
        var writer = new EventStreamWriter(call.Context, _time, timing, call.Faults);
        await writer.WriteAsync(segments, tail, call.CancellationToken).ConfigureAwait(false);
    }

    private async Task WriteJsonAsync(Call call, string json, bool rateLimits)
    {
        if (StreamFaults.Find(call.Faults, FaultKind.EndlessLine) is not null)
        {
            await WriteBodyAsync(call, "application/json", [], EndlessBodies.Line("{\"id\":\""), rateLimits).ConfigureAwait(false);
            return;
        }

        Fault? slow = StreamFaults.Find(call.Faults, FaultKind.SlowFirstToken);
        TimeSpan delay = options.TimeToFirstToken + (slow?.Duration ?? TimeSpan.Zero);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, call.CancellationToken).ConfigureAwait(false);
        }

        HttpResponse response = call.Context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        ApplyHeaders(call, rateLimits);
        await WriteWholeBodyAsync(response, Encoding.UTF8.GetBytes(json), call.Faults, call.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Answers a redirect status with <c>Location</c> and a small JSON body.</summary>
    private async Task WriteRedirectAsync(Call call, Fault fault)
    {
        HttpResponse response = call.Context.Response;
        response.StatusCode = fault.StatusCode == 0 ? 307 : fault.StatusCode;
        response.ContentType = FakeDefaults.JsonContentType;
        response.Headers.Location = fault.Location;
        ResponseHeaders.ApplyCommon(response, ResponseHeaders.NewRequestId(), _time.GetElapsedTime(call.Arrival));
        string json = JsonText.Build(w =>
        {
            w.WriteStartObject();
            w.WriteText("location", fault.Location);
            w.WriteEndObject();
        });
        await WriteWholeBodyAsync(response, Encoding.UTF8.GetBytes(json), call.Faults, call.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a body of known length: as it is, or as a gzip file (or garbage) under a <see cref="FaultKind.GzipBody"/> fault.</summary>
    private static async Task WriteWholeBodyAsync(HttpResponse response, byte[] bytes, IReadOnlyList<Fault> faults, CancellationToken cancellationToken)
    {
        if (ApplyContentEncoding(response, faults) is { } gzip)
        {
            bytes = GzipSink.Compress(bytes, corrupt: gzip.CorruptAfterEvents is not null);
        }

        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets <c>Content-Encoding: gzip</c> when a <see cref="FaultKind.GzipBody"/> fault applies, and returns that fault.</summary>
    private static Fault? ApplyContentEncoding(HttpResponse response, IReadOnlyList<Fault> faults)
    {
        Fault? gzip = StreamFaults.Find(faults, FaultKind.GzipBody);
        if (gzip is not null)
        {
            response.Headers.ContentEncoding = "gzip";
        }

        return gzip;
    }

    private void ApplyHeaders(Call call, bool rateLimits)
    {
        HttpResponse response = call.Context.Response;
        ResponseHeaders.ApplyCommon(response, ResponseHeaders.NewRequestId(), _time.GetElapsedTime(call.Arrival));
        if (rateLimits)
        {
            ResponseHeaders.ApplyRateLimits(response, FakeDefaults.RequestLimit - 1, FakeDefaults.TokenLimit - (call.Request.Body.Length / 4), TimeSpan.FromMilliseconds(6), TimeSpan.Zero);
        }
    }

    private Task WriteErrorAsync(Call call, int status, OpenAIError error, Fault? fault) =>
        WriteErrorAsync(call.Context, call.Arrival, status, error, fault, call.Faults, call.CancellationToken);

    private Task WriteErrorAsync(HttpContext context, long arrival, int status, OpenAIError error, Fault? fault, CancellationToken cancellationToken) =>
        WriteErrorAsync(context, arrival, status, error, fault, [], cancellationToken);

    private async Task WriteErrorAsync(HttpContext context, long arrival, int status, OpenAIError error, Fault? fault, IReadOnlyList<Fault> faults, CancellationToken cancellationToken)
    {
        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentType = FakeDefaults.JsonContentType;
        ResponseHeaders.ApplyCommon(response, ResponseHeaders.NewRequestId(), _time.GetElapsedTime(arrival));
        TimeSpan? retryAfter = fault?.RetryAfter ?? (fault?.RetryAfterAsDate == true ? FakeDefaults.DefaultRetryAfterDate : null);
        if (status == 429)
        {
            TimeSpan reset = retryAfter ?? fault?.RetryAfterMs ?? TimeSpan.FromSeconds(1);
            ResponseHeaders.ApplyRateLimits(response, 0, FakeDefaults.TokenLimit, reset, reset);
        }

        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = fault!.RetryAfterAsDate
                ? (_time.GetUtcNow() + delay).ToString("R", CultureInfo.InvariantCulture)
                : delay.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        }

        if (fault?.RetryAfterMs is { } retryAfterMs)
        {
            response.Headers["retry-after-ms"] = retryAfterMs.TotalMilliseconds.ToString(CultureInfo.InvariantCulture);
        }

        if (fault?.ShouldRetry is { } shouldRetry)
        {
            response.Headers["x-should-retry"] = shouldRetry ? "true" : "false";
        }

        await WriteWholeBodyAsync(response, Encoding.UTF8.GetBytes(error.ToJson()), faults, cancellationToken).ConfigureAwait(false);
    }

    private async Task<byte[]> ReadBodyAsync(HttpRequest request, Fault? slowRead, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        if (slowRead is null)
        {
            await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }

        byte[] chunk = new byte[Math.Max(1, slowRead.ChunkSize)];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (slowRead.Duration > TimeSpan.Zero)
            {
                await Task.Delay(slowRead.Duration, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        return buffer.ToArray();
    }

    private static JsonDocument? TryParse(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> CopyHeaders(IHeaderDictionary headers)
    {
        var copy = new Dictionary<string, string>(headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in headers)
        {
            copy[header.Key] = header.Value.ToString();
        }

        return copy;
    }

    private Dictionary<string, string> LoggedHeaders(Dictionary<string, string> headers)
    {
        var logged = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, string> header in headers)
        {
            if (options.LoggedHeaders.Contains(header.Key))
            {
                bool secret = FakeDefaults.SecretHeaders.Contains(header.Key, StringComparer.OrdinalIgnoreCase);
                logged[header.Key] = secret ? FakeDefaults.Redacted : header.Value;
            }
        }

        return logged;
    }

    private static string Sha256(string text) => Sha256(Encoding.UTF8.GetBytes(text));

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>One request in flight, with what the handler learned about it.</summary>
    private sealed record Call(HttpContext Context, long Arrival, FakeRequest Request, JsonElement Root, IReadOnlyList<Fault> Faults, CancellationToken CancellationToken);
}
