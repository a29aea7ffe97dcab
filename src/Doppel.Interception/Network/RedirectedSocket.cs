using System.Net;

namespace Doppel.Interception.Network;

/// <summary>A target socket connected to a loopback stand-in (TCP listener or UDP relay) for <see cref="Destination"/>.</summary>
internal sealed record RedirectedSocket(IPEndPoint Destination, IPEndPoint StandIn, IPEndPoint? Source);
