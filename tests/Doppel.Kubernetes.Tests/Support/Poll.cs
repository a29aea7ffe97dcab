namespace Doppel.Kubernetes.Tests.Support;

/// <summary>Waiting for the cluster to reach a state (controllers act asynchronously).</summary>
internal static class Poll
{
    /// <summary>Calls CONDITION every 200 ms until it is true; throws naming WHAT after 90 s or on cancellation.</summary>
    public static async Task UntilAsync(Func<CancellationToken, Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        try
        {
            while (!await condition(timeout.Token))
            {
                await Task.Delay(200, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Waited in vain for: {what}.");
        }
    }
}
