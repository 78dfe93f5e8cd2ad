using Microsoft.Extensions.Options;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Tests.Handler;

public sealed class OpenAIStreamingOptionsTests
{
    [Fact]
    public void Defaults_AreTheInteractivePreset()
    {
        var options = new OpenAIStreamingOptions();

        options.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(10));
        options.FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(3));
        options.IdleTimeout.Should().Be(TimeSpan.FromSeconds(8));
        options.TotalTimeout.Should().Be(TimeSpan.FromSeconds(45));
        options.MaxRetryAttempts.Should().Be(2);
        options.RetryBaseDelay.Should().Be(TimeSpan.FromMilliseconds(300));
        options.RetryJitter.Should().Be(0.25);
        options.MaxRetryAfter.Should().Be(TimeSpan.FromSeconds(60));
        options.RetryBudgetRatio.Should().Be(0.2);
        options.RetryBudgetMinRetriesPerSecond.Should().Be(10);
        options.MaxRequestBodyBytes.Should().Be(4 * 1024 * 1024);
        options.MaxErrorBodyBytes.Should().Be(64 * 1024);
        OpenAIStreamingOptions.Interactive.Should().BeEquivalentTo(options);
    }

    [Fact]
    public void Presets_HaveTheirDocumentedValuesAndAreValid()
    {
        OpenAIStreamingOptions longForm = OpenAIStreamingOptions.LongForm;
        longForm.FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(10));
        longForm.IdleTimeout.Should().Be(TimeSpan.FromSeconds(30));
        longForm.TotalTimeout.Should().Be(TimeSpan.FromMinutes(10));

        OpenAIStreamingOptions reasoning = OpenAIStreamingOptions.Reasoning;
        reasoning.FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(120));
        reasoning.IdleTimeout.Should().Be(TimeSpan.FromSeconds(60));
        reasoning.TotalTimeout.Should().Be(TimeSpan.FromMinutes(20));

        foreach (OpenAIStreamingOptions preset in new[] { OpenAIStreamingOptions.Interactive, longForm, reasoning })
        {
            preset.Invoking(p => p.Validate()).Should().NotThrow();
        }

        OpenAIStreamingOptions.Reasoning.Should().NotBeSameAs(OpenAIStreamingOptions.Reasoning, "each read returns a new instance");
    }

    [Fact]
    public void Validate_ListsEveryFailure()
    {
        var options = new OpenAIStreamingOptions
        {
            TotalTimeout = TimeSpan.FromSeconds(5),
            FirstTokenTimeout = TimeSpan.FromSeconds(6),
            IdleTimeout = TimeSpan.FromSeconds(7),
            ConnectTimeout = TimeSpan.FromSeconds(8),
            RetryJitter = 2,
            MaxRetryAttempts = 11,
        };

        OptionsValidationException error = options.Invoking(o => o.Validate()).Should().Throw<OptionsValidationException>().Which;

        error.Failures.Should().HaveCount(5);
        error.Failures.Should().Contain(f => f.Contains("FirstTokenTimeout"))
            .And.Contain(f => f.Contains("IdleTimeout"))
            .And.Contain(f => f.Contains("ConnectTimeout"))
            .And.Contain(f => f.Contains("RetryJitter"))
            .And.Contain(f => f.Contains("MaxRetryAttempts"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Validate_NonPositiveTimeout_Fails(int seconds)
    {
        var options = new OpenAIStreamingOptions { IdleTimeout = TimeSpan.FromSeconds(seconds) };

        options.Invoking(o => o.Validate()).Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.Contains("IdleTimeout"));
    }

    [Fact]
    public void Validate_BadFallbacksAndCircuitBreaker_ListEachFailure()
    {
        var options = new OpenAIStreamingOptions();
        options.Fallbacks.Add(new OpenAIStreamingFallback());
        options.Fallbacks.Add(new OpenAIStreamingFallback { Endpoint = new Uri("ftp://backup.test/") });
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "m", ApiKey = "sk\r\nx-injected: 1" });
        options.CircuitBreaker.FailureRatio = 0;
        options.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(10);

        OptionsValidationException error = options.Invoking(o => o.Validate()).Should().Throw<OptionsValidationException>().Which;

        error.Failures.Should().Contain(f => f.Contains("Fallbacks[0] must name a Model, an Endpoint, or both"))
            .And.Contain(f => f.Contains("Fallbacks[1].Endpoint"))
            .And.Contain(f => f.Contains("Fallbacks[2].ApiKey"))
            .And.Contain(f => f.Contains("FailureRatio"))
            .And.Contain(f => f.Contains("BreakDuration"));
        error.Failures.Should().NotContain(f => f.Contains("sk\r\n"), "a key is never echoed");
    }

    [Fact]
    public void Clone_CopiesFallbacksAndCircuitBreakerDeeply()
    {
        var options = new OpenAIStreamingOptions();
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "a" });
        options.Fallbacks[0].Headers["api-key"] = "k";

        OpenAIStreamingOptions copy = options.Clone();
        options.Fallbacks[0].Model = "changed";
        options.Fallbacks[0].Headers["api-key"] = "changed";
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "b" });
        options.CircuitBreaker.Enabled = false;

        copy.Fallbacks.Should().ContainSingle().Which.Model.Should().Be("a");
        copy.Fallbacks[0].Headers["api-key"].Should().Be("k");
        copy.CircuitBreaker.Enabled.Should().BeTrue();
    }

    [Fact]
    public void Fallback_ToString_NamesHostAndModelButNoCredential()
    {
        var fallback = new OpenAIStreamingFallback { Endpoint = new Uri("https://backup.test/v1/"), Model = "gpt-4o-mini", ApiKey = "sk-secret" };
        fallback.Headers["api-key"] = "azure-secret";

        fallback.ToString().Should().Be("backup.test gpt-4o-mini");
    }

    [Fact]
    public void Handler_InvalidOptions_ThrowsInTheConstructor()
    {
        var options = new OpenAIStreamingOptions { FirstTokenTimeout = TimeSpan.FromMinutes(5) };

        FluentActions.Invoking(() => new OpenAIStreamingHandler(options)).Should().Throw<OptionsValidationException>();
    }

    [Fact]
    public void CreatePrimaryHandler_IsTuned()
    {
        using SocketsHttpHandler handler = OpenAIStreamingHandler.CreatePrimaryHandler(new OpenAIStreamingOptions { ConnectTimeout = TimeSpan.FromMilliseconds(1500) });

        handler.ConnectTimeout.Should().Be(TimeSpan.FromMilliseconds(1500));
        handler.PooledConnectionLifetime.Should().Be(TimeSpan.FromMinutes(5));
        handler.KeepAlivePingDelay.Should().Be(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void TimeoutException_NamesTheKindAndValue_AndOnlyTotalIsNotRetryable()
    {
        var idle = new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Idle, TimeSpan.FromSeconds(8));
        idle.Message.Should().Contain("idle").And.Contain("8 s");
        idle.IsRetryable.Should().BeTrue();
        new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.FirstToken, TimeSpan.FromSeconds(3)).IsRetryable.Should().BeTrue();
        new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Connect, TimeSpan.FromSeconds(2)).IsRetryable.Should().BeTrue();
        new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, TimeSpan.FromSeconds(45)).IsRetryable.Should().BeFalse();
    }

    [Theory]
    [InlineData("""{"model":"m","stream":true}""", true)]
    [InlineData("""{"model":"m","stream":false}""", false)]
    [InlineData("""{"model":"m"}""", false)]
    [InlineData("""{"model":"m","metadata":{"stream":true}}""", false)]
    [InlineData("""{"stream":"true"}""", false)]
    [InlineData("not json", false)]
    [InlineData("""[{"stream":true}]""", false)]
    public void AsksForStream_ReadsOnlyTheTopLevelBooleanStream(string body, bool expected) =>
        RequestBodyBuffer.AsksForStream(System.Text.Encoding.UTF8.GetBytes(body)).Should().Be(expected);
}
