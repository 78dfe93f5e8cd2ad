using System.Text;
using System.Text.Json;
using OpenAIStreaming.Tests.Support;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Testing.Support;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>Faults that break a stream after it has started: cuts, stalls, error events, malformed events, missing [DONE], Azure frames.</summary>
public sealed class StreamFaultTests
{
    [Fact]
    public async Task CutAfterEvents_ExactlyKEventsThenTheConnectionBreaks()
    {
        await using FakeSession fake = await FakeSession.StartAsync();
        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(model: "fault:cut=3"));
        var data = new List<string>();

        Func<Task> read = () => ReadDataAsync(response, data);

        await read.Should().ThrowAsync<IOException>();
        data.Should().HaveCount(3);
        data.Should().NotContain("[DONE]");
        data.Should().OnlyContain(d => !d.Contains("\"finish_reason\":\"stop\""));
    }

    [Fact]
    public async Task StallAfterEvents_KEventsThenSilenceForTOnTheServerClockThenTheConnectionBreaks()
    {
        var clock = new ManualTimeProvider();
        await using FakeSession fake = await FakeSession.StartAsync(new FakeOpenAIServerOptions { TimeProvider = clock });
        using var timeout = new CancellationTokenSource(TestTimeout);
        using HttpResponseMessage response = await SendAsync(fake.Client, Post("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "stall=2;for=30s")), timeout.Token);
        var data = new List<string>();

        Task read = ReadDataAsync(response, data, timeout.Token);
        await clock.WaitForActiveTimersAsync(1, timeout.Token);
        clock.Advance(TimeSpan.FromSeconds(29));
        bool stillWaiting = !read.IsCompleted && clock.ActiveTimers == 1;
        clock.Advance(TimeSpan.FromSeconds(1));

        stillWaiting.Should().BeTrue("the stall lasts 30 s on the server clock");
        await read.Invoking(r => r).Should().ThrowAsync<IOException>();
        data.Should().HaveCount(2);
    }

    [Fact]
    public async Task MidStreamError_Chat_ErrorEnvelopeThenDone()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "error=4"));
        List<string> data = await ReadAllDataAsync(response);

        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        data.Should().HaveCount(6);
        JsonElement error = JsonDocument.Parse(data[4]).RootElement.GetProperty("error");
        error.GetProperty("type").GetString().Should().Be("server_error");
        error.GetProperty("message").GetString().Should().NotBeNullOrEmpty();
        data[5].Should().Be("[DONE]");
    }

    [Theory]
    [InlineData("nested")]
    [InlineData("flat")]
    [InlineData("failed")]
    public async Task MidStreamError_Responses_ErrorEventInTheChosenShapeWithTheNextSequenceNumber(string shape)
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        using HttpResponseMessage response = await fake.PostAsync("responses", """{"model":"gpt-4o-mini","input":"hi","stream":true}""", (FakeOpenAIHeaders.Fault, $"error=5;shape={shape}"));
        string body = await response.Content.ReadAsStringAsync();

        string[] events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        events.Should().HaveCount(6);
        string last = events[^1];
        JsonElement json = JsonDocument.Parse(last.Split('\n')[1]["data: ".Length..]).RootElement;
        json.GetProperty("sequence_number").GetInt32().Should().Be(5);
        switch (shape)
        {
            case "nested":
                last.Should().StartWith("event: error\n");
                json.GetProperty("error").GetProperty("code").GetString().Should().Be("server_error");
                break;
            case "flat":
                last.Should().StartWith("event: error\n");
                json.GetProperty("code").GetString().Should().Be("server_error");
                json.TryGetProperty("error", out _).Should().BeFalse();
                break;
            default:
                last.Should().StartWith("event: response.failed\n");
                json.GetProperty("response").GetProperty("status").GetString().Should().Be("failed");
                json.GetProperty("response").GetProperty("error").GetProperty("code").GetString().Should().Be("server_error");
                break;
        }
    }

    [Fact]
    public async Task MalformedJson_OnlyEventKIsInvalidJson()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        List<string> data = await fake.DataAsync("chat/completions", ChatBody(model: "fault:malformed=3"));

        static bool Parses(string json)
        {
            try
            {
                JsonDocument.Parse(json).Dispose();
                return true;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        data.Select((d, i) => (d, i)).Where(x => x.d != "[DONE]" && !Parses(x.d)).Select(x => x.i + 1).Should().Equal(3);
        data[2].Should().StartWith("{\"id\":\"chatcmpl-");
        data[^1].Should().Be("[DONE]");
    }

    [Fact]
    public async Task MissingDone_StreamEndsCleanlyWithoutTheSentinel()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        string body = await fake.BodyAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "no-done"));

        body.Should().NotContain("[DONE]");
        body.Should().EndWith("\"finish_reason\":\"stop\"}]" + body[(body.LastIndexOf("}]", StringComparison.Ordinal) + 2)..]);
        body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(1 + 12 + 1);
    }

    [Fact]
    public async Task AzureContentFilter_PromptFrameFirst_FilterResultsOnChoices_DeltaLessAnnotationAfterFinish()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        List<string> data = await fake.DataAsync("chat/completions", ChatBody(), (FakeOpenAIHeaders.Fault, "azure-filter"));

        data[0].Should().StartWith("{\"id\":\"\",\"object\":\"\",\"created\":0,\"model\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{").And.Contain("\"choices\":[]");
        data[1].Should().Contain("\"role\":\"assistant\"").And.Contain("\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}");
        int finish = data.FindIndex(d => d.Contains("\"finish_reason\":\"stop\""));
        JsonElement annotation = JsonDocument.Parse(data[finish + 1]).RootElement.GetProperty("choices")[0];
        annotation.TryGetProperty("delta", out _).Should().BeFalse();
        annotation.GetProperty("content_filter_offsets").GetProperty("check_offset").GetInt32().Should().BeGreaterThan(0);
        data[^1].Should().Be("[DONE]");
    }

    [Fact]
    public async Task DivergeAfterToken_ReSentRequestKeepsTheFirstNTokensThenDiffers()
    {
        await using FakeSession fake = await FakeSession.StartAsync();

        async Task<List<string>> TokensAsync()
        {
            using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody(edit: b => b["n"] = 1), (FakeOpenAIHeaders.ClientRequestId, "conv-1"), (FakeOpenAIHeaders.Fault, "diverge=4;attempts=2-"));
            return (await ReadAllDataAsync(response)).Skip(1).SkipLast(2).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!).ToList();
        }

        List<string> first = await TokensAsync();
        List<string> second = await TokensAsync();

        first.Should().HaveCount(12);
        second.Should().HaveCount(12);
        second.Take(4).Should().Equal(first.Take(4));
        second.Skip(4).Should().NotEqual(first.Skip(4));
        string.Concat(first).Should().Be(fake.Server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Say hello")]));
        fake.Server.Requests.Select(r => r.Faults.Count).Should().Equal(0, 1);
    }

    [Fact]
    public async Task ReplayBody_WithCut_StopsAfterKRecordedEvents()
    {
        var options = new FakeOpenAIServerOptions();
        options.Rules.Add(new FaultRule(Fault.ReplayBody(Encoding.UTF8.GetBytes(RecordedStreams.FinishLength))));
        options.Rules.Add(new FaultRule(Fault.CutAfterEvents(2)));
        await using FakeSession fake = await FakeSession.StartAsync(options);
        using HttpResponseMessage response = await fake.PostAsync("chat/completions", ChatBody());
        var data = new List<string>();

        await FluentActions.Awaiting(() => ReadDataAsync(response, data)).Should().ThrowAsync<IOException>();

        data.Should().HaveCount(2);
        RecordedStreams.FinishLength.Should().StartWith("data: " + data[0] + "\n\ndata: " + data[1] + "\n\n");
    }
}
