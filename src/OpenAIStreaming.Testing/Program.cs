using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OpenAIStreaming.Testing;

/// <summary>Runs the fake server standalone: <c>dotnet run --project src/OpenAIStreaming.Testing -- --port 8080</c>.</summary>
internal static class Program
{
    private const int DefaultPort = 8080;

    public static async Task<int> Main(string[] args)
    {
        int port = DefaultPort;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--port" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
            {
                port = parsed;
                i++;
            }
            else
            {
                await Console.Error.WriteLineAsync("usage: OpenAIStreaming.Testing [--port N]   (default 8080; 0 picks a free port)").ConfigureAwait(false);
                return 2;
            }
        }

        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stop.Cancel();
        }

        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { Port = port }, stop.Token).ConfigureAwait(false);
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
}
