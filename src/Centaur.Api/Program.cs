using Centaur.Api.Data;
using Centaur.Api.Egress;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddCentaurDatabase();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();
app.MapEgress();

app.Run();

/// <summary>Visible to in-process tests (WebApplicationFactory).</summary>
public partial class Program;
