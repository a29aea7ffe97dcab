using System.Text.Json.Serialization;

namespace Doppel.Config;

[JsonConverter(typeof(JsonStringEnumConverter<TargetKind>))]
public enum TargetKind
{
    [JsonStringEnumMemberName("targetless")] Targetless,
    [JsonStringEnumMemberName("pod")] Pod,
    [JsonStringEnumMemberName("deployment")] Deployment,
    [JsonStringEnumMemberName("rollout")] Rollout,
    [JsonStringEnumMemberName("job")] Job,
    [JsonStringEnumMemberName("cronjob")] CronJob,
    [JsonStringEnumMemberName("statefulset")] StatefulSet,
    [JsonStringEnumMemberName("service")] Service,
    [JsonStringEnumMemberName("replicaset")] ReplicaSet,
    [JsonStringEnumMemberName("label")] Label,
    [JsonStringEnumMemberName("pid")] Pid,
    [JsonStringEnumMemberName("container")] Container,
}
