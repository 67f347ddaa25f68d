"""The package's shape in numbers: module sizes, import cycles, string dispatch on the model's settings.

    python tools/architecture_report.py [--root brianmodes] [--max-lines 500]

Prints three tables: the largest modules (lines), the import cycles between the
package's modules (imports at module level; an import inside a function runs when
called and cannot form a cycle at import time), and the number of comparisons of
``parametrization``, ``filter``, ``discretization`` and ``device`` with a string
literal per file (what ``grep -rnE "(parametrization|filter|discretization|device) *(==|!=|in) *[\\"'(]"``
finds, read from the syntax tree so that comments and docstrings do not count).
"""

import argparse
import ast
from collections import defaultdict
from pathlib import Path

SETTINGS = ("parametrization", "filter", "discretization", "device")


def module_name(path, root):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def top_level_imports(tree, name, is_package):
    """Modules of the package that ``name`` imports when it is imported."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return result


def string_dispatch(tree):
    """Comparisons of a setting's name (variable or attribute) with a string literal."""
    count = defaultdict(int)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        name = left.id if isinstance(left, ast.Name) else left.attr if isinstance(left, ast.Attribute) else None
        if name not in SETTINGS:
            continue
        for right in node.comparators:
            literal = isinstance(right, ast.Constant) and isinstance(right.value, str)
            literal |= isinstance(right, (ast.Tuple, ast.List, ast.Set)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in right.elts)
            if literal:
                count[name] += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "brianmodes"))
    parser.add_argument("--max-lines", type=int, default=500)
    args = parser.parse_args()
    root = Path(args.root)
    sizes, graph, dispatch = {}, {}, {}
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        text = path.read_text()
        tree = ast.parse(text)
        sizes[name] = len(text.splitlines())
        graph[name] = top_level_imports(tree, name, path.name == "__init__.py")
        dispatch[str(path.relative_to(root.parent))] = string_dispatch(tree)
    modules = set(sizes)
    graph = {name: sorted(m for m in targets if m in modules and m != name) for name, targets in graph.items()}
    # a package's __init__ importing its own submodules is how packages work, not a cycle
    graph = {name: [m for m in targets if not m.startswith(name + ".")] for name, targets in graph.items()}
    print("| largest modules | lines |\n|---|---|")
    for name, lines in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]:
        print(f"| {name} | {lines} |")
    over = [name for name, lines in sizes.items() if lines > args.max_lines]
    print(f"\n{len(sizes)} modules, {sum(sizes.values())} lines; over {args.max_lines} lines: {over or 'none'}")
    found = cycles(graph)
    print(f"\nimport cycles (module level): {len(found)}")
    for component in found:
        print("  " + " -> ".join(component))
    print("\n| file | " + " | ".join(SETTINGS) + " |\n|---|" + "---|" * len(SETTINGS))
    totals = defaultdict(int)
    for path, count in dispatch.items():
        if count:
            print(f"| {path} | " + " | ".join(str(count.get(s, "")) for s in SETTINGS) + " |")
            for s in SETTINGS:
                totals[s] += count.get(s, 0)
    print("| total | " + " | ".join(str(totals[s]) for s in SETTINGS) + " |")


if __name__ == "__main__":
    main()
