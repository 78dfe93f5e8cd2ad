using System.Net;
using System.Text;
using System.Text.Json;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>The healthy behaviour of the fake server: endpoints, framing, headers, deterministic answers.</summary>
public sealed class FakeOpenAIServerTests
{
    [Fact]
    public async Task StartAsync_Default_ListensOnLoopbackWithV1BaseAddress()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();

        server.BaseAddress.Host.Should().Be("127.0.0.1");
        server.BaseAddress.Port.Should().BeGreaterThan(0);
        server.BaseAddress.AbsolutePath.Should().Be("/v1/");
    }

    [Fact]
    public async Task ChatStream_Healthy_IsByteFaithfulToOpenAI()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(includeUsage: true));
        string body = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/event-stream; charset=utf-8");
        response.Headers.TransferEncodingChunked.Should().BeTrue();
        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        Header(response, "x-request-id").Should().MatchRegex("^req_[0-9a-f]{32}$");
        Header(response, "openai-version").Should().Be("2020-10-01");
        long.Parse(Header(response, "openai-processing-ms")).Should().BeGreaterThanOrEqualTo(0);
        Header(response, "x-ratelimit-limit-requests").Should().Be("10000");
        Header(response, "x-ratelimit-remaining-requests").Should().Be("9999");
        Header(response, "x-ratelimit-reset-requests").Should().Be("6ms");
        Header(response, "x-ratelimit-reset-tokens").Should().Be("0s");

        body.Should().EndWith("data: [DONE]\n\n").And.NotContain("\r").And.NotContain("event:");
        string[] events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        events.Should().OnlyContain(e => e.StartsWith("data: ", StringComparison.Ordinal) && !e.Contains('\n'));
        List<string> data = events.Select(e => e["data: ".Length..]).ToList();

        data[0].Should().Contain("\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}");
        data[0].Should().MatchRegex("^\\{\"id\":\"chatcmpl-[A-Za-z0-9]+\",\"object\":\"chat.completion.chunk\",\"created\":\\d+,\"model\":\"gpt-4o-mini\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_[0-9a-f]+\",\"choices\":\\[");
        data.SkipLast(2).Should().OnlyContain(d => d.Contains("\"usage\":null"));
        data[^3].Should().Contain("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"");
        data[^2].Should().Contain("\"choices\":[],\"usage\":{\"prompt_tokens\":");
        data[^1].Should().Be("[DONE]");
        data.SkipLast(1).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("id").GetString()).Distinct().Should().ContainSingle("every chunk has the same id");

        ChatText(data).Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
    }

    [Fact]
    public async Task ChatStream_SameRequestTwice_YieldsTheSameTokens_AndAnotherSeedDiffers()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        async Task<List<string>> TokensAsync(string body)
        {
            using HttpResponseMessage response = await fake.PostAsync("chat/completions", body);
            return (await ReadAllDataAsync(response)).Where(d => d.Contains("\"content\":\"") && !d.Contains("\"role\"")).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!).ToList();
        }

        List<string> first = await TokensAsync(ChatBody(edit: b => b["seed"] = 7));
        List<string> second = await TokensAsync(ChatBody(edit: b => b["seed"] = 7));
        List<string> other = await TokensAsync(ChatBody(edit: b => b["seed"] = 8));

        first.Should().HaveCount(12).And.Equal(second);
        other.Should().NotEqual(first);
        string.Concat(first).Should().MatchRegex("[^\\x00-\\x7F]", "every answer carries multi-byte characters");
        string.Concat(first).Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")], seed: 7));
    }

    [Fact]
    public async Task Chat_NotStreaming_ReturnsChatCompletionObject()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.Client.SendAsync(Post("chat/completions", ChatBody(stream: false)));
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        doc.RootElement.GetProperty("object").GetString().Should().Be("chat.completion");
        JsonElement choice = doc.RootElement.GetProperty("choices")[0];
        choice.GetProperty("message").GetProperty("content").GetString().Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
        choice.GetProperty("finish_reason").GetString().Should().Be("stop");
        doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32().Should().Be(12);
    }

    [Fact]
    public async Task ChatStream_MaxTokensBelowTokenCount_FinishesWithLength()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        List<string> data = await fake.DataAsync("chat/completions", ChatBody(edit: b => b["max_tokens"] = 3));

        data.Should().HaveCount(1 + 3 + 1 + 1);
        data[^2].Should().Contain("\"finish_reason\":\"length\"");
    }

    [Fact]
    public async Task ChatStream_WithTools_StreamsParallelCallsInFragments()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        string body = ChatBody(edit: b => b["tools"] = System.Text.Json.Nodes.JsonNode.Parse("""
            [{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}},
             {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}]
            """));

        List<string> data = await fake.DataAsync("chat/completions", body);

        var fragments = data.Where(d => d.Contains("\"tool_calls\":[")).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0].Clone()).ToList();
        fragments.Select(f => f.GetProperty("index").GetInt32()).Should().BeInAscendingOrder().And.Contain([0, 1], "calls come one after another");
        foreach (int index in new[] { 0, 1 })
        {
            var call = fragments.Where(f => f.GetProperty("index").GetInt32() == index).ToList();
            call[0].GetProperty("id").GetString().Should().StartWith("call_");
            call[0].GetProperty("type").GetString().Should().Be("function");
            call[0].GetProperty("function").GetProperty("arguments").GetString().Should().BeEmpty();
            call.Skip(1).Select(f => f.EnumerateObject().Select(p => p.Name).ToList()).Should().AllBeEquivalentTo(new[] { "index", "function" });
            call.Skip(1).Select(f => f.GetProperty("function").EnumerateObject().Select(p => p.Name).ToList()).Should().AllBeEquivalentTo(new[] { "arguments" });
            call.Count.Should().BeGreaterThan(2, "arguments arrive in several fragments");
            string arguments = string.Concat(call.Select(f => f.GetProperty("function").GetProperty("arguments").GetString()));
            JsonDocument.Parse(arguments).RootElement.ValueKind.Should().Be(JsonValueKind.Object);
        }

        fragments[0].GetProperty("function").GetProperty("name").GetString().Should().Be("get_weather");
        data[0].Should().Contain("\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null}");
        data[^2].Should().Contain("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"");
    }

    [Fact]
    public async Task ChatStream_NGreaterThanOne_InterleavesOneChoicePerChunk()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        List<string> data = await fake.DataAsync("chat/completions", ChatBody(edit: b => b["n"] = 3));

        var choices = data.SkipLast(1).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices")).ToList();
        choices.Should().OnlyContain(c => c.GetArrayLength() == 1);
        var indexes = choices.Select(c => c[0].GetProperty("index").GetInt32()).ToList();
        indexes.Take(6).Should().Equal(0, 1, 2, 0, 1, 2);
        foreach (int index in new[] { 0, 1, 2 })
        {
            var own = choices.Where(c => c[0].GetProperty("index").GetInt32() == index).Select(c => c[0]).ToList();
            own.Count(c => c.GetProperty("delta").TryGetProperty("role", out _)).Should().Be(1);
            own.Count(c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String).Should().Be(1);
        }

        string.Concat(choices.Where(c => c[0].GetProperty("index").GetInt32() == 2).Select(c => c[0].GetProperty("delta").TryGetProperty("content", out JsonElement t) ? t.GetString() : ""))
            .Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")], choiceIndex: 2));
    }

    [Fact]
    public async Task CompletionsStream_SendsTextCompletionChunksThenDone()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        List<string> data = await fake.DataAsync("completions", """{"model":"gpt-3.5-turbo-instruct","prompt":"Once","stream":true,"stream_options":{"include_usage":true}}""");

        data.SkipLast(2).Should().OnlyContain(d => d.Contains("\"object\":\"text_completion\"") && d.Contains("\"usage\":null"));
        data[^3].Should().Contain("\"finish_reason\":\"stop\"");
        data[^2].Should().Contain("\"choices\":[]").And.Contain("\"usage\":{\"prompt_tokens\":");
        data[^1].Should().Be("[DONE]");
    }

    [Fact]
    public async Task ResponsesStream_EventAndDataLines_GapFreeSequenceNumbers_NoDone()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("responses", """{"model":"gpt-4o-mini","input":"Say hello","stream":true}""");
        string body = await response.Content.ReadAsStringAsync();

        response.Headers.Contains("x-ratelimit-limit-requests").Should().BeFalse("the Responses capture carries none");
        body.Should().NotContain("[DONE]");
        string[] events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var parsed = events.Select(e => e.Split('\n')).Select(l => (Name: l[0]["event: ".Length..], Json: JsonDocument.Parse(l[1]["data: ".Length..]).RootElement)).ToList();
        parsed.Should().OnlyContain(p => p.Json.GetProperty("type").GetString() == p.Name);
        parsed.Select(p => p.Json.GetProperty("sequence_number").GetInt32()).Should().Equal(Enumerable.Range(0, parsed.Count));
        parsed.Select(p => p.Name).Should().StartWith(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta"])
            .And.EndWith(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
        string text = string.Concat(parsed.Where(p => p.Name == "response.output_text.delta").Select(p => p.Json.GetProperty("delta").GetString()));
        text.Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
        parsed[^1].Json.GetProperty("response").GetProperty("usage").GetProperty("output_tokens").GetInt32().Should().Be(12);
    }

    [Fact]
    public async Task ResponsesBackground_RetrieveWithStartingAfter_ReplaysTheSameSequenceNumbers()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage live = await fake.PostAsync("responses", """{"model":"gpt-4o-mini","input":"Resume me","stream":true,"background":true}""");
        List<string> original = await ReadAllDataAsync(live);
        string id = JsonDocument.Parse(original[0]).RootElement.GetProperty("response").GetProperty("id").GetString()!;

        using HttpResponseMessage full = await fake.Client.GetAsync($"responses/{id}?stream=true");
        using HttpResponseMessage resumed = await fake.Client.GetAsync($"responses/{id}?stream=true&starting_after=5");
        List<string> replayed = await ReadAllDataAsync(full);
        List<string> rest = await ReadAllDataAsync(resumed);

        original.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("type").GetString()).Should().Contain("response.queued");
        replayed.Should().Equal(original);
        rest.Should().Equal(original.Skip(6));
        JsonDocument.Parse(rest[0]).RootElement.GetProperty("sequence_number").GetInt32().Should().Be(6);
    }

    [Fact]
    public async Task ResponsesBackground_NotStreaming_ReturnsQueuedThenCompletedOnRetrieve()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage created = await fake.Client.SendAsync(Post("responses", """{"model":"gpt-4o-mini","input":"Later","background":true}"""));
        JsonElement queued = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        string retrieved = await fake.Client.GetStringAsync($"responses/{queued.GetProperty("id").GetString()}");

        queued.GetProperty("status").GetString().Should().Be("queued");
        JsonDocument.Parse(retrieved).RootElement.GetProperty("status").GetString().Should().Be("completed");
    }

    [Fact]
    public async Task ResponsesStream_WithTools_StreamsFunctionCallArguments()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("responses", """{"model":"gpt-4o-mini","input":"Weather?","stream":true,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}""");
        var events = (await ReadAllDataAsync(response)).Select(d => JsonDocument.Parse(d).RootElement).ToList();

        string deltas = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "response.function_call_arguments.delta").Select(e => e.GetProperty("delta").GetString()));
        JsonElement done = events.Single(e => e.GetProperty("type").GetString() == "response.function_call_arguments.done");
        done.GetProperty("arguments").GetString().Should().Be(deltas);
        done.GetProperty("name").GetString().Should().Be("get_weather");
        JsonDocument.Parse(deltas).RootElement.TryGetProperty("city", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Models_ListsConfiguredModels_AndUnknownModelIs404()
    {
        var options = new FakeOpenAIServerOptions();
        options.Models.Add("my-model");
        await using FakeSession fake = await FakeSession.StartAsync(options);

        JsonElement list = JsonDocument.Parse(await fake.Client.GetStringAsync("models")).RootElement;
        using HttpResponseMessage missing = await fake.Client.GetAsync("models/nope");

        list.GetProperty("object").GetString().Should().Be("list");
        list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).Should().Contain(["gpt-4o-mini", "my-model"]);
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        ErrorOf(await missing.Content.ReadAsStringAsync()).GetProperty("code").GetString().Should().Be("model_not_found");
    }

    [Fact]
    public async Task UnknownPath_Returns404InvalidUrlError()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.Client.SendAsync(Post("embeddingz", "{}"));

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        JsonElement error = ErrorOf(await response.Content.ReadAsStringAsync());
        error.GetProperty("message").GetString().Should().Be("Invalid URL (POST /v1/embeddingz)");
        error.GetProperty("param").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task ReplayBody_ServesARecordedStreamVerbatim()
    {
        var options = new FakeOpenAIServerOptions();
        options.Rules.Add(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes(RecordedStreams.FinishLength))));
        await using FakeSession fake = await FakeSession.StartAsync(options);

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody());
        string body = await response.Content.ReadAsStringAsync();

        response.Content.Headers.ContentType!.ToString().Should().Be("text/event-stream; charset=utf-8");
        body.Should().Be(RecordedStreams.FinishLength);
    }
}
