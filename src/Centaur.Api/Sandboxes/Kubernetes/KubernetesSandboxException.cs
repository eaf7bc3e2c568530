namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>A sandbox pod could not be provided; the message says why in terms an operator can act on.</summary>
internal sealed class KubernetesSandboxException(string message, Exception? innerException = null) : Exception(message, innerException);
