using System.Net;
using System.Net.Sockets;
using OpenAIStreaming.Tests.Client.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

/// <summary><c>WarmUpAsync</c> on real sockets: a Kestrel server on 127.0.0.1 that counts the connections it accepts.</summary>
public sealed class OpenAIStreamingWarmUpExtensionsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task WarmUpAsync_NConnections_OpensExactlyN(int connections)
    {
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        using CancellationTokenSource guard = HangGuard.Start();

        await http.WarmUpAsync(connections, guard.Token);

        server.AcceptedConnections.Should().Be(connections);
        server.Requests.Should().HaveCount(connections).And.AllBe("GET /v1/", "the base address is warmed with a plain GET");
    }

    [Fact]
    public async Task WarmUpAsync_DefaultArguments_OpenOneConnection()
    {
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };

        await http.WarmUpAsync().WaitAsync(HangGuard.Limit);

        server.AcceptedConnections.Should().Be(1);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task WarmUpAsync_ThenThreeRequestsInFlightAtOnce_OnlyTheMissingConnectionsAreOpened(int warmed)
    {
        // The server holds the three requests until all are in flight, so they need three connections: with three warm
        // ones, none is opened; with none warm (the control), all three are.
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        server.HoldUntil = 3;
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        using CancellationTokenSource guard = HangGuard.Start();
        if (warmed > 0)
        {
            await http.WarmUpAsync(warmed, guard.Token);
        }

        server.AcceptedConnections.Should().Be(warmed);
        await SendHeldRequestsAsync(http, 3, guard.Token);

        server.AcceptedConnections.Should().Be(3, $"{warmed} warm connections were reused and {3 - warmed} opened");
    }

    [Fact]
    public async Task WarmUpAsync_Uri_WarmsThatServerWithTheClientsOwnHeaders()
    {
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler());
        http.DefaultRequestHeaders.Authorization = new("Bearer", "sk-test");

        await http.WarmUpAsync(new Uri(server.BaseAddress, "models"), 2).WaitAsync(HangGuard.Limit);

        server.AcceptedConnections.Should().Be(2);
        server.Requests.Should().AllBe("GET /v1/models Bearer sk-test");
    }

    [Fact]
    public async Task WarmUpAsync_RefusedPort_ThrowsHttpRequestExceptionWithConnectionError()
    {
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{UnusedPort()}/v1/") };

        HttpRequestException error = (await FluentActions.Awaiting(() => http.WarmUpAsync(2).WaitAsync(HangGuard.Limit))
            .Should().ThrowAsync<HttpRequestException>()).Which;

        error.HttpRequestError.Should().Be(HttpRequestError.ConnectionError);
    }

    [Fact]
    public async Task WarmUpAsync_InvalidArguments_Throw()
    {
        using var http = new HttpClient();

        await FluentActions.Awaiting(() => http.WarmUpAsync(0)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => http.WarmUpAsync()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*BaseAddress*");
        await FluentActions.Awaiting(() => http.WarmUpAsync(new Uri("models", UriKind.Relative))).Should().ThrowAsync<InvalidOperationException>();
        await FluentActions.Awaiting(() => ((HttpClient)null!).WarmUpAsync()).Should().ThrowAsync<ArgumentNullException>();
    }

    [Fact]
    public async Task OpenAIStreamingClient_WarmUpAsync_WarmsTheWrappedClient()
    {
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions());

        await client.WarmUpAsync(2).WaitAsync(HangGuard.Limit);

        server.AcceptedConnections.Should().Be(2);
    }

    [Fact]
    public async Task WarmUpAsync_MoreConnectionsThanThePoolAllows_StopsHoldingAndCompletes()
    {
        await using ConnectionCountingServer server = await ConnectionCountingServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var clock = new ManualTimeProvider();
        var client = new OpenAIStreamingClient(http, new OpenAIStreamingOptions(), clock);

        Task warming = client.WarmUpAsync(2);
        await ManualTimeProvider.WaitUntilAsync(
            () => server.Requests.Count == 1 && clock.PendingDueTimes().Contains(TimeSpan.FromSeconds(5)),
            "the answered request holding the only connection the pool allows");
        warming.IsCompleted.Should().BeFalse("the second request waits for the connection the first one holds");
        clock.Advance(TimeSpan.FromSeconds(5));

        await warming.WaitAsync(HangGuard.Limit);
        server.Requests.Should().HaveCount(2, "the second request was served on the connection the first one freed");
        server.AcceptedConnections.Should().Be(1);
    }

    [Fact]
    public async Task WarmUpAsync_AnswerBodyStalls_EndsAfterTheDrainBoundWithoutFailing()
    {
        await using var server = new StallingBodyServer();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var clock = new ManualTimeProvider();

        Task warming = OpenAIStreamingWarmUpExtensions.WarmUpAsync(http, uri: null, connections: 1, clock, CancellationToken.None);
        await ManualTimeProvider.WaitUntilAsync(
            () => server.Answered == 1 && clock.PendingDueTimes().Contains(OpenAIStreamingWarmUpExtensions.MaxDrain),
            "the answer and the drain bound");
        warming.IsCompleted.Should().BeFalse("the body is still being read");
        clock.Advance(OpenAIStreamingWarmUpExtensions.MaxDrain);

        await warming.WaitAsync(HangGuard.Limit);
    }

    [Fact]
    public async Task WarmUpAsync_ServerNeverAnswers_FailsWithATimeoutAfterItsBound()
    {
        await using OpenAIStreaming.Testing.FakeOpenAIServer server = await OpenAIStreaming.Testing.FakeOpenAIServer.StartAsync();
        server.AddRule(new OpenAIStreaming.Testing.FaultRule(OpenAIStreaming.Testing.Fault.NeverAnswer()));
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var clock = new ManualTimeProvider();

        Task warming = OpenAIStreamingWarmUpExtensions.WarmUpAsync(http, uri: null, connections: 2, clock, CancellationToken.None);
        await ManualTimeProvider.WaitUntilAsync(
            () => server.Requests.Count == 2 && clock.PendingDueTimes().Contains(OpenAIStreamingWarmUpExtensions.MaxWait),
            "both requests at the silent server");
        clock.Advance(OpenAIStreamingWarmUpExtensions.MaxWait);

        OpenAIStreamTimeoutException error = (await FluentActions.Awaiting(() => warming.WaitAsync(HangGuard.Limit))
            .Should().ThrowAsync<OpenAIStreamTimeoutException>()).Which;
        error.Kind.Should().Be(OpenAIStreamTimeoutKind.Total);
        error.Timeout.Should().Be(OpenAIStreamingWarmUpExtensions.MaxWait);
    }

    /// <summary>Sends <paramref name="count"/> requests that the server answers only once all of them are in flight.</summary>
    private static async Task SendHeldRequestsAsync(HttpClient http, int count, CancellationToken cancellationToken)
    {
        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => http.GetAsync(new Uri("hold", UriKind.Relative), cancellationToken)));
        foreach (HttpResponseMessage response in responses)
        {
            response.StatusCode.Should().Be(HttpStatusCode.NotFound);
            response.Dispose();
        }
    }

    private static int UnusedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port; // closed on return: nothing listens there
    }
}
