using Doppel.GrpcEcho;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// server PORT NAME: h2c on 0.0.0.0:PORT, prints "listening" once it listens.
// client URL [USER]: calls Say, Count, Join, Chat and a refused Say (with X-Dev-User: USER when
// given) and prints what came back, trailers and statuses included, one line each.
switch (args)
{
    case ["server", var port, var name]:
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new ServerName(name));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), listen => listen.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync();
        Console.WriteLine("listening");
        await app.WaitForShutdownAsync();
        return 0;
    case ["client", var url, .. var user]:
        using (var channel = GrpcChannel.ForAddress(url))
        {
            var client = new Echo.EchoClient(channel);
            var headers = new Metadata();
            if (user is [var who])
            {
                headers.Add("X-Dev-User", who);
            }

            using var say = client.SayAsync(new EchoRequest { Text = "hi" }, headers);
            Console.WriteLine($"say: {(await say).Text}; trailer: {say.GetTrailers().GetValue("x-served-by")}; status: {say.GetStatus().StatusCode}");
            using var count = client.Count(new EchoRequest { Count = 3 }, headers);
            var replies = new List<string>();
            await foreach (var reply in count.ResponseStream.ReadAllAsync())
            {
                replies.Add(reply.Text);
            }

            Console.WriteLine($"count: {string.Join(", ", replies)}; trailer: {count.GetTrailers().GetValue("x-served-by")}; status: {count.GetStatus().StatusCode}");
            using var join = client.Join(headers);
            foreach (var text in new[] { "a", "b", "c" })
            {
                await join.RequestStream.WriteAsync(new EchoRequest { Text = text });
            }

            await join.RequestStream.CompleteAsync();
            Console.WriteLine($"join: {(await join).Text}; trailer: {join.GetTrailers().GetValue("x-served-by")}; status: {join.GetStatus().StatusCode}");
            using var chat = client.Chat(headers);
            var answers = new List<string>();
            try
            {
                foreach (var text in new[] { "one", "two", "three" })
                {
                    await chat.RequestStream.WriteAsync(new EchoRequest { Text = text });
                    answers.Add(await chat.ResponseStream.MoveNext() ? chat.ResponseStream.Current.Text : "(ended)");
                }

                await chat.RequestStream.CompleteAsync();
                var more = await chat.ResponseStream.MoveNext();
                Console.WriteLine($"chat: {string.Join(", ", answers)}{(more ? " (and more)" : "")}; trailer: {chat.GetTrailers().GetValue("x-served-by")}; status: {chat.GetStatus().StatusCode}");
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
                Console.WriteLine($"chat: failed after [{string.Join(", ", answers)}]: {e.GetType().Name}: {e.Message}");
            }
            try
            {
                await client.SayAsync(new EchoRequest { Text = "refuse" }, headers);
                Console.WriteLine("refuse: answered");
            }
            catch (RpcException e)
            {
                Console.WriteLine($"refuse: {e.StatusCode} \"{e.Status.Detail}\"; trailer: {e.Trailers.GetValue("x-served-by")}");
            }
        }

        return 0;
    default:
        Console.Error.WriteLine("usage: Doppel.GrpcEcho server PORT NAME | client URL [USER]");
        return 2;
}

/// <summary>The name the server answers with ("local", "pod").</summary>
internal sealed record ServerName(string Name);

/// <summary>The Echo service; every answer carries the trailer x-served-by: NAME.</summary>
internal sealed class EchoService(ServerName server) : Echo.EchoBase
{
    public override Task<EchoReply> Say(EchoRequest request, ServerCallContext context)
    {
        context.ResponseTrailers.Add("x-served-by", server.Name);
        if (request.Text == "refuse")
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{server.Name} refuses"));
        }

        return Task.FromResult(new EchoReply { Text = $"{server.Name}: {request.Text}" });
    }

    public override async Task Count(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        context.ResponseTrailers.Add("x-served-by", server.Name);
        for (var i = 1; i <= request.Count; i++)
        {
            await responseStream.WriteAsync(new EchoReply { Text = $"{server.Name} {i}" });
        }
    }

    public override async Task<EchoReply> Join(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        context.ResponseTrailers.Add("x-served-by", server.Name);
        var texts = new List<string>();
        await foreach (var request in requestStream.ReadAllAsync())
        {
            texts.Add(request.Text);
        }

        return new EchoReply { Text = $"{server.Name}: {string.Join("+", texts)}" };
    }

    public override async Task Chat(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        context.ResponseTrailers.Add("x-served-by", server.Name);
        await foreach (var request in requestStream.ReadAllAsync())
        {
            await responseStream.WriteAsync(new EchoReply { Text = $"{server.Name}: {request.Text}" });
        }
    }
}
