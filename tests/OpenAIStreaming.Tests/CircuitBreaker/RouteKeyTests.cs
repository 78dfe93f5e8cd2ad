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
}
