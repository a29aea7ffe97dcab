using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Doppel.Agent.Network;

namespace Doppel.Agent.Resolution;

/// <summary>
/// Sends one question to the nameservers of a <see cref="ResolverConfig"/> like glibc's res_send:
/// UDP from a socket in the target's namespace, each server in turn for <c>attempts</c> rounds,
/// <c>timeout</c> per try, and the same question again over TCP when the UDP answer is truncated.
/// </summary>
internal sealed class DnsTransport(TargetNetwork network)
{
    private const int MaxUdpResponse = 65_535;

    /// <summary>
    /// The first NOERROR or NXDOMAIN answer; otherwise the last failure answer (SERVFAIL, REFUSED...)
    /// once every server has been asked; null when no server answered at all.
    /// </summary>
    public async Task<DnsAnswer?> AskAsync(ResolverConfig config, string name, ushort type, CancellationToken cancellationToken)
    {
        var id = Doppel.Linux.Native.KernelRandom.UInt16(); // not RandomNumberGenerator: no libssl in the agent's image
        if (!DnsMessage.TryEncodeQuery(id, name, type, out var query))
        {
            return new DnsAnswer(DnsAnswer.NameError, false, [], name); // no such name can exist
        }

        DnsAnswer? failure = null;
        for (var attempt = 0; attempt < config.Attempts && failure is null; attempt++)
        {
            foreach (var server in config.Nameservers)
            {
                var answer = await AskUdpAsync(server, query, id, name, type, config.Timeout, cancellationToken).ConfigureAwait(false);
                if (answer is { Truncated: true })
                {
                    answer = await AskTcpAsync(server, query, id, name, type, config.Timeout, cancellationToken).ConfigureAwait(false) ?? answer;
                }

                if (answer is { ResponseCode: DnsAnswer.NoError or DnsAnswer.NameError })
                {
                    return answer;
                }

                failure = answer ?? failure;
            }
        }

        return failure;
    }

    private async Task<DnsAnswer?> AskUdpAsync(IPEndPoint server, byte[] query, ushort id, string name, ushort type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = await network.CreateSocketAsync(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp).ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var buffer = new byte[MaxUdpResponse];
        try
        {
            await socket.ConnectAsync(server, deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(query, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                var answer = DnsMessage.ParseResponse(buffer.AsSpan(0, read), id, name, type);
                if (answer is not null)
                {
                    return answer;
                }
            }
        }
        catch (SocketException)
        {
            return null; // unreachable or refused (ICMP): the next server
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null; // this try timed out
        }
    }

    private async Task<DnsAnswer?> AskTcpAsync(IPEndPoint server, byte[] query, ushort id, string name, ushort type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = await network.CreateSocketAsync(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp).ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(server, deadline.Token).ConfigureAwait(false);
            var framed = new byte[2 + query.Length];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            await socket.SendAsync(framed, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var length = new byte[2];
            if (!await ReceiveExactlyAsync(socket, length, deadline.Token).ConfigureAwait(false))
            {
                return null;
            }

            var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
            return await ReceiveExactlyAsync(socket, response, deadline.Token).ConfigureAwait(false)
                ? DnsMessage.ParseResponse(response, id, name, type)
                : null;
        }
        catch (SocketException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }
}
