using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.PublicApi;

/// <summary>
/// Locks the public surface: the API is written as text and compared with the committed
/// <c>OpenAIStreaming.approved.txt</c>. To accept a deliberate change, copy <c>OpenAIStreaming.received.txt</c> over it.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void PublicApi_OfTheLibrary_MatchesTheApprovedFile()
    {
        string received = Describe(typeof(ServerSentEvent).Assembly);
        string folder = SourceFolder();
        string approvedPath = Path.Combine(folder, "OpenAIStreaming.approved.txt");
        string receivedPath = Path.Combine(folder, "OpenAIStreaming.received.txt");
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : string.Empty;

        if (approved != received)
        {
            File.WriteAllText(receivedPath, received);
        }
        else if (File.Exists(receivedPath))
        {
            File.Delete(receivedPath);
        }

        received.Should().Be(approved, $"the public API changed; if that is intended, copy {receivedPath} over {approvedPath}");
    }

    internal static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeHeader(type)).Append('\n');
            foreach (string member in Members(type).Order(StringComparer.Ordinal))
            {
                text.Append("  ").Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string TypeHeader(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? (type.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly struct" : "struct")
            : type.IsAbstract && type.IsSealed ? "static class" : type.IsSealed ? "sealed class" : type.IsAbstract ? "abstract class" : "class";
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum))
        {
            bases.Add(Name(baseType));
        }

        bases.AddRange(type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
        return $"{kind} {Name(type)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : string.Empty)}";
    }

    private static IEnumerable<string> Members(Type type)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (type.IsEnum)
        {
            foreach (string name in Enum.GetNames(type))
            {
                yield return name;
            }

            yield break;
        }

        foreach (MemberInfo member in type.GetMembers(flags))
        {
            switch (member)
            {
                case ConstructorInfo c when Visible(c):
                    yield return $"{Access(c)}ctor({Parameters(c.GetParameters())})";
                    break;
                case MethodInfo m when Visible(m) && !m.IsSpecialName:
                    string generic = m.IsGenericMethod ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : string.Empty;
                    yield return $"{Access(m)}{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}{generic}({Parameters(m.GetParameters())})";
                    break;
                case PropertyInfo p when (p.GetMethod is { } g && Visible(g)) || (p.SetMethod is { } s && Visible(s)):
                    MethodInfo accessor = (p.GetMethod ?? p.SetMethod)!;
                    string accessors = (p.GetMethod is { } get && Visible(get) ? "get; " : string.Empty)
                        + (p.SetMethod is { } set && Visible(set) ? (set.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit") ? "init; " : "set; ") : string.Empty);
                    yield return $"{Access(accessor)}{(accessor.IsStatic ? "static " : string.Empty)}{Name(p.PropertyType)} {p.Name} {{ {accessors}}}";
                    break;
                case FieldInfo f when f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly:
                    yield return $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : string.Empty)}";
                    break;
                case EventInfo e when e.AddMethod is { } add && Visible(add):
                    yield return $"event {Name(e.EventHandlerType!)} {e.Name}";
                    break;
            }
        }
    }

    private static bool Visible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    private static string Access(MethodBase method) => method.IsPublic ? string.Empty : "protected ";

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
        (p.IsIn ? "in " : p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : string.Empty)
        + (p.Member is MethodInfo { IsStatic: true } m && m.IsDefined(typeof(ExtensionAttribute)) && p.Position == 0 ? "this " : string.Empty)
        + Name(p.ParameterType) + " " + p.Name
        + (p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : string.Empty)));

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return Name(type.GetElementType()!);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        string name = type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : (type.Namespace + "." + type.Name);
        if (type.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)] + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">";
        }

        return name;
    }

    /// <summary>
    /// The folder of this file in the source tree: from the compiler's path when it exists (local builds), else found in the
    /// repository above the test binaries (CI builds map source paths to <c>/_/</c>).
    /// </summary>
    private static string SourceFolder([CallerFilePath] string path = "")
    {
        if (Path.GetDirectoryName(path) is { } folder && Directory.Exists(folder))
        {
            return folder;
        }

        return TestPaths.InRepository(Path.Combine("tests", "OpenAIStreaming.Tests", "PublicApi"));
    }
}
