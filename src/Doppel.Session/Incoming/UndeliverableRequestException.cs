namespace Doppel.Session.Incoming;

/// <summary>
/// A stolen request that cannot reach the local app in any version it speaks (an HTTP/1.1
/// upgrade for an h2c-only app, a body already sent in the refused version). The message is
/// the one sentence the client's 502 carries (the agent puts <c>doppel: </c> before it).
/// </summary>
internal sealed class UndeliverableRequestException(string message) : Exception(message);
