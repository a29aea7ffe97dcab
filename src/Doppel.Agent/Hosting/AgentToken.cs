using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Doppel.Agent.Hosting;

/// <summary>
/// The token a cluster agent requires (issue 12, Doppel.Kubernetes.Agents.AgentSharing): set from
/// the agent's Secret in <see cref="Variable"/>, it must come with every gRPC call as metadata
/// <see cref="MetadataKey"/>; a call without it, or with another, is answered UNAUTHENTICATED
/// (gRPC status 16, trailers only) before any service sees it. The compare takes the same time
/// whatever the bytes (<see cref="CryptographicOperations.FixedTimeEquals"/>). Unset or empty:
/// no token is required (a local agent, reached only through its 0600 unix socket).
/// </summary>
internal static class AgentToken
{
    /// <summary>The environment variable the token is read from.</summary>
    public const string Variable = "DOPPEL_AGENT_TOKEN";

    /// <summary>The request header (gRPC metadata key) the token travels in.</summary>
    public const string MetadataKey = "doppel-agent-token";

    /// <summary>Middleware that refuses every request without <paramref name="token"/>.</summary>
    public static Func<RequestDelegate, RequestDelegate> Require(string token)
    {
        var expected = Encoding.UTF8.GetBytes(token);
        return next => context =>
        {
            if (Matches(context.Request.Headers[MetadataKey], expected))
            {
                return next(context);
            }

            // A trailers-only gRPC answer: HTTP 200 with grpc-status in the headers, no body.
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = "16";
            response.Headers["grpc-message"] = "this agent requires its token (doppel-agent-token, from the agent's Secret)";
            return Task.CompletedTask;
        };
    }

    private static bool Matches(Microsoft.Extensions.Primitives.StringValues values, byte[] expected)
    {
        if (values.Count != 1 || values[0] is not { } given)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);
    }
}
