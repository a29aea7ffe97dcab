using System.Net;
using Doppel.Session.Policy;

namespace Doppel.Session.Remote;

/// <summary>Which DNS queries stay local (<see cref="DnsSteering"/>) and the developer's nameserver that answers them (<see cref="LocalResolver"/>).</summary>
public sealed record DnsRouting(DnsSteering Steering, IPEndPoint LocalNameserver);
