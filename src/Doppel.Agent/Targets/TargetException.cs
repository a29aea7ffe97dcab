namespace Doppel.Agent.Targets;

/// <summary>A target or flag the user gave that cannot be used; the message is one sentence for stderr.</summary>
internal sealed class TargetException(string message) : Exception(message);
