using System.Globalization;
using System.Net;
using Doppel.Agent.Resolution;
using Doppel.Agent.Files;
using Doppel.Agent.Incoming;
using Doppel.Agent.Logging;
using Doppel.Agent.Network;
using Doppel.Agent.Services;
using Doppel.Agent.Sessions;
using Doppel.Agent.Targets;
using Doppel.Linux.Processes;
using Doppel.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Hosting;

/// <summary>Kestrel (HTTP/2 only, Http2Tuning windows) serving the agent's gRPC services.</summary>
internal static class AgentHost
{
    public const int ExitOk = 0;
    public const int ExitListenFailed = 1;
    public const int ExitUsage = 2;

    public static async Task<int> RunAsync(AgentOptions options, Target target, TargetNetwork network, CancellationToken cancellationToken)
    {
        // The content root defaults to the working directory, which for a local agent is the
        // developer's project: with appsettings reloading on, the host would walk and watch that
        // whole tree (node_modules included) before listening. The agent reads no files there.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        // The agent's own messages at --log-level; the framework's (Kestrel, gRPC) only from
        // warnings up, as their debug lines say nothing about the session's calls.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new StderrLoggerProvider(Console.Error));
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)options.LogLevel, (int)LogLevel.Warning));
        builder.Logging.AddFilter("Grpc", (LogLevel)Math.Max((int)options.LogLevel, (int)LogLevel.Warning));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(target);
        builder.Services.AddSingleton<TargetRoot>();
        builder.Services.AddSingleton(network);
        builder.Services.AddSingleton<ResolverFiles>();
        builder.Services.AddSingleton<DnsTransport>();
        builder.Services.AddSingleton<DnsResolver>();
        builder.Services.AddSingleton<IncomingHub>();
        var sessions = new AgentSessions(TimeProvider.System);
        builder.Services.AddSingleton(sessions);
        var podLocks = new PodLocks();
        sessions.ConnectionEnded += podLocks.ConnectionClosed; // the kernel drops the locks of a session that went
        builder.Services.AddSingleton(podLocks);

        IdleExit? idle = null;
        string? socketPath = null;
        // The HTTP/2 connections' frame loops run on their sockets' completions (no thread-pool
        // hop per read; they never block: calls' code still runs on the thread pool), as every
        // incoming request crosses them twice (IncomingFront does the same for its connections).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.InitialConnectionWindowSize = Http2Tuning.ConnectionWindowSize;
            kestrel.Limits.Http2.InitialStreamWindowSize = Http2Tuning.StreamWindowSize;
            kestrel.Limits.Http2.MaxStreamsPerConnection = Http2Tuning.MaxStreamsPerConnection;
            // A session whose connection goes silent (its machine died, the tunnel broke) is found
            // within 5 s: its calls are cancelled, so its incoming subscriptions go and its
            // requests in flight get 502 (issue 10 item 5).
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(2);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(3);
            void Configure(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.Use(next => idle!.Wrap(next));
                listen.Use(sessions.Wrap);
            }

            if (options.Listen.StartsWith("unix:", StringComparison.Ordinal))
            {
                socketPath = options.Listen["unix:".Length..];
                kestrel.ListenUnixSocket(socketPath, Configure);
            }
            else
            {
                var port = int.Parse(options.Listen.AsSpan(options.Listen.IndexOf(':', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);
                kestrel.Listen(IPAddress.Loopback, port, Configure);
            }
        });

        await using var app = builder.Build();
        var hostLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("doppel.agent");
        using var idleExit = new IdleExit(
            options.IdleExit,
            TimeProvider.System,
            () =>
            {
                AgentLog.IdleExit(hostLogger, options.IdleExit.TotalSeconds);
                app.Lifetime.StopApplication();
            },
            () => sessions.AnyDropped(IdleExit.ReconnectGrace));
        idle = idleExit;
        if (options.FirstConnectionTimeout is { } first)
        {
            idleExit.WaitForFirst(first);
        }

        // A cluster agent's token (its Secret, DOPPEL_AGENT_TOKEN): no call without it reaches a service.
        if (Environment.GetEnvironmentVariable(AgentToken.Variable) is { Length: > 0 } token)
        {
            app.Use(AgentToken.Require(token));
        }

        // Every call that names its session ties its connection to it (agent.proto, "Sessions").
        app.Use((context, next) =>
        {
            sessions.Bind(context);
            return next(context);
        });
        app.MapGrpcService<AgentServiceImpl>();
        app.MapGrpcService<EnvironmentServiceImpl>();
        app.MapGrpcService<HostnameServiceImpl>();
        app.MapGrpcService<FileServiceImpl>();
        app.MapGrpcService<OutgoingServiceImpl>();
        app.MapGrpcService<DnsServiceImpl>();
        app.MapGrpcService<IncomingServiceImpl>();

        // Only the agent's own user may connect to the unix socket: it is created 0600.
        var previousMask = FileCreationMask.Set(0x7F); // umask 0177
        try
        {
            if (socketPath is not null && File.Exists(socketPath))
            {
                File.Delete(socketPath); // a stale socket from an earlier agent
            }

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"doppel-agent: cannot listen on {options.Listen}: {e.Message}").ConfigureAwait(false);
            return ExitListenFailed;
        }
        finally
        {
            FileCreationMask.Set(previousMask);
        }

        var address = socketPath is not null
            ? "unix:" + socketPath
            : app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()?.Replace("http://", string.Empty, StringComparison.Ordinal) ?? options.Listen;
        await Console.Out.WriteLineAsync($"listening on {address}").ConfigureAwait(false);
        await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);

        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        return ExitOk;
    }
}
