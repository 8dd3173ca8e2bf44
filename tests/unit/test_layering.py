"""The layering of the house, held by the import graph (grimp reads every import,
those under TYPE_CHECKING and inside functions included)."""

from __future__ import annotations

import functools

import grimp
import pytest

# Service packages, top to bottom: each may import only those after it.
SERVICE_LAYERS = ["upkeep", "admin", "intake", "alerts", ("figures", "outbox", "audit")]
OUTER = ["handlers", "gateway.console", "gateway.api", "gateway.cli", "gateway.web"]


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("gateway", "handlers", exclude_type_checking_imports=False)


def _imports(module: str) -> set[str]:
    return graph().find_modules_directly_imported_by(module)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _modules_of(package: str) -> list[str]:
    g = graph()
    return sorted(m for m in g.modules if _under(m, package))


def _edges_between(importer: str, imported: str) -> list[tuple[str, str]]:
    return [
        (a, b)
        for a in _modules_of(importer)
        for b in _imports(a)
        if _under(b, imported) and not _under(a, imported)
    ]


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(g.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(_imports(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(_imports(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others() -> None:
    # A package's __init__ importing its own modules would be a benign "cycle": we have none.
    assert _cycles() == []


@pytest.mark.parametrize("outer", OUTER)
def test_services_import_no_outer_layer(outer: str) -> None:
    assert _edges_between("gateway.services", outer) == []


@pytest.mark.parametrize("outer", OUTER)
def test_the_domain_imports_nothing_of_the_app(outer: str) -> None:
    assert _edges_between("gateway.domain", outer) == []
    assert _edges_between("gateway.domain", "gateway.services") == []


def test_the_api_does_not_import_the_console() -> None:
    assert _edges_between("gateway.api", "gateway.console") == []


def _providers() -> list[str]:
    return sorted(
        m
        for m in graph().modules
        if m.count(".") == 1 and m.startswith("handlers.") and graph().find_children(m)
    )


def test_there_are_providers_to_check() -> None:
    assert {"handlers.console", "handlers.twilio", "handlers.africastalking"} <= set(_providers())


def test_providers_do_not_import_each_other() -> None:
    providers = _providers()
    crossing = [(a, b) for a in providers for b in providers if a != b and _edges_between(a, b)]
    assert crossing == []


def _layer_packages() -> list[tuple[int, str]]:
    out = []
    for depth, layer in enumerate(SERVICE_LAYERS):
        for name in (layer,) if isinstance(layer, str) else layer:
            out.append((depth, f"gateway.services.{name}"))
    return out


def test_every_service_module_is_in_a_layer() -> None:
    packages = [p for _, p in _layer_packages()]
    stray = [
        m
        for m in _modules_of("gateway.services")
        if m != "gateway.services" and not any(_under(m, p) for p in packages)
    ]
    assert stray == []


def test_service_packages_import_only_downward() -> None:
    layers = _layer_packages()
    upward = [
        (importer, imported, _edges_between(importer, imported))
        for d1, importer in layers
        for d2, imported in layers
        if importer != imported and d2 <= d1 and _edges_between(importer, imported)
    ]
    assert upward == []
