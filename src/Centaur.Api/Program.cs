using Centaur.Api;
using Centaur.Api.Admin;
using Centaur.Api.Auth;
using Centaur.Api.Data;
using Centaur.Api.Egress;
using Centaur.Api.Errors;
using Centaur.Api.Overlay;
using Centaur.Api.WebConsole;
using Microsoft.AspNetCore.Diagnostics;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddCentaurDatabase();
builder.AddCentaurAuth();
builder.AddControlPlane();
builder.AddExtensibility();
builder.AddWebConsole();
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.AddStableCode);
// Malformed bodies throw, so the exception handler answers them as ProblemDetails with a code.
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

var app = builder.Build();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseWebConsole();

app.MapDefaultEndpoints();
app.MapControlPlane();
app.MapExtensibility();
app.MapAdmin();
app.MapEgress();
app.MapWebConsole();

app.Run();

/// <summary>Visible to in-process tests (WebApplicationFactory).</summary>
public partial class Program;
