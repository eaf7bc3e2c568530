using Centaur.Api.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddCentaurDatabase();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();

app.Run();

/// <summary>Visible to in-process tests (WebApplicationFactory).</summary>
public partial class Program;
