namespace Doppel.Config;

public sealed record AgentResourcesConfig
{
    public ResourceAmounts Requests { get; init; } = new() { Cpu = "1m", Memory = "1Mi" };

    public ResourceAmounts Limits { get; init; } = new() { Cpu = "1", Memory = "100Mi" };
}
