using Centaur.IronProxy;
using Centaur.IronProxy.Certificates;
using Centaur.IronProxy.Forwarding;

var builder = WebApplication.CreateBuilder(args);

// Every request through the proxy gets its egress span and metrics (EgressForwarder); ASP.NET Core's and
// HttpClient's own would describe each one twice more, at a tenth of the proxy's CPU.
builder.AddServiceDefaults(instrumentHttp: false);
builder.AddNpgsqlDataSource("centaur");
builder.AddIronProxy();

var app = builder.Build();

// Egress first: whatever a sandbox sends out (tunnels, http://, reverse routes) never reaches the endpoints below.
app.UseMiddleware<EgressMiddleware>();
app.UseRouting();
app.MapDefaultEndpoints();
app.MapCertificateAuthority();
// "{**path}", not MapFallback's default "{*path:nonfile}": paths that look like files (/appsettings.json, a wrong
// method on /ca.pem) get the JSON refusal with its code too, not an empty 404.
app.MapFallback("{**path}", (HttpContext context) => EgressResponses.WriteDenialAsync(context, EgressDenial.NoRoute(context.Request.Path)));
app.OpenUnixSocket();

app.Run();
