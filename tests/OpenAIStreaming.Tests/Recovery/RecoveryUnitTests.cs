using System.Text;
using Microsoft.Extensions.Options;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Recovery.Internal;

namespace OpenAIStreaming.Tests.Recovery;

public sealed class RecoveryUnitTests
{
    private static readonly ChatChunkHeader Header = new("chatcmpl-1", "gpt-4o-mini", 1, null, null);

    [Fact]
    public void StableHash_IsFnv1aOverUtf16Units_TheSameEverywhere()
    {
        // Worked out by hand from the FNV-1a 64 definition (offset basis 14695981039346656037, prime 1099511628211) over
        // the bytes 68 00 65 00 6C 00 6C 00 6F 00: a fixed value, so a checkpoint stored today compares equal tomorrow.
        StableHash.Append(StableHash.Empty, "hello").Should().Be(3645188298146990999UL);
        StableHash.Append(StableHash.Append(StableHash.Empty, "hel"), "lo").Should().Be(3645188298146990999UL, "hashing is incremental");
    }

    [Fact]
    public void EventHash_LeavesOutWhatDiffersBetweenResponsesToTheSameRequest()
    {
        ulong a = StableHash.OfEventWithoutResponseFields("""{"id":"chatcmpl-AAA","created":1,"choices":[{"delta":{"content":"Hi"}}],"obfuscation":"xy"}"""u8);
        ulong b = StableHash.OfEventWithoutResponseFields("""{"id":"chatcmpl-BBBBBB","created":22,"choices":[{"delta":{"content":"Hi"}}],"obfuscation":"pqrs"}"""u8);
        ulong other = StableHash.OfEventWithoutResponseFields("""{"id":"chatcmpl-AAA","created":1,"choices":[{"delta":{"content":"Ho"}}],"obfuscation":"xy"}"""u8);
        ulong truncated = StableHash.OfEventWithoutResponseFields("""{"id":"chatcmpl-A"""u8);

        a.Should().Be(b);
        other.Should().NotBe(a);
        truncated.Should().Be(StableHash.OfEventWithoutResponseFields("""{"id":"x"""u8), "an event cut inside the id hashes what came before it");
    }

