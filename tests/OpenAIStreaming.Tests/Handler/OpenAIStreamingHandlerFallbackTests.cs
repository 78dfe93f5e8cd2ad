using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Handler;

/// <summary>Ordered fallbacks (model and endpoint) and the per-endpoint circuit breaker, on a fake clock.</summary>
public sealed class OpenAIStreamingHandlerFallbackTests
{
    private const string ContextLengthBody = """{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""";
    private const string PolicyBody = """{"error":{"message":"Your request was rejected.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}""";
    private static readonly Uri Backup = new("http://backup.test/v1/");

    private static OpenAIStreamingOptions Options(params OpenAIStreamingFallback[] fallbacks)
    {
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.Zero };
        foreach (OpenAIStreamingFallback fallback in fallbacks)
        {
            options.Fallbacks.Add(fallback);
        }

        return options;
    }

    [Fact]
    public async Task Send_PrimaryRetriesExhausted_FallbackModelAnswersWithTheModelRewrittenInTheBody()
    {
        using var h = new HandlerHarness(Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" }));
        h.Stub.ThenStatus(503).ThenStatus(503).ThenStatus(503).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts.Select(a => a.Attempt).Should().Equal("1", "2", "3", "4");
        h.Stub.Attempts.Take(3).Should().AllSatisfy(a => a.Body.Should().Be(HandlerHarness.SentChatRequest));
        h.Stub.Attempts[3].Body.Should().Be(HandlerHarness.SentChatRequest.Replace("\"gpt-4o\"", "\"gpt-4o-mini\"", StringComparison.Ordinal));
        h.Stub.Attempts[3].Uri.Should().Be(h.Stub.Attempts[0].Uri, "a model-only fallback keeps the endpoint");
        h.Stub.Attempts.Select(a => a.ClientRequestId).Distinct().Should().ContainSingle();
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_FirstTokenMissWithAFallback_MovesToTheFallbackAtOnceInsteadOfRetryingThePrimary()
    {
        using var h = new HandlerHarness(Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" }));
        h.Stub.ThenHang().ThenSse(Healthy);

        Task<string> run = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 1, "the primary attempt to reach the stub");
        await h.Time.WaitForTimerDueInAsync(h.Options.FirstTokenTimeout);
        h.Time.Advance(h.Options.FirstTokenTimeout);

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.Attempts[1].SentAt.Should().Be(h.Options.FirstTokenTimeout, "no backoff between a first-token miss and the fallback");
        h.Stub.Attempts[1].Body.Should().Contain("\"gpt-4o-mini\"");
    }

    [Fact]
    public async Task Send_LastAttemptOfTheChain_IsNotCutByTheFirstTokenTimeout()
    {
        var options = Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" });
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        var slow = new ControlledStream();
        h.Stub.ThenStatus(500).ThenStream(slow);

        Task<string> run = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 2, "the fallback attempt");
        h.Time.Advance(TimeSpan.FromSeconds(20)); // far past the 3 s first-token timeout, inside the 45 s total
        slow.Push(Healthy).Complete();

        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(2);
    }

    [Fact]
    public async Task Send_EndpointFallback_GetsItsOwnCredentialsAndNeverThePrimaryKey()
    {
        var fallback = new OpenAIStreamingFallback { Endpoint = Backup, ApiKey = "sk-backup" };
        fallback.Headers["api-key"] = "azure-backup";
        var options = Options(fallback);
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        h.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-primary");
        h.Stub.ThenStatus(502).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts[0].Uri.Should().Be(new Uri("http://127.0.0.1/v1/chat/completions"));
        h.Stub.Attempts[0].Authorization.Should().Be("Bearer sk-primary");
        h.Stub.Attempts[1].Uri.Should().Be(new Uri("http://backup.test/v1/chat/completions"));
        h.Stub.Attempts[1].Authorization.Should().Be("Bearer sk-backup");
        h.Stub.Attempts[1].ApiKey.Should().Be("azure-backup");
        h.Stub.Attempts[1].Body.Should().Be(HandlerHarness.SentChatRequest, "an endpoint-only fallback keeps the body");
    }

    [Fact]
    public async Task Send_EndpointFallbackWithoutCredentials_SendsNoAuthorizationToTheOtherHost()
    {
        var options = Options(new OpenAIStreamingFallback { Endpoint = Backup });
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        h.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-primary");
        h.Stub.ThenStatus(503).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts[1].Uri!.Host.Should().Be("backup.test");
        h.Stub.Attempts[1].Authorization.Should().BeNull();
    }

    [Fact]
    public async Task Send_ContextLengthExceeded_GoesOnlyToTheLargerContextFallback()
    {
        using var h = new HandlerHarness(Options(
            new OpenAIStreamingFallback { Model = "small-model" },
            new OpenAIStreamingFallback { Model = "large-model", HasLargerContextWindow = true }));
        h.Stub.ThenStatus(400, ContextLengthBody).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts.Should().HaveCount(2, "the small model is skipped and the 400 is not retried");
        h.Stub.Attempts[1].Body.Should().Contain("\"large-model\"");
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_ContextLengthExceededWithoutALargerContextFallback_OneAttemptAndTheCodeReachesTheCaller()
    {
        using var h = new HandlerHarness(Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" }));
        h.Stub.ThenStatus(400, ContextLengthBody);

        Func<Task> run = () => Within(h.StreamTextAsync());

        (await run.Should().ThrowAsync<OpenAIStreamException>()).Which.ErrorCode.Should().Be("context_length_exceeded");
        h.Stub.Attempts.Should().ContainSingle();
    }

    [Fact]
    public async Task Send_Other400WithALargerContextFallbackAhead_IsReturnedWithItsBodyIntact()
    {
        using var h = new HandlerHarness(Options(new OpenAIStreamingFallback { Model = "large-model", HasLargerContextWindow = true }));
        h.Stub.ThenStatus(400, PolicyBody);

        Func<Task> run = () => Within(h.StreamTextAsync());

        OpenAIStreamException error = (await run.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.ErrorCode.Should().Be("content_policy_violation", "the body read to look for the code is handed back whole");
        error.StatusCode.Should().Be(400);
        h.Stub.Attempts.Should().ContainSingle();
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_FallbackAlsoFails_TheLastFailureReachesTheCallerAndEveryResponseIsDisposed()
    {
        var options = Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" });
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500).ThenStatus(503);

        Func<Task> run = () => Within(h.StreamTextAsync());

        (await run.Should().ThrowAsync<OpenAIStreamException>()).Which.StatusCode.Should().Be(503);
        h.Stub.Attempts.Should().HaveCount(2);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_Outage_OpensTheCircuitSoRequestsSkipThePrimaryUntilItRecovers()
    {
        var options = Options(new OpenAIStreamingFallback { Endpoint = Backup });
        options.MaxRetryAttempts = 0;
        options.CircuitBreaker.MinimumThroughput = 2;
        options.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(10);
        using var h = new HandlerHarness(options);
        bool primaryDown = true;
        h.Stub.Fallback = (request, _) => Task.FromResult(request.RequestUri!.Host == "backup.test" || !primaryDown
            ? h.Stub.Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(Healthy)), "text/event-stream", [])
            : h.Stub.Respond(request, 503, new TrackedMemoryStream([]), "application/json", []));

        for (int i = 0; i < 2; i++)
        {
            (await Within(h.StreamTextAsync())).Should().Be("ok");
        }

        h.Stub.Attempts.Select(a => a.Uri!.Host).Should().Equal("127.0.0.1", "backup.test", "127.0.0.1", "backup.test");

        (await Within(h.StreamTextAsync())).Should().Be("ok");
        h.Stub.Attempts.Skip(4).Select(a => a.Uri!.Host).Should().Equal(["backup.test"], "the open circuit skips the primary without sending to it");

        primaryDown = false;
        h.Time.Advance(TimeSpan.FromSeconds(10));
        (await Within(h.StreamTextAsync())).Should().Be("ok");
        (await Within(h.StreamTextAsync())).Should().Be("ok");
        h.Stub.Attempts.Skip(5).Select(a => a.Uri!.Host).Should().Equal(["127.0.0.1", "127.0.0.1"], "a trial request found the primary healthy and closed the circuit");
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_CircuitOpenWithoutAFallback_TheLastTargetIsStillSentAndAnswersWhenItHasRecovered()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        using var h = new HandlerHarness(options);
        bool down = true;
        h.Stub.Fallback = (request, _) => Task.FromResult(down
            ? h.Stub.Respond(request, 500, new TrackedMemoryStream([]), "application/json", [])
            : h.Stub.Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(Healthy)), "text/event-stream", []));
        for (int i = 0; i < 2; i++)
        {
            await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>();
        }

        h.Handler.SharedState.IsRefusing("http://127.0.0.1 gpt-4o").Should().BeTrue("two failures of two opened the route's circuit");
        down = false;

        (await Within(h.StreamTextAsync())).Should().Be("ok", "the only target is never refused: it is sent as the circuit's trial");
        h.Stub.Attempts.Should().HaveCount(3);
        h.Handler.SharedState.IsRefusing("http://127.0.0.1 gpt-4o").Should().BeFalse("the trial's success closed the circuit");
    }

    [Fact]
    public async Task Send_CircuitOpenWithoutAFallbackAndFailFast_FailsAtOnceWithTheCircuitOpenCode()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        options.CircuitBreaker.FailFastWhenAllOpen = true;
        using var h = new HandlerHarness(options);
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 500, new TrackedMemoryStream([]), "application/json", []));
        for (int i = 0; i < 2; i++)
        {
            Func<Task> failing = () => Within(h.StreamTextAsync());
            (await failing.Should().ThrowAsync<OpenAIStreamException>()).Which.StatusCode.Should().Be(500);
        }

        Func<Task> run = () => Within(h.StreamTextAsync());

        OpenAIStreamException error = (await run.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.ErrorCode.Should().Be("circuit_open");
        error.IsRetryable.Should().BeTrue();
        error.Message.Should().Contain("http://127.0.0.1");
        h.Stub.Attempts.Should().HaveCount(2, "nothing is sent while the circuit is open");
    }

    [Fact]
    public async Task Send_429s_DoNotOpenTheCircuit()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        using var h = new HandlerHarness(options);
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 429, new TrackedMemoryStream([]), "application/json", []));

        for (int i = 0; i < 4; i++)
        {
            Func<Task> run = () => Within(h.StreamTextAsync());
            (await run.Should().ThrowAsync<OpenAIStreamException>()).Which.StatusCode.Should().Be(429);
        }

        h.Stub.Attempts.Should().HaveCount(4, "a rate limit belongs to the key or model, not to the endpoint's health");
    }

    [Fact]
    public async Task Send_CircuitBreakerDisabled_KeepsSendingThroughAnOutage()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.CircuitBreaker.MinimumThroughput = 2;
        options.CircuitBreaker.Enabled = false;
        using var h = new HandlerHarness(options);
        h.Stub.Fallback = (request, _) => Task.FromResult(h.Stub.Respond(request, 503, new TrackedMemoryStream([]), "application/json", []));

        for (int i = 0; i < 4; i++)
        {
            Func<Task> run = () => Within(h.StreamTextAsync());
            (await run.Should().ThrowAsync<OpenAIStreamException>()).Which.StatusCode.Should().Be(503);
        }

        h.Stub.Attempts.Should().HaveCount(4);
    }

    [Fact]
    public async Task Send_NonStreamRequest_FallsBackToo()
    {
        var options = Options(new OpenAIStreamingFallback { Model = "gpt-4o-mini" });
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500).ThenStatus(200, """{"id":"x"}""");

        using HttpResponseMessage response = await Within(h.Client.PostAsync("chat/completions", new StringContent("""{"model":"gpt-4o"}""", Encoding.UTF8, "application/json")));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        h.Stub.Attempts[1].Body.Should().Be("""{"model":"gpt-4o-mini"}""");
    }

    [Fact]
    public async Task Send_EveryFallbackCircuitOpen_TheSlowPrimaryIsKeptAndNoHedgeGoesToTheOpenRoute()
    {
        var options = Options(new OpenAIStreamingFallback { Endpoint = Backup });
        options.MaxRetryAttempts = 0;
        options.CircuitBreaker.MinimumThroughput = 2;
        using var h = new HandlerHarness(options);
        string phase = "healthy";
        ControlledStream? slow = null;
        h.Stub.Fallback = (request, _) => Task.FromResult(
            phase == "healthy" ? h.Stub.Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(Healthy)), "text/event-stream", [])
            : phase == "outage" ? h.Stub.Respond(request, request.RequestUri!.Host == "backup.test" ? 503 : 500, new TrackedMemoryStream([]), "application/json", [])
            : h.Stub.Respond(request, 200, slow = new ControlledStream(), "text/event-stream", []));
        for (int i = 0; i < 4; i++)
        {
            (await Within(h.StreamTextAsync())).Should().Be("ok"); // the primary: 4 successes
        }

        phase = "outage";
        for (int i = 0; i < 2; i++)
        {
            // The primary fails 2 of 6 (its circuit stays closed); the backup fails 2 of 2 (its circuit opens).
            await FluentActions.Awaiting(() => Within(h.StreamTextAsync())).Should().ThrowAsync<OpenAIStreamException>();
        }

        phase = "slow";
        Task<string> run = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => h.Stub.Attempts.Count == 9 && slow is not null, "the primary attempt");
        h.Stub.Attempts[8].Uri!.Host.Should().Be("127.0.0.1");

        h.Time.Advance(TimeSpan.FromSeconds(20));
        slow!.Push(Healthy).Complete();
        (await Within(run)).Should().Be("ok");
        h.Stub.Attempts.Should().HaveCount(9, "the first-token miss found no target to hedge on: the backup's circuit is open, and the primary has no retries");
    }

    [Fact]
    public async Task Send_TotalTimeoutWhileReadingA400BodyForItsCode_IsATotalTimeoutAndThe400IsDisposed()
    {
        using var h = new HandlerHarness(Options(new OpenAIStreamingFallback { Model = "large", HasLargerContextWindow = true }));
        var body = new ControlledStream();
        h.Stub.Then((request, _) => Task.FromResult(h.Stub.Respond(request, 400, body, "application/json", [])));

        Task<string> run = h.StreamTextAsync();
        await ManualTimeProvider.WaitUntilAsync(() => body.PendingReads > 0, "the handler to read the 400 body");
        h.Time.Advance(h.Options.TotalTimeout);

        (await FluentActions.Awaiting(() => Within(run)).Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        h.Stub.AllBodiesDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task Send_FallbackHeaderOfTheSameNameAsTheRequests_IsUndoneForTheNextTarget()
    {
        var replacing = new OpenAIStreamingFallback { Model = "first-fallback" };
        replacing.Headers["OpenAI-Organization"] = "org-fallback";
        var options = Options(replacing, new OpenAIStreamingFallback { Model = "second-fallback" });
        options.MaxRetryAttempts = 0;
        using var h = new HandlerHarness(options);
        h.Client.DefaultRequestHeaders.Add("OpenAI-Organization", "org-own");
        var organizations = new List<string?>();
        h.Stub.Fallback = (request, _) =>
        {
            organizations.Add(request.Headers.TryGetValues("OpenAI-Organization", out IEnumerable<string>? values) ? values.Single() : null);
            return Task.FromResult(organizations.Count < 3
                ? h.Stub.Respond(request, 500, new TrackedMemoryStream([]), "application/json", [])
                : h.Stub.Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(Healthy)), "text/event-stream", []));
        };

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        organizations.Should().Equal("org-own", "org-fallback", "org-own");
    }
}
