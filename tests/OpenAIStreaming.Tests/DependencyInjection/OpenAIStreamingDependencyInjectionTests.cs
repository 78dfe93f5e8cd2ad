using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace OpenAIStreaming.Tests.DependencyInjection;

public sealed class OpenAIStreamingDependencyInjectionTests
{
    [Fact]
    public void AddOpenAIStreaming_NamedClients_HaveIndependentOptions()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("fast").AddOpenAIStreaming(o => o.FirstTokenTimeout = TimeSpan.FromSeconds(1));
        services.AddHttpClient("thinking").AddOpenAIStreaming(o =>
        {
            o.FirstTokenTimeout = TimeSpan.FromSeconds(120);
            o.IdleTimeout = TimeSpan.FromSeconds(60);
            o.TotalTimeout = TimeSpan.FromMinutes(20);
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        var monitor = provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>();
        monitor.Get("fast").FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(1));
        monitor.Get("fast").TotalTimeout.Should().Be(TimeSpan.FromSeconds(45));
        monitor.Get("thinking").FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(120));
        monitor.Get(Options.DefaultName).FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void AddOpenAIStreaming_InvalidCrossFieldOptions_FailAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("bad").AddOpenAIStreaming(o =>
        {
            o.FirstTokenTimeout = TimeSpan.FromMinutes(2);
            o.IdleTimeout = TimeSpan.FromMinutes(3);
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which;
        error.Failures.Should().Contain(f => f.Contains("FirstTokenTimeout")).And.Contain(f => f.Contains("IdleTimeout"));
    }

    [Fact]
    public void AddOpenAIStreaming_OutOfRangeOption_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("bad").AddOpenAIStreaming(o => o.RetryJitter = 1.5);
        using ServiceProvider provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.Contains("RetryJitter"));
    }

    [Fact]
    public void AddOpenAIStreaming_ValidOptionsOfOneClient_AreNotFailedByAnother()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("good").AddOpenAIStreaming();
        services.AddHttpClient("other").AddOpenAIStreaming(o => o.MaxRetryAttempts = 3);
        using ServiceProvider provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate()).Should().NotThrow();
    }

    [Fact]
    public void AddOpenAIStreaming_ConfigurationSection_BindsTheValues()
    {
        IConfigurationSection section = Section(("FirstTokenTimeout", "00:00:05"), ("MaxRetryAttempts", "3"), ("RetryJitter", "0.2"));
        var services = new ServiceCollection();
        services.AddHttpClient("configured").AddOpenAIStreaming(section);
        using ServiceProvider provider = services.BuildServiceProvider();

        OpenAIStreamingOptions options = provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get("configured");
        options.FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(5));
        options.MaxRetryAttempts.Should().Be(3);
        options.RetryJitter.Should().Be(0.2);
    }

    [Theory]
    [InlineData("FirstTokenTimout", "00:00:05")]
    [InlineData("FirstTokenTimeout", "5 seconds")]
    [InlineData("MaxRetryAttempts", "many")]
    public void AddOpenAIStreaming_TypoInConfiguration_FailsLoudlyAtStartUp(string key, string value)
    {
        var services = new ServiceCollection();
        services.AddHttpClient("typo").AddOpenAIStreaming(Section((key, value)));
        using ServiceProvider provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<InvalidOperationException>().Which.Message.Should().Contain(key);
    }

    [Fact]
    public void AddOpenAIStreaming_OnServices_RegistersAReadyClientWithTheOpenAIBaseAddress()
    {
        var services = new ServiceCollection();
        services.AddOpenAIStreaming(o => o.MaxRetryAttempts = 1);
        using ServiceProvider provider = services.BuildServiceProvider();

        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient(OpenAIStreamingDefaults.HttpClientName);

        client.BaseAddress.Should().Be(new Uri("https://api.openai.com/v1/"));
        client.Timeout.Should().Be(Timeout.InfiniteTimeSpan);
        provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get(OpenAIStreamingDefaults.HttpClientName).MaxRetryAttempts.Should().Be(1);
    }

    [Fact]
    public void AddOpenAIStreaming_OnServices_KeepsABaseAddressTheCallerConfigures()
    {
        var services = new ServiceCollection();
        services.AddOpenAIStreaming().ConfigureHttpClient(c => c.BaseAddress = new Uri("http://localhost:8080/v1/"));
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IHttpClientFactory>().CreateClient(OpenAIStreamingDefaults.HttpClientName)
            .BaseAddress.Should().Be(new Uri("http://localhost:8080/v1/"));
    }

    [Fact]
    public void AddOpenAIStreaming_Pipeline_HasTheHandlerOverTheTunedPrimaryHandler()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("tuned").AddOpenAIStreaming(o => o.ConnectTimeout = TimeSpan.FromSeconds(1));
        using ServiceProvider provider = services.BuildServiceProvider();

        HttpMessageHandler handler = provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("tuned");

        OpenAIStreamingHandler streaming = FindHandler<OpenAIStreamingHandler>(handler).Should().NotBeNull().And.Subject.As<OpenAIStreamingHandler>();
        SocketsHttpHandler primary = FindPrimary(streaming).Should().BeOfType<SocketsHttpHandler>().Subject;
        primary.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(1));
        primary.PooledConnectionLifetime.Should().Be(TimeSpan.FromMinutes(5));
        primary.PooledConnectionIdleTimeout.Should().Be(TimeSpan.FromSeconds(90));
        primary.EnableMultipleHttp2Connections.Should().BeTrue();
        primary.AutomaticDecompression.Should().Be(DecompressionMethods.All);
    }

    [Fact]
    public void AddOpenAIStreaming_CallersOwnPrimaryHandler_IsKept()
    {
        var services = new ServiceCollection();
        var mine = new HttpClientHandler();
        services.AddHttpClient("own").ConfigurePrimaryHttpMessageHandler(() => mine).AddOpenAIStreaming();
        services.AddHttpClient("own-after").AddOpenAIStreaming().ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler());
        using ServiceProvider provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpMessageHandlerFactory>();

        FindPrimary(factory.CreateHandler("own")).Should().BeSameAs(mine);
        FindPrimary(factory.CreateHandler("own-after")).Should().BeOfType<HttpClientHandler>();
    }

    [Fact]
    public async Task AddOpenAIStreaming_HandlerInThePipeline_RetriesThroughTheFactoryClient()
    {
        var services = new ServiceCollection();
        int attempts = 0;
        services.AddHttpClient("stubbed")
            .ConfigurePrimaryHttpMessageHandler(() => new DelegateHandler(_ => ++attempts == 1 ? HttpStatusCode.BadGateway : HttpStatusCode.OK))
            .AddOpenAIStreaming(o => o.RetryBaseDelay = TimeSpan.Zero);
        using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("stubbed");

        using HttpResponseMessage response = await client.GetAsync(new Uri("http://127.0.0.1/v1/models"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        attempts.Should().Be(2);
    }

    [Fact]
    public void AddOpenAIStreaming_ConfigurationSection_BindsFallbacksAndTheCircuitBreaker()
    {
        IConfigurationSection section = Section(
            ("Fallbacks:0:Model", "gpt-4o-mini"),
            ("Fallbacks:1:Endpoint", "https://backup.test/v1/"),
            ("Fallbacks:1:ApiKey", "sk-backup"),
            ("Fallbacks:1:Headers:api-key", "azure-key"),
            ("Fallbacks:1:HasLargerContextWindow", "true"),
            ("CircuitBreaker:BreakDuration", "00:00:20"),
            ("CircuitBreaker:Enabled", "false"));
        var services = new ServiceCollection();
        services.AddHttpClient("fallbacks").AddOpenAIStreaming(section);
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        OpenAIStreamingOptions options = provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get("fallbacks");
        options.Fallbacks.Should().HaveCount(2);
        options.Fallbacks[0].Model.Should().Be("gpt-4o-mini");
        options.Fallbacks[1].Endpoint.Should().Be(new Uri("https://backup.test/v1/"));
        options.Fallbacks[1].ApiKey.Should().Be("sk-backup");
        options.Fallbacks[1].Headers.Should().Contain("api-key", "azure-key");
        options.Fallbacks[1].HasLargerContextWindow.Should().BeTrue();
        options.CircuitBreaker.BreakDuration.Should().Be(TimeSpan.FromSeconds(20));
        options.CircuitBreaker.Enabled.Should().BeFalse();
    }

    [Fact]
    public async Task AddOpenAIStreaming_HandlerRotation_KeepsTheCircuitBreakerAndRetryBudgetOfTheClient()
    {
        var services = new ServiceCollection();
        int attempts = 0;
        services.AddHttpClient("rotated")
            .ConfigurePrimaryHttpMessageHandler(() => new DelegateHandler(_ =>
            {
                Interlocked.Increment(ref attempts);
                return HttpStatusCode.InternalServerError;
            }))
            .AddOpenAIStreaming(o =>
            {
                o.MaxRetryAttempts = 0;
                o.CircuitBreaker.MinimumThroughput = 2;
                o.CircuitBreaker.FailFastWhenAllOpen = true; // so the shared open circuit shows as a refusal
            });
        using ServiceProvider provider = services.BuildServiceProvider();
        HttpClientFactoryOptions factoryOptions = provider.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>().Get("rotated");
        HttpMessageHandler BuildChain()
        {
            // What IHttpClientFactory does each time it rotates a client's handlers.
            HttpMessageHandlerBuilder builder = provider.GetRequiredService<HttpMessageHandlerBuilder>();
            builder.Name = "rotated";
            foreach (Action<HttpMessageHandlerBuilder> action in factoryOptions.HttpMessageHandlerBuilderActions)
            {
                action(builder);
            }

            return builder.Build();
        }

        using var first = new HttpClient(BuildChain());
        using var second = new HttpClient(BuildChain());
        for (int i = 0; i < 2; i++)
        {
            using HttpResponseMessage failed = await first.GetAsync(new Uri("http://127.0.0.1/v1/models"));
            failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        Func<Task> afterRotation = () => second.GetAsync(new Uri("http://127.0.0.1/v1/models"));

        (await afterRotation.Should().ThrowAsync<OpenAIStreamException>()).Which.ErrorCode.Should().Be("circuit_open");
        attempts.Should().Be(2, "the new handler instance knows the endpoint's circuit is open");
    }

    [Fact]
    public async Task AddOpenAIStreaming_MeterFactoryInTheContainer_RecordsTheHandlersMetrics()
    {
        using var meters = new OpenAIStreaming.Tests.Support.MeasurementRecorder();
        var services = new ServiceCollection();
        services.AddSingleton<System.Diagnostics.Metrics.IMeterFactory>(meters);
        int attempts = 0;
        services.AddHttpClient("metered")
            .ConfigurePrimaryHttpMessageHandler(() => new DelegateHandler(_ => ++attempts == 1 ? HttpStatusCode.BadGateway : HttpStatusCode.OK))
            .AddOpenAIStreaming(o => o.RetryBaseDelay = TimeSpan.Zero);
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("metered");
            using HttpResponseMessage response = await client.GetAsync(new Uri("http://127.0.0.1/v1/models"));
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        meters.Of("openaistreaming.retries").Should().ContainSingle().Which.Tag("error.type").Should().Be("502");
    }

    [Fact]
    public void AddOpenAIStreaming_CalledTwiceOnOneClient_AddsOneHandlerAndAppliesBothConfigurations()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("twice")
            .AddOpenAIStreaming(o => o.FirstTokenTimeout = TimeSpan.FromSeconds(5))
            .AddOpenAIStreaming(o => o.IdleTimeout = TimeSpan.FromSeconds(9));
        using ServiceProvider provider = services.BuildServiceProvider();

        HttpMessageHandler chain = provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("twice");
        int handlers = 0;
        for (HttpMessageHandler? current = chain; current is not null; current = (current as DelegatingHandler)?.InnerHandler)
        {
            handlers += current is OpenAIStreamingHandler ? 1 : 0;
        }

        handlers.Should().Be(1);
        OpenAIStreamingOptions options = provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get("twice");
        options.FirstTokenTimeout.Should().Be(TimeSpan.FromSeconds(5));
        options.IdleTimeout.Should().Be(TimeSpan.FromSeconds(9));
    }

    [Fact]
    public void AddOpenAIStreaming_ConfigurationSection_BindsModelFallbacks()
    {
        IConfigurationSection section = Section(
            ("ModelFallbacks:gpt-4o:0:Model", "gpt-4o-mini"),
            ("ModelFallbacks:gpt-4o:1:Endpoint", "https://backup.test/v1/"),
            ("MaxHedgedAttempts", "3"));
        var services = new ServiceCollection();
        services.AddHttpClient("models").AddOpenAIStreaming(section);
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        OpenAIStreamingOptions options = provider.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get("models");
        options.ModelFallbacks.Should().ContainKey("gpt-4o");
        options.ModelFallbacks["gpt-4o"].Select(f => f.Model ?? f.Endpoint!.Host).Should().Equal("gpt-4o-mini", "backup.test");
        options.MaxHedgedAttempts.Should().Be(3);
    }

    [Fact]
    public void AddOpenAIStreaming_InvalidModelFallback_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("bad-model").AddOpenAIStreaming(o => o.ModelFallbacks["gpt-4o"] = [new OpenAIStreamingFallback()]);
        using ServiceProvider provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.Contains("ModelFallbacks[gpt-4o][0]"));
    }

    private static IConfigurationSection Section(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("OpenAIStreaming:" + v.Key, v.Value)))
            .Build()
            .GetSection("OpenAIStreaming");

    private static T? FindHandler<T>(HttpMessageHandler handler)
        where T : HttpMessageHandler
    {
        for (HttpMessageHandler? current = handler; current is not null; current = (current as DelegatingHandler)?.InnerHandler)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static HttpMessageHandler FindPrimary(HttpMessageHandler handler)
    {
        HttpMessageHandler current = handler;
        while (current is DelegatingHandler { InnerHandler: { } inner })
        {
            current = inner;
        }

        return current;
    }

    private sealed class DelegateHandler(Func<HttpRequestMessage, HttpStatusCode> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(respond(request)) { RequestMessage = request, Content = new StringContent("{}") });
    }
}
