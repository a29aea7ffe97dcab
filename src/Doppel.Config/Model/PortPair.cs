using System.Text.Json.Serialization;
using Doppel.Config.Output;

namespace Doppel.Config;

/// <summary>Two ports as written in a <c>[[a, b]]</c> list; which is local depends on the key.</summary>
[JsonConverter(typeof(PortPairConverter))]
public sealed record PortPair(int First, int Second);
