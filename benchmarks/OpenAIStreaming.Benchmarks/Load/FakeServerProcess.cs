using System.Diagnostics;
using System.Globalization;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// The fake OpenAI server (<c>OpenAIStreaming.Testing.dll</c>, copied next to this benchmark by the project reference)
/// in a process of its own, so its CPU time and memory are not the client's. Started through <c>/bin/sh</c> to lift its
/// open-file soft limit to the hard limit, then <c>exec</c>: the process id is the server's. It also stops by itself
/// when its standard input closes, that is when this process ends, however it ends.
/// </summary>
public sealed class FakeServerProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private const string ListeningPrefix = "Fake OpenAI server listening on ";

    private readonly Process _process;
    private readonly EventHandler _onExit;
    private int _stopped;

    private FakeServerProcess(Process process, Uri baseAddress, string commandLine)
    {
        _process = process;
        BaseAddress = baseAddress;
        CommandLine = commandLine;
        _onExit = (_, _) => Dispose();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public string CommandLine { get; }

    /// <summary>Gets the server process's CPU time so far (user + system, from <c>/proc/&lt;pid&gt;/stat</c>).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<FakeServerProcess> StartAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string dll = Path.Combine(AppContext.BaseDirectory, "OpenAIStreaming.Testing.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("The fake server is not next to the benchmark; build the benchmark project.", dll);
        }

        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath : "dotnet";
        string[] serverArgs =
        [
            host, dll, "--port", "0", "--exit-on-stdin-close",
            "--tokens", Invariant(settings.Tokens),
            "--gap-ms", Invariant(settings.GapMilliseconds),
            "--first-token-ms", Invariant(settings.FirstTokenMilliseconds),
        ];

        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\"");
        start.ArgumentList.Add("fake-openai-server");
        foreach (string arg in serverArgs)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the fake server.");
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                address.TrySetResult(new Uri(line[ListeningPrefix.Length..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                errors.Enqueue(line);
            }
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => address.TrySetException(new InvalidOperationException(
            $"The fake server exited before listening: {string.Join(Environment.NewLine, errors)}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        Uri baseAddress;
        try
        {
            baseAddress = await address.Task.WaitAsync(StartTimeout, cancellationToken);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }

        return new FakeServerProcess(process, baseAddress, string.Join(' ', serverArgs.Skip(1).Prepend("dotnet")));
    }

    /// <summary>Reads the open-file soft limit of a process from <c>/proc/&lt;pid&gt;/limits</c>, or null.</summary>
    public static string? OpenFileLimit(int processId)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{processId}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            return line?["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stops the server: closes its standard input (it stops by itself), then kills it if it is still there after 5 s.</summary>
    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                Kill(_process);
            }
        }
        catch (InvalidOperationException)
        {
            Kill(_process);
        }
        catch (IOException)
        {
            Kill(_process);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
