using System.Globalization;
using System.Net;
using System.Text.Json;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>Faults that decide the response before it starts: statuses, resets, hangs, outages, prefill rejection, slow request reads.</summary>
public sealed class PreResponseFaultTests
{
    [Theory]
    [InlineData(429, null, "rate_limit_exceeded", "requests")]
    [InlineData(500, null, null, "server_error")]
    [InlineData(502, null, null, "server_error")]
    [InlineData(503, null, null, "server_error")]
    [InlineData(504, null, null, "server_error")]
    [InlineData(401, null, "invalid_api_key", "invalid_request_error")]
    [InlineData(400, "context_length_exceeded", "context_length_exceeded", "invalid_request_error")]
    [InlineData(400, "content_policy_violation", "content_policy_violation", "invalid_request_error")]
    public async Task Status_FromHeader_AnswersStatusWithOpenAIErrorBody(int status, string? code, string? expectedCode, string expectedType)
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        string spec = code is null ? $"status={status}" : $"status={status};code={code}";

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (OpenAIStreaming.Testing.FakeOpenAIHeaders.Fault, spec));
        string body = await response.Content.ReadAsStringAsync();

        ((int)response.StatusCode).Should().Be(status);
        response.Content.Headers.ContentType!.ToString().Should().Be("application/json; charset=utf-8");
        response.Content.Headers.ContentLength.Should().Be(System.Text.Encoding.UTF8.GetByteCount(body));
        Header(response, "x-request-id").Should().StartWith("req_");
        response.Headers.RetryAfter.Should().BeNull();
        body.Should().StartWith("{\n    \"error\": {\n        \"message\": ").And.EndWith("}\n");
        JsonElement error = ErrorOf(body);
        error.EnumerateObject().Select(p => p.Name).Should().Equal("message", "type", "param", "code");
        error.GetProperty("type").GetString().Should().Be(expectedType);
        (error.GetProperty("code").ValueKind == JsonValueKind.Null ? null : error.GetProperty("code").GetString()).Should().Be(expectedCode);
    }

    [Fact]
    public async Task Status429_WithRetryAfterAndRetryAfterMs_SendsBothHeadersAndExhaustedRateLimits()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "status=429;retry_after=2;retry_after_ms=1500;should_retry=true"));

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(2));
        Header(response, "retry-after-ms").Should().Be("1500");
        Header(response, "x-should-retry").Should().Be("true");
        Header(response, "x-ratelimit-remaining-requests").Should().Be("0");
        Header(response, "x-ratelimit-reset-requests").Should().Be("2s");
    }

    [Fact]
    public async Task Status503_WithRetryAfterDate_UsesTheServerClock()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        clock.Advance(TimeSpan.FromMinutes(1));

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "status=503;retry_after=30;retry_after_date"));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter!.Date.Should().Be(new DateTimeOffset(2026, 3, 1, 12, 1, 30, TimeSpan.Zero));
    }

    [Fact]
    public async Task ResetBeforeHeaders_ClientSeesHttpRequestExceptionAndNoResponse()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        Func<Task> send = () => SendAsync(fake.Client, Post("chat/completions", ChatBody(model: "fault:reset")));

        await send.Should().ThrowAsync<HttpRequestException>();
        fake.Server.Requests.Should().ContainSingle().Which.Faults.Should().ContainSingle().Which.Kind.Should().Be(FaultKind.ResetBeforeHeaders);
    }

    [Fact]
    public async Task NeverAnswer_HoldsTheRequestUntilTheClientGivesUp()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Func<Task> send = () => SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "hang")), giveUp.Token);

        await send.Should().ThrowAsync<OperationCanceledException>();
        giveUp.IsCancellationRequested.Should().BeTrue("only the client's own cancellation ends the wait");
        fake.Server.Requests.Should().ContainSingle().Which.Faults.Single().Kind.Should().Be(FaultKind.NeverAnswer);
    }

    [Fact]
    public async Task NeverAnswer_ServerDisposal_ReleasesTheHungRequest()
    {
        FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);
        Task<HttpResponseMessage> pending = SendAsync(client, Post("chat/completions", ChatBody(model: "fault:hang")), timeout.Token);
        while (server.Requests.Count == 0)
        {
            await Task.Delay(10, timeout.Token);
        }

        await server.DisposeAsync();

        await pending.Invoking(p => p).Should().ThrowAsync<HttpRequestException>();
        timeout.IsCancellationRequested.Should().BeFalse();
    }

    [Fact]
    public async Task Outage_Answers503UntilTheWindowHasPassedOnTheServerClock()
    {
        var clock = new ManualTimeProvider();
        var options = new FakeOpenAIServerOptions { TimeProvider = clock };
        options.Rules.Add(new FaultRule(Fault.Outage(TimeSpan.FromSeconds(30))));
        await using FakeSession fake = await FakeSession.StartAsync(options);

        using HttpResponseMessage during = await fake.Client.SendAsync(Post("chat/completions", ChatBody(stream: false)));
        clock.Advance(TimeSpan.FromSeconds(20));
        using HttpResponseMessage later = await fake.Client.SendAsync(Post("chat/completions", ChatBody(stream: false)));
        clock.Advance(TimeSpan.FromSeconds(10));
        using HttpResponseMessage after = await fake.Client.SendAsync(Post("chat/completions", ChatBody(stream: false)));

        during.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        during.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(30));
        later.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        later.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(10));
        after.StatusCode.Should().Be(HttpStatusCode.OK);
        fake.Server.Requests.Select(r => r.Elapsed).Should().Equal(TimeSpan.Zero, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task RejectAssistantPrefill_400OnlyWhenTheLastMessageIsFromTheAssistant()
    {
        var options = new FakeOpenAIServerOptions();
        options.Rules.Add(new FaultRule(Fault.RejectAssistantPrefill()));
        await using FakeSession fake = await FakeSession.StartAsync(options);
        string prefill = """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello, I"}]}""";

        using HttpResponseMessage rejected = await fake.PostAsync("chat/completions", prefill);
        using HttpResponseMessage accepted = await fake.PostAsync("chat/completions", ChatBody());

        rejected.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonElement error = ErrorOf(await rejected.Content.ReadAsStringAsync());
        error.GetProperty("type").GetString().Should().Be("invalid_request_error");
        error.GetProperty("param").GetString().Should().Be("messages");
        accepted.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SlowRequestRead_ReadsTheBodyInChunksWithAPauseOnTheServerClockBetweenThem()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        using var timeout = new CancellationTokenSource(TestTimeout);
        string body = ChatBody(stream: false);
        int chunks = (System.Text.Encoding.UTF8.GetByteCount(body) + 31) / 32;

        Task<HttpResponseMessage> send = fake.Client.SendAsync(Post("chat/completions", body, (FakeOpenAIHeaders.Fault, "slow-read;chunk=32;pause=1s")), timeout.Token);
        await clock.WaitForActiveTimersAsync(1, timeout.Token);
        send.IsCompleted.Should().BeFalse("the server is pausing between reads of the request body");
        int steps = await clock.AdvanceUntilAsync(send, TimeSpan.FromSeconds(1), timeout.Token);
        using HttpResponseMessage response = await send;

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        steps.Should().BeGreaterThanOrEqualTo(chunks);
        long.Parse(Header(response, "openai-processing-ms"), CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(chunks * 1000L);
        fake.Server.Requests.Single().Faults.Single().Kind.Should().Be(FaultKind.SlowRequestRead);
    }

    [Fact]
    public async Task SlowRequestRead_ProgrammaticRuleOnAHeader_AppliesOnlyToRequestsCarryingIt()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        server.AddRule(new FaultRule(Fault.SlowRequestRead(64, TimeSpan.FromSeconds(1))) { HeaderName = "x-slow" });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var timeout = new CancellationTokenSource(TestTimeout);

        using HttpResponseMessage fast = await client.SendAsync(Post("chat/completions", ChatBody(stream: false)), timeout.Token);
        Task<HttpResponseMessage> send = client.SendAsync(Post("chat/completions", ChatBody(stream: false), ("x-slow", "1")), timeout.Token);
        int steps = await clock.AdvanceUntilAsync(send, TimeSpan.FromSeconds(1), timeout.Token);
        using HttpResponseMessage slow = await send;

        Header(fast, "openai-processing-ms").Should().Be("0");
        steps.Should().BeGreaterThanOrEqualTo(2);
        server.Requests.Select(r => r.Faults.Count).Should().Equal(0, 1);
    }
}