    [Theory]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{}""", true)]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.comp""", true)]
    [InlineData("""{"id":"x","choices":[{"index":0,"delta":{"content":"hel""", false)]
    [InlineData("""{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a""", false)]
    [InlineData("""{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"sto""", false)]
    [InlineData("""{"id":"x","choices":[],"usage":{"prompt_tokens":1""", false)]
    [InlineData("""{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"h""", false)]
    public void MalformedEvent_MaySkipOnlyWhenItHoldsNoContent(string data, bool carriesNothing) =>
        RecoveryRules.CarriesNothing(Encoding.UTF8.GetBytes(data)).Should().Be(carriesNothing);

    [Fact]
    public void Checkpoint_RoundTripsThroughJson_AndATamperedOneIsRejected()
    {
        var ledger = new DeliveryLedger();
        ledger.Record(Update("Hello, wor"));
        ledger.Record(Update("ld 🎉", finish: "stop"));
        OpenAIStreamCheckpoint checkpoint = ledger.Snapshot("http://127.0.0.1:1/ gpt-4o-mini");

        OpenAIStreamCheckpoint copy = OpenAIStreamCheckpoint.FromJson(checkpoint.ToJson());

        copy.Hash.Should().Be(checkpoint.Hash);
        copy.Updates.Should().Be(2);
        copy.ResponseId.Should().Be("chatcmpl-1");
        OpenAIStreamCheckpointChoice choice = copy.Choices.Single();
        choice.Content.Chars.Should().Be("Hello, world 🎉".Length);
        choice.Content.Utf8Bytes.Should().Be(Encoding.UTF8.GetByteCount("Hello, world 🎉"));
        choice.Content.Hash.Should().Be(StableHash.Append(StableHash.Empty, "Hello, world 🎉"));
        choice.FinishReason.Should().Be("stop");

        string tampered = checkpoint.ToJson().Replace($"\"chars\":{"Hello, world 🎉".Length}", "\"chars\":3", StringComparison.Ordinal);
        tampered.Should().NotBe(checkpoint.ToJson());
        FluentActions.Invoking(() => OpenAIStreamCheckpoint.FromJson(tampered)).Should().Throw<FormatException>();
        FluentActions.Invoking(() => OpenAIStreamCheckpoint.FromJson("{not json")).Should().Throw<FormatException>();
    }

    [Fact]
    public void Verifier_SkipsWhatWasDelivered_AndEmitsExactlyTheRest()
    {
        var ledger = new DeliveryLedger();
        ledger.Record(Update("Hello", role: "assistant"));
        ledger.Record(Update(" wor"));
        var verifier = new ReplayVerifier(ledger, maxBufferedChars: 1000);

        verifier.Process(Update(string.Empty, role: "assistant"), out _).Should().Be(ReplayStep.Skip);
        verifier.Process(Update("Hel"), out _).Should().Be(ReplayStep.Skip);
        verifier.CaughtUp.Should().BeFalse();
        verifier.Process(Update("lo w"), out _).Should().Be(ReplayStep.Skip);
        verifier.Process(Update("orld"), out ChatCompletionUpdate rest).Should().Be(ReplayStep.Emit);
        rest.Text.Should().Be("ld", "the part of the straddling update that was not delivered");
        rest.Role.Should().BeNull("the role went out with the first answer");
        verifier.CaughtUp.Should().BeTrue();
        verifier.Process(Update("!", finish: "stop"), out ChatCompletionUpdate last).Should().Be(ReplayStep.Emit);
        last.Text.Should().Be("!");
        last.FinishReason.Should().Be("stop");
    }

    [Theory]
    [InlineData("Help")] // differs inside the delivered text
    [InlineData("Hello, w")] // differs exactly where the delivered text ends
    public void Verifier_AReplayThatDiffers_Diverges(string replayed)
    {
        var ledger = new DeliveryLedger();
        ledger.Record(Update("Hello wor"));
        var verifier = new ReplayVerifier(ledger, maxBufferedChars: 1000);

        ReplayStep step = verifier.Process(Update(replayed), out _);
        if (step != ReplayStep.Diverged)
        {
            step = verifier.Process(Update("xyz and more"), out _);
        }

        step.Should().Be(ReplayStep.Diverged);
        verifier.Divergence.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void Verifier_AReplayThatFinishesBeforeReachingTheDeliveredText_Diverges()
    {
        var ledger = new DeliveryLedger();
        ledger.Record(Update("Hello world"));
        var verifier = new ReplayVerifier(ledger, maxBufferedChars: 1000);

        verifier.Process(Update("Hello", finish: "stop"), out _).Should().Be(ReplayStep.Diverged);
    }

    [Fact]
    public void Verifier_AReplayThatEndsBeforeReachingTheDeliveredText_EndedShort()
    {
        var ledger = new DeliveryLedger();
        ledger.Record(Update("Hello world"));
        var verifier = new ReplayVerifier(ledger, maxBufferedChars: 1000);

        verifier.Process(Update("Hello"), out _).Should().Be(ReplayStep.Skip);
        verifier.EndedShort().Should().BeTrue();
    }

    [Fact]
    public void Options_RecoveryBoundsAreValidated_AndCloned()
    {
        var options = new OpenAIStreamingOptions { Recovery = { MaxRecoveries = 0, CheckpointInterval = 0 } };

        OptionsValidationException error = options.Invoking(o => o.Validate()).Should().Throw<OptionsValidationException>().Which;
        error.Failures.Should().Contain(f => f.Contains("MaxRecoveries")).And.Contain(f => f.Contains("CheckpointInterval"));

        var valid = new OpenAIStreamingOptions();
        OpenAIStreamingOptions copy = valid.Clone();
        valid.Recovery.MaxRecoveries = 5;
        copy.Recovery.MaxRecoveries.Should().Be(3, "the copy has its own recovery options");
        copy.Recovery.OnDivergence.Should().Be(OpenAIStreamingDivergencePolicy.Restart);
        copy.Recovery.Enabled.Should().BeTrue();
        copy.Recovery.CheckpointInterval.Should().Be(16);
    }

    [Fact]
    public void Ledger_ChoicesOutOfIndexOrder_AreKeptAndSnapshotInIndexOrder()
    {
        // The first choice is kept on its own until a second comes; one with a lower index comes first in every view.
        var ledger = new DeliveryLedger(keepText: true);
        ledger.Record(Update("b1", choice: 1));
        ledger.Record(Update("a1", choice: 0));
        ledger.Record(Update("b2", choice: 1));
        ledger.Record(Update("c1", choice: 2));

        ledger.Snapshot(route: null).Choices.Select(c => (c.Index, c.Content.Chars)).Should().Equal((0, 2L), (1, 4L), (2, 2L));
        ledger.PartialResult()!.Choices.Select(c => (c.Index, c.Content)).Should().Equal((0, "a1"), (1, "b1b2"), (2, "c1"));
        ledger.Choice(1)!.Content.Chars.Should().Be(4);
        ledger.Choice(3).Should().BeNull();
        ledger.ContinuationText().Should().BeNull("there is more than one choice");

        ledger.Clear();
        ledger.Record(Update("z", choice: 3));

        ledger.Snapshot(route: null).Choices.Select(c => c.Index).Should().Equal(3);
        ledger.Choice(0).Should().BeNull();
        ledger.Choice(3)!.Content.Chars.Should().Be(1);
    }

    private static ChatCompletionUpdate Update(string? text, string? role = null, string? finish = null, int choice = 0) =>
        new(Header, choice, role, text, null, null, finish, null);
}
