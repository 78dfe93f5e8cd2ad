using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.CircuitBreaker;

/// <summary>The circuit of one route, on a manual clock.</summary>
public sealed class RouteHealthTests
{
    private static readonly OpenAIStreamingCircuitBreakerOptions Options = new() { MinimumThroughput = 4, FailureRatio = 0.5 };

    [Fact]
    public void Report_FailuresBelowTheMinimumThroughput_KeepTheCircuitClosed()
    {
        var health = new RouteHealth("r", Options, new ManualTimeProvider());
        for (int i = 0; i < 3; i++)
        {
            health.Report(Admission.Allowed, failed: true);
        }

        health.TryAdmit().Should().Be(Admission.Allowed);
    }

    [Fact]
    public void Report_FailureRatioReachedWithEnoughThroughput_OpensForTheBreakThenAdmitsOneTrial()
    {
        var clock = new ManualTimeProvider();
        var health = new RouteHealth("r", Options, clock);
        TimeSpan? opened = null;
        health.Opened += (_, breakDuration) => opened = breakDuration;
        health.Report(Admission.Allowed, failed: false);
        health.Report(Admission.Allowed, failed: false);
        health.Report(Admission.Allowed, failed: true);
        health.Report(Admission.Allowed, failed: true);

        opened.Should().Be(Options.BreakDuration);
        health.TryAdmit().Should().Be(Admission.Refused);
        clock.Advance(Options.BreakDuration);
        health.TryAdmit().Should().Be(Admission.Trial);
        health.TryAdmit().Should().Be(Admission.Refused, "one trial at a time");
    }

    [Fact]
    public void Report_TrialSuccess_ClosesAndTrialFailure_OpensAgain()
    {
        var clock = new ManualTimeProvider();
        var health = Opened(clock);
        clock.Advance(Options.BreakDuration);
        Admission trial = health.TryAdmit();
        health.Report(trial, failed: true);
        health.TryAdmit().Should().Be(Admission.Refused, "the failed trial opened the circuit again");

        clock.Advance(Options.BreakDuration);
        trial = health.TryAdmit();
        bool closed = false;
        health.Closed += _ => closed = true;
        health.Report(trial, failed: false);

        closed.Should().BeTrue();
        health.TryAdmit().Should().Be(Admission.Allowed);
    }

    [Fact]
    public void Abandon_ATrialWithoutAVerdict_GivesItsTurnBack()
    {
        var clock = new ManualTimeProvider();
        var health = Opened(clock);
        clock.Advance(Options.BreakDuration);
        Admission trial = health.TryAdmit();

        health.Abandon(trial);

        health.TryAdmit().Should().Be(Admission.Trial, "a cancelled trial is neither a success nor a failure");
    }

    [Fact]
    public void Force_WhileOpen_IsForcedAndItsSuccessCloses()
    {
        var clock = new ManualTimeProvider();
        var health = Opened(clock);

        Admission forced = health.Force();
        health.Report(forced, failed: false);

        forced.Should().Be(Admission.Forced);
        health.IsRefusing.Should().BeFalse();
    }

    [Fact]
    public void Force_FailuresWhileOpen_DoNotOpenTheCircuitAgainNorEndTheBreakEarly()
    {
        var clock = new ManualTimeProvider();
        int openings = 0;
        var health = new RouteHealth("r", Options, clock);
        health.Opened += (_, _) => openings++;
        for (int i = 0; i < Options.MinimumThroughput; i++)
        {
            health.Report(Admission.Allowed, failed: true);
        }

        for (int i = 0; i < 5; i++)
        {
            health.Report(health.Force(), failed: true); // the only target, failing while open
        }

        openings.Should().Be(1);
        health.TryAdmit().Should().Be(Admission.Refused, "the break is not over");
        clock.Advance(Options.BreakDuration);
        health.TryAdmit().Should().Be(Admission.Trial);
    }

    [Fact]
    public void Force_WhenTheBreakIsOver_IsTheTrial()
    {
        var clock = new ManualTimeProvider();
        var health = Opened(clock);
        clock.Advance(Options.BreakDuration);

        health.Force().Should().Be(Admission.Trial);
        health.TryAdmit().Should().Be(Admission.Refused, "one trial at a time");
    }

    [Fact]
    public void TryAdmit_ATrialWithoutAVerdictForAWholeBreak_DoesNotHoldTheCircuit()
    {
        var clock = new ManualTimeProvider();
        var health = Opened(clock);
        clock.Advance(Options.BreakDuration);
        health.TryAdmit().Should().Be(Admission.Trial); // a long stream, or a response never read to its end

        clock.Advance(Options.BreakDuration);

        health.TryAdmit().Should().Be(Admission.Trial);
    }

    [Fact]
    public void Report_OldOutcomesLeaveTheWindow()
    {
        var clock = new ManualTimeProvider();
        var health = new RouteHealth("r", Options, clock);
        health.Report(Admission.Allowed, failed: true);
        health.Report(Admission.Allowed, failed: true);
        health.Report(Admission.Allowed, failed: true);
        clock.Advance(Options.SamplingDuration + TimeSpan.FromSeconds(1));

        health.Report(Admission.Allowed, failed: true);

        health.TryAdmit().Should().Be(Admission.Allowed, "the three earlier failures are outside the sampling window");
    }

    private static RouteHealth Opened(ManualTimeProvider clock)
    {
        var health = new RouteHealth("r", Options, clock);
        for (int i = 0; i < 4; i++)
        {
            health.Report(Admission.Allowed, failed: true);
        }

        health.IsRefusing.Should().BeTrue();
        return health;
    }
}
