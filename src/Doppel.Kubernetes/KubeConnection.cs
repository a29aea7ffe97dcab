using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace Doppel.Kubernetes;

/// <summary>What <see cref="KubeConnection.Open"/> reads, from the configuration and the environment.</summary>
public sealed record KubeConnectionOptions
{
    /// <summary>The <c>kubeconfig</c> key: one file (<c>~</c> expanded). Null: KUBECONFIG, else ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The <c>kube_context</c> key. Null: the kubeconfig's current-context.</summary>
    public string? Context { get; init; }

    /// <summary><c>target.namespace</c> (set by <c>-n</c> too). Null: the context's namespace, else "default".</summary>
    public string? Namespace { get; init; }

    /// <summary><c>accept_invalid_certificates</c>: do not check the API server's certificate.</summary>
    public bool AcceptInvalidCertificates { get; init; }

    /// <summary>Environment lookup (KUBECONFIG, HOME); tests give their own.</summary>
    public Func<string, string?> Variables { get; init; } = Environment.GetEnvironmentVariable;
}

/// <summary>
/// A client for the cluster a kubeconfig names, as kubectl would pick it: the <c>kubeconfig</c>
/// key, else every existing file of <c>KUBECONFIG</c> (colon-separated, merged, the first file's
/// value winning), else <c>~/.kube/config</c>; the context <c>kube_context</c> or the
/// current-context; the namespace <c>target.namespace</c> (<c>-n</c>), else the context's, else
/// "default". Authentication is KubernetesClient's: client certificates (files or embedded data),
/// bearer tokens (<c>token</c>, <c>tokenFile</c>) and exec credential plugins
/// (<c>users[].user.exec</c>, e.g. <c>aws eks get-token</c>; run when the client is built).
/// </summary>
public sealed class KubeConnection : IDisposable
{
    private KubeConnection(IKubernetes client, string context, string server, string ns, IReadOnlyList<string> files)
    {
        Client = client;
        Context = context;
        Server = server;
        Namespace = ns;
        Files = files;
    }

    public IKubernetes Client { get; }

    /// <summary>The context in use.</summary>
    public string Context { get; }

    /// <summary>The API server's URL.</summary>
    public string Server { get; }

    /// <summary>The namespace targets are looked up in.</summary>
    public string Namespace { get; }

    /// <summary>The kubeconfig files read, in order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Reads the kubeconfig and builds the client (no request is sent yet; an exec plugin runs now or at the first request).
    /// Throws <see cref="KubeException"/> with one sentence when a file is missing or unreadable,
    /// the context is unknown or missing, or the credentials cannot be obtained.
    /// </summary>
    public static KubeConnection Open(KubeConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var files = KubeconfigFiles(options);
        K8SConfiguration merged;
        try
        {
            merged = Merge(files.Select(f => KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(f), useRelativePaths: true)).ToList());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KubeConfigException or YamlDotNet.Core.YamlException or ArgumentException
                                      or InvalidOperationException) // YamlDotNet's scanner on some truncated flow mappings
        {
            throw new KubeException($"The kubeconfig {string.Join(", ", files)} cannot be read: {FirstSentence(e.Message)}", e);
        }

        var contexts = merged.Contexts?.Select(c => c.Name).ToList() ?? [];
        var contextName = options.Context ?? merged.CurrentContext;
        if (string.IsNullOrEmpty(contextName))
        {
            throw new KubeException(contexts.Count == 0
                ? $"The kubeconfig {string.Join(", ", files)} has no contexts; point kubeconfig or KUBECONFIG at the cluster's kubeconfig."
                : $"The kubeconfig {string.Join(", ", files)} sets no current-context; choose one with kube_context (the contexts are {string.Join(", ", contexts)}).");
        }

        var context = merged.Contexts?.FirstOrDefault(c => c.Name == contextName);
        if (context is null)
        {
            var source = options.Context is null ? "current-context" : "kube_context";
            throw new KubeException(
                $"The context '{contextName}' ({source}) is not in the kubeconfig {string.Join(", ", files)}; " +
                (contexts.Count == 0 ? "it has no contexts." : $"the contexts are {string.Join(", ", contexts)}."));
        }

        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, contextName);
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or FormatException
                                      or System.Security.Cryptography.CryptographicException or ArgumentException or InvalidOperationException)
        {
            throw new KubeException($"The context '{contextName}' of the kubeconfig {string.Join(", ", files)} cannot be used: {FirstSentence(e.Message)}", e);
        }

        if (options.AcceptInvalidCertificates)
        {
            configuration.SkipTlsVerify = true;
        }

        var ns = options.Namespace ?? (string.IsNullOrEmpty(context.ContextDetails?.Namespace) ? "default" : context.ContextDetails.Namespace);
        var client = new k8s.Kubernetes(configuration);
        return new KubeConnection(client, contextName, configuration.Host, ns, files);
    }

    /// <summary>The kubeconfig files to read, in order; throws when none exists.</summary>
    public static IReadOnlyList<string> KubeconfigFiles(KubeConnectionOptions options)
    {
        var home = options.Variables("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Expand(string path) => path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

        if (options.Kubeconfig is { Length: > 0 } key)
        {
            var path = Expand(key);
            return File.Exists(path)
                ? [path]
                : throw new KubeException($"The kubeconfig file {path} (the kubeconfig key) does not exist.");
        }

        if (options.Variables("KUBECONFIG") is { Length: > 0 } variable)
        {
            var listed = variable.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(Expand).ToList();
            var existing = listed.Where(File.Exists).Distinct(StringComparer.Ordinal).ToList();
            return existing.Count > 0
                ? existing
                : throw new KubeException($"None of the kubeconfig files KUBECONFIG names exists ({string.Join(", ", listed)}).");
        }

        var fallback = Path.Combine(home, ".kube", "config");
        return File.Exists(fallback)
            ? [fallback]
            : throw new KubeException($"There is no kubeconfig: {fallback} does not exist and neither KUBECONFIG nor the kubeconfig key names one.");
    }

    /// <summary>
    /// kubectl's merge of KUBECONFIG files: the first file that sets current-context wins, and a
    /// cluster, context or user name is taken from the first file that has it.
    /// </summary>
    private static K8SConfiguration Merge(IReadOnlyList<K8SConfiguration> configs)
    {
        var merged = configs[0];
        if (configs.Count == 1)
        {
            return merged;
        }

        static List<T> Union<T>(IEnumerable<IEnumerable<T>?> lists, Func<T, string> name)
            => lists.SelectMany(l => l ?? []).GroupBy(name, StringComparer.Ordinal).Select(g => g.First()).ToList();

        return new K8SConfiguration
        {
            ApiVersion = merged.ApiVersion,
            Kind = merged.Kind,
            CurrentContext = configs.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)),
            Clusters = Union(configs.Select(c => c.Clusters), c => c.Name),
            Contexts = Union(configs.Select(c => c.Contexts), c => c.Name),
            Users = Union(configs.Select(c => c.Users), u => u.Name),
        };
    }

    private static string FirstSentence(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.EndsWith('.') ? line : line + ".";
    }

    public void Dispose() => Client.Dispose();
}
