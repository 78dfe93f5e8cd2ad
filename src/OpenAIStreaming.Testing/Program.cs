using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OpenAIStreaming.Testing;

/// <summary>Runs the fake server standalone: <c>dotnet run --project src/OpenAIStreaming.Testing -- --port 8080 [--tokens 60] [--first-token-ms 0] [--gap-ms 15]</c>.</summary>
internal static class Program
{
    private const int DefaultPort = 8080;

    private const string Usage =
        "usage: OpenAIStreaming.Testing [--port N] [--tokens N] [--first-token-ms T] [--gap-ms T] [--exit-on-stdin-close]\n"
        + "  --port N           TCP port on 127.0.0.1 (default 8080; 0 picks a free port)\n"
        + "  --tokens N         content tokens per answer (default 12)\n"
        + "  --first-token-ms T delay between the response headers and the first event (default 0)\n"
        + "  --gap-ms T         delay between two events (default 0)\n"
        + "  --exit-on-stdin-close  also stop when standard input closes (when the parent process ends, however it ends)";

    public static async Task<int> Main(string[] args)
    {
        var options = new FakeOpenAIServerOptions { Port = DefaultPort };
        bool exitOnStdinClose = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--exit-on-stdin-close")
            {
                exitOnStdinClose = true;
                continue;
            }

            int value = 0;
            bool parsed = i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out value);
            switch (args[i])
            {
                case "--port" when parsed && value <= 65535:
                    options.Port = value;
                    break;
                case "--tokens" when parsed && value >= 1:
                    options.TokenCount = value;
                    break;
                case "--first-token-ms" when parsed:
                    options.TimeToFirstToken = TimeSpan.FromMilliseconds(value);
                    break;
                case "--gap-ms" when parsed:
                    options.TokenGap = TimeSpan.FromMilliseconds(value);
                    break;
                default:
                    await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 2;
            }

            i++;
        }

        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stop.Cancel();
        }

        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        if (exitOnStdinClose)
        {
            StopWhenStandardInputCloses(stop);
        }

        FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(options, stop.Token).ConfigureAwait(false);
        await using ConfiguredAsyncDisposable serverScope = server.ConfigureAwait(false);
        Console.WriteLine($"Fake OpenAI server listening on {server.BaseAddress}");
        Console.WriteLine($"Faults: header '{FakeOpenAIHeaders.Fault}: status=429;retry_after=2;attempts=1' or model '{FakeOpenAIHeaders.ModelPrefix}cut=3'. Ctrl+C or SIGTERM stops.");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopping.");
        }

        return 0;
    }

    private static void StopWhenStandardInputCloses(CancellationTokenSource stop)
    {
        var watcher = new Thread(() =>
        {
            using Stream input = Console.OpenStandardInput();
            byte[] buffer = new byte[256];
            while (input.Read(buffer) > 0)
            {
            }

            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already stopping.
            }
        })
        {
            IsBackground = true,
            Name = "stdin watcher",
        };
        watcher.Start();
    }
}
