using OpenAIStreaming.CircuitBreaker.Internal;

namespace OpenAIStreaming.Tests.CircuitBreaker;

/// <summary>A route is an endpoint and a model (or an Azure deployment), named without anything secret.</summary>
public sealed class RouteKeyTests
{
    [Theory]
    [InlineData("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o")]
    [InlineData("https://API.OpenAI.com:443/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o")]
    [InlineData("http://127.0.0.1:8000/v1/chat/completions", "llama", "http://127.0.0.1:8000 llama")]
    [InlineData("https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21", null, "https://res.openai.azure.com/openai/deployments/my-gpt")]
    [InlineData("https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions", "ignored", "https://res.openai.azure.com/openai/deployments/my-gpt")]
    [InlineData("https://api.openai.com/v1/chat/completions", null, "https://api.openai.com")]
    public void Of_NamesTheEndpointAndTheModel(string uri, string? model, string expected) =>
        RouteKey.Of(new Uri(uri), model).Should().Be(expected);

    [Fact]
    public void Of_AnAddressWithUserInformation_LeavesItOut()
    {
        string key = RouteKey.Of(new Uri("https://user:s3cret@gateway.example.com/v1/chat/completions"), "gpt-4o");

        key.Should().Be("https://gateway.example.com gpt-4o").And.NotContain("s3cret");
    }

    [Fact]
    public void Of_TwoModelsOnOneEndpoint_AreTwoRoutes() =>
        RouteKey.Of(new Uri("https://api.openai.com/v1/chat/completions"), "gpt-4o")
            .Should().NotBe(RouteKey.Of(new Uri("https://api.openai.com/v1/chat/completions"), "gpt-4o-mini"));

    [Fact]
    public void Of_AddressesAndModelsInTurn_NameEachItsOwnRoute()
    {
        // Calls that go from one route to another and back (the last route is remembered) are each named for their own.
        (string Uri, string? Model, string Expected)[] calls =
        [
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o-mini", "https://api.openai.com gpt-4o-mini"),
            ("https://api.openai.com/v1/chat/completions", null, "https://api.openai.com"),
            ("http://127.0.0.1:8000/v1/chat/completions", "gpt-4o-mini", "http://127.0.0.1:8000 gpt-4o-mini"),
            ("https://res.openai.azure.com/openai/deployments/a/chat/completions", "x", "https://res.openai.azure.com/openai/deployments/a"),
            ("https://res.openai.azure.com/openai/deployments/a/chat/completions", "y", "https://res.openai.azure.com/openai/deployments/a"),
            ("https://res.openai.azure.com/openai/deployments/b/chat/completions", "y", "https://res.openai.azure.com/openai/deployments/b"),
            ("https://user:s3cret@api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
        ];

        foreach ((string uri, string? model, string expected) in calls)
        {
            RouteKey.Of(new Uri(uri), model).Should().Be(expected, $"{uri} asks for {model ?? "no model"}");
        }
    }
}
