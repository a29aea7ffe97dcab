namespace Doppel.Agent.Incoming;

/// <summary>
/// Where one request of a filtered port goes.
/// </summary>
/// <param name="Winner">The earliest subscription whose filter matched; null: no filter matched, the request goes to the pod's app.</param>
/// <param name="AlsoMatched">Later subscriptions of other sessions that matched too, in subscription order (they do not get the request).</param>
/// <param name="NewOverlaps">
/// The part of <paramref name="AlsoMatched"/> whose pair with <paramref name="Winner"/> has not been
/// reported before: tell each of these sessions once that the winner's subscription took a request
/// its filter also matched.
/// </param>
internal sealed record RouteChoice(FilterSubscription? Winner, IReadOnlyList<FilterSubscription> AlsoMatched, IReadOnlyList<FilterSubscription> NewOverlaps)
{
    /// <summary>No filter matched.</summary>
    public static RouteChoice None { get; } = new(null, [], []);
}
