using System.Diagnostics;
using Doppel.Protocol;
using Doppel.Testing;
using Grpc.Net.Client;

namespace Doppel.Agent.Tests;

/// <summary>
/// The real doppel-agent executable on a unix socket, and a gRPC channel to it: the NativeAOT
/// build named by DOPPEL_AGENT_BINARY (scripts/test.sh sets it), else the JIT apphost beside the tests.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private static readonly string s_executable =
        Environment.GetEnvironmentVariable("DOPPEL_AGENT_BINARY") is { Length: > 0 } aot ? aot : Path.Combine(AppContext.BaseDirectory, "doppel-agent");
    private readonly Process _process;
    private readonly string _directory;
    private readonly System.Text.StringBuilder _errors = new();

    private AgentProcess(Process process, string directory, string socketPath)
    {
        _process = process;
        _directory = directory;
        SocketPath = socketPath;
    }

    /// <summary>The agent binary under test.</summary>
    public static string Executable => s_executable;

    public string SocketPath { get; }

    public Process Process => _process;

    /// <summary>What the agent wrote to stderr so far (drained continuously, so a chatty agent never blocks on a full pipe).</summary>
    public string ErrorOutput
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static async Task<AgentProcess> StartAsync(string target, double idleExitSeconds, CancellationToken cancellationToken, IReadOnlyList<string>? extraArguments = null)
    {
        var directory = Directory.CreateTempSubdirectory("doppel-agent-test-").FullName;
        var socketPath = Path.Combine(directory, "agent.sock");
        var process = Start(["--target", target, "--listen", "unix:" + socketPath, "--idle-exit", idleExitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extraArguments ?? []]);
        var agent = new AgentProcess(process, directory, socketPath);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line != "listening on unix:" + socketPath)
            {
                var error = await process.StandardError.ReadToEndAsync(timeout.Token);
                throw new InvalidOperationException($"doppel-agent did not start: '{line}' {error}");
            }

            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (agent._errors)
                {
                    agent._errors.AppendLine(e.Data);
                }
            };
            process.BeginErrorReadLine();
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the agent with <paramref name="args"/> to its exit; returns the exit code and stderr.</summary>
    public static async Task<(int ExitCode, string Error)> RunToExitAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        using var process = Start(args);
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, error);
    }

    public static GrpcChannel Connect(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            InitialHttp2StreamWindowSize = Http2Tuning.StreamWindowSize,
            ConnectCallback = UnixSocketConnect.To(socketPath),
        };
        return GrpcChannel.ForAddress("http://agent", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    /// <summary>Ends the agent (by its PID) and returns all it wrote to stderr: every line written before the kill has been read.</summary>
    public async Task<string> StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(); // also waits for the end of the redirected stderr
        return ErrorOutput;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(); // only the agent this test started, by its PID
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static Process Start(IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(s_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("doppel-agent could not be started.");
    }
}
