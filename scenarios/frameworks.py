"""The frameworks a suite runs: each by its label, the adapter it loads and the requirement
it is installed from.

A label is an adapter's name for its pinned requirement, or `name@version` for another
version of the framework's own distribution (`--with`, or named so in --frameworks): a
framework of its own everywhere after this (planning, limits, resume, storing, reports),
in an environment of its own; only the adapter the worker loads is the pin's.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from results.errors import UsageError
from scenarios import envs, grids, plan


class Framework(NamedTuple):
    """A framework as a suite runs it: its adapter's name, and the requirement replacing its
    pinned one ("" for the pin)."""

    adapter: str
    requirement: str = ""
    # more requirements of another version's environment (`--with "numpy<2"`): what an old
    # version needs and does not declare
    extras: tuple[str, ...] = ()

    @property
    def with_(self) -> tuple[str, ...]:
        """The `with_` of its environment (envs.spec_for)."""
        return (self.requirement, *self.extras) if self.requirement else ()

    @property
    def installed(self) -> str:
        """What its cells record it was installed from beyond the pin ("" for the pin)."""
        return " ".join(self.with_)

    def declared(self, info: dict[str, Any]) -> dict[str, Any]:
        """What its adapter declares, with the requirements it is installed from."""
        if not self.requirement:
            return info
        # the requirement names the first one, the framework's own distribution
        reqs = [self.requirement, *info["requirements"][1:], *self.extras]
        return {**info, "requirements": reqs}


def _describe(names: Sequence[str]) -> dict[str, Any]:
    try:
        return envs.describe(tuple(names))
    except envs.EnvError as exc:
        raise UsageError(str(exc)) from None


def choose(
    names: Sequence[str], with_: Sequence[str], grid: grids.Grid
) -> tuple[dict[str, Framework], dict[str, Any]]:
    """The suite's frameworks by label, and what each declares (keyed by label too).

    A label is an adapter's name for its pinned requirement, or `name@version` for another
    version of its own distribution: named so in --frameworks (beside the pinned one, to
    measure both in one suite), or made by a --with that names the distribution.
    """
    requested = list(dict.fromkeys(names))
    adapters = list(dict.fromkeys(envs.split_label(name)[0] for name in requested))
    described = _describe(adapters)
    chosen: dict[str, Framework] = {}
    for label in requested or plan.resolve_frameworks((), grid, described):
        adapter, version = envs.split_label(label)
        plan.resolve_frameworks([adapter], grid, described)  # a one-line error if unknown
        requirement = ""
        if version:
            dist = envs.distribution(described[adapter])
            if not dist:
                raise UsageError(f"{label}: {adapter} pins no distribution to take another of")
            try:
                envs.exact_version(f"{dist}=={version}")
            except envs.EnvError as exc:
                raise UsageError(f"{label}: {exc}") from None
            requirement = envs.own_requirement(described[adapter], f"{dist}=={version}")
        chosen[label] = Framework(adapter, requirement)
    pins, extras = _with_requirements(with_)
    for requirement, owners in pins.items():
        dist = envs.dist_name(requirement)
        relabelled: dict[str, Framework] = {}
        hit = False
        for label, framework in chosen.items():
            if framework.requirement or envs.distribution(described[framework.adapter]) != dist:
                relabelled.setdefault(label, framework)
                continue
            hit = True
            own = envs.own_requirement(described[framework.adapter], requirement)
            variant = Framework(framework.adapter, own)
            label = f"{framework.adapter}{envs.LABEL_SEP}{envs.exact_version(requirement)}"
            existing = relabelled.get(label) or chosen.get(label)
            if existing is not None and existing != variant:
                raise UsageError(
                    f"--with {requirement}: the suite has {label} as {existing.requirement}"
                )
            relabelled[label] = variant
        if not hit:
            raise UsageError(
                f"--with {requirement}: no framework of this suite installs {dist} "
                f"({', '.join(owners)} {'does' if len(owners) == 1 else 'do'})"
            )
        chosen = relabelled
    if extras:
        if not any(f.requirement for f in chosen.values()):
            raise UsageError(
                f"--with {extras[0]}: {envs.dist_name(extras[0])} is no framework's "
                "distribution, so it goes into the environments of other versions "
                "(name@version, or --with name==version), and this suite names none"
            )
        chosen = {k: f._replace(extras=extras) if f.requirement else f for k, f in chosen.items()}
    return chosen, {label: f.declared(described[f.adapter]) for label, f in chosen.items()}


def _with_requirements(with_: Sequence[str]) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """--with's requirements: those naming one version of a registered framework's own
    distribution (a wheel by its absolute path), once each, as requirement -> the frameworks
    it can apply to; and the others, extra requirements of those versions' environments.
    UsageError for a malformed one."""
    if not with_:
        return {}, ()
    owners: dict[str, list[str]] = defaultdict(list)
    for name, info in _describe(()).items():
        if "error" not in info and envs.distribution(info):
            owners[envs.distribution(info)].append(name)
    out: dict[str, str] = {}
    extras: dict[str, str] = {}
    for requirement in with_:
        try:
            dist = envs.dist_name(requirement)
            if dist not in owners:
                if dist in extras:
                    raise UsageError(f"--with names {dist} twice: {extras[dist]} and {requirement}")
                extras[dist] = requirement
                continue
            envs.exact_version(requirement)
        except envs.EnvError as exc:
            raise UsageError(f"--with: {exc}") from None
        if dist in out:
            raise UsageError(f"--with names {dist} twice: {out[dist]} and {requirement}")
        if requirement.endswith(".whl"):
            wheel = Path(requirement).expanduser().resolve()
            if not wheel.is_file():
                raise UsageError(f"--with: no wheel at {wheel}")
            requirement = os.fspath(wheel)
        out[dist] = requirement
    return {requirement: owners[dist] for dist, requirement in out.items()}, tuple(extras.values())
