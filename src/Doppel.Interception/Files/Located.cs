using Doppel.Interception.Supervision;

namespace Doppel.Interception.Files;

/// <summary>
/// A path of a trapped call located (<see cref="FileHandler"/>): its <see cref="Place"/>, the path
/// (the remote path for <see cref="Place.Remote"/>, the absolute local path for the local places,
/// null otherwise) and the answer of a call that goes no further (continue for the local and
/// unknown places, the refusal for <see cref="Place.Refused"/>, null for a remote path).
/// </summary>
internal readonly record struct Located(Place Place, string? Path, HandlerResult? Early);
