namespace Doppel.Session.Policy;

/// <summary>A host name in an outgoing or DNS filter (<see cref="ConfigPolicy.FilterNames"/>).</summary>
/// <param name="Filter">The filter's key path, e.g. <c>feature.network.outgoing.filter</c>.</param>
/// <param name="Entry">The entry as written, e.g. <c>tcp://db.example.com:5432</c>.</param>
/// <param name="Name">The host name in it.</param>
/// <param name="ResolvedLocally">True for a <c>local</c> list: the developer's resolver answers for it; else the target's.</param>
public sealed record FilterName(string Filter, string Entry, string Name, bool ResolvedLocally);
