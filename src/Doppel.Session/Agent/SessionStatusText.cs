using Doppel.Protocol.V1;

namespace Doppel.Session.Agent;

/// <summary>How a <see cref="SessionStatus"/> reads in <c>doppel status</c> and <c>doppel exec</c>'s "other sessions" line.</summary>
public static class SessionStatusText
{
    /// <summary><c>alice@laptop1</c>; the session name when its Hello said no user (an older client).</summary>
    public static string Who(SessionStatus session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.User.Length > 0 ? $"{session.User}@{session.Machine}" : session.SessionName.Length > 0 ? session.SessionName : session.Id;
    }

    /// <summary><c>steal 8080, X-Dev-User: alice</c>: one subscription, its mode, port and filter (none: the whole port).</summary>
    public static string Subscription(SubscriptionStatus subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var text = $"{Mode(subscription.Mode)} {subscription.Port}";
        return subscription.Filter.Length > 0 ? $"{text}, {subscription.Filter}" : text;
    }

    /// <summary><c>steal</c> or <c>mirror</c>.</summary>
    public static string Mode(SubscriptionMode mode) => mode == SubscriptionMode.Mirror ? "mirror" : "steal";

    /// <summary><c>alice@laptop1 (steal 8080, X-Dev-User: alice; mirror 9090)</c>; just the name without subscriptions.</summary>
    public static string Summary(SessionStatus session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Subscriptions.Count == 0
            ? Who(session)
            : $"{Who(session)} ({string.Join("; ", session.Subscriptions.Select(Subscription))})";
    }
}
