using System.Reflection;
using Centaur.Api.Personas;
using Centaur.Api.Threads;
using Centaur.Api.Tools;
using Centaur.Api.Workflows;
using Centaur.Sdk;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Overlay;

/// <summary>
/// Tools, workflows, personas, skills and prompt additions, merged in order — kernel, then the org overlay — where a
/// later one with the same name wins. Built at first use and again by <see cref="Reload"/> (POST /overlay/reload).
/// A broken overlay file is reported (GET /overlay, the log, a degraded health check) and skipped, never fatal.
/// </summary>
internal sealed partial class ExtensionCatalog(
    IServiceProvider services, IOptions<OverlayOptions> options, TimeProvider time, ILogger<ExtensionCatalog> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private ExtensionSnapshot? _current;
    private OverlayAssemblyContext? _context;
    private int _version;

    public ExtensionSnapshot Current => Volatile.Read(ref _current) ?? Reload();

    public ExtensionSnapshot Reload()
    {
        lock (_lock)
        {
            var version = ++_version;
            var errors = new List<string>();
            var tools = new Dictionary<string, CatalogEntry<ITool>>(StringComparer.Ordinal);
            var workflows = new Dictionary<string, CatalogEntry<IWorkflow>>(StringComparer.Ordinal);
            var personas = new Dictionary<string, Persona>(StringComparer.Ordinal);
            var skills = new Dictionary<string, Skill>(StringComparer.Ordinal);

            foreach (var tool in services.GetServices<ITool>())
            {
                AddTool(tools, new CatalogEntry<ITool>(tool, Sources.Kernel), errors);
            }

            foreach (var workflow in services.GetServices<IWorkflow>())
            {
                AddWorkflow(workflows, new CatalogEntry<IWorkflow>(workflow, Sources.Kernel), errors);
            }

            foreach (var persona in BuiltInPersonas.All)
            {
                personas[persona.Name] = persona;
            }

            string? orgPrompt = null;
            OverlayAssemblyContext? context = null;
            var path = options.Value.Path is { Length: > 0 } configured ? Path.GetFullPath(configured) : null;
            if (path is not null && !Directory.Exists(path))
            {
                errors.Add($"Overlay:Path {path} is not a folder");
            }
            else if (path is not null)
            {
                context = LoadAssemblies(path, version, tools, workflows, errors);
                LoadPersonas(path, personas, errors);
                LoadSkills(path, skills);
                // prompts/AGENTS.md; an AGENTS.md at the overlay's root (the sandbox runtime's older layout) also counts.
                var prompt = new[] { Path.Combine(path, "prompts", "AGENTS.md"), Path.Combine(path, "AGENTS.md") }.FirstOrDefault(File.Exists);
                orgPrompt = prompt is null ? null : File.ReadAllText(prompt);
            }

            foreach (var error in errors)
            {
                LogOverlayError(logger, error);
            }

            var snapshot = new ExtensionSnapshot(version, path, time.GetUtcNow(), tools, workflows, personas, skills, orgPrompt, errors);
            var previous = _context;
            _context = context;
            Volatile.Write(ref _current, snapshot);
            previous?.Unload();
            LogLoaded(logger, version, tools.Count, workflows.Count, personas.Count, skills.Count, path ?? "(none)");
            return snapshot;
        }
    }

    private OverlayAssemblyContext? LoadAssemblies(string root, int version, Dictionary<string, CatalogEntry<ITool>> tools,
        Dictionary<string, CatalogEntry<IWorkflow>> workflows, List<string> errors)
    {
        string[] directories = [Path.Combine(root, "tools"), Path.Combine(root, "workflows")];
        var files = directories.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.dll").Order(StringComparer.Ordinal))
            .ToList();
        if (files.Count == 0)
        {
            return null;
        }

        var context = new OverlayAssemblyContext($"overlay-{version}", [.. directories.Where(Directory.Exists)]);
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(root, file);
            Assembly assembly;
            try
            {
                var name = AssemblyName.GetAssemblyName(file);
                if (OverlayAssemblyContext.IsHostAssembly(name) || !loaded.Add(name.Name!))
                {
                    continue; // the SDK (or another shared assembly) copied beside the overlay's own, or a second copy
                }

                assembly = context.LoadFromAssemblyPath(file);
            }
            catch (Exception ex) when (ex is BadImageFormatException or FileLoadException or FileNotFoundException)
            {
                errors.Add($"{relative}: not a loadable .NET assembly ({ex.Message})");
                continue;
            }

            Type[] types;
            try
            {
                types = assembly.GetExportedTypes();
            }
            catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
            {
                errors.Add($"{relative}: its types could not be loaded ({ex.Message})");
                continue;
            }

            foreach (var type in types.Where(t => t is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false }).OrderBy(t => t.FullName, StringComparer.Ordinal))
            {
                var isTool = typeof(ITool).IsAssignableFrom(type);
                var isWorkflow = typeof(IWorkflow).IsAssignableFrom(type);
                if (!isTool && !isWorkflow)
                {
                    continue;
                }

                object instance;
                try
                {
                    instance = ActivatorUtilities.CreateInstance(services, type);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    errors.Add($"{relative}: {type.FullName} could not be created ({(ex as TargetInvocationException)?.InnerException?.Message ?? ex.Message})");
                    continue;
                }

                if (instance is ITool tool)
                {
                    AddTool(tools, new CatalogEntry<ITool>(tool, Sources.Org, relative), errors);
                }

                if (instance is IWorkflow workflow)
                {
                    AddWorkflow(workflows, new CatalogEntry<IWorkflow>(workflow, Sources.Org, relative), errors);
                }
            }
        }

        return context;
    }

    private void AddTool(Dictionary<string, CatalogEntry<ITool>> tools, CatalogEntry<ITool> entry, List<string> errors)
    {
        var tool = entry.Item;
        var where = entry.File ?? tool.GetType().FullName;
        if (!ToolsEndpoints.IsToolName(tool.Name))
        {
            errors.Add($"{where}: tool name '{tool.Name}' must be 1-64 characters of a-z, 0-9, '_' and '-'");
            return;
        }

        if (tool.Methods.FirstOrDefault(m => !ToolsEndpoints.IsToolName(m.Name)) is { } bad)
        {
            errors.Add($"{where}: method name '{tool.Name}.{bad.Name}' must be 1-64 characters of a-z, 0-9, '_' and '-'");
            return;
        }

        if (tool.Methods.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            errors.Add($"{where}: method '{tool.Name}.{twice.Key}' is declared twice");
            return;
        }

        if (tools.TryGetValue(tool.Name, out var earlier))
        {
            LogReplaced(logger, "tool", tool.Name, earlier.Source, entry.Source);
        }

        tools[tool.Name] = entry;
    }

    private void AddWorkflow(Dictionary<string, CatalogEntry<IWorkflow>> workflows, CatalogEntry<IWorkflow> entry, List<string> errors)
    {
        var workflow = entry.Item;
        var where = entry.File ?? workflow.GetType().FullName;
        if (!ThreadsEndpoints.IsName(workflow.Name))
        {
            errors.Add($"{where}: workflow name '{workflow.Name}' must be 1-64 characters of a-z, 0-9, '-' and '_'");
            return;
        }

        if (workflow.Schedule is { } schedule && CronSchedule.TryParse(schedule, out _) is { } cronError)
        {
            errors.Add($"{where}: workflow '{workflow.Name}' has a bad schedule: {cronError}");
            return;
        }

        if (workflows.TryGetValue(workflow.Name, out var earlier))
        {
            LogReplaced(logger, "workflow", workflow.Name, earlier.Source, entry.Source);
        }

        workflows[workflow.Name] = entry;
    }

    private void LoadPersonas(string root, Dictionary<string, Persona> personas, List<string> errors)
    {
        var directory = Path.Combine(root, "personas");
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var (persona, error) = PersonaFile.Load(file);
            if (persona is null)
            {
                errors.Add(error!);
                continue;
            }

            if (personas.TryGetValue(persona.Name, out var earlier))
            {
                LogReplaced(logger, "persona", persona.Name, earlier.Source, persona.Source);
            }

            personas[persona.Name] = persona;
        }
    }

    private static void LoadSkills(string root, Dictionary<string, Skill> skills)
    {
        var directory = Path.Combine(root, "skills");
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var skill in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(skill, "SKILL.md")))
            {
                var name = Path.GetFileName(skill);
                skills[name] = new Skill(name, skill, Sources.Org);
            }
        }
    }

    public void Dispose() => _context?.Unload();

    [LoggerMessage(1901, LogLevel.Information, "Extensions v{Version} loaded: {Tools} tools, {Workflows} workflows, {Personas} personas, {Skills} skills; overlay {Path}")]
    private static partial void LogLoaded(ILogger logger, int version, int tools, int workflows, int personas, int skills, string path);

    [LoggerMessage(1902, LogLevel.Information, "The {Kind} '{Name}' from {Later} replaces the one from {Earlier}")]
    private static partial void LogReplaced(ILogger logger, string kind, string name, string earlier, string later);

    [LoggerMessage(1903, LogLevel.Warning, "Overlay problem: {Error}")]
    private static partial void LogOverlayError(ILogger logger, string error);
}
