using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using k8s;
using k8s.Models;

namespace Aspire.Hosting.Kubernetes;

/// <summary>
/// The Postgres container of the app model as a StatefulSet with its data on a PersistentVolumeClaim. Aspire creates
/// the databases of a Postgres resource when it runs them itself; in a cluster the image does it once at initdb
/// (POSTGRES_DB), which is why the database child's name is added here.
/// </summary>
internal static class PostgresManifests
{
    private const long PostgresUid = 999; // the postgres user of the official image

    public static IEnumerable<IKubernetesObject> For(
        ContainerResource server, ContainerEnvironment environment, IEnumerable<string> databaseNames, string storage)
    {
        var name = server.Name;
        var labels = WorkloadManifests.Labels(name);
        var image = server.Annotations.OfType<ContainerImageAnnotation>().Last();
        var endpoint = server.Annotations.OfType<EndpointAnnotation>().Single();
        var port = endpoint.TargetPort ?? throw new InvalidOperationException($"{name} has no target port");
        var dataMount = server.Annotations.OfType<ContainerMountAnnotation>()
            .SingleOrDefault(m => m.Type == ContainerMountType.Volume)?.Target ?? "/var/lib/postgresql/data";

        var databases = databaseNames.ToList();
        if (databases.Count > 1)
        {
            throw new NotSupportedException("The image creates one database at initdb; add a Job for more than one.");
        }

        environment.ConfigMapData["PGDATA"] = $"{dataMount}/pgdata"; // the volume's root may hold lost+found
        if (databases is [var database])
        {
            environment.ConfigMapData["POSTGRES_DB"] = database;
        }

        yield return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = WorkloadManifests.Meta($"{name}-env", labels),
            Data = environment.ConfigMapData,
        };
        yield return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = WorkloadManifests.Meta(name, labels),
            Spec = new V1StatefulSetSpec
            {
                ServiceName = name,
                Replicas = 1,
                Selector = new V1LabelSelector { MatchLabels = WorkloadManifests.Selector(name) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        AutomountServiceAccountToken = false,
                        EnableServiceLinks = false,
                        SecurityContext = WorkloadManifests.PodSecurity(PostgresUid),
                        Containers =
                        [
                            new V1Container
                            {
                                Name = name,
                                Image = $"{image.Registry}/{image.Image}:{image.Tag}",
                                ImagePullPolicy = "IfNotPresent",
                                Ports = [new V1ContainerPort { Name = endpoint.Name, ContainerPort = port }],
                                EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = $"{name}-env" } }],
                                Env = environment.Env,
                                ReadinessProbe = new V1Probe
                                {
                                    Exec = new V1ExecAction { Command = ["pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture)] },
                                    PeriodSeconds = 5,
                                },
                                LivenessProbe = new V1Probe
                                {
                                    TcpSocket = new V1TCPSocketAction { Port = endpoint.Name },
                                    PeriodSeconds = 20,
                                },
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = WorkloadManifests.Quantities(("cpu", "250m"), ("memory", "512Mi")),
                                    Limits = WorkloadManifests.Quantities(("memory", "2Gi")),
                                },
                                SecurityContext = WorkloadManifests.ContainerSecurity(),
                                VolumeMounts =
                                [
                                    new V1VolumeMount { Name = "data", MountPath = dataMount },
                                    new V1VolumeMount { Name = "run", MountPath = "/var/run/postgresql" },
                                    new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                                ],
                            },
                        ],
                        Volumes =
                        [
                            new V1Volume { Name = "run", EmptyDir = new V1EmptyDirVolumeSource() },
                            new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },
                        ],
                    },
                },
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = "data", Labels = labels },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            Resources = new V1VolumeResourceRequirements
                            {
                                Requests = WorkloadManifests.Quantities(("storage", storage)),
                            },
                        },
                    },
                ],
            },
        };
        yield return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = WorkloadManifests.Meta(name, labels),
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None", // headless: the StatefulSet's governing Service; clients still connect by name
                Selector = WorkloadManifests.Selector(name),
                Ports = [new V1ServicePort { Name = endpoint.Name, Port = port, TargetPort = endpoint.Name }],
            },
        };
    }
}
