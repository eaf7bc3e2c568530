using System.ComponentModel.DataAnnotations;

namespace Centaur.Slack.ControlPlane;

/// <summary>Configuration section "Api": where Centaur.Api is and the adapter's own key.</summary>
internal sealed class CentaurApiOptions
{
    public const string Section = "Api";

    /// <summary>Aspire service discovery resolves http://api; tests point it elsewhere.</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new("http://api");

    public string Key { get; set; } = "";
}
