using System.Net;
using System.Security.Cryptography;
using System.Text;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>Attempt counting, fault selection and the request log.</summary>
public sealed class RequestLogTests
{
    [Fact]
    public async Task Attempts_SameClientRequestId_CountedAndFaultOnlyOnTheFirst()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        string body = ChatBody();

        using HttpResponseMessage first = await fake.PostAsync("chat/completions", body, (FakeOpenAIHeaders.ClientRequestId, "abc"), (FakeOpenAIHeaders.Attempt, "1"), (FakeOpenAIHeaders.Fault, "status=429;retry_after=1;attempts=1"), ("Authorization", "Bearer sk-secret-value"));
        clock.Advance(TimeSpan.FromSeconds(1.5));
        using HttpResponseMessage second = await fake.PostAsync("chat/completions", body, (FakeOpenAIHeaders.ClientRequestId, "abc"), (FakeOpenAIHeaders.Attempt, "2"), (FakeOpenAIHeaders.Fault, "status=429;retry_after=1;attempts=1"), ("Authorization", "Bearer sk-secret-value"));
        using HttpResponseMessage other = await fake.PostAsync("chat/completions", body, (FakeOpenAIHeaders.ClientRequestId, "xyz"));

        first.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        IReadOnlyList<FakeRequestLogEntry> log = fake.Server.Requests;
        log.Select(e => (e.LogicalRequestId, e.Attempt)).Should().Equal(("abc", 1), ("abc", 2), ("xyz", 1));
        (log[1].Elapsed - log[0].Elapsed).Should().Be(TimeSpan.FromSeconds(1.5));
        log[0].Faults.Should().ContainSingle().Which.Should().Be(Fault.Status(429, retryAfter: TimeSpan.FromSeconds(1)));
        log[1].Faults.Should().BeEmpty();
        log[0].BodySha256.Should().Be(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)))).And.Be(log[1].BodySha256);
        log[0].Body.Should().Be(body);
        log[0].Model.Should().Be("gpt-4o-mini");
        log[0].Method.Should().Be("POST");
        log[0].Path.Should().Be("/v1/chat/completions");
        log[1].Headers[FakeOpenAIHeaders.Attempt].Should().Be("2");
        log[0].Headers["authorization"].Should().Be("[redacted]");
        log.SelectMany(e => e.Headers.Values).Should().NotContain(v => v.Contains("sk-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Attempts_WithoutClientRequestId_AreCountedPerBodyHash()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage response = await fake.Client.SendAsync(Post("chat/completions", ChatBody(model: "fault:status=500;attempts=1-2", stream: false)));
            ((int)response.StatusCode).Should().Be(i < 2 ? 500 : 200);
        }

        using HttpResponseMessage different = await fake.Client.SendAsync(Post("chat/completions", ChatBody(model: "fault:status=500;attempts=1-2", stream: false, content: "other")));

        different.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        fake.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2, 3, 1);
        fake.Server.Requests[0].LogicalRequestId.Should().StartWith("sha256:");
    }

    [Fact]
    public async Task AddRule_MatchesByModelHeaderAndPredicate_AndClearRulesRemovesThem()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        fake.Server.AddRule(new FaultRule(Fault.Status(502)) { Model = "gpt-4o", HeaderName = "x-tenant", HeaderValue = "blue" });
        fake.Server.AddRule(new FaultRule(Fault.Status(504)) { When = r => r.Body.Contains("timeout please", StringComparison.Ordinal) });

        async Task<int> StatusAsync(string body, params (string, string)[] headers)
        {
            using HttpResponseMessage response = await fake.Client.SendAsync(Post("chat/completions", body, headers));
            return (int)response.StatusCode;
        }

        (await StatusAsync(ChatBody(model: "gpt-4o", stream: false), ("x-tenant", "blue"))).Should().Be(502);
        (await StatusAsync(ChatBody(model: "gpt-4o", stream: false), ("x-tenant", "red"))).Should().Be(200);
        (await StatusAsync(ChatBody(model: "gpt-4o-mini", stream: false), ("x-tenant", "blue"))).Should().Be(200);
        (await StatusAsync(ChatBody(stream: false, content: "timeout please"))).Should().Be(504);
        fake.Server.ClearRules();
        (await StatusAsync(ChatBody(stream: false, content: "timeout please again"))).Should().Be(200);
    }

    [Fact]
    public async Task FaultHeader_InvalidSyntax_Answers400NamingTheHeader()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.Client.SendAsync(Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "explode=3")));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        ErrorOf(await response.Content.ReadAsStringAsync()).GetProperty("param").GetString().Should().Be(FakeOpenAIHeaders.Fault);
    }

    [Fact]
    public async Task TokensHeader_SetsTheNumberOfAnswerTokens()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Tokens, "3"));

        (await ReadAllDataAsync(response)).Should().HaveCount(1 + 3 + 1 + 1);
    }
}
