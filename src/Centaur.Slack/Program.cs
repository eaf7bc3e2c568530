using Centaur.Slack;
using Centaur.Slack.Inbound;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddSlackAdapter();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();
app.MapSlack();

app.Run();
