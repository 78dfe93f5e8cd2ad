using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>The fault syntax shared by the x-fake-fault header and fault: model names.</summary>
public sealed class FaultRuleTests
{
    [Theory]
    [InlineData("status=429;retry_after=2;attempts=1")]
    [InlineData("status=400;code=context_length_exceeded")]
    [InlineData("status=503;retry_after_ms=1500;should_retry=false")]
    [InlineData("reset;attempts=1-2")]
    [InlineData("hang;attempts=2-")]
    [InlineData("slow-first-token=250ms")]
    [InlineData("cut=3")]
    [InlineData("stall=3;for=30s")]
    [InlineData("error=2;shape=flat")]
    [InlineData("malformed=4")]
    [InlineData("no-done")]
    [InlineData("bytewise;pause=1ms")]
    [InlineData("split-utf8;pause=10ms")]
    [InlineData("crlf")]
    [InlineData("cr")]
    [InlineData("keepalive;every=2")]
    [InlineData("azure-filter")]
    [InlineData("outage=30s")]
    [InlineData("reject-prefill")]
    [InlineData("slow-read;chunk=16;pause=100ms")]
    [InlineData("diverge=5")]
    [InlineData("redirect=307;to=http://127.0.0.1:1234/v1/chat/completions")]
    [InlineData("redirect=301;to=/v1/elsewhere;attempts=1")]
    [InlineData("redirect;to=http://127.0.0.1:1/v1/")]
    [InlineData("endless=5")]
    [InlineData("endless-line=2")]
    [InlineData("whitespace")]
    [InlineData("gzip")]
    [InlineData("gzip;corrupt=3")]
    [InlineData("gzip;corrupt=0")]
    [InlineData("bad-chunk=4")]
    public void Parse_ThenToString_RoundTrips(string spec)
    {
        FaultRule rule = FaultRule.Parse(spec).Single();

        rule.ToString().Should().Be(spec);
        FaultRule.Parse(rule.ToString()).Single().Fault.Should().Be(rule.Fault);
    }

    [Fact]
    public void Parse_NewKinds_MatchTheFactories()
    {
        FaultRule.Parse("redirect=308;to=http://127.0.0.1:1234/v1/chat/completions").Single().Fault
            .Should().Be(Fault.Redirect(308, new Uri("http://127.0.0.1:1234/v1/chat/completions")));
        FaultRule.Parse("endless=5").Single().Fault.Should().Be(Fault.EndlessEvents(5));
        FaultRule.Parse("endless-line=2").Single().Fault.Should().Be(Fault.EndlessLine(2));
        FaultRule.Parse("whitespace").Single().Fault.Should().Be(Fault.WhitespaceBody());
        FaultRule.Parse("gzip").Single().Fault.Should().Be(Fault.GzipBody());
        FaultRule.Parse("gzip;corrupt=3").Single().Fault.Should().Be(Fault.GzipBody(corruptAfterEvents: 3));
        FaultRule.Parse("bad-chunk=4").Single().Fault.Should().Be(Fault.MalformedChunk(4));
        Fault.Redirect(302, new Uri("/v1/elsewhere", UriKind.Relative)).ToString().Should().Be("redirect=302;to=/v1/elsewhere");
    }

    [Fact]
    public void Parse_SeveralFaults_OneRulePerFaultWithItsOwnAttempts()
    {
        IReadOnlyList<FaultRule> rules = FaultRule.Parse("status=429;retry_after=2;attempts=1, crlf ,cut=3;attempts=2");

        rules.Select(r => r.Fault.Kind).Should().Equal(FaultKind.Status, FaultKind.CrlfLineEndings, FaultKind.CutAfterEvents);
        rules[0].Fault.RetryAfter.Should().Be(TimeSpan.FromSeconds(2));
        rules.Select(r => r.Attempts).Should().Equal(AttemptSet.Only(1), AttemptSet.All, AttemptSet.Only(2));
    }

    [Theory]
    [InlineData("explode")]
    [InlineData("status")]
    [InlineData("cut=three")]
    [InlineData("stall=2;for=soon")]
    [InlineData("status=500;attempts=0")]
    [InlineData("error=1;shape=round")]
    [InlineData("crlf;bogus=1")]
    [InlineData("replay")]
    [InlineData("redirect=307")]
    [InlineData("redirect=200;to=http://127.0.0.1:1/")]
    [InlineData("redirect=304;to=http://127.0.0.1:1/")]
    [InlineData("endless")]
    [InlineData("endless-line")]
    [InlineData("bad-chunk")]
    [InlineData("gzip=1")]
    [InlineData("gzip;corrupt=x")]
    [InlineData("whitespace=2")]
    public void Parse_InvalidSyntax_ThrowsFormatException(string spec)
    {
        Action parse = () => FaultRule.Parse(spec);

        parse.Should().Throw<FormatException>();
    }

    [Fact]
    public void AttemptSet_Contains_HonoursRanges()
    {
        AttemptSet.Parse("2-").Contains(1).Should().BeFalse();
        AttemptSet.Parse("2-").Contains(9).Should().BeTrue();
        AttemptSet.Parse("1-3").Contains(3).Should().BeTrue();
        AttemptSet.Parse("1-3").Contains(4).Should().BeFalse();
        AttemptSet.All.Contains(1000).Should().BeTrue();
    }
}
