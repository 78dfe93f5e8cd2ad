using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>The official OpenAI .NET SDK (2.15.0) reads the fake server as it reads api.openai.com.</summary>
public sealed class OfficialSdkTests
{
    [Fact]
    public async Task OpenAISdk_CompleteChatStreaming_ReceivesTheDeterministicAnswerUnchanged()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        var chat = new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-test"), new OpenAIClientOptions { Endpoint = server.BaseAddress });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")], cancellationToken: timeout.Token))
        {
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
        }

        text.ToString().Should().Be(server.GetExpectedText("gpt-4o-mini", [new FakeMessage("user", "Tell me a story")]));
        finish.Should().Be(ChatFinishReason.Stop);
        server.Requests.Should().ContainSingle().Which.Headers["authorization"].Should().Be("[redacted]");
    }

    [Fact]
    public async Task OpenAISdk_CompleteChat_NotStreaming_ReceivesTheSameAnswer()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        var chat = new ChatClient("gpt-4o", new ApiKeyCredential("sk-test"), new OpenAIClientOptions { Endpoint = server.BaseAddress });

        ClientResult<ChatCompletion> result = await chat.CompleteChatAsync([new SystemChatMessage("Be brief"), new UserChatMessage("Hi")]);

        result.Value.Content[0].Text.Should().Be(server.GetExpectedText("gpt-4o", [new FakeMessage("system", "Be brief"), new FakeMessage("user", "Hi")]));
        result.Value.Usage.OutputTokenCount.Should().Be(12);
    }
}
